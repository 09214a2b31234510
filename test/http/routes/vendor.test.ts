/**
 * GET /vendor/{name}: the four files of installed packages the dashboard's Changes view uses (diff2html and the
 * highlight.js themes), and nothing else: the name picks an entry of a fixed table, never a path.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import { VENDOR_FILES } from '../../../src/http/routes/pages.js';
import { call, json, makeHarness, removeTempDirs, testApp } from '../helpers.js';

const harness = makeHarness();
const app = testApp(harness);
const require = createRequire(import.meta.url);

afterAll(async () => {
  await harness.cleanup();
  removeTempDirs();
});

describe('GET /vendor/{name}', () => {
  it.each([
    ['diff2html-ui-slim.min.js', 'text/javascript; charset=utf-8', 'diff2html/bundles/js/diff2html-ui-slim.min.js'],
    ['diff2html.min.css', 'text/css; charset=utf-8', 'diff2html/bundles/css/diff2html.min.css'],
    ['highlight-github.min.css', 'text/css; charset=utf-8', 'highlight.js/styles/github.min.css'],
    ['highlight-github-dark.min.css', 'text/css; charset=utf-8', 'highlight.js/styles/github-dark.min.css'],
  ])('serves %s as %s, byte for byte the installed file, without a token', async (name, type, module) => {
    const res = await call(app, `/vendor/${name}`, { token: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(type);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Buffer.from(await res.arrayBuffer()).equals(readFileSync(require.resolve(module)))).toBe(true);
  });

  it('lists exactly those four', () => {
    expect(Object.keys(VENDOR_FILES).sort()).toEqual([
      'diff2html-ui-slim.min.js',
      'diff2html.min.css',
      'highlight-github-dark.min.css',
      'highlight-github.min.css',
    ]);
  });

  it.each([
    'diff2html.min.js',
    'diff2html-ui.min.js',
    'package.json',
    'constructor',
    '__proto__',
    'toString',
    'hasOwnProperty',
    '..%2F..%2Fpackage.json',
    '..%2Fassets%2Fapp.js',
    'diff2html%2Fpackage.json',
    '%2Fetc%2Fpasswd',
    'highlight-github.min.css%00.js',
    'HIGHLIGHT-GITHUB.MIN.CSS',
  ])("404 for %s: only the table's names exist", async (name) => {
    const res = await call(app, `/vendor/${name}`, { token: null });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await json(res)).toHaveProperty('error');
  });

  it('no path below or beside a name reaches a file', async () => {
    for (const path of [
      '/vendor/diff2html/bundles/js/diff2html.min.js',
      '/vendor/highlight-github.min.css/x',
      '/vendor/',
      '/vendor',
      '/vendor/../package.json',
    ]) {
      const res = await call(app, path, { token: null });
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type'), path).toMatch(/^application\/json/);
    }
  });

  it('the Host guard applies as on every page', async () => {
    expect((await call(app, '/vendor/diff2html.min.css', { token: null, host: 'evil.example:4567' })).status).toBe(403);
  });
});
