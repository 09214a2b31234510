/** What a runner keeps of each session it runs (src/fleet/runner.ts). */
import type { SessionRuntime } from '../runtime/session-runtime.js';
import type { Lease } from './pg-store.js';

export interface Running {
  lease: Lease;
  runtime: SessionRuntime | null;
  replicated: number;
  /** The replication in flight, if any; `again` when more arrived meanwhile. */
  replicating: Promise<void> | null;
  /** Who waits for the store's log to reach a seq (a folder whose snapshot reflects it). */
  waiting: Array<{ seq: number; done: () => void }>;
  again: boolean;
  lost: boolean;
  /** Being marked ended in the store: a renewal that the end outran fails, and that is no loss. */
  finishing: boolean;
  /** When the lease was last taken or renewed (this process's clock): past leaseSec it may be someone else's. */
  renewedAt: number;
  /** The database could not be reached at the last try (told once per outage). */
  unreachable: boolean;
  /** The clone the session runs in. */
  dir: string | null;
  /** The refs and the folder as last pushed and saved (sent again only when they changed). */
  pushedRefs: string;
  savedFolder: string;
  syncing: Promise<void> | null;
  /** Being given back to the queue (./defer.ts), and the end of its run here once it is. */
  parking: boolean;
  parked: Promise<null>;
  unpark: () => void;
}

/** A session just claimed: nothing run, replicated or saved yet. */
export function newRunning(lease: Lease): Running {
  let unpark = () => undefined as void;
  const parked = new Promise<null>((resolve) => {
    unpark = () => resolve(null);
  });
  return {
    lease,
    runtime: null,
    replicated: 0,
    replicating: null,
    waiting: [],
    again: false,
    lost: false,
    finishing: false,
    renewedAt: performance.now(),
    unreachable: false,
    dir: null,
    pushedRefs: '',
    savedFolder: '',
    syncing: null,
    parking: false,
    parked,
    unpark: () => unpark(),
  };
}
