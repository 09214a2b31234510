import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { OrchestrateResponseSchema, SessionsResponseSchema } from '../../../src/http/schemas.js';
import { call, json, makeHarness, oneWorker, removeTempDirs, startSession, testApp, type Harness } from '../helpers.js';

let harness: Harness = makeHarness();
afterEach(async () => {
  await harness.cleanup();
  harness = makeHarness();
});
afterAll(async () => {
  await harness.cleanup();
  removeTempDirs();
});

describe('POST /api/v1/orchestrate', () => {
  it('starts a session from a task and the agents to use: 201 {sessionId, url}', async () => {
    const app = testApp(harness, { baseUrl: () => 'http://127.0.0.1:4567' });
    const res = await call(app, '/api/v1/orchestrate', {
      body: { task: 'add a README', targetDir: harness.target, agents: ['claude'] },
    });
    expect(res.status).toBe(201);
    const body = OrchestrateResponseSchema.parse(await json(res));
    expect(body.url).toBe(`http://127.0.0.1:4567/#/sessions/${body.sessionId}`);
    expect(res.headers.get('location')).toBe(`/api/v1/${body.sessionId}/state`);
    const runtime = harness.manager.get(body.sessionId);
    expect(runtime).toBeDefined();
    // Only claude's worker is left of the default trio, and its dependency on the architect is gone.
    expect(runtime!.view().workers.map((w) => [w.id, w.agent, w.dependsOn])).toEqual([['implementer', 'claude', []]]);
    expect(runtime!.view().task).toBe('add a README');
  });

  it('takes a full spec, a relative targetDir, and a task that replaces the spec task', async () => {
    const app = testApp(harness);
    const res = await call(app, '/api/v1/orchestrate', {
      body: { spec: oneWorker('from the spec'), task: 'from the body', targetDir: '.' },
    });
    expect(res.status).toBe(201);
    const { sessionId } = await json<{ sessionId: string }>(res);
    const view = harness.manager.view(sessionId);
    expect(view.task).toBe('from the body');
    expect(view.targetDir).toBe(harness.target);
    expect(view.workers.map((w) => w.id)).toEqual(['w1']);
  });

  it('never puts the token in the response', async () => {
    const app = testApp(harness);
    const res = await call(app, '/api/v1/orchestrate', { body: { spec: oneWorker(), targetDir: harness.target } });
    expect(await res.text()).not.toContain('test-token');
  });

  it.each([
    ['bad JSON', '{"task": ', /not valid JSON/],
    ['an empty body', '', /empty/],
    ['a JSON array', '[]', /invalid body/],
    ['no task and no spec', { targetDir: '/tmp' }, /invalid body/],
    ['an unknown field', { task: 'x', targetDir: '/tmp', extra: 1 }, /invalid body/],
    ['a spec without workers', { spec: { task: 'x', workers: [] }, targetDir: '/tmp' }, /invalid body/],
    [
      'a spec with a dependency cycle',
      {
        spec: {
          task: 'x',
          workers: [
            { id: 'a', agent: 'claude', role: 'r', dependsOn: ['b'] },
            { id: 'b', agent: 'claude', role: 'r', dependsOn: ['a'] },
          ],
        },
        targetDir: '/tmp',
      },
      /invalid body/,
    ],
    [
      'a worker id that names a path',
      { spec: { task: 'x', workers: [{ id: '../x', agent: 'claude', role: 'r' }] }, targetDir: '/tmp' },
      /invalid body/,
    ],
    ['an unknown agent', { task: 'x', targetDir: '/tmp', agents: ['cursor'] }, /unknown agents: cursor/],
    ['agents that leave no worker', { spec: oneWorker(), targetDir: '/tmp', agents: ['codex'] }, /no session is left/],
    ['a spec with an unknown agent', { spec: oneWorker('x', 'aider'), targetDir: '/tmp' }, /unknown agent\(s\) aider/],
    ['a missing targetDir', { task: 'x', targetDir: '/definitely/not/here' }, /not an existing directory/],
    ['a targetDir that is a file', { task: 'x', targetDir: '/etc/hostname' }, /not an existing directory/],
    ['a task of the wrong type', { task: 42, targetDir: '/tmp' }, /invalid body/],
    [
      'a spec with a typo in a key',
      { spec: { ...oneWorker(), reviewz: [] }, targetDir: '/tmp' },
      /^invalid body: spec: unknown key "reviewz" \(did you mean "reviews"\?\)$/,
    ],
    [
      'a custom role without a prompt',
      { spec: { task: 'x', workers: [{ id: 'docs', agent: 'claude', role: 'writer' }] }, targetDir: '/tmp' },
      /invalid body/,
    ],
  ])('answers 400 to %s', async (_what, body, message) => {
    const app = testApp(harness);
    const res = await call(app, '/api/v1/orchestrate', { body });
    expect(res.status).toBe(400);
    const error = await json<{ error: string; details?: unknown }>(res);
    expect(error.error).toMatch(message);
    expect(harness.manager.list()).toEqual([]);
  });

  it('lists the zod issues in details', async () => {
    const res = await call(testApp(harness), '/api/v1/orchestrate', {
      body: { spec: { task: '', workers: [] }, targetDir: '/tmp' },
    });
    const { details } = await json<{ details: Array<{ path: unknown[]; message: string }> }>(res);
    expect(details.map((d) => d.path.join('.'))).toEqual(expect.arrayContaining(['spec.task', 'spec.workers']));
  });

  it('answers 413 past 1 MiB, with or without Content-Length', async () => {
    const app = testApp(harness);
    const big = JSON.stringify({ task: 'x'.repeat(1024 * 1024 + 10), targetDir: harness.target });
    const withLength = await call(app, '/api/v1/orchestrate', {
      body: big,
      headers: { 'content-length': String(Buffer.byteLength(big)) },
    });
    expect(withLength.status).toBe(413);
    expect(await json(withLength)).toEqual({ error: 'the request body is larger than 1048576 bytes' });
    const streamed = await call(app, '/api/v1/orchestrate', { body: big });
    expect(streamed.status).toBe(413);
    expect(harness.manager.list()).toEqual([]);
  });
});

describe('GET /api/v1/sessions', () => {
  it('lists live and on-disk sessions', async () => {
    const app = testApp(harness);
    const first = await startSession(harness);
    await harness.cleanup(); // stopped and detached: on disk only
    const second = await startSession(harness);
    const res = await call(app, '/api/v1/sessions');
    expect(res.status).toBe(200);
    const { sessions } = SessionsResponseSchema.parse(await json(res));
    const byId = new Map(sessions.map((s) => [s.sessionId, s]));
    expect(byId.get(first.sessionId)).toMatchObject({ live: false, outcome: 'stopped' });
    expect(byId.get(second.sessionId)).toMatchObject({
      live: true,
      outcome: null,
      workers: [{ id: 'w1', agent: 'claude' }],
    });
  });
});
