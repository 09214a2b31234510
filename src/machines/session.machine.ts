/**
 * The session: the supervisor of its workers (OTP-style), as a chart. It says when things happen; what they do
 * is decided by the pure functions of src/domain/supervisor (`(context, event) -> { context, commands }`),
 * which this machine applies: it assigns the context and turns each command into the XState action of that
 * name. Effects are the named actors (workers, review rounds, the integration) and the named `record` action
 * (append an event to the log), all provided by the runtime. No clock and no randomness of its own.
 *
 *   created -> running <-> paused
 *                   running <-> waiting (nothing can move until a person answers)
 *                   running -> integrating -> completed (a session with checkouts)
 *                   running/paused/waiting/integrating -STOP-> stopping -> stopped;  running -(all done)-> completed
 */
import { assign, type EventObject, fromCallback, setup } from 'xstate';
import type { NewEvent } from '../domain/events.js';
import { type Decision, type IntegrationEvent, supervisor } from '../domain/supervisor/index.js';
import {
  allFinal,
  type BlockerChoice,
  type BlockerRecord,
  finished,
  initialWorkers,
  integrationCandidates,
  needsPerson,
  readyToIntegrate,
  type SessionContext,
  type SessionInput,
  unfinishedWorkers,
} from '../domain/supervisor/context.js';
import { type RoundDoneEvent, type RoundRequest, reviewMachine } from './review.machine.js';
import {
  type WorkerFailedEvent,
  type WorkerPermissionEvent,
  type WorkerProgressEvent,
  type WorkerStatusEvent,
  type WorkerTimedOutEvent,
  workerMachine,
} from './worker.machine.js';

export type { SessionContext, SessionInput } from '../domain/supervisor/context.js';
export type { IntegrationEvent } from '../domain/supervisor/index.js';

export type SessionEvent =
  | { type: 'PAUSE'; workerId?: string }
  | { type: 'RESUME'; workerId?: string }
  | { type: 'STOP'; reason?: string }
  /** Stop one worker: its agent ends and the session goes on without it (the worker ends `skipped`). */
  | { type: 'STOP_WORKER'; workerId: string; by?: string }
  | { type: 'REVIEW'; target?: string }
  /** A person's message into a worker's running agent (interactive mode). */
  | { type: 'SAY'; workerId: string; text: string; by?: string }
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
  | WorkerPermissionEvent
  | RoundRequest
  | RoundDoneEvent
  | IntegrationEvent;

/** The input of the `integrate` actor: the workers whose branches make the result, in dependency order. */
export interface IntegrateInput {
  candidates: string[];
}

const types = {
  context: {} as SessionContext,
  events: {} as SessionEvent,
  input: {} as SessionInput,
};
const actors = {
  worker: workerMachine,
  reviewRound: reviewMachine,
  // Provided by the runtime: integrates the workers' branches, then sends INTEGRATION.* back.
  integrate: fromCallback<EventObject, IntegrateInput>(() => () => undefined),
};
// Provided by the runtime: append an event to the session log.
const record = (_: unknown, _event: NewEvent) => undefined;

/** The machine's types, for the one action that applies a supervisor's decision. */
const typed = setup({ types, actors, actions: { record } });

/** The action that applies a supervisor decision: its context assigned, then each of its commands in order. */
function apply<E extends SessionEvent>(decide: (context: SessionContext, event: E) => Decision) {
  return typed.enqueueActions(({ context, event, enqueue }) => {
    const decision = decide(context, event as E);
    if (decision.context !== context) enqueue.assign(() => decision.context);
    for (const command of decision.commands) {
      switch (command.kind) {
        case 'record':
          enqueue({ type: 'record', params: command.event });
          break;
        case 'send':
          enqueue.sendTo(command.to, command.event);
          break;
        case 'raise':
          enqueue.raise(command.event);
          break;
        case 'spawnWorker':
          enqueue.spawnChild('worker', {
            id: command.id,
            ...(command.systemId ? { systemId: command.systemId } : {}),
            input: command.input,
          });
          break;
        case 'spawnRound':
          enqueue.spawnChild('reviewRound', { id: command.id, input: command.input });
          break;
        case 'stopChild':
          enqueue.stopChild(command.id);
          break;
      }
    }
  });
}

type On<T extends SessionEvent['type']> = Extract<SessionEvent, { type: T }>;

export const sessionMachine = setup({
  types,
  actors,
  actions: {
    record,
    spawnWorkers: apply(supervisor.spawnWorkers),
    run: apply(supervisor.run),
    pauseAll: apply(supervisor.pauseAll),
    resumeAll: apply(supervisor.resumeAll),
    stopAll: apply(supervisor.stopAll),
    pauseWorker: apply<On<'PAUSE'>>(supervisor.pauseWorker),
    resumeWorker: apply<On<'RESUME'>>(supervisor.resumeWorker),
    workerStatus: apply<WorkerStatusEvent>(supervisor.workerStatus),
    workerProgress: apply<WorkerProgressEvent>(supervisor.workerProgress),
    workerFailed: apply<WorkerFailedEvent>(supervisor.workerFailed),
    workerTimedOut: apply<WorkerTimedOutEvent>(supervisor.workerTimedOut),
    permissionAsked: apply<WorkerPermissionEvent>(supervisor.permissionAsked),
    say: apply<On<'SAY'>>(supervisor.say),
    launchReviewers: apply<On<'ROUND.LAUNCH'>>(supervisor.launchReviewers),
    retryReviewer: apply<On<'ROUND.RETRY_REVIEWER'>>(supervisor.retryReviewer),
    acceptReviewer: apply<On<'ROUND.ACCEPT_REVIEWER'>>(supervisor.acceptReviewer),
    stopReviewer: apply<On<'ROUND.STOP_REVIEWER'>>(supervisor.stopReviewer),
    roundDone: apply<RoundDoneEvent>(supervisor.roundDone),
    review: apply<On<'REVIEW'>>(supervisor.review),
    resolve: apply<On<'RESOLVE'>>(supervisor.resolve),
    stopWorker: apply<On<'STOP_WORKER'>>(supervisor.stopWorker),
    intervene: apply<On<'INTERVENE'>>(supervisor.intervene),
    integrated: apply<On<'INTEGRATION.DONE'>>(supervisor.integrated),
    integrationConflict: apply<On<'INTEGRATION.CONFLICT'>>(supervisor.integrationConflict),
    integrationFailed: apply<On<'INTEGRATION.FAILED'>>(supervisor.integrationFailed),
    // An escalation decided before the STOP keeps its outcome and reason.
    markStopped: assign(({ context, event }) => ({
      outcome: context.outcome ?? 'stopped',
      stopReason: context.stopReason ?? (event as { reason?: string }).reason ?? 'stopped by a person',
    })),
    // Completed only when every worker that was to run completed; a skipped one makes the outcome `partial`.
    complete: assign(({ context }) => {
      const unfinished = unfinishedWorkers(context);
      return unfinished.length === 0
        ? { mode: 'completed' as const, outcome: 'completed' as const }
        : {
            mode: 'completed' as const,
            outcome: 'partial' as const,
            stopReason: `not every worker completed: ${unfinished.join('; ')}`,
          };
    }),
    end: assign({ mode: 'stopped', outcome: ({ context }) => context.outcome ?? 'stopped' }),
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
    'WORKER.STATUS': { actions: 'workerStatus' },
    'WORKER.PROGRESS': { actions: 'workerProgress' },
    'WORKER.FAILED': { actions: 'workerFailed' },
    'WORKER.TIMED_OUT': { actions: 'workerTimedOut' },
    'WORKER.PERMISSION': { actions: 'permissionAsked' },
    SAY: { actions: 'say' },
    'ROUND.LAUNCH': { actions: 'launchReviewers' },
    'ROUND.RETRY_REVIEWER': { actions: 'retryReviewer' },
    'ROUND.ACCEPT_REVIEWER': { actions: 'acceptReviewer' },
    'ROUND.STOP_REVIEWER': { actions: 'stopReviewer' },
    'ROUND.DONE': { actions: 'roundDone' },
    RESOLVE: { actions: 'resolve' },
    STOP_WORKER: { actions: 'stopWorker' },
    INTERVENE: { actions: 'intervene' },
  },
  states: {
    // The name the event log gives the session before its machine runs (SessionRuntime.create): one name for both.
    created: {
      entry: 'spawnWorkers',
      always: 'running',
    },
    running: {
      entry: 'run',
      always: [
        { guard: 'finished', target: 'completed' },
        { guard: 'readyToIntegrate', target: 'integrating' },
        { guard: 'needsPerson', target: 'waiting' },
      ],
      on: {
        PAUSE: [{ guard: 'forOneWorker', actions: 'pauseWorker' }, { target: 'paused' }],
        // Without a worker id, every worker paused on its own goes on too.
        RESUME: [{ guard: 'forOneWorker', actions: 'resumeWorker' }, { actions: 'resumeAll' }],
        REVIEW: { actions: 'review' },
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
        REVIEW: { actions: 'review' },
        STOP: { target: 'stopping', actions: 'markStopped' },
      },
    },
    paused: {
      entry: 'pauseAll',
      on: {
        RESUME: [
          { guard: 'forOneWorker', actions: 'resumeWorker' },
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
        'INTEGRATION.DONE': { target: 'completed', actions: 'integrated' },
        'INTEGRATION.CONFLICT': { target: 'waiting', actions: 'integrationConflict' },
        'INTEGRATION.FAILED': { target: 'waiting', actions: 'integrationFailed' },
        STOP: { target: 'stopping', actions: 'markStopped' },
      },
    },
    stopping: {
      entry: 'stopAll',
      always: { guard: 'allFinal', target: 'stopped' },
    },
    completed: { type: 'final', entry: 'complete' },
    stopped: { type: 'final', entry: 'end' },
  },
});

export type SessionMachine = typeof sessionMachine;
