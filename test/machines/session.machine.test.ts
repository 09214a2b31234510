import { describe, expect, it } from 'vitest';
import { createActor, fromCallback } from 'xstate';
import type { NewEvent } from '../../src/domain/events.js';
import { SessionSpecSchema } from '../../src/domain/spec.js';
import { machineGraph } from '../../src/machines/graph.js';
import { sessionMachine, type SessionEvent } from '../../src/machines/session.machine.js';
import type { SessionContext, SessionInput } from '../../src/domain/supervisor/context.js';
import type { WorkerStatus, WorkerStatusEvent } from '../../src/machines/worker.machine.js';
import { walkAllTransitions, withoutInvocations } from './model-coverage.js';

/** The time failures happen at (they carry it: the supervisor has no clock of its own). */
const T0 = Date.parse('2026-11-21T09:00:00Z');

const spec = SessionSpecSchema.parse({
  task: 'build it',
  workers: [
    { id: 'a', agent: 'gemini', role: 'architect' },
    { id: 'b', agent: 'claude', role: 'implementer', dependsOn: ['a'] },
  ],
  reviews: [{ reviewer: 'codex', target: 'b', focus: 'implementation' }],
  review: { maxRounds: 1 },
});

const input: SessionInput = {
  sessionId: 'orch_20261121_000000_test',
  spec,
  targetDir: '/tmp/t',
  baseCommit: null,
  insideSandbox: false,
};
/** A round each time a worker's plan advances by one item: rounds start while the target still works. */
const everyPlanItemInput: SessionInput = {
  ...input,
  spec: { ...spec, review: { ...spec.review, trigger: { everyPlanItems: 1 } } },
};
/** A session whose workers have checkouts of their own: it integrates their branches before it completes. */
const isolatedInput: SessionInput = { ...input, spec: { ...spec, reviews: [] }, isolated: true };

/** The session with its children inert (the test plays their part) and the log discarded or kept. */
function stubbedSession(recorded: NewEvent[] = [], sent: Array<{ to: string; type: string }> = []) {
  const child = fromCallback(({ receive, self }) => {
    receive((event: { type: string }) => sent.push({ to: self.id, type: event.type }));
  });
  return sessionMachine.provide({
    actors: { worker: child as never, reviewRound: child as never, integrate: child as never },
    actions: { record: (_, event: NewEvent) => void recorded.push(event) },
  });
}

const status = (
  workerId: string,
  s: WorkerStatus,
  kind: 'worker' | 'reviewer' = 'worker',
  extra: Partial<WorkerStatusEvent> = {},
): WorkerStatusEvent => ({
  type: 'WORKER.STATUS',
  workerId,
  kind,
  status: s,
  state: s,
  cause: 'test',
  progress: 0,
  attempt: 1,
  finalText: 'summary',
  planDone: 0,
  usage: {},
  agentSessionId: `${workerId}-agent-session`,
  reason: null,
  ...extra,
});

/** What may plausibly come next from each status (a worker reports the state it enters). */
const NEXT: Partial<Record<WorkerStatus, WorkerStatus[]>> = {
  spawned: ['running'],
  running: ['completed', 'reviewing', 'blocked', 'paused', 'failed'],
  paused: ['running'],
  blocked: ['recovering', 'failed', 'skipped'],
  recovering: ['running'],
  reviewing: ['completed', 'running'],
};

function sessionEvents(snapshot: { context: SessionContext }): SessionEvent[] {
  const { context } = snapshot;
  const events: SessionEvent[] = [{ type: 'PAUSE' }, { type: 'RESUME' }, { type: 'STOP' }];
  if (context.reviewQueue.length === 0 && context.activeRound === null && context.rounds.length < 2)
    events.push({ type: 'REVIEW', target: 'b' });
  for (const w of Object.values(context.workers)) {
    if (w.kind === 'reviewer') {
      if (w.status !== 'completed')
        events.push(
          status(w.id, 'reviewing', 'reviewer', { roundId: w.roundId ?? 'round-1' }),
          status(w.id, 'failed', 'reviewer', { roundId: w.roundId ?? 'round-1' }),
        );
      continue;
    }
    if (w.status === 'spawned' && !w.started) continue;
    for (const next of NEXT[w.status] ?? []) events.push(status(w.id, next));
    if (w.status === 'running') {
      events.push({
        type: 'WORKER.PROGRESS',
        workerId: w.id,
        kind: 'worker',
        attempt: 1,
        finalText: 'so far',
        planDone: 1,
        usage: { inputTokens: 10 },
        agentSessionId: `${w.id}-agent-session`,
      });
    }
    // Failures only while no blocker is open and at most two were raised: keeps the state space finite.
    const quiet = context.blockers.length < 2 && !context.blockers.some((b) => b.open);
    if (w.id === 'a' && w.status === 'running' && quiet) {
      events.push(
        {
          type: 'WORKER.FAILED',
          workerId: 'a',
          kind: 'worker',
          attempt: 1,
          signal: { kind: 'crashed', message: 'boom' },
          agentSessionId: 'a-agent-session',
          fixes: {},
          at: T0,
        },
        {
          type: 'WORKER.FAILED',
          workerId: 'a',
          kind: 'worker',
          attempt: 1,
          signal: { kind: 'auth', message: 'Not logged in' },
          agentSessionId: null,
          fixes: {},
          at: T0,
        },
        { type: 'WORKER.TIMED_OUT', workerId: 'a', activeMs: 1000 },
        // Its agent asks before a tool runs and the rules say a person decides: a PERMISSION_REQUEST blocker.
        {
          type: 'WORKER.PERMISSION',
          workerId: 'a',
          attempt: 1,
          requestId: 'req-1',
          request: { tool: 'Bash', command: 'npm publish' },
        },
        {
          type: 'INTERVENE',
          workerId: 'a',
          act: 'pause',
          blocker: { kind: 'BUDGET_EXCEEDED', message: 'over budget', action: 'raise it' },
        },
        { type: 'PAUSE', workerId: 'a' },
        { type: 'SAY', workerId: 'a', text: 'also this' },
        { type: 'STOP_WORKER', workerId: 'a' },
      );
    }
    if (w.id === 'a' && w.status === 'paused') events.push({ type: 'RESUME', workerId: 'a' });
  }
  for (const b of context.blockers.filter((x) => x.open)) {
    for (const choice of b.options)
      events.push({
        type: 'RESOLVE',
        blockerId: b.id,
        choice,
        ...(choice === 'answer' ? { text: 'do it this way' } : {}),
      });
  }
  if (context.activeRound) {
    const roundId = context.activeRound;
    const assignments = [{ reviewerId: 'r1-codex-b', reviewer: 'codex', target: 'b', focus: 'implementation' }];
    events.push({ type: 'ROUND.LAUNCH', roundId, assignments });
    for (const decision of ['CONTINUE', 'PAUSE_AND_CLARIFY', 'STOP_AND_ESCALATE'] as const) {
      const verdict = decision === 'CONTINUE' ? 'approve' : decision === 'PAUSE_AND_CLARIFY' ? 'concern' : 'blocker';
      events.push({
        type: 'ROUND.DONE',
        output: {
          roundId,
          targets: ['b'],
          decision,
          verdicts: assignments.map((a) => ({ ...a, verdict: { verdict, summary: verdict, issues: [] }, valid: true })),
        },
      });
    }
  }
  const reviewer = context.workers['r1-codex-b'];
  if (reviewer) {
    events.push(
      { type: 'ROUND.RETRY_REVIEWER', roundId: 'round-1', reviewerId: reviewer.id },
      { type: 'ROUND.ACCEPT_REVIEWER', roundId: 'round-1', reviewerId: reviewer.id },
      { type: 'ROUND.STOP_REVIEWER', roundId: 'round-1', reviewerId: reviewer.id },
    );
  }
  return events;
}

/**
 * With checkouts: the workers run to completion (no reviews, no failures: the walk above covers those), then the
 * integration reports done, a conflict or a failure, and the answers to its blockers (retry, an agent, skip, stop).
 */
function isolatedEvents(snapshot: { value: unknown; context: SessionContext }): SessionEvent[] {
  const { context } = snapshot;
  const events: SessionEvent[] = [{ type: 'STOP' }];
  for (const w of Object.values(context.workers)) {
    if (w.status === 'spawned' && w.started) events.push(status(w.id, 'running'));
    if (w.status === 'running') events.push(status(w.id, 'completed'));
  }
  if (snapshot.value === 'integrating' && context.blockers.length < 3) {
    events.push(
      {
        type: 'INTEGRATION.DONE',
        head: 'f00d',
        steps: [{ worker: 'b', how: 'fast-forward', head: 'f00d' }],
        change: { files: 2, additions: 5, deletions: 1 },
      },
      {
        type: 'INTEGRATION.CONFLICT',
        worker: 'b',
        files: ['a.txt'],
        dir: '/ws/checkouts/x/_result',
        message: 'integrating b conflicts in a.txt',
      },
      { type: 'INTEGRATION.FAILED', message: 'git said no' },
    );
  }
  for (const b of context.blockers.filter((x) => x.open)) {
    for (const choice of b.options)
      events.push({ type: 'RESOLVE', blockerId: b.id, choice, ...(choice === 'agent' ? { agent: 'codex' } : {}) });
  }
  return events;
}

const abstractState = (s: { value: unknown; context: SessionContext }) =>
  JSON.stringify([
    s.value,
    Object.values(s.context.workers).map((w) => [w.id, w.status]),
    s.context.activeRound !== null,
    s.context.blockers.filter((b) => b.open).map((b) => b.kind),
    s.context.rounds.length,
    s.context.integration.status,
  ]);

describe('session machine (model-based)', () => {
  it('takes every declared transition', () => {
    const declared = machineGraph(sessionMachine).edges.map((e) => e.key);
    // In place (the session completes when its workers are done) and with checkouts (it integrates first).
    // Each walk stops once the transitions no earlier walk took are taken.
    const covered = new Set<string>();
    const walks = (
      [
        [isolatedInput, isolatedEvents],
        [input, sessionEvents],
      ] as const
    ).map(([start, events]) => {
      const walk = walkAllTransitions({
        model: withoutInvocations(stubbedSession()),
        machine: stubbedSession(),
        input: start,
        events,
        serializeState: abstractState,
        until: declared.filter((key) => !covered.has(key)),
      });
      for (const key of walk.covered) covered.add(key);
      return walk;
    });
    const missing = declared.filter((key) => !covered.has(key));
    expect(missing).toEqual([]);
    for (const walk of walks) expect(walk.states).toBeGreaterThan(10);
    // CPU-bound exploration: a few seconds alone, longer beside the integration tests on two cores.
  }, 120_000);
});

describe('session machine (behaviour)', () => {
  const start = (startInput: SessionInput = input) => {
    const recorded: NewEvent[] = [];
    const sent: Array<{ to: string; type: string }> = [];
    const actor = createActor(stubbedSession(recorded, sent), { input: startInput }).start();
    return { actor, recorded, sent };
  };

  it('starts only the workers whose dependencies completed', () => {
    const { actor, sent } = start();
    expect(sent).toEqual([{ to: 'a', type: 'START' }]);
    actor.send(status('a', 'running'));
    actor.send(status('a', 'completed'));
    expect(sent.at(-1)).toEqual({ to: 'b', type: 'START' });
  });

  it("a person's review of a worker still at work waits until its work is finished, then starts once", () => {
    const { actor, recorded, sent } = start();
    actor.send({ type: 'REVIEW', target: 'b' });
    // b has not even started: no round, the request waits.
    expect(actor.getSnapshot().context.rounds).toEqual([]);
    expect(actor.getSnapshot().context.reviewQueue).toEqual([
      { targets: ['b'], reason: 'requested by a person', whenDone: true },
    ]);
    actor.send(status('a', 'running'));
    actor.send(status('a', 'completed'));
    actor.send(status('b', 'running'));
    // Asked again while waiting: still one request.
    actor.send({ type: 'REVIEW' });
    expect(actor.getSnapshot().context.reviewQueue).toHaveLength(1);
    expect(actor.getSnapshot().context.rounds).toEqual([]);
    expect(sent.filter((s) => s.to.startsWith('round-'))).toEqual([]);
    // b finishes and waits for its review (trigger onComplete): one round, for the person's request.
    actor.send(status('b', 'reviewing'));
    const { rounds, reviewQueue, activeRound } = actor.getSnapshot().context;
    expect(rounds).toEqual([{ roundId: 'round-1', targets: ['b'], reason: 'requested by a person', decision: null }]);
    expect(activeRound).toBe('round-1');
    expect(reviewQueue).toEqual([]);
    expect(recorded.filter((e) => e.type === 'decision')).toEqual([]);
  });

  it("a person's review of a worker that then fails is recorded not reviewed; the session still waits for one", () => {
    const { actor, recorded } = start();
    actor.send(status('a', 'running'));
    actor.send({ type: 'REVIEW', target: 'a' });
    actor.send({
      type: 'WORKER.FAILED',
      workerId: 'a',
      kind: 'worker',
      attempt: 1,
      signal: { kind: 'auth', message: 'not logged in' },
      agentSessionId: null,
      fixes: {},
      at: T0,
    });
    actor.send(status('a', 'blocked'));
    // Held for a blocked worker is not progress: the session waits for the person who answers the blocker.
    expect(actor.getSnapshot().value).toBe('waiting');
    actor.send({ type: 'RESOLVE', blockerId: 'b1', choice: 'skip' });
    actor.send(status('a', 'skipped'));
    expect(actor.getSnapshot().context.reviewQueue).toEqual([]);
    expect(recorded.filter((e) => e.type === 'decision')).toEqual([
      expect.objectContaining({
        roundId: 'none',
        target: 'a',
        decision: 'CONTINUE',
        action: 'not reviewed: it ended skipped before its work was finished; continuing',
      }),
    ]);
  });

  it('relaunches a crashed worker with backoff and records the recovery', () => {
    const { actor, recorded, sent } = start();
    actor.send(status('a', 'running'));
    actor.send({
      type: 'WORKER.FAILED',
      workerId: 'a',
      kind: 'worker',
      attempt: 1,
      signal: { kind: 'crashed', message: 'segfault' },
      agentSessionId: 'sid-1',
      fixes: {},
      at: T0,
    });
    expect(sent.at(-1)).toEqual({ to: 'a', type: 'RECOVER' });
    expect(recorded.at(-1)).toMatchObject({
      type: 'recovery',
      workerId: 'a',
      action: 'backoff_and_relaunch',
      attempt: 1,
      signal: { kind: 'crashed' },
    });
  });

  it('gives up after more than maxRestarts failures in the window and raises a blocker', () => {
    const { actor, recorded, sent } = start();
    for (let i = 0; i < 4; i++) {
      actor.send(status('a', 'running'));
      actor.send({
        type: 'WORKER.FAILED',
        workerId: 'a',
        kind: 'worker',
        attempt: i + 1,
        signal: { kind: 'crashed', message: 'again' },
        agentSessionId: null,
        fixes: {},
        at: T0 + i * 1000,
      });
    }
    expect(sent.filter((s) => s.type === 'RECOVER')).toHaveLength(3);
    expect(sent.at(-2)).toEqual({ to: 'a', type: 'GIVE_UP' });
    expect(recorded.find((e) => e.type === 'blocker')).toMatchObject({ kind: 'RESTART_INTENSITY', workerId: 'a' });
    expect(recorded.find((e) => e.type === 'recovery' && e.action === 'give_up')).toBeDefined();
  });

  it('escalates auth failures to a person and retries when answered', () => {
    const { actor, recorded, sent } = start();
    actor.send(status('a', 'running'));
    actor.send({
      type: 'WORKER.FAILED',
      workerId: 'a',
      kind: 'worker',
      attempt: 1,
      signal: { kind: 'auth', message: 'Not logged in' },
      agentSessionId: null,
      fixes: {},
      at: T0,
    });
    actor.send(status('a', 'blocked'));
    expect(recorded.find((e) => e.type === 'blocker')).toMatchObject({
      kind: 'AUTH_REQUIRED',
      options: ['retry', 'skip', 'stop'],
    });
    expect(actor.getSnapshot().value).toBe('waiting');
    actor.send({ type: 'RESOLVE', blockerId: 'b1', choice: 'retry' });
    expect(sent.at(-1)).toEqual({ to: 'a', type: 'RECOVER' });
    expect(actor.getSnapshot().value).toBe('running');
  });

  it('stops the session on STOP_AND_ESCALATE and quotes the blocking issues in the blocker', () => {
    const { actor, recorded } = start();
    actor.send(status('a', 'running'));
    actor.send(status('a', 'completed'));
    actor.send(status('b', 'running'));
    actor.send(status('b', 'reviewing'));
    actor.send({
      type: 'ROUND.LAUNCH',
      roundId: 'round-1',
      assignments: [{ reviewerId: 'r1-codex-b', reviewer: 'codex', target: 'b', focus: 'implementation' }],
    });
    actor.send({
      type: 'ROUND.DONE',
      output: {
        roundId: 'round-1',
        targets: ['b'],
        decision: 'STOP_AND_ESCALATE',
        verdicts: [
          {
            reviewerId: 'r1-codex-b',
            reviewer: 'codex',
            target: 'b',
            focus: 'implementation',
            valid: true,
            verdict: {
              verdict: 'blocker',
              summary: 'broken',
              issues: [{ severity: 'blocker', file: 'src/x.ts', line: 3, message: 'deletes user data' }],
            },
          },
        ],
      },
    });
    const blocker = recorded.find((e) => e.type === 'blocker' && e.kind === 'REVIEW_BLOCKER');
    expect(blocker && 'message' in blocker ? blocker.message : '').toContain('codex: src/x.ts:3: deletes user data');
    expect(actor.getSnapshot().value).toBe('stopping');
    actor.send(status('b', 'stopped'));
    actor.send(status('r1-codex-b', 'stopped', 'reviewer', { roundId: 'round-1' }));
    expect(actor.getSnapshot().value).toBe('stopped');
    expect(actor.getSnapshot().context.outcome).toBe('escalated');
  });

  it('a worker retried after it failed for good runs as a new incarnation that continues its attempt numbers', () => {
    const { actor, sent } = start();
    for (let i = 0; i < 4; i++) {
      actor.send(status('a', 'running', 'worker', { attempt: i + 1 }));
      actor.send({
        type: 'WORKER.FAILED',
        workerId: 'a',
        kind: 'worker',
        attempt: i + 1,
        signal: { kind: 'crashed', message: 'again' },
        agentSessionId: 'a-sid',
        fixes: {},
        at: T0 + i * 1000,
      });
    }
    actor.send(status('a', 'failed', 'worker', { attempt: 4 }));
    actor.send({ type: 'RESOLVE', blockerId: 'b1', choice: 'retry' });
    expect(sent.at(-1)).toEqual({ to: 'a~2', type: 'START' });
    // Launches are recorded per (worker, attempt): the new incarnation must not reuse attempt 1..4.
    const child = actor.getSnapshot().children['a~2'] as unknown as {
      getSnapshot(): { input: { previousAttempts?: number } };
    };
    expect(child.getSnapshot().input.previousAttempts).toBe(4);
    expect(actor.getSnapshot().context.workers.a?.actorId).toBe('a~2');
  });

  it('an answer to a clarification about a completed target resumes it (new incarnation) with the answer', () => {
    // everyPlanItems: the round starts while b works, and b completes before it decides.
    const { actor, sent } = start(everyPlanItemInput);
    actor.send(status('a', 'running'));
    actor.send(status('a', 'completed'));
    actor.send(status('b', 'running'));
    actor.send({
      type: 'WORKER.PROGRESS',
      workerId: 'b',
      kind: 'worker',
      attempt: 1,
      finalText: 'so far',
      planDone: 1,
      usage: {},
      agentSessionId: 'b-agent-session',
    });
    expect(actor.getSnapshot().context.activeRound).toBe('round-1');
    const reviewer = { reviewerId: 'r1-codex-b', reviewer: 'codex', target: 'b', focus: 'implementation' };
    actor.send({ type: 'ROUND.LAUNCH', roundId: 'round-1', assignments: [reviewer] });
    actor.send(status('b', 'completed', 'worker', { attempt: 1 }));
    actor.send({
      type: 'ROUND.DONE',
      output: {
        roundId: 'round-1',
        targets: ['b'],
        decision: 'PAUSE_AND_CLARIFY',
        verdicts: [{ ...reviewer, valid: true, verdict: { verdict: 'concern', summary: 'unclear', issues: [] } }],
      },
    });
    expect(actor.getSnapshot().value).toBe('paused');
    actor.send({ type: 'RESOLVE', blockerId: 'b1', choice: 'answer', text: 'use the simple version' });
    expect(sent.filter((s) => s.to === 'b~2').map((s) => s.type)).toEqual(['START']);
    const child = actor.getSnapshot().children['b~2'] as unknown as {
      getSnapshot(): {
        input: { prompt?: { kind: string; text: string }; resumeSessionId?: string; previousAttempts?: number };
      };
    };
    const input = child.getSnapshot().input;
    expect(input.resumeSessionId).toBe('b-agent-session');
    expect(input.previousAttempts).toBe(1);
    expect(input.prompt?.kind).toBe('follow-up');
    expect(input.prompt?.text).toContain('use the simple version');
    expect(actor.getSnapshot().value).toBe('running');
  });

  it('never declares that it needs a person while a command to a worker is in flight', () => {
    const { actor } = start();
    // START was sent to a, which has not reported yet: the session is busy, not waiting.
    expect(actor.getSnapshot().value).toBe('running');
  });
});
