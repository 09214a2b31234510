/**
 * The session's append-only event log: `events.jsonl`, one event a line, `seq` 1, 2, 3 ... with no gap.
 *
 * An event is written to the file (one write call per batch, straight to the kernel) before any listener
 * hears of it, so a subscriber never sees an event that a crash could lose. A torn last line (the process
 * died mid-write) is cut off when the log is opened. An in-memory index of line offsets makes replay from
 * any seq (SSE Last-Event-ID) a seek, not a scan.
 */
import { closeSync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import type { NewEvent, OrchestratorEvent } from '../domain/events.js';
import { FRAME_PAGE, type FrameChunk, FramePageCache, framesOf } from './frame-pages.js';

export type { FrameChunk } from './frame-pages.js';

/**
 * What one append wrote, for its listeners: the seqs, and the SSE frames of its events made from the bytes written
 * (the same buffer for every listener that asks; never write into it).
 */
export interface Appended {
  first: number;
  last: number;
  frames(): FrameChunk;
}

export type EventListener = (events: readonly OrchestratorEvent[], appended: Appended) => void;

/** A line of the log as it was written: its seq, its event's type and its JSON text. */
export interface LogLine {
  seq: number;
  type: string;
  line: string;
}

export interface OpenedLog {
  log: EventLog;
  /** Bytes cut from the end because the last line was torn. */
  repairedBytes: number;
}

const READ_CHUNK = 1 << 20;
/** The bytes of one append are written into a buffer kept between appends (grown when a batch needs more). */
const SCRATCH_BYTES = 1 << 20;
/** A buffer grown past this for a batch of huge lines is let go after it (the next append starts small again). */
const SCRATCH_KEEP_BYTES = 4 << 20;

export class EventLog {
  private fd: number;
  private size: number;
  /** offsets[i] = byte offset of the line holding seq i + 1. */
  private offsets: number[] = [];
  /** types[i] = the type of seq i + 1 (interned strings: a pointer each), so a replay needs no JSON.parse. */
  private types: string[] = [];
  private listeners = new Set<EventListener>();
  /** Complete pages of SSE frames, shared by every replaying client. */
  private pages = new FramePageCache();
  /** Made at the first append (a read-only log never has one). */
  private scratch: Buffer | null = null;
  /** Listeners being told of an append: an append they make meanwhile must not write over its bytes. */
  private telling = 0;
  private closed = false;

  private constructor(
    readonly path: string,
    readonly sessionId: string,
    fd: number,
    size: number,
    readonly readOnly: boolean,
  ) {
    this.fd = fd;
    this.size = size;
  }

  /** Open (or create) a log for appending; cut a torn last line; index the offsets of every event. */
  static open(path: string, sessionId: string, onEvent?: (event: OrchestratorEvent) => void): OpenedLog {
    const fd = openSync(path, 'a+');
    const log = new EventLog(path, sessionId, fd, fstatSync(fd).size, false);
    const repairedBytes = log.index(onEvent);
    return { log, repairedBytes };
  }

  /**
   * Open a log only to read it: never truncates (another process may be appending right now; a torn last
   * line is then just a line being written) and refuses to append.
   */
  static openReadOnly(path: string, sessionId: string): EventLog {
    const fd = openSync(path, 'r');
    const log = new EventLog(path, sessionId, fd, fstatSync(fd).size, true);
    log.index();
    return log;
  }

  /** The seq of the last complete event of a log file, read from its tail only (cheap for huge logs). */
  static lastSeqOf(path: string): number {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return 0;
    }
    try {
      const size = fstatSync(fd).size;
      for (let window = 64 * 1024; ; window *= 4) {
        const start = Math.max(0, size - window);
        const buffer = Buffer.alloc(size - start);
        readSync(fd, buffer, 0, buffer.length, start);
        const lines = buffer.toString('utf8').split('\n');
        // The last element is a torn line or '' after the final newline; before it, the last complete ones.
        for (let i = lines.length - 2; i >= (start === 0 ? 0 : 1); i--) {
          const event = parseLogLine(lines[i] as string);
          if (event) return event.seq;
        }
        if (start === 0) return 0;
      }
    } finally {
      closeSync(fd);
    }
  }

  get lastSeq(): number {
    return this.offsets.length;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Stamp events with seq, sessionId and ts, write them in one call, then tell the listeners. Each event is
   * serialized once and its UTF-8 written straight into one buffer (joining the lines into one string and encoding
   * that costs ten times more as soon as one line is not ASCII): the file gets those bytes, and so do the SSE frames.
   */
  append(events: readonly NewEvent[]): OrchestratorEvent[] {
    if (events.length === 0) return [];
    if (this.closed) throw new Error(`event log ${this.path} is closed; the session has ended`);
    if (this.readOnly) throw new Error(`event log ${this.path} was opened read-only`);
    const now = new Date().toISOString();
    const first = this.offsets.length + 1;
    const nested = this.telling > 0;
    let buffer = (!nested && this.scratch) || Buffer.allocUnsafe(SCRATCH_BYTES);
    const stamped: OrchestratorEvent[] = [];
    const starts: number[] = [];
    let at = 0;
    for (const event of events) {
      // seq/ts/sessionId first in the line: easier to read by eye and by `grep` (a key spread again keeps its place).
      const full = { seq: first + stamped.length, ts: now, sessionId: this.sessionId, ...event } as OrchestratorEvent;
      if (full.ts === undefined) full.ts = now;
      const json = JSON.stringify(full);
      // A UTF-16 unit is at most 3 bytes of UTF-8.
      const needed = at + json.length * 3 + 1;
      if (needed > buffer.length) {
        const grown = Buffer.allocUnsafe(Math.max(needed, buffer.length * 2));
        buffer.copy(grown, 0, 0, at);
        buffer = grown;
      }
      starts.push(at);
      at += buffer.write(json, at);
      buffer[at++] = 0x0a;
      stamped.push(full);
    }
    let written = 0;
    while (written < at) written += writeSync(this.fd, buffer, written, at - written);
    for (const [i, start] of starts.entries()) {
      this.offsets.push(this.size + start);
      this.types.push((stamped[i] as OrchestratorEvent).type);
    }
    this.size += at;
    if (!nested) this.scratch = buffer.length <= SCRATCH_KEEP_BYTES ? buffer : null;
    this.tell(stamped, buffer, at);
    return stamped;
  }

  /**
   * The listeners, each in turn; the frames are made once, from the bytes just written (`buffer`), if one asks for
   * them while they are told; after that the buffer is the next append's, and the frames are read from the file.
   */
  private tell(stamped: OrchestratorEvent[], buffer: Buffer, bytes: number): void {
    if (this.listeners.size === 0) return;
    const first = (stamped[0] as OrchestratorEvent).seq;
    let frames: FrameChunk | null = null;
    let told = false;
    const last = first + stamped.length - 1;
    const appended: Appended = {
      first,
      last,
      frames: () => {
        frames ??= told ? this.framesAfter(first - 1, stamped.length) : framesOf(buffer, bytes, first, this.types);
        if (!frames) throw new Error(`event log ${this.path}: events ${first}..${last} are not in the file`);
        return frames;
      },
    };
    this.telling++;
    try {
      for (const listener of this.listeners) {
        try {
          listener(stamped, appended);
        } catch {
          // A broken listener (a dropped SSE client) must never stop the session.
        }
      }
    } finally {
      this.telling--;
      told = true;
    }
  }

  /** Live events after this call; returns the unsubscribe function. */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Events with seq > afterSeq, at most `limit`, read from the file (for replay). */
  readAfter(afterSeq: number, limit = Number.POSITIVE_INFINITY): OrchestratorEvent[] {
    const range = this.readRange(afterSeq, limit);
    if (!range) return [];
    const text = range.buffer.toString('utf8', 0, range.read);
    const events: OrchestratorEvent[] = [];
    for (const line of text.split('\n')) {
      if (!line) continue;
      events.push(JSON.parse(line) as OrchestratorEvent);
    }
    return events;
  }

  /** The lines with seq > afterSeq, at most `limit`, as in the file (no JSON.parse): what replication sends. */
  readLinesAfter(afterSeq: number, limit = Number.POSITIVE_INFINITY): LogLine[] {
    const range = this.readRange(afterSeq, limit);
    if (!range) return [];
    const lines = range.buffer.toString('utf8', 0, range.read).split('\n');
    lines.pop(); // after the last newline
    return lines.map((line, i) => ({ seq: range.first + i + 1, type: this.types[range.first + i] as string, line }));
  }

  /**
   * SSE frames of the events with seq > afterSeq, at most `limit`, never past the end of afterSeq's page
   * (FRAME_PAGE events), in one buffer made from the file's bytes: a replay costs a read and a copy, not a
   * JSON.parse + JSON.stringify per event, and a complete page is framed once for every client (cached).
   */
  readFrameChunk(afterSeq: number, limit = Number.POSITIVE_INFINITY): FrameChunk | null {
    const after = Math.max(0, afterSeq);
    const pageEnd = (Math.floor(after / FRAME_PAGE) + 1) * FRAME_PAGE;
    const whole = after % FRAME_PAGE === 0 && pageEnd <= this.offsets.length && limit >= FRAME_PAGE;
    const cached = whole ? this.pages.get(after) : undefined;
    if (cached) return { first: after + 1, last: pageEnd, data: cached };
    const chunk = this.framesAfter(after, Math.min(limit, pageEnd - after));
    if (whole && chunk?.last === pageEnd) this.pages.set(after, chunk.data);
    return chunk;
  }

  /** SSE frames of at most `limit` events after `afterSeq`, read from the file into one chunk; null if none. */
  private framesAfter(afterSeq: number, limit: number): FrameChunk | null {
    const range = this.readRange(afterSeq, limit);
    return range && framesOf(range.buffer, range.read, afterSeq + 1, this.types);
  }

  /** The bytes of the lines of seq first+1 .. last (first = afterSeq), or null when there are none. */
  private readRange(
    afterSeq: number,
    limit: number,
  ): { first: number; last: number; buffer: Buffer; read: number } | null {
    // After close the fd number may belong to another file: never read through it.
    if (this.closed) throw new Error(`event log ${this.path} is closed`);
    const first = Math.max(0, afterSeq);
    if (first >= this.offsets.length) return null;
    const last = Math.min(this.offsets.length, first + limit);
    const start = this.offsets[first] as number;
    const end = last < this.offsets.length ? (this.offsets[last] as number) : this.size;
    const buffer = Buffer.alloc(end - start);
    let read = 0;
    while (read < buffer.length) {
      const n = readSync(this.fd, buffer, read, buffer.length - read, start + read);
      if (n === 0) break;
      read += n;
    }
    return { first, last, buffer, read };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    closeSync(this.fd);
  }

  private index(onEvent?: (event: OrchestratorEvent) => void): number {
    // Lines are found with indexOf (native), decoded one at a time; a line cut by the end of a read is moved to
    // the front of the buffer and completed by the next read (the buffer grows for a line longer than itself).
    let chunk = Buffer.alloc(READ_CHUNK);
    let position = 0; // the file offset of chunk[0]
    let carried = 0; // bytes of an unfinished line at the front of chunk
    let lastGood = 0;
    while (position + carried < this.size) {
      if (carried === chunk.length) chunk = Buffer.concat([chunk, Buffer.alloc(chunk.length)]);
      const want = Math.min(chunk.length - carried, this.size - position - carried);
      const n = readSync(this.fd, chunk, carried, want, position + carried);
      if (n === 0) break;
      const end = carried + n;
      let from = 0;
      for (let nl = chunk.indexOf(0x0a, from); nl !== -1 && nl < end; nl = chunk.indexOf(0x0a, from)) {
        const event = parseLogLine(chunk.toString('utf8', from, nl));
        if (!event || event.seq !== this.offsets.length + 1) {
          // A line that does not parse, or a seq out of order, can only come from a torn or foreign write:
          // keep everything before it and cut the rest, so seq stays gap-free.
          return this.readOnly ? this.ignoreFrom(lastGood) : this.cutAt(lastGood);
        }
        this.offsets.push(position + from);
        this.types.push(event.type);
        onEvent?.(event);
        from = nl + 1;
        lastGood = position + from;
      }
      chunk.copy(chunk, 0, from, end);
      position += from;
      carried = end - from;
    }
    return this.readOnly ? this.ignoreFrom(lastGood) : this.cutAt(lastGood);
  }

  /** Read-only: what follows the last good line is not ours to repair; just do not read it. */
  private ignoreFrom(offset: number): number {
    const ignored = this.size - offset;
    this.size = offset;
    return ignored;
  }

  private cutAt(offset: number): number {
    const cut = this.size - offset;
    if (cut > 0) {
      ftruncateSync(this.fd, offset);
      this.size = offset;
    }
    return cut;
  }
}

function parseLogLine(line: string): OrchestratorEvent | null {
  try {
    const value = JSON.parse(line) as OrchestratorEvent;
    return typeof value === 'object' && value !== null && typeof value.seq === 'number' ? value : null;
  } catch {
    return null;
  }
}
