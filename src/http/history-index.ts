/**
 * The parts of GET /state that only the log knows: reviews, decisions and recoveries. One scan builds a
 * session's index; after that a live session feeds it through log.subscribe and a session on disk is caught
 * up from its last indexed seq, so repeated GETs do not re-read a long log.
 */
import type { EventOfType, OrchestratorEvent } from '../domain/events.js';
import type { SessionManager } from '../runtime/session-manager.js';
import type { SessionRuntime } from '../runtime/session-runtime.js';
import { openSessionLog } from '../runtime/session-folder.js';

export interface SessionHistory {
  reviews: Array<EventOfType<'review'>>;
  decisions: Array<EventOfType<'decision'>>;
  recoveries: Array<EventOfType<'recovery'>>;
  /** The last seq looked at. */
  lastSeq: number;
}

interface Entry {
  history: SessionHistory;
  runtime: SessionRuntime | null;
  unsubscribe: (() => void) | null;
}

const SCAN_BATCH = 5_000;
/** Indexes of sessions that are not live, kept at most (the least recently asked for goes first). */
const MAX_IDLE_ENTRIES = 64;

export class HistoryIndex {
  private entries = new Map<string, Entry>();

  constructor(private readonly manager: SessionManager) {}

  /** The history of a session up to at least `knownLastSeq` (the lastSeq of the view the caller holds). */
  get(sessionId: string, knownLastSeq: number): SessionHistory {
    let entry = this.entries.get(sessionId);
    if (entry) this.entries.delete(sessionId); // re-inserted below: Map order is recency
    entry ??= { history: { reviews: [], decisions: [], recoveries: [], lastSeq: 0 }, runtime: null, unsubscribe: null };
    this.entries.set(sessionId, entry);

    const live = this.manager.get(sessionId) ?? null;
    if (entry.runtime !== live) {
      entry.unsubscribe?.();
      entry.unsubscribe = null;
      entry.runtime = live;
      if (live) {
        const target = entry;
        // Subscribe, then catch up in the same tick: appends are synchronous, so nothing falls in between.
        target.unsubscribe = live.subscribe((events) => add(target.history, events));
      }
    }
    if (live) {
      catchUp(entry.history, (after, limit) => live.readAfter(after, limit), live.lastSeq);
    } else if (entry.history.lastSeq < knownLastSeq) {
      const log = openSessionLog(this.manager.workspace, sessionId);
      try {
        catchUp(entry.history, (after, limit) => log.readAfter(after, limit), log.lastSeq);
      } finally {
        log.close();
      }
    }
    this.evictIdle();
    return entry.history;
  }

  /** Stop listening to every live log (the server is closing). */
  clear(): void {
    for (const entry of this.entries.values()) entry.unsubscribe?.();
    this.entries.clear();
  }

  private evictIdle(): void {
    const idle = [...this.entries].filter(([, e]) => e.runtime === null);
    for (const [id] of idle.slice(0, Math.max(0, idle.length - MAX_IDLE_ENTRIES))) this.entries.delete(id);
  }
}

function catchUp(
  history: SessionHistory,
  read: (after: number, limit: number) => OrchestratorEvent[],
  lastSeq: number,
): void {
  while (history.lastSeq < lastSeq) {
    const batch = read(history.lastSeq, Math.min(SCAN_BATCH, lastSeq - history.lastSeq));
    if (batch.length === 0) break;
    add(history, batch);
  }
}

function add(history: SessionHistory, events: readonly OrchestratorEvent[]): void {
  for (const event of events) {
    // Out of order cannot happen with a gap-free log; a missed stretch is read again by the next catchUp.
    if (event.seq !== history.lastSeq + 1) continue;
    history.lastSeq = event.seq;
    if (event.type === 'review') history.reviews.push(event);
    else if (event.type === 'decision') history.decisions.push(event);
    else if (event.type === 'recovery') history.recoveries.push(event);
  }
}
