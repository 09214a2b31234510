import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SseHub } from '../../../src/http/sse.js';
import type { SessionRuntime } from '../../../src/runtime/session-runtime.js';
import { parseFrame } from '../sse-client.js';
import {
  call,
  json,
  makeHarness,
  noteEvent,
  removeTempDirs,
  startSession,
  testApp,
  TOKEN,
  type Harness,
} from '../helpers.js';

let harness: Harness;
let runtime: SessionRuntime;
let sid: string;

beforeAll(async () => {
  harness = makeHarness();
  runtime = await startSession(harness);
  sid = runtime.sessionId;
  runtime.record([noteEvent(1), noteEvent(2), noteEvent(3)]);
});
afterAll(async () => {
  await harness.cleanup();
  removeTempDirs();
});

/** The frames of the first chunks of an SSE body (then the stream is cancelled). */
async function firstFrames(res: Response, count: number): Promise<ReturnType<typeof parseFrame>[]> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (text.split('\n\n').length - 1 < count) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value);
  }
  await reader.cancel();
  return text
    .split('\n\n')
    .slice(0, count)
    .map((block) => parseFrame(block));
}

describe('GET /api/v1/{sid}/events (through app.request)', () => {
  it('starts with the snapshot, without an id', async () => {
    const res = await call(testApp(harness), `/api/v1/${sid}/events`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache, no-transform');
    const [snapshot] = await firstFrames(res, 1);
    expect(snapshot!.event).toBe('snapshot');
    expect(snapshot!.id).toBeUndefined();
    expect(JSON.parse(snapshot!.data!)).toMatchObject({ sessionId: sid, workers: [{ id: 'w1' }] });
  });

  it('replays after ?lastEventId= with ?token=', async () => {
    const last = runtime.store.log.lastSeq;
    const res = await call(testApp(harness), `/api/v1/${sid}/events?lastEventId=${last - 2}&token=${TOKEN}`, {
      token: null,
    });
    expect(res.status).toBe(200);
    const frames = await firstFrames(res, 3);
    expect(frames.slice(1).map((f) => Number(f.id))).toEqual([last - 1, last]);
  });

  it.each([
    ['?lastEventId=abc', {}],
    ['?lastEventId=-1', {}],
    ['?lastEventId=1.5', {}],
    ['?tail=10001', {}],
    ['?tail=x', {}],
    ['', { 'last-event-id': 'nope' }],
    ['', { 'last-event-id': '1e3' }],
  ])('400 for %s %j', async (query, headers) => {
    const res = await call(testApp(harness), `/api/v1/${sid}/events${query}`, { headers });
    expect(res.status).toBe(400);
    expect((await json(res)).error).toMatch(/^invalid (query|Last-Event-ID header)$/);
  });

  it('404 for an unknown session, 400 for a bad id, 401 without a token', async () => {
    const app = testApp(harness);
    expect((await call(app, '/api/v1/orch_20200101_000000_zzzz/events')).status).toBe(404);
    expect((await call(app, '/api/v1/not-a-session/events')).status).toBe(400);
    expect((await call(app, `/api/v1/${sid}/events`, { token: null })).status).toBe(401);
  });
});

describe('HEAD /api/v1/{sid}/events', () => {
  it('answers the headers without opening a stream', async () => {
    const streams = new SseHub();
    const res = await call(testApp(harness, { streams }), `/api/v1/${sid}/events`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(streams.size).toBe(0);
  });
});
