/**
 * The session supervisor's bookkeeping, pure functions over its context: which workers may start, whether
 * the session is done or needs a person, blocker records.
 */
import type { LaunchFixes } from '../agents/types.js';
import type { BlockerChoice, BlockerFields, Decision, Usage } from '../domain/events.js';
import type { SessionSpec } from '../domain/spec.js';
import type { UpstreamSummary } from '../domain/prompts.js';
import { FINAL_WORKER_STATUSES, type WorkerStatus } from './worker.machine.js';

export interface WorkerEntry {
  id: string;
  agent: string;
  role: string;
  kind: 'worker' | 'reviewer';
  roundId?: string;
  /** The child actor's id; a worker retried after it failed for good runs as a new incarnation. */
  actorId: string;
  incarnation: number;
  status: WorkerStatus;
  started: boolean;
  attempt: number;
  finalText: string | null;
  planDone: number;
  reviewedAtPlanDone: number;
  usage: Usage;
  agentSessionId: string | null;
  dependsOn: string[];
  reason: string | null;
  /** A command was sent and the worker has not reported back yet. */
  pending: boolean;
}

export type { BlockerChoice };

/** A blocker as the session keeps it: what its events say (BlockerFields), with its id and whether it is open. */
export type BlockerRecord = BlockerFields & { id: string; open: boolean };

export interface RoundRecord {
  roundId: string;
  targets: string[];
  reason: string;
  decision: Decision | null;
}

export interface SessionInput {
  sessionId: string;
  spec: SessionSpec;
  targetDir: string;
  baseCommit: string | null;
  /** Workers run inside our own sandbox (decided by src/safety before the session starts). */
  insideSandbox: boolean;
}

export type SessionMode = 'running' | 'paused' | 'waiting' | 'stopping' | 'completed' | 'stopped';

export interface SessionContext extends SessionInput {
  mode: SessionMode;
  workers: Record<string, WorkerEntry>;
  restarts: Record<string, number[]>;
  blockers: BlockerRecord[];
  rounds: RoundRecord[];
  activeRound: string | null;
  reviewQueue: Array<{ targets: string[]; reason: string }>;
  outcome: 'completed' | 'stopped' | 'escalated' | null;
  stopReason: string | null;
  /** Launch fixes a recovery found for an agent (gemini's --skip-trust...): later launches of it start with them. */
  learnedFixes: Record<string, LaunchFixes>;
}

const isFinal = (status: WorkerStatus) => FINAL_WORKER_STATUSES.includes(status);

/** A worker a person can stop on its own (STOP_WORKER): not yet done, or failed/stopped and so in the way. */
export const STOPPABLE_WORKER_STATUSES: readonly WorkerStatus[] = ['spawned', 'running', 'paused', 'recovering', 'blocked', 'failed', 'stopped'];
const satisfied = (status: WorkerStatus) => status === 'completed' || status === 'skipped';

/** A worker as the session first knows it: spawned, nothing reported yet. */
export function newWorkerEntry(fields: Pick<WorkerEntry, 'id' | 'agent' | 'role' | 'kind' | 'dependsOn'> & Partial<WorkerEntry>): WorkerEntry {
  return {
    actorId: fields.id,
    incarnation: 1,
    status: 'spawned',
    started: false,
    attempt: 0,
    finalText: null,
    planDone: 0,
    reviewedAtPlanDone: 0,
    usage: {},
    agentSessionId: null,
    reason: null,
    pending: false,
    ...fields,
  };
}

export function initialWorkers(spec: SessionSpec): Record<string, WorkerEntry> {
  return Object.fromEntries(spec.workers.map((w) => [w.id, newWorkerEntry({ id: w.id, agent: w.agent, role: w.role, kind: 'worker', dependsOn: w.dependsOn })]));
}

/** Workers whose dependencies all completed (or were skipped) and that have not started yet. */
export function readyWorkers(context: Pick<SessionContext, 'workers'>): WorkerEntry[] {
  return Object.values(context.workers).filter(
    (w) => w.kind === 'worker' && !w.started && w.status === 'spawned' && w.dependsOn.every((d) => satisfied(context.workers[d]?.status ?? 'spawned')),
  );
}

export function upstreamOf(context: Pick<SessionContext, 'workers'>, workerId: string): UpstreamSummary[] {
  const entry = context.workers[workerId];
  if (!entry) return [];
  return entry.dependsOn
    .map((d) => context.workers[d])
    .filter((d): d is WorkerEntry => d !== undefined)
    .map((d) => ({ workerId: d.id, role: d.role, agent: d.agent, summary: d.finalText ?? '' }));
}

/** Every worker completed or skipped and no review is pending: the session is done. */
export function allDone(context: SessionContext): boolean {
  const workers = Object.values(context.workers);
  return (
    workers.filter((w) => w.kind === 'worker').every((w) => satisfied(w.status)) &&
    workers.filter((w) => w.kind === 'reviewer').every((w) => isFinal(w.status)) &&
    context.activeRound === null &&
    context.reviewQueue.length === 0
  );
}

/** Something will still happen without a person: a process runs, a backoff waits, a round collects. */
export function busy(context: SessionContext): boolean {
  if (context.activeRound !== null || context.reviewQueue.length > 0) return true;
  if (readyWorkers(context).length > 0) return true;
  // A worker that was sent a command and has not reported back is busy too: it is about to change state.
  // So is a blocked worker without an open blocker: the supervisor's decision about it is on its way (a
  // worker reports FAILED and then its `blocked` status in one step, after the supervisor already answered).
  const open = new Set(context.blockers.filter((b) => b.open && b.workerId).map((b) => b.workerId));
  return Object.values(context.workers).some(
    // A worker paused for a blocker (INTERVENE: safety, budget, resources) waits for a person like a blocked one.
    (w) => w.pending || ['running', 'stopping', 'recovering'].includes(w.status) || ((w.status === 'blocked' || w.status === 'paused') && !open.has(w.id)),
  );
}

export function openBlockers(context: Pick<SessionContext, 'blockers'>): BlockerRecord[] {
  return context.blockers.filter((b) => b.open);
}

/** Nothing can progress until a person answers (a blocker), or nothing can progress at all. */
export function needsPerson(context: SessionContext): boolean {
  return !allDone(context) && !busy(context);
}

export function allFinal(context: SessionContext): boolean {
  return Object.values(context.workers).every((w) => isFinal(w.status) || (w.status === 'spawned' && !w.started)) && context.activeRound === null;
}

export function nextBlockerId(context: Pick<SessionContext, 'blockers'>): string {
  return `b${context.blockers.length + 1}`;
}

export function reviewersFor(spec: SessionSpec, target: string) {
  return spec.reviews.filter((r) => r.target === target);
}

/** Workers that wait in `reviewing` after success: trigger on-complete and someone reviews them. */
export function awaitsReview(spec: SessionSpec, workerId: string): boolean {
  return spec.review.trigger === 'on-complete' && reviewersFor(spec, workerId).length > 0;
}
