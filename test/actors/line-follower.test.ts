/**
 * Following a file another process appends to (src/actors/line-follower.ts): complete lines with the byte
 * offset just past each, however the writer splits them; oversize lines cut without holding them in memory;
 * a last line without newline on finish; woken by the file changing, never by a polling interval.
 */
import { appendFileSync, closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LineFollower, type FollowedLine, type LineFollowerOptions } from '../../src/actors/line-follower.js';
import { poll } from '../support/poll.js';

let dir: string;
let path: string;
const followers: LineFollower[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'orch-follow-'));
  path = join(dir, 'out.jsonl');
  writeFileSync(path, '');
});

afterEach(() => {
  for (const f of followers.splice(0)) f.stop();
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

function follow(from = 0, options: Partial<LineFollowerOptions> = {}) {
  const lines: FollowedLine[] = [];
  const batches: number[] = [];
  const follower = new LineFollower(path, from, {
    ...options,
    onLines: (batch) => {
      batches.push(batch.length);
      lines.push(...batch);
    },
  });
  followers.push(follower);
  follower.start();
  return { follower, lines, batches };
}

const bytes = (s: string) => Buffer.byteLength(s);

describe('LineFollower', () => {
  it('emits what is already in the file at start, each line with the offset just past its newline', () => {
    writeFileSync(path, 'one\ntwo\n\nthree');
    const { lines, follower } = follow();
    expect(lines).toEqual([
      { text: 'one', end: 4 },
      { text: 'two', end: 8 },
      { text: '', end: 9 },
    ]);
    // "three" has no newline yet: it is not a line, and a restart must begin at its start.
    expect(follower.committedOffset).toBe(9);
  });

  it('reacts to appends: joins a line split across writes, several lines in one write', async () => {
    const { lines } = follow();
    appendFileSync(path, '{"a":');
    appendFileSync(path, '1}\n{"b"');
    await poll(() => lines.length === 1, 3000, 'the first line');
    expect(lines[0]).toEqual({ text: '{"a":1}', end: 8 });
    appendFileSync(path, ':2}\n{"c":3}\n{"d":4}\n');
    await poll(() => lines.length === 4, 3000, 'four lines');
    expect(lines.map((l) => l.text)).toEqual(['{"a":1}', '{"b":2}', '{"c":3}', '{"d":4}']);
    expect(lines.map((l) => l.end)).toEqual([8, 16, 24, 32]);
  });

  it('strips the CR of CRLF line ends but counts it in the offset; multi-byte text counts bytes', async () => {
    const { lines } = follow();
    appendFileSync(path, 'dos line\r\nunix\nünïcødé ✓\r\n');
    await poll(() => lines.length === 3, 3000, 'three lines');
    expect(lines).toEqual([
      { text: 'dos line', end: 10 },
      { text: 'unix', end: 15 },
      { text: 'ünïcødé ✓', end: 15 + bytes('ünïcødé ✓\r\n') },
    ]);
  });

  it('assembles a line written one byte at a time (a multi-byte character split across writes too)', async () => {
    const { lines } = follow();
    const line = `{"text":"${'é✓'.repeat(200)}"}`;
    const buffer = Buffer.from(`${line}\n`);
    const fd = openSync(path, 'a');
    try {
      for (let i = 0; i < buffer.length; i++) {
        writeSync(fd, buffer, i, 1);
        if (i % 97 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      closeSync(fd);
    }
    await poll(() => lines.length === 1, 3000, 'the line');
    expect(lines[0]).toEqual({ text: line, end: buffer.length });
  });

  it('starts from a given offset (where a restarted reader goes on) and hands over a line finished later', async () => {
    writeFileSync(path, 'old 1\nold 2\nhalf');
    const first = follow();
    const restartAt = first.follower.committedOffset;
    first.follower.stop();
    expect(restartAt).toBe(12);
    const { lines } = follow(restartAt);
    expect(lines).toEqual([]);
    appendFileSync(path, ' done\nnew\n');
    await poll(() => lines.length === 2, 3000, 'two lines');
    expect(lines).toEqual([
      { text: 'half done', end: 22 },
      { text: 'new', end: 26 },
    ]);
  });

  it('finish() emits a final line that has no newline, with its end at the end of the file', async () => {
    writeFileSync(path, '{"a":1}\n{"result":"no newline"}');
    const { lines, follower } = follow();
    expect(lines.map((l) => l.text)).toEqual(['{"a":1}']);
    await follower.finish();
    expect(lines[1]).toEqual({ text: '{"result":"no newline"}', end: bytes('{"a":1}\n{"result":"no newline"}') });
    // Nothing more to hand over; a second finish emits nothing.
    await follower.finish();
    expect(lines).toHaveLength(2);
  });

  it('finish() reads what was appended since the last notification before ending', async () => {
    const { lines, follower } = follow();
    appendFileSync(path, 'a\nb\nc');
    await follower.finish();
    expect(lines.map((l) => l.text)).toEqual(['a', 'b', 'c']);
  });

  it('cuts a 10 MB line: its head (4 KiB) and full length, the next line intact, never all in memory', async () => {
    const { lines, follower } = follow();
    const chunk = Buffer.alloc(1 << 20, 'x'.charCodeAt(0));
    const maxPending = { bytes: 0 };
    const probe = () => {
      const internal = follower as unknown as { pendingBytes: number; oversize: { head: Buffer } | null };
      maxPending.bytes = Math.max(maxPending.bytes, internal.pendingBytes + (internal.oversize?.head.length ?? 0));
    };
    const fd = openSync(path, 'a');
    try {
      writeSync(fd, '{"big":"');
      for (let i = 0; i < 10; i++) {
        writeSync(fd, chunk);
        await new Promise((resolve) => setTimeout(resolve, 5));
        probe();
      }
      writeSync(fd, '"}\n{"next":true}\n');
    } finally {
      closeSync(fd);
    }
    await poll(() => lines.length === 2, 10_000, 'the big line and the next');
    const total = bytes('{"big":"') + 10 * chunk.length + bytes('"}');
    expect(lines[0]?.oversizeBytes).toBe(total);
    expect(lines[0]?.text.length).toBe(4096);
    expect(lines[0]?.text.startsWith('{"big":"xxx')).toBe(true);
    expect(lines[0]?.end).toBe(total + 1);
    expect(lines[1]).toEqual({ text: '{"next":true}', end: total + 1 + bytes('{"next":true}\n') });
    // At most the line limit (8 MiB by default) was ever buffered, never the whole 10 MB line.
    expect(maxPending.bytes).toBeLessThanOrEqual(8 << 20);
  });

  it('with a small limit, a long line is never buffered past the limit', async () => {
    const { lines, follower } = follow(0, { maxLineBytes: 1000 });
    const internal = follower as unknown as { pendingBytes: number };
    let maxPending = 0;
    for (let i = 0; i < 50; i++) {
      appendFileSync(path, 'y'.repeat(300));
      await new Promise((resolve) => setTimeout(resolve, 2));
      maxPending = Math.max(maxPending, internal.pendingBytes);
    }
    appendFileSync(path, '\nshort\n');
    await poll(() => lines.length === 2, 3000, 'two lines');
    expect(maxPending).toBeLessThanOrEqual(1000);
    expect(lines[0]).toMatchObject({ oversizeBytes: 15_000, end: 15_001 });
    // The head: the start of the line as far as it was buffered (never more than 4 KiB).
    expect(lines[0]?.text.length).toBeGreaterThan(0);
    expect(lines[0]?.text.length).toBeLessThanOrEqual(4096);
    expect(lines[0]?.text).toMatch(/^y+$/);
    expect(lines[1]).toEqual({ text: 'short', end: 15_007 });
  });

  it('finish() of a long backlog hands it over in batches, the event loop running between them', async () => {
    const count = 5000;
    writeFileSync(path, Array.from({ length: count }, (_, i) => `line ${i}`).join('\n') + '\nlast');
    const { lines, batches, follower } = follow(0, { maxLinesPerBatch: 1000 });
    // Whatever else waits for the event loop (a socket's drain, a timer) runs while the backlog goes over.
    let linesWhenOthersRan = -1;
    setImmediate(() => {
      linesWhenOthersRan = lines.length;
    });
    await follower.finish();
    expect(linesWhenOthersRan).toBeGreaterThan(0);
    expect(linesWhenOthersRan).toBeLessThan(count);
    expect(lines.map((l) => l.text)).toEqual([...Array.from({ length: count }, (_, i) => `line ${i}`), 'last']);
    expect(Math.max(...batches)).toBeLessThanOrEqual(1000);
  });

  it('an oversize last line without newline is emitted as oversize on finish', async () => {
    writeFileSync(path, `ok\n${'z'.repeat(5000)}`);
    const { lines, follower } = follow(0, { maxLineBytes: 1000 });
    await follower.finish();
    expect(lines[1]).toMatchObject({ oversizeBytes: 5000, end: 5003 });
  });

  it('with a small read budget still delivers everything, in order, over several turns of the event loop', async () => {
    // ~3.4 MB read in 1 MiB chunks with a budget of one chunk per turn.
    const count = 300_000;
    const content = Array.from({ length: count }, (_, i) => `line ${i}`).join('\n') + '\n';
    writeFileSync(path, content);
    const { lines, batches } = follow(0, { readBudgetBytes: 1 << 20 });
    await poll(() => lines.length === count, 10_000, 'all lines');
    expect(lines[count - 1]).toEqual({ text: `line ${count - 1}`, end: bytes(content) });
    expect(batches.length).toBeGreaterThan(1);
    expect(lines.every((l, i) => l.text === `line ${i}`)).toBe(true);
  });

  it('does not poll: no read happens while the file does not change, an append wakes it', async () => {
    const drain = vi.spyOn(LineFollower.prototype, 'drain');
    const { lines } = follow();
    const readsAtStart = drain.mock.calls.length;
    // 1.5 s of a file that does not change. On a loaded machine the watch event of the file's creation may still
    // come in meanwhile (one read); a poll even every 700 ms would read at least twice.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(drain.mock.calls.length - readsAtStart).toBeLessThanOrEqual(1);
    const readsBefore = drain.mock.calls.length;
    appendFileSync(path, 'wake up\n');
    await poll(() => lines.length === 1, 10_000, 'the appended line');
    expect(drain.mock.calls.length).toBeGreaterThan(readsBefore);
  });

  it('after stop() nothing more is delivered', async () => {
    const { lines, follower } = follow();
    appendFileSync(path, 'before\n');
    await poll(() => lines.length === 1, 3000, 'first line');
    follower.stop();
    appendFileSync(path, 'after\n');
    await new Promise((resolve) => setTimeout(resolve, 200));
    follower.drain();
    await follower.finish();
    expect(lines.map((l) => l.text)).toEqual(['before']);
  });
});
