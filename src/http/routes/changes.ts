/**
 * A session's changes: GET /api/v1/{sid}/diff (its result or one worker's change, as files or a unified diff),
 * POST /api/v1/{sid}/apply (into the user's checkout) and POST /api/v1/{sid}/discard (its checkouts and branches).
 * A request the session's state refuses (no result yet, still running, never applied) is a 409 that says why.
 */
import { Hono } from 'hono';
import { UsageError } from '../../domain/usage-error.js';
import { applySession, discardSession, sessionDiff } from '../../runtime/session-changes.js';
import { requireSession, sessionIdOf, type ApiContext, type AppEnv } from '../context.js';
import { HttpError, parseOr400, readJson } from '../errors.js';
import { ApplyBodySchema, DiffQuerySchema, DiscardBodySchema } from '../schemas.js';

/** Git busy with one request at a time per session: an apply and a discard must not interleave. */
const busy = new Set<string>();

async function refusedAs409<T>(sessionId: string, work: () => Promise<T>): Promise<T> {
  if (busy.has(sessionId))
    throw new HttpError(
      409,
      `session ${sessionId} is being applied or discarded by another request; try again when it is done`,
    );
  busy.add(sessionId);
  try {
    return await work();
  } catch (error) {
    if (error instanceof UsageError) throw new HttpError(409, error.message);
    throw error;
  } finally {
    busy.delete(sessionId);
  }
}

export function changeRoutes(ctx: ApiContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get('/:sid/diff', async (c) => {
    const sessionId = sessionIdOf(c);
    const query = parseOr400(DiffQuerySchema, c.req.query(), 'query');
    requireSession(ctx, sessionId);
    const unified = query.format === 'unified';
    let diff: Awaited<ReturnType<typeof sessionDiff>>;
    try {
      diff = await sessionDiff(ctx.manager, sessionId, { worker: query.worker, unified, binary: true });
    } catch (error) {
      if (error instanceof UsageError) throw new HttpError(/no worker/.test(error.message) ? 404 : 409, error.message);
      throw error;
    }
    if (unified) {
      return c.body(new Uint8Array(diff.text ?? Buffer.alloc(0)), 200, {
        'content-type': 'text/x-diff; charset=utf-8',
        ...(diff.note ? { 'x-orchestrate-note': encodeURIComponent(diff.note) } : {}),
      });
    }
    return c.json({ ranges: diff.ranges, files: diff.files, note: diff.note });
  });

  app.post('/:sid/apply', async (c) => {
    const sessionId = sessionIdOf(c);
    const body = parseOr400(ApplyBodySchema, await readJson(c), 'body');
    requireSession(ctx, sessionId);
    const result = await refusedAs409(sessionId, () =>
      applySession(ctx.manager, sessionId, { worker: body.worker, merge: body.merge, by: body.by }),
    );
    return c.json(result, 200);
  });

  app.post('/:sid/discard', async (c) => {
    const sessionId = sessionIdOf(c);
    const body = parseOr400(DiscardBodySchema, await readJson(c), 'body');
    requireSession(ctx, sessionId);
    return c.json(
      await refusedAs409(sessionId, () => discardSession(ctx.manager, sessionId, { force: body.force, by: body.by })),
      200,
    );
  });

  return app;
}
