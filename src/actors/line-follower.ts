/**
 * Follow a file another process appends to, by byte offset, woken by file-change notification (inotify via
 * fs.watch): no polling interval. Emits complete lines with the offset just past each one, so a reader that
 * restarts can continue exactly after the last line it handled. A line longer than `maxLineBytes` is not
 * kept in memory: its head is kept and the rest counted, and it is emitted as an oversize line.
 */
import { closeSync, fstatSync, openSync, readSync, watch, type FSWatcher } from 'node:fs';

export interface FollowedLine {
  text: string;
  /** Byte offset just past the line's newline (or past its last byte for a final line without one). */
  end: number;
  /** Set when the line was longer than maxLineBytes: its full length in bytes; `text` is then only its head. */
  oversizeBytes?: number;
}

export interface LineFollowerOptions {
  maxLineBytes?: number;
  /** How much to read before yielding to the event loop. */
  readBudgetBytes?: number;
  /** At most this many lines per onLines call; the rest follow after a turn of the event loop. */
  maxLinesPerBatch?: number;
  onLines: (lines: FollowedLine[]) => void;
  onError?: (error: Error) => void;
}

const DEFAULT_MAX_LINE = 8 << 20;
const HEAD_BYTES = 4096;
const CHUNK = 1 << 20;
/**
 * A burst (an agent dumping a large file) must not reach the listeners as one append: the SSE fan-out bounds
 * what waits for each client (10,000 events), and one append bigger than that drops every client, fast ones
 * included. Between two batches the event loop runs, so the sockets drain.
 */
const MAX_LINES_PER_BATCH = 1000;

export class LineFollower {
  private fd: number | null = null;
  private watcher: FSWatcher | null = null;
  private offset: number;
  /** Bytes of the current unfinished line. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** While skipping an oversize line: its head and total length so far. */
  private oversize: { head: Buffer; bytes: number } | null = null;
  private scheduled = false;
  private stopped = false;
  private readonly buffer = Buffer.alloc(CHUNK);
  private readonly maxLineBytes: number;
  private readonly readBudget: number;
  private readonly maxLines: number;
  /** Lines read but not yet handed over (a burst is handed over in batches). */
  private backlog: FollowedLine[] = [];
  /** End of the last line handed over. */
  private handedEnd: number;

  constructor(
    readonly path: string,
    startOffset: number,
    private readonly options: LineFollowerOptions,
  ) {
    this.offset = startOffset;
    this.handedEnd = startOffset;
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE;
    this.readBudget = options.readBudgetBytes ?? 8 * CHUNK;
    this.maxLines = options.maxLinesPerBatch ?? MAX_LINES_PER_BATCH;
  }

  /** Offset of the start of the first line not handed over yet: where a restarted follower must begin. */
  get committedOffset(): number {
    if (this.backlog.length > 0) return this.handedEnd;
    return this.offset - this.pendingBytes - (this.oversize?.bytes ?? 0);
  }

  start(): void {
    this.fd = openSync(this.path, 'r');
    // Watch first, then read: a write between the two is then never missed.
    this.watcher = watch(this.path, { persistent: false }, () => this.schedule());
    this.watcher.on('error', (error) => this.options.onError?.(error));
    this.drain();
  }

  /** Read everything available now (also called by the owner when it knows the writer ended). */
  drain(): void {
    if (this.fd === null || this.stopped) return;
    if (this.backlog.length > 0) {
      this.handOver();
      // Backlog done: read on (the file may have grown meanwhile, or hold more than one read budget).
      if (this.backlog.length === 0) this.schedule();
      return;
    }
    let budget = this.readBudget;
    const size = fstatSync(this.fd).size;
    const lines: FollowedLine[] = [];
    while (this.offset < size && budget > 0) {
      const n = readSync(this.fd, this.buffer, 0, Math.min(CHUNK, size - this.offset), this.offset);
      if (n === 0) break;
      this.consume(this.buffer.subarray(0, n), this.offset, lines);
      this.offset += n;
      budget -= n;
    }
    this.backlog = lines;
    this.handOver();
    if (this.offset < size) this.schedule();
  }

  /** The next batch of the backlog; the rest after the event loop had a turn. */
  private handOver(): void {
    if (this.backlog.length === 0) return;
    const batch = this.backlog.length <= this.maxLines ? this.backlog : this.backlog.slice(0, this.maxLines);
    this.backlog = batch === this.backlog ? [] : this.backlog.slice(this.maxLines);
    this.handedEnd = (batch[batch.length - 1] as FollowedLine).end;
    this.options.onLines(batch);
    if (this.backlog.length > 0) this.schedule();
  }

  /**
   * The writer has ended: read to the end and emit a last line that has no newline. A long backlog (an agent that
   * wrote a lot just before it ended) goes over in batches with a turn of the event loop after each, as while it
   * ran: the SSE clients, the API and the timers keep going meanwhile instead of waiting seconds for one loop.
   */
  async finish(): Promise<void> {
    for (;;) {
      if (this.fd === null || this.stopped) return;
      if (this.offset >= fstatSync(this.fd).size && this.backlog.length === 0) break;
      this.drain();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const lines: FollowedLine[] = [];
    if (this.oversize) {
      lines.push({ text: this.oversize.head.toString('utf8'), end: this.offset, oversizeBytes: this.oversize.bytes });
      this.oversize = null;
    } else if (this.pendingBytes > 0) {
      lines.push({ text: Buffer.concat(this.pending).toString('utf8'), end: this.offset });
    }
    this.pending = [];
    this.pendingBytes = 0;
    if (lines.length > 0) this.options.onLines(lines);
  }

  stop(): void {
    this.stopped = true;
    this.watcher?.close();
    this.watcher = null;
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      try {
        this.drain();
      } catch (error) {
        this.options.onError?.(error as Error);
      }
    });
  }

  private consume(chunk: Buffer, chunkStart: number, out: FollowedLine[]): void {
    let from = 0;
    for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, from)) {
      const piece = chunk.subarray(from, i);
      const end = chunkStart + i + 1;
      if (this.oversize) {
        out.push({ text: this.oversize.head.toString('utf8'), end, oversizeBytes: this.oversize.bytes + piece.length });
        this.oversize = null;
      } else if (this.pendingBytes + piece.length > this.maxLineBytes) {
        out.push({ text: this.headOf(piece).toString('utf8'), end, oversizeBytes: this.pendingBytes + piece.length });
      } else {
        const line = this.pendingBytes === 0 ? piece : Buffer.concat([...this.pending, piece]);
        out.push({ text: stripCr(line.toString('utf8')), end });
      }
      this.pending = [];
      this.pendingBytes = 0;
      from = i + 1;
    }
    if (from < chunk.length) this.keep(chunk.subarray(from));
  }

  private keep(piece: Buffer): void {
    if (this.oversize) {
      this.oversize.bytes += piece.length;
      return;
    }
    if (this.pendingBytes + piece.length > this.maxLineBytes) {
      this.oversize = { head: this.headOf(piece), bytes: this.pendingBytes + piece.length };
      this.pending = [];
      this.pendingBytes = 0;
      return;
    }
    // Copy: the read buffer is reused.
    this.pending.push(Buffer.from(piece));
    this.pendingBytes += piece.length;
  }

  private headOf(piece: Buffer): Buffer {
    const joined = this.pendingBytes > 0 ? Buffer.concat([...this.pending, piece.subarray(0, HEAD_BYTES)]) : piece;
    return Buffer.from(joined.subarray(0, HEAD_BYTES));
  }
}

function stripCr(text: string): string {
  return text.endsWith('\r') ? text.slice(0, -1) : text;
}
