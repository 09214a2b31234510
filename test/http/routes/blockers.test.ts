import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ResolveResponseSchema } from '../../../src/http/schemas.js';
import type { SessionRuntime } from '../../../src/runtime/session-runtime.js';
import {
  AUTH_FAILS,
  call,
  json,
  makeHarness,
  removeTempDirs,
  startSession,
  testApp,
  waitFor,
  type Harness,
} from '../helpers.js';

let harness: Harness;
afterEach(() => harness.cleanup());
afterAll(() => removeTempDirs());

async function blocked(): Promise<SessionRuntime> {
  harness = makeHarness(AUTH_FAILS);
  const runtime = await startSession(harness);
  await waitFor(() => runtime.view().blockers.find((b) => b.open), 'an open blocker');
  return runtime;
}

const answer = (sid: string, id: string, body: unknown) =>
  call(testApp(harness), `/api/v1/${sid}/blockers/${id}`, { method: 'POST', body });

describe('POST /api/v1/{sid}/blockers/{id}', () => {
  it('answers a blocker with one of its options: 202, then 409 when answered again', async () => {
    const runtime = await blocked();
    const sid = runtime.sessionId;
    const blocker = runtime.view().blockers[0]!;
    expect(blocker).toMatchObject({ id: 'b1', kind: 'AUTH_REQUIRED', open: true, options: ['retry', 'skip', 'stop'] });

    const res = await answer(sid, 'b1', { choice: 'skip', text: 'no login today' });
    expect(res.status).toBe(202);
    const body = ResolveResponseSchema.parse(await json(res));
    expect(body.blocker).toMatchObject({
      id: 'b1',
      open: false,
      resolution: { choice: 'skip', text: 'no login today', by: 'api' },
    });

    const again = await answer(sid, 'b1', { choice: 'retry' });
    expect(again.status).toBe(409);
    expect((await json(again)).error).toBe('blocker b1 was already answered (skip by api)');
  });

  it('409 for a choice the blocker does not accept', async () => {
    const runtime = await blocked();
    const res = await answer(runtime.sessionId, 'b1', { choice: 'answer', text: 'here is the key' });
    expect(res.status).toBe(409);
    expect(await json(res)).toEqual({
      error: 'blocker b1 does not accept "answer": it accepts retry, skip, stop',
      details: { options: ['retry', 'skip', 'stop'] },
    });
    expect(runtime.view().blockers[0]!.open).toBe(true);
  });

  it('404 for an unknown blocker or session; 400 for bad ids and bodies', async () => {
    const runtime = await blocked();
    const sid = runtime.sessionId;
    expect((await answer(sid, 'b9', { choice: 'skip' })).status).toBe(404);
    expect((await answer('orch_20200101_000000_zzzz', 'b1', { choice: 'skip' })).status).toBe(404);
    expect((await answer(sid, 'b.1', { choice: 'skip' })).status).toBe(400);
    expect((await answer('nope', 'b1', { choice: 'skip' })).status).toBe(400);
    for (const body of [
      { choice: 'maybe' },
      {},
      { choice: 'answer' },
      { choice: 'answer', text: '  ' },
      { choice: 'skip', by: 'me' },
      { choice: 'answer', text: 'x'.repeat(20_001) },
      '{',
      '',
    ]) {
      const res = await answer(sid, 'b1', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    const unknownChoice = await json<{ details: Array<{ path: string[] }> }>(
      await answer(sid, 'b1', { choice: 'maybe' }),
    );
    expect(unknownChoice.details[0]!.path).toEqual(['choice']);
  });

  it('409 when the session is not live in this server', async () => {
    const runtime = await blocked();
    harness.manager.detachAll();
    const res = await answer(runtime.sessionId, 'b1', { choice: 'stop' });
    expect(res.status).toBe(409);
    expect((await json(res)).error).toMatch(/is not running in this server/);
  });

  it("answers the reviewers' clarification request with text", async () => {
    harness = makeHarness({
      rules: [
        {
          match: { promptIncludes: 'You review' },
          scenario: {
            verdict: {
              verdict: 'concern',
              summary: 'needs tests',
              issues: [{ severity: 'concern', message: 'no tests' }],
            },
          },
        },
      ],
    });
    const runtime = await startSession(harness, {
      task: 'build it',
      workers: [{ id: 'w1', agent: 'claude', role: 'implementer' }],
      reviews: [
        { reviewer: 'claude', target: 'w1', focus: 'tests' },
        { reviewer: 'gemini', target: 'w1', focus: 'design' },
      ],
      review: { maxRounds: 1 },
    });
    const blocker = await waitFor(() => runtime.view().blockers.find((b) => b.open), 'a clarification request');
    expect(blocker).toMatchObject({ kind: 'CLARIFICATION_NEEDED', options: ['answer', 'stop'] });
    const res = await answer(runtime.sessionId, blocker.id, {
      choice: 'answer',
      text: 'add unit tests for the parser',
    });
    expect(res.status).toBe(202);
    expect(ResolveResponseSchema.parse(await json(res)).blocker.resolution).toEqual({
      choice: 'answer',
      text: 'add unit tests for the parser',
      by: 'api',
    });
  });
});
