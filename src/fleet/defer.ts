/**
 * Delayed retries (issue 16 #6): a session whose every unfinished worker waits to be relaunched (a rate-limited
 * agent said when to retry, or a long backoff), for long enough, goes back to the queue until then, so its runner's
 * slot is free meanwhile. Pure: the runner passes the session's view and its clock.
 */
import type { SessionView } from '../domain/session-view.js';
import { FINAL_WORKER_STATUSES } from '../domain/worker-status.js';

/**
 * When the session could be given back to the queue until: the first of its workers' retry times, when every
 * worker that has not ended waits for one (or for those, as a worker not started yet does), nothing else runs or
 * waits for a person, and the first retry is at least `atLeastMs` away. null otherwise.
 */
export function deferUntil(view: SessionView, now: number, atLeastMs: number): Date | null {
  if (view.outcome !== null || view.state !== 'running') return null;
  if (view.blockers.some((b) => b.open)) return null;
  let first = Number.POSITIVE_INFINITY;
  for (const w of view.workers) {
    if (FINAL_WORKER_STATUSES.includes(w.status)) continue;
    if (w.status === 'spawned' && w.pid === null) continue;
    if (w.status !== 'recovering' || w.retryAt === null) return null;
    first = Math.min(first, Date.parse(w.retryAt));
  }
  return Number.isFinite(first) && first - now >= atLeastMs ? new Date(first) : null;
}
