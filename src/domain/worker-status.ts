/**
 * What a person sees of a worker's and a session's state: the status word of a worker (from its machine's state
 * value, or from the state path a `state` event carries), which statuses and session states are final, and the
 * cap on plan progress. Pure: the runtime's view, the CLI and the dashboard (web/, bundled for the browser) all
 * read them from here.
 */

export type WorkerStatus =
  | 'spawned'
  | 'running'
  | 'paused'
  | 'stopping'
  | 'blocked'
  | 'recovering'
  | 'reviewing'
  | 'completed'
  | 'failed'
  | 'stopped'
  | 'skipped';

export const FINAL_WORKER_STATUSES: readonly WorkerStatus[] = ['completed', 'failed', 'stopped', 'skipped'];

/** The session machine's final states. */
export const FINAL_SESSION_STATES: readonly string[] = ['completed', 'stopped'];

/** A plan all done is not the end yet: progress reaches 1 only when the worker completes. */
export const PLAN_PROGRESS_CAP = 0.99;

/** Progress from a plan's done/total, below 1 (0 for an empty plan). */
export function planProgress(plan: { done: number; total: number }): number {
  return plan.total > 0 ? Math.min(PLAN_PROGRESS_CAP, plan.done / plan.total) : 0;
}

export const isFinalWorkerStatus = (status: string): boolean =>
  (FINAL_WORKER_STATUSES as readonly string[]).includes(status);

/**
 * The status a person sees, from a worker's state: a snapshot's state value (`'completed'`,
 * `{ running: 'paused' }`) or the path of a `state` event (`'running.paused'`).
 */
export function workerStatusOf(value: unknown): WorkerStatus {
  let top: unknown;
  let sub: unknown;
  if (typeof value === 'string') [top, sub] = (value.split(',')[0] ?? '').split('.');
  else if (value && typeof value === 'object') [top, sub] = Object.entries(value as Record<string, unknown>)[0] ?? [];
  else return 'spawned';
  if (sub === 'paused') return 'paused';
  if (top === 'running' && sub === 'stopping') return 'stopping';
  return ((top as string | undefined) || 'spawned') as WorkerStatus;
}
