/** GET /api/v1/{sid}/state: the session view plus reviews, decisions and recoveries from the log. */
import { Hono } from 'hono';
import { requireSession, sessionIdOf, type ApiContext, type AppEnv } from '../context.js';

export function stateRoutes(ctx: ApiContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get('/:sid/state', (c) => {
    const sessionId = sessionIdOf(c);
    requireSession(ctx, sessionId);
    const view = ctx.manager.view(sessionId);
    const history = ctx.history.get(sessionId, view.lastSeq);
    return c.json({
      ...view,
      live: ctx.manager.get(sessionId) !== undefined,
      runner: ctx.manager.runner(sessionId),
      reviews: history.reviews,
      decisions: history.decisions,
      recoveries: history.recoveries,
    });
  });

  return app;
}
