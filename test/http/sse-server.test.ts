/**
 * SSE at byte level through a real server: framing, replay, reconnects without gap or duplicate, heartbeat,
 * a slow client, and close() with streams open.
 */
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestratorEvent } from '../../src/domain/events.js';
import { eventFrame } from '../../src/http/sse.js';
import { startServer, type RunningServer } from '../../src/http/server.js';
import type { SessionRuntime } from '../../src/runtime/session-runtime.js';
import { makeHarness, noteEvent, removeTempDirs, startSession, type Harness, untilHeld } from './helpers.js';
import { SseClient } from './sse-client.js';

let harness: Harness;
let runtime: SessionRuntime;
let sid: string;
let server: RunningServer;
const warnings: string[] = [];
const clients: SseClient[] = [];

beforeAll(async () => {
  harness = makeHarness();
  runtime = await startSession(harness);
  sid = runtime.sessionId;
  // The held agent prints its first lines, then nothing: from then on only the tests append events.
  await untilHeld(runtime);
  server = await startServer({
    manager: harness.manager,
    workspace: harness.workspace,
    heartbeatMs: 100,
    logger: { warn: (m) => warnings.push(m) },
  });
});
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});
afterAll(async () => {
  await server.close();
  await harness.cleanup();
  removeTempDirs();
});

const eventsUrl = (query = '') => `${server.url}/api/v1/${sid}/events${query}`;
async function open(query = '', headers: Record<string, string> = {}): Promise<SseClient> {
  const client = await SseClient.open(eventsUrl(query), { authorization: `Bearer ${server.token}`, ...headers });
  clients.push(client);
  return client;
}
const record = (n: number, padding = 0): OrchestratorEvent[] =>
  runtime.record(Array.from({ length: n }, (_, i) => noteEvent(i, padding)));
const seqRange = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('SSE framing', () => {
  it('snapshot first (no id), then each event as id/event/data bytes', async () => {
    const client = await open();
    expect(client.status).toBe(200);
    expect(client.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    await client.waitFor((c) => c.frames.length >= 1, 'the snapshot');
    expect(client.raw.startsWith('event: snapshot\ndata: {')).toBe(true);
    const snapshot = client.frames[0]!;
    expect(snapshot.id).toBeUndefined();
    expect(JSON.parse(snapshot.data!)).toMatchObject({ sessionId: sid, lastSeq: expect.any(Number) });

    const stamped = record(3);
    await client.waitFor((c) => c.lastId === stamped[2]!.seq, 'three events');
    // The exact bytes after the snapshot (heartbeats aside).
    const afterSnapshot = client.raw.slice(snapshot.raw.length).replaceAll(': ping\n\n', '');
    expect(afterSnapshot.endsWith(stamped.map(eventFrame).join(''))).toBe(true);
    const last = client.events.at(-1)!;
    expect(last.event).toBe('safety');
    expect(JSON.parse(last.data!)).toEqual(stamped[2]);
  });

  it('sends `: ping` heartbeats', async () => {
    const client = await open();
    await client.waitFor((c) => c.frames.some((f) => f.comment === 'ping'), 'a heartbeat', 5_000);
    expect(client.raw).toContain('\n\n: ping\n\n');
  });
});

describe('replay', () => {
  it('replays after the Last-Event-ID header, then goes live', async () => {
    record(5);
    const from = runtime.store.log.lastSeq - 4;
    const client = await open('', { 'Last-Event-ID': String(from) });
    const end = runtime.store.log.lastSeq;
    await client.waitFor((c) => c.lastId === end, 'the replay');
    record(2);
    await client.waitFor((c) => c.lastId === end + 2, 'live events');
    expect(client.seqs).toEqual(seqRange(from + 1, end + 2));
  });

  it('replays after ?lastEventId= with ?token=, and the header wins over the query', async () => {
    const end = runtime.store.log.lastSeq;
    const byQuery = await SseClient.open(eventsUrl(`?lastEventId=${end - 3}&token=${server.token}`));
    clients.push(byQuery);
    await byQuery.waitFor((c) => c.lastId === end, 'the replay');
    expect(byQuery.seqs).toEqual(seqRange(end - 2, end));

    const both = await open(`?lastEventId=1`, { 'Last-Event-ID': String(end - 1) });
    await both.waitFor((c) => c.lastId === end, 'the replay');
    expect(both.seqs).toEqual([end]);
  });

  it('?tail=N replays the last N; no id and no tail replays nothing', async () => {
    const end = runtime.store.log.lastSeq;
    const tail = await open('?tail=4');
    await tail.waitFor((c) => c.lastId === end, 'the tail');
    expect(tail.seqs).toEqual(seqRange(end - 3, end));
    const plain = await open();
    await plain.waitFor((c) => c.frames.length >= 1, 'the snapshot');
    record(1);
    await plain.waitFor((c) => c.lastId === end + 1, 'a live event');
    expect(plain.seqs).toEqual([end + 1]);
  });

  it('a long replay goes out as the client takes it (not past the buffer bound)', async () => {
    record(12_000);
    const client = await open('?lastEventId=0');
    const end = runtime.store.log.lastSeq;
    await client.waitFor((c) => c.lastId === end, 'the whole log', 20_000);
    expect(client.seqs).toEqual(seqRange(1, end));
  });

  it('a replay page larger than the byte bound goes out an event at a time, never dropping the client', async () => {
    const tight = await startServer({
      manager: harness.manager,
      workspace: harness.workspace,
      logger: { warn: (m) => warnings.push(m) },
      sseLimits: { maxEvents: 2_000, maxBytes: 64 * 1024 },
    });
    try {
      const before = warnings.length;
      const start = runtime.store.log.lastSeq;
      record(600, 1000); // ~1 KB an event: a page of 256 is ~4 times the byte bound
      const end = runtime.store.log.lastSeq;
      const client = await SseClient.open(`${tight.url}/api/v1/${sid}/events?lastEventId=${start}`, {
        authorization: `Bearer ${tight.token}`,
      });
      clients.push(client);
      await client.waitFor((c) => c.lastId === end, 'the replay', 20_000);
      expect(client.seqs).toEqual(seqRange(start + 1, end));
      expect(warnings.slice(before)).toEqual([]);
    } finally {
      await tight.close();
    }
  });

  it('no gap and no duplicate across many reconnects while events keep coming', async () => {
    let appended = 0;
    const producer = setInterval(() => {
      record(1 + (appended % 5));
      appended++;
    }, 2);
    const seen: number[] = [];
    let last = runtime.store.log.lastSeq - 50;
    try {
      for (let round = 0; round < 25; round++) {
        const client = await open('', { 'Last-Event-ID': String(last) });
        const want = 1 + ((round * 7) % 13);
        await client.waitFor((c) => c.events.length >= want, `round ${round}`);
        client.close();
        await client.done;
        // Only complete frames count (a hang-up may cut one in half, as in a browser).
        expect(client.seqs[0], `round ${round} starts right after ${last}`).toBe(last + 1);
        seen.push(...client.seqs);
        last = client.lastId!;
      }
    } finally {
      clearInterval(producer);
    }
    const final = await open('', { 'Last-Event-ID': String(last) });
    const end = runtime.store.log.lastSeq;
    await final.waitFor((c) => (c.lastId ?? last) >= end, 'the rest');
    seen.push(...final.seqs);
    expect(seen).toEqual(seqRange(seen[0]!, end));
    expect(appended).toBeGreaterThan(0);
  });
});

describe('a slow client', () => {
  it('is dropped past the buffer bound without slowing the session; a normal client gets everything', async () => {
    const slowServer = await startServer({
      manager: harness.manager,
      workspace: harness.workspace,
      logger: { warn: (m) => warnings.push(m) },
      sseLimits: { maxEvents: 2_000, maxBytes: 1024 * 1024 },
    });
    try {
      // A client that sends its request and never reads a byte.
      const slow = net.connect(slowServer.port, '127.0.0.1');
      await new Promise((resolve) => slow.once('connect', resolve));
      slow.pause();
      slow.write(
        `GET /api/v1/${sid}/events HTTP/1.1\r\nHost: 127.0.0.1:${slowServer.port}\r\n` +
          `Authorization: Bearer ${slowServer.token}\r\n\r\n`,
      );
      const normal = await SseClient.open(`${slowServer.url}/api/v1/${sid}/events`, {
        authorization: `Bearer ${slowServer.token}`,
      });
      clients.push(normal);
      await normal.waitFor((c) => c.frames.length >= 1, 'the snapshot');
      const start = runtime.store.log.lastSeq;
      const before = warnings.length;

      let batches = 0;
      while (!warnings.slice(before).some((w) => w.includes('dropped')) && batches < 200) {
        record(100, 1000); // ~110 KB a batch: appends return at once, whoever is listening
        batches++;
        await new Promise((r) => setTimeout(r, 1));
      }
      expect(warnings.slice(before)).toEqual([
        expect.stringMatching(new RegExp(`^dropped an event stream of ${sid}: more than 2000 events or 1048576 bytes`)),
      ]);
      const end = runtime.store.log.lastSeq;
      await normal.waitFor((c) => c.lastId === end, 'every event on the normal client', 20_000);
      // (The agent may add an event or two between the snapshot and `start`.)
      expect(normal.seqs[0]).toBeLessThanOrEqual(start + 1);
      expect(normal.seqs).toEqual(seqRange(normal.seqs[0]!, end));

      // The slow client's connection was cut: reading now gets what was in flight, then the end.
      const closed = new Promise((resolve) => slow.once('close', resolve));
      slow.on('data', () => undefined);
      slow.on('error', () => undefined);
      slow.resume();
      await closed;
    } finally {
      await slowServer.close();
    }
  });
});

describe('sessions that come and go', () => {
  it('a session on disk: snapshot, replay, heartbeats; resumed here, it goes live on the same stream', async () => {
    const other = await startSession(harness);
    other.record([noteEvent(1), noteEvent(2)]);
    other.send({ type: 'STOP' });
    await other.waitForEnd();
    harness.manager.detachAll();
    const end = other.store.log.lastSeq;

    const client = await SseClient.open(`${server.url}/api/v1/${other.sessionId}/events?lastEventId=0`, {
      authorization: `Bearer ${server.token}`,
    });
    clients.push(client);
    await client.waitFor((c) => c.lastId === end, 'the replay from disk');
    await client.waitFor((c) => c.frames.at(-1)?.comment === 'ping', 'a heartbeat after the replay');
    expect(client.ended).toBe(false);

    const resumed = harness.manager.resume(other.sessionId);
    resumed.record([noteEvent(3)]);
    await client.waitFor((c) => c.lastId === resumed.store.log.lastSeq, 'the event after the resume');
    expect(client.seqs).toEqual(seqRange(1, resumed.store.log.lastSeq));
    runtime = harness.manager.resume(sid);
    await untilHeld(runtime);
  });

  it('ends the stream when the session is detached from this server', async () => {
    const other = await startSession(harness);
    const client = await SseClient.open(`${server.url}/api/v1/${other.sessionId}/events`, {
      authorization: `Bearer ${server.token}`,
    });
    clients.push(client);
    await client.waitFor((c) => c.frames.length >= 1, 'the snapshot');
    other.send({ type: 'STOP' });
    await other.waitForEnd();
    harness.manager.detachAll();
    await client.done;
    expect(client.ended).toBe(true);
    // Later tests use the main session: give it back.
    runtime = harness.manager.resume(sid);
    await untilHeld(runtime);
  });
});

describe('closing the server', () => {
  it('ends open streams (a reading one and a stuck one) and returns', async () => {
    const closing = await startServer({ manager: harness.manager, workspace: harness.workspace, closeTimeoutMs: 500 });
    const reading = await SseClient.open(`${closing.url}/api/v1/${sid}/events`, {
      authorization: `Bearer ${closing.token}`,
    });
    clients.push(reading);
    const stuck = await SseClient.open(`${closing.url}/api/v1/${sid}/events`, {
      authorization: `Bearer ${closing.token}`,
    });
    clients.push(stuck);
    await stuck.waitFor((c) => c.frames.length >= 1, 'the snapshot');
    stuck.pause();
    // Fill the stuck client's socket, so that its stream waits for a `drain` that never comes.
    for (let i = 0; i < 30; i++) {
      record(100, 1000);
      await new Promise((r) => setTimeout(r, 1));
    }
    const end = runtime.store.log.lastSeq;
    await reading.waitFor((c) => c.lastId === end, 'the reading client to catch up', 20_000);
    await closing.close();
    await reading.done;
    expect(reading.ended).toBe(true);
    // The stuck one was cut (gracefully or by the force timeout): once it reads again it sees the end.
    stuck.resume();
    await stuck.done;
    expect(stuck.ended).toBe(true);
  });
});
