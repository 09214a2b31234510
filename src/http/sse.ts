/**
 * One Server-Sent-Events stream with a bounded buffer, and the hub that ends them all when the server closes.
 *
 * On a Node server the stream writes to the response itself (`writeTo`): what is queued goes out at once until
 * the socket says it is full, then waits for its `drain`, so the socket's backpressure reaches us. Elsewhere (a
 * test's app.request) the body is a pull-based ReadableStream, read the same way. The bare write costs a tenth of
 * what the web stream did per chunk (a pull promise, a read promise and a result object for every event of every
 * client). What the client has not taken yet waits in our queue, which is bounded (events and bytes). Producers
 * (log listeners) only enqueue and return, so a slow client never slows the session; past the bound the client is
 * dropped (its connection destroyed) and it reconnects with its Last-Event-ID.
 */
import type { OrchestratorEvent } from '../domain/events.js';
import { frameHead } from '../runtime/session-folder.js';

export interface SseLimits {
  /** Events waiting for one client, at most. */
  maxEvents: number;
  /** Bytes waiting for one client, at most. */
  maxBytes: number;
}

export const DEFAULT_SSE_LIMITS: SseLimits = { maxEvents: 10_000, maxBytes: 8 * 1024 * 1024 };

/** Queued frames go out in chunks of about this size. */
const CHUNK_BYTES = 64 * 1024;

/**
 * `id: <seq>\nevent: <type>\ndata: <json>\n\n`, the text of one event's frame. JSON.stringify escapes newlines, so
 * data is one line. The server sends the same frames made from the log's bytes (src/store/frame-pages.ts).
 */
export function eventFrame(event: OrchestratorEvent): string {
  return `${frameHead(event.seq, event.type)}${JSON.stringify(event)}\n\n`;
}

/** A message without id (the snapshot): it must not move the client's Last-Event-ID. */
export function messageFrame(type: string, data: unknown): string {
  return `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}

export const HEARTBEAT_FRAME = ': ping\n\n';

interface Item {
  /** A frame as text, or frames already encoded (a replay page, shared by clients: never written into). */
  data: string | Uint8Array;
  bytes: number;
  /** Events in it (0 for a heartbeat or the snapshot). */
  events: number;
}

export interface SseStreamOptions {
  limits?: SseLimits;
  /** Ends the client's connection at once (the Node socket); without it the body stream errors. */
  abort?: () => void;
  /** Told why a client was dropped (for the server log). */
  onDrop?: (reason: string) => void;
}

/** The Node response a stream writes to (node:http's ServerResponse is one). */
export interface SseSink {
  /** Already gone (the client left before the stream began): it will not say `close` again. */
  readonly destroyed?: boolean;
  write(chunk: Uint8Array): boolean;
  end(): void;
  once(event: 'drain', listener: () => void): unknown;
  on(event: 'close' | 'error', listener: () => void): unknown;
}

export class SseStream {
  /** Called when the queue is empty and the client wants more: the producer may enqueue (replay) then. */
  onDemand: (() => void) | null = null;
  private readonly limits: SseLimits;
  private items: Item[] = [];
  private head = 0;
  private queuedBytes = 0;
  private queuedEventCount = 0;
  private state: 'open' | 'closing' | 'closed' = 'open';
  private controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  private waiting: (() => void) | null = null;
  private endListeners: Array<() => void> = [];
  private heartbeat: NodeJS.Timeout | null = null;
  private readonly encoder = new TextEncoder();
  private webBody: ReadableStream<Uint8Array> | null = null;
  private sink: SseSink | null = null;
  /** The sink said it is full: nothing is written until its `drain`. */
  private sinkFull = false;
  private flushing = false;
  private askScheduled = false;
  private dropReason: string | null = null;

  constructor(private readonly options: SseStreamOptions = {}) {
    this.limits = options.limits ?? DEFAULT_SSE_LIMITS;
  }

  /** The stream as a pull-based web body (for a response that is not written to a Node socket). */
  get body(): ReadableStream<Uint8Array> {
    this.webBody ??= new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
          // Asked for after the stream ended: a dropped one errors, as it would have while being read.
          if (this.state === 'closed') {
            if (this.dropReason) controller.error(new Error(this.dropReason));
            else controller.close();
          }
        },
        pull: () => this.pull(),
        cancel: () => this.finish(),
      },
      // No read-ahead inside the web stream: everything waiting is in our (bounded, counted) queue.
      { highWaterMark: 0 },
    );
    return this.webBody;
  }

  /** Write to a Node response from now on (its head already sent): what is queued, then everything that comes. */
  writeTo(sink: SseSink): void {
    this.sink = sink;
    sink.on('close', () => this.finish());
    sink.on('error', () => this.finish());
    if (sink.destroyed) this.finish();
    else this.flush(true);
  }

  get open(): boolean {
    return this.state === 'open';
  }

  get queuedEvents(): number {
    return this.queuedEventCount;
  }

  get bytesQueued(): number {
    return this.queuedBytes;
  }

  /** Would `events` more events of `bytes` more bytes still fit? */
  fits(events: number, bytes: number): boolean {
    // One frame larger than the byte bound alone (an 8 MiB agent line) must still go out, or the client is
    // dropped at that event on every reconnect and never gets past it.
    if (this.queuedEventCount === 0 && this.queuedBytes === 0 && events <= 1) return true;
    return this.queuedEventCount + events <= this.limits.maxEvents && this.queuedBytes + bytes <= this.limits.maxBytes;
  }

  /** Queue a frame; past the bound the client is dropped instead. Returns whether the frame was queued. */
  enqueue(text: string, isEvent: boolean, knownBytes?: number): boolean {
    return this.push(text, isEvent ? 1 : 0, knownBytes ?? Buffer.byteLength(text, 'utf8'));
  }

  /** Queue `events` frames already encoded (sent as they are); past the bound the client is dropped instead. */
  enqueueChunk(data: Uint8Array, events: number): boolean {
    return this.push(data, events, data.length);
  }

  private push(data: string | Uint8Array, events: number, bytes: number): boolean {
    if (this.state !== 'open') return false;
    if (!this.fits(events, bytes)) {
      this.drop(`more than ${this.limits.maxEvents} events or ${this.limits.maxBytes} bytes waiting for a slow client`);
      return false;
    }
    this.items.push({ data, bytes, events });
    this.queuedBytes += bytes;
    this.queuedEventCount += events;
    // Written at once, but the producer is never called back from inside its own enqueue.
    if (this.sink) this.flush(false);
    else this.wake();
    return true;
  }

  /** Let a waiting reader ask onDemand again (the producer has something new to offer). */
  wake(): void {
    if (this.sink) {
      this.flush(true);
      return;
    }
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.();
  }

  /** `: ping` every `ms` while nothing else is waiting to go out (keeps proxies and the browser patient). */
  startHeartbeat(ms: number, onTick?: () => void): void {
    if (this.heartbeat || this.state === 'closed') return;
    this.heartbeat = setInterval(() => {
      if (this.state !== 'open') return;
      if (this.isEmpty()) this.enqueue(HEARTBEAT_FRAME, false);
      onTick?.();
    }, ms);
    this.heartbeat.unref();
  }

  /** Runs once when the stream ends, however it ends (closed, dropped, client gone). */
  onEnd(listener: () => void): void {
    if (this.state !== 'open') listener();
    else this.endListeners.push(listener);
  }

  /** End gracefully: what is queued still goes out, then the response ends. */
  close(): void {
    if (this.state !== 'open') return;
    this.state = 'closing';
    this.stopProducing();
    this.wake();
  }

  /** End at once: forget the queue and cut the connection (the client reconnects with its Last-Event-ID). */
  drop(reason: string): void {
    if (this.state === 'closed') return;
    this.dropReason = reason;
    this.options.onDrop?.(reason);
    this.finish();
    if (this.options.abort) {
      // Destroying the socket cancels the body (node-server listens for 'close'), which settles a pending read.
      this.options.abort();
      return;
    }
    try {
      this.controller?.error(new Error(reason));
    } catch {
      // already closed or cancelled
    }
  }

  /**
   * Write what waits until the sink is full; end it once closing and empty. When nothing waits, onDemand is asked
   * (`ask`), or a microtask asks it once the producer that enqueued has returned.
   */
  private flush(ask: boolean): void {
    const sink = this.sink;
    // A producer that enqueues from inside onDemand comes back here: the loop below takes it.
    if (!sink || this.sinkFull || this.flushing) return;
    this.flushing = true;
    try {
      while (this.state !== 'closed') {
        if (this.isEmpty() && this.state === 'open') {
          if (!ask) {
            this.askSoon();
            return;
          }
          if (!this.demand()) return;
        }
        if (this.isEmpty()) {
          if (this.state === 'closing') {
            sink.end();
            this.finish();
          }
          return;
        }
        // A full sink still takes its end: only more frames wait for the drain.
        if (!sink.write(this.take()) && !(this.isEmpty() && this.state === 'closing')) {
          this.sinkFull = true;
          sink.once('drain', () => {
            this.sinkFull = false;
            this.flush(true);
          });
          return;
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /**
   * Ask the producer for more. One that throws (its log closed under it, a read failing) ends this client's stream:
   * written to a socket, nothing above would catch it, and the server would go down.
   */
  private demand(): boolean {
    try {
      this.onDemand?.();
      return true;
    } catch (error) {
      this.drop(`the stream's producer failed: ${(error as Error).message}`);
      return false;
    }
  }

  private askSoon(): void {
    if (this.askScheduled) return;
    this.askScheduled = true;
    queueMicrotask(() => {
      this.askScheduled = false;
      this.flush(true);
    });
  }

  private async pull(): Promise<void> {
    for (;;) {
      if (this.state === 'closed') return;
      if (this.isEmpty() && this.state === 'open' && !this.demand()) return;
      if (!this.isEmpty()) {
        this.controller?.enqueue(this.take());
        return;
      }
      if (this.state === 'closing') {
        try {
          this.controller?.close();
        } catch {
          // cancelled meanwhile
        }
        this.finish();
        return;
      }
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
      });
    }
  }

  private isEmpty(): boolean {
    return this.head >= this.items.length;
  }

  /** The next chunk to write: an encoded item as it is, or queued text frames joined up to about CHUNK_BYTES. */
  private take(): Uint8Array {
    const first = this.items[this.head]!;
    let chunk: Uint8Array;
    if (typeof first.data !== 'string') {
      this.consume(first);
      chunk = first.data;
    } else {
      const parts: string[] = [];
      let size = 0;
      for (let item = first; typeof item?.data === 'string' && (size === 0 || size + item.bytes <= CHUNK_BYTES); ) {
        parts.push(item.data);
        size += item.bytes;
        this.consume(item);
        item = this.items[this.head]!;
      }
      chunk = this.encoder.encode(parts.join(''));
    }
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return chunk;
  }

  private consume(item: Item): void {
    this.head++;
    this.queuedBytes -= item.bytes;
    this.queuedEventCount -= item.events;
  }

  private stopProducing(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    this.onDemand = null;
    const listeners = this.endListeners;
    this.endListeners = [];
    for (const listener of listeners) {
      try {
        listener();
      } catch {
        // cleanup must not stop other cleanups
      }
    }
  }

  private finish(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.items = [];
    this.head = 0;
    this.queuedBytes = 0;
    this.queuedEventCount = 0;
    this.stopProducing();
    this.wake();
  }
}

/** Every open stream of a server, so that closing the server can end them (else server.close() never returns). */
export class SseHub {
  private streams = new Set<SseStream>();

  add(stream: SseStream): void {
    this.streams.add(stream);
    stream.onEnd(() => this.streams.delete(stream));
  }

  get size(): number {
    return this.streams.size;
  }

  closeAll(): void {
    for (const stream of [...this.streams]) stream.close();
  }
}
