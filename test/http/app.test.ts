import { afterAll, describe, expect, it, vi } from 'vitest';
import { call, json, makeHarness, removeTempDirs, testApp } from './helpers.js';

const harness = makeHarness();
afterAll(() => removeTempDirs());

describe('createApp', () => {
  it('turns an unexpected error into a 500 JSON body and logs it', async () => {
    const errors: unknown[] = [];
    const app = testApp(harness, {
      logger: { warn: () => undefined, error: (message, error) => errors.push([message, (error as Error).message]) },
    });
    const list = vi.spyOn(harness.manager, 'list').mockImplementation(() => {
      throw new Error('disk on fire');
    });
    const res = await call(app, '/api/v1/sessions');
    list.mockRestore();
    expect(res.status).toBe(500);
    expect(await json(res)).toEqual({ error: 'internal error: disk on fire' });
    expect(errors).toEqual([['GET /api/v1/sessions failed', 'disk on fire']]);
  });

  it('answers JSON 404 for an unknown path, 405 with Allow for a known path asked with another method', async () => {
    const app = testApp(harness);
    const unknown = await call(app, '/nope', { method: 'GET' });
    expect(unknown.status).toBe(404);
    expect(await json(unknown)).toEqual({ error: 'no route GET /nope' });
    for (const [method, path, allow] of [
      ['GET', '/api/v1/orchestrate', 'POST'],
      ['DELETE', '/api/v1/sessions', 'GET, HEAD'],
      ['PUT', '/api/v1/orch_20260101_000000_abcd/pause', 'POST'],
    ] as const) {
      const res = await call(app, path, { method });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get('allow'), `${method} ${path}`).toBe(allow);
      expect(await json(res)).toMatchObject({ error: `${method} is not allowed on ${path}; it takes ${allow}` });
    }
  });
});
