/**
 * The supervisor's decisions as plain functions of plain objects: a context and an event in, the context and
 * the commands out. No actor runs here (the session machine's own tests run the chart that applies them).
 */
import { describe, expect, it } from 'vitest';
import { SessionSpecSchema, type SessionSpecInput } from '../../src/domain/spec.js';
import { type Command, type Decision, jitterOf, supervisor } from '../../src/domain/supervisor/index.js';
import { initialWorkers, type SessionContext } from '../../src/domain/supervisor/context.js';
import type { WorkerFailedEvent, WorkerStatusEvent } from '../../src/machines/worker.machine.js';
import type { WorkerStatus } from '../../src/domain/worker-status.js';

const T0 = Date.parse('2026-12-06T09:00:00Z');

function contextOf(spec: SessionSpecInput, patch: Partial<SessionContext> = {}): SessionContext {
  const parsed = SessionSpecSchema.parse(spec);
  return {
    sessionId: 'orch_20261206_090000_unit',
    spec: parsed,
    targetDir: '/tmp/t',
    baseCommit: null,
    insideSandbox: false,
    mode: 'running',
    workers: initialWorkers(parsed),
    restarts: {},
    blockers: [],
    rounds: [],
    activeRound: null,
    reviewQueue: [],
    outcome: null,
    stopReason: null,
    learnedFixes: {},
    integration: { status: 'pending', excluded: [], head: null, change: null },
    added: {},
    ...patch,
  };
}

const pipeline: SessionSpecInput = {
  task: 'build it',
  workers: [
    { id: 'a', agent: 'gemini', role: 'architect' },
    { id: 'b', agent: 'claude', role: 'implementer', dependsOn: ['a'] },
  ],
  reviews: [{ reviewer: 'codex', target: 'b', focus: 'implementation' }],
};

function status(workerId: string, s: WorkerStatus, extra: Partial<WorkerStatusEvent> = {}): WorkerStatusEvent {
  return {
    type: 'WORKER.STATUS',
    workerId,
    kind: 'worker',
    status: s,
    state: s,
    cause: 'test',
    progress: 0,
    attempt: 1,
    finalText: `${workerId} did it`,
    planDone: 0,
    usage: {},
    agentSessionId: `${workerId}-session`,
    reason: null,
    ...extra,
  };
}

function failed(workerId: string, kind: WorkerFailedEvent['signal']['kind'], at = T0, attempt = 1): WorkerFailedEvent {
  return {
    type: 'WORKER.FAILED',
    workerId,
    kind: 'worker',
    attempt,
    signal: { kind, message: `${kind}!` },
    agentSessionId: `${workerId}-session`,
    fixes: {},
    at,
  };
}

const sends = (d: Decision) =>
  d.commands.filter((c): c is Extract<Command, { kind: 'send' }> => c.kind === 'send').map((c) => [c.to, c.event.type]);
const records = (d: Decision) =>
  d.commands.filter((c): c is Extract<Command, { kind: 'record' }> => c.kind === 'record').map((c) => c.event);

/** Apply decisions one after the other, as the machine does. */
function chain(context: SessionContext, ...steps: Array<(c: SessionContext) => Decision>): Decision {
  let decision: Decision = { context, commands: [] };
  for (const step of steps) decision = step(decision.context);
  return decision;
}

describe('the supervisor: starting workers', () => {
  it('starts the workers without dependencies, and marks them started and pending', () => {
    const d = supervisor.run(contextOf(pipeline));
    expect(sends(d)).toEqual([['a', 'START']]);
    expect(d.context.workers.a).toMatchObject({ started: true, pending: true });
    expect(d.context.workers.b).toMatchObject({ started: false, pending: false });
  });

  it("starts a worker once its dependency completed, from that dependency's branch and with its summary", () => {
    const started = supervisor.run(contextOf(pipeline)).context;
    const d = supervisor.workerStatus(started, status('a', 'completed'));
    const start = d.commands.find((c) => c.kind === 'send' && c.to === 'b');
    expect(start).toMatchObject({
      event: { type: 'START', from: ['a'], upstream: [{ workerId: 'a', summary: 'a did it' }] },
    });
    expect(d.context.workers.a).toMatchObject({ status: 'completed', pending: false });
  });

  it('starts nothing while paused; the context it is given is not changed', () => {
    const context = contextOf(pipeline, { mode: 'paused' });
    const frozen = structuredClone(context);
    const d = supervisor.workerStatus(context, status('a', 'completed'));
    expect(sends(d)).toEqual([]);
    expect(context).toEqual(frozen);
  });

  it('spawns every worker of the spec with its input, not started', () => {
    const d = supervisor.spawnWorkers(contextOf(pipeline));
    expect(d.commands.map((c) => (c.kind === 'spawnWorker' ? [c.id, c.systemId, c.input.role] : c.kind))).toEqual([
      ['a', 'worker:a', 'architect'],
      ['b', 'worker:b', 'implementer'],
    ]);
  });
});

describe('the supervisor: failures', () => {
  const running = () =>
    chain(contextOf(pipeline), supervisor.run, (c) => supervisor.workerStatus(c, status('a', 'running'))).context;

  it("a crash: recorded, RECOVER with a backoff, the restart counted at the failure's time", () => {
    const d = supervisor.workerFailed(running(), failed('a', 'crashed'));
    expect(records(d)).toEqual([
      expect.objectContaining({ type: 'recovery', workerId: 'a', action: 'backoff_and_relaunch', attempt: 1 }),
    ]);
    const recover = d.commands.find((c) => c.kind === 'send' && c.event.type === 'RECOVER');
    expect(recover).toMatchObject({ to: 'a', event: { resumeId: 'a-session', prompt: { kind: 'continue' } } });
    expect(d.context.restarts.a).toEqual([T0]);
  });

  it('the same failure decided twice gets the same backoff (no randomness of its own)', () => {
    const delay = (d: Decision) => {
      const recover = d.commands.find((c) => c.kind === 'send' && c.event.type === 'RECOVER');
      return recover?.kind === 'send' ? recover.event.delayMs : undefined;
    };
    const first = delay(supervisor.workerFailed(running(), failed('a', 'crashed')));
    expect(first).toBeGreaterThan(0);
    expect(delay(supervisor.workerFailed(running(), failed('a', 'crashed')))).toBe(first);
    expect(jitterOf('x:a:1')).not.toBe(jitterOf('x:a:2'));
    for (const key of ['', 'a', 'orch_x:w1:1', 'orch_x:w1:2']) {
      expect(jitterOf(key)).toBeGreaterThanOrEqual(0);
      expect(jitterOf(key)).toBeLessThan(1);
    }
  });

  it('more restarts than maxRestarts inside the window: GIVE_UP and a RESTART_INTENSITY blocker', () => {
    const context = { ...running(), restarts: { a: [T0 - 3000, T0 - 2000, T0 - 1000] } };
    const d = supervisor.workerFailed(context, failed('a', 'crashed', T0, 4));
    expect(sends(d)).toEqual([
      ['a', 'GIVE_UP'],
      ['a', 'ESCALATED'],
    ]);
    expect(d.context.blockers).toEqual([expect.objectContaining({ id: 'b1', kind: 'RESTART_INTENSITY', open: true })]);
    expect(records(d).map((e) => e.type)).toEqual(['recovery', 'blocker']);
  });

  it('restarts older than the window do not count', () => {
    const context = { ...running(), restarts: { a: [T0 - 120_000, T0 - 110_000, T0 - 100_000] } };
    const d = supervisor.workerFailed(context, failed('a', 'crashed'));
    expect(sends(d)).toEqual([['a', 'RECOVER']]);
    expect(d.context.restarts.a).toEqual([T0]);
  });

  it('an auth failure goes to a person: a blocker, and the worker is told it escalated', () => {
    const d = supervisor.workerFailed(running(), failed('a', 'auth'));
    expect(d.context.blockers[0]).toMatchObject({ kind: 'AUTH_REQUIRED', workerId: 'a', open: true });
    expect(sends(d)).toEqual([['a', 'ESCALATED']]);
  });

  it('a relaunch that needs a fix (gemini --skip-trust) learns it for every later launch of that agent', () => {
    const d = supervisor.workerFailed(running(), failed('a', 'untrusted_folder'));
    expect(d.context.learnedFixes.gemini).toEqual({ skipTrust: true });
  });
});

describe('the supervisor: answers to blockers', () => {
  const blocked = () => {
    const running = chain(contextOf(pipeline), supervisor.run, (c) =>
      supervisor.workerStatus(c, status('a', 'running')),
    );
    return chain(
      running.context,
      (c) => supervisor.workerFailed(c, failed('a', 'auth')),
      (c) => supervisor.workerStatus(c, status('a', 'blocked')),
    ).context;
  };

  it('retry: the blocker is closed, intensity starts afresh, and the worker recovers at once', () => {
    const d = supervisor.resolve(blocked(), { blockerId: 'b1', choice: 'retry', by: 'ana' });
    expect(d.context.blockers[0]).toMatchObject({ open: false, resolution: { choice: 'retry', by: 'ana' } });
    expect(d.context.restarts.a).toEqual([]);
    expect(d.commands.find((c) => c.kind === 'send')).toMatchObject({
      to: 'a',
      event: { type: 'RECOVER', delayMs: 0 },
    });
  });

  it('skip: the worker is told to skip; stop: the session raises STOP', () => {
    expect(sends(supervisor.resolve(blocked(), { blockerId: 'b1', choice: 'skip' }))).toEqual([['a', 'SKIP']]);
    const stop = supervisor.resolve(blocked(), { blockerId: 'b1', choice: 'stop' });
    expect(stop.commands.filter((c) => c.kind === 'raise')).toEqual([
      { kind: 'raise', event: { type: 'STOP', reason: 'stopped by a person answering AUTH_REQUIRED' } },
    ]);
  });

  it('an answer to a closed blocker, or with a choice it does not offer, changes nothing', () => {
    const context = blocked();
    expect(supervisor.resolve(context, { blockerId: 'b1', choice: 'answer' })).toEqual({ context, commands: [] });
    expect(supervisor.resolve(context, { blockerId: 'b9', choice: 'retry' })).toEqual({ context, commands: [] });
  });

  it('stopping a worker with an open blocker answers it skip', () => {
    const d = supervisor.stopWorker(blocked(), { workerId: 'a', by: 'ana' });
    expect(d.context.blockers[0]).toMatchObject({ open: false, resolution: { choice: 'skip', by: 'ana' } });
    expect(sends(d)).toEqual([['a', 'SKIP']]);
  });
});

describe('the supervisor: review rounds', () => {
  const reviewing = () =>
    chain(
      contextOf(pipeline),
      supervisor.run,
      (c) => supervisor.workerStatus(c, status('a', 'completed')),
      (c) => supervisor.workerStatus(c, status('b', 'running')),
    ).context;

  it('a worker that finished and has reviewers is queued, and its round starts at once', () => {
    const d = supervisor.workerStatus(reviewing(), status('b', 'reviewing'));
    expect(d.context.rounds).toEqual([
      { roundId: 'round-1', targets: ['b'], reason: 'work completed', decision: null },
    ]);
    expect(d.context.activeRound).toBe('round-1');
    expect(d.context.reviewQueue).toEqual([]);
    const spawn = d.commands.find((c) => c.kind === 'spawnRound');
    expect(spawn).toMatchObject({
      id: 'round-1',
      input: { assignments: [{ reviewerId: 'r1-codex-b', reviewer: 'codex', target: 'b' }] },
    });
  });

  it("a person's review of a worker still at work waits in the queue until it finishes", () => {
    const d = supervisor.review(reviewing(), { target: 'b' });
    expect(d.context.reviewQueue).toEqual([{ targets: ['b'], reason: 'requested by a person', whenDone: true }]);
    expect(d.context.activeRound).toBeNull();
    const done = supervisor.workerStatus(d.context, status('b', 'reviewing'));
    expect(done.context.activeRound).toBe('round-1');
  });

  it('past the round cap: not reviewed, recorded as such, and the target continues', () => {
    const context = {
      ...reviewing(),
      rounds: [1, 2, 3].map((n) => ({ roundId: `round-${n}`, targets: ['b'], reason: 'x', decision: null })),
    };
    const d = supervisor.workerStatus(context, status('b', 'reviewing'));
    expect(sends(d)).toEqual([['b', 'REVIEW.CONTINUE']]);
    expect(records(d)).toEqual([
      expect.objectContaining({
        type: 'decision',
        roundId: 'none',
        action: 'not reviewed: the cap of 3 review rounds per session is reached; continuing',
      }),
    ]);
  });

  it('the launched round gets one reviewer worker per assignment, started and read-only', () => {
    const inRound = supervisor.workerStatus(reviewing(), status('b', 'reviewing')).context;
    const d = supervisor.launchReviewers(inRound, {
      roundId: 'round-1',
      assignments: [{ reviewerId: 'r1-codex-b', reviewer: 'codex', target: 'b', focus: 'implementation' }],
    });
    expect(d.commands.map((c) => c.kind)).toEqual(['spawnWorker', 'send', 'send']);
    expect(d.commands[0]).toMatchObject({ input: { readOnly: true, kind: 'reviewer', roundId: 'round-1' } });
    expect(d.context.workers['r1-codex-b']).toMatchObject({ kind: 'reviewer', started: true, pending: true });
  });
});
