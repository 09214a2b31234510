/**
 * The session supervisor's decisions, each a pure function `(context, event) -> { context, commands }` over
 * plain objects (src/domain/supervisor/step.ts). The session machine (src/machines/session.machine.ts) is the
 * chart that says when each applies; these say what it does: start workers as their dependencies complete,
 * answer failures with the recovery policy and restart intensity, schedule review rounds and act on their
 * decisions, apply a person's answers. No clock and no randomness: a failure carries its time, and the
 * backoff's jitter is a hash of what failed (recovery.ts).
 */
import type { ReviewerAssignment, RoundDoneEvent } from '../../machines/review.machine.js';
import type {
  WorkerFailedEvent,
  WorkerProgressEvent,
  WorkerStatusEvent,
  WorkerTimedOutEvent,
} from '../../machines/worker.machine.js';
import { renderStrictVerdictRequest } from '../prompts.js';
import { FINAL_WORKER_STATUSES } from '../worker-status.js';
import { type Answer, resolve, stopWorker } from './answers.js';
import type { BlockerRecord, SessionContext } from './context.js';
import { type IntegrationEvent, onIntegrated, onIntegrationConflict, onIntegrationFailed } from './integration.js';
import { type PermissionAsk, permissionAsked } from './permissions.js';
import { clockOf, intervene, onWorkerFailed, onWorkerTimedOut } from './recovery.js';
import { onRoundDone, onWorkerProgress, onWorkerStatus } from './reports.js';
import { launchReviewers, requestReview } from './rounds.js';
import { advance, spawnWorkers } from './spawn.js';
import { type Decision, decide } from './step.js';

export type { Command, Decision, RaisedEvent } from './step.js';
export type { Answer } from './answers.js';
export type { IntegrationEvent } from './integration.js';
export { clockOf, jitterOf, type Clock } from './recovery.js';

/** Every decision of the supervisor, by the name the session machine gives the action that applies it. */
export const supervisor = {
  /** The session begins: its workers are spawned (each starts when its dependencies have completed). */
  spawnWorkers: (context: SessionContext): Decision => decide(context, spawnWorkers),

  /** Running (again): start what can start, and the next review round. */
  run: (context: SessionContext): Decision => decide({ ...context, mode: 'running' }, advance),

  workerStatus: (context: SessionContext, event: WorkerStatusEvent): Decision =>
    decide(context, (s) => onWorkerStatus(s, event)),

  workerProgress: (context: SessionContext, event: WorkerProgressEvent): Decision =>
    decide(context, (s) => onWorkerProgress(s, event)),

  workerFailed: (context: SessionContext, event: WorkerFailedEvent): Decision =>
    decide(context, (s) => onWorkerFailed(s, event, clockOf(context.sessionId, event))),

  workerTimedOut: (context: SessionContext, event: WorkerTimedOutEvent): Decision =>
    decide(context, (s) => onWorkerTimedOut(s, event)),

  /** A person's message for a worker's running agent: the worker sends it in (interactive mode only). */
  say: (context: SessionContext, event: { workerId: string; text: string; by?: string }): Decision =>
    decide(context, (s) =>
      s.sendToWorker(event.workerId, { type: 'MESSAGE', text: event.text, ...(event.by ? { by: event.by } : {}) }),
    ),

  /** An interactive agent asks before a tool runs, and the rules say a person decides: a blocker says what. */
  permissionAsked: (context: SessionContext, event: PermissionAsk): Decision =>
    decide(context, (s) => permissionAsked(s, event)),

  launchReviewers: (context: SessionContext, event: { roundId: string; assignments: ReviewerAssignment[] }) =>
    decide(context, (s) => launchReviewers(s, event.roundId, event.assignments)),

  /** The round only asks about reviewers that just answered, so they are in `reviewing` and will act. */
  retryReviewer: (context: SessionContext, event: { reviewerId: string }): Decision =>
    decide(context, (s) => s.command(event.reviewerId, { type: 'FOLLOW_UP', text: renderStrictVerdictRequest() })),

  acceptReviewer: (context: SessionContext, event: { reviewerId: string }): Decision =>
    decide(context, (s) => s.command(event.reviewerId, { type: 'REVIEW.CONTINUE' })),

  stopReviewer: (context: SessionContext, event: { reviewerId: string }): Decision =>
    decide(context, (s) => s.sendToWorker(event.reviewerId, { type: 'STOP' })),

  roundDone: (context: SessionContext, event: RoundDoneEvent): Decision =>
    decide(context, (s) => onRoundDone(s, event)),

  /** A person's review: of one worker, or of every reviewed one. */
  review: (context: SessionContext, event: { target?: string }): Decision =>
    decide(context, (s) => requestReview(s, event.target, 'requested by a person')),

  resolve: (context: SessionContext, event: Answer): Decision => decide(context, (s) => resolve(s, event)),

  stopWorker: (context: SessionContext, event: { workerId: string; by?: string }): Decision =>
    decide(context, (s) => stopWorker(s, event)),

  intervene: (
    context: SessionContext,
    event: { workerId?: string; act: 'pause' | 'stop'; blocker: Pick<BlockerRecord, 'kind' | 'message' | 'action'> },
  ): Decision => decide(context, (s) => intervene(s, event)),

  pauseWorker: (context: SessionContext, event: { workerId?: string }): Decision =>
    decide(context, (s) => s.sendToWorker(event.workerId ?? '', { type: 'PAUSE' })),

  resumeWorker: (context: SessionContext, event: { workerId?: string }): Decision =>
    decide(context, (s) => s.sendToWorker(event.workerId ?? '', { type: 'RESUME' })),

  /** The session paused: every worker at work pauses (its agent's group is stopped). */
  pauseAll: (context: SessionContext): Decision =>
    decide({ ...context, mode: 'paused' }, (s) => {
      for (const w of Object.values(s.context.workers))
        if (w.status === 'running' || w.status === 'recovering') s.send(w.actorId, { type: 'PAUSE' });
    }),

  /** Every worker paused on its own goes on too. */
  resumeAll: (context: SessionContext): Decision =>
    decide(context, (s) => {
      for (const w of Object.values(s.context.workers))
        if (w.status === 'paused') s.send(w.actorId, { type: 'RESUME' });
    }),

  /** The session stops: every worker not ended is told to stop, and a round under way is dropped. */
  stopAll: (context: SessionContext): Decision =>
    decide({ ...context, mode: 'stopping' }, (s) => {
      for (const w of Object.values(s.context.workers))
        if (!FINAL_WORKER_STATUSES.includes(w.status)) s.send(w.actorId, { type: 'STOP' });
      if (s.context.activeRound) {
        s.stopChild(s.context.activeRound);
        s.set({ activeRound: null, reviewQueue: [] });
      }
    }),

  integrated: (context: SessionContext, event: Extract<IntegrationEvent, { type: 'INTEGRATION.DONE' }>): Decision =>
    decide(context, (s) => onIntegrated(s, event)),

  integrationConflict: (
    context: SessionContext,
    event: Extract<IntegrationEvent, { type: 'INTEGRATION.CONFLICT' }>,
  ): Decision => decide(context, (s) => onIntegrationConflict(s, event)),

  integrationFailed: (context: SessionContext, event: Extract<IntegrationEvent, { type: 'INTEGRATION.FAILED' }>) =>
    decide(context, (s) => onIntegrationFailed(s, event)),
};

export type SupervisorDecision = keyof typeof supervisor;
