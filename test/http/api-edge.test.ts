/**
 * Requests the API used to answer with a 202 that did nothing, a misleading 409, a 200 or a 404: each now gets
 * the status that says what happened, with a JSON body. Commands a session or worker would ignore are 409s
 * that say its state; a review of a worker nobody reviews is a 409 (not a phantom round `none`); the inspector
 * of an unknown session is a 404; a known path asked with the wrong method is a 405 with Allow; a body that is
 * not declared JSON is a 415.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { callServer } from '../../src/cli/control.js';
import { startServer } from '../../src/http/server.js';
import { manualReviewRefusal, reviewedWorkers, reviewWaitsFor } from '../../src/domain/review-targets.js';
import { SessionSpecSchema } from '../../src/domain/spec.js';
import type { SessionRuntime } from '../../src/runtime/session-runtime.js';
import {
  call,
  HOST,
  json,
  makeHarness,
  removeTempDirs,
  startSession,
  testApp,
  TOKEN,
  waitFor,
  type Harness,
} from './helpers.js';

const harnesses: Harness[] = [];
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.cleanup()));
});
afterAll(() => removeTempDirs());

/** w1 (claude) holds; w2 (gemini) completes at once; w3 (codex) waits for w1. Only w1 has a reviewer. */
async function threeWorkers(review: object = { trigger: 'manual' }) {
  const harness = makeHarness({ default: { holdMs: 60_000 }, gemini: { delayMs: 2 } });
  harnesses.push(harness);
  const runtime = await startSession(harness, {
    task: 'three workers',
    workers: [
      { id: 'w1', agent: 'claude', role: 'implementer' },
      { id: 'w2', agent: 'gemini', role: 'architect' },
      { id: 'w3', agent: 'codex', role: 'verifier', dependsOn: ['w1'] },
    ],
    reviews: [{ reviewer: 'gemini', target: 'w1', focus: 'code' }],
    review,
  });
  await waitFor(
    () => statusOf(runtime, 'w1') === 'running' && statusOf(runtime, 'w2') === 'completed',
    'w1 running, w2 completed',
  );
  const app = testApp(harness);
  const post = (path: string, body?: unknown) =>
    call(app, `/api/v1/${runtime.sessionId}${path}`, { method: 'POST', ...(body !== undefined ? { body } : {}) });
  return { harness, runtime, app, post, sid: runtime.sessionId };
}

const statusOf = (runtime: SessionRuntime, id: string) => runtime.view().workers.find((w) => w.id === id)?.status;

describe('pause and resume of one worker: only when the worker takes it', () => {
  it('409 with its state for a worker not started, one that has ended, and resume of one not paused', async () => {
    const { runtime, post } = await threeWorkers();
    const before = runtime.store.log.lastSeq;

    const notStarted = await post('/pause', { workerId: 'w3' });
    expect(notStarted.status).toBe(409);
    expect(await json(notStarted)).toEqual({
      error:
        'cannot pause worker w3: it has not started yet (spawned); only a running (or recovering) worker can be paused',
      details: { workerId: 'w3', status: 'spawned', state: 'spawned' },
    });

    const ended = await post('/pause', { workerId: 'w2' });
    expect(ended.status).toBe(409);
    expect((await json(ended)).error).toBe(
      'cannot pause worker w2: it has ended (completed); only a running (or recovering) worker can be paused',
    );

    const notPaused = await post('/resume', { workerId: 'w1' });
    expect(notPaused.status).toBe(409);
    expect(await json(notPaused)).toMatchObject({
      error: 'cannot resume worker w1: it is running; only a paused worker can be resumed',
      details: { status: 'running' },
    });

    // Nothing was sent to the session: no state change was logged.
    expect(runtime.store.log.readAfter(before).filter((e) => e.type === 'state')).toEqual([]);
    expect(statusOf(runtime, 'w1')).toBe('running');
  });

  it('pause a running worker: 202; again: 409 "paused already"; resume: 202', async () => {
    const { runtime, post } = await threeWorkers();
    expect((await post('/pause', { workerId: 'w1' })).status).toBe(202);
    await waitFor(() => statusOf(runtime, 'w1') === 'paused', 'w1 paused');
    const again = await post('/pause', { workerId: 'w1' });
    expect(again.status).toBe(409);
    expect((await json(again)).error).toMatch(/^cannot pause worker w1: it is paused already/);
    expect((await post('/resume', { workerId: 'w1' })).status).toBe(202);
    await waitFor(() => statusOf(runtime, 'w1') === 'running', 'w1 running');
  });

  it('the whole session: pausing a paused session is a 409 that says so; resume works', async () => {
    const { post } = await threeWorkers();
    const paused = await post('/pause');
    expect(await json(paused)).toEqual({ ok: true, state: 'paused' });
    const again = await post('/pause');
    expect(again.status).toBe(409);
    expect(await json(again)).toMatchObject({
      error: expect.stringMatching(/is paused already$/),
      details: { state: 'paused' },
    });
    const review = await post('/review', { target: 'w1' });
    expect(review.status).toBe(409);
    expect((await json(review)).error).toMatch(/is paused; resume it first$/);
    expect((await post('/resume')).status).toBe(202);
  });
});

describe('review: only of workers that have reviewers', () => {
  it('409 for a worker with no reviewers, naming the ones that have; no round, no decision `none`', async () => {
    const { runtime, post } = await threeWorkers();
    const before = runtime.store.log.lastSeq;
    const res = await post('/review', { target: 'w2' });
    expect(res.status).toBe(409);
    expect(await json(res)).toEqual({
      error:
        `worker w2 has no reviewers configured ` +
        `(the spec's "reviews" name no reviewer for it); workers with reviewers: w1`,
      details: { reason: 'no-reviewers', reviewed: ['w1'] },
    });
    expect(runtime.view().rounds).toEqual([]);
    expect(runtime.store.log.readAfter(before).filter((e) => e.type === 'decision')).toEqual([]);

    // The worker that has a reviewer, still at work: accepted, its round waits until w1 finishes.
    const held = await post('/review', { target: 'w1' });
    expect(held.status).toBe(202);
    expect(await json(held)).toEqual({ ok: true, state: 'running', waitsFor: ['w1'] });
    expect(runtime.view().rounds).toEqual([]);
  });

  it('finished work is reviewed at once (no waitsFor); no target: just the finished one waits for none', async () => {
    const harness = makeHarness({ default: { holdMs: 60_000 }, gemini: { delayMs: 2 } });
    harnesses.push(harness);
    const runtime = await startSession(harness, {
      task: 'two reviewed workers',
      workers: [
        { id: 'w1', agent: 'claude', role: 'implementer' },
        { id: 'w2', agent: 'gemini', role: 'architect' },
      ],
      reviews: [
        { reviewer: 'codex', target: 'w1', focus: 'code' },
        { reviewer: 'codex', target: 'w2', focus: 'design' },
      ],
      review: { trigger: 'manual' },
    });
    await waitFor(
      () => statusOf(runtime, 'w1') === 'running' && statusOf(runtime, 'w2') === 'completed',
      'w1 running, w2 completed',
    );
    const res = await call(testApp(harness), `/api/v1/${runtime.sessionId}/review`, { method: 'POST' });
    expect(res.status).toBe(202);
    expect(await json(res)).toEqual({ ok: true, state: 'running', waitsFor: ['w1'] });
    // w2's work is done: its round starts now; w1 waits in the queue for its own.
    await waitFor(() => runtime.view().rounds.length === 1, 'round-1');
    expect(runtime.view().rounds[0]).toMatchObject({
      roundId: 'round-1',
      targets: ['w2'],
      reason: 'requested by a person',
    });
  });

  it('409 without a target when no worker has reviewers, and past review.maxRounds', async () => {
    const harness = makeHarness();
    harnesses.push(harness);
    const app = testApp(harness);
    const none = await startSession(harness, {
      task: 'no reviews',
      workers: [{ id: 'w1', agent: 'claude', role: 'implementer' }],
    });
    const res = await call(app, `/api/v1/${none.sessionId}/review`, { method: 'POST' });
    expect(res.status).toBe(409);
    expect(await json(res)).toEqual({
      error: `no worker of this session has reviewers configured (the spec's "reviews" are empty)`,
      details: { reason: 'no-reviewers', reviewed: [] },
    });

    const capped = await startSession(harness, {
      task: 'no rounds allowed',
      workers: [{ id: 'w1', agent: 'claude', role: 'implementer' }],
      reviews: [{ reviewer: 'codex', target: 'w1', focus: 'code' }],
      review: { trigger: 'manual', maxRounds: 0 },
    });
    const over = await call(app, `/api/v1/${capped.sessionId}/review`, { method: 'POST', body: { target: 'w1' } });
    expect(over.status).toBe(409);
    expect(await json(over)).toMatchObject({
      error: 'the session has had 0 review round(s), its cap (review.maxRounds = 0)',
      details: { reason: 'max-rounds' },
    });
  });

  it('manualReviewRefusal and reviewedWorkers follow the spec reviews', () => {
    const spec = SessionSpecSchema.parse({
      task: 't',
      workers: [
        { id: 'a', agent: 'claude', role: 'implementer' },
        { id: 'b', agent: 'codex', role: 'verifier' },
      ],
      reviews: [
        { reviewer: 'gemini', target: 'a', focus: 'x' },
        { reviewer: 'codex', target: 'a', focus: 'y' },
      ],
    });
    expect(reviewedWorkers(spec)).toEqual(['a']);
    expect(manualReviewRefusal(spec, 'a', 0)).toBeNull();
    expect(manualReviewRefusal(spec, undefined, 2)).toBeNull();
    expect(manualReviewRefusal(spec, 'b', 0)?.reason).toBe('no-reviewers');
    expect(manualReviewRefusal(spec, 'a', 3)?.reason).toBe('max-rounds');
    // Only finished work is reviewed: an ended-unfinished target has nothing to review; one at work waits.
    const statuses: Record<string, string> = { a: 'failed', b: 'running' };
    expect(manualReviewRefusal(spec, 'a', 0, (id) => statuses[id])).toEqual({
      reason: 'nothing-to-review',
      reviewed: ['a'],
      message: 'nothing to review: a failed without finished work (only completed work is reviewed)',
    });
    expect(manualReviewRefusal(spec, undefined, 0, (id) => statuses[id])?.reason).toBe('nothing-to-review');
    statuses.a = 'running';
    expect(manualReviewRefusal(spec, 'a', 0, (id) => statuses[id])).toBeNull();
    expect(reviewWaitsFor(spec, 'a', (id) => statuses[id])).toEqual(['a']);
    for (const done of ['completed', 'reviewing', 'skipped']) {
      statuses.a = done;
      expect(
        reviewWaitsFor(spec, undefined, (id) => statuses[id]),
        done,
      ).toEqual([]);
    }
  });
});

describe('commands to a session that has ended', () => {
  it('stop (or any command) of an ended session only on disk: 409 that says it ended, not "resume first"', async () => {
    const harness = makeHarness();
    harnesses.push(harness);
    const runtime = await startSession(harness);
    runtime.send({ type: 'STOP', reason: 'done here' });
    await runtime.waitForEnd();
    harness.manager.detachAll();
    const app = testApp(harness);
    for (const action of ['stop', 'pause', 'resume', 'review']) {
      const res = await call(app, `/api/v1/${runtime.sessionId}/${action}`, { method: 'POST' });
      expect(res.status, action).toBe(409);
      expect(await json(res), action).toEqual({
        error: `session ${runtime.sessionId} has ended (stopped); start a new session instead`,
        details: { state: 'stopped', outcome: 'stopped' },
      });
    }
  });

  it('a session on disk that has not ended still gets "resume first"', async () => {
    const harness = makeHarness();
    harnesses.push(harness);
    const runtime = await startSession(harness);
    await waitFor(() => statusOf(runtime, 'w1') === 'running', 'w1 running');
    // Let go of it without stopping it (its agent keeps running), as an orchestrator that exited would.
    harness.manager.detachAll();
    const res = await call(testApp(harness), `/api/v1/${runtime.sessionId}/stop`, { method: 'POST' });
    expect(res.status).toBe(409);
    expect(await json(res)).toMatchObject({
      error:
        `session ${runtime.sessionId} is not running in this server; ` +
        `\`orchestrate resume ${runtime.sessionId}\` first`,
    });
    // Re-attach to its agent, so that the cleanup stops it.
    harness.manager.resume(runtime.sessionId);
  });
});

describe('pages and methods', () => {
  it('GET /inspect/{sid}: 404 JSON for a well-formed id of no session, 200 for one of the workspace', async () => {
    const harness = makeHarness();
    harnesses.push(harness);
    const app = testApp(harness);
    const unknown = await call(app, '/inspect/orch_20260101_000000_abcd', { token: null });
    expect(unknown.status).toBe(404);
    expect(await json(unknown)).toEqual({ error: 'no session orch_20260101_000000_abcd in this workspace' });
    const runtime = await startSession(harness);
    const known = await call(app, `/inspect/${runtime.sessionId}`, { token: null });
    expect(known.status).toBe(200);
    expect(known.headers.get('content-type')).toBe('text/html; charset=utf-8');
  });

  it('405 with Allow and a JSON body for a path another method serves; 404 for an unknown path', async () => {
    const harness = makeHarness();
    harnesses.push(harness);
    const app = testApp(harness);
    const sid = 'orch_20260101_000000_abcd';
    for (const [method, path, allow] of [
      ['GET', `/api/v1/${sid}/pause`, 'POST'],
      ['GET', `/api/v1/${sid}/blockers/b1`, 'POST'],
      ['GET', '/api/v1/orchestrate', 'POST'],
      ['HEAD', `/api/v1/${sid}/stop`, 'POST'],
      ['POST', '/api/v1/sessions', 'GET, HEAD'],
      ['DELETE', `/api/v1/${sid}/state`, 'GET, HEAD'],
      ['POST', '/', 'GET, HEAD'],
    ] as const) {
      const res = await call(app, path, { method });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get('allow'), `${method} ${path}`).toBe(allow);
      if (method !== 'HEAD') {
        expect(await json(res)).toEqual({
          error: `${method} is not allowed on ${path}; it takes ${allow}`,
          details: { allow: allow.split(', ') },
        });
      }
    }
    const missing = await call(app, '/api/v1/nothing/here/at/all');
    expect(missing.status).toBe(404);
    expect(await json(missing)).toEqual({ error: 'no route GET /api/v1/nothing/here/at/all' });
    // The token still comes first on /api.
    expect((await call(app, `/api/v1/${sid}/pause`, { token: null })).status).toBe(401);
  });
});

describe('request bodies must be declared JSON', () => {
  it('415 for text/plain, a form, or no Content-Type; the command is not carried out', async () => {
    const harness = makeHarness();
    harnesses.push(harness);
    const runtime = await startSession(harness);
    const app = testApp(harness);
    const stop = `/api/v1/${runtime.sessionId}/stop`;
    for (const type of [
      'text/plain',
      'text/plain;charset=UTF-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      const res = await call(app, stop, {
        method: 'POST',
        body: '{"reason":"csrf"}',
        headers: { 'content-type': type },
      });
      expect(res.status, type).toBe(415);
      expect(await json(res)).toEqual({
        error: `the request body must be JSON: send Content-Type: application/json (not "${type}")`,
      });
    }
    const orchestrate = await call(app, '/api/v1/orchestrate', {
      body: JSON.stringify({ targetDir: harness.target, task: 'x' }),
      headers: { 'content-type': 'text/plain' },
    });
    expect(orchestrate.status).toBe(415);
    const untyped = await app.request(stop, {
      method: 'POST',
      headers: { host: HOST, authorization: `Bearer ${TOKEN}` },
      body: new TextEncoder().encode('{"reason":"x"}'),
    });
    expect(untyped.status).toBe(415);
    expect(await json(untyped)).toEqual({
      error: 'the request body must be JSON: send Content-Type: application/json',
    });
    expect(runtime.endState()).toBeNull();
    expect(harness.manager.list()).toHaveLength(1);

    // JSON with parameters, or a +json type, is JSON; no body at all needs no type.
    const pause = await call(app, `/api/v1/${runtime.sessionId}/pause`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(pause.status).toBe(202);
    const resume = await call(app, `/api/v1/${runtime.sessionId}/resume`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/merge-patch+json' },
    });
    expect(resume.status).toBe(202);
    expect((await call(app, stop, { method: 'POST' })).status).toBe(202);
  });

  it('the OpenAPI document lists 415 for the routes that take a body, and 404 for the inspector', async () => {
    const harness = makeHarness();
    const doc = await json<{ paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }>(
      await call(testApp(harness), '/api/v1/openapi.json'),
    );
    for (const path of [
      '/api/v1/orchestrate',
      '/api/v1/{sid}/pause',
      '/api/v1/{sid}/resume',
      '/api/v1/{sid}/stop',
      '/api/v1/{sid}/review',
      '/api/v1/{sid}/blockers/{id}',
    ]) {
      expect(Object.keys(doc.paths[path]?.post?.responses ?? {}), path).toContain('415');
    }
    expect(Object.keys(doc.paths['/inspect/{sid}']?.get?.responses ?? {})).toContain('404');
  });

  it('the CLI client (callServer) declares its bodies JSON', async () => {
    const harness = makeHarness();
    harnesses.push(harness);
    const runtime = await startSession(harness);
    const server = await startServer({ manager: harness.manager, workspace: harness.workspace });
    try {
      const answer = await callServer(server, 'POST', `/api/v1/${runtime.sessionId}/stop`, { reason: 'from the CLI' });
      expect(answer).toMatchObject({ ok: true });
      await runtime.waitForEnd();
      expect(runtime.view().stopReason).toBe('from the CLI');
    } finally {
      await server.close();
    }
  });
});

describe('stop of one worker: the session goes on without it', () => {
  /** w1 (claude) runs (or fails as `w1`), w2 (codex) waits for w1; both quick unless w1 holds. */
  async function dependent(claude: object) {
    const harness = makeHarness({ claude, codex: { delayMs: 2 }, gemini: { delayMs: 2 } });
    harnesses.push(harness);
    const runtime = await startSession(harness, {
      task: 'a worker and one that waits for it',
      workers: [
        { id: 'w1', agent: 'claude', role: 'implementer' },
        { id: 'w2', agent: 'codex', role: 'verifier', dependsOn: ['w1'] },
      ],
      review: { trigger: 'manual' },
    });
    const app = testApp(harness);
    const post = (path: string, body?: unknown) =>
      call(app, `/api/v1/${runtime.sessionId}${path}`, { method: 'POST', ...(body !== undefined ? { body } : {}) });
    return { runtime, post };
  }
  const workerEnds = (runtime: SessionRuntime, id: string) =>
    runtime.store.log
      .readAfter(0)
      .filter((e) => e.type === 'state' && e.machine === 'worker' && e.id === id)
      .map((e) => (e.type === 'state' ? e.to : ''));

  it('a running worker: its agent ends, it is skipped, the one waiting on it runs, the session completes', async () => {
    const { runtime, post } = await dependent({ holdMs: 60_000 });
    await waitFor(
      () => statusOf(runtime, 'w1') === 'running' && runtime.view().workers.find((w) => w.id === 'w1')?.pid,
      'w1 running',
    );
    const pid = runtime.view().workers.find((w) => w.id === 'w1')?.pid as number;
    const res = await post('/stop', { workerId: 'w1' });
    expect(res.status).toBe(202);
    await waitFor(() => runtime.endState() === 'partial', 'the session to end (partial: one worker was skipped)');
    expect(workerEnds(runtime, 'w1').slice(-2)).toEqual(['running.stopping', 'skipped']);
    expect(statusOf(runtime, 'w2')).toBe('completed');
    expect(() => process.kill(pid, 0)).toThrow();
  });

  it('a paused worker is skipped too (not left "stopped", which would hold the session)', async () => {
    const { runtime, post } = await dependent({ holdMs: 60_000 });
    await waitFor(() => statusOf(runtime, 'w1') === 'running', 'w1 running');
    expect((await post('/pause', { workerId: 'w1' })).status).toBe(202);
    await waitFor(() => statusOf(runtime, 'w1') === 'paused', 'w1 paused');
    expect((await post('/stop', { workerId: 'w1' })).status).toBe(202);
    await waitFor(() => runtime.endState() === 'partial', 'the session to end (partial: one worker was skipped)');
    expect(statusOf(runtime, 'w1')).toBe('skipped');
  });

  it('a blocked worker: its open blocker is answered skip, by whoever stopped it', async () => {
    const { runtime, post } = await dependent({ fail: 'auth', delayMs: 2 });
    await waitFor(
      () => runtime.view().blockers.some((b) => b.open && b.workerId === 'w1'),
      'the AUTH_REQUIRED blocker',
    );
    expect((await post('/stop', { workerId: 'w1', by: 'dashboard' })).status).toBe(202);
    await waitFor(() => runtime.endState() === 'partial', 'the session to end (partial: one worker was skipped)');
    expect(runtime.view().blockers).toEqual([
      expect.objectContaining({ kind: 'AUTH_REQUIRED', open: false, resolution: { choice: 'skip', by: 'dashboard' } }),
    ]);
    expect(statusOf(runtime, 'w1')).toBe('skipped');
  });

  it("404 for no such worker, 409 for an ended one, 400 for a reason (the session's); nothing recorded", async () => {
    const { runtime, post } = await threeWorkers();
    const before = runtime.store.log.lastSeq;
    const unknown = await post('/stop', { workerId: 'nobody' });
    expect(unknown.status).toBe(404);
    expect(await json(unknown)).toEqual({
      error: `session ${runtime.sessionId} has no worker nobody (workers: w1, w2, w3)`,
    });
    const ended = await post('/stop', { workerId: 'w2' });
    expect(ended.status).toBe(409);
    expect(await json(ended)).toEqual({
      error: 'cannot stop worker w2: it has ended (completed)',
      details: { workerId: 'w2', status: 'completed', state: 'completed' },
    });
    const reason = await post('/stop', { workerId: 'w1', reason: 'enough' });
    expect(reason.status).toBe(400);
    expect(runtime.store.log.lastSeq).toBe(before);
    expect(statusOf(runtime, 'w1')).toBe('running');
  });
});
