import { describe, expect, it } from 'vitest';
import { createActor, fromCallback } from 'xstate';
import { machineGraph } from '../../src/machines/graph.js';
import { workerMachine, type WorkerEvent, type WorkerInput } from '../../src/machines/worker.machine.js';
import { walkAllTransitions, withoutInvocations } from './model-coverage.js';

const baseInput: WorkerInput = {
  sessionId: 'orch_20261121_000000_test',
  workerId: 'implementer',
  agent: 'claude',
  role: 'implementer',
  kind: 'worker',
  task: 'do it',
  targetDir: '/tmp/x',
  includeDirs: [],
  readOnly: false,
  awaitReview: false,
  stallTimeoutMs: 1000,
  workerTimeoutMs: 10_000,
  killGraceMs: 100,
};

const facts = {
  steps: 1,
  lineCount: 1,
  filesChanged: [],
  agentSessionId: 'agent-session-1',
  plan: { done: 1, total: 2 },
};

/** Every event the worker handles, for the worker's current attempt (PROCESS.* events carry it). */
function workerEvents(snapshot: { context: { attempt: number } }): WorkerEvent[] {
  const attempt = snapshot.context.attempt;
  const exited = (outcome: 'ok' | 'failed' | 'stopped' | 'timed_out'): WorkerEvent => ({
    type: 'PROCESS.EXITED',
    attempt,
    outcome,
    exitCode: outcome === 'ok' ? 0 : 1,
    signal: null,
    failure: outcome === 'failed' ? { kind: 'crashed' as const, message: 'boom' } : null,
    activeMs: 5,
    facts,
  });
  return [
    { type: 'START', upstream: [] },
    { type: 'PAUSE' },
    { type: 'RESUME' },
    { type: 'STOP' },
    { type: 'PROCESS.STARTED', attempt, pid: 1234, reattached: false },
    { type: 'PROCESS.OUTPUT', attempt, facts },
    exited('ok'),
    exited('failed'),
    exited('stopped'),
    exited('timed_out'),
    { type: 'RECOVER', delayMs: 10, fixes: { skipTrust: true }, resumeId: 'agent-session-1', prompt: 'original' },
    { type: 'ESCALATED', blockerId: 'b1' },
    { type: 'GIVE_UP', reason: 'intensity' },
    { type: 'SKIP' },
    { type: 'TIMER.DONE' },
    { type: 'REVIEW.CONTINUE' },
    { type: 'FOLLOW_UP', text: 'answer' },
    { type: 'MESSAGE', text: 'also this', by: 'alice' },
    {
      type: 'PROCESS.PERMISSION',
      attempt,
      requestId: 'req-1',
      request: { tool: 'Bash', command: 'npm publish' },
    },
    { type: 'PERMISSION.ANSWER', attempt, requestId: 'req-1', decision: 'allow', blockerId: 'b1' },
  ];
}

/** The worker with effects stubbed: parent notifications recorded, the process and the timer inert. */
function stubbedWorker(notifications: Array<{ type: string }> = [], commands: Array<{ type: string }> = []) {
  const notify = (type: string) => () => {
    notifications.push({ type });
  };
  return workerMachine.provide({
    actions: {
      reportStatus: ({ context }, params: { status: string }) => {
        notifications.push({ type: `STATUS:${params.status}:${context.attempt}` });
      },
      notifyOutput: notify('OUTPUT'),
      notifyFailed: notify('FAILED'),
      notifyTimedOut: notify('TIMED_OUT'),
      askPermission: notify('PERMISSION'),
    },
    actors: {
      agentProcess: fromCallback(({ receive }) => {
        receive((command) => commands.push(command));
      }),
      deadlineTimer: fromCallback(() => undefined),
    },
  });
}

describe('worker machine (model-based)', () => {
  it('takes every declared transition, with and without a review after success, in exec and interactive mode', () => {
    const graph = machineGraph(workerMachine);
    const covered = new Set<string>();
    // Exec and interactive (a follow-up or a message goes into the running agent at once), with and without review.
    for (const [awaitReview, interactive] of [
      [false, false],
      [true, false],
      [false, true],
    ]) {
      const input = { ...baseInput, awaitReview, interactive };
      const result = walkAllTransitions({
        model: withoutInvocations(stubbedWorker(), {
          actions: {
            pauseProcess: () => {},
            resumeProcess: () => {},
            terminateProcess: () => {},
            answerPermission: () => {},
            say: () => {},
          },
        }),
        machine: stubbedWorker(),
        input,
        events: workerEvents,
        serializeState: (s) => JSON.stringify([s.value, s.context.pendingFollowUp !== null, s.context.endReason]),
      });
      for (const key of result.covered) covered.add(key);
      expect(result.runs).toBeGreaterThan(20);
    }
    const missing = graph.edges.map((e) => e.key).filter((key) => !covered.has(key));
    expect(missing).toEqual([]);
  });
});

describe('worker machine (behaviour)', () => {
  const start = (input: Partial<WorkerInput> = {}) => {
    const notifications: Array<{ type: string }> = [];
    const commands: Array<{ type: string }> = [];
    const actor = createActor(stubbedWorker(notifications, commands), { input: { ...baseInput, ...input } }).start();
    return { actor, notifications, commands };
  };

  it('pauses and resumes its process group through the process actor', () => {
    const { actor, commands } = start();
    actor.send({ type: 'START', upstream: [] });
    actor.send({ type: 'PAUSE' });
    expect(actor.getSnapshot().value).toEqual({ running: 'paused' });
    actor.send({ type: 'RESUME' });
    expect(commands.map((c) => c.type)).toEqual(['PROCESS.PAUSE', 'PROCESS.RESUME']);
  });

  it('asks the process actor to terminate on STOP and ends stopped when it exits', () => {
    const { actor, commands } = start();
    actor.send({ type: 'START', upstream: [] });
    actor.send({ type: 'STOP' });
    expect(actor.getSnapshot().value).toEqual({ running: 'stopping' });
    expect(commands).toEqual([{ type: 'PROCESS.TERMINATE' }]);
    actor.send({
      type: 'PROCESS.EXITED',
      attempt: 1,
      outcome: 'stopped',
      exitCode: null,
      signal: 'SIGTERM',
      failure: null,
      activeMs: 1,
      facts,
    });
    expect(actor.getSnapshot().value).toBe('stopped');
  });

  it('reports a failure to its supervisor and waits blocked; RECOVER relaunches as the next attempt, resumed', () => {
    const { actor, notifications } = start();
    actor.send({ type: 'START', upstream: [] });
    actor.send({ type: 'PROCESS.OUTPUT', attempt: 1, facts });
    actor.send({
      type: 'PROCESS.EXITED',
      attempt: 1,
      outcome: 'failed',
      exitCode: 1,
      signal: null,
      failure: { kind: 'rate_limit', message: '429' },
      activeMs: 1,
      facts,
    });
    expect(actor.getSnapshot().value).toBe('blocked');
    expect(notifications.map((n) => n.type)).toContain('FAILED');
    actor.send({
      type: 'RECOVER',
      delayMs: 0,
      fixes: {},
      resumeId: 'agent-session-1',
      prompt: { kind: 'continue', reason: 'resume' },
    });
    expect(actor.getSnapshot().value).toEqual({ recovering: 'waiting' });
    actor.send({ type: 'TIMER.DONE' });
    const snapshot = actor.getSnapshot();
    expect(snapshot.value).toEqual({ running: 'active' });
    expect(snapshot.context.attempt).toBe(2);
    expect(snapshot.context.resumeId).toBe('agent-session-1');
    expect(snapshot.context.prompt).toEqual({ kind: 'continue', reason: 'resume' });
  });

  it('a follow-up that arrives between attempts (blocked, recovering) is run once the next attempt ends well', () => {
    const { actor } = start();
    actor.send({ type: 'START', upstream: [] });
    actor.send({
      type: 'PROCESS.EXITED',
      attempt: 1,
      outcome: 'failed',
      exitCode: 1,
      signal: null,
      failure: { kind: 'crashed', message: 'boom' },
      activeMs: 1,
      facts,
    });
    actor.send({ type: 'FOLLOW_UP', text: 'the answer, while blocked' });
    actor.send({
      type: 'RECOVER',
      delayMs: 0,
      fixes: {},
      resumeId: 'agent-session-1',
      prompt: { kind: 'continue', reason: 'resume' },
    });
    actor.send({ type: 'FOLLOW_UP', text: 'the answer, while recovering' });
    actor.send({ type: 'TIMER.DONE' });
    expect(actor.getSnapshot().context.pendingFollowUp).toBe('the answer, while recovering');
    actor.send({
      type: 'PROCESS.EXITED',
      attempt: 2,
      outcome: 'ok',
      exitCode: 0,
      signal: null,
      failure: null,
      activeMs: 1,
      facts,
    });
    const snapshot = actor.getSnapshot();
    expect(snapshot.value).toEqual({ running: 'active' });
    expect(snapshot.context.attempt).toBe(3);
    expect(snapshot.context.prompt).toEqual({ kind: 'follow-up', text: 'the answer, while recovering' });
    expect(snapshot.context.pendingFollowUp).toBeNull();
  });

  it('ignores output and exits of an earlier attempt', () => {
    const { actor } = start();
    actor.send({ type: 'START', upstream: [] });
    actor.send({
      type: 'PROCESS.EXITED',
      attempt: 7,
      outcome: 'ok',
      exitCode: 0,
      signal: null,
      failure: null,
      activeMs: 1,
      facts,
    });
    expect(actor.getSnapshot().value).toEqual({ running: 'active' });
  });

  it('keeps a paused backoff from running out: the remaining time is kept and restarted on RESUME', () => {
    const { actor } = start();
    actor.send({ type: 'START', upstream: [] });
    actor.send({
      type: 'PROCESS.EXITED',
      attempt: 1,
      outcome: 'failed',
      exitCode: 1,
      signal: null,
      failure: { kind: 'crashed', message: 'x' },
      activeMs: 1,
      facts,
    });
    actor.send({ type: 'RECOVER', delayMs: 60_000, fixes: {}, resumeId: null, prompt: 'original' });
    actor.send({ type: 'PAUSE' });
    const remaining = actor.getSnapshot().context.backoff?.remainingMs ?? 0;
    expect(remaining).toBeGreaterThan(59_000);
    actor.send({ type: 'RESUME' });
    expect(actor.getSnapshot().context.backoff?.dueAt).toBeGreaterThan(Date.now() + 59_000);
  });

  it('survives a persist/restore round trip through JSON in every state it can be in', () => {
    const { actor } = start({ awaitReview: true });
    actor.send({
      type: 'START',
      upstream: [{ workerId: 'architect', role: 'architect', agent: 'gemini', summary: 'design' }],
    });
    actor.send({
      type: 'PROCESS.EXITED',
      attempt: 1,
      outcome: 'ok',
      exitCode: 0,
      signal: null,
      failure: null,
      activeMs: 3,
      facts,
    });
    const persisted = JSON.parse(JSON.stringify(actor.getPersistedSnapshot()));
    const restored = createActor(stubbedWorker(), { input: baseInput, snapshot: persisted }).start();
    expect(restored.getSnapshot().value).toBe('reviewing');
    expect(restored.getSnapshot().context.agentSessionId).toBe('agent-session-1');
    restored.send({ type: 'FOLLOW_UP', text: 'please fix' });
    expect(restored.getSnapshot().context.attempt).toBe(2);
    expect(restored.getSnapshot().context.prompt).toEqual({ kind: 'follow-up', text: 'please fix' });
  });
});
