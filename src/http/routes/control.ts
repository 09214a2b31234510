/** POST /api/v1/{sid}/pause | resume | stop | review: commands to a live session. */
import { Hono, type Context } from 'hono';
import type { SessionEvent } from '../../machines/session.machine.js';
import { liveRuntime, requireSession, sendTo, sessionIdOf, type ApiContext, type AppEnv } from '../context.js';
import { HttpError, parseOr400, readJson } from '../errors.js';
import { ReviewBodySchema, StopBodySchema, WorkerControlBodySchema } from '../schemas.js';

export function controlRoutes(ctx: ApiContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  const workerCommand = (type: 'PAUSE' | 'RESUME') => async (c: Context<AppEnv>) => {
    const sessionId = sessionIdOf(c);
    const body = parseOr400(WorkerControlBodySchema, await readJson(c, true), 'body');
    requireSession(ctx, sessionId);
    if (body.workerId !== undefined && !ctx.manager.view(sessionId).workers.some((w) => w.id === body.workerId)) {
      throw new HttpError(404, `session ${sessionId} has no worker ${body.workerId}`);
    }
    const runtime = liveRuntime(ctx, sessionId);
    const event: SessionEvent = body.workerId !== undefined ? { type, workerId: body.workerId } : { type };
    return c.json({ ok: true as const, state: sendTo(runtime, event) }, 202);
  };

  app.post('/:sid/pause', workerCommand('PAUSE'));
  app.post('/:sid/resume', workerCommand('RESUME'));

  app.post('/:sid/stop', async (c) => {
    const sessionId = sessionIdOf(c);
    const body = parseOr400(StopBodySchema, await readJson(c, true), 'body');
    requireSession(ctx, sessionId);
    const runtime = liveRuntime(ctx, sessionId);
    const state = sendTo(runtime, { type: 'STOP', reason: body.reason ?? 'stopped through the API' });
    return c.json({ ok: true as const, state }, 202);
  });

  app.post('/:sid/review', async (c) => {
    const sessionId = sessionIdOf(c);
    const body = parseOr400(ReviewBodySchema, await readJson(c, true), 'body');
    requireSession(ctx, sessionId);
    if (body.target !== undefined && !ctx.manager.view(sessionId).workers.some((w) => w.id === body.target && w.kind === 'worker')) {
      throw new HttpError(404, `session ${sessionId} has no worker ${body.target} to review`);
    }
    const runtime = liveRuntime(ctx, sessionId);
    const event: SessionEvent = body.target !== undefined ? { type: 'REVIEW', target: body.target } : { type: 'REVIEW' };
    return c.json({ ok: true as const, state: sendTo(runtime, event) }, 202);
  });

  return app;
}
