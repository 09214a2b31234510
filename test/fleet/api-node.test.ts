/**
 * The fleet's API node (issue 16), with real processes: `orchestrate serve --store` and `orchestrate runner`
 * (dist/cli.js) on a throwaway Postgres cluster and a bare git remote, and nothing else between them. A session is
 * queued with POST /api/v1/orchestrate and a `repo`; its events reach an SSE client of the API node, gap-free and
 * exactly the table's lines, replayed from a Last-Event-ID; a pause, a resume, a stop and a blocker's answer sent
 * to the API node reach the runner holding the session through the database and are answered by its own API; and a
 * session no runner holds gets a 409 that says why; and `orchestrate apply --store` brings the result into the
 * user's checkout from the remote. Skipped loudly where Postgres cannot start.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentEnv, FAST_LIMITS } from '../integration/support-recovery.js';
import { cleanupAfterTest, runCli, type StartedCli, startCli, testSandbox } from '../support/orchestrate.js';
import { poll } from '../support/poll.js';
import { api, fleetCluster, sse, startApiNode, useFleet } from './support.js';

const cluster = await fleetCluster('the fleet API node tests');
const available = cluster !== null;
const server = cluster as NonNullable<typeof cluster>;
const fleet = useFleet(cluster);

describe.skipIf(!available)('the fleet API node', () => {
  let node: StartedCli;
  let runner: StartedCli;
  let base = '';
  let remote = '';
  let checkout = '';
  const transcripts = () => `${node.transcript()}\n${runner.transcript()}`;

  beforeAll(async () => {
    const sandbox = testSandbox({ git: true });
    remote = join(sandbox.dir, 'remote.git');
    checkout = sandbox.target;
    execFileSync('git', ['clone', '--quiet', '--bare', sandbox.target, remote]);
    const config = {
      // The quick one, the slow one (paused, resumed, stopped), and the one that asks before a command.
      codex: { lines: 6, delayMs: 20, writeFiles: [{ path: 'done.txt', content: 'done\n' }] },
      gemini: { lines: 600, delayMs: 50 },
      claude: { commands: [{ command: 'npm publish', creates: 'published.txt' }] },
    };
    ({ node, base } = await startApiNode(server.url, join(sandbox.dir, 'api')));
    runner = startCli(
      ['runner', '--store', server.url, '--slots', '3', '--lease-sec', '5', '--workspace', join(sandbox.dir, 'run')],
      agentEnv(sandbox, config),
      { cwd: sandbox.dir },
    );
    await poll(
      () => /^runner \S+:/m.test(runner.stdout()),
      30_000,
      () => runner.transcript(),
    );
  }, 60_000);

  afterAll(cleanupAfterTest);

  const queue = async (workers: object[], extra: object = {}) => {
    const started = await api(base, 'POST', '/orchestrate', {
      repo: remote,
      base: 'main',
      spec: { task: 'fleet api', sandbox: 'none', workers, limits: FAST_LIMITS, ...extra },
    });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    return started.body.sessionId as string;
  };
  const stateOf = async (sid: string) => (await api(base, 'GET', `/${sid}/state`)).body;
  const ended = (sid: string) =>
    poll(
      async () => {
        const state = await stateOf(sid);
        return state.fleet?.status === 'ended' ? state : null;
      },
      120_000,
      transcripts,
    );

  it('a queued session runs on a runner; SSE from the API node has every event once, in order', async () => {
    const sid = await queue([{ id: 'impl', agent: 'codex', role: 'implementer' }]);
    const live = sse(base, `/api/v1/${sid}/events`, 0);
    const state = await ended(sid);
    expect(state.outcome, transcripts()).toBe('completed');
    expect(state.targetDir).toBe(`${remote} (main)`);
    expect(state.workers.map((w: { id: string; status: string }) => [w.id, w.status])).toEqual([['impl', 'completed']]);

    const table = await fleet.store.readAfter(sid, 0);
    await poll(() => live.frames.filter((f) => f.id !== null).length >= table.length, 60_000, transcripts);
    live.close();
    expect(live.frames[0]?.event).toBe('snapshot');
    const events = live.frames.filter((f) => f.id !== null);
    expect(events.map((f) => f.id)).toEqual(table.map((l) => l.seq));
    expect(events.map((f) => f.data)).toEqual(table.map((l) => l.line));

    // A reconnect with its Last-Event-ID gets the rest, from the table.
    const replay = sse(base, `/api/v1/${sid}/events`, table.length - 3);
    await poll(() => replay.frames.filter((f) => f.id !== null).length >= 3, 60_000, transcripts);
    replay.close();
    expect(replay.frames.filter((f) => f.id !== null).map((f) => f.id)).toEqual(table.slice(-3).map((l) => l.seq));

    const list = await api(base, 'GET', '/sessions');
    expect(list.body.sessions.find((s: { sessionId: string }) => s.sessionId === sid)?.outcome).toBe('completed');
    expect(
      execFileSync('git', ['-C', remote, 'show', `refs/heads/orch/${sid}/impl:done.txt`], { encoding: 'utf8' }),
    ).toBe('done\n');
    // Its changes are on the remote: the API node does not apply them, the user's machine does.
    const apply = await api(base, 'POST', `/${sid}/apply`, {});
    expect(apply.status).toBe(409);
    expect(apply.body.error).toContain(`orch/${sid}/_result`);
    const head = execFileSync('git', ['-C', checkout, 'rev-parse', 'HEAD'], { encoding: 'utf8' });
    const applied = await runCli(['apply', sid, '--store', server.url, '-C', checkout], {
      env: { ORCHESTRATOR_DATABASE_URL: '' },
    });
    expect(applied.exitCode, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('A done.txt');
    expect(readFileSync(join(checkout, 'done.txt'), 'utf8')).toBe('done\n');
    // As uncommitted changes: HEAD has not moved.
    expect(execFileSync('git', ['-C', checkout, 'rev-parse', 'HEAD'], { encoding: 'utf8' })).toBe(head);
    expect(execFileSync('git', ['-C', checkout, 'status', '--porcelain'], { encoding: 'utf8' })).toContain('done.txt');
  }, 180_000);

  it('pause, resume and stop sent to the API node reach the runner and are answered by its API', async () => {
    const sid = await queue([{ id: 'slow', agent: 'gemini', role: 'implementer' }]);
    await poll(
      async () => (await stateOf(sid)).workers.some((w: { status: string }) => w.status === 'running'),
      120_000,
      transcripts,
    );
    const paused = await api(base, 'POST', `/${sid}/pause`, {});
    expect(paused.status, JSON.stringify(paused.body)).toBe(202);
    expect(paused.body.state).toBe('paused');
    // The runner's own checks answer: a paused session cannot be paused again.
    const again = await api(base, 'POST', `/${sid}/pause`, {});
    expect(again.status).toBe(409);
    expect(again.body.error).toContain('paused already');
    expect((await api(base, 'POST', `/${sid}/resume`, {})).status).toBe(202);
    const stopped = await api(base, 'POST', `/${sid}/stop`, { reason: 'enough' });
    expect(stopped.status, JSON.stringify(stopped.body)).toBe(202);
    const state = await ended(sid);
    expect(state.outcome).toBe('stopped');
    // Ended: nobody holds it, and the API node says so itself.
    const late = await api(base, 'POST', `/${sid}/pause`, {});
    expect(late.status).toBe(409);
    expect(late.body.error).toContain('has ended (stopped)');
    const { rows } = await fleet.admin.query(
      `SELECT method, path, status, reply_status FROM orchestrator.commands WHERE session_id = $1 ORDER BY id`,
      [sid],
    );
    expect(rows.map((r) => [r.path.split('/').at(-1), r.status, r.reply_status])).toEqual([
      ['pause', 'answered', 202],
      ['pause', 'answered', 409],
      ['resume', 'answered', 202],
      ['stop', 'answered', 202],
    ]);
  }, 180_000);

  it('a fleet session waiting for a person is answered through the API node', async () => {
    const sid = await queue([{ id: 'w', agent: 'claude', role: 'implementer', mode: 'interactive' }], {
      permissions: { ask: ['Bash(npm publish:*)'] },
    });
    const blocker = await poll(
      async () =>
        (await stateOf(sid)).blockers.find(
          (b: { kind: string; open: boolean }) => b.kind === 'PERMISSION_REQUEST' && b.open,
        ),
      120_000,
      transcripts,
    );
    const answered = await api(base, 'POST', `/${sid}/blockers/${blocker.id}`, { choice: 'allow' });
    expect(answered.status, JSON.stringify(answered.body)).toBe(202);
    const state = await ended(sid);
    expect(state.outcome, transcripts()).toBe('completed');
    const permissions = (await fleet.store.readAfter(sid, 0))
      .filter((l) => l.type === 'permission')
      .map((l) => JSON.parse(l.line) as { decision: string; by: string });
    expect(permissions.map((p) => [p.decision, p.by])).toEqual([
      ['ask', 'rule'],
      ['allow', 'person'],
    ]);
  }, 180_000);

  it('a session no runner holds gets a 409 that says why; bad requests are 4xx with a JSON error', async () => {
    const started = await api(base, 'POST', '/orchestrate', {
      repo: remote,
      labels: ['gpu'],
      spec: {
        task: 'waits for a gpu runner',
        sandbox: 'none',
        workers: [{ id: 'a', agent: 'codex', role: 'implementer' }],
      },
    });
    expect(started.status).toBe(202);
    const queued = await api(base, 'POST', `/${started.body.sessionId}/pause`, {});
    expect(queued.status).toBe(409);
    expect(queued.body.error).toContain('is queued: no runner has taken it yet');
    expect((await stateOf(started.body.sessionId)).state).toBe('queued');

    const option = await api(base, 'POST', '/orchestrate', { repo: '--upload-pack=touch pwned', task: 'x' });
    expect(option.status).toBe(400);
    expect(JSON.stringify(option.body)).toContain('repo must not start with \\"-\\"');
    const typo = await api(base, 'POST', '/orchestrate', { repo: remote, spec: { task: 'x', wokers: [] } });
    expect(typo.status).toBe(400);
    expect(typo.body.error).toContain('wokers');
    expect((await api(base, 'GET', '/orch_20991231_000000_none/state')).status).toBe(404);
    const unauthorized = await fetch(new URL('/api/v1/sessions', base));
    expect(unauthorized.status).toBe(401);
  }, 60_000);
});
