/**
 * The session: the supervisor of its workers (OTP-style). It spawns every worker by name with a systemId,
 * starts a worker once the workers it dependsOn completed, receives every failure, asks the recovery policy
 * what to do, applies restart intensity, schedules review rounds and acts on their decisions, and handles
 * PAUSE / RESUME / STOP / REVIEW / RESOLVE from outside. Pure: effects are the named actors and the named
 * `record` action (append an event to the log), all provided by the runtime.
 *
 *   created -> running <-> paused
 *                   running <-> waiting (nothing can move until a person answers)
 *                   running/paused/waiting -STOP-> stopping -> stopped;  running -(all done)-> completed
 */
import { assign, enqueueActions, fromCallback, setup, type EventObject } from 'xstate';
import type { NewEvent } from '../domain/events.js';
import { decideRecovery } from '../domain/recovery-policy.js';
import { exceedsIntensity, restartsInWindow } from '../domain/restart-intensity.js';
import type { PromptSpec } from '../domain/prompts.js';
import { renderClarificationFollowUp, renderStrictVerdictRequest } from '../domain/prompts.js';
import {
  SKIPPED_BY_A_PERSON,
  workerMachine,
  type WorkerFailedEvent,
  type WorkerInput,
  type WorkerProgressEvent,
  type WorkerStatusEvent,
  type WorkerTimedOutEvent,
} from './worker.machine.js';
import { reviewMachine, type ReviewerAssignment, type RoundDoneEvent, type RoundRequest } from './review.machine.js';
import {
  allFinal,
  awaitsReview,
  endedUnfinished,
  finished,
  hasFinishedWork,
  initialWorkers,
  integrationCandidates,
  needsPerson,
  newWorkerEntry,
  nextBlockerId,
  readyToIntegrate,
  readyWorkers,
  reviewersFor,
  workerSpecOf,
  STOPPABLE_WORKER_STATUSES,
  unfinishedTargets,
  unfinishedWorkers,
  upstreamOf,
  type BlockerChoice,
  type BlockerRecord,
  type SessionContext,
  type SessionInput,
  type ReviewRequest,
  type RoundRecord,
  type WorkerEntry,
  type AddedWorker,
} from './session-context.js';
import type { IntegrationStep } from '../domain/isolation.js';
import { reviewedWorkers } from '../domain/review-targets.js';

export type { SessionContext, SessionInput } from './session-context.js';

export type SessionEvent =
  | { type: 'PAUSE'; workerId?: string }
  | { type: 'RESUME'; workerId?: string }
  | { type: 'STOP'; reason?: string }
  /** Stop one worker: its agent ends and the session goes on without it (the worker ends `skipped`). */
  | { type: 'STOP_WORKER'; workerId: string; by?: string }
  | { type: 'REVIEW'; target?: string }
  /** `agent`: with the choice `agent`, the agent that resolves a merge conflict (default: the worker's own). */
  | { type: 'RESOLVE'; blockerId: string; choice: BlockerChoice; text?: string; by?: string; agent?: string }
  /** From the safety layer and budget monitors (src/safety): a limit or policy rule was hit. */
  | {
      type: 'INTERVENE';
      workerId?: string;
      act: 'pause' | 'stop';
      blocker: Pick<BlockerRecord, 'kind' | 'message' | 'action'>;
    }
  | WorkerStatusEvent
  | WorkerProgressEvent
  | WorkerFailedEvent
  | WorkerTimedOutEvent
  | RoundRequest
  | RoundDoneEvent
  | IntegrationEvent;

/** What the `integrate` actor reports (src/runtime: git in the session's integration checkout). */
export type IntegrationEvent =
  | {
      type: 'INTEGRATION.DONE';
      head: string;
      steps: IntegrationStep[];
      change: { files: number; additions: number; deletions: number };
    }
  | { type: 'INTEGRATION.CONFLICT'; worker: string; files: string[]; dir: string; message: string }
  | { type: 'INTEGRATION.FAILED'; message: string };

/** The input of the `integrate` actor: the workers whose branches make the result, in dependency order. */
export interface IntegrateInput {
  candidates: string[];
}

/** The subset of XState's action enqueuer the handlers below use (its generic types do not travel well). */
interface Enqueue {
  (action: { type: 'record'; params: NewEvent }): void;
  /** Prefer the function form: it reads the context as earlier actions of the same step left it. */
  assign(values: Partial<SessionContext> | ((args: { context: SessionContext }) => Partial<SessionContext>)): void;
  sendTo(actorId: string, event: { type: string } & Record<string, unknown>): void;
  raise(event: SessionEvent): void;
  spawnChild(src: 'worker' | 'reviewRound', options: { id: string; systemId?: string; input: unknown }): void;
  stopChild(actorId: string): void;
}

/** An enqueueActions whose handler is a plain function of (context, event, enqueue). */
function act<E extends SessionEvent>(handler: (context: SessionContext, event: E, enqueue: Enqueue) => void) {
  return enqueueActions<SessionContext, SessionEvent, undefined, SessionEvent, never, never, never, never, never>(
    ({ context, event, enqueue }) => handler(context, event as E, enqueue as unknown as Enqueue),
  );
}

export const sessionMachine = setup({
  types: {
    context: {} as SessionContext,
    events: {} as SessionEvent,
    input: {} as SessionInput,
  },
  actors: {
    worker: workerMachine,
    reviewRound: reviewMachine,
    // Provided by the runtime: integrates the workers' branches, then sends INTEGRATION.* back.
    integrate: fromCallback<EventObject, IntegrateInput>(() => () => undefined),
  },
  actions: {
    // Provided by the runtime: append an event to the session log.
    record: (_, _event: NewEvent) => undefined,
    pauseOneWorker: act<Extract<SessionEvent, { type: 'PAUSE' }>>((context, event, enqueue) =>
      sendToWorker(context, event.workerId as string, { type: 'PAUSE' }, enqueue),
    ),
    resumeOneWorker: act<Extract<SessionEvent, { type: 'RESUME' }>>((context, event, enqueue) =>
      sendToWorker(context, event.workerId as string, { type: 'RESUME' }, enqueue),
    ),
    // An escalation decided before the STOP keeps its outcome and reason.
    markStopped: assign(({ context, event }) => ({
      outcome: context.outcome ?? 'stopped',
      stopReason: context.stopReason ?? (event as { reason?: string }).reason ?? 'stopped by a person',
    })),
    resumeAll: act((context, _event, enqueue) => {
      for (const w of Object.values(context.workers)) {
        if (w.status === 'paused') enqueue.sendTo(w.actorId, { type: 'RESUME' });
      }
    }),
  },
  guards: {
    finished: ({ context }) => finished(context),
    readyToIntegrate: ({ context }) => readyToIntegrate(context),
    needsPerson: ({ context }) => needsPerson(context),
    canProgress: ({ context }) => !needsPerson(context),
    allFinal: ({ context }) => allFinal(context),
    /** PAUSE / RESUME of one worker rather than the whole session. */
    forOneWorker: ({ event }) => 'workerId' in event && event.workerId !== undefined,
  },
}).createMachine({
  id: 'session',
  context: ({ input }) => ({
    ...input,
    mode: 'running',
    workers: initialWorkers(input.spec),
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
  }),
  initial: 'created',
  on: {
    'WORKER.STATUS': {
      actions: act<WorkerStatusEvent>((context, event, enqueue) => onWorkerStatus(context, event, enqueue)),
    },
    'WORKER.PROGRESS': {
      actions: act<WorkerProgressEvent>((context, event, enqueue) => onWorkerProgress(context, event, enqueue)),
    },
    'WORKER.FAILED': {
      actions: act<WorkerFailedEvent>((context, event, enqueue) => supervise(context, event, enqueue)),
    },
    'WORKER.TIMED_OUT': {
      actions: act<WorkerTimedOutEvent>((context, event, enqueue) => {
        const seconds = Math.round(event.activeMs / 1000);
        raiseBlocker(context, enqueue, {
          kind: 'WORKER_TIMEOUT',
          workerId: event.workerId,
          message: `${event.workerId} ran for ${seconds}s, past its workerTimeoutSec; its process group was killed`,
          action:
            'Answer retry to run it again with a fresh time budget (raise limits.workerTimeoutSec for the next session), skip to go on without it, or stop.',
          options: ['retry', 'skip', 'stop'],
        });
      }),
    },
    'ROUND.LAUNCH': {
      actions: act<Extract<RoundRequest, { type: 'ROUND.LAUNCH' }>>((context, event, enqueue) =>
        launchReviewers(context, event.roundId, event.assignments, enqueue),
      ),
    },
    // The round only asks about reviewers that just answered, so they are in `reviewing` and will act.
    'ROUND.RETRY_REVIEWER': {
      actions: act<Extract<RoundRequest, { type: 'ROUND.RETRY_REVIEWER' }>>((context, event, enqueue) =>
        command(context, enqueue, event.reviewerId, { type: 'FOLLOW_UP', text: renderStrictVerdictRequest() }),
      ),
    },
    'ROUND.ACCEPT_REVIEWER': {
      actions: act<Extract<RoundRequest, { type: 'ROUND.ACCEPT_REVIEWER' }>>((context, event, enqueue) =>
        command(context, enqueue, event.reviewerId, { type: 'REVIEW.CONTINUE' }),
      ),
    },
    'ROUND.STOP_REVIEWER': {
      actions: act<Extract<RoundRequest, { type: 'ROUND.STOP_REVIEWER' }>>((context, event, enqueue) =>
        sendToWorker(context, event.reviewerId, { type: 'STOP' }, enqueue),
      ),
    },
    'ROUND.DONE': { actions: act<RoundDoneEvent>((context, event, enqueue) => onRoundDone(context, event, enqueue)) },
    RESOLVE: {
      actions: act<Extract<SessionEvent, { type: 'RESOLVE' }>>((context, event, enqueue) =>
        resolve(context, event, enqueue),
      ),
    },
    STOP_WORKER: {
      actions: act<Extract<SessionEvent, { type: 'STOP_WORKER' }>>((context, event, enqueue) =>
        stopWorker(context, event, enqueue),
      ),
    },
    INTERVENE: {
      actions: act<Extract<SessionEvent, { type: 'INTERVENE' }>>((context, event, enqueue) => {
        if (event.act === 'stop' && !event.workerId) {
          enqueue.raise({ type: 'STOP', reason: event.blocker.message });
          return;
        }
        if (event.workerId)
          sendToWorker(context, event.workerId, { type: event.act === 'pause' ? 'PAUSE' : 'STOP' }, enqueue);
        raiseBlocker(context, enqueue, {
          ...event.blocker,
          ...(event.workerId ? { workerId: event.workerId } : {}),
          options: ['retry', 'skip', 'stop'],
        });
      }),
    },
  },
  states: {
    // The name the event log gives the session before its machine runs (SessionRuntime.create): one name for both.
    created: {
      entry: act((context, _event, enqueue) => {
        for (const w of context.spec.workers) {
          enqueue.spawnChild('worker', { id: w.id, systemId: `worker:${w.id}`, input: workerInput(context, w.id) });
        }
      }),
      always: 'running',
    },
    running: {
      entry: [assign({ mode: 'running' }), act((context, _event, enqueue) => advance(context, enqueue))],
      always: [
        { guard: 'finished', target: 'completed' },
        { guard: 'readyToIntegrate', target: 'integrating' },
        { guard: 'needsPerson', target: 'waiting' },
      ],
      on: {
        PAUSE: [{ guard: 'forOneWorker', actions: 'pauseOneWorker' }, { target: 'paused' }],
        // Without a worker id, every worker paused on its own goes on too.
        RESUME: [{ guard: 'forOneWorker', actions: 'resumeOneWorker' }, { actions: 'resumeAll' }],
        REVIEW: {
          actions: act<Extract<SessionEvent, { type: 'REVIEW' }>>((context, event, enqueue) =>
            requestReview(context, event.target, 'requested by a person', enqueue),
          ),
        },
        STOP: { target: 'stopping', actions: 'markStopped' },
      },
    },
    waiting: {
      entry: assign({ mode: 'waiting' }),
      always: [
        { guard: 'finished', target: 'completed' },
        { guard: 'readyToIntegrate', target: 'integrating' },
        { guard: 'canProgress', target: 'running' },
      ],
      on: {
        REVIEW: {
          actions: act<Extract<SessionEvent, { type: 'REVIEW' }>>((context, event, enqueue) =>
            requestReview(context, event.target, 'requested by a person', enqueue),
          ),
        },
        STOP: { target: 'stopping', actions: 'markStopped' },
      },
    },
    paused: {
      entry: [
        assign({ mode: 'paused' }),
        act((context, _event, enqueue) => {
          for (const w of Object.values(context.workers)) {
            if (w.status === 'running' || w.status === 'recovering') enqueue.sendTo(w.actorId, { type: 'PAUSE' });
          }
        }),
      ],
      on: {
        RESUME: [
          { guard: 'forOneWorker', actions: 'resumeOneWorker' },
          { target: 'running', actions: 'resumeAll' },
        ],
        STOP: { target: 'stopping', actions: 'markStopped' },
      },
    },
    /** Every worker's branch into orch/<sid>/_result (a session with checkouts); a conflict waits for a person. */
    integrating: {
      entry: assign({ mode: 'integrating' }),
      invoke: {
        id: 'integration',
        src: 'integrate',
        input: ({ context }): IntegrateInput => ({ candidates: integrationCandidates(context) }),
      },
      on: {
        'INTEGRATION.DONE': {
          target: 'completed',
          actions: act<Extract<IntegrationEvent, { type: 'INTEGRATION.DONE' }>>((context, event, enqueue) =>
            onIntegrated(context, event, enqueue),
          ),
        },
        'INTEGRATION.CONFLICT': {
          target: 'waiting',
          actions: act<Extract<IntegrationEvent, { type: 'INTEGRATION.CONFLICT' }>>((context, event, enqueue) =>
            onIntegrationConflict(context, event, enqueue),
          ),
        },
        'INTEGRATION.FAILED': {
          target: 'waiting',
          actions: act<Extract<IntegrationEvent, { type: 'INTEGRATION.FAILED' }>>((context, event, enqueue) =>
            onIntegrationFailed(context, event, enqueue),
          ),
        },
        STOP: { target: 'stopping', actions: 'markStopped' },
      },
    },
    stopping: {
      entry: [
        assign({ mode: 'stopping' }),
        act((context, _event, enqueue) => {
          for (const w of Object.values(context.workers)) {
            if (!['completed', 'failed', 'stopped', 'skipped'].includes(w.status))
              enqueue.sendTo(w.actorId, { type: 'STOP' });
          }
          if (context.activeRound) {
            enqueue.stopChild(context.activeRound);
            enqueue.assign({ activeRound: null, reviewQueue: [] });
          }
        }),
      ],
      always: { guard: 'allFinal', target: 'stopped' },
    },
    // Completed only when every worker that was to run completed; a skipped one makes the outcome `partial`.
    completed: {
      type: 'final',
      entry: assign(({ context }) => {
        const unfinished = unfinishedWorkers(context);
        return unfinished.length === 0
          ? { mode: 'completed' as const, outcome: 'completed' as const }
          : {
              mode: 'completed' as const,
              outcome: 'partial' as const,
              stopReason: `not every worker completed: ${unfinished.join('; ')}`,
            };
      }),
    },
    stopped: {
      type: 'final',
      entry: assign({ mode: 'stopped', outcome: ({ context }) => context.outcome ?? 'stopped' }),
    },
  },
});

export type SessionMachine = typeof sessionMachine;

// --- handlers ------------------------------------------------------------------------------------------

/** Change one worker entry, on top of whatever earlier actions of this step changed. */
function patchWorker(enqueue: Enqueue, workerId: string, patch: Partial<WorkerEntry>): void {
  enqueue.assign(({ context }) => {
    const current = context.workers[workerId];
    return current ? { workers: { ...context.workers, [workerId]: { ...current, ...patch } } } : {};
  });
}

/**
 * Send a worker a command and mark it pending until the worker reports back: until then the session counts
 * as busy (never `waiting` because of a state the worker is about to leave).
 */
function command(
  context: SessionContext,
  enqueue: Enqueue,
  workerId: string,
  event: { type: string } & Record<string, unknown>,
): void {
  const worker = context.workers[workerId];
  if (!worker) return;
  enqueue.sendTo(worker.actorId, event);
  patchWorker(enqueue, workerId, { pending: true });
}

function workerInput(context: SessionContext, workerId: string): WorkerInput {
  const spec = workerSpecOf(context, workerId);
  if (!spec) throw new Error(`unknown worker ${workerId}`);
  const added = context.added[workerId];
  const limits = context.spec.limits;
  return {
    sessionId: context.sessionId,
    workerId,
    agent: spec.agent,
    role: spec.role,
    kind: 'worker',
    task: context.spec.task,
    targetDir: context.targetDir,
    includeDirs: spec.includeDirs,
    ...(spec.model ? { model: spec.model } : {}),
    ...(spec.prompt ? { customPrompt: spec.prompt } : {}),
    readOnly: false,
    awaitReview: awaitsReview(context, workerId),
    stallTimeoutMs: limits.stallTimeoutSec * 1000,
    workerTimeoutMs: limits.workerTimeoutSec * 1000,
    killGraceMs: limits.killGraceMs,
    ...(added ? { checkoutFrom: { from: added.from, keepConflicts: true } } : {}),
  };
}

/**
 * The branches a worker's checkout starts from: those of its dependencies that completed (skipped ones are left out).
 */
function startFrom(context: SessionContext, workerId: string): string[] {
  return (context.workers[workerId]?.dependsOn ?? []).filter((d) => context.workers[d]?.status === 'completed');
}

/** Start what can start, and the next review round. Called whenever something changed. */
function advance(context: SessionContext, enqueue: Enqueue): void {
  if (context.mode !== 'running' && context.mode !== 'waiting') return;
  const started: Record<string, WorkerEntry> = {};
  for (const w of readyWorkers(context)) {
    command(context, enqueue, w.id, {
      type: 'START',
      upstream: upstreamOf(context, w.id),
      fixes: context.learnedFixes[w.agent] ?? {},
      from: startFrom(context, w.id),
    });
    patchWorker(enqueue, w.id, { started: true });
    started[w.id] = { ...w, started: true, pending: true };
  }
  startNextRound({ ...context, workers: { ...context.workers, ...started } }, enqueue);
}

function onWorkerStatus(context: SessionContext, event: WorkerStatusEvent, enqueue: Enqueue): void {
  const entry = context.workers[event.workerId];
  if (!entry) return;
  const updated: WorkerEntry = {
    ...entry,
    status: event.status,
    attempt: event.attempt,
    finalText: event.finalText ?? entry.finalText,
    planDone: event.planDone,
    usage: event.usage,
    agentSessionId: event.agentSessionId ?? entry.agentSessionId,
    reason: event.reason,
    pending: false,
    ...(event.change ? { change: event.change } : {}),
  };
  let next: SessionContext = { ...context, workers: { ...context.workers, [entry.id]: updated } };
  patchWorker(enqueue, entry.id, updated);

  if (entry.kind === 'reviewer' && entry.roundId && entry.roundId === context.activeRound) {
    // The per-reviewer timeout stands still while the reviewer is paused.
    if (event.status === 'paused' && entry.status !== 'paused')
      enqueue.sendTo(entry.roundId, { type: 'REVIEWER.PAUSED', reviewerId: entry.id });
    else if (entry.status === 'paused' && event.status !== 'paused')
      enqueue.sendTo(entry.roundId, { type: 'REVIEWER.RESUMED', reviewerId: entry.id });
    if (event.status === 'reviewing')
      enqueue.sendTo(entry.roundId, { type: 'REVIEWER.ANSWER', reviewerId: entry.id, text: event.finalText ?? '' });
    else if (event.status === 'failed' || event.status === 'stopped' || event.status === 'skipped') {
      enqueue.sendTo(entry.roundId, {
        type: 'REVIEWER.FAILED',
        reviewerId: entry.id,
        reason: event.reason ?? event.status,
      });
    }
  }
  if (entry.kind === 'worker' && event.status === 'reviewing' && entry.status !== 'reviewing') {
    next = queueReview(next, [entry.id], 'work completed', enqueue);
  }
  next = reviewOnPlanProgress(next, updated, enqueue);
  advance(next, enqueue);
}

/** Output facts of a running worker: summary, usage, plan progress (which may trigger a review). */
function onWorkerProgress(context: SessionContext, event: WorkerProgressEvent, enqueue: Enqueue): void {
  const entry = context.workers[event.workerId];
  if (!entry) return;
  const updated: WorkerEntry = {
    ...entry,
    finalText: event.finalText ?? entry.finalText,
    planDone: event.planDone,
    usage: event.usage,
    agentSessionId: event.agentSessionId ?? entry.agentSessionId,
  };
  patchWorker(enqueue, entry.id, {
    finalText: updated.finalText,
    planDone: updated.planDone,
    usage: updated.usage,
    agentSessionId: updated.agentSessionId,
  });
  const next = reviewOnPlanProgress(
    { ...context, workers: { ...context.workers, [entry.id]: updated } },
    updated,
    enqueue,
  );
  if (next !== context) advance(next, enqueue);
}

/** `"review": {"trigger": {"everyPlanItems": N}}`: a round each time N more plan items are done. */
function reviewOnPlanProgress(context: SessionContext, worker: WorkerEntry, enqueue: Enqueue): SessionContext {
  const every = typeof context.spec.review.trigger === 'object' ? context.spec.review.trigger.everyPlanItems : null;
  if (
    worker.kind !== 'worker' ||
    !every ||
    worker.planDone < worker.reviewedAtPlanDone + every ||
    reviewersFor(context, worker.id).length === 0
  ) {
    return context;
  }
  patchWorker(enqueue, worker.id, { reviewedAtPlanDone: worker.planDone });
  const next = {
    ...context,
    workers: { ...context.workers, [worker.id]: { ...worker, reviewedAtPlanDone: worker.planDone } },
  };
  return queueReview(next, [worker.id], `${worker.planDone} plan items done`, enqueue);
}

/** A worker failed: classify -> policy -> restart intensity -> relaunch, or a blocker for a person. */
function supervise(context: SessionContext, event: WorkerFailedEvent, enqueue: Enqueue): void {
  const entry = context.workers[event.workerId];
  if (!entry) return;
  const limits = context.spec.limits;
  const now = Date.now();
  const recent = restartsInWindow(context.restarts[entry.id] ?? [], now, limits.restartWindowSec);
  const source = { kind: 'supervisor' as const, id: context.sessionId };
  const decision = decideRecovery({
    signal: event.signal,
    agent: entry.agent,
    fixes: event.fixes,
    agentSessionId: event.agentSessionId,
    insideSandbox: context.insideSandbox,
    recentRestarts: recent.length,
    limits,
    now,
    random: Math.random(),
  });
  if (decision.type === 'escalate') {
    enqueue({
      type: 'record',
      params: {
        type: 'recovery',
        source,
        workerId: entry.id,
        signal: event.signal,
        action: 'escalate',
        attempt: event.attempt,
        detail: decision.message,
      },
    });
    // An agent resolving a conflict is offered for a worker's own start, not for a resolver's unfinished work.
    const options = (decision.options ?? ['retry', 'skip', 'stop']).filter(
      (o) => o !== 'agent' || !context.added[entry.id],
    );
    raiseBlocker(context, enqueue, {
      kind: decision.blocker,
      workerId: entry.id,
      message: decision.message,
      action: decision.action,
      options,
      ...(event.signal.conflict ? { conflict: event.signal.conflict } : {}),
    });
    return;
  }
  if (exceedsIntensity(context.restarts[entry.id] ?? [], now, limits.maxRestarts, limits.restartWindowSec)) {
    const message = `${entry.id} failed ${recent.length + 1} times within ${limits.restartWindowSec}s (at most ${limits.maxRestarts} restarts allowed); last failure: ${event.signal.kind}: ${event.signal.message}`;
    enqueue({
      type: 'record',
      params: {
        type: 'recovery',
        source,
        workerId: entry.id,
        signal: event.signal,
        action: 'give_up',
        attempt: event.attempt,
        detail: message,
      },
    });
    command(context, enqueue, entry.id, { type: 'GIVE_UP', reason: 'restart intensity exceeded' });
    raiseBlocker(context, enqueue, {
      kind: 'RESTART_INTENSITY',
      workerId: entry.id,
      message,
      action:
        'Look at its log (orchestrate logs), fix the cause, then answer retry to run it again; or skip it, or stop the session.',
      options: ['retry', 'skip', 'stop'],
    });
    return;
  }
  enqueue.assign(({ context: c }) => ({ restarts: { ...c.restarts, [entry.id]: [...recent, now] } }));
  if (decision.action === 'relaunch_with_flag' || decision.action === 'relaunch_with_env') {
    // What this agent needs here, every later launch of it in this session needs too.
    enqueue.assign(({ context: c }) => ({
      learnedFixes: { ...c.learnedFixes, [entry.agent]: { ...c.learnedFixes[entry.agent], ...decision.fixes } },
    }));
  }
  enqueue({
    type: 'record',
    params: {
      type: 'recovery',
      source,
      workerId: entry.id,
      signal: event.signal,
      action: decision.action,
      attempt: event.attempt,
      backoffMs: decision.delayMs,
      change: decision.change,
      detail: decision.detail,
    },
  });
  const prompt: PromptSpec | 'original' =
    decision.prompt === 'original' ? 'original' : { kind: 'continue', reason: decision.prompt };
  command(context, enqueue, entry.id, {
    type: 'RECOVER',
    delayMs: decision.delayMs,
    fixes: decision.fixes,
    resumeId: decision.resume ? event.agentSessionId : null,
    prompt,
  });
  if (context.mode === 'paused') enqueue.sendTo(entry.actorId, { type: 'PAUSE' });
}

function raiseBlocker(context: SessionContext, enqueue: Enqueue, blocker: Omit<BlockerRecord, 'id' | 'open'>): string {
  const id = nextBlockerId(context);
  const record: BlockerRecord = { ...blocker, id, open: true };
  enqueue.assign(({ context: c }) => ({ blockers: [...c.blockers, record] }));
  enqueue({ type: 'record', params: blockerEvent(context, record) });
  if (blocker.workerId && context.workers[blocker.workerId])
    enqueue.sendTo(context.workers[blocker.workerId]!.actorId, { type: 'ESCALATED', blockerId: id });
  return id;
}

function blockerEvent(context: SessionContext, record: BlockerRecord): NewEvent {
  return {
    type: 'blocker',
    source: { kind: 'supervisor', id: context.sessionId },
    blockerId: record.id,
    kind: record.kind,
    ...(record.workerId ? { workerId: record.workerId } : {}),
    ...(record.roundId ? { roundId: record.roundId } : {}),
    ...(record.targets ? { targets: record.targets } : {}),
    ...(record.conflict ? { conflict: record.conflict } : {}),
    message: record.message,
    action: record.action,
    options: record.options,
    ...(record.resolution ? { resolution: record.resolution } : {}),
  };
}

/** A person answered a blocker. */
function resolve(context: SessionContext, event: Extract<SessionEvent, { type: 'RESOLVE' }>, enqueue: Enqueue): void {
  const blocker = context.blockers.find((b) => b.id === event.blockerId);
  if (!blocker || !blocker.open || !blocker.options.includes(event.choice)) return;
  const chosenAgent =
    event.choice === 'agent'
      ? (event.agent ?? context.workers[blocker.workerId ?? blocker.targets?.[0] ?? '']?.agent)
      : undefined;
  const resolution = {
    choice: event.choice,
    ...(event.text ? { text: event.text } : {}),
    ...(event.by ? { by: event.by } : {}),
    ...(chosenAgent ? { agent: chosenAgent } : {}),
  };
  const closed: BlockerRecord = { ...blocker, open: false, resolution };
  enqueue.assign(({ context: c }) => ({ blockers: c.blockers.map((b) => (b.id === blocker.id ? closed : b)) }));
  enqueue({ type: 'record', params: blockerEvent(context, closed) });

  if (event.choice === 'stop') {
    enqueue.raise({ type: 'STOP', reason: `stopped by a person answering ${blocker.kind}` });
    return;
  }
  if (blocker.kind === 'CLARIFICATION_NEEDED') {
    const text = renderClarificationFollowUp(event.text ?? '', blocker.message.split('\n').slice(1));
    for (const target of blocker.targets ?? []) {
      const w = context.workers[target];
      if (w?.status === 'reviewing') command(context, enqueue, w.id, { type: 'FOLLOW_UP', text });
      // A target that already completed (a round by plan progress or by hand) is resumed with the answer.
      else if (w?.status === 'completed' && w.agentSessionId)
        respawn(context, w, enqueue, { prompt: { kind: 'follow-up', text }, resumeId: w.agentSessionId });
      // Reviewed while it works (everyPlanItems, a manual round), or between attempts after a failure: it gets
      // the answer when its current (or next) run ends well.
      else if (w && ['running', 'paused', 'blocked', 'recovering'].includes(w.status))
        sendToWorker(context, w.id, { type: 'FOLLOW_UP', text }, enqueue);
    }
    if (context.mode === 'paused') enqueue.raise({ type: 'RESUME' });
    return;
  }
  if (!blocker.workerId && (blocker.kind === 'MERGE_CONFLICT' || blocker.kind === 'INTEGRATION_FAILED')) {
    answerIntegration(context, blocker, event.choice, chosenAgent, enqueue);
    return;
  }
  const worker = blocker.workerId ? context.workers[blocker.workerId] : undefined;
  if (!worker) return;
  if (event.choice === 'agent') {
    // The merge its start needs conflicts: a new worker resolves it, and this one starts from its result.
    const resolver = addResolver(context, enqueue, {
      resolves: worker.id,
      stage: 'start',
      from: blocker.conflict?.sources ?? startFrom(context, worker.id),
      files: blocker.conflict?.files ?? [],
      agent: chosenAgent ?? worker.agent,
    });
    const rest = startFrom(context, worker.id).filter((d) => !(blocker.conflict?.sources ?? []).includes(d));
    respawnWaiting(context, worker, enqueue, [resolver, ...rest]);
    return;
  }
  if (event.choice === 'skip') {
    if (['failed', 'stopped'].includes(worker.status)) {
      patchWorker(enqueue, worker.id, { status: 'skipped', reason: SKIPPED_BY_A_PERSON });
    } else if (worker.status === 'blocked' || worker.status === 'spawned') {
      command(context, enqueue, worker.id, { type: 'SKIP' });
    } else {
      // Running, paused or between attempts: its group is ended and it counts as skipped.
      command(context, enqueue, worker.id, { type: 'SKIP' });
    }
    return;
  }
  // retry: a person fixed the cause; restart intensity starts afresh.
  enqueue.assign(({ context: c }) => ({ restarts: { ...c.restarts, [worker.id]: [] } }));
  if (worker.status === 'blocked') {
    const resumeId = worker.agentSessionId;
    // Keep what recovery learned for this agent (--skip-trust, IS_SANDBOX=1 ...): the person fixed another cause.
    command(context, enqueue, worker.id, {
      type: 'RECOVER',
      delayMs: 0,
      fixes: context.learnedFixes[worker.agent] ?? {},
      resumeId,
      prompt: resumeId ? { kind: 'continue', reason: 'resume' } : 'original',
    });
  } else if (worker.status === 'paused') {
    command(context, enqueue, worker.id, { type: 'RESUME' });
  } else if (worker.status === 'failed' || worker.status === 'stopped') {
    respawn(context, worker, enqueue);
  }
}

/** An answer to a blocker of the integration (no worker of its own): try again, leave the worker out, or an agent. */
function answerIntegration(
  context: SessionContext,
  blocker: BlockerRecord,
  choice: BlockerChoice,
  agent: string | undefined,
  enqueue: Enqueue,
): void {
  const target = blocker.targets?.[0];
  const excluded =
    choice === 'skip' && target ? [...context.integration.excluded, target] : context.integration.excluded;
  if (choice === 'agent' && target && blocker.conflict) {
    addResolver(context, enqueue, {
      resolves: target,
      stage: 'result',
      from: blocker.conflict.sources,
      files: blocker.conflict.files,
      agent: agent ?? context.workers[target]?.agent ?? 'claude',
    });
  }
  enqueue.assign(({ context: c }) => ({ integration: { ...c.integration, status: 'pending', excluded } }));
}

/** Add a worker that resolves a merge conflict (an agent a person chose), and start it at once. */
function addResolver(context: SessionContext, enqueue: Enqueue, what: Omit<AddedWorker, 'id' | 'role'>): string {
  let id = `${what.resolves}-merge`;
  for (let n = 2; context.workers[id] || context.added[id]; n++) id = `${what.resolves}-merge${n}`;
  const added: AddedWorker = { id, role: 'merger', ...what };
  const withAdded = { ...context, added: { ...context.added, [id]: added } };
  enqueue.assign(({ context: c }) => ({ added: { ...c.added, [id]: added } }));
  enqueue.spawnChild('worker', { id, input: workerInput(withAdded, id) });
  const entry = newWorkerEntry({
    id,
    agent: what.agent,
    role: 'merger',
    kind: 'worker',
    dependsOn: [],
    started: true,
    pending: true,
  });
  enqueue.assign(({ context: c }) => ({ workers: { ...c.workers, [id]: entry } }));
  enqueue.sendTo(id, { type: 'START', upstream: [], fixes: context.learnedFixes[what.agent] ?? {} });
  enqueue({
    type: 'record',
    params: {
      type: 'workspace',
      source: { kind: 'supervisor', id: context.sessionId },
      action: 'conflict',
      workerId: id,
      files: what.files,
      detail: `${id} (${what.agent}) resolves the conflict ${what.stage === 'start' ? `in the start of ${what.resolves}` : `integrating ${what.resolves}`} (${what.files.join(', ')})`,
    },
  });
  return id;
}

/**
 * A worker that must wait again (for a resolver): a new incarnation, spawned but not started, with new dependencies.
 */
function respawnWaiting(context: SessionContext, worker: WorkerEntry, enqueue: Enqueue, dependsOn: string[]): void {
  const incarnation = worker.incarnation + 1;
  const actorId = `${worker.id}~${incarnation}`;
  enqueue.stopChild(worker.actorId);
  enqueue.spawnChild('worker', {
    id: actorId,
    input: {
      ...workerInput(context, worker.id),
      previousAttempts: worker.attempt,
      fixes: context.learnedFixes[worker.agent] ?? {},
    },
  });
  patchWorker(enqueue, worker.id, {
    actorId,
    incarnation,
    status: 'spawned',
    started: false,
    pending: false,
    dependsOn,
  });
}

// --- the session's result (a session with checkouts) ----------------------------------------------------------

function onIntegrated(
  context: SessionContext,
  event: Extract<IntegrationEvent, { type: 'INTEGRATION.DONE' }>,
  enqueue: Enqueue,
): void {
  enqueue.assign(({ context: c }) => ({
    integration: { ...c.integration, status: 'done', head: event.head, change: event.change },
  }));
  const how = event.steps
    .filter((s) => s.how !== 'contained')
    .map((s) => `${s.worker} ${s.how === 'merge' ? 'merged' : 'fast-forwarded'}`);
  const { files, additions, deletions } = event.change;
  enqueue({
    type: 'record',
    params: {
      type: 'workspace',
      source: { kind: 'supervisor', id: context.sessionId },
      action: 'integrate',
      branch: `orch/${context.sessionId}/_result`,
      commit: event.head,
      change: event.change,
      detail: `the result is orch/${context.sessionId}/_result: ${files} ${files === 1 ? 'file' : 'files'}, +${additions} -${deletions}${how.length ? ` (${how.join(', ')})` : ''}`,
    },
  });
}

function onIntegrationConflict(
  context: SessionContext,
  event: Extract<IntegrationEvent, { type: 'INTEGRATION.CONFLICT' }>,
  enqueue: Enqueue,
): void {
  enqueue.assign(({ context: c }) => ({ integration: { ...c.integration, status: 'blocked' } }));
  enqueue({
    type: 'record',
    params: {
      type: 'workspace',
      source: { kind: 'supervisor', id: context.sessionId },
      action: 'conflict',
      files: event.files,
      detail: event.message,
    },
  });
  raiseBlocker(context, enqueue, {
    kind: 'MERGE_CONFLICT',
    targets: [event.worker],
    conflict: { files: event.files, dir: event.dir, sources: ['_result', event.worker] },
    message: event.message,
    action: `Resolve the conflicts in ${event.dir} (edit the files, \`git add\` them), then answer retry; or answer agent to have an agent resolve them (reviewed like any worker), skip to leave ${event.worker} out of the result, or stop.`,
    options: ['retry', 'agent', 'skip', 'stop'],
  });
}

function onIntegrationFailed(
  context: SessionContext,
  event: Extract<IntegrationEvent, { type: 'INTEGRATION.FAILED' }>,
  enqueue: Enqueue,
): void {
  enqueue.assign(({ context: c }) => ({ integration: { ...c.integration, status: 'blocked' } }));
  raiseBlocker(context, enqueue, {
    kind: 'INTEGRATION_FAILED',
    message: `the workers' branches could not be integrated: ${event.message}`,
    action: 'Fix the cause (the message says what git refused), then answer retry; or stop.',
    options: ['retry', 'stop'],
  });
}

/**
 * A person stopped one worker (`orchestrate stop SID --worker W`, POST /stop {workerId}, the card's Stop): its
 * agent's group is ended and the session goes on without it, as when a blocker of it is answered skip (which it
 * is, when the worker has one open).
 */
function stopWorker(
  context: SessionContext,
  event: Extract<SessionEvent, { type: 'STOP_WORKER' }>,
  enqueue: Enqueue,
): void {
  const worker = context.workers[event.workerId];
  if (!worker) return;
  const open = context.blockers.find((b) => b.open && b.workerId === worker.id && b.options.includes('skip'));
  if (open) {
    resolve(
      context,
      { type: 'RESOLVE', blockerId: open.id, choice: 'skip', ...(event.by ? { by: event.by } : {}) },
      enqueue,
    );
    return;
  }
  if (worker.status === 'failed' || worker.status === 'stopped')
    patchWorker(enqueue, worker.id, { status: 'skipped', reason: SKIPPED_BY_A_PERSON });
  else if (STOPPABLE_WORKER_STATUSES.includes(worker.status)) command(context, enqueue, worker.id, { type: 'SKIP' });
}

/**
 * A worker that ended (failed for good, or completed and now given a follow-up) runs again as a new
 * incarnation: a new child actor that continues the attempt numbers and, with `resumeId`, the agent's session.
 */
function respawn(
  context: SessionContext,
  worker: WorkerEntry,
  enqueue: Enqueue,
  options: { prompt?: PromptSpec; resumeId?: string } = {},
): void {
  const incarnation = worker.incarnation + 1;
  const actorId = `${worker.id}~${incarnation}`;
  const input: WorkerInput = {
    ...workerInput(context, worker.id),
    previousAttempts: worker.attempt,
    ...(options.prompt ? { prompt: options.prompt } : {}),
    ...(options.resumeId ? { resumeSessionId: options.resumeId } : {}),
    fixes: context.learnedFixes[worker.agent] ?? {},
  };
  enqueue.stopChild(worker.actorId);
  enqueue.spawnChild('worker', { id: actorId, input });
  patchWorker(enqueue, worker.id, { actorId, incarnation, status: 'spawned', started: true, pending: true });
  enqueue.sendTo(actorId, {
    type: 'START',
    upstream: upstreamOf(context, worker.id),
    fixes: context.learnedFixes[worker.agent] ?? {},
  });
}

/** Send without marking pending: for events the worker may ignore in its current state (PAUSE, STOP...). */
function sendToWorker(
  context: SessionContext,
  workerId: string,
  event: { type: string } & Record<string, unknown>,
  enqueue: Enqueue,
): void {
  const worker = context.workers[workerId];
  if (worker) enqueue.sendTo(worker.actorId, event);
}

// --- reviews ------------------------------------------------------------------------------------------------

function requestReview(context: SessionContext, target: string | undefined, reason: string, enqueue: Enqueue): void {
  // Only finished work is reviewed: a target still at work is held until it finishes (the API says so when asked);
  // one that ended without finished work has nothing to review.
  const targets = (target ? [target] : reviewedWorkers(context.spec)).filter((t) => {
    const w = context.workers[t];
    return w !== undefined && !endedUnfinished(w.status);
  });
  // Finished work is reviewed now; work still under way gets a request of its own, which waits.
  const done = targets.filter((t) => hasFinishedWork(context.workers[t]!.status));
  const later = targets.filter((t) => !done.includes(t));
  startNextRound(queueReview(queueReview(context, done, reason, enqueue, true), later, reason, enqueue, true), enqueue);
}

/** Queue a round for `targets`, leaving out those a queued request already covers (one round reviews them). */
function queueReview(
  context: SessionContext,
  targets: string[],
  reason: string,
  enqueue: Enqueue,
  whenDone = false,
): SessionContext {
  const queued = new Set(context.reviewQueue.flatMap((r) => r.targets));
  const fresh = targets.filter((t) => !queued.has(t));
  if (fresh.length === 0) return context;
  const request: ReviewRequest = { targets: fresh, reason, ...(whenDone ? { whenDone } : {}) };
  enqueue.assign(({ context: c }) => ({ reviewQueue: [...c.reviewQueue, request] }));
  return { ...context, reviewQueue: [...context.reviewQueue, request] };
}

/** A `CONTINUE` decision of round `none`: a request that starts no round, and why. */
function notReviewed(enqueue: Enqueue, target: string, why: string): void {
  enqueue({
    type: 'record',
    params: {
      type: 'decision',
      source: { kind: 'review', id: 'cap' },
      roundId: 'none',
      target,
      decision: 'CONTINUE',
      counts: { approve: 0, concern: 0, blocker: 0 },
      action: `not reviewed: ${why}; continuing`,
    },
  });
}

/**
 * Start the first queued request that can start: a person's request waits (stays queued) while a target is
 * still at work; a request past the round cap or without reviewers is recorded as not reviewed and dropped.
 */
function startNextRound(context: SessionContext, enqueue: Enqueue): void {
  if (context.activeRound !== null || context.mode === 'paused' || context.mode === 'stopping') return;
  const queue = context.reviewQueue;
  const held: ReviewRequest[] = [];
  let newRound: RoundRecord | null = null;
  let taken = 0;
  while (taken < queue.length && newRound === null) {
    const request = queue[taken++]!;
    let targets = request.targets;
    if (request.whenDone) {
      for (const t of targets.filter((t) => endedUnfinished(context.workers[t]?.status ?? 'skipped'))) {
        notReviewed(enqueue, t, `it ended ${context.workers[t]?.status ?? 'unknown'} before its work was finished`);
      }
      targets = targets.filter((t) => !endedUnfinished(context.workers[t]?.status ?? 'skipped'));
      if (targets.length === 0) continue;
      if (unfinishedTargets(context, { ...request, targets }).length > 0) {
        held.push({ ...request, targets });
        continue;
      }
    }
    const roundNo = context.rounds.length + 1;
    const pairs = targets.flatMap((t) => reviewersFor(context, t));
    if (roundNo > context.spec.review.maxRounds || pairs.length === 0) {
      const why =
        pairs.length === 0
          ? 'no reviewer is configured for it'
          : `the cap of ${context.spec.review.maxRounds} review rounds per session is reached`;
      for (const t of targets) {
        if (context.workers[t]?.status === 'reviewing') command(context, enqueue, t, { type: 'REVIEW.CONTINUE' });
        notReviewed(enqueue, t, why);
      }
      continue;
    }
    const roundId = `round-${roundNo}`;
    const assignments: ReviewerAssignment[] = pairs.map((p) => ({
      reviewerId: `r${roundNo}-${p.reviewer}-${p.target}`,
      reviewer: p.reviewer,
      target: p.target,
      focus: p.focus,
    }));
    newRound = { roundId, targets, reason: request.reason, decision: null };
    enqueue.spawnChild('reviewRound', {
      id: roundId,
      input: {
        sessionId: context.sessionId,
        roundId,
        targets,
        assignments,
        timeoutMs: context.spec.review.timeoutSec * 1000,
      },
    });
  }
  if (taken === 0) return;
  const round = newRound;
  // Requests queued later in this same step (after `context` was taken) stay behind the ones kept here.
  enqueue.assign(({ context: c }) => ({
    reviewQueue: [...held, ...queue.slice(taken), ...c.reviewQueue.slice(queue.length)],
    ...(round ? { rounds: [...c.rounds, round], activeRound: round.roundId } : {}),
  }));
}

function launchReviewers(
  context: SessionContext,
  roundId: string,
  assignments: ReviewerAssignment[],
  enqueue: Enqueue,
): void {
  const workers: Record<string, WorkerEntry> = {};
  const limits = context.spec.limits;
  for (const a of assignments) {
    const target = context.workers[a.target];
    const targetSpec = workerSpecOf(context, a.target);
    const input: WorkerInput = {
      sessionId: context.sessionId,
      workerId: a.reviewerId,
      agent: a.reviewer,
      role: 'reviewer',
      kind: 'reviewer',
      roundId,
      task: context.spec.task,
      targetDir: context.targetDir,
      includeDirs: [],
      readOnly: true,
      awaitReview: true,
      prompt: {
        kind: 'review',
        task: context.spec.task,
        targetId: a.target,
        targetRole: targetSpec?.role ?? a.target,
        targetAgent: targetSpec?.agent ?? '',
        targetSummary: target?.finalText ?? '',
        focus: a.focus,
        targetDir: context.targetDir,
        baseCommit: context.baseCommit,
        diffLimitBytes: context.spec.review.diffLimitBytes,
        strict: false,
      },
      stallTimeoutMs: limits.stallTimeoutSec * 1000,
      workerTimeoutMs: context.spec.review.timeoutSec * 2000,
      killGraceMs: limits.killGraceMs,
      fixes: context.learnedFixes[a.reviewer] ?? {},
    };
    enqueue.spawnChild('worker', { id: a.reviewerId, input });
    // Started at once and pending: START is on its way.
    workers[a.reviewerId] = newWorkerEntry({
      id: a.reviewerId,
      agent: a.reviewer,
      role: 'reviewer',
      kind: 'reviewer',
      roundId,
      dependsOn: [],
      started: true,
      pending: true,
    });
    enqueue.sendTo(a.reviewerId, { type: 'START', upstream: [] });
  }
  enqueue.assign(({ context: c }) => ({ workers: { ...c.workers, ...workers } }));
  enqueue.sendTo(roundId, { type: 'ROUND.LAUNCHED' });
}

function onRoundDone(context: SessionContext, event: RoundDoneEvent, enqueue: Enqueue): void {
  const { output } = event;
  const counts = { approve: 0, concern: 0, blocker: 0 };
  for (const v of output.verdicts) counts[v.verdict.verdict]++;
  const rounds = context.rounds.map((r) => (r.roundId === output.roundId ? { ...r, decision: output.decision } : r));
  enqueue.assign(({ context: c }) => ({
    rounds: c.rounds.map((r) => (r.roundId === output.roundId ? { ...r, decision: output.decision } : r)),
    activeRound: null,
  }));
  enqueue.stopChild(output.roundId);
  const base = {
    type: 'decision' as const,
    source: { kind: 'review' as const, id: output.roundId },
    roundId: output.roundId,
    target: output.targets.join(','),
    decision: output.decision,
    counts,
  };
  const targetsInReview = output.targets
    .map((t) => context.workers[t])
    .filter((w): w is WorkerEntry => w?.status === 'reviewing');
  const next = { ...context, rounds, activeRound: null };

  switch (output.decision) {
    case 'CONTINUE':
    case 'LOG_WARNING': {
      const warning = output.verdicts
        .filter((v) => v.verdict.verdict === 'concern')
        .map((v) => `${v.reviewer}: ${v.verdict.summary}`);
      enqueue({
        type: 'record',
        params: {
          ...base,
          action:
            output.decision === 'CONTINUE'
              ? 'all reviewers approve; continuing'
              : `one concern logged; continuing (${warning.join('; ')})`,
        },
      });
      for (const w of targetsInReview) command(context, enqueue, w.id, { type: 'REVIEW.CONTINUE' });
      advance(next, enqueue);
      return;
    }
    case 'PAUSE_AND_CLARIFY': {
      const concerns = output.verdicts
        .filter((v) => v.verdict.verdict !== 'approve')
        .flatMap((v) =>
          v.verdict.issues.length
            ? v.verdict.issues.map(
                (i) => `${v.reviewer}: ${i.file ? `${i.file}${i.line ? `:${i.line}` : ''}: ` : ''}${i.message}`,
              )
            : [`${v.reviewer}: ${v.verdict.summary}`],
        );
      enqueue({ type: 'record', params: { ...base, action: 'paused; waiting for a person to answer the concerns' } });
      raiseBlocker(next, enqueue, {
        kind: 'CLARIFICATION_NEEDED',
        roundId: output.roundId,
        targets: output.targets,
        message: [`Reviewers raised ${counts.concern} concerns about ${output.targets.join(', ')}:`, ...concerns].join(
          '\n',
        ),
        action:
          'Answer with guidance for the reviewed agent (it continues with your answer, and the work is reviewed again), or stop.',
        options: ['answer', 'stop'],
      });
      enqueue.raise({ type: 'PAUSE' });
      return;
    }
    case 'STOP_AND_ESCALATE': {
      const blocking = output.verdicts
        .filter((v) => v.verdict.verdict === 'blocker')
        .flatMap((v) => {
          const issues = v.verdict.issues.filter((i) => i.severity === 'blocker');
          return issues.length
            ? issues.map(
                (i) => `${v.reviewer}: ${i.file ? `${i.file}${i.line ? `:${i.line}` : ''}: ` : ''}${i.message}`,
              )
            : [`${v.reviewer}: ${v.verdict.summary}`];
        });
      enqueue({ type: 'record', params: { ...base, action: 'session stopped; escalated to a person' } });
      raiseBlocker(next, enqueue, {
        kind: 'REVIEW_BLOCKER',
        roundId: output.roundId,
        targets: output.targets,
        message: [`A reviewer found blocking issues in ${output.targets.join(', ')}:`, ...blocking].join('\n'),
        action:
          'Read the blocking issues, fix them (or start a new session with a clearer task); this session is stopped.',
        options: [],
      });
      enqueue.assign({ outcome: 'escalated', stopReason: `review blocker in ${output.targets.join(', ')}` });
      enqueue.raise({ type: 'STOP', reason: 'review blocker' });
      return;
    }
  }
}
