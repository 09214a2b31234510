/**
 * A worker's status as the session, the API and the dashboard name it: the top of its machine's state, plus
 * the statuses it ends in. The worker machine (src/machines/worker.machine.ts) moves between them. Also the
 * facts derived from a worker's context wherever it is shown: its usage over all attempts and its progress.
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

/** A worker's usage over all its attempts (each agent run reports its own totals). */
export function totalUsage(context: { usageByAttempt: Record<string, Usage> }): Usage {
  return Object.values(context.usageByAttempt).reduce<Usage>((sum, u) => addUsage(sum, u), {});
}

/**
 * Progress 0..1: the plan's done/total when the agent keeps one, else a curve over its steps (never 1 before the end).
 */
export function computeProgress(plan: { done: number; total: number } | null, steps: number): number {
  if (plan && plan.total > 0) return Math.min(0.99, plan.done / plan.total);
  return Math.min(0.9, 1 - 1 / (1 + steps / 8));
}

/** The status a person sees, from a worker snapshot's state value. */
export function workerStatusOf(value: unknown): WorkerStatus {
  if (typeof value === 'string') return value as WorkerStatus;
  if (value && typeof value === 'object') {
    const [top, sub] = Object.entries(value as Record<string, unknown>)[0] ?? [];
    if (sub === 'paused') return 'paused';
    if (top === 'running' && sub === 'stopping') return 'stopping';
    return (top ?? 'spawned') as WorkerStatus;
  }
  return 'spawned';
}
