import { afterAll, describe, expect, it, vi } from 'vitest';
import { call, json, makeHarness, removeTempDirs, testApp } from './helpers.js';

const harness = makeHarness();
afterAll(() => removeTempDirs());

describe('createApp', () => {
  it('turns an unexpected error into a 500 JSON body and logs it', async () => {
    const errors: unknown[] = [];
    const app = testApp(harness, { logger: { warn: () => undefined, error: (message, error) => errors.push([message, (error as Error).message]) } });
    const list = vi.spyOn(harness.manager, 'list').mockImplementation(() => {
      throw new Error('disk on fire');
    });
    const res = await call(app, '/api/v1/sessions');
    list.mockRestore();
    expect(res.status).toBe(500);
    expect(await json(res)).toEqual({ error: 'internal error: disk on fire' });
    expect(errors).toEqual([['GET /api/v1/sessions failed', 'disk on fire']]);
  });

  it('answers JSON 404 for unknown routes and methods', async () => {
    const app = testApp(harness);
    for (const [method, path] of [['GET', '/nope'], ['GET', '/api/v1/orchestrate'], ['DELETE', '/api/v1/sessions'], ['PUT', '/api/v1/orch_20260101_000000_abcd/pause']] as const) {
      const res = await call(app, path, { method });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(await json(res)).toEqual({ error: `no route ${method} ${path}` });
    }
  });
});
