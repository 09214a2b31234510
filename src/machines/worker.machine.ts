/**
 * One agent worker's lifecycle. Pure: the agent process is the `agentProcess` actor (src/actors), invoked
 * by name and provided by the runtime; the backoff is a deadline timer actor, so a restored snapshot keeps
 * the original deadline (XState does not persist `after` timers).
 *
 *   spawned -START-> running -PROCESS.EXITED ok-> completed | reviewing (work under review)
 *                    running -PROCESS.EXITED failed-> blocked (the supervisor decides)
 *   blocked -RECOVER-> recovering -TIMER.DONE-> running (next attempt, changed command)
 *   blocked -GIVE_UP-> failed; -SKIP-> skipped; a blocker keeps it blocked until a person answers
 *   spawned/blocked/recovering -SKIP-> skipped; running -SKIP-> stopping (its group terminated) -> skipped
 *   running/recovering have a `paused` substate (SIGSTOP of the process group; timers stand still)
 */
import { assign, fromCallback, sendParent, sendTo, setup } from 'xstate';
import type { OutputFacts } from '../domain/output-facts.js';
import {
  computeProgress,
  FINAL_WORKER_STATUSES,
  SKIPPED_BY_A_PERSON,
  totalUsage,
  type WorkerStatus,
  workerStatusOf,
} from '../domain/worker-status.js';
import type { AgentProcessCommand, AgentProcessInput } from './agent-process-protocol.js';
import { deadlineTimer } from './deadline-timer.js';
import {
  initialWorkerContext,
  processInput,
  statusEvent,
  type WorkerContext,
  type WorkerEvent,
  type WorkerFailedEvent,
  type WorkerInput,
  type WorkerPermissionEvent,
  type WorkerProgressEvent,
  type WorkerTimedOutEvent,
} from './worker-protocol.js';

export type * from './worker-protocol.js';
export { computeProgress, FINAL_WORKER_STATUSES, SKIPPED_BY_A_PERSON, totalUsage, type WorkerStatus, workerStatusOf };

/** Entry action of every state: tell the parent (status for people, full path for the state event). */
const statusOf = (status: WorkerStatus, state: string = status) => ({
  type: 'reportStatus' as const,
  params: { status, state },
});

export const workerMachine = setup({
  types: {
    context: {} as WorkerContext,
    events: {} as WorkerEvent,
    input: {} as WorkerInput,
  },
  actors: {
    // Provided by the runtime (src/runtime); this placeholder never launches anything.
    agentProcess: fromCallback<AgentProcessCommand, AgentProcessInput>(() => () => undefined),
    deadlineTimer,
  },
  guards: {
    interactive: ({ context }) => context.interactive === true,
    currentAttempt: ({ context, event }) => 'attempt' in event && event.attempt === context.attempt,
    exitedOkWithFollowUp: ({ context, event }) =>
      event.type === 'PROCESS.EXITED' &&
      event.attempt === context.attempt &&
      event.outcome === 'ok' &&
      context.pendingFollowUp !== null,
    exitedOkAwaitingReview: ({ context, event }) =>
      event.type === 'PROCESS.EXITED' &&
      event.attempt === context.attempt &&
      event.outcome === 'ok' &&
      context.awaitReview,
    exitedOk: ({ context, event }) =>
      event.type === 'PROCESS.EXITED' && event.attempt === context.attempt && event.outcome === 'ok',
    exitedStopped: ({ context, event }) =>
      event.type === 'PROCESS.EXITED' && event.attempt === context.attempt && event.outcome === 'stopped',
    /** Stopped because a person skipped it (stop of one worker): the session goes on without it. */
    exitedSkipped: ({ context, event }) =>
      event.type === 'PROCESS.EXITED' &&
      event.attempt === context.attempt &&
      event.outcome === 'stopped' &&
      context.endReason === SKIPPED_BY_A_PERSON,
    exitedTimedOut: ({ context, event }) =>
      event.type === 'PROCESS.EXITED' && event.attempt === context.attempt && event.outcome === 'timed_out',
    exitedFailed: ({ context, event }) =>
      event.type === 'PROCESS.EXITED' && event.attempt === context.attempt && event.outcome === 'failed',
  },
  actions: {
    startNextAttempt: assign({
      attempt: ({ context }) => context.attempt + 1,
      pid: null,
      exit: null,
      backoff: null,
      blockerId: null,
    }),
    applyFacts: assign(({ context, event }) => {
      if (event.type !== 'PROCESS.OUTPUT' && event.type !== 'PROCESS.EXITED') return {};
      const facts: OutputFacts = event.facts;
      const progress = computeProgress(facts.plan ?? null, context.steps + facts.steps);
      return {
        agentSessionId: facts.agentSessionId ?? context.agentSessionId,
        plan: facts.plan ?? context.plan,
        lastActivity: facts.lastActivity ?? context.lastActivity,
        finalText: facts.finalText ?? context.finalText,
        filesChanged: [...new Set([...context.filesChanged, ...facts.filesChanged])].slice(0, 200),
        usageByAttempt: facts.usage
          ? { ...context.usageByAttempt, [String(event.attempt)]: facts.usage }
          : context.usageByAttempt,
        progress: Math.max(context.progress, progress),
      };
    }),
    recordExit: assign(({ context, event }) => {
      if (event.type !== 'PROCESS.EXITED') return {};
      return {
        // Steps of a finished attempt carry over, so progress of the next attempt starts where this one ended.
        steps: context.steps + event.facts.steps,
        activeMs: context.activeMs + event.activeMs,
        exit: { code: event.exitCode, signal: event.signal },
        lastFailure: event.failure,
        pid: null,
        change: event.change ?? context.change,
      };
    }),
    notifyFailed: sendParent(
      ({ context, event }): WorkerFailedEvent => ({
        type: 'WORKER.FAILED',
        workerId: context.workerId,
        kind: context.kind,
        attempt: context.attempt,
        signal:
          event.type === 'PROCESS.EXITED' && event.failure
            ? event.failure
            : { kind: 'crashed', message: 'the agent failed' },
        agentSessionId: context.agentSessionId,
        fixes: context.fixes,
        at: Date.now(),
      }),
    ),
    notifyTimedOut: sendParent(
      ({ context }): WorkerTimedOutEvent => ({
        type: 'WORKER.TIMED_OUT',
        workerId: context.workerId,
        activeMs: context.activeMs,
      }),
    ),
    askPermission: sendParent((_, params: WorkerPermissionEvent) => params),
    answerPermission: sendTo('process', (_, params: AgentProcessCommand) => params),
    /** A message into the running agent (its process actor keys it). */
    say: sendTo('process', (_, params: { text: string; by?: string }) => ({ type: 'PROCESS.SAY' as const, ...params })),
    pauseProcess: sendTo('process', { type: 'PROCESS.PAUSE' }),
    resumeProcess: sendTo('process', { type: 'PROCESS.RESUME' }),
    terminateProcess: sendTo('process', { type: 'PROCESS.TERMINATE' }),
    reportStatus: sendParent(({ context, event }, params: { status: WorkerStatus; state: string }) =>
      statusEvent(context, params.status, params.state, event.type),
    ),
    notifyOutput: sendParent(
      ({ context }): WorkerProgressEvent => ({
        type: 'WORKER.PROGRESS',
        workerId: context.workerId,
        kind: context.kind,
        ...(context.roundId ? { roundId: context.roundId } : {}),
        attempt: context.attempt,
        finalText: context.finalText,
        planDone: context.plan?.done ?? 0,
        usage: totalUsage(context),
        agentSessionId: context.agentSessionId,
      }),
    ),
  },
}).createMachine({
  id: 'worker',
  context: ({ input }) => initialWorkerContext(input),
  initial: 'spawned',
  states: {
    spawned: {
      // No report on entry: the session created this worker as `spawned` and knows it; a report would reach
      // it after the START it sends right away, and read as the worker's answer to START.
      on: {
        START: {
          target: 'running',
          actions: [
            assign(({ context, event }) => {
              const prompt =
                context.prompt.kind === 'role' ? { ...context.prompt, upstream: event.upstream } : context.prompt;
              return {
                prompt,
                originalPrompt: prompt,
                fixes: { ...context.fixes, ...event.fixes },
                from: context.from ?? event.from ?? [],
              };
            }),
            'startNextAttempt',
          ],
        },
        STOP: { target: 'stopped', actions: assign({ endReason: 'stopped before it started' }) },
        SKIP: { target: 'skipped', actions: assign({ endReason: SKIPPED_BY_A_PERSON }) },
      },
    },
    running: {
      invoke: {
        id: 'process',
        src: 'agentProcess',
        input: ({ context }) => processInput(context),
      },
      initial: 'active',
      states: {
        active: {
          entry: statusOf('running', 'running.active'),
          on: {
            PAUSE: { target: 'paused', actions: 'pauseProcess' },
          },
        },
        paused: {
          entry: statusOf('paused', 'running.paused'),
          on: {
            RESUME: { target: 'active', actions: 'resumeProcess' },
          },
        },
        stopping: {
          entry: statusOf('stopping', 'running.stopping'),
        },
      },
      on: {
        STOP: { target: '.stopping', actions: [assign({ endReason: 'stopped' }), 'terminateProcess'] },
        SKIP: { target: '.stopping', actions: [assign({ endReason: SKIPPED_BY_A_PERSON }), 'terminateProcess'] },
        'PROCESS.STARTED': { guard: 'currentAttempt', actions: assign({ pid: ({ event }) => event.pid }) },
        'PROCESS.OUTPUT': { guard: 'currentAttempt', actions: ['applyFacts', 'notifyOutput'] },
        // Interactive: an answer (or a person's message) goes into the running agent now; otherwise it waits for
        // the next launch.
        FOLLOW_UP: [
          { guard: 'interactive', actions: [{ type: 'say', params: ({ event }) => ({ text: event.text }) }] },
          { actions: assign({ pendingFollowUp: ({ event }) => event.text }) },
        ],
        MESSAGE: {
          guard: 'interactive',
          actions: [
            { type: 'say', params: ({ event }) => ({ text: event.text, ...(event.by ? { by: event.by } : {}) }) },
          ],
        },
        'PROCESS.PERMISSION': {
          guard: 'currentAttempt',
          actions: {
            type: 'askPermission',
            params: ({ context, event }) => ({
              type: 'WORKER.PERMISSION' as const,
              workerId: context.workerId,
              attempt: event.attempt,
              requestId: event.requestId,
              request: event.request,
              ...(event.settled ? { settled: event.settled } : {}),
              ...(event.rule ? { rule: event.rule } : {}),
            }),
          },
        },
        'PERMISSION.ANSWER': {
          guard: 'currentAttempt',
          actions: {
            type: 'answerPermission',
            params: ({ event }) => ({
              type: 'PROCESS.ANSWER' as const,
              requestId: event.requestId,
              decision: event.decision,
              blockerId: event.blockerId,
              ...(event.rule ? { rule: event.rule } : {}),
              ...(event.by ? { by: event.by } : {}),
            }),
          },
        },
        'PROCESS.EXITED': [
          { guard: 'exitedSkipped', target: 'skipped', actions: ['applyFacts', 'recordExit'] },
          { guard: 'exitedStopped', target: 'stopped', actions: ['applyFacts', 'recordExit'] },
          {
            guard: 'exitedOkWithFollowUp',
            target: 'running',
            reenter: true,
            actions: [
              'applyFacts',
              'recordExit',
              assign(({ context }) => ({
                prompt: { kind: 'follow-up' as const, text: context.pendingFollowUp ?? '' },
                resumeId: context.agentSessionId,
                pendingFollowUp: null,
              })),
              'startNextAttempt',
            ],
          },
          { guard: 'exitedOkAwaitingReview', target: 'reviewing', actions: ['applyFacts', 'recordExit'] },
          { guard: 'exitedOk', target: 'completed', actions: ['applyFacts', 'recordExit', assign({ progress: 1 })] },
          {
            guard: 'exitedTimedOut',
            target: 'failed',
            actions: ['applyFacts', 'recordExit', assign({ endReason: 'worker timeout' }), 'notifyTimedOut'],
          },
          { guard: 'exitedFailed', target: 'blocked', actions: ['applyFacts', 'recordExit', 'notifyFailed'] },
        ],
      },
    },
    blocked: {
      entry: statusOf('blocked'),
      on: {
        RECOVER: {
          target: 'recovering',
          actions: assign(({ context, event }) => ({
            fixes: event.fixes,
            resumeId: event.resumeId,
            prompt: event.prompt === 'original' ? context.originalPrompt : event.prompt,
            backoff: { dueAt: Date.now() + event.delayMs, remainingMs: null },
          })),
        },
        ESCALATED: { actions: assign({ blockerId: ({ event }) => event.blockerId }) },
        GIVE_UP: { target: 'failed', actions: assign({ endReason: ({ event }) => event.reason }) },
        SKIP: { target: 'skipped', actions: assign({ endReason: SKIPPED_BY_A_PERSON }) },
        STOP: { target: 'stopped', actions: assign({ endReason: 'stopped' }) },
        // Between attempts: the next attempt that ends well runs again with it (as for a running worker).
        FOLLOW_UP: { actions: assign({ pendingFollowUp: ({ event }) => event.text }) },
      },
    },
    recovering: {
      initial: 'waiting',
      states: {
        waiting: {
          entry: statusOf('recovering', 'recovering.waiting'),
          invoke: { src: 'deadlineTimer', input: ({ context }) => ({ dueAt: context.backoff?.dueAt ?? 0 }) },
          on: {
            'TIMER.DONE': { target: '#worker.running', actions: 'startNextAttempt' },
            PAUSE: {
              target: 'paused',
              actions: assign({
                backoff: ({ context }) => ({
                  dueAt: context.backoff?.dueAt ?? 0,
                  remainingMs: Math.max(0, (context.backoff?.dueAt ?? 0) - Date.now()),
                }),
              }),
            },
          },
        },
        paused: {
          entry: statusOf('paused', 'recovering.paused'),
          on: {
            RESUME: {
              target: 'waiting',
              actions: assign({
                backoff: ({ context }) => ({
                  dueAt: Date.now() + (context.backoff?.remainingMs ?? 0),
                  remainingMs: null,
                }),
              }),
            },
          },
        },
      },
      on: {
        STOP: { target: 'stopped', actions: assign({ endReason: 'stopped' }) },
        SKIP: { target: 'skipped', actions: assign({ endReason: SKIPPED_BY_A_PERSON }) },
        FOLLOW_UP: { actions: assign({ pendingFollowUp: ({ event }) => event.text }) },
      },
    },
    reviewing: {
      entry: statusOf('reviewing'),
      on: {
        'REVIEW.CONTINUE': { target: 'completed', actions: assign({ progress: 1 }) },
        FOLLOW_UP: {
          target: 'running',
          actions: [
            assign(({ context, event }) => ({
              prompt: { kind: 'follow-up' as const, text: event.text },
              resumeId: context.agentSessionId,
            })),
            'startNextAttempt',
          ],
        },
        STOP: { target: 'stopped', actions: assign({ endReason: 'stopped' }) },
      },
    },
    completed: { type: 'final', entry: statusOf('completed') },
    failed: { type: 'final', entry: statusOf('failed') },
    stopped: { type: 'final', entry: statusOf('stopped') },
    skipped: { type: 'final', entry: statusOf('skipped') },
  },
});

export type WorkerMachine = typeof workerMachine;
