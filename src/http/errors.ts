/**
 * Every error the API returns is JSON `{error, details?}`. Routes throw HttpError; app.onError turns it (and
 * Hono's own HTTPException) into that body. Anything else reaching onError is a bug and becomes a 500.
 */
import type { Context } from 'hono';
import type * as z from 'zod';

export class HttpError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 500 | 503 | 504,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export interface ErrorBody {
  error: string;
  details?: unknown;
}

export function errorResponse(c: Context, error: HttpError): Response {
  const body: ErrorBody = { error: error.message, ...(error.details !== undefined ? { details: error.details } : {}) };
  for (const [name, value] of Object.entries(error.headers ?? {})) c.header(name, value);
  return c.json(body, error.status);
}

/** Zod issues as plain data a client can show: where, what, which check. */
export function issuesOf(error: z.ZodError): Array<{ path: Array<string | number>; message: string; code: string }> {
  return error.issues.map((issue) => ({
    path: issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p)),
    message: issue.message,
    code: issue.code,
  }));
}

/** Parse with a zod schema, or throw a 400 that says what was wrong with `what`. */
export function parseOr400<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new HttpError(400, `invalid ${what}`, issuesOf(result.error));
  return result.data;
}

/** `application/json`, or a `+json` type such as `application/merge-patch+json`; parameters (charset) aside. */
export function isJsonContentType(value: string): boolean {
  const type = (value.split(';')[0] ?? '').trim().toLowerCase();
  return type === 'application/json' || /^application\/[a-z0-9.!#$&^_-]+\+json$/.test(type);
}

/**
 * The request body as JSON. An empty body counts as `{}` when `optional` (the control routes take an optional
 * body); text that is not JSON is a 400, never a 500. A body must come as `Content-Type: application/json`:
 * anything else (text/plain, a form) is a 415, so that a cross-site "simple" request can never carry a command.
 */
export async function readJson(c: Context, optional = false): Promise<unknown> {
  const type = c.req.header('content-type');
  if (type !== undefined && type.trim() !== '' && !isJsonContentType(type)) {
    throw new HttpError(
      415,
      `the request body must be JSON: send Content-Type: application/json (not "${type.slice(0, 100)}")`,
    );
  }
  const text = await c.req.text();
  if (text.trim() === '') {
    if (optional) return {};
    throw new HttpError(400, 'the request body is empty; send a JSON object');
  }
  if (type === undefined || type.trim() === '') {
    throw new HttpError(415, 'the request body must be JSON: send Content-Type: application/json');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new HttpError(400, 'the request body is not valid JSON', { parser: (error as Error).message });
  }
}
