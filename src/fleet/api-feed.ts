/**
 * SSE of a fleet session from any API node: the replay the client asked for (Last-Event-ID), then live events,
 * read from the `events` table. One LISTEN connection per node wakes the feeds of a session when an append of it
 * commits; a feed then reads from its own last seq, so a missed notification only delays, and the heartbeat's
 * read catches up even then. Events go out in seq order, each once: `id: <seq>`, `event: <type>`, `data: <the
 * log's own JSON line>`, exactly as a local server sends them.
 */
import type { SseStream } from '../http/sse.js';
import { frameHead } from '../runtime/session-folder.js';
import type { EventsListener, FleetStore } from './pg-store.js';

/** Rows read per step of a feed (the client takes them before the next step is read). */
const READ_BATCH = 512;

interface Feed {
  stream: SseStream;
  lastSent: number;
  /** The highest seq known to be in the table (from a notification, or the feed's own reads). */
  known: number;
  reading: boolean;
  /** Woken while a read was under way: that read may have missed what woke it, so read again. */
  woken: boolean;
}

export class FleetFeeds {
  private readonly feeds = new Map<string, Set<Feed>>();
  private listener: EventsListener | null = null;

  constructor(
    private readonly store: FleetStore,
    private readonly onError: (message: string) => void = () => undefined,
  ) {}

  /** Start listening for appends (one connection for every feed of this node). */
  async open(): Promise<void> {
    this.listener = await this.store.listen((sessionId, lastSeq) => {
      for (const feed of this.feeds.get(sessionId) ?? []) {
        feed.known = Math.max(feed.known, lastSeq);
        feed.woken = feed.reading;
        this.pump(sessionId, feed);
      }
    });
  }

  async close(): Promise<void> {
    await this.listener?.close();
    this.listener = null;
  }

  /** Feed `stream` the session's events after `after`, then its live ones, until the stream ends. */
  follow(sessionId: string, stream: SseStream, after: number, lastSeq: number, heartbeatMs: number): void {
    const feed: Feed = { stream, lastSent: Math.min(after, lastSeq), known: lastSeq, reading: false, woken: false };
    let set = this.feeds.get(sessionId);
    if (!set) this.feeds.set(sessionId, (set = new Set()));
    set.add(feed);
    stream.onDemand = () => this.pump(sessionId, feed);
    stream.onEnd(() => {
      set.delete(feed);
      if (set.size === 0 && this.feeds.get(sessionId) === set) this.feeds.delete(sessionId);
    });
    // Each heartbeat also looks: a notification lost with a dropped LISTEN connection delays, never loses.
    stream.startHeartbeat(heartbeatMs, () => {
      feed.known = Math.max(feed.known, feed.lastSent + 1);
      feed.woken = feed.reading;
      this.pump(sessionId, feed);
    });
    this.pump(sessionId, feed);
  }

  /** Read and queue what the client has room for; one read at a time per feed. */
  private pump(sessionId: string, feed: Feed): void {
    if (feed.reading || !feed.stream.open || feed.lastSent >= feed.known) return;
    if (feed.stream.queuedEvents > 0) return; // its onDemand asks again once the client took what waits
    feed.reading = true;
    this.store
      .readAfter(sessionId, feed.lastSent, READ_BATCH)
      .then((lines) => {
        feed.reading = false;
        const woken = feed.woken;
        feed.woken = false;
        if (lines.length === 0) {
          // Nothing after lastSent yet; unless a wake-up came during the read, which it may have missed.
          if (woken) this.pump(sessionId, feed);
          else feed.known = feed.lastSent;
          return;
        }
        for (const line of lines) {
          if (line.seq !== feed.lastSent + 1) {
            feed.stream.drop(`event ${line.seq} after ${feed.lastSent}: out of order`);
            return;
          }
          const frame = `${frameHead(line.seq, line.type)}${line.line}\n\n`;
          const bytes = Buffer.byteLength(frame, 'utf8');
          // The rest waits for the client (onDemand reads it again): a slow client is paced, never dropped.
          if (!feed.stream.fits(1, bytes)) break;
          if (!feed.stream.enqueue(frame, true, bytes)) return;
          feed.lastSent = line.seq;
        }
        feed.known = Math.max(feed.known, feed.lastSent);
        feed.stream.wake();
      })
      .catch((error: unknown) => {
        feed.reading = false;
        this.onError(`reading the events of ${sessionId}: ${(error as Error).message}`);
      });
  }
}
