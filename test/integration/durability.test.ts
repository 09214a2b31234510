/**
 * The orchestrator can die at any moment (kill -9) and `orchestrate resume` continues the session without
 * losing or repeating anything. The real CLI (dist/cli.js) runs sessions of fake agents that print slowly;
 * the test kills it while agents run, while a worker backs off, and while a review round runs, lets the
 * agents go on printing while it is dead, resumes, and then checks the session folder:
 *   - the session completed; events.jsonl is seq 1..N with no gap and no duplicate (readEvents);
 *   - every line each agent printed (read back from agents/<worker>.stdout.jsonl) became events exactly
 *     once (matched by the `at` offsets), also the lines printed while nobody watched;
 *   - no agent was launched twice for one attempt (the fake's launches.jsonl against the launch records);
 *   - a worker that had completed before the crash stays completed; each actor's state events form one chain.
 * Also: a lost agent is relaunched with native resume (fresh on resume_not_found); `orchestrate stop`
 * with no orchestrator ends the agents; a paused session stays paused (agents SIGSTOPped) across kill -9.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { groupMembers, isSameProcessAlive, readExitFile, signalGroup } from '../../src/actors/process-group.js';
import { probeBwrap } from '../../src/safety/bwrap-probe.js';
import type { OrchestratorEvent } from '../../src/domain/events.js';
import { SessionSpecSchema, type SessionSpecInput } from '../../src/domain/spec.js';
import { SessionRuntime } from '../../src/runtime/session-runtime.js';
import { stateValueToString } from '../../src/runtime/state-log.js';
import type { SessionView } from '../../src/runtime/view.js';
import { EventLog } from '../../src/store/event-log.js';
import { planIsolation } from '../../src/workspace/plan.js';
import { SessionStore, type ProcRecord } from '../../src/store/session-store.js';
import {
  childPidsOf,
  cleanupAfterTest,
  eventsOfType,
  groupStopped,
  launches,
  poll,
  processesMentioning,
  readEvents,
  runCli,
  sandboxWith,
  type Sandbox,
  sessionIds,
  startCli,
  type StartedCli,
  waitForSession,
} from '../support/orchestrate.js';
import {
  expectEveryLineExactlyOnce,
  expectNoDoubleLaunch,
  expectStateChains,
  folderView as view,
  peekEvents,
  procRecords,
  sessionDirOf,
  workerIds,
} from '../support/session-folder.js';

// --- harness ------------------------------------------------------------------------------------------

afterEach(cleanupAfterTest);

async function kill9(orchestrator: StartedCli): Promise<void> {
  orchestrator.child.kill('SIGKILL');
  expect((await orchestrator.exited).signal).toBe('SIGKILL');
}

// --- reading a session while it runs (complete lines only) and after ---------------------------------

function workerStatus(sandbox: Sandbox, sid: string, workerId: string): string | undefined {
  return view(sandbox, sid).workers.find((w) => w.id === workerId)?.state;
}

function stdoutLineCount(sandbox: Sandbox, sid: string, workerId: string): number {
  const path = join(sessionDirOf(sandbox, sid), 'agents', `${workerId}.stdout.jsonl`);
  return existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l.trim()).length
    : 0;
}

function agentEventCount(events: OrchestratorEvent[], workerId: string): number {
  return events.filter((e) => e.type === 'agent' && e.workerId === workerId).length;
}

/** The launch records of agents that have not ended (no exit file): they must survive the orchestrator. */
function liveRecords(sandbox: Sandbox, sid: string): Array<ProcRecord & { workerId: string }> {
  return workerIds(sandbox, sid).flatMap((workerId) =>
    procRecords(sandbox, sid, workerId)
      .filter((r) => readExitFile(join(sessionDirOf(sandbox, sid), 'agents', `${workerId}.${r.attempt}.exit`)) === null)
      .map((r) => ({ ...r, workerId })),
  );
}

/** A worker's state in the text of a snapshot.json (undefined before it has one). */
function snapshotWorkerState(text: string, workerId: string): string | undefined {
  const persisted = JSON.parse(text) as {
    snapshot: { children?: Record<string, { snapshot?: { value?: unknown } } | undefined> };
  };
  const value = persisted.snapshot.children?.[workerId]?.snapshot?.value;
  return value === undefined ? undefined : stateValueToString(value);
}

interface KillPoint {
  seq: number;
  completedWorkers: string[];
}

async function resumeAndCheck(sandbox: Sandbox, sid: string, env: Record<string, string>, kill: KillPoint) {
  const resumed = await runCli(['resume', sid, '--no-server', '--json', '--workspace', sandbox.workspace], {
    env,
    timeoutMs: 60_000,
  });
  expect(resumed.exitCode, resumed.stderr).toBe(0);
  expect(resumed.stderr).toContain(`Session ${sid} completed`);
  const events = readEvents(sandbox.workspace, sid);
  expect(events.length).toBeGreaterThan(kill.seq);
  // The resumed process printed the whole log, the part from before the crash included, once.
  const printed = resumed.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as OrchestratorEvent).seq);
  expect(printed).toEqual(events.map((e) => e.seq));

  const sessionStates = eventsOfType(events, 'state').filter((e) => e.machine === 'session');
  expect(sessionStates.at(-1)?.to).toBe('completed');
  expect(view(sandbox, sid).outcome).toBe('completed');
  expectStateChains(events);
  const lines = expectEveryLineExactlyOnce(sandbox, sid, events);
  expect(lines).toBeGreaterThan(0);
  expectNoDoubleLaunch(sandbox, sid);
  for (const workerId of kill.completedWorkers) {
    expect(
      eventsOfType(events, 'state').filter((e) => e.id === workerId && e.seq > kill.seq),
      `${workerId} completed before the crash`,
    ).toEqual([]);
  }
  expect(processesMentioning(sandbox.dir)).toEqual([]);
  return events;
}

function killPoint(sandbox: Sandbox, sid: string): KillPoint {
  const seq = EventLog.lastSeqOf(join(sessionDirOf(sandbox, sid), 'events.jsonl'));
  const completedWorkers = view(sandbox, sid)
    .workers.filter((w) => w.status === 'completed')
    .map((w) => w.id);
  return { seq, completedWorkers };
}

/** Right after the kill: every agent that had not ended is still alive (same pid, same start time). */
function expectAgentsSurvived(sandbox: Sandbox, sid: string): Array<ProcRecord & { workerId: string }> {
  const live = liveRecords(sandbox, sid);
  for (const r of live)
    expect(isSameProcessAlive(r.pid, r.startTime), `${r.workerId} attempt ${r.attempt} (pid ${r.pid}) survived`).toBe(
      true,
    );
  return live;
}

// --- the session used for the crash points ----------------------------------------------------------------

const TRIO: SessionSpecInput = {
  task: 'make the crash test pass',
  workers: [
    { id: 'alpha', agent: 'claude', role: 'implementer' },
    { id: 'beta', agent: 'codex', role: 'verifier' },
    { id: 'gamma', agent: 'gemini', role: 'architect' },
  ],
  reviews: [{ reviewer: 'codex', target: 'alpha', focus: 'implementation' }],
  limits: { backoffBaseMs: 2000, killGraceMs: 2000 },
  sandbox: 'none',
};

/**
 * alpha prints 40 lines in ~2 s; beta fails once (backoff 1-2 s) then succeeds; gamma prints for ~3.5 s; the reviewer
 * ~1.5 s.
 */
const TRIO_AGENTS = {
  rules: [
    {
      match: { promptIncludes: 'You are a REVIEWER' },
      scenario: { key: 'reviewer', lines: 30, delayMs: 50, verdict: { verdict: 'approve', summary: 'looks right' } },
    },
  ],
  claude: { lines: 40, delayMs: 50, writeFiles: [{ path: 'alpha.txt', content: 'alpha\n' }] },
  codex: { lines: 10, delayMs: 50, fail: 'server_error', failTimes: 1 },
  // gemini streams its answer in `lines` deltas of the final text: a long text makes 70 of them.
  gemini: {
    lines: 70,
    delayMs: 50,
    finalText: 'The design is in ARCHITECTURE.md. '.repeat(30).trim(),
    writeFiles: [{ path: 'ARCHITECTURE.md', content: 'the design\n' }],
  },
};

function startTrio(sandboxMode: 'none' | 'auto' = 'none') {
  // Inside bubblewrap /tmp is a fresh tmpfs: the fake agent's memory (launches.jsonl, its sessions) stays in the
  // state dir, which fakeAgentEnv makes writable there (ORCHESTRATOR_SANDBOX_WRITABLE), as the demo's is.
  const { sandbox, env, specPath } = sandboxWith({ ...TRIO, sandbox: sandboxMode }, TRIO_AGENTS);
  const orchestrator = startCli(
    ['run', '--spec', specPath, '-C', sandbox.target, '--workspace', sandbox.workspace, '--no-server', '--json'],
    env,
  );
  return { sandbox, env, orchestrator };
}

const bwrap = await probeBwrap();

describe('kill -9 of the orchestrator, then orchestrate resume', { timeout: 60_000 }, () => {
  const whileAgentsRun = async (sandboxMode: 'none' | 'auto') => {
    const { sandbox, env, orchestrator } = startTrio(sandboxMode);
    const sid = await waitForSession(sandbox);
    await poll(() => agentEventCount(peekEvents(sandbox, sid), 'alpha') >= 10, 20_000, 'alpha printed 10 events');
    await kill9(orchestrator);
    const kill = killPoint(sandbox, sid);
    const survivors = expectAgentsSurvived(sandbox, sid);
    expect(survivors.map((r) => r.workerId)).toEqual(expect.arrayContaining(['alpha', 'gamma']));
    // Their checkouts outlive the orchestrator with it.
    const checkouts = join(sandbox.workspace, 'checkouts', sid);
    for (const w of ['alpha', 'gamma']) expect(existsSync(join(checkouts, w, '.git'))).toBe(true);

    // While nobody watches: alpha finishes (its exit status is left in the exit file), gamma keeps printing.
    const gammaLines = stdoutLineCount(sandbox, sid, 'gamma');
    await poll(
      () => readExitFile(join(sessionDirOf(sandbox, sid), 'agents', 'alpha.1.exit')),
      20_000,
      'alpha ended while the orchestrator was dead',
    );
    await poll(
      () => stdoutLineCount(sandbox, sid, 'gamma') >= gammaLines + 5,
      20_000,
      'gamma printed while the orchestrator was dead',
    );
    const gamma = procRecords(sandbox, sid, 'gamma')[0] as ProcRecord;
    expect(isSameProcessAlive(gamma.pid, gamma.startTime)).toBe(true);
    const unseen = stdoutLineCount(sandbox, sid, 'alpha') - agentEventCount(peekEvents(sandbox, sid), 'alpha');
    expect(unseen).toBeGreaterThan(0);

    const events = await resumeAndCheck(sandbox, sid, env, kill);
    // gamma was re-attached (one launch, its output after the crash persisted), alpha collected, beta recovered once.
    expect(procRecords(sandbox, sid, 'gamma')).toHaveLength(1);
    expect(procRecords(sandbox, sid, 'alpha')).toHaveLength(1);
    expect(
      events.filter((e) => e.type === 'agent' && e.workerId === 'gamma' && e.seq > kill.seq).length,
    ).toBeGreaterThan(5);
    expect(eventsOfType(events, 'recovery').map((e) => [e.workerId, e.signal.kind, e.action])).toEqual([
      ['beta', 'server_error', 'backoff_and_relaunch'],
    ]);
    expect(eventsOfType(events, 'decision').map((e) => e.decision)).toEqual(['CONTINUE']);
    // Resume reused the checkouts (each made once), and the work done before and after the crash is the result.
    const made = eventsOfType(events, 'workspace').filter(
      (e) => e.action === 'checkout' && !e.workerId?.startsWith('r1-'),
    );
    expect(made.map((e) => e.workerId).sort()).toEqual(['alpha', 'beta', 'gamma']);
    const show = (path: string) =>
      execFileSync('git', ['show', `orch/${sid}/_result:${path}`], { cwd: sandbox.target, encoding: 'utf8' });
    expect(show('alpha.txt')).toBe('alpha\n');
    expect(show('ARCHITECTURE.md')).toBe('the design\n');
    return events;
  };

  it(
    '(a) while agents run: one ends while the orchestrator is dead (exit collected), one is re-attached; ' +
      'nothing lost, nothing doubled',
    async () => {
      await whileAgentsRun('none');
    },
  );

  it.skipIf(!bwrap.available)(
    '(a) the same with the agents inside the bubblewrap sandbox ("sandbox": "auto")',
    async () => {
      const events = await whileAgentsRun('auto');
      expect(eventsOfType(events, 'safety').some((e) => /bwrap|bubblewrap/i.test(JSON.stringify(e)))).toBe(true);
    },
  );

  it('(b) while a worker backs off: the restored backoff keeps its deadline, the relaunch happens once', async () => {
    const { sandbox, env, orchestrator } = startTrio();
    const sid = await waitForSession(sandbox);
    // The snapshot (what resume restores) shows beta waiting out its backoff.
    await poll(
      () => workerStatus(sandbox, sid, 'beta') === 'recovering.waiting',
      20_000,
      'beta in recovering.waiting in snapshot.json',
    );
    await kill9(orchestrator);
    const kill = killPoint(sandbox, sid);
    expectAgentsSurvived(sandbox, sid);
    const persisted = SessionStore.readSnapshotOf(sandbox.workspace, sid)?.snapshot as {
      children: Record<string, { snapshot: { context: { backoff: { dueAt: number } } } }>;
    };
    const dueAt = persisted.children.beta?.snapshot.context.backoff.dueAt as number;
    expect(dueAt).toBeGreaterThan(Date.now() - 500);
    expect(procRecords(sandbox, sid, 'beta')).toHaveLength(1);

    const resumedAt = Date.now();
    const events = await resumeAndCheck(sandbox, sid, env, kill);
    const [first, second] = procRecords(sandbox, sid, 'beta');
    expect(first?.attempt).toBe(1);
    // Not earlier than the deadline set before the crash; and no new backoff was decided after the resume
    // (one recovery event, one recovering state below), so the relaunch follows the deadline or the restore.
    expect(Date.parse(second?.launchedAt ?? '')).toBeGreaterThanOrEqual(dueAt - 50);
    // (Generous: node startup on two loaded cores; a wrongly restored timer would wait a whole new backoff or more.)
    expect(Date.parse(second?.launchedAt ?? '')).toBeLessThan(Math.max(dueAt, resumedAt) + 15_000);
    expect(second?.argv).toContain('resume');
    expect(eventsOfType(events, 'recovery')).toHaveLength(1);
    const betaStates = eventsOfType(events, 'state')
      .filter((e) => e.id === 'beta')
      .map((e) => e.to);
    expect(betaStates).toEqual([
      'spawned',
      'running.active',
      'blocked',
      'recovering.waiting',
      'running.active',
      'completed',
    ]);
  });

  it('(c) while a review round runs: the reviewer re-attached, its verdict collected once, one decision', async () => {
    const { sandbox, env, orchestrator } = startTrio();
    const sid = await waitForSession(sandbox);
    const reviewer = 'r1-codex-alpha';
    await poll(() => agentEventCount(peekEvents(sandbox, sid), reviewer) >= 5, 20_000, 'the reviewer printed 5 events');
    await kill9(orchestrator);
    const kill = killPoint(sandbox, sid);
    expect(workerStatus(sandbox, sid, 'alpha')).toBe('reviewing');
    expect(
      eventsOfType(peekEvents(sandbox, sid), 'state')
        .filter((e) => e.machine === 'review')
        .at(-1)?.to,
    ).toBe('collecting');
    const survivors = expectAgentsSurvived(sandbox, sid);
    expect(survivors.map((r) => r.workerId)).toContain(reviewer);
    const reviewerLines = stdoutLineCount(sandbox, sid, reviewer);
    await poll(
      () => stdoutLineCount(sandbox, sid, reviewer) >= reviewerLines + 3,
      20_000,
      'the reviewer printed while the orchestrator was dead',
    );

    const events = await resumeAndCheck(sandbox, sid, env, kill);
    expect(procRecords(sandbox, sid, reviewer)).toHaveLength(1);
    expect(eventsOfType(events, 'review').map((e) => [e.reviewer, e.target, e.verdict.verdict, e.valid])).toEqual([
      ['codex', 'alpha', 'approve', true],
    ]);
    expect(eventsOfType(events, 'decision').map((e) => [e.roundId, e.decision])).toEqual([['round-1', 'CONTINUE']]);
    const alphaStates = eventsOfType(events, 'state')
      .filter((e) => e.id === 'alpha')
      .map((e) => e.to);
    expect(alphaStates).toEqual(['spawned', 'running.active', 'reviewing', 'completed']);
  });

  it(
    'a lost agent (killed while the orchestrator was dead, no exit status) is relaunched with native resume; ' +
      'resume_not_found falls back to a fresh launch',
    async () => {
      const spec: SessionSpecInput = {
        task: 'lost and found',
        workers: [{ id: 'solo', agent: 'claude', role: 'implementer' }],
        limits: { backoffBaseMs: 200 },
        sandbox: 'none',
      };
      // Fresh launches succeed slowly; any resumed launch says the conversation is gone.
      const { sandbox, specPath, env } = sandboxWith(spec, {
        claude: { lines: 30, delayMs: 50, fail: 'resume_not_found' },
      });
      const orchestrator = startCli(
        ['run', '--spec', specPath, '-C', sandbox.target, '--workspace', sandbox.workspace, '--no-server', '--json'],
        env,
      );
      const sid = await waitForSession(sandbox);
      await poll(() => agentEventCount(peekEvents(sandbox, sid), 'solo') >= 5, 20_000, 'solo printed 5 events');
      await kill9(orchestrator);
      const kill = killPoint(sandbox, sid);
      const [record] = expectAgentsSurvived(sandbox, sid);
      // Its whole group dies with the orchestrator away: the wrapper too, so no exit status is left.
      signalGroup((record as ProcRecord).pgid, 'SIGKILL');
      await poll(() => groupMembers((record as ProcRecord).pgid).length === 0, 5000, 'the agent group gone');
      expect(readExitFile(join(sessionDirOf(sandbox, sid), 'agents', 'solo.1.exit'))).toBeNull();

      const events = await resumeAndCheck(sandbox, sid, env, kill);
      const recoveries = eventsOfType(events, 'recovery');
      expect(recoveries.map((e) => [e.signal.kind, e.action, e.attempt])).toEqual([
        ['crashed', 'backoff_and_relaunch', 1],
        ['resume_not_found', 'relaunch_fresh', 2],
      ]);
      expect(recoveries[0]?.signal.message).toMatch(/ended while the orchestrator was not running/);
      const agentSessionId = eventsOfType(events, 'agent').find((e) => e.kind === 'init' && e.at?.attempt === 1);
      const records = procRecords(sandbox, sid, 'solo');
      expect(records).toHaveLength(3);
      const sessionIdOfAttempt1 = (agentSessionId as { agentSessionId?: string } | undefined)?.agentSessionId as string;
      // Attempt 2: the agent's own session resumed, with a continuation prompt; attempt 3: fresh, the original prompt.
      expect(records[1]?.argv).toEqual(expect.arrayContaining(['--resume', sessionIdOfAttempt1]));
      expect(records[1]?.argv.at(-1)).toMatch(/Continue the task where you left off/);
      expect(records[2]?.argv).not.toContain('--resume');
      expect(records[2]?.argv.at(-1)).toBe(records[0]?.argv.at(-1));
      expect(launches(sandbox).map((l) => l.argv.includes('--resume'))).toEqual([false, true, false]);
    },
  );

  it('a torn last line (the orchestrator died mid-write) is cut at resume; nothing lost, seq gap-free', async () => {
    const spec: SessionSpecInput = {
      task: 'torn',
      workers: [{ id: 'solo', agent: 'claude', role: 'implementer' }],
      sandbox: 'none',
    };
    const { sandbox, specPath, env } = sandboxWith(spec, { claude: { lines: 30, delayMs: 50 } });
    const orchestrator = startCli(
      ['run', '--spec', specPath, '-C', sandbox.target, '--workspace', sandbox.workspace, '--no-server', '--json'],
      env,
    );
    const sid = await waitForSession(sandbox);
    await poll(() => agentEventCount(peekEvents(sandbox, sid), 'solo') >= 5, 20_000, 'solo printed 5 events');
    await kill9(orchestrator);
    const kill = killPoint(sandbox, sid);
    // What a death in the middle of write(2) leaves: the start of the next event's line, no newline.
    const log = join(sessionDirOf(sandbox, sid), 'events.jsonl');
    const torn =
      `{"seq":${kill.seq + 1},"ts":"2026-11-21T09:30:00.000Z","sessionId":"${sid}",` +
      '"source":{"kind":"worker","id":"solo"},"type":"agent","agent":"claude",' +
      '"workerId":"solo","at":{"attempt":1,"end":99999';
    writeFileSync(log, torn, { flag: 'a' });
    // A reader meanwhile sees only complete events (read-only opens never repair).
    expect(SessionStore.lastSeqOf(sandbox.workspace, sid)).toBe(kill.seq);
    const status = await runCli(['status', sid, '--json', '--workspace', sandbox.workspace], { env });
    expect((JSON.parse(status.stdout) as SessionView).lastSeq).toBe(kill.seq);
    expect(readFileSync(log, 'utf8').endsWith(torn)).toBe(true);

    const events = await resumeAndCheck(sandbox, sid, env, kill);
    expect(readFileSync(log, 'utf8')).not.toContain('"end":99999');
    expect(events[kill.seq]?.seq).toBe(kill.seq + 1);
    expect(procRecords(sandbox, sid, 'solo')).toHaveLength(1);
  });

  it('killed between a state event and its snapshot: the restored actor makes it again, logged once', async () => {
    const spec: SessionSpecInput = {
      task: 'window',
      workers: [{ id: 'solo', agent: 'claude', role: 'implementer' }],
      sandbox: 'none',
    };
    const { sandbox, specPath, env } = sandboxWith(spec, { claude: { lines: 20, delayMs: 50 } });
    const orchestrator = startCli(
      ['run', '--spec', specPath, '-C', sandbox.target, '--workspace', sandbox.workspace, '--no-server', '--json'],
      env,
    );
    const sid = await waitForSession(sandbox);
    await poll(() => agentEventCount(peekEvents(sandbox, sid), 'solo') >= 3, 20_000, 'solo printed 3 events');
    await kill9(orchestrator);
    const kill = killPoint(sandbox, sid);
    const [record] = expectAgentsSurvived(sandbox, sid);
    await poll(
      () => readExitFile(join(sessionDirOf(sandbox, sid), 'agents', `solo.${record?.attempt ?? 1}.exit`)),
      20_000,
      'solo ended while nobody watched',
    );
    // What a death right after logging a change leaves: the event on record, the snapshot (running.active) one
    // change behind. The change is the one the resumed actor will make: solo collected and completed.
    const running = eventsOfType(peekEvents(sandbox, sid), 'state').findLast((e) => e.id === 'solo');
    expect(running?.to).toBe('running.active');
    const logged = {
      ...running,
      seq: kill.seq + 1,
      ts: new Date().toISOString(),
      from: 'running.active',
      to: 'completed',
      cause: 'WORKER.STATUS',
    };
    writeFileSync(join(sessionDirOf(sandbox, sid), 'events.jsonl'), `${JSON.stringify(logged)}\n`, { flag: 'a' });

    const resumed = await runCli(['resume', sid, '--no-server', '--json', '--workspace', sandbox.workspace], {
      env,
      timeoutMs: 60_000,
    });
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    const events = readEvents(sandbox.workspace, sid);
    expectStateChains(events);
    expect(
      eventsOfType(events, 'state')
        .filter((e) => e.id === 'solo')
        .map((e) => e.to),
    ).toEqual(['spawned', 'running.active', 'completed']);
    expect(view(sandbox, sid).outcome).toBe('completed');
  });

  it(
    'killed after a recovery decision its snapshot missed: resumed, the worker is recovered once, ' +
      'with one recovery event and one relaunch',
    async () => {
      const spec: SessionSpecInput = {
        task: 'window',
        workers: [{ id: 'solo', agent: 'claude', role: 'implementer' }],
        limits: { backoffBaseMs: 3000 },
        sandbox: 'none',
      };
      const { sandbox, specPath, env } = sandboxWith(spec, {
        claude: { fail: 'server_error', failTimes: 1, delayMs: 20 },
      });
      const orchestrator = startCli(
        ['run', '--spec', specPath, '-C', sandbox.target, '--workspace', sandbox.workspace, '--no-server', '--json'],
        env,
      );
      const sid = await waitForSession(sandbox);
      const snapshot = join(sessionDirOf(sandbox, sid), 'snapshot.json');
      // The snapshot while solo runs its first attempt: what a crash right after the decision below would leave.
      // Read from the snapshot itself: the log has a state change a moment before the snapshot does.
      const behind = await poll(
        () => {
          const text = existsSync(snapshot) ? readFileSync(snapshot, 'utf8') : '';
          return text && snapshotWorkerState(text, 'solo') === 'running.active' ? text : null;
        },
        20_000,
        'a snapshot with solo running',
      );
      await poll(
        () => eventsOfType(peekEvents(sandbox, sid), 'recovery').length === 1,
        20_000,
        'the recovery decision logged',
      );
      await kill9(orchestrator);
      writeFileSync(snapshot, behind);

      const resumed = await runCli(['resume', sid, '--no-server', '--json', '--workspace', sandbox.workspace], {
        env,
        timeoutMs: 60_000,
      });
      expect(resumed.exitCode, resumed.stderr).toBe(0);
      const events = readEvents(sandbox.workspace, sid);
      expect(eventsOfType(events, 'recovery').map((e) => [e.workerId, e.attempt, e.signal.kind, e.action])).toEqual([
        ['solo', 1, 'server_error', 'backoff_and_relaunch'],
      ]);
      expectStateChains(events);
      expectNoDoubleLaunch(sandbox, sid);
      expect(procRecords(sandbox, sid, 'solo').map((r) => r.attempt)).toEqual([1, 2]);
      expect(view(sandbox, sid).outcome).toBe('completed');
    },
  );

  it('killed between creating the session and starting it: resume starts it, as if nothing happened', async () => {
    const { sandbox, env } = sandboxWith(null, { claude: { lines: 3 } });
    const spec = SessionSpecSchema.parse({
      task: 'born',
      workers: [{ id: 'solo', agent: 'claude', role: 'implementer' }],
      sandbox: 'none',
    });
    // What a death right after create() leaves (its folder, its first events, no actor started): created here,
    // never started, then let go of as the dead process would (its lock released).
    const isolation = await planIsolation(sandbox.target, {}, sandbox.workspace);
    const born = await SessionRuntime.create(spec, sandbox.target, { workspace: sandbox.workspace, env }, isolation);
    await new Promise((resolve) => setImmediate(resolve));
    born.detach();
    const sid = born.sessionId;
    expect(launches(sandbox)).toHaveLength(0);

    const resumed = await runCli(['resume', sid, '--no-server', '--json', '--workspace', sandbox.workspace], {
      env,
      timeoutMs: 60_000,
    });
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    const events = readEvents(sandbox.workspace, sid);
    expectStateChains(events);
    expect(
      eventsOfType(events, 'state')
        .filter((e) => e.machine === 'session')
        .map((e) => e.to),
    ).toEqual(['created', 'running', 'integrating', 'completed']);
    expect(launches(sandbox)).toHaveLength(1);
    expect(view(sandbox, sid).outcome).toBe('completed');
  });

  it('a completed session stays completed: resume launches nothing and no actor moves', async () => {
    const { sandbox, specPath, env } = sandboxWith(
      { task: 'quick', workers: [{ id: 'solo', agent: 'codex', role: 'implementer' }], sandbox: 'none' },
      { codex: { lines: 3 } },
    );
    const run = await runCli(
      ['run', '--spec', specPath, '-C', sandbox.target, '--workspace', sandbox.workspace, '--no-server', '--json'],
      { env },
    );
    expect(run.exitCode, run.stderr).toBe(0);
    const sid = sessionIds(sandbox.workspace)[0] as string;
    const before = readEvents(sandbox.workspace, sid);
    const snapshotBefore = SessionStore.readSnapshotOf(sandbox.workspace, sid);

    const resumed = await runCli(['resume', sid, '--no-server', '--json', '--workspace', sandbox.workspace], { env });
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    const after = readEvents(sandbox.workspace, sid);
    expect(after.slice(0, before.length)).toEqual(before);
    // Nothing happened to the session: no state change, no agent output, no recovery, review or blocker.
    expect(after.slice(before.length).filter((e) => e.type !== 'safety')).toEqual([]);
    expect(launches(sandbox)).toHaveLength(1);
    expect(view(sandbox, sid).outcome).toBe('completed');
    expect(SessionStore.readSnapshotOf(sandbox.workspace, sid)?.snapshot).toEqual(snapshotBefore?.snapshot);
    expect(SessionStore.lockHolder(sessionDirOf(sandbox, sid))).toBeNull();
  });
});

describe('orchestrate stop with no orchestrator running', { timeout: 60_000 }, () => {
  it('after kill -9, ends every agent group (grandchildren included) and records the session as stopped', async () => {
    const { sandbox, specPath, env } = sandboxWith(
      {
        task: 'hold on',
        workers: [
          { id: 'one', agent: 'claude', role: 'implementer' },
          { id: 'two', agent: 'gemini', role: 'architect' },
        ],
        limits: { killGraceMs: 2000 },
        sandbox: 'none',
      },
      { default: { lines: 2, holdMs: 120_000, spawnChild: true } },
    );
    const orchestrator = startCli(
      ['run', '--spec', specPath, '-C', sandbox.target, '--workspace', sandbox.workspace, '--no-server', '--json'],
      env,
    );
    const sid = await waitForSession(sandbox);
    await poll(() => childPidsOf(sandbox).length === 2, 20_000, 'both agents spawned their child');
    await kill9(orchestrator);
    const live = expectAgentsSurvived(sandbox, sid);
    expect(live).toHaveLength(2);
    const grandchildren = childPidsOf(sandbox);
    for (const pid of grandchildren) expect(existsSync(`/proc/${pid}`)).toBe(true);

    const stopped = await runCli(['stop', sid, '--workspace', sandbox.workspace], { env, timeoutMs: 30_000 });
    expect(stopped.exitCode, stopped.stderr).toBe(0);
    expect(stopped.stdout).toContain(`session ${sid} stopped; no agent of it is left running`);
    for (const r of live) expect(groupMembers(r.pgid), `${r.workerId}'s group`).toEqual([]);
    for (const pid of grandchildren)
      expect(existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ')).toBe(false);
    expect(processesMentioning(sandbox.dir)).toEqual([]);

    const events = readEvents(sandbox.workspace, sid);
    expectStateChains(events);
    expect(
      eventsOfType(events, 'state')
        .filter((e) => e.machine === 'session')
        .at(-1)?.to,
    ).toBe('stopped');
    expect(view(sandbox, sid)).toMatchObject({ outcome: 'stopped', stopReason: 'orchestrate stop' });
    for (const w of view(sandbox, sid).workers) expect(w.status).toBe('stopped');
    expect(launches(sandbox)).toHaveLength(2);
    expect(SessionStore.lockHolder(sessionDirOf(sandbox, sid))).toBeNull();

    // Stopping it again is harmless.
    const again = await runCli(['stop', sid, '--workspace', sandbox.workspace], { env });
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain('had already ended');
  });
});

// --- paused stays paused --------------------------------------------------------------------------------

/** A session paused through the running server's API (`orchestrate pause`), then its orchestrator killed -9. */
async function pausedThenKilled() {
  const { sandbox, specPath, env } = sandboxWith(
    { task: 'pause me', workers: [{ id: 'solo', agent: 'claude', role: 'implementer' }], sandbox: 'none' },
    { claude: { lines: 60, delayMs: 50 } },
  );
  const args = [
    'run',
    '--spec',
    specPath,
    '-C',
    sandbox.target,
    '--workspace',
    sandbox.workspace,
    '--json',
    '--port',
    '0',
  ];
  const orchestrator = startCli(args, env);
  const sid = await waitForSession(sandbox);
  await poll(() => agentEventCount(peekEvents(sandbox, sid), 'solo') >= 3, 20_000, 'solo printed');
  await poll(() => SessionStore.lockHolder(sessionDirOf(sandbox, sid))?.serverUrl, 20_000, 'the server in the lock');
  const paused = await runCli(['pause', sid, '--workspace', sandbox.workspace], { env });
  expect(paused.exitCode, paused.stderr).toBe(0);
  expect(paused.stdout).toContain('session now paused');
  const record = procRecords(sandbox, sid, 'solo')[0] as ProcRecord;
  await poll(() => groupStopped(record.pgid), 5000, 'the agent group SIGSTOPped');
  await poll(() => view(sandbox, sid).state === 'paused', 5000, 'paused in snapshot.json');
  await kill9(orchestrator);
  return { sandbox, env, sid, record };
}

describe('a paused session across kill -9 and resume', { timeout: 60_000 }, () => {
  it('stays paused: restored paused, the agent still SIGSTOPped, no output, nothing relaunched', async () => {
    const { sandbox, env, sid, record } = await pausedThenKilled();
    expect(groupStopped(record.pgid)).toBe(true);
    const lines = stdoutLineCount(sandbox, sid, 'solo');

    const resumed = startCli(['resume', sid, '--workspace', sandbox.workspace, '--json', '--port', '0'], env);
    await poll(
      () => SessionStore.lockHolder(sessionDirOf(sandbox, sid))?.pid === resumed.child.pid,
      20_000,
      'the resumed orchestrator holds the session',
    );
    const status = await runCli(['status', sid, '--json', '--workspace', sandbox.workspace], { env });
    const statusView = JSON.parse(status.stdout) as SessionView;
    expect(statusView.state).toBe('paused');
    expect(statusView.workers[0]?.status).toBe('paused');
    // Observed for a second: still stopped, not a byte more output, no new launch.
    const until = Date.now() + 1000;
    while (Date.now() < until) {
      expect(groupStopped(record.pgid)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(stdoutLineCount(sandbox, sid, 'solo')).toBe(lines);
    expect(launches(sandbox)).toHaveLength(1);
    expect(isSameProcessAlive(record.pid, record.startTime)).toBe(true);
    expectStateChains(readEvents(sandbox.workspace, sid));
    resumed.child.kill('SIGKILL');
    await resumed.exited;
  });

  it('orchestrate resume SID (via the resumed server) continues the stopped agent; the session completes', async () => {
    const { sandbox, env, sid, record } = await pausedThenKilled();
    const resumed = startCli(['resume', sid, '--workspace', sandbox.workspace, '--json', '--port', '0'], env);
    await poll(
      () => SessionStore.lockHolder(sessionDirOf(sandbox, sid))?.pid === resumed.child.pid,
      20_000,
      'the resumed orchestrator holds the session',
    );
    await poll(() => SessionStore.lockHolder(sessionDirOf(sandbox, sid))?.serverUrl, 20_000, 'its server');
    const unpaused = await runCli(['resume', sid, '--workspace', sandbox.workspace], { env });
    expect(unpaused.exitCode, unpaused.stderr).toBe(0);
    expect(unpaused.stdout).toContain('session now running');
    await poll(() => !groupStopped(record.pgid), 3000, 'the agent continued (SIGCONT)');
    const end = await Promise.race([
      resumed.exited,
      new Promise<null>((resolve) => setTimeout(() => resolve(null), 10_000)),
    ]);
    expect(end?.exitCode).toBe(0);
  });
});
