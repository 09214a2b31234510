import { afterAll, describe, expect, it } from 'vitest';
import { generateToken, isValidToken, tokensEqual } from '../../src/http/auth.js';
import { call, json, makeHarness, removeTempDirs, testApp, TOKEN } from './helpers.js';

const harness = makeHarness();
const app = testApp(harness);
const SID = 'orch_20260101_000000_abcd';

afterAll(() => removeTempDirs());

describe('bearer token', () => {
  it('accepts the right token', async () => {
    const res = await call(app, '/api/v1/sessions');
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ sessions: [] });
  });

  it.each([
    ['no Authorization header', { token: null }],
    ['a wrong token', { token: 'nope' }],
    ['a token one character longer', { token: `${TOKEN}x` }],
    ['a prefix of the token', { token: TOKEN.slice(0, -1) }],
  ])('refuses %s with 401 and WWW-Authenticate', async (_what, options) => {
    const res = await call(app, '/api/v1/sessions', options);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await json(res)).toHaveProperty('error');
  });

  it('refuses an Authorization header that is not Bearer', async () => {
    const res = await call(app, '/api/v1/sessions', { token: null, headers: { authorization: `Basic ${TOKEN}` } });
    expect(res.status).toBe(401);
    expect((await json(res)).error).toMatch(/Bearer <token>/);
  });

  it('refuses ?token= everywhere but the events stream', async () => {
    for (const path of [
      '/api/v1/sessions',
      `/api/v1/${SID}/state`,
      `/api/v1/${SID}/logs/w1`,
      '/api/v1/machines',
      '/api/v1/openapi.json',
    ]) {
      const res = await call(app, `${path}?token=${TOKEN}`, { token: null });
      expect(res.status, path).toBe(401);
      expect((await json(res)).error).toMatch(/events stream only/);
    }
    const post = await call(app, `/api/v1/${SID}/pause?token=${TOKEN}`, { token: null, method: 'POST' });
    expect(post.status).toBe(401);
  });

  it('accepts ?token= on the events stream (then the session lookup answers)', async () => {
    const res = await call(app, `/api/v1/${SID}/events?token=${TOKEN}`, { token: null });
    expect(res.status).toBe(404);
    const wrong = await call(app, `/api/v1/${SID}/events?token=wrong`, { token: null });
    expect(wrong.status).toBe(401);
  });

  it('guards unknown /api routes too (401 before 404), and answers 404 JSON with the token', async () => {
    expect((await call(app, '/api/v1/nothing/here/at/all', { token: null })).status).toBe(401);
    const res = await call(app, '/api/v1/nothing/here/at/all');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(await json(res)).toEqual({ error: 'no route GET /api/v1/nothing/here/at/all' });
  });

  it('does not ask for a token on the pages', async () => {
    expect((await call(app, '/', { token: null })).status).toBe(200);
  });
});

describe('tokens', () => {
  it('are 32 random bytes in base64url', () => {
    const a = generateToken();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(generateToken()).not.toBe(a);
    expect(isValidToken(a)).toBe(true);
  });

  it('compare in constant time whatever the lengths', () => {
    expect(tokensEqual('abc', 'abc')).toBe(true);
    expect(tokensEqual('abc', 'abd')).toBe(false);
    expect(tokensEqual('abc', 'abcd')).toBe(false);
    expect(tokensEqual('', 'a')).toBe(false);
  });

  it('must fit a header', () => {
    expect(isValidToken('with space')).toBe(false);
    expect(isValidToken('line\nbreak')).toBe(false);
    expect(isValidToken('')).toBe(false);
  });
});
