/**
 * Confinement beyond writes, with the fake agent inside real bubblewrap (skipped, loudly, where bwrap cannot
 * create its namespaces): what an agent can read, reach and signal. The agent really does each thing (scenario
 * `probes`) and records what happened in probes.jsonl.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { probeBwrap } from '../../src/safety/bwrap-probe.js';
import { which } from '../../src/runtime/binaries.js';
import { netDirFor } from '../../src/safety/network.js';
import { readProbes, type FakeProbe } from '../support/fake-agent.js';
import { cleanupAfterTest, eventsOfType, launches, readEvents, runCli, sandboxWith } from '../support/orchestrate.js';
import { makeSafetyHarness, ofType, type SafetyHarness } from '../safety/support.js';

const probe = await probeBwrap();
const socat = which('socat');
if (!probe.available) console.warn(`SKIPPED: the confinement tests need bubblewrap: ${probe.reason}`);
if (probe.available && !socat)
  console.warn('SKIPPED: the network confinement tests need socat (apt-get install socat)');

let harness: SafetyHarness | null = null;
const servers: Server[] = [];
afterEach(async () => {
  await cleanupAfterTest();
  await harness?.cleanup();
  harness = null;
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** An HTTP server on the host that answers its name. */
async function serve(name: string, host: string): Promise<number> {
  const server = createServer((req, res) => res.end(`${name} says hello to ${req.url}`));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return (server.address() as AddressInfo).port;
}

function probesOf(h: SafetyHarness): Record<string, FakeProbe> {
  return Object.fromEntries(readProbes(h.stateDir).map((p) => [p.path ?? p.url ?? p.argv?.join(' ') ?? '', p]));
}

describe.runIf(probe.available)('what a sandboxed agent can read', () => {
  it(
    "the user's credentials, the other agents' folders and the workspace token are hidden; " +
      'its own folder is not; denyRead and allowRead move the line',
    async () => {
      harness = await makeSafetyHarness(
        {
          claude: {
            probes: [
              { read: '~/.ssh/id_ed25519' },
              { read: '~/.aws/credentials' },
              { read: '~/.netrc' },
              { read: '~/.codex/auth.json' },
              { read: '~/.gemini/oauth_creds.json' },
              { read: '~/.claude/settings.json' },
              { read: '~/notes/secret.txt' },
              { read: '~/.config/gcloud/configurations/config_default' },
              { read: '~/.config/gcloud/credentials.db' },
              { read: '~/project-notes.txt' },
              // The checkout is <workspace>/checkouts/<sid>/w1: the workspace's token, three levels up.
              { read: '../../../token' },
              { open: '/dev/tty' },
            ],
          },
          // Outside /tmp, which is private inside: the home is visible, and only what must be is hidden.
        },
        { base: '/var/tmp' },
      );
      const h = harness;
      const files: Record<string, string> = {
        '.ssh/id_ed25519': '-----BEGIN OPENSSH PRIVATE KEY----- dummy\n',
        '.aws/credentials': '[default]\naws_secret_access_key = dummy\n',
        '.netrc': 'machine example.com password dummy\n',
        '.codex/auth.json': '{"OPENAI_API_KEY":"dummy"}\n',
        '.gemini/oauth_creds.json': '{"refresh_token":"dummy"}\n',
        '.claude/settings.json': '{"theme":"dark"}\n',
        'notes/secret.txt': 'a note\n',
        '.config/gcloud/configurations/config_default': '[core]\nproject = p\n',
        '.config/gcloud/credentials.db': 'dummy\n',
        'project-notes.txt': 'readable\n',
      };
      for (const [path, content] of Object.entries(files)) {
        mkdirSync(join(h.home, path, '..'), { recursive: true });
        writeFileSync(join(h.home, path), content);
      }
      mkdirSync(h.workspace, { recursive: true });
      writeFileSync(join(h.workspace, 'token'), 'the-workspace-token\n', { mode: 0o600 });
      const runtime = await h.start({
        task: 't',
        sandbox: { mode: 'bwrap', denyRead: ['~/notes'], allowRead: ['~/.config/gcloud/configurations'] },
        workers: [{ id: 'w1', agent: 'claude', role: 'implementer' }],
      });
      expect(await runtime.waitForEnd()).toBe('completed');
      const seen = probesOf(h);
      for (const hidden of [
        '~/.ssh/id_ed25519',
        '~/.aws/credentials',
        '~/.codex/auth.json',
        '~/.gemini/oauth_creds.json',
        '~/notes/secret.txt',
        '~/.config/gcloud/credentials.db',
      ]) {
        expect(seen[hidden], hidden).toMatchObject({ ok: false, error: 'ENOENT' });
      }
      // A credentials file is /dev/null inside: it reads as empty.
      expect(seen['~/.netrc']).toMatchObject({ ok: true, output: '' });
      expect(seen['~/.claude/settings.json']).toMatchObject({ ok: true, output: files['.claude/settings.json'] });
      expect(seen['~/.config/gcloud/configurations/config_default']).toMatchObject({
        ok: true,
        output: files['.config/gcloud/configurations/config_default'],
      });
      expect(seen['~/project-notes.txt']).toMatchObject({ ok: true, output: 'readable\n' });
      expect(seen['../../../token']).toMatchObject({ ok: false, error: 'ENOENT' });
      // No terminal to inject keystrokes into.
      expect(seen['/dev/tty']?.ok).toBe(false);
      // Hidden inside, untouched outside.
      for (const [path, content] of Object.entries(files))
        expect(readFileSync(join(h.home, path), 'utf8')).toBe(content);
    },
  );
});

describe.runIf(probe.available && socat)('what a sandboxed agent can reach', () => {
  it(
    'only its proxy: an allowlisted host through it, a loopback port it was given; ' +
      'any other host is refused and logged, a direct connection fails',
    async () => {
      // 127.0.0.2 stands for a host elsewhere: the proxy, outside, reaches it; inside there is no route to it.
      const allowed = await serve('allowed', '127.0.0.2');
      const other = await serve('other', '127.0.0.2');
      const model = await serve('model', '127.0.0.1');
      const loopbackOther = await serve('loopback-other', '127.0.0.1');
      const urls = {
        allowed: `http://127.0.0.2:${allowed}/a`,
        other: `http://127.0.0.2:${other}/b`,
        model: `http://127.0.0.1:${model}/v1/messages`,
        loopbackOther: `http://127.0.0.1:${loopbackOther}/c`,
      };
      harness = await makeSafetyHarness(
        {
          claude: {
            probes: [
              { fetch: urls.allowed },
              { fetch: urls.other },
              { fetch: urls.allowed, direct: true },
              { fetch: urls.model },
              { fetch: urls.loopbackOther },
              // Its own loopback still works: a test server of its own, inside its namespace.
              {
                run: [
                  process.execPath,
                  '-e',
                  "const net = require('net'); " +
                    "const s = net.createServer((c) => c.end('own loopback')).listen(0, '127.0.0.1', () => " +
                    "net.connect(s.address().port, '127.0.0.1')" +
                    ".on('data', (d) => { console.log(String(d)); process.exit(0); }));",
                ],
              },
            ],
          },
        },
        { env: { ANTHROPIC_BASE_URL: `http://127.0.0.1:${model}` } },
      );
      const h = harness;
      const runtime = await h.start({
        task: 't',
        sandbox: { mode: 'bwrap', allowHosts: [`127.0.0.2:${allowed}`] },
        workers: [{ id: 'w1', agent: 'claude', role: 'implementer' }],
      });
      expect(await runtime.waitForEnd()).toBe('completed');
      const seen = readProbes(h.stateDir);
      const [throughProxy, refused, direct, modelApi, otherLoopback, ownServer] = seen;
      expect(ownServer).toMatchObject({ ok: true, exitCode: 0, output: 'own loopback\n' });
      expect(throughProxy).toMatchObject({ ok: true, status: 200, via: 'proxy', output: 'allowed says hello to /a' });
      expect(refused).toMatchObject({ ok: false, status: 403, via: 'proxy' });
      expect(direct).toMatchObject({
        ok: false,
        error: expect.stringMatching(/ENETUNREACH|EHOSTUNREACH|ECONNREFUSED|ETIMEDOUT/),
      });
      // Its model API on the host's loopback (its base URL) is forwarded; no other loopback port is.
      expect(modelApi).toMatchObject({
        ok: true,
        status: 200,
        via: 'direct',
        output: 'model says hello to /v1/messages',
      });
      expect(otherLoopback).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
      // The refusal is a safety event naming the host, recorded once.
      const refusals = ofType(runtime, 'safety').filter((e) => e.rule === 'network-refused');
      expect(refusals).toHaveLength(1);
      expect(refusals[0]).toMatchObject({ workerId: 'w1', subject: `127.0.0.2:${other}`, action: 'refuse' });
      expect(refusals[0]?.detail).toContain('sandbox.allowHosts');
      const sandbox = ofType(runtime, 'safety').filter((e) => e.rule === 'sandbox');
      expect(sandbox.map((e) => e.subject)).toEqual(['bwrap', 'network: proxy']);
      // Its net folder (in the session folder, or in the temp dir when that path is too long for a socket) goes
      // once the ended session lets go of its safety: nothing else would remove one in the temp dir.
      const netDir = netDirFor(runtime.dir, 'w1');
      expect(existsSync(join(netDir, 'refused.jsonl'))).toBe(true);
      runtime.detach();
      expect(existsSync(netDir)).toBe(false);
      expect(existsSync(netDirFor(runtime.dir, 'w1', '/nonexistent-tmp'))).toBe(false);
    },
  );

  it('"network": "open" leaves the network as it is, with a warning', async () => {
    const port = await serve('open', '127.0.0.1');
    harness = await makeSafetyHarness({ claude: { probes: [{ fetch: `http://127.0.0.1:${port}/x`, direct: true }] } });
    const runtime = await harness.start({
      task: 't',
      sandbox: { mode: 'bwrap', network: 'open' },
      workers: [{ id: 'w1', agent: 'claude', role: 'implementer' }],
    });
    expect(await runtime.waitForEnd()).toBe('completed');
    expect(readProbes(harness.stateDir)[0]).toMatchObject({ ok: true, output: 'open says hello to /x' });
    expect(ofType(runtime, 'safety').find((e) => e.rule === 'sandbox' && e.subject === 'network: open')).toMatchObject({
      action: 'warn',
    });
  });
});

describe.runIf(probe.available)('what a sandboxed agent can signal', () => {
  it(
    'pkill -f with a pattern matching the orchestrator, and pkill node, reach only its own processes: ' +
      'the orchestrator and the other agent run on, and the session completes',
    async () => {
      const { sandbox, specPath, env } = sandboxWith(
        {
          task: 'clean up',
          sandbox: 'bwrap',
          workers: [
            { id: 'cleaner', agent: 'claude', role: 'implementer' },
            { id: 'other', agent: 'gemini', role: 'architect' },
          ],
        },
        {},
      );
      // The orchestrator's command line names the workspace; every agent is a node process.
      const config = {
        // It ignores SIGTERM, as its own pkill reaches it (it is a node process of its namespace).
        claude: {
          ignoreSigterm: true,
          probes: [
            { awaitLaunches: 2 },
            { run: ['pkill', '-f', sandbox.workspace] },
            { run: ['pkill', 'node'] },
            { run: ['ps', '-eo', 'pid,args'] },
          ],
        },
        // Still running while the cleaner runs pkill: it waits for a probe record of the cleaner's.
        gemini: { probes: [{ awaitLaunches: 2 }], holdMs: 1500 },
      };
      const result = await runCli(
        ['run', '-C', sandbox.target, '--spec', specPath, '--workspace', sandbox.workspace, '--no-server', '--json'],
        {
          env: { ...env, FAKE_AGENT_CONFIG: JSON.stringify(config) },
          timeoutMs: 60_000,
        },
      );
      expect(result.exitCode, result.stderr).toBe(0);
      const events = readEvents(sandbox.workspace);
      expect(eventsOfType(events, 'recovery')).toHaveLength(0);
      expect(
        launches(sandbox)
          .map((l) => l.persona)
          .sort(),
      ).toEqual(['claude', 'gemini']);
      const seen = readProbes(sandbox.stateDir);
      const ps = seen.find((p) => p.argv?.[0] === 'ps');
      // Inside, only the sandbox's own processes: bwrap's reaper, the bridge, the agent; no orchestrator, no other
      // agent.
      expect(ps?.output).not.toContain('cli.js');
      expect(ps?.output?.split('\n').filter((l) => /^\s*\d+ node /.test(l))).toHaveLength(1);
      expect(
        ps?.output
          ?.split('\n')
          .filter((l) => /^\s*1 /.test(l))
          .join(''),
      ).toContain('bwrap');
      expect(seen.filter((p) => p.kind === 'run' && p.argv?.[0] === 'pkill')).toHaveLength(2);
    },
  );
});
