/**
 * Notifications (src/notify) of real sessions of the fake agents, to a loopback webhook receiver: exactly one
 * "needs input" for a blocker and one "done" at the end, each recorded as a `notification` event; a failing
 * receiver holds nothing up and loses no event.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { attachNotifications } from '../../src/cli/notify-wiring.js';
import { createStyle } from '../../src/cli/style.js';
import type { OrchestratorEvent } from '../../src/domain/events.js';
import { SessionSpecSchema } from '../../src/domain/spec.js';
import { makeHarness, oneWorker, removeTempDirs, waitFor, type Harness } from '../http/helpers.js';
import { cleanupAfterTest, readEvents, runCli, sandboxWith, sessionIds } from '../support/orchestrate.js';

interface Received {
  kind: string;
  text: string;
  sessionId: string;
  blockerId?: string;
  command?: string;
  outcome?: string;
}

/** A webhook receiver on loopback: records what it gets, answers `status`. */
async function receiver(status = 200): Promise<{ url: string; got: Received[]; tries: number; server: Server }> {
  const state = { got: [] as Received[], tries: 0 };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      state.tries++;
      if (status === 200) state.got.push(JSON.parse(body) as Received);
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/secret-key`;
  return {
    url,
    get got() {
      return state.got;
    },
    get tries() {
      return state.tries;
    },
    server,
  };
}

const harnesses: Harness[] = [];
const servers: Server[] = [];
afterEach(async () => {
  await cleanupAfterTest();
  for (const h of harnesses.splice(0)) await h.cleanup();
  for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
  removeTempDirs();
});

const notifications = (events: OrchestratorEvent[]) =>
  events.filter((e): e is Extract<OrchestratorEvent, { type: 'notification' }> => e.type === 'notification');

describe('notifications to a webhook', () => {
  it('one "needs input" for a blocker, with the command that answers it, and one "done" at the end', async () => {
    const hook = await receiver();
    servers.push(hook.server);
    const harness = makeHarness({ claude: { fail: 'auth', failTimes: 1 } });
    harnesses.push(harness);
    const flush = attachNotifications(harness.manager, [hook.url], createStyle(false), process.env);
    const runtime = await harness.manager.create(SessionSpecSchema.parse(oneWorker('go', 'claude')), harness.target);
    await waitFor(() => runtime.endState() === 'waiting', 'the AUTH_REQUIRED blocker');
    await waitFor(() => hook.got.length === 1, 'the needs-input notification');
    expect(hook.got[0]).toMatchObject({
      kind: 'needs-input',
      sessionId: runtime.sessionId,
      blockerId: 'b1',
      command: expect.stringContaining(`orchestrate resolve ${runtime.sessionId} b1 <retry|skip|stop>`),
      text: expect.stringContaining('w1 needs input. AUTH_REQUIRED'),
    });
    runtime.send({ type: 'RESOLVE', blockerId: 'b1', choice: 'retry' });
    expect(await runtime.waitForEnd()).toBe('completed');
    await flush();
    expect(hook.got.map((n) => n.kind)).toEqual(['needs-input', 'done']);
    expect(hook.got[1]).toMatchObject({ outcome: 'completed', text: expect.stringContaining('ended: completed') });
    // Recorded: who was told what; the webhook's path (its secret) is not in the log.
    const recorded = notifications(runtime.readAfter(0));
    expect(recorded.map((n) => [n.kind, n.channel, n.target, n.ok, n.attempts])).toEqual([
      ['needs-input', 'webhook', new URL(hook.url).origin, true, 1],
      ['done', 'webhook', new URL(hook.url).origin, true, 1],
    ]);
    expect(JSON.stringify(runtime.readAfter(0))).not.toContain('secret-key');
  });

  it('a failing receiver: the session goes on and completes, every event is logged, the failure recorded', async () => {
    const hook = await receiver(500);
    servers.push(hook.server);
    const harness = makeHarness({ claude: { fail: 'auth', failTimes: 1 } });
    harnesses.push(harness);
    const flush = attachNotifications(harness.manager, [hook.url], createStyle(false), process.env, {
      retryDelaysMs: [0, 0],
    });
    const runtime = await harness.manager.create(SessionSpecSchema.parse(oneWorker('go', 'claude')), harness.target);
    await waitFor(() => runtime.endState() === 'waiting', 'the AUTH_REQUIRED blocker');
    runtime.send({ type: 'RESOLVE', blockerId: 'b1', choice: 'retry' });
    expect(await runtime.waitForEnd()).toBe('completed');
    await flush();
    const events = runtime.readAfter(0);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(
      events.filter((e) => e.type === 'state' && e.machine === 'session').map((e) => e.type === 'state' && e.to),
    ).toEqual(['created', 'running', 'waiting', 'running', 'completed']);
    expect(notifications(events).map((n) => [n.kind, n.ok, n.attempts, n.error])).toEqual([
      ['needs-input', false, 3, 'HTTP 500'],
      ['done', false, 3, 'HTTP 500'],
    ]);
    expect(hook.tries).toBe(6);
  });
});

describe('orchestrate run --notify', () => {
  it('no server: a blocker ends the run, one "needs input", then one "done" saying it waits for a person', async () => {
    const hook = await receiver();
    servers.push(hook.server);
    const { sandbox, specPath, env } = sandboxWith(
      { task: 'go', workers: [{ id: 'w1', agent: 'claude', role: 'implementer' }], sandbox: 'none' },
      { claude: { fail: 'auth' } },
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
        '--notify',
        hook.url,
      ],
      { env },
    );
    expect(run.exitCode, run.stderr).toBe(2);
    const sid = sessionIds(sandbox.workspace)[0] as string;
    expect(hook.got.map((n) => [n.kind, n.sessionId, n.outcome ?? n.blockerId])).toEqual([
      ['needs-input', sid, 'b1'],
      ['done', sid, 'waiting'],
    ]);
    expect(hook.got[1]?.text).toContain('ended needing a person: 1 open blocker');
    const recorded = notifications(readEvents(sandbox.workspace, sid));
    expect(recorded.map((n) => [n.kind, n.ok])).toEqual([
      ['needs-input', true],
      ['done', true],
    ]);
  });

  it('refuses a --notify that is neither a URL nor "desktop", by name', async () => {
    const run = await runCli(['run', 'a task', '--notify', 'ftp://x', '--no-server']);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('--notify: a webhook is an http:// or https:// URL');
  });
});
