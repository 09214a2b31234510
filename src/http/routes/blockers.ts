/** POST /api/v1/{sid}/blockers/{id}: a person's answer to a blocker or a reviewers' clarification request. */
import { Hono } from 'hono';
import { liveRuntime, requireSession, sendTo, sessionIdOf, type ApiContext, type AppEnv } from '../context.js';
import { HttpError, parseOr400, readJson } from '../errors.js';
import { BlockerIdParam, ResolveBodySchema } from '../schemas.js';
import { checkAnswer } from '../../runtime/blocker-answer.js';

export function blockerRoutes(ctx: ApiContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.post('/:sid/blockers/:id', async (c) => {
    const sessionId = sessionIdOf(c);
    const blockerId = parseOr400(BlockerIdParam, c.req.param('id'), 'blocker id');
    const body = parseOr400(ResolveBodySchema, await readJson(c), 'body');
    requireSession(ctx, sessionId);
    const check = checkAnswer(sessionId, ctx.manager.view(sessionId).blockers, blockerId, body.choice);
    if (!check.ok)
      throw new HttpError(check.status, check.message, check.options ? { options: check.options } : undefined);
    const blocker = check.blocker;
    const runtime = liveRuntime(ctx, sessionId);
    const state = sendTo(runtime, {
      type: 'RESOLVE',
      blockerId,
      choice: body.choice,
      ...(body.text !== undefined ? { text: body.text } : {}),
      ...(body.agent !== undefined ? { agent: body.agent } : {}),
      by: body.by,
    });
    const after = runtime.view().blockers.find((b) => b.id === blockerId) ?? blocker;
    return c.json({ ok: true as const, state, blocker: after }, 202);
  });

  return app;
}
