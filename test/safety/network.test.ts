/**
 * The network policy (pure) and the proxy (in-process, on real unix sockets and loopback servers).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { sandboxSettings, SessionSpecSchema } from '../../src/domain/spec.js';
import { decideNetwork } from '../../src/safety/index.js';
import { startProxy } from '../../src/safety/net-proxy.js';
import {
  agentBaseUrls,
  agentNetwork,
  allowedBy,
  isLoopback,
  netDirFor,
  parseHostRule,
  PROXY_PORT,
  REGISTRY_HOSTS,
} from '../../src/safety/network.js';
import { hiddenPaths } from '../../src/safety/agent-files.js';
import { decideSandbox } from '../../src/safety/sandbox.js';
import { UsageError } from '../../src/runtime/session-manager.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function temp(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

describe('host rules', () => {
  it('exact hosts, *.domain for subdomains only, a port when given; case and a trailing dot do not matter', () => {
    const rules = ['api.anthropic.com', '*.example.com', '127.0.0.2:8080', '[::1]:9000'];
    expect(allowedBy('API.Anthropic.com.', 443, rules)).toBe('api.anthropic.com');
    expect(allowedBy('evil-api.anthropic.com', 443, rules)).toBeNull();
    expect(allowedBy('a.b.example.com', 80, rules)).toBe('*.example.com');
    expect(allowedBy('example.com', 80, rules)).toBeNull();
    expect(allowedBy('notexample.com', 80, rules)).toBeNull();
    expect(allowedBy('127.0.0.2', 8080, rules)).toBe('127.0.0.2:8080');
    expect(allowedBy('127.0.0.2', 8081, rules)).toBeNull();
    expect(allowedBy('::1', 9000, rules)).toBe('[::1]:9000');
    expect(parseHostRule('host:99999')).toBeNull();
    expect(parseHostRule('a b')).toBeNull();
  });

  it('loopback is 127/8, localhost and ::1', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', 'api.localhost', '::1', '[::1]'])
      expect(isLoopback(host), host).toBe(true);
    for (const host of ['128.0.0.1', 'example.com', '10.0.0.1']) expect(isLoopback(host), host).toBe(false);
  });
});

describe("an agent's network", () => {
  it(
    'its vendor, its base URL, the registries and allowHosts; ' +
      'a loopback base URL is forwarded port for port; another agent does not get its hosts',
    () => {
      const home = temp('net-home-');
      const claude = agentNetwork(
        'claude',
        { ANTHROPIC_BASE_URL: 'http://127.0.0.1:8123/anthropic', OPENAI_BASE_URL: 'https://llm.example.org/v1' },
        home,
        ['internal.example.net', '127.0.0.1:5000'],
      );
      expect(claude.allow).toEqual(
        expect.arrayContaining([
          'api.anthropic.com',
          '127.0.0.1:8123',
          'internal.example.net',
          '127.0.0.1:5000',
          ...REGISTRY_HOSTS,
        ]),
      );
      expect(claude.allow).not.toContain('llm.example.org:443');
      expect(claude.allow).not.toContain('api.openai.com');
      expect(claude.forwards).toEqual([5000, 8123]);
      const codex = agentNetwork(
        'codex',
        { ANTHROPIC_BASE_URL: 'http://127.0.0.1:8123', OPENAI_BASE_URL: 'https://llm.example.org/v1' },
        home,
        [],
      );
      expect(codex.allow).toContain('llm.example.org:443');
      expect(codex.allow).not.toContain('api.anthropic.com');
      expect(codex.forwards).toEqual([]);
    },
  );

  it("codex's base URLs also come from its config.toml (CODEX_HOME or ~/.codex)", () => {
    const home = temp('net-codex-');
    mkdirSync(join(home, '.codex'));
    writeFileSync(
      join(home, '.codex', 'config.toml'),
      'model = "x"\n[model_providers.fake]\nbase_url = "http://127.0.0.1:4555/v1"\n' +
        "[model_providers.other]\n  base_url = 'https://gw.example.com'\n",
    );
    expect(agentBaseUrls('codex', {}, home)).toEqual(['http://127.0.0.1:4555/v1', 'https://gw.example.com']);
    expect(agentNetwork('codex', {}, home, []).forwards).toEqual([4555]);
    expect(agentBaseUrls('codex', { CODEX_HOME: join(home, 'nowhere') }, home)).toEqual([]);
  });

  it('the net folder: in the session folder while its socket paths fit, else a stable hashed one in tmpdir', () => {
    expect(netDirFor('/ws/sessions/orch_1', 'w1')).toBe('/ws/sessions/orch_1/net/w1');
    const long = `/${'x'.repeat(90)}/sessions/orch_1`;
    const dir = netDirFor(long, 'w1', '/tmp');
    expect(dir).toMatch(/^\/tmp\/orchestrate-net-[0-9a-f]{16}$/);
    expect(netDirFor(long, 'w1', '/tmp')).toBe(dir);
    expect(netDirFor(long, 'w2', '/tmp')).not.toBe(dir);
  });
});

describe('the spec', () => {
  it('takes the mode alone or the object form; unknown keys in it are refused', () => {
    expect(
      sandboxSettings(
        SessionSpecSchema.parse({ task: 't', workers: [{ id: 'w', agent: 'claude', role: 'implementer' }] }).sandbox,
      ),
    ).toEqual({ mode: 'auto', network: 'proxy', allowHosts: [], denyRead: [], allowRead: [] });
    expect(sandboxSettings('none').mode).toBe('none');
    const parsed = SessionSpecSchema.parse({
      task: 't',
      workers: [{ id: 'w', agent: 'claude', role: 'implementer' }],
      sandbox: { network: 'open', allowHosts: ['*.corp.example'] },
    });
    expect(sandboxSettings(parsed.sandbox)).toMatchObject({
      mode: 'auto',
      network: 'open',
      allowHosts: ['*.corp.example'],
    });
    expect(
      SessionSpecSchema.safeParse({
        task: 't',
        workers: [{ id: 'w', agent: 'claude', role: 'implementer' }],
        sandbox: { allowHost: [] },
      }).success,
    ).toBe(false);
    expect(
      SessionSpecSchema.safeParse({
        task: 't',
        workers: [{ id: 'w', agent: 'claude', role: 'implementer' }],
        sandbox: { denyRead: ['relative/path'] },
      }).success,
    ).toBe(false);
    expect(
      SessionSpecSchema.safeParse({
        task: 't',
        workers: [{ id: 'w', agent: 'claude', role: 'implementer' }],
        sandbox: { allowHosts: ['http://x.com/'] },
      }).success,
    ).toBe(false);
    // The spec takes exactly what the proxy applies (one parser): not a port it could never match.
    expect(
      SessionSpecSchema.safeParse({
        task: 't',
        workers: [{ id: 'w', agent: 'claude', role: 'implementer' }],
        sandbox: { allowHosts: ['example.com:70000'] },
      }).success,
    ).toBe(false);
  });
});

describe('what an agent may not read', () => {
  it(
    "the credentials and the other agents' folders; not its own; " +
      'denyRead adds, allowRead re-opens (a path inside a hidden folder is bound back)',
    () => {
      const home = '/home/u';
      const { hidden, reopened } = hiddenPaths(
        'codex',
        home,
        {},
        { denyRead: ['~/private', '/srv/keys'], allowRead: ['~/.npmrc', '~/.aws/config'] },
      );
      expect(hidden).toEqual(
        expect.arrayContaining([
          '/home/u/.ssh',
          '/home/u/.aws',
          '/home/u/.claude',
          '/home/u/.claude.json',
          '/home/u/.gemini',
          '/home/u/private',
          '/srv/keys',
        ]),
      );
      expect(hidden).not.toContain('/home/u/.codex');
      expect(hidden).not.toContain('/home/u/.npm');
      expect(hidden).not.toContain('/home/u/.npmrc');
      expect(reopened).toEqual(['/home/u/.aws/config']);
    },
  );
});

describe('the network decision', () => {
  const bwrap = decideSandbox('bwrap', {
    available: true,
    path: '/usr/bin/bwrap',
    version: 'bubblewrap 0.8.0',
    reason: null,
  } as never);
  const script = join(temp('net-script-'), 'net-proxy.js');
  writeFileSync(script, '');
  it(
    'the proxy with socat; without socat "auto" leaves the network open with a warning ' +
      'and "bwrap" is refused with how to fix it; "open" warns',
    () => {
      const bin = temp('net-bin-');
      writeFileSync(join(bin, 'socat'), '', { mode: 0o755 });
      const proxied = decideNetwork(sandboxSettings('bwrap'), bwrap, { PATH: bin }, script);
      expect(proxied.proxied).toEqual({ socatPath: join(bin, 'socat'), proxyScript: script });
      expect(proxied.warning).toBeNull();
      const autoNoSocat = decideNetwork(sandboxSettings('auto'), bwrap, { PATH: temp('net-empty-') }, script);
      expect(autoNoSocat.proxied).toBeNull();
      expect(autoNoSocat.warning).toMatch(/socat/);
      expect(() => decideNetwork(sandboxSettings('bwrap'), bwrap, { PATH: temp('net-empty-') }, script)).toThrow(
        UsageError,
      );
      expect(() => decideNetwork(sandboxSettings('bwrap'), bwrap, { PATH: temp('net-empty-') }, script)).toThrow(
        /apt-get install socat/,
      );
      const open = decideNetwork(
        sandboxSettings({ mode: 'bwrap', network: 'open', allowHosts: [], denyRead: [], allowRead: [] }),
        bwrap,
        { PATH: bin },
        script,
      );
      expect(open.proxied).toBeNull();
      expect(open.warning).toMatch(/open/);
      expect(
        decideNetwork(sandboxSettings('none'), decideSandbox('none', null), { PATH: bin }, script).proxied,
      ).toBeNull();
    },
  );
});

describe('the proxy', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
  });
  async function serve(host: string, name: string): Promise<number> {
    const server = createServer((req, res) => res.end(`${name}:${req.method}:${req.url}`));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    return (server.address() as AddressInfo).port;
  }

  /** A plain-http GET through the proxy's socket (absolute form), as a client honouring HTTP_PROXY sends it. */
  function getVia(socket: string, url: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request(
        { socketPath: socket, path: url, method: 'GET', headers: { host: new URL(url).host } },
        (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  /** CONNECT through the proxy's socket, then a request in the tunnel: the first line of each answer. */
  function connectVia(socket: string, hostPort: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const client = connect(socket);
      let data = '';
      let tunnelled = false;
      client.on('connect', () => client.write(`CONNECT ${hostPort} HTTP/1.1\r\nHost: ${hostPort}\r\n\r\n`));
      client.on('data', (chunk) => {
        data += chunk;
        if (!tunnelled && data.includes('\r\n\r\n') && data.startsWith('HTTP/1.1 200')) {
          tunnelled = true;
          data = '';
          client.write(`GET /tunnel HTTP/1.1\r\nHost: ${hostPort}\r\nConnection: close\r\n\r\n`);
        }
      });
      client.on('error', reject);
      client.on('close', () =>
        resolve(
          tunnelled
            ? `tunnel ${data.split('\r\n')[0]} ${data.slice(data.indexOf('\r\n\r\n') + 4)}`
            : (data.split('\r\n')[0] ?? ''),
        ),
      );
    });
  }

  it(
    'lets allowlisted hosts through (GET and CONNECT), refuses the rest with 403 and a line in refused.jsonl, ' +
      'forwards the given loopback ports',
    async () => {
      const dir = temp('net-proxy-');
      const allowed = await serve('127.0.0.2', 'allowed');
      const other = await serve('127.0.0.2', 'other');
      const model = await serve('127.0.0.1', 'model');
      const proxies = startProxy(dir, {
        worker: 'w',
        agent: 'claude',
        allow: [`127.0.0.2:${allowed}`],
        forwards: [model],
        proxyPort: PROXY_PORT,
      });
      try {
        const socket = join(dir, `${PROXY_PORT}.sock`);
        expect(existsSync(socket)).toBe(true);
        expect(await getVia(socket, `http://127.0.0.2:${allowed}/a?b=1`)).toEqual({
          status: 200,
          body: 'allowed:GET:/a?b=1',
        });
        expect(await connectVia(socket, `127.0.0.2:${allowed}`)).toBe('tunnel HTTP/1.1 200 OK allowed:GET:/tunnel');
        const refused = await getVia(socket, `http://127.0.0.2:${other}/secret`);
        expect(refused.status).toBe(403);
        expect(refused.body).toContain('allowHosts');
        expect(await connectVia(socket, `127.0.0.2:${other}`)).toBe('HTTP/1.1 403 Forbidden');
        expect(await connectVia(socket, `127.0.0.1:${model}`)).toBe('HTTP/1.1 403 Forbidden');
        const lines = readFileSync(join(dir, 'refused.jsonl'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { host: string; port: number; method: string });
        expect(lines.map((l) => [l.method, l.host, l.port])).toEqual([
          ['GET', '127.0.0.2', other],
          ['CONNECT', '127.0.0.2', other],
          ['CONNECT', '127.0.0.1', model],
        ]);
        // The forwarded port: its socket reaches the host's loopback port, and nothing else.
        const forwarded = await new Promise<string>((resolve, reject) => {
          const c = connect(join(dir, `${model}.sock`));
          let data = '';
          c.on('connect', () => c.write('GET /fwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
          c.on('data', (d) => (data += d));
          c.on('close', () => resolve(data.slice(data.indexOf('\r\n\r\n') + 4)));
          c.on('error', reject);
        });
        expect(forwarded).toBe('model:GET:/fwd');
      } finally {
        for (const p of proxies) p.close();
      }
    },
  );

  it('a stale socket of an earlier proxy (killed with its agent) is replaced', async () => {
    const dir = temp('net-stale-');
    writeFileSync(join(dir, `${PROXY_PORT}.sock`), 'stale');
    const proxies = startProxy(dir, { worker: 'w', agent: 'claude', allow: [], forwards: [], proxyPort: PROXY_PORT });
    try {
      expect((await getVia(join(dir, `${PROXY_PORT}.sock`), 'http://example.invalid/')).status).toBe(403);
    } finally {
      for (const p of proxies) p.close();
    }
  });
});
