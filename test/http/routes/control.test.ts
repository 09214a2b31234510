import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ControlResponseSchema, ReviewResponseSchema } from '../../../src/http/schemas.js';
import type { SessionRuntime } from '../../../src/runtime/session-runtime.js';
import { call, json, makeHarness, removeTempDirs, startSession, testApp, waitFor, type Harness } from '../helpers.js';

let harness: Harness;
let runtime: SessionRuntime;
let sid: string;

beforeEach(async () => {
  harness = makeHarness();
  runtime = await startSession(harness, {
    task: 'two workers',
    workers: [
      { id: 'w1', agent: 'claude', role: 'implementer' },
      { id: 'w2', agent: 'gemini', role: 'architect' },
    ],
    reviews: [{ reviewer: 'gemini', target: 'w1', focus: 'code' }],
    review: { trigger: 'manual' },
  });
  sid = runtime.sessionId;
  await waitFor(() => runtime.view().workers.every((w) => w.status === 'running'), 'workers running');
});
afterEach(() => harness.cleanup());
afterAll(() => removeTempDirs());

const post = (path: string, body?: unknown) =>
  call(testApp(harness), path, { method: 'POST', ...(body !== undefined ? { body } : {}) });

describe('pause and resume', () => {
  it('pause the whole session, then resume it: 202 with the state after', async () => {
    const paused = await post(`/api/v1/${sid}/pause`);
    expect(paused.status).toBe(202);
    expect(ControlResponseSchema.parse(await json(paused))).toEqual({ ok: true, state: 'paused' });
    await waitFor(() => runtime.view().workers.every((w) => w.status === 'paused'), 'workers paused');
    const resumed = await post(`/api/v1/${sid}/resume`, {});
    expect(resumed.status).toBe(202);
    expect((await json(resumed)).state).toBe('running');
  });

  it('pause and resume one worker', async () => {
    expect((await post(`/api/v1/${sid}/pause`, { workerId: 'w1' })).status).toBe(202);
    await waitFor(() => runtime.view().workers.find((w) => w.id === 'w1')?.status === 'paused', 'w1 paused');
    expect(runtime.view().workers.find((w) => w.id === 'w2')?.status).toBe('running');
    expect((await post(`/api/v1/${sid}/resume`, { workerId: 'w1' })).status).toBe(202);
    await waitFor(() => runtime.view().workers.find((w) => w.id === 'w1')?.status === 'running', 'w1 running');
  });

  it('404 for a worker the session does not have', async () => {
    const res = await post(`/api/v1/${sid}/pause`, { workerId: 'w9' });
    expect(res.status).toBe(404);
    expect((await json(res)).error).toBe(`session ${sid} has no worker w9 (workers: w1, w2)`);
  });

  it.each([
    ['bad JSON', '{', /not valid JSON/],
    ['an unknown field', { worker: 'w1' }, /invalid body/],
    ['a worker id with a slash', { workerId: '../w1' }, /invalid body/],
    ['a worker id of the wrong type', { workerId: 1 }, /invalid body/],
    ['a JSON string', '"w1"', /invalid body/],
  ])('400 for %s', async (_what, body, message) => {
    const res = await post(`/api/v1/${sid}/pause`, body);
    expect(res.status).toBe(400);
    expect((await json(res)).error).toMatch(message);
  });
});

describe('review', () => {
  it('requests a round for one worker still at work: accepted, and it waits until the work is finished', async () => {
    const res = await post(`/api/v1/${sid}/review`, { target: 'w1' });
    expect(res.status).toBe(202);
    expect(ReviewResponseSchema.parse(await json(res))).toEqual({ ok: true, state: 'running', waitsFor: ['w1'] });
    // Only finished work is reviewed: no round (and none counted against maxRounds) while w1 runs.
    expect(runtime.view().rounds).toEqual([]);
  });

  it('404 for a target that is not a worker', async () => {
    const res = await post(`/api/v1/${sid}/review`, { target: 'nobody' });
    expect(res.status).toBe(404);
  });
});

describe('stop', () => {
  it('stops with a reason; after that every control is 409', async () => {
    const res = await post(`/api/v1/${sid}/stop`, { reason: 'enough' });
    expect(res.status).toBe(202);
    expect(['stopping', 'stopped']).toContain((await json(res)).state);
    await runtime.waitForEnd();
    expect(runtime.view().stopReason).toBe('enough');
    for (const action of ['pause', 'resume', 'stop', 'review']) {
      const again = await post(`/api/v1/${sid}/${action}`);
      expect(again.status, action).toBe(409);
      expect((await json(again)).error).toMatch(/has ended \(stopped\)/);
    }
  });

  it('400 for a reason that is not a string', async () => {
    expect((await post(`/api/v1/${sid}/stop`, { reason: 5 })).status).toBe(400);
  });
});

describe('sessions that are not here', () => {
  it('409 for a session on disk not run by this server: resume it first, or if it ended, start a new one', async () => {
    harness.manager.detachAll();
    const res = await post(`/api/v1/${sid}/pause`);
    expect(res.status).toBe(409);
    expect((await json(res)).error).toBe(
      `session ${sid} is not running in this server; \`orchestrate resume ${sid}\` first`,
    );

    const resumed = harness.manager.resume(sid);
    resumed.send({ type: 'STOP' });
    await resumed.waitForEnd();
    harness.manager.detachAll();
    const ended = await post(`/api/v1/${sid}/stop`);
    expect(ended.status).toBe(409);
    expect((await json(ended)).error).toBe(`session ${sid} has ended (stopped); start a new session instead`);
  });

  it('404 for an unknown session, 400 for what is not a session id', async () => {
    expect((await post('/api/v1/orch_20200101_000000_zzzz/pause')).status).toBe(404);
    for (const bad of [
      'orch_bad',
      '..%2F..%2Fetc',
      '..%5C..',
      'orch_20200101_000000_ZZZZ',
      'orch_20200101_000000_zzzz%00',
    ]) {
      const res = await post(`/api/v1/${bad}/pause`);
      expect(res.status, bad).toBe(400);
      expect((await json(res)).error).toBe('invalid session id');
    }
    // The URL parser resolves dot segments before routing: /api/v1/%2e%2e/pause is /api/pause.
    expect((await json(await post('/api/v1/%2e%2e/pause'))).error).toBe('no route POST /api/pause');
  });
});
