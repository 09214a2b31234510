/**
 * The event log (src/store/event-log.ts) against real files: seq stamping, one write per batch, listeners
 * hearing of an event only once it is in the file, replay ranges, the repair of a torn last line, the
 * read-only open, and the cheap tail read of `lastSeqOf`.
 *
 * `node:fs` is wrapped (not replaced) so the test can count the write and read calls the log makes.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { NewEvent, OrchestratorEvent } from '../../src/domain/events.js';
import { type Appended, EventLog } from '../../src/store/event-log.js';
import { FRAME_PAGE } from '../../src/store/frame-pages.js';

const io = vi.hoisted(() => ({ writes: [] as number[], readBytes: 0, shortWrites: 0, counting: false }));

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const writeSync = ((fd: number, buffer: Buffer, offset?: number, length?: number, position?: number) => {
    if (!io.counting) return fs.writeSync(fd, buffer, offset, length, position);
    io.writes.push(length ?? buffer.length);
    // A short write (the kernel may accept fewer bytes): the log must write the rest itself.
    if (io.shortWrites > 0 && (length ?? 0) > 1) {
      io.shortWrites--;
      return fs.writeSync(fd, buffer, offset, Math.floor((length as number) / 2), position);
    }
    return fs.writeSync(fd, buffer, offset, length, position);
  }) as typeof fs.writeSync;
  const readSync = ((fd: number, buffer: Buffer, offset: number, length: number, position: number | null) => {
    const n = fs.readSync(fd, buffer, offset, length, position);
    if (io.counting) io.readBytes += n;
    return n;
  }) as typeof fs.readSync;
  return { ...fs, default: { ...fs, writeSync, readSync }, writeSync, readSync };
});

const SID = 'orch_20261121_093000_ab12';
let dir: string;
let path: string;
const open: EventLog[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'orch-eventlog-'));
  path = join(dir, 'events.jsonl');
  io.writes = [];
  io.readBytes = 0;
  io.shortWrites = 0;
  io.counting = false;
});

afterEach(() => {
  for (const log of open.splice(0)) log.close();
  rmSync(dir, { recursive: true, force: true });
});

function openLog(): { log: EventLog; repairedBytes: number } {
  const opened = EventLog.open(path, SID);
  open.push(opened.log);
  return opened;
}

function stateEvent(to: string): NewEvent {
  return {
    type: 'state',
    source: { kind: 'session', id: SID },
    machine: 'session',
    id: SID,
    from: null,
    to,
    cause: 'test',
  };
}

function agentEvent(text: string, end: number): NewEvent {
  return {
    type: 'agent',
    source: { kind: 'worker', id: 'w1' },
    agent: 'claude',
    workerId: 'w1',
    at: { attempt: 1, end },
    kind: 'message',
    role: 'assistant',
    text,
  };
}

/** The log file as parsed lines (asserting every line is complete JSON). */
function fileEvents(): OrchestratorEvent[] {
  const text = readFileSync(path, 'utf8');
  expect(text === '' || text.endsWith('\n')).toBe(true);
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as OrchestratorEvent);
}

describe('append', () => {
  it('stamps seq 1..N, the session id and ts (keeping an agent-given ts), and returns what it wrote', () => {
    const { log, repairedBytes } = openLog();
    expect(repairedBytes).toBe(0);
    expect(log.lastSeq).toBe(0);
    const first = log.append([stateEvent('a'), { ...stateEvent('b'), ts: '2026-01-02T03:04:05.000Z' }]);
    const second = log.append([stateEvent('c')]);
    expect(first.map((e) => e.seq)).toEqual([1, 2]);
    expect(second.map((e) => e.seq)).toEqual([3]);
    expect(first[1]?.ts).toBe('2026-01-02T03:04:05.000Z');
    expect(Date.parse(first[0]?.ts ?? '')).not.toBeNaN();
    for (const e of [...first, ...second]) expect(e.sessionId).toBe(SID);
    expect(log.lastSeq).toBe(3);
    expect(fileEvents()).toEqual([...first, ...second]);
    // seq, ts and sessionId lead every line (read by eye and by grep).
    expect(readFileSync(path, 'utf8').split('\n')[0]).toMatch(/^\{"seq":1,"ts":"[^"]+","sessionId":"orch_/);
  });

  it('an empty batch writes nothing and assigns no seq', () => {
    const { log } = openLog();
    io.counting = true;
    expect(log.append([])).toEqual([]);
    expect(io.writes).toEqual([]);
    expect(log.lastSeq).toBe(0);
  });

  it('writes a whole batch with one write call', () => {
    const { log } = openLog();
    io.counting = true;
    const batch = Array.from({ length: 50 }, (_, i) => agentEvent(`line ${i}`, i * 10));
    log.append(batch);
    expect(io.writes).toHaveLength(1);
    expect(io.writes[0]).toBe(statSync(path).size);
    expect(fileEvents().map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('finishes a batch the kernel accepted only partly (short writes)', () => {
    const { log } = openLog();
    io.counting = true;
    io.shortWrites = 3;
    log.append(Array.from({ length: 20 }, (_, i) => stateEvent(`s${i}`)));
    expect(io.writes.length).toBeGreaterThan(1);
    expect(fileEvents().map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    log.append([stateEvent('after')]);
    expect(log.readAfter(20)[0]).toMatchObject({ seq: 21, type: 'state', to: 'after' });
  });

  it('keeps multi-byte text intact and offsets right (readAfter seeks by byte offset)', () => {
    const { log } = openLog();
    log.append([agentEvent('héllo wörld ✓ 日本語', 1), agentEvent('🙂'.repeat(100), 2), agentEvent('plain', 3)]);
    expect(log.readAfter(1).map((e) => (e as { text: string }).text)).toEqual(['🙂'.repeat(100), 'plain']);
    expect(log.readAfter(2, 1).map((e) => e.seq)).toEqual([3]);
  });
});

describe('subscribe', () => {
  it('a listener hears of events only after they are in the file, in seq order, one call per batch', () => {
    const { log } = openLog();
    const heard: number[][] = [];
    const inFileWhenHeard: boolean[] = [];
    log.subscribe((events) => {
      heard.push(events.map((e) => e.seq));
      // Read the file from inside the listener: every event it hears of must already be there, complete.
      const onDisk = fileEvents().map((e) => e.seq);
      inFileWhenHeard.push(events.every((e) => onDisk.includes(e.seq)));
    });
    log.append([stateEvent('a'), stateEvent('b')]);
    log.append([stateEvent('c')]);
    log.append([]);
    expect(heard).toEqual([[1, 2], [3]]);
    expect(inFileWhenHeard).toEqual([true, true]);
  });

  it("an append's SSE frames: its events' frames, made once from the bytes written, for every listener", () => {
    const { log } = openLog();
    const chunks: Array<{ first: number; last: number; data: Buffer }> = [];
    const heard = (appended: Appended) =>
      chunks.push({ ...appended.frames(), first: appended.first, last: appended.last });
    log.subscribe((_events, appended) => heard(appended));
    log.subscribe((_events, appended) => heard(appended));
    // Non-ASCII text (several bytes a character), and a batch larger than the 1 MiB buffer kept between appends.
    const big = 'é€😀'.repeat(150_000);
    const stamped = [
      ...log.append([stateEvent('a'), stateEvent('ünïcødé →')]),
      ...log.append([stateEvent(big), stateEvent('after the big one')]),
    ];
    const frame = (e: OrchestratorEvent) => `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
    const expected = [stamped.slice(0, 2).map(frame).join(''), stamped.slice(2).map(frame).join('')];
    expect(chunks.map((c) => [c.first, c.last, c.data.toString('utf8')])).toEqual([
      [1, 2, expected[0]],
      [1, 2, expected[0]],
      [3, 4, expected[1]],
      [3, 4, expected[1]],
    ]);
    // One buffer for every listener of an append.
    expect(chunks[1]?.data).toBe(chunks[0]?.data);
    expect(fileEvents()).toEqual(stamped);
  });

  it("an append made by a listener while it is told of another leaves the other's frames intact", () => {
    const { log } = openLog();
    let nestedOnce = false;
    log.subscribe((events) => {
      if (nestedOnce) return;
      nestedOnce = true;
      // A listener that reacts to an event by appending another, at once.
      log.append([stateEvent(`reaction to ${events[0]?.seq} ${'x'.repeat(200)}`)]);
    });
    const chunks: string[] = [];
    log.subscribe((_events, appended) => chunks.push(appended.frames().data.toString('utf8')));
    const outer = log.append([stateEvent('the first one, long enough to be overwritten by the reaction')]);
    const frame = (e: OrchestratorEvent) => `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
    const all = fileEvents();
    expect(all.map((e) => e.seq)).toEqual([1, 2]);
    // The second listener hears of the reaction (seq 2) first, inside the first append, then of seq 1.
    expect(chunks).toEqual([frame(all[1] as OrchestratorEvent), frame(outer[0] as OrchestratorEvent)]);
  });

  it("an append's frames asked for after its listeners returned are read from the file", () => {
    const { log } = openLog();
    const kept: Appended[] = [];
    log.subscribe((_events, appended) => kept.push(appended));
    const stamped = log.append([stateEvent('ä'), stateEvent('b')]);
    // The next append writes over the buffer the first one's bytes were in.
    log.append([stateEvent('c'.repeat(1000))]);
    const frame = (e: OrchestratorEvent) => `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
    expect(kept[0]?.frames()).toMatchObject({ first: 1, last: 2 });
    expect(kept[0]?.frames().data.toString('utf8')).toBe(stamped.map(frame).join(''));
  });

  it('a throwing listener neither stops the others nor the append; unsubscribe stops delivery', () => {
    const { log } = openLog();
    const seen: number[] = [];
    log.subscribe(() => {
      throw new Error('a dropped SSE client');
    });
    const off = log.subscribe((events) => seen.push(...events.map((e) => e.seq)));
    expect(log.append([stateEvent('a')])).toHaveLength(1);
    off();
    log.append([stateEvent('b')]);
    expect(seen).toEqual([1]);
    expect(log.lastSeq).toBe(2);
  });
});

describe('readAfter', () => {
  it('returns the events with seq > afterSeq, at most `limit`', () => {
    const { log } = openLog();
    log.append(Array.from({ length: 10 }, (_, i) => stateEvent(`s${i + 1}`)));
    const seqs = (events: OrchestratorEvent[]) => events.map((e) => e.seq);
    expect(seqs(log.readAfter(0))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(seqs(log.readAfter(-5))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(seqs(log.readAfter(3))).toEqual([4, 5, 6, 7, 8, 9, 10]);
    expect(seqs(log.readAfter(3, 2))).toEqual([4, 5]);
    expect(seqs(log.readAfter(9, 5))).toEqual([10]);
    expect(seqs(log.readAfter(0, 0))).toEqual([]);
    expect(log.readAfter(10)).toEqual([]);
    expect(log.readAfter(1000)).toEqual([]);
  });

  it('reads only the bytes of the requested range (a seek, not a scan)', () => {
    const { log } = openLog();
    log.append(Array.from({ length: 2000 }, (_, i) => agentEvent('x'.repeat(200), i)));
    io.counting = true;
    const events = log.readAfter(1500, 10);
    expect(events.map((e) => e.seq)).toEqual([1501, 1502, 1503, 1504, 1505, 1506, 1507, 1508, 1509, 1510]);
    // Exactly the ten lines asked for, out of ~900 KB.
    const lineBytes = readFileSync(path, 'utf8')
      .split('\n')
      .slice(1500, 1510)
      .reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
    expect(io.readBytes).toBe(lineBytes);
  });

  it('frames SSE replay chunks from the file bytes: the same bytes as eventFrame, never across a page', () => {
    const { log } = openLog();
    const appended = log.append(Array.from({ length: 600 }, (_, i) => agentEvent(`é${i}\nline`, i)));
    const framed = (from: number, to: number) =>
      appended
        .slice(from, to)
        .map((e) => `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`)
        .join('');
    const chunk = log.readFrameChunk(0);
    expect([chunk?.first, chunk?.last]).toEqual([1, FRAME_PAGE]);
    expect(chunk?.data.toString('utf8')).toBe(framed(0, FRAME_PAGE));
    // From the middle of a page: up to its end, or `limit`.
    const middle = log.readFrameChunk(100);
    expect([middle?.first, middle?.last]).toEqual([101, FRAME_PAGE]);
    expect(middle?.data.toString('utf8')).toBe(framed(100, FRAME_PAGE));
    expect(log.readFrameChunk(100, 3)?.data.toString('utf8')).toBe(framed(100, 103));
    // The last, incomplete page; then nothing.
    const tail = log.readFrameChunk(2 * FRAME_PAGE);
    expect([tail?.first, tail?.last]).toEqual([2 * FRAME_PAGE + 1, 600]);
    expect(tail?.data.toString('utf8')).toBe(framed(2 * FRAME_PAGE, 600));
    expect(log.readFrameChunk(600)).toBeNull();
  });

  it('reads lines as written, with their seq and type, unparsed (what a fleet runner replicates)', () => {
    const { log } = openLog();
    log.append([stateEvent('s1'), agentEvent('é\nx', 1), stateEvent('s2')]);
    const file = readFileSync(path, 'utf8').split('\n');
    expect(log.readLinesAfter(0)).toEqual([
      { seq: 1, type: 'state', line: file[0] },
      { seq: 2, type: 'agent', line: file[1] },
      { seq: 3, type: 'state', line: file[2] },
    ]);
    expect(log.readLinesAfter(1, 1)).toEqual([{ seq: 2, type: 'agent', line: file[1] }]);
    expect(log.readLinesAfter(3)).toEqual([]);
  });

  it('frames a complete page once: every reader then gets the same buffer without reading the file', () => {
    const { log } = openLog();
    log.append(Array.from({ length: FRAME_PAGE + 10 }, (_, i) => agentEvent('x'.repeat(100), i)));
    const first = log.readFrameChunk(FRAME_PAGE);
    io.counting = true;
    expect(log.readFrameChunk(0)?.data).toBe(log.readFrameChunk(0)?.data);
    const afterOneRead = io.readBytes;
    expect(afterOneRead).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) log.readFrameChunk(0);
    expect(io.readBytes).toBe(afterOneRead);
    // A page still being filled is read each time (it grows), and a partial read is never cached.
    expect(log.readFrameChunk(FRAME_PAGE)?.data).not.toBe(first?.data);
    expect(log.readFrameChunk(0, 5)?.last).toBe(5);
  });

  it('throws after close, as do append and (harmlessly) a second close', () => {
    const { log } = openLog();
    log.append([stateEvent('a')]);
    log.close();
    expect(log.isClosed).toBe(true);
    expect(() => log.readAfter(0)).toThrow(/closed/);
    expect(() => log.append([stateEvent('b')])).toThrow(/closed/);
    expect(() => log.close()).not.toThrow();
  });
});

describe('open: repair of a torn last line', () => {
  it('cuts half a line written by a process that died mid-write; seq continues with no gap', () => {
    const first = openLog();
    first.log.append([stateEvent('a'), stateEvent('b'), stateEvent('c')]);
    first.log.close();
    const goodSize = statSync(path).size;
    const torn = '{"seq":4,"ts":"2026-11-21T09:30:00.000Z","sessionId":"orch_20261121_093000_ab12","type":"st';
    appendFileSync(path, torn);

    const seen: number[] = [];
    const reopened = EventLog.open(path, SID, (event) => seen.push(event.seq));
    open.push(reopened.log);
    expect(reopened.repairedBytes).toBe(Buffer.byteLength(torn));
    expect(statSync(path).size).toBe(goodSize);
    expect(seen).toEqual([1, 2, 3]);
    expect(reopened.log.lastSeq).toBe(3);
    const [fourth] = reopened.log.append([stateEvent('d')]);
    expect(fourth?.seq).toBe(4);
    expect(fileEvents().map((e) => e.seq)).toEqual([1, 2, 3, 4]);
  });

  it('cuts a complete line that is not JSON, and everything after it', () => {
    const first = openLog();
    first.log.append([stateEvent('a'), stateEvent('b')]);
    first.log.close();
    const goodSize = statSync(path).size;
    appendFileSync(path, 'garbage that is not json\n');
    const { log, repairedBytes } = openLog();
    expect(repairedBytes).toBe(Buffer.byteLength('garbage that is not json\n'));
    expect(statSync(path).size).toBe(goodSize);
    expect(log.append([stateEvent('c')])[0]?.seq).toBe(3);
  });

  it('cuts a foreign or out-of-order line (and the lines after it), so seq stays gap-free', () => {
    const first = openLog();
    first.log.append([stateEvent('a'), stateEvent('b'), stateEvent('c')]);
    first.log.close();
    const goodSize = statSync(path).size;
    // seq 7 after seq 3 (another writer, or a copy-paste), then a valid-looking seq 4 that follows it.
    const ts = '2026-11-21T09:30:00.000Z';
    const foreign = `${JSON.stringify({ seq: 7, ts, sessionId: SID, ...stateEvent('x') })}\n`;
    const after = `${JSON.stringify({ seq: 4, ts, sessionId: SID, ...stateEvent('y') })}\n`;
    appendFileSync(path, foreign + after);
    const { log, repairedBytes } = openLog();
    expect(repairedBytes).toBe(Buffer.byteLength(foreign + after));
    expect(statSync(path).size).toBe(goodSize);
    expect(log.lastSeq).toBe(3);
    expect(log.append([stateEvent('d')])[0]?.seq).toBe(4);
    expect(fileEvents().map((e) => e.seq)).toEqual([1, 2, 3, 4]);
  });

  it('cuts a JSON line without a numeric seq (a foreign file appended to the log)', () => {
    const first = openLog();
    first.log.append([stateEvent('a')]);
    first.log.close();
    appendFileSync(path, '{"hello":"world"}\n');
    const { log, repairedBytes } = openLog();
    expect(repairedBytes).toBe(18);
    expect(log.lastSeq).toBe(1);
  });

  it('indexes a log larger than its read chunk with lines across chunk boundaries', () => {
    // ~3 MB: the 1 MiB read chunks split lines; every offset must still be exact.
    const lines: string[] = [];
    for (let seq = 1; seq <= 6000; seq++) {
      lines.push(
        JSON.stringify({
          seq,
          ts: '2026-11-21T09:30:00.000Z',
          sessionId: SID,
          ...agentEvent(`${seq}:${'y'.repeat(seq % 997)}`, seq),
        }),
      );
    }
    writeFileSync(path, `${lines.join('\n')}\n{"seq":6001,"torn`);
    const { log, repairedBytes } = openLog();
    expect(repairedBytes).toBe('{"seq":6001,"torn'.length);
    expect(log.lastSeq).toBe(6000);
    for (const after of [0, 999, 1234, 3333, 5998]) {
      const [event] = log.readAfter(after, 1);
      expect(event?.seq).toBe(after + 1);
      expect((event as { text: string }).text.startsWith(`${after + 1}:`)).toBe(true);
    }
  });

  it('indexes lines longer than its read chunk, multi-byte text included, and cuts a torn long tail', () => {
    // 2.5 MB and 1.5 MB lines (the chunk is 1 MiB, so it must grow), with 3-byte characters across boundaries.
    const texts = ['€'.repeat(900_000), 'short', 'x'.repeat(1_500_000), 'é'];
    const lines = texts.map((text, i) =>
      JSON.stringify({ seq: i + 1, ts: '2026-11-21T09:30:00.000Z', sessionId: SID, ...agentEvent(text, i + 1) }),
    );
    const torn = `{"seq":5,"text":"${'z'.repeat(1_200_000)}`;
    writeFileSync(path, `${lines.join('\n')}\n${torn}`);
    const { log, repairedBytes } = openLog();
    expect(repairedBytes).toBe(torn.length);
    expect(log.lastSeq).toBe(4);
    for (const [i, text] of texts.entries()) {
      const [event] = log.readAfter(i, 1);
      expect((event as { text: string }).text).toBe(text);
    }
    expect(log.append([agentEvent('next', 5)])[0]?.seq).toBe(5);
    expect(log.readAfter(4).map((e) => (e as { text: string }).text)).toEqual(['next']);
  });

  it('an empty or missing log opens empty', () => {
    const { log, repairedBytes } = openLog();
    expect(repairedBytes).toBe(0);
    expect(log.lastSeq).toBe(0);
    expect(log.readAfter(0)).toEqual([]);
  });
});

describe('openReadOnly', () => {
  it('never truncates a torn tail (it may be a line being written right now) and refuses to append', () => {
    const first = openLog();
    first.log.append([stateEvent('a'), stateEvent('b')]);
    const inFlight = JSON.stringify({ seq: 3, ts: '2026-11-21T09:30:00.000Z', sessionId: SID, ...stateEvent('c') });
    appendFileSync(path, inFlight.slice(0, 40));
    const sizeWithTornTail = statSync(path).size;

    const reader = EventLog.openReadOnly(path, SID);
    open.push(reader);
    expect(reader.readOnly).toBe(true);
    expect(reader.lastSeq).toBe(2);
    expect(reader.readAfter(0).map((e) => e.seq)).toEqual([1, 2]);
    expect(() => reader.append([stateEvent('x')])).toThrow(/read-only/);
    reader.close();
    expect(statSync(path).size).toBe(sizeWithTornTail);

    // The writer finishes its line: a new reader sees it.
    appendFileSync(path, `${inFlight.slice(40)}\n`);
    const later = EventLog.openReadOnly(path, SID);
    open.push(later);
    expect(later.lastSeq).toBe(3);
  });

  it('ignores (but keeps) a foreign line in the middle', () => {
    const first = openLog();
    first.log.append([stateEvent('a')]);
    first.log.close();
    appendFileSync(path, 'not json\n');
    const size = statSync(path).size;
    const reader = EventLog.openReadOnly(path, SID);
    open.push(reader);
    expect(reader.lastSeq).toBe(1);
    expect(statSync(path).size).toBe(size);
  });

  it('fails on a missing file (nothing to read), unlike open which creates it', () => {
    expect(() => EventLog.openReadOnly(join(dir, 'nope.jsonl'), SID)).toThrow(/ENOENT/);
  });
});

describe('lastSeqOf', () => {
  it('is 0 for a missing, empty or only-torn file', () => {
    expect(EventLog.lastSeqOf(join(dir, 'missing.jsonl'))).toBe(0);
    writeFileSync(path, '');
    expect(EventLog.lastSeqOf(path)).toBe(0);
    writeFileSync(path, '{"seq":1,"ts":');
    expect(EventLog.lastSeqOf(path)).toBe(0);
  });

  it('reads the seq of the last complete line from the tail of a big file, ignoring a torn tail', () => {
    const lines: string[] = [];
    for (let seq = 1; seq <= 40_000; seq++)
      lines.push(
        JSON.stringify({ seq, ts: '2026-11-21T09:30:00.000Z', sessionId: SID, ...agentEvent('z'.repeat(200), seq) }),
      );
    writeFileSync(path, `${lines.join('\n')}\n`);
    expect(statSync(path).size).toBeGreaterThan(10 << 20);
    io.counting = true;
    expect(EventLog.lastSeqOf(path)).toBe(40_000);
    expect(io.readBytes).toBeLessThanOrEqual(64 * 1024);

    appendFileSync(path, '{"seq":40001,"ts":"2026-11-21T09:3');
    io.readBytes = 0;
    expect(EventLog.lastSeqOf(path)).toBe(40_000);
    expect(io.readBytes).toBeLessThanOrEqual(64 * 1024);
  });

  it('widens its window when the last line is longer than the first window', () => {
    const small = JSON.stringify({ seq: 1, ts: '2026-11-21T09:30:00.000Z', sessionId: SID, ...stateEvent('a') });
    const huge = JSON.stringify({
      seq: 2,
      ts: '2026-11-21T09:30:00.000Z',
      sessionId: SID,
      ...agentEvent('h'.repeat(300_000), 1),
    });
    writeFileSync(path, `${small}\n${huge}\n`);
    expect(EventLog.lastSeqOf(path)).toBe(2);
    // And a huge torn tail after a complete line.
    writeFileSync(path, `${small}\n${huge.slice(0, 200_000)}`);
    expect(EventLog.lastSeqOf(path)).toBe(1);
  });

  it('agrees with an open log while it is being appended to', () => {
    const { log } = openLog();
    for (let i = 0; i < 25; i++) {
      log.append([stateEvent(`s${i}`), stateEvent(`t${i}`)]);
      expect(EventLog.lastSeqOf(path)).toBe(log.lastSeq);
    }
  });
});
