import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { OrchestratorEvent } from '../../src/domain/events.js';
import {
  DEFAULT_SSE_LIMITS,
  eventFrame,
  HEARTBEAT_FRAME,
  messageFrame,
  SseHub,
  SseStream,
} from '../../src/http/sse.js';

const decoder = new TextDecoder();
const event = (seq: number): OrchestratorEvent => ({
  seq,
  ts: '2026-01-01T00:00:00.000Z',
  sessionId: 'orch_20260101_000000_abcd',
  source: { kind: 'safety', id: 't' },
  type: 'safety',
  rule: 'r',
  subject: 'line one\nline two',
  action: 'log',
  detail: '',
});

async function readAll(stream: SseStream): Promise<string> {
  let text = '';
  const reader = stream.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text;
    text += decoder.decode(value);
  }
}

describe('frames', () => {
  it('an event: id, event, one data line (newlines in the JSON are escaped), blank line', () => {
    const frame = eventFrame(event(7));
    expect(frame).toBe(`id: 7\nevent: safety\ndata: ${JSON.stringify(event(7))}\n\n`);
    expect(frame.split('\n')).toHaveLength(5);
  });

  it('a message without id; a comment for the heartbeat', () => {
    expect(messageFrame('snapshot', { a: 1 })).toBe('event: snapshot\ndata: {"a":1}\n\n');
    expect(HEARTBEAT_FRAME).toBe(': ping\n\n');
  });
});

describe('SseStream', () => {
  it('hands out what was queued, in order, and ends after close()', async () => {
    const stream = new SseStream();
    stream.enqueue('a\n\n', false);
    stream.enqueue(eventFrame(event(1)), true);
    expect(stream.queuedEvents).toBe(1);
    stream.close();
    expect(stream.enqueue('late\n\n', false)).toBe(false);
    expect(await readAll(stream)).toBe(`a\n\n${eventFrame(event(1))}`);
  });

  it('asks the producer (onDemand) only when its queue is empty', async () => {
    const stream = new SseStream();
    let asked = 0;
    stream.onDemand = () => {
      asked++;
      if (asked <= 3) stream.enqueue(`${asked}\n\n`, false);
      else stream.close();
    };
    expect(await readAll(stream)).toBe('1\n\n2\n\n3\n\n');
  });

  it('holds 10 000 events for a client that does not read, and drops it at the next one', () => {
    expect(DEFAULT_SSE_LIMITS).toEqual({ maxEvents: 10_000, maxBytes: 8 * 1024 * 1024 });
    const reasons: string[] = [];
    let aborted = 0;
    const stream = new SseStream({ onDrop: (r) => reasons.push(r), abort: () => aborted++ });
    const ended: string[] = [];
    stream.onEnd(() => ended.push('end'));
    for (let i = 1; i <= 10_000; i++) expect(stream.enqueue(eventFrame(event(i)), true)).toBe(true);
    expect(stream.enqueue(eventFrame(event(10_001)), true)).toBe(false);
    expect(reasons).toEqual(['more than 10000 events or 8388608 bytes waiting for a slow client']);
    expect(aborted).toBe(1);
    expect(ended).toEqual(['end']);
    expect(stream.queuedEvents).toBe(0);
    expect(stream.open).toBe(false);
  });

  it('drops past the byte bound too, and errors the body when there is no socket to cut', async () => {
    const stream = new SseStream({ limits: { maxEvents: 100, maxBytes: 1000 } });
    expect(stream.enqueue('x'.repeat(600), false)).toBe(true);
    expect(stream.enqueue('x'.repeat(600), false)).toBe(false);
    await expect(readAll(stream)).rejects.toThrow(/waiting for a slow client/);
  });

  it('sends a heartbeat comment while idle', async () => {
    const stream = new SseStream();
    stream.startHeartbeat(10);
    const reader = stream.body.getReader();
    const { value } = await reader.read();
    expect(decoder.decode(value)).toBe(HEARTBEAT_FRAME);
    await reader.cancel();
    expect(stream.open).toBe(false);
  });

  it('coalesces queued frames into chunks of about 64 KiB', async () => {
    const stream = new SseStream();
    for (let i = 0; i < 100; i++) stream.enqueue(`${'y'.repeat(2000)}\n\n`, false);
    stream.close();
    const reader = stream.body.getReader();
    const sizes: number[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      sizes.push(value.byteLength);
    }
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(200_200);
    expect(sizes.length).toBeLessThan(10);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(64 * 1024);
  });
});

describe('SseStream chunks (replay pages)', () => {
  it('sends an encoded chunk as it is, between text frames, counting its events', async () => {
    const stream = new SseStream();
    const page = Buffer.from(`${eventFrame(event(2))}${eventFrame(event(3))}`);
    stream.enqueue(eventFrame(event(1)), true);
    expect(stream.enqueueChunk(page, 2)).toBe(true);
    stream.enqueue(eventFrame(event(4)), true);
    expect(stream.queuedEvents).toBe(4);
    expect(stream.bytesQueued).toBe(Buffer.byteLength(eventFrame(event(1))) * 2 + page.length);
    stream.close();
    const reader = stream.body.getReader();
    const chunks: Uint8Array[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
    }
    // The page is the very buffer queued (shared by every client replaying it: no copy).
    expect(chunks).toHaveLength(3);
    expect(chunks[1]).toBe(page);
    expect(chunks.map((c) => decoder.decode(c)).join('')).toBe([1, 2, 3, 4].map((n) => eventFrame(event(n))).join(''));
  });

  it('a chunk counts against both bounds: past them the client is dropped', () => {
    const reasons: string[] = [];
    const stream = new SseStream({ limits: { maxEvents: 10, maxBytes: 1000 }, onDrop: (r) => reasons.push(r) });
    expect(stream.fits(10, 1000)).toBe(true);
    expect(stream.enqueueChunk(Buffer.alloc(100), 8)).toBe(true);
    expect(stream.fits(3, 10)).toBe(false);
    expect(stream.enqueueChunk(Buffer.alloc(100), 3)).toBe(false);
    expect(reasons).toHaveLength(1);
    expect(stream.open).toBe(false);
  });
});

describe('SseHub', () => {
  it('closes every open stream and forgets ended ones', async () => {
    const hub = new SseHub();
    const a = new SseStream();
    const b = new SseStream();
    hub.add(a);
    hub.add(b);
    expect(hub.size).toBe(2);
    hub.closeAll();
    expect(hub.size).toBe(0);
    expect(await readAll(a)).toBe('');
  });
});

/** A Node response stand-in: takes `room` bytes, then says it is full until drain() (as a socket's buffer does). */
class FakeSink extends EventEmitter {
  written: string[] = [];
  ended = 0;
  private buffered = 0;
  constructor(private readonly room: number) {
    super();
  }
  write(chunk: Uint8Array): boolean {
    this.written.push(decoder.decode(chunk));
    this.buffered += chunk.length;
    return this.buffered < this.room;
  }
  end(): void {
    this.ended++;
  }
  drain(): void {
    this.buffered = 0;
    this.emit('drain');
  }
}

describe('SseStream written to a Node response', () => {
  it('writes what waits and what comes at once, stops when the sink is full and goes on at its drain', () => {
    const stream = new SseStream();
    const sink = new FakeSink(250);
    let asked = 0;
    stream.enqueue(eventFrame(event(1)), true);
    stream.writeTo(sink);
    expect(sink.written).toEqual([eventFrame(event(1))]);
    stream.enqueue(eventFrame(event(2)), true);
    // Full now (two frames of ~190 bytes): the third waits in the queue, and nothing is asked of the producer.
    stream.onDemand = () => asked++;
    stream.enqueue(eventFrame(event(3)), true);
    expect(sink.written).toHaveLength(2);
    expect(stream.queuedEvents).toBe(1);
    expect(asked).toBe(0);
    sink.drain();
    expect(sink.written.join('')).toBe([1, 2, 3].map((n) => eventFrame(event(n))).join(''));
    expect(stream.queuedEvents).toBe(0);
    // Empty and not full: the producer is asked for more (a replay's next page).
    expect(asked).toBeGreaterThan(0);
  });

  it('a producer enqueueing from onDemand is written in order, as far as the sink takes it', () => {
    const stream = new SseStream();
    const sink = new FakeSink(10_000);
    let next = 1;
    stream.onDemand = () => {
      if (next <= 5) stream.enqueueChunk(Buffer.from(eventFrame(event(next++))), 1);
    };
    stream.writeTo(sink);
    expect(sink.written.join('')).toBe([1, 2, 3, 4, 5].map((n) => eventFrame(event(n))).join(''));
  });

  it("a producer's enqueue never calls it back: onDemand is asked once the producer has returned", async () => {
    const stream = new SseStream();
    const sink = new FakeSink(10_000);
    stream.writeTo(sink);
    let producing = false;
    const asked: boolean[] = [];
    stream.onDemand = () => asked.push(producing);
    producing = true;
    stream.enqueue(eventFrame(event(1)), true);
    stream.enqueue(eventFrame(event(2)), true);
    producing = false;
    expect(sink.written).toHaveLength(2);
    expect(asked).toEqual([]);
    await Promise.resolve();
    expect(asked).toEqual([false]);
  });

  it('close() writes what is queued, then ends the response once; the response closing ends the stream', () => {
    const stream = new SseStream();
    const sink = new FakeSink(100);
    stream.writeTo(sink);
    stream.enqueue(eventFrame(event(1)), true);
    stream.enqueue(eventFrame(event(2)), true);
    let ended = 0;
    stream.onEnd(() => ended++);
    stream.close();
    expect(sink.ended).toBe(0);
    sink.drain();
    expect(sink.written.join('')).toBe([1, 2].map((n) => eventFrame(event(n))).join(''));
    expect(sink.ended).toBe(1);
    expect(ended).toBe(1);

    const other = new SseStream();
    other.writeTo(new FakeSink(100));
    const gone = new FakeSink(100);
    const third = new SseStream();
    third.writeTo(gone);
    gone.emit('close');
    expect(third.open).toBe(false);
    expect(other.open).toBe(true);
  });

  it('a response already gone when the stream begins ends the stream at once (no close event will come)', () => {
    const stream = new SseStream();
    let ended = 0;
    stream.onEnd(() => ended++);
    const gone = Object.assign(new FakeSink(100), { destroyed: true });
    stream.writeTo(gone);
    expect(stream.open).toBe(false);
    expect(ended).toBe(1);
    expect(gone.written).toEqual([]);
  });

  it("a producer that throws ends that client's stream (dropped), never the process", async () => {
    const reasons: string[] = [];
    let aborted = 0;
    const stream = new SseStream({ abort: () => aborted++, onDrop: (r) => reasons.push(r) });
    const sink = new FakeSink(10_000);
    stream.onDemand = () => {
      throw new Error('event log is closed');
    };
    stream.writeTo(sink);
    expect(stream.open).toBe(false);
    expect(aborted).toBe(1);
    expect(reasons).toEqual(["the stream's producer failed: event log is closed"]);
    // From the microtask after an enqueue too.
    const other = new SseStream({ abort: () => aborted++ });
    other.writeTo(new FakeSink(10_000));
    other.onDemand = () => {
      throw new Error('read failed');
    };
    other.enqueue(eventFrame(event(1)), true);
    await Promise.resolve();
    expect(other.open).toBe(false);
    expect(aborted).toBe(2);
    // The web body (no socket): the read fails with the reason, as the same producer's stream ends.
    const web = new SseStream();
    web.onDemand = () => {
      throw new Error('log gone');
    };
    await expect(readAll(web)).rejects.toThrow("the stream's producer failed: log gone");
    expect(web.open).toBe(false);
  });

  it('a drop cuts the connection instead of ending it', () => {
    let aborted = 0;
    const stream = new SseStream({ limits: { maxEvents: 1, maxBytes: 10_000 }, abort: () => aborted++ });
    const sink = new FakeSink(1);
    stream.writeTo(sink);
    stream.enqueue(eventFrame(event(1)), true);
    stream.enqueue(eventFrame(event(2)), true);
    expect(stream.enqueue(eventFrame(event(3)), true)).toBe(false);
    expect(aborted).toBe(1);
    expect(sink.ended).toBe(0);
    sink.drain();
    expect(sink.written).toEqual([eventFrame(event(1))]);
  });
});
