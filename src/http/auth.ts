/**
 * Bearer-token authentication of /api. The token is compared in constant time (over SHA-256 digests, so
 * the length does not leak either). `?token=` is accepted on the SSE route only, because EventSource cannot
 * send headers; anywhere else a token in the URL would end up in logs and history for nothing.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { HttpError } from './errors.js';

/** 32 random bytes, base64url: 43 characters. */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

/** A token must fit an Authorization header and a URL query unescaped. */
export function isValidToken(token: string): boolean {
  return /^[A-Za-z0-9._~+/=-]{1,512}$/.test(token);
}

export function tokensEqual(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}

/** GET /api/v1/{sid}/events: the one route where ?token= counts. */
const SSE_ROUTE = /^\/api\/v1\/[^/]+\/events\/?$/;

export function bearerAuth(token: string): MiddlewareHandler {
  const unauthorized = (message: string) =>
    new HttpError(401, message, undefined, { 'WWW-Authenticate': 'Bearer realm="orchestrator"' });
  return async (c, next) => {
    const header = c.req.header('authorization');
    let given: string | undefined;
    if (header !== undefined) {
      const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
      if (!match) throw unauthorized('the Authorization header must be "Bearer <token>"');
      given = match[1];
    } else {
      const query = c.req.query('token');
      if (query !== undefined) {
        if (c.req.method !== 'GET' || !SSE_ROUTE.test(c.req.path)) {
          throw unauthorized('?token= is accepted on the events stream only; send Authorization: Bearer <token>');
        }
        given = query;
      }
    }
    if (given === undefined)
      throw unauthorized('missing token: send Authorization: Bearer <token> (the token is in <workspace>/token)');
    if (!tokensEqual(given, token)) throw unauthorized('invalid token');
    await next();
  };
}
