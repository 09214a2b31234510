/**
 * `--inspect`: XState inspection events for Stately's inspector. The relay (`--inspect stately`) listens on
 * 127.0.0.1 only, serves the page that embeds https://stately.ai/inspect, relays every message to the other
 * clients (and replays them to a late page), and refuses WebSocket connections from other web pages. A run
 * with `--inspect ws://...` sends its machines' inspection events there and still ends on its own.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startStatelyRelay, type StatelyRelay } from '../../src/cli/stately-relay.js';
import { cleanupAfterTest, poll, runCli, sandboxWith } from '../support/orchestrate.js';

let relay: StatelyRelay | null = null;
const sockets: WebSocket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.terminate();
  await relay?.close();
  relay = null;
  await cleanupAfterTest();
});

function connect(url: string, origin?: string): Promise<{ socket: WebSocket; messages: string[] }> {
  const socket = new WebSocket(url, origin ? { origin } : {});
  sockets.push(socket);
  const messages: string[] = [];
  socket.on('message', (data) => messages.push(data.toString()));
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve({ socket, messages }));
    socket.once('unexpected-response', (_req, res) => reject(new Error(`refused: HTTP ${res.statusCode}`)));
    socket.once('error', reject);
  });
}

describe('the Stately relay', () => {
  it('serves the page that embeds the hosted inspector, on 127.0.0.1 only', async () => {
    relay = await startStatelyRelay(0);
    const page = await fetch(`http://127.0.0.1:${relay.port}/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<iframe id="inspector" src="https://stately.ai/inspect">');
    expect(html).toContain(`':${relay.port}'`);
    expect((await fetch(`http://127.0.0.1:${relay.port}/other`)).status).toBe(404);
    // Not on the other interfaces of the machine.
    const { networkInterfaces } = await import('node:os');
    const external = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal);
    if (external) await expect(fetch(`http://${external.address}:${relay.port}/`)).rejects.toThrow();
  });

  it('relays each message to the other clients, and replays them to a page that connects later', async () => {
    relay = await startStatelyRelay(0);
    const page = await connect(relay.wsUrl, `http://localhost:${relay.port}`);
    const app = await connect(relay.wsUrl);
    app.socket.send(JSON.stringify({ type: '@xstate.actor', sessionId: 'x:1' }));
    await poll(() => page.messages.length === 1, 5_000, 'the page to get the message');
    expect(JSON.parse(page.messages[0] as string)).toEqual({ type: '@xstate.actor', sessionId: 'x:1' });
    expect(app.messages).toEqual([]);
    const late = await connect(relay.wsUrl, `http://127.0.0.1:${relay.port}`);
    await poll(() => late.messages.length === 1, 5_000, 'the replay');
  });

  it('refuses a WebSocket from another web page (no CORS for WebSockets: the Origin decides)', async () => {
    relay = await startStatelyRelay(0);
    await expect(connect(relay.wsUrl, 'https://evil.example')).rejects.toThrow('refused: HTTP 401');
    await expect(connect(relay.wsUrl, 'http://localhost:1')).rejects.toThrow('refused: HTTP 401');
  });

  it('a taken port is an error the CLI can tell apart (EADDRINUSE)', async () => {
    relay = await startStatelyRelay(0);
    await expect(startStatelyRelay(relay.port)).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});

describe('orchestrate run --inspect', { timeout: 60_000 }, () => {
  it('sends the session and worker machines’ inspection events to the relay; the run ends on its own', async () => {
    relay = await startStatelyRelay(0);
    const page = await connect(relay.wsUrl, `http://localhost:${relay.port}`);
    const { sandbox, specPath, env } = sandboxWith(
      { task: 'inspected', workers: [{ id: 'w', agent: 'codex', role: 'implementer' }], sandbox: 'none' },
      { codex: { lines: 2, delayMs: 5 } },
    );
    const run = await runCli(
      [
        'run',
        '--spec',
        specPath,
        '-C',
        sandbox.target,
        '--workspace',
        sandbox.workspace,
        '--no-server',
        '--json',
        '--inspect',
        relay.wsUrl,
      ],
      { env, timeoutMs: 45_000 },
    );
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).toContain(`inspection events go to ${relay.wsUrl}`);
    const types = () => page.messages.map((m) => (JSON.parse(m) as { type: string }).type);
    await poll(() => types().includes('@xstate.snapshot'), 5_000, 'snapshots at the page');
    expect(types()).toEqual(expect.arrayContaining(['@xstate.actor', '@xstate.event', '@xstate.snapshot']));
    // Each actor announces itself: the session and its worker w (and w's process actor).
    const actors = page.messages
      .map((m) => JSON.parse(m) as { type: string; name?: string })
      .filter((m) => m.type === '@xstate.actor');
    const names = [...new Set(actors.map((a) => a.name))];
    expect(names).toContain('session');
    expect(names).toContain('w');
  });

  it('with nothing (or no relay) listening at the URL, the run still ends on its own', async () => {
    // A port nobody listens on, and a plain HTTP server that refuses the WebSocket upgrade.
    const { createServer } = await import('node:http');
    const plain = createServer((_req, res) => res.end('not a relay'));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    const plainPort = (plain.address() as { port: number }).port;
    const free = await new Promise<number>((resolve) => {
      const probe = createServer();
      probe.listen(0, '127.0.0.1', () => {
        const port = (probe.address() as { port: number }).port;
        probe.close(() => resolve(port));
      });
    });
    try {
      for (const url of [`ws://127.0.0.1:${free}`, `ws://127.0.0.1:${plainPort}`]) {
        const { sandbox, specPath, env } = sandboxWith(
          { task: 'inspected', workers: [{ id: 'w', agent: 'codex', role: 'implementer' }], sandbox: 'none' },
          { codex: { lines: 2, delayMs: 5 } },
        );
        const run = await runCli(
          [
            'run',
            '--spec',
            specPath,
            '-C',
            sandbox.target,
            '--workspace',
            sandbox.workspace,
            '--no-server',
            '--json',
            '--inspect',
            url,
          ],
          { env, timeoutMs: 30_000 },
        );
        expect(run.exitCode, `${url}: ${run.stderr}`).toBe(0);
      }
    } finally {
      plain.closeAllConnections();
      await new Promise((resolve) => plain.close(resolve));
    }
  });

  it('refuses a target that is neither "stately" nor a ws:// URL', async () => {
    const { sandbox, specPath, env } = sandboxWith(
      { task: 'x', workers: [{ id: 'w', agent: 'codex', role: 'implementer' }], sandbox: 'none' },
      {},
    );
    const run = await runCli(
      [
        'run',
        '--spec',
        specPath,
        '-C',
        sandbox.target,
        '--workspace',
        sandbox.workspace,
        '--no-server',
        '--inspect',
        'http://localhost:8080',
      ],
      { env },
    );
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe('error: --inspect takes "stately" or the ws:// URL of a @statelyai/inspect relay\n');
  });
});
