/**
 * A fleet runner (src/fleet/runner.ts) with real processes: a throwaway Postgres cluster, a bare git remote,
 * fake agents, and the runner's own SessionManager running each claimed session in a clone of the remote.
 * Skipped loudly where Postgres cannot start. Waits are on what the runner reports, never on a duration.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { groupMembers } from '../../src/fs/proc.js';
import type { FleetStore } from '../../src/fleet/pg-store.js';
import { Runner, type RunnerEvent } from '../../src/fleet/runner.js';
import { SessionManager } from '../../src/runtime/session-manager.js';
import { agentEnv, FAST_LIMITS } from '../integration/support-recovery.js';
import { cleanupAfterTest, testSandbox } from '../support/orchestrate.js';
import { expireLease, fleetCluster, useFleet } from './support.js';

const server = await fleetCluster('the fleet runner tests');
const available = server !== null;
const fleet = useFleet(server);
const runners: Runner[] = [];
const managers: SessionManager[] = [];

afterEach(async () => {
  for (const runner of runners.splice(0)) runner.stop();
  for (const manager of managers.splice(0)) await manager.stopAll('the test is over');
  await cleanupAfterTest();
});
let n = 0;
const sessionId = () => `orch_20261207_120000_r${String(++n).padStart(3, '0')}`;

/** A bare remote made from a sandbox's repository, and a runner on it whose reports a test can wait for. */
function setUp(config: object, fleetStore?: FleetStore, deferAfterMs?: number) {
  const sandbox = testSandbox({ git: true });
  const remote = join(sandbox.dir, 'remote.git');
  execFileSync('git', ['clone', '--quiet', '--bare', sandbox.target, remote]);
  const manager = new SessionManager({
    workspace: join(sandbox.dir, 'runner', 'workspace'),
    env: { ...process.env, ...agentEnv(sandbox, config) },
  });
  managers.push(manager);
  const reports: RunnerEvent[] = [];
  const waiters: Array<() => void> = [];
  const until = (done: (reports: RunnerEvent[]) => boolean) =>
    new Promise<void>((resolve) => {
      const check = () => (done(reports) ? resolve() : waiters.push(check));
      check();
    });
  const runner = new Runner({
    store: fleetStore ?? fleet.store,
    manager,
    id: 'r1',
    agents: ['claude', 'codex', 'gemini'],
    slots: 2,
    leaseSec: 30,
    workDir: join(sandbox.dir, 'runner', 'work'),
    tickMs: 100,
    ...(deferAfterMs !== undefined ? { deferAfterMs } : {}),
    onEvent: (event) => {
      reports.push(event);
      for (const wake of waiters.splice(0)) wake();
    },
  });
  runners.push(runner);
  const spec = (workers: object[]) => ({ task: 'fleet task', workers, limits: FAST_LIMITS });
  /** A session of one claude implementer, queued; its id. */
  const queueOne = async () => {
    const id = sessionId();
    const workers = [{ id: 'impl', agent: 'claude', role: 'implementer' }];
    await fleet.store.enqueue({ id, spec: spec(workers), repo: remote, base: 'main', agents: ['claude'] });
    return id;
  };
  return { sandbox, remote, manager, runner, reports, until, spec, queueOne };
}

describe.skipIf(!available)('a fleet runner', () => {
  it('runs what it claims as run does, its events gap-free in Postgres and its branches on the remote', async () => {
    const { remote, manager, runner, until, spec } = setUp({});
    const ids = [sessionId(), sessionId(), sessionId()];
    for (const id of ids) {
      await fleet.store.enqueue({
        id,
        spec: spec([
          { id: 'impl', agent: 'claude', role: 'implementer' },
          { id: 'check', agent: 'codex', role: 'verifier', dependsOn: ['impl'] },
        ]),
        repo: remote,
        base: 'main',
        agents: ['claude', 'codex'],
      });
    }
    runner.start();
    await until((r) => r.filter((e) => e.type === 'ended').length === 3);
    for (const id of ids) {
      expect(await fleet.store.session(id)).toMatchObject({ status: 'ended', owner: null, token: 1 });
      // The database holds the session's log line for line, as the runner's folder has it.
      const local = readFileSync(join(manager.workspace, 'sessions', id, 'events.jsonl'), 'utf8').split('\n');
      local.pop();
      const stored = await fleet.store.readAfter(id, 0, 100_000);
      expect(stored.map((l) => l.line)).toEqual(local);
      expect(stored.map((l) => l.seq)).toEqual(local.map((_, i) => i + 1));
      expect(new Set((await fleet.store.writers(id)).map((w) => `${w.runnerId}#${w.token}`))).toEqual(
        new Set(['r1#1']),
      );
      const branches = execFileSync('git', [
        '-C',
        remote,
        'for-each-ref',
        '--format=%(refname)',
        `refs/heads/orch/${id}/`,
      ])
        .toString()
        .split('\n')
        .filter(Boolean);
      expect(branches).toEqual(expect.arrayContaining([`refs/heads/orch/${id}/impl`, `refs/heads/orch/${id}/check`]));
    }
  });

  it('a runner whose lease was taken over stops its agents and writes nothing more', async () => {
    const { manager, runner, until, queueOne } = setUp({
      default: { holdMs: 0, holdUntil: 'never-released', heartbeatMs: 50 },
    });
    const id = await queueOne();
    // Replicated events wake this listener: wait until the agent is running and its output is in the database.
    let wake: () => void = () => undefined;
    const listener = await fleet.store.listen(() => wake());
    try {
      runner.start();
      await until((r) => r.some((e) => e.type === 'claimed'));
      for (;;) {
        const running = manager
          .get(id)
          ?.view()
          .workers.some((w) => w.status === 'running');
        if (running && (await fleet.store.session(id)).lastSeq > 0) break;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      await listener.close();
    }
    const runtime = manager.get(id);
    if (!runtime) throw new Error('the runner runs no session');
    const before = await fleet.store.session(id);
    // The runner misses its renewals past the lease (as if it had hung: its ticks stop; a late renewal before another
    // runner's claim would keep the lease), and another runner claims the session. Its agent's output goes on, and
    // the first append of it is refused.
    runner.stop();
    let other: Awaited<ReturnType<typeof fleet.store.claim>> = null;
    // A renewal already under way when it stopped may still land: then the lease is its again, and expires again.
    while (!other) {
      await expireLease(fleet.admin, id);
      other = await fleet.store.claim({ id: 'r2', agents: ['claude'], leaseSec: 30 });
    }
    expect(other).toMatchObject({ sessionId: id, token: 2 });
    const atTakeover = other?.lastSeq ?? -1;
    await until((r) => r.some((e) => e.type === 'lost' && e.sessionId === id));
    expect(await runtime.waitForEnd()).toBe('stopped');
    // Its agents are gone, and nothing it logged after the takeover reached the database.
    for (const record of runtime.procRecords('impl')) expect(groupMembers(record.pgid)).toEqual([]);
    expect(runtime.lastSeq).toBeGreaterThan(atTakeover);
    expect(await fleet.store.readAfter(id, atTakeover)).toEqual([]);
    expect((await fleet.store.session(id)).lastSeq).toBe(atTakeover);
    expect(atTakeover).toBeGreaterThanOrEqual(before.lastSeq);
    const writers = await fleet.store.writers(id);
    expect(writers.every((w) => w.runnerId === 'r1' && w.token === 1)).toBe(true);
    expect(await fleet.store.session(id)).toMatchObject({ status: 'running', owner: 'r2', token: 2 });
  });

  it(
    'a session whose workers wait to retry goes back to the queue until then, its slot free, ' +
      'and is resumed from where it was once claimed again',
    async () => {
      // The agent is rate-limited once and says when to retry (a few seconds on): the session waits that long.
      const config = { claude: { fail: 'rate_limit_reset', failTimes: 1, retryAfterSec: 4 } };
      const { runner, until, queueOne } = setUp(config, undefined, 1_500);
      const id = await queueOne();
      runner.start();
      await until((r) => r.some((e) => e.type === 'deferred'));
      const deferred = (
        await fleet.admin.query(
          'SELECT lease_owner, not_before, status, folder_seq, last_seq FROM orchestrator.sessions WHERE id = $1',
          [id],
        )
      ).rows[0];
      // Its lease is given back, not to be claimed before the retry time; the folder holds all of its log.
      expect(deferred).toMatchObject({ lease_owner: null, status: 'running' });
      expect(Number(deferred.folder_seq)).toBe(Number(deferred.last_seq));
      expect(Date.parse(deferred.not_before)).toBeGreaterThan(Date.now());
      expect(runner.sessions).toEqual([]);

      await until((r) => r.some((e) => e.type === 'ended'));
      expect(await fleet.store.session(id)).toMatchObject({ status: 'ended', owner: null, token: 2 });
      const lines = await fleet.store.readAfter(id, 0);
      expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 1));
      const events = lines.map((l) => JSON.parse(l.line) as { type: string; action?: string; attempt?: number });
      // One recovery, after the rate limit; the second attempt ran once the session was claimed again.
      expect(events.filter((e) => e.type === 'recovery').map((e) => e.action)).toEqual(['wait_and_resume']);
      expect(events.at(-1)).toMatchObject({ type: 'state' });
    },
  );

  it('rides out a database that fails for a while: says so once, tries again, and the session completes', async () => {
    // The first writes fail as a dropped connection would; then the database is back.
    let failures = 4;
    const flaky = new Proxy(fleet.store, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        if (property !== 'append' && property !== 'heartbeat') return value.bind(target);
        return async (...args: unknown[]) => {
          if (failures-- > 0) throw new Error('Connection terminated unexpectedly');
          return value.apply(target, args);
        };
      },
    });
    const { manager, runner, reports, until, queueOne } = setUp({}, flaky);
    const id = await queueOne();
    runner.start();
    await until((r) => r.some((e) => e.type === 'ended' || e.type === 'lost'));
    expect(reports.filter((e) => e.type !== 'claimed')).toEqual([
      {
        type: 'error',
        sessionId: id,
        message: expect.stringMatching(/Connection terminated unexpectedly.*trying again until the lease runs out/),
      },
      { type: 'ended', sessionId: id, outcome: 'completed' },
    ]);
    const local = readFileSync(join(manager.workspace, 'sessions', id, 'events.jsonl'), 'utf8').split('\n');
    local.pop();
    expect((await fleet.store.readAfter(id, 0, 100_000)).map((l) => l.line)).toEqual(local);
  });
});
