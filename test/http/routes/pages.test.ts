import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY } from '../../../src/http/guards.js';
import { call, json, makeHarness, removeTempDirs, startSession, tempDir, testApp } from '../helpers.js';

const harness = makeHarness();
const app = testApp(harness);

const staticDir = tempDir('static');
mkdirSync(join(staticDir, 'assets', 'js'), { recursive: true });
writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>test dashboard</title>');
writeFileSync(join(staticDir, 'assets', 'js', 'app.js'), 'console.log(1)');
writeFileSync(join(staticDir, 'assets', 'style.css'), 'body{}');
writeFileSync(join(staticDir, 'assets', 'logo.svg'), '<svg/>');
writeFileSync(join(staticDir, 'assets', 'blob.bin'), Buffer.from([0, 1, 2]));
writeFileSync(join(staticDir, 'secret.txt'), 'outside the assets folder');
symlinkSync(join(staticDir, 'secret.txt'), join(staticDir, 'assets', 'link.txt'));
const custom = testApp(harness, { staticDir });

afterAll(async () => {
  await harness.cleanup();
  removeTempDirs();
});

describe('pages', () => {
  it('GET / serves static/index.html with the CSP and no token', async () => {
    const res = await call(app, '/', { token: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(await res.text()).toMatch(/<title>/);
  });

  it('GET /inspect/{sid} serves static/inspect.html for a known session; unknown 404, bad sid 400', async () => {
    const sid = (await startSession(harness)).sessionId;
    const res = await call(app, `/inspect/${sid}`, { token: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    const unknown = await call(app, '/inspect/orch_20260101_000000_abcd', { token: null });
    expect(unknown.status).toBe(404);
    expect((await json(unknown)).error).toContain('orch_20260101_000000_abcd');
    expect((await call(app, '/inspect/..%2F..%2Fetc', { token: null })).status).toBe(400);
  });

  it('a missing page is a 404', async () => {
    const sid = (await startSession(harness)).sessionId;
    const res = await call(custom, `/inspect/${sid}`, { token: null });
    expect(res.status).toBe(404);
    expect((await json(res)).error).not.toContain(sid);
  });
});

describe('GET /assets/*', () => {
  it.each([
    ['js/app.js', 'text/javascript; charset=utf-8', 'console.log(1)'],
    ['style.css', 'text/css; charset=utf-8', 'body{}'],
    ['logo.svg', 'image/svg+xml', '<svg/>'],
    ['blob.bin', 'application/octet-stream', '\u0000\u0001\u0002'],
  ])('serves %s as %s', async (path, type, content) => {
    const res = await call(custom, `/assets/${path}`, { token: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(type);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await res.text()).toBe(content);
  });

  it.each([
    '..%2Fsecret.txt',
    'js%2F..%2F..%2Fsecret.txt',
    '.hidden',
    'js/%2E%2E%2F%2E%2E%2Fsecret.txt',
    '%zz',
    'a%00b',
    'js//app.js',
    '..%5Csecret.txt',
  ])('400 for %s', async (path) => {
    const res = await call(custom, `/assets/${path}`, { token: null });
    expect(res.status).toBe(400);
    expect(await json(res)).toHaveProperty('error');
  });

  it('404 for a missing file, a folder, and a symlink out of the folder', async () => {
    for (const path of ['nope.js', 'js', 'link.txt'])
      expect((await call(custom, `/assets/${path}`, { token: null })).status, path).toBe(404);
  });

  it('dot segments never reach the route: /assets/../secret.txt is /secret.txt', async () => {
    const res = await call(custom, '/assets/../secret.txt', { token: null });
    expect(res.status).toBe(404);
    expect((await json(res)).error).toBe('no route GET /secret.txt');
  });
});
