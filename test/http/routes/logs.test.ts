import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LogsResponseSchema } from '../../../src/http/schemas.js';
import type { SessionRuntime } from '../../../src/runtime/session-runtime.js';
import { call, json, makeHarness, removeTempDirs, startSession, testApp, waitFor, type Harness } from '../helpers.js';

let harness: Harness;
let runtime: SessionRuntime;
let sid: string;

beforeEach(async () => {
  harness = makeHarness();
  runtime = await startSession(harness, {
    task: 'logs',
    workers: [
      { id: 'w1', agent: 'claude', role: 'implementer' },
      { id: 'w2', agent: 'gemini', role: 'verifier', dependsOn: ['w1'] },
      { id: 'w3', agent: 'gemini', role: 'verifier', dependsOn: ['w1'] },
    ],
  });
  sid = runtime.sessionId;
});
afterEach(() => harness.cleanup());
afterAll(() => removeTempDirs());

const get = (path: string) => call(testApp(harness), path);

describe('GET /api/v1/{sid}/logs/{agent}', () => {
  it("tails a live worker's stdout, by worker id or by its agent's name", async () => {
    await waitFor(() => runtime.view().workers.find((w) => w.id === 'w1')?.agentSessionId, 'claude to start');
    const res = await get(`/api/v1/${sid}/logs/w1`);
    expect(res.status).toBe(200);
    const body = LogsResponseSchema.parse(await json(res));
    expect(body).toMatchObject({ workerId: 'w1', stream: 'stdout', truncated: false });
    expect(JSON.parse(body.lines[0]!)).toMatchObject({ type: 'system', subtype: 'init' });
    expect(LogsResponseSchema.parse(await json(await get(`/api/v1/${sid}/logs/claude`))).workerId).toBe('w1');
  });

  it('returns the last ?lines= of ?stream=, and says whether there is more', async () => {
    runtime.send({ type: 'STOP' });
    await runtime.waitForEnd();
    harness.manager.detachAll();
    const agents = join(harness.manager.sessionsRoot, sid, 'agents');
    writeFileSync(
      join(agents, 'w1.stdout.jsonl'),
      ['{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}', '{"n":5}', ''].join('\n'),
    );
    writeFileSync(join(agents, 'w1.stderr.log'), 'first\nsecond\nlast without newline');

    expect(await json(await get(`/api/v1/${sid}/logs/w1?lines=2`))).toEqual({
      workerId: 'w1',
      stream: 'stdout',
      lines: ['{"n":4}', '{"n":5}'],
      truncated: true,
    });
    expect(await json(await get(`/api/v1/${sid}/logs/w1`))).toMatchObject({
      lines: ['{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}', '{"n":5}'],
      truncated: false,
    });
    expect(await json(await get(`/api/v1/${sid}/logs/w1?stream=stderr&lines=10000`))).toEqual({
      workerId: 'w1',
      stream: 'stderr',
      lines: ['first', 'second', 'last without newline'],
      truncated: false,
    });
  });

  it('an empty list for a worker that has not run yet', async () => {
    expect(await json(await get(`/api/v1/${sid}/logs/w2`))).toEqual({
      workerId: 'w2',
      stream: 'stdout',
      lines: [],
      truncated: false,
    });
  });

  it('400 for an agent name that several workers run', async () => {
    const res = await get(`/api/v1/${sid}/logs/gemini`);
    expect(res.status).toBe(400);
    expect(await json(res)).toEqual({
      error: '2 workers run gemini: ask for one of w2, w3',
      details: { workers: ['w2', 'w3'] },
    });
  });

  it('404 for a worker or agent the session does not have, and for an unknown session', async () => {
    const res = await get(`/api/v1/${sid}/logs/codex`);
    expect(res.status).toBe(404);
    expect((await json(res)).error).toMatch(/no worker or agent codex; workers: w1, w2, w3/);
    expect((await get('/api/v1/orch_20200101_000000_zzzz/logs/w1')).status).toBe(404);
  });

  it.each(['lines=0', 'lines=10001', 'lines=abc', 'lines=-1', 'lines=1e3', 'lines=', 'stream=stdin'])(
    '400 for ?%s',
    async (query) => {
      const res = await get(`/api/v1/${sid}/logs/w1?${query}`);
      expect(res.status).toBe(400);
      expect((await json(res)).error).toBe('invalid query');
    },
  );

  it.each(['..%2Fsession.json', '.hidden', 'w1.stdout.jsonl', '%2Fetc%2Fpasswd', 'a%00b', 'x'.repeat(65)])(
    '400 for the name %s (it could leave the agents folder)',
    async (name) => {
      const res = await get(`/api/v1/${sid}/logs/${name}`);
      expect(res.status).toBe(400);
      expect((await json(res)).error).toBe('invalid worker id or agent name');
    },
  );
});
