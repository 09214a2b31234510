import { afterAll, describe, expect, it } from 'vitest';
import { HostPolicy, isLoopbackHost } from '../../src/http/guards.js';
import { call, HOST, json, makeHarness, PORT, removeTempDirs, testApp } from './helpers.js';

const harness = makeHarness();
const app = testApp(harness);

afterAll(() => removeTempDirs());

describe('Host check (DNS rebinding)', () => {
  it.each([`127.0.0.1:${PORT}`, `localhost:${PORT}`, `LOCALHOST:${PORT}`, `[::1]:${PORT}`])(
    'accepts %s',
    async (host) => {
      expect((await call(app, '/api/v1/sessions', { host })).status).toBe(200);
    },
  );

  it.each([
    ['a foreign name', `evil.example:${PORT}`],
    ['the right name on another port', '127.0.0.1:9999'],
    ['no port', '127.0.0.1'],
    ['userinfo', `x@127.0.0.1:${PORT}`],
    ['a path', `127.0.0.1:${PORT}/x`],
    ['garbage', '%%%'],
  ])('refuses %s with 403', async (_what, host) => {
    const res = await call(app, '/api/v1/sessions', { host });
    expect(res.status).toBe(403);
    expect(await json(res)).toHaveProperty('error');
  });

  it('refuses a request without Host', async () => {
    const res = await call(app, '/api/v1/sessions', { host: null });
    expect(res.status).toBe(403);
    expect((await json(res)).error).toBe('missing Host header');
  });

  it('checks before the token, and on pages too', async () => {
    expect((await call(app, '/api/v1/sessions', { host: 'evil.example', token: null })).status).toBe(403);
    expect((await call(app, '/', { host: 'evil.example', token: null })).status).toBe(403);
  });
});

describe('Origin check (cross-site requests)', () => {
  it.each([`http://${HOST}`, `http://localhost:${PORT}`, `http://[::1]:${PORT}`])(
    'accepts our own origin %s',
    async (origin) => {
      expect((await call(app, '/api/v1/sessions', { headers: { origin } })).status).toBe(200);
    },
  );

  it.each([
    'http://evil.example',
    `https://${HOST}`,
    `http://127.0.0.1:${PORT + 1}`,
    'null',
    `http://${HOST}/path`,
    'not a url',
  ])('refuses %s with 403', async (origin) => {
    const res = await call(app, '/api/v1/sessions', { headers: { origin } });
    expect(res.status).toBe(403);
    expect((await json(res)).error).toMatch(/cross-origin/);
  });

  it('refuses a cross-origin POST before it does anything', async () => {
    const res = await call(app, '/api/v1/orchestrate', {
      headers: { origin: 'http://evil.example' },
      body: { task: 'x', targetDir: harness.target },
    });
    expect(res.status).toBe(403);
    expect(harness.manager.list()).toEqual([]);
  });
});

describe('HostPolicy', () => {
  it('adds the bound host and follows the port', () => {
    const policy = new HostPolicy('192.168.1.20');
    policy.port = 8080;
    expect(policy.allowsHost('192.168.1.20:8080')).toBe(true);
    expect(policy.allowsHost('localhost:8080')).toBe(true);
    expect(policy.allowsHost('192.168.1.21:8080')).toBe(false);
    expect(policy.allowsOrigin('http://192.168.1.20:8080')).toBe(true);
  });

  it('brackets an IPv6 bind address', () => {
    const policy = new HostPolicy('fe80::1', 80);
    expect(policy.allowsHost('[fe80::1]')).toBe(true);
    expect(policy.allowsHost('[fe80::1]:80')).toBe(true);
  });

  it('knows loopback', () => {
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('127.1.2.3')).toBe(true);
    expect(isLoopbackHost('::1')).toBe(true);
    expect(isLoopbackHost('localhost')).toBe(true);
    expect(isLoopbackHost('0.0.0.0')).toBe(false);
    expect(isLoopbackHost('10.0.0.1')).toBe(false);
  });
});

describe('security headers', () => {
  it('are on API answers, errors included', async () => {
    for (const res of [await call(app, '/api/v1/sessions'), await call(app, '/api/v1/sessions', { token: null })]) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
  });
});
