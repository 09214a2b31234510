/**
 * A worker's status as the session, the API and the dashboard name it: the top of its machine's state, plus
 * the statuses it ends in. The worker machine (src/machines/worker.machine.ts) moves between them.
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

/** The end reason of a worker a person skipped (a blocker answered skip, or the stop of that one worker). */
export const SKIPPED_BY_A_PERSON = 'skipped by a person';
