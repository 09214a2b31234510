/**
 * What one SSE client of a session receives after the snapshot: the replay from events.jsonl, then live
 * events, with no gap and no duplicate.
 *
 * Subscribe to the log first (listeners run synchronously inside append, so nothing can slip in between),
 * note `replayEnd` = the log's lastSeq, replay (after, replayEnd] from the file in batches as the client
 * takes them, and hold live events (all > replayEnd) until the replay is through. `lastSent` guards the
 * order: an event goes out only as lastSent + 1.
 *
 * A session that is only on disk gets its replay, then heartbeats; if this server resumes it meanwhile
 * (manager.onCreated) the feed attaches to the live log and goes on. If the live session is detached from
 * this server, the stream ends and the client reconnects (then it gets the on-disk behaviour).
 */
import type { OrchestratorEvent } from '../domain/events.js';
import type { SessionManager } from '../runtime/session-manager.js';
import type { SessionRuntime } from '../runtime/session-runtime.js';
import { type Appended, type FrameChunk, openSessionLog, type SessionLogReader } from '../runtime/session-folder.js';
import type { SseStream } from './sse.js';

/** Events read from the file per replay step, about (the client takes them before the next step is read). */
const REPLAY_BATCH = 512;

export type FeedStart = { lastEventId: number } | { tail: number } | { live: true };

export interface SessionFeedOptions {
  manager: SessionManager;
  sessionId: string;
  stream: SseStream;
  start: FeedStart;
  heartbeatMs: number;
}

/**
 * The seq a client's stream goes on after, in a log whose last seq is `lastSeq`. A Last-Event-ID past the end (a
 * log cut after a crash) restarts from the end: the client gets what exists.
 */
export function feedStartSeq(start: FeedStart, lastSeq: number): number {
  if ('lastEventId' in start) return Math.min(start.lastEventId, lastSeq);
  return 'tail' in start ? Math.max(0, lastSeq - start.tail) : lastSeq;
}

export function startSessionFeed(options: SessionFeedOptions): void {
  const { manager, sessionId, stream } = options;
  let runtime: SessionRuntime | null = null;
  let disk: SessionLogReader | null = null;
  let unsubscribe: (() => void) | null = null;
  let lastSent = 0;
  let replayEnd = 0;
  /** Live appends that came while the client was still replaying, in order. */
  let held: FrameChunk[] = [];
  let heldEvents = 0;
  let heldBytes = 0;

  /** The runtime we follow, while the manager still has it (a detached runtime's log is closed: never read it). */
  const following = (): SessionRuntime | null => {
    if (runtime && manager.get(sessionId) !== runtime) {
      unsubscribe?.();
      unsubscribe = null;
      runtime = null;
      // End, so that the client reconnects and gets the session as it is now (from disk, or live again).
      stream.close();
    }
    return runtime;
  };

  const readFrameChunk = (after: number, limit: number): FrameChunk | null => {
    const live = following();
    if (live) return live.readFrameChunk(after, limit);
    return disk && stream.open ? disk.readFrameChunk(after, limit) : null;
  };

  /** The frames of an append, which must follow what the client has (a gap-free log's appends always do). */
  const send = (chunk: FrameChunk): boolean => {
    if (chunk.first !== lastSent + 1) {
      // Cannot happen with a gap-free log; if it does, a reconnect replays from the file correctly.
      stream.drop(`events ${chunk.first}..${chunk.last} after ${lastSent}: out of order`);
      return false;
    }
    if (!stream.enqueueChunk(chunk.data, chunk.last - chunk.first + 1)) return false;
    lastSent = chunk.last;
    return true;
  };

  /** An append: its frames (one buffer, made once for every client) go out, or wait behind the replay. */
  const onLive = (_events: readonly OrchestratorEvent[], appended: Appended): void => {
    if (appended.last <= lastSent) return;
    const chunk = appended.frames();
    if (lastSent >= replayEnd && held.length === 0) {
      send(chunk);
      return;
    }
    const count = chunk.last - chunk.first + 1;
    if (!stream.fits(heldEvents + count, heldBytes + chunk.data.length)) {
      stream.drop('too many events waiting behind the replay for a slow client');
      return;
    }
    held.push(chunk);
    heldEvents += count;
    heldBytes += chunk.data.length;
  };

  /** Called by the stream when its queue is empty: the next replay batch, or what was held behind it. */
  const pump = (): void => {
    if (lastSent < replayEnd) {
      // Whole pages of frames, each one buffer (shared with every other client replaying the same events).
      for (let taken = 0; lastSent < replayEnd && taken < REPLAY_BATCH; ) {
        let chunk = readFrameChunk(lastSent, replayEnd - lastSent);
        if (chunk && !stream.fits(chunk.last - chunk.first + 1, chunk.data.length)) {
          // The replay is pulled: what does not fit now goes out once the client took what waits (never a drop).
          if (stream.queuedEvents > 0) return;
          // A page larger than the byte bound by itself (huge agent lines): one event at a time, which always fits.
          chunk = readFrameChunk(lastSent, 1);
        }
        if (!chunk) {
          replayEnd = lastSent;
          break;
        }
        const count = chunk.last - chunk.first + 1;
        if (chunk.first !== lastSent + 1 || chunk.last > replayEnd) {
          // Cannot happen with a gap-free log; if it does, a reconnect replays from the file correctly.
          stream.drop(`replay of ${chunk.first}..${chunk.last} after ${lastSent}: out of order`);
          return;
        }
        if (!stream.enqueueChunk(chunk.data, count)) return;
        lastSent = chunk.last;
        taken += count;
      }
      if (lastSent >= replayEnd && !runtime && disk) {
        // The on-disk replay is through: the file is not needed while waiting for a resume.
        disk.close();
        disk = null;
      }
      return;
    }
    if (held.length > 0) {
      const pending = held;
      held = [];
      heldEvents = 0;
      heldBytes = 0;
      for (const chunk of pending) if (!send(chunk)) return;
    }
  };

  const attach = (live: SessionRuntime): void => {
    if (!stream.open) return;
    unsubscribe?.();
    disk?.close();
    disk = null;
    runtime = live;
    unsubscribe = live.subscribe(onLive);
    // Everything up to here is in the file; everything after arrives through onLive.
    replayEnd = Math.max(replayEnd, live.lastSeq);
    held = [];
    heldEvents = 0;
    heldBytes = 0;
    stream.wake();
  };

  const current = manager.get(sessionId);
  const lastSeq = current ? current.lastSeq : openDisk();
  function openDisk(): number {
    disk = openSessionLog(manager.workspace, sessionId);
    return disk.lastSeq;
  }
  lastSent = feedStartSeq(options.start, lastSeq);
  replayEnd = lastSeq;

  const offCreated = manager.onCreated((created) => {
    if (created.sessionId === sessionId) attach(created);
  });
  if (current) attach(current);

  stream.onDemand = pump;
  stream.onEnd(() => {
    offCreated();
    unsubscribe?.();
    unsubscribe = null;
    disk?.close();
    disk = null;
    held = [];
  });
  // A detached runtime's listeners are gone: notice it at the next heartbeat at the latest.
  stream.startHeartbeat(options.heartbeatMs, following);
}
