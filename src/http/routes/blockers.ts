/** POST /api/v1/{sid}/blockers/{id}: a person's answer to a blocker or a reviewers' clarification request. */
import { Hono } from 'hono';
import { liveRuntime, requireSession, sendTo, sessionIdOf, type ApiContext, type AppEnv } from '../context.js';
import { HttpError, parseOr400, readJson } from '../errors.js';
import { BlockerIdParam, ResolveBodySchema } from '../schemas.js';

export function blockerRoutes(ctx: ApiContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.post('/:sid/blockers/:id', async (c) => {
    const sessionId = sessionIdOf(c);
    const blockerId = parseOr400(BlockerIdParam, c.req.param('id'), 'blocker id');
    const body = parseOr400(ResolveBodySchema, await readJson(c), 'body');
    requireSession(ctx, sessionId);
    const blocker = ctx.manager.view(sessionId).blockers.find((b) => b.id === blockerId);
    if (!blocker) throw new HttpError(404, `session ${sessionId} has no blocker ${blockerId}`);
    if (!blocker.open) {
      const by = blocker.resolution ? ` (${blocker.resolution.choice}${blocker.resolution.by ? ` by ${blocker.resolution.by}` : ''})` : '';
      throw new HttpError(409, `blocker ${blockerId} was already answered${by}`);
    }
    if (!blocker.options.includes(body.choice)) {
      const accepted = blocker.options.length ? `it accepts ${blocker.options.join(', ')}` : 'it accepts no answer (the session was stopped)';
      throw new HttpError(409, `blocker ${blockerId} does not accept "${body.choice}": ${accepted}`, { options: blocker.options });
    }
    const runtime = liveRuntime(ctx, sessionId);
    const state = sendTo(runtime, {
      type: 'RESOLVE',
      blockerId,
      choice: body.choice,
      ...(body.text !== undefined ? { text: body.text } : {}),
      by: 'api',
    });
    const after = runtime.view().blockers.find((b) => b.id === blockerId) ?? blocker;
    return c.json({ ok: true as const, state, blocker: after }, 202);
  });

  return app;
}
