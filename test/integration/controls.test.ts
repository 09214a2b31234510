/**
 * Controls of a running session, end to end: `orchestrate run` (with its server unless said otherwise) and
 * `orchestrate pause|resume|stop|resolve` from the test, the fake agent really spawned. Pause must really
 * stop the agent's whole process group (/proc/<pid>/stat state T) and suspend the stall and worker timers;
 * stop is SIGTERM then SIGKILL after killGraceMs, leaving nothing; SIGINT stops gracefully (twice: kills);
 * a blocker keeps its worker blocked until a person answers retry or skip.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { OrchestratorEvent } from '../../src/domain/events.js';
import type { SessionSummary } from '../../src/runtime/session-manager.js';
import { probeBwrap } from '../../src/safety/bwrap-probe.js';
import {
  cleanupAfterTest,
  eventsOfType,
  readEvents,
  type Sandbox,
  type StartedCli,
  startedTranscripts,
  testSandbox,
} from '../support/orchestrate.js';
import {
  cli,
  fakeChildren,
  groupMembers,
  isAlive,
  launchesOf,
  leftovers,
  liveEvents,
  NOTHING_LEFT,
  oneWorkerSpec,
  sleep,
  startRun,
  status,
  waitFor,
  waitForSession,
  writeSpec,
} from './support-recovery.js';

const bwrap = await probeBwrap();

afterEach(cleanupAfterTest);

const box = () => testSandbox({ git: true });

function workerStates(events: OrchestratorEvent[], workerId: string): string[] {
  return eventsOfType(events, 'state')
    .filter((e) => e.machine === 'worker' && e.id === workerId)
    .map((e) => e.to);
}

function sessionStates(events: OrchestratorEvent[]): string[] {
  return eventsOfType(events, 'state')
    .filter((e) => e.machine === 'session')
    .map((e) => e.to);
}

/** What the run printed so far, for a wait's timeout message. */
const soFar = () => `\norchestrate run so far:\n${startedTranscripts()}`;

/**
 * Wait until the worker runs an agent (pid known, = pgid) and, when asked, the agent started its grandchild.
 * 20 s each, as the other waits here: starting node processes is slow on a loaded machine.
 */
async function runningWorker(s: Sandbox, sessionId: string, workerId: string, withChild = false): Promise<number> {
  let last = '';
  const pid = await waitFor(
    () => `${workerId} running with a pid (last seen: ${last})${soFar()}`,
    async () => {
      const w = (await status(s, sessionId)).workers.find((x) => x.id === workerId);
      last = JSON.stringify(w ? { status: w.status, pid: w.pid } : null);
      return w?.status === 'running' && w.pid ? w.pid : null;
    },
    20_000,
  );
  if (withChild)
    await waitFor(
      () =>
        `the agent's grandchild in group ${pid}: members ${JSON.stringify(groupMembers(pid))}, ` +
        `children ${JSON.stringify(fakeChildren(s))}${soFar()}`,
      () => groupMembers(pid).length >= 3 && fakeChildren(s).some((c) => isAlive(c.pid)),
      20_000,
    );
  return pid;
}

/** Wait until all these workers run an agent at the same time; their pids (= pgids), in order. */
async function runningWorkers(s: Sandbox, sessionId: string, workerIds: string[]): Promise<number[]> {
  return waitFor(
    () => `${workerIds.join(', ')} running with pids${soFar()}`,
    async () => {
      const workers = (await status(s, sessionId)).workers;
      const pids = workerIds.map((id) => workers.find((w) => w.id === id && w.status === 'running')?.pid ?? null);
      return pids.every((p) => p !== null) ? (pids as number[]) : null;
    },
    20_000,
  );
}

/** Every member of the group is in state `T` (stopped), and there are at least `min` of them. */
function allStopped(pgid: number, min: number): boolean {
  const members = groupMembers(pgid);
  return members.length >= min && members.every((m) => m.state === 'T');
}

function noneStopped(pgid: number): boolean {
  const members = groupMembers(pgid);
  return members.length > 0 && members.every((m) => m.state !== 'T');
}

function serverOf(run: StartedCli, s: Sandbox): { url: string; token: string } {
  const url = /Dashboard: (http:\/\/[^/\s#]+)/.exec(run.stderr())?.[1];
  if (!url) throw new Error(`no dashboard URL printed:\n${run.stderr()}`);
  return { url, token: readFileSync(join(s.workspace, 'token'), 'utf8').trim() };
}

describe('pause / resume', { timeout: 90_000 }, () => {
  it("pause stops the agent group's processes (state T) and the stall and worker timers; resume goes on", async () => {
    const s = box();
    // A grandchild in the group, and progress lines 200 ms apart until the test writes `release` (holdUntil with
    // heartbeatMs): the agent is at work whenever the pause lands, however slow the machine. Stall after 3 s
    // without progress, at most 12 s of running: the 13 s pause alone would trip both if they kept counting,
    // while the time it runs (until the pause lands, and its answer once resumed) stays well under 12 s.
    const release = join(s.dir, 'release');
    const config = { claude: { lines: 5, delayMs: 200, spawnChild: true, holdUntil: release, heartbeatMs: 200 } };
    const run = startRun(
      s,
      config,
      oneWorkerSpec(s, 'claude', { stallTimeoutSec: 3, workerTimeoutSec: 12, killGraceMs: 500 }),
    );
    const sid = await waitForSession(s);
    const pgid = await runningWorker(s, sid, 'w', true);

    const paused = await cli(s, ['pause', sid]);
    expect(paused.exitCode, paused.stderr).toBe(0);
    expect(paused.stdout).toMatch(/pause: sent to http:\/\/127\.0\.0\.1:\d+ \(session now paused\)/);
    await waitFor('every member of the group in state T', () => allStopped(pgid, 3), 20_000);
    const view = await status(s, sid);
    expect(view.state).toBe('paused');
    expect(view.workers[0]).toMatchObject({ id: 'w', status: 'paused', pid: pgid });

    // Held longer than stallTimeoutSec and workerTimeoutSec: no output, no stall kill, no recovery. Stopped, the
    // agent sees the release only once resumed: then it gives its answer. (The lines counted a second into the
    // pause: by then the orchestrator has recorded any line the agent wrote just before it was stopped.)
    writeFileSync(release, '');
    await sleep(1_000);
    const linesBefore = eventsOfType(liveEvents(s, sid), 'agent').length;
    await sleep(12_000);
    expect(allStopped(pgid, 3)).toBe(true);
    expect(eventsOfType(liveEvents(s, sid), 'agent')).toHaveLength(linesBefore);
    expect(eventsOfType(liveEvents(s, sid), 'recovery')).toHaveLength(0);

    const resumed = await cli(s, ['resume', sid]);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/session now running/);
    await waitFor('the group running again (R/S)', () => noneStopped(pgid) || groupMembers(pgid).length === 0, 20_000);

    const exit = await run.exited;
    expect(exit.exitCode, run.stderr()).toBe(0);
    const events = readEvents(s.workspace, sid);
    expect(eventsOfType(events, 'recovery')).toHaveLength(0);
    expect(eventsOfType(events, 'blocker')).toHaveLength(0);
    expect(workerStates(events, 'w')).toEqual([
      'spawned',
      'running.active',
      'running.paused',
      'running.active',
      'completed',
    ]);
    expect(sessionStates(events)).toEqual(['created', 'running', 'paused', 'running', 'completed']);
    const [launch, ...more] = launchesOf(s, 'claude');
    expect(more).toHaveLength(0);
    // The wall time exceeded workerTimeoutSec: only the time it was not paused counted.
    expect(exit.exitedAt - Date.parse(launch!.ts)).toBeGreaterThan(12_000);
    expect(leftovers(s)).toEqual(NOTHING_LEFT);
  });

  it('pause of one worker (orchestrate pause --worker) stops only its group; the API resumes it', async () => {
    const s = box();
    const spec = writeSpec(s, [
      { id: 'a', agent: 'claude', role: 'implementer' },
      { id: 'b', agent: 'gemini', role: 'architect' },
    ]);
    // Both hold until the test stops the session.
    const config = { claude: { holdMs: 60_000, delayMs: 2 }, gemini: { holdMs: 60_000, delayMs: 2 } };
    const run = startRun(s, config, spec);
    const sid = await waitForSession(s);
    const [a, b] = await runningWorkers(s, sid, ['a', 'b']);

    const paused = await cli(s, ['pause', sid, '--worker', 'a']);
    expect(paused.exitCode, paused.stderr).toBe(0);
    await waitFor('a stopped (T)', () => allStopped(a!, 2), 20_000);
    expect(noneStopped(b!)).toBe(true);
    const again = await cli(s, ['pause', sid, '--worker', 'a']);
    expect([again.exitCode, again.stdout]).toEqual([0, 'pause of worker a: it is paused already (nothing to do)\n']);
    const view = await status(s, sid);
    expect(view.state).toBe('running');
    expect(view.workers.map((w) => [w.id, w.status])).toEqual([
      ['a', 'paused'],
      ['b', 'running'],
    ]);

    const { url, token } = serverOf(run, s);
    // Another process lists it as not its own, and names who runs it: the run's process, here, with its server.
    const listed = JSON.parse((await cli(s, ['status', '--json'])).stdout) as SessionSummary[];
    expect(listed.find((x) => x.sessionId === sid)).toMatchObject({
      live: false,
      runner: { pid: run.child.pid, host: hostname(), serverUrl: url },
    });
    const response = await fetch(`${url}/api/v1/${sid}/resume`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ workerId: 'a' }),
    });
    expect(response.status).toBe(202);
    await waitFor('a running again', () => noneStopped(a!), 20_000);
    expect((await status(s, sid)).workers.map((w) => w.status)).toEqual(['running', 'running']);
    const resumedAgain = await cli(s, ['resume', sid, '--worker', 'a']);
    expect([resumedAgain.exitCode, resumedAgain.stdout]).toEqual([
      0,
      'resume of worker a: it is running already (nothing to do)\n',
    ]);

    expect((await cli(s, ['stop', sid])).exitCode).toBe(0);
    const exit = await run.exited;
    expect(exit.exitCode, run.stderr()).toBe(2);
    const events = readEvents(s.workspace, sid);
    expect(workerStates(events, 'a')).toEqual([
      'spawned',
      'running.active',
      'running.paused',
      'running.active',
      'running.stopping',
      'stopped',
    ]);
    expect(workerStates(events, 'b')).toEqual(['spawned', 'running.active', 'running.stopping', 'stopped']);
    expect(sessionStates(events)).toEqual(['created', 'running', 'stopping', 'stopped']);
    expect(eventsOfType(events, 'recovery')).toHaveLength(0);
    expect(leftovers(s)).toEqual(NOTHING_LEFT);
  });

  it('orchestrate resume SID --worker W resumes a worker paused alone', async () => {
    const s = box();
    const run = startRun(s, { claude: { holdMs: 60_000, delayMs: 2 } }, oneWorkerSpec(s, 'claude'));
    const sid = await waitForSession(s);
    const pgid = await runningWorker(s, sid, 'w');
    expect((await cli(s, ['pause', sid, '--worker', 'w'])).exitCode).toBe(0);
    await waitFor('w stopped (T)', () => allStopped(pgid, 2), 20_000);

    const resumed = await cli(s, ['resume', sid, '--worker', 'w']);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    await waitFor('w running again', () => noneStopped(pgid), 3_000);
    expect((await status(s, sid)).workers[0]?.status).toBe('running');
    expect((await cli(s, ['stop', sid])).exitCode).toBe(0);
    expect((await run.exited).exitCode).toBe(2);
  });
});

describe('inside bubblewrap ("sandbox": "bwrap")', () => {
  // bwrap is run without --new-session and without a pid namespace, so it and the agent stay in the group.
  it.skipIf(!bwrap.available)(
    'pause stops bwrap and the agent (T), resume continues them, stop leaves nothing',
    async () => {
      const s = box();
      // The fake agent's state folder lands in the sandbox's private /tmp: this test reads only /proc and the log.
      const config = { claude: { holdMs: 60_000, delayMs: 2, spawnChild: true } };
      const run = startRun(
        s,
        config,
        writeSpec(s, [{ id: 'w', agent: 'claude', role: 'implementer' }], { killGraceMs: 500 }, { sandbox: 'bwrap' }),
      );
      const sid = await waitForSession(s);
      const pgid = await runningWorker(s, sid, 'w');
      // wrapper sh, bwrap, the fake agent, its grandchild
      await waitFor(
        'bwrap, the agent and its grandchild in the group',
        () => groupMembers(pgid).length >= 4 && groupMembers(pgid).some((m) => m.comm === 'bwrap'),
      );

      expect((await cli(s, ['pause', sid])).exitCode).toBe(0);
      await waitFor('every member of the group in state T', () => allStopped(pgid, 4), 20_000);
      expect((await cli(s, ['resume', sid])).exitCode).toBe(0);
      await waitFor('the group running again', () => noneStopped(pgid), 20_000);

      expect((await cli(s, ['stop', sid])).exitCode).toBe(0);
      const exit = await run.exited;
      expect(exit.exitCode, run.stderr()).toBe(2);
      expect(groupMembers(pgid)).toEqual([]);
      expect(leftovers(s).mentioning).toEqual([]);
      const events = readEvents(s.workspace, sid);
      expect(workerStates(events, 'w')).toEqual([
        'spawned',
        'running.active',
        'running.paused',
        'running.active',
        'running.stopping',
        'stopped',
      ]);
      expect(sessionStates(events).at(-1)).toBe('stopped');
    },
  );
});

describe('stop', () => {
  it(
    'orchestrate stop: SIGTERM to the group, SIGKILL after killGraceMs for an agent that ignores SIGTERM; ' +
      'session stopped, nothing left, exit 2',
    async () => {
      const s = box();
      const config = { claude: { holdMs: 60_000, delayMs: 2, spawnChild: true, ignoreSigterm: true } };
      const run = startRun(s, config, oneWorkerSpec(s, 'claude', { killGraceMs: 1_500 }));
      const sid = await waitForSession(s);
      const pgid = await runningWorker(s, sid, 'w', true);
      const agentPid = launchesOf(s, 'claude')[0]!.pid;
      expect(groupMembers(pgid).map((m) => m.pid)).toEqual(
        expect.arrayContaining([pgid, agentPid, ...fakeChildren(s).map((c) => c.pid)]),
      );

      const askedAt = Date.now();
      const stopped = await cli(s, ['stop', sid]);
      expect(stopped.exitCode, stopped.stderr).toBe(0);
      expect(stopped.stdout).toMatch(/stop: sent to http/);
      // Inside the grace period the agent, which ignores SIGTERM, is still there ... (checked only while this is
      // surely inside it: the SIGTERM went after askedAt, and a loaded machine may take longer to get here).
      if (Date.now() - askedAt < 1_400) expect(isAlive(agentPid)).toBe(true);

      const exit = await run.exited;
      expect(exit.exitCode, run.stderr()).toBe(2);
      // ... and only the SIGKILL after killGraceMs ended it.
      expect(exit.exitedAt - askedAt).toBeGreaterThanOrEqual(1_400);
      expect(isAlive(agentPid)).toBe(false);
      expect(leftovers(s)).toEqual(NOTHING_LEFT);

      const events = readEvents(s.workspace, sid);
      expect(workerStates(events, 'w').slice(-2)).toEqual(['running.stopping', 'stopped']);
      expect(sessionStates(events).slice(-2)).toEqual(['stopping', 'stopped']);
      const view = await status(s, sid);
      expect(view).toMatchObject({ state: 'stopped', outcome: 'stopped', stopReason: 'stopped through the API' });
      expect(run.stderr()).toMatch(/Session orch_\S+ stopped after/);
    },
  );

  it('the session reports stopped only once nothing of the agent group is left', async () => {
    const s = box();
    const config = { claude: { holdMs: 60_000, delayMs: 2, spawnChild: true, ignoreSigterm: true } };
    const run = startRun(s, config, oneWorkerSpec(s, 'claude', { killGraceMs: 1_500 }));
    const sid = await waitForSession(s);
    const pgid = await runningWorker(s, sid, 'w', true);
    expect((await cli(s, ['stop', sid])).exitCode).toBe(0);
    const seenStopped = await waitFor(
      'the session stopped',
      () =>
        liveEvents(s, sid).some((e) => e.type === 'state' && e.machine === 'session' && e.to === 'stopped')
          ? { members: groupMembers(pgid) }
          : null,
      10_000,
      5,
    );
    expect(seenStopped.members, 'processes of the group still alive when the session said stopped').toEqual([]);
    await run.exited;
  });
});

describe('SIGINT / SIGTERM of the orchestrator', () => {
  it('SIGINT stops the session gracefully: summary printed, exit 2, nothing left', async () => {
    const s = box();
    const config = { claude: { holdMs: 60_000, delayMs: 2, spawnChild: true } };
    const run = startRun(s, config, oneWorkerSpec(s, 'claude', { killGraceMs: 2_000 }), ['--no-server']);
    const sid = await waitForSession(s);
    await runningWorker(s, sid, 'w', true);

    run.child.kill('SIGINT');
    const exit = await run.exited;
    expect(exit.exitCode, run.stderr()).toBe(2);
    expect(run.stderr()).toContain(
      'SIGINT: stopping the session (agents get SIGTERM, then SIGKILL after the grace period)',
    );
    expect(run.stderr()).toMatch(
      new RegExp(`Session ${sid} stopped after \\S+ \\(the orchestrator received SIGINT\\)`),
    );
    expect(run.stderr()).toMatch(/w\s+claude\/implementer\s+stopped/);
    expect(leftovers(s)).toEqual(NOTHING_LEFT);
    const events = readEvents(s.workspace, sid);
    expect(sessionStates(events).at(-1)).toBe('stopped');
    expect(eventsOfType(events, 'recovery')).toHaveLength(0);
  });

  it('SIGTERM (e.g. orchestrate stop of a run without a server) is a graceful stop too', async () => {
    const s = box();
    const run = startRun(
      s,
      { gemini: { holdMs: 60_000, delayMs: 2 } },
      oneWorkerSpec(s, 'gemini', { killGraceMs: 2_000 }),
      ['--no-server'],
    );
    const sid = await waitForSession(s);
    await runningWorker(s, sid, 'w');
    const stopped = await cli(s, ['stop', sid]);
    expect(stopped.exitCode, stopped.stderr).toBe(0);
    expect(stopped.stdout).toMatch(/asked orchestrator process \d+ .* to stop it/);
    const exit = await run.exited;
    expect(exit.exitCode, run.stderr()).toBe(2);
    expect(run.stderr()).toContain('SIGTERM: stopping the session');
    expect(leftovers(s)).toEqual(NOTHING_LEFT);
  });

  it('a second SIGINT kills every agent group at once: exit 130, nothing left', async () => {
    const s = box();
    const config = { claude: { holdMs: 60_000, delayMs: 2, spawnChild: true, ignoreSigterm: true } };
    const run = startRun(s, config, oneWorkerSpec(s, 'claude', { killGraceMs: 20_000 }), ['--no-server']);
    const sid = await waitForSession(s);
    await runningWorker(s, sid, 'w', true);

    run.child.kill('SIGINT');
    await waitFor('the first SIGINT handled', () => run.stderr().includes('SIGINT: stopping the session'), 5_000, 5);
    const secondAt = Date.now();
    run.child.kill('SIGINT');
    // Well before the 20 s grace, however loaded the machine: the second SIGINT did not wait for it.
    const exit = await Promise.race([run.exited, sleep(15_000).then(() => null)]);
    expect(exit, 'the run did not end within 15 s of the second SIGINT (grace is 20 s)').not.toBeNull();
    expect(exit!.exitedAt - secondAt).toBeLessThan(15_000);
    expect(exit!.exitCode).toBe(130);
    expect(run.stderr()).toMatch(/SIGINT again: killed 1 process group\(s\)/);
    await waitFor('nothing left', () => JSON.stringify(leftovers(s)) === JSON.stringify(NOTHING_LEFT), 2_000).catch(
      () => undefined,
    );
    expect(leftovers(s)).toEqual(NOTHING_LEFT);
  });
});

describe('blockers answered by a person', () => {
  async function openBlocker(s: Sandbox, sid: string, kind: string): Promise<string> {
    return waitFor(
      `an open ${kind} blocker`,
      async () => (await status(s, sid)).blockers.find((b) => b.open && b.kind === kind)?.id,
    );
  }

  it('retry: the blocked worker is relaunched (resuming its agent session) and the run completes, exit 0', async () => {
    const s = box();
    // The first launch is refused (401); "the person logs in" = the next launch succeeds.
    const run = startRun(s, { codex: { fail: 'auth', failTimes: 1, delayMs: 2 } }, oneWorkerSpec(s, 'codex'));
    const sid = await waitForSession(s);
    const blocker = await openBlocker(s, sid, 'AUTH_REQUIRED');
    expect(blocker).toBe('b1');
    expect((await status(s, sid)).workers[0]).toMatchObject({ id: 'w', status: 'blocked', blockerId: 'b1' });
    await waitFor(
      'the "waits for a person" note',
      () => run.stderr().includes('The session waits for a person'),
      5_000,
    );
    // The exact command, no placeholders.
    expect(run.stderr()).toContain(
      `AUTH_REQUIRED b1 (w): orchestrate resolve ${sid} b1 <retry|skip|stop> --workspace ${s.workspace}`,
    );
    expect(run.stderr()).not.toContain('<session>');

    const answered = await cli(s, ['resolve', sid, 'b1', 'retry']);
    expect(answered.exitCode, answered.stderr).toBe(0);
    expect(answered.stdout).toContain('b1: answered retry');

    const exit = await run.exited;
    expect(exit.exitCode, run.stderr()).toBe(0);
    const events = readEvents(s.workspace, sid);
    const blockers = eventsOfType(events, 'blocker');
    expect(blockers.map((b) => [b.blockerId, b.kind, b.resolution?.choice ?? null])).toEqual([
      ['b1', 'AUTH_REQUIRED', null],
      ['b1', 'AUTH_REQUIRED', 'retry'],
    ]);
    // `orchestrate resolve` goes through the running server and says it was the CLI.
    expect(blockers[1]!.resolution?.by).toBe('cli');
    expect(workerStates(events, 'w')).toEqual([
      'spawned',
      'running.active',
      'blocked',
      'recovering.waiting',
      'running.active',
      'completed',
    ]);
    // codex printed thread.started before the 401: the retry continues that thread.
    const init = eventsOfType(events, 'agent').find((e) => e.kind === 'init' && e.at?.attempt === 1);
    const thread = init && 'agentSessionId' in init ? init.agentSessionId : undefined;
    expect(thread).toBeTruthy();
    const codex = launchesOf(s, 'codex');
    expect(codex).toHaveLength(2);
    expect(codex[0]!.resume).toBeNull();
    expect(codex[1]!.resume).toBe(thread);
    expect(codex[1]!.argv.slice(-3, -1)).toEqual(['resume', thread]);
  });

  it('skip: the blocked worker is skipped, its dependent runs; the session ends partial, exit 2', async () => {
    const s = box();
    const spec = writeSpec(s, [
      { id: 'a', agent: 'claude', role: 'implementer' },
      { id: 'b', agent: 'gemini', role: 'verifier', dependsOn: ['a'] },
    ]);
    const run = startRun(s, { claude: { fail: 'auth', delayMs: 2 }, gemini: { delayMs: 2 } }, spec);
    const sid = await waitForSession(s);
    await openBlocker(s, sid, 'AUTH_REQUIRED');
    expect(launchesOf(s, 'gemini')).toHaveLength(0);

    const answered = await cli(s, ['resolve', sid, 'b1', 'skip']);
    expect(answered.exitCode, answered.stderr).toBe(0);
    const exit = await run.exited;
    // Not a success: a's work was never done. Scripts and CI must not read this as completed.
    expect(exit.exitCode, run.stderr()).toBe(2);
    expect(exit.stderr).toMatch(
      new RegExp(
        `^Session ${sid} ended, but not every worker completed after \\d+s ` +
          `\\(not every worker completed: a skipped \\(skipped by a person\\)\\)$`,
        'm',
      ),
    );

    const events = readEvents(s.workspace, sid);
    expect(workerStates(events, 'a').at(-1)).toBe('skipped');
    expect(workerStates(events, 'b').at(-1)).toBe('completed');
    expect(launchesOf(s, 'claude')).toHaveLength(1);
    expect(launchesOf(s, 'gemini')).toHaveLength(1);
    const view = await status(s, sid);
    expect(view.workers.map((w) => [w.id, w.status])).toEqual([
      ['a', 'skipped'],
      ['b', 'completed'],
    ]);
    expect(view).toMatchObject({
      state: 'completed',
      outcome: 'partial',
      stopReason: 'not every worker completed: a skipped (skipped by a person)',
    });
  });

  it('retry keeps the launch fixes recovery already learned (gemini --skip-trust)', async () => {
    const s = box();
    const config = {
      rules: [
        {
          match: { agent: 'gemini', argvIncludes: '--skip-trust' },
          scenario: { fail: 'auth', failTimes: 1, key: 'trusted', delayMs: 2 },
        },
      ],
      gemini: { untrusted: true, delayMs: 2 },
    };
    const run = startRun(s, config, oneWorkerSpec(s, 'gemini'));
    const sid = await waitForSession(s);
    await openBlocker(s, sid, 'AUTH_REQUIRED');
    expect((await cli(s, ['resolve', sid, 'b1', 'retry'])).exitCode).toBe(0);
    expect((await run.exited).exitCode).toBe(0);

    const gemini = launchesOf(s, 'gemini');
    expect(gemini[1]!.argv).toContain('--skip-trust');
    expect(gemini[2]!.argv, 'the launch after retry lost --skip-trust').toContain('--skip-trust');
    expect(gemini).toHaveLength(3);
  });
});
