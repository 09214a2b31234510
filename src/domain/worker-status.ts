/**
 * What a person sees of a worker's and a session's state: the status word of a worker (from its machine's state
 * value, or from the state path a `state` event carries), which statuses and session states are final, and the
 * cap on plan progress. Also the facts derived from a worker's context wherever it is shown: its usage over all
 * attempts and its progress. Pure: the machines, the runtime's view, the CLI and the dashboard (web/, bundled
 * for the browser) all read them from here.
 */
import type { Usage } from './events.js';
import { addUsage } from './output-facts.js';

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

/** The end reason of a worker a person skipped (a blocker answered skip, or the stop of that one worker). */
export const SKIPPED_BY_A_PERSON = 'skipped by a person';

/** The session machine's final states. */
export const FINAL_SESSION_STATES: readonly string[] = ['completed', 'stopped'];

/** A plan all done is not the end yet: progress reaches 1 only when the worker completes. */
export const PLAN_PROGRESS_CAP = 0.99;

/** Progress from a plan's done/total, below 1 (0 for an empty plan). */
export function planProgress(plan: { done: number; total: number }): number {
  return plan.total > 0 ? Math.min(PLAN_PROGRESS_CAP, plan.done / plan.total) : 0;
}

/**
 * Progress 0..1: the plan's done/total when the agent keeps one, else a curve over its steps (never 1 before the end).
 */
export function computeProgress(plan: { done: number; total: number } | null, steps: number): number {
  if (plan && plan.total > 0) return planProgress(plan);
  return Math.min(0.9, 1 - 1 / (1 + steps / 8));
}

/** A worker's usage over all its attempts (each agent run reports its own totals). */
export function totalUsage(context: { usageByAttempt: Record<string, Usage> }): Usage {
  return Object.values(context.usageByAttempt).reduce<Usage>((sum, u) => addUsage(sum, u), {});
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
