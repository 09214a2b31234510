import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { SessionStateSchema } from '../../../src/http/schemas.js';
import { call, json, makeHarness, removeTempDirs, startSession, testApp, waitFor, type Harness } from '../helpers.js';

/** claude fails once (a retried server error), then works; gemini reviews and approves. */
const CONFIG = {
  rules: [
    { match: { agent: 'gemini' }, scenario: { verdict: { verdict: 'approve', summary: 'looks fine', issues: [] } } },
  ],
  claude: { fail: 'server_error', failTimes: 1 },
};
const SPEC = {
  task: 'fix it',
  workers: [{ id: 'w1', agent: 'claude', role: 'implementer' }],
  reviews: [{ reviewer: 'gemini', target: 'w1', focus: 'correctness' }],
  limits: { backoffBaseMs: 10, backoffMaxMs: 20 },
};

let harness: Harness;
afterEach(() => harness.cleanup());
afterAll(() => removeTempDirs());

describe('GET /api/v1/{sid}/state', () => {
  it('is the session view plus its reviews, decisions and recoveries, live and from disk', async () => {
    harness = makeHarness(CONFIG);
    const runtime = await startSession(harness, SPEC);
    await waitFor(() => runtime.endState() === 'completed', 'the session to complete');
    const app = testApp(harness);

    const res = await call(app, `/api/v1/${runtime.sessionId}/state`);
    expect(res.status).toBe(200);
    const live = SessionStateSchema.parse(await json(res));
    expect(live).toMatchObject({
      sessionId: runtime.sessionId,
      live: true,
      state: 'completed',
      outcome: 'completed',
      task: 'fix it',
    });
    expect(live.workers.find((w) => w.id === 'w1')).toMatchObject({
      status: 'completed',
      progress: 1,
      agent: 'claude',
    });
    expect(live.recoveries.map((r) => [r.workerId, r.signal.kind, r.action])).toEqual([
      ['w1', 'server_error', 'backoff_and_relaunch'],
    ]);
    expect(live.reviews.map((r) => [r.reviewer, r.target, r.verdict.verdict])).toEqual([['gemini', 'w1', 'approve']]);
    expect(live.decisions.map((d) => d.decision)).toEqual(['CONTINUE']);
    expect(live.lastSeq).toBe(runtime.store.log.lastSeq);

    harness.manager.detachAll();
    const disk = SessionStateSchema.parse(await json(await call(app, `/api/v1/${runtime.sessionId}/state`)));
    expect(disk.live).toBe(false);
    // Who runs it: this process while it was live, nobody once it is only on disk.
    expect(live.runner).toMatchObject({ pid: process.pid });
    expect(disk.runner).toBeNull();
    expect({ ...disk, live: true, runner: live.runner }).toEqual(live);
  });

  it('keeps an index fed by the log: repeated GETs do not re-read it', async () => {
    harness = makeHarness();
    const runtime = await startSession(harness);
    const app = testApp(harness);
    const path = `/api/v1/${runtime.sessionId}/state`;
    expect((await json(await call(app, path))).recoveries).toEqual([]);

    const readAfter = vi.spyOn(runtime.store.log, 'readAfter');
    runtime.record([
      {
        type: 'recovery',
        source: { kind: 'supervisor', id: runtime.sessionId },
        workerId: 'w1',
        signal: { kind: 'network', message: 'offline' },
        action: 'backoff_and_relaunch',
        attempt: 1,
        detail: 'recorded by the test',
      },
    ]);
    const state = SessionStateSchema.parse(await json(await call(app, path)));
    expect(state.recoveries.map((r) => r.detail)).toEqual(['recorded by the test']);
    await call(app, path);
    expect(readAfter).not.toHaveBeenCalled();
  });

  it('404 for an unknown session, 400 for a bad id', async () => {
    harness = makeHarness();
    const app = testApp(harness);
    const res = await call(app, '/api/v1/orch_20200101_000000_zzzz/state');
    expect(res.status).toBe(404);
    expect(await json(res)).toEqual({ error: 'no session orch_20200101_000000_zzzz in this workspace' });
    expect((await call(app, '/api/v1/orch_2020/state')).status).toBe(400);
  });
});
