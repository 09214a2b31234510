/** GET /api/v1/{sid}/logs/{agent}: the tail of a worker's raw stdout or stderr file. */
import { agentFilesOf } from '../../runtime/session-folder.js';
import { Hono } from 'hono';
import { requireSession, sessionIdOf, type ApiContext, type AppEnv } from '../context.js';
import { HttpError, parseOr400 } from '../errors.js';
import { readTail } from '../log-tail.js';
import { LogsQuerySchema, WorkerIdParam } from '../schemas.js';

const DEFAULT_LINES = 200;

export function logRoutes(ctx: ApiContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get('/:sid/logs/:agent', async (c) => {
    const sessionId = sessionIdOf(c);
    const name = parseOr400(WorkerIdParam, c.req.param('agent'), 'worker id or agent name');
    const query = parseOr400(LogsQuerySchema, c.req.query(), 'query');
    requireSession(ctx, sessionId);
    const workers = ctx.manager.view(sessionId).workers;
    // A worker id, or the agent of exactly one worker. Only ids from the session's own view reach the path.
    let worker = workers.find((w) => w.id === name);
    if (!worker) {
      const byAgent = workers.filter((w) => w.agent === name);
      if (byAgent.length > 1) {
        throw new HttpError(
          400,
          `${byAgent.length} workers run ${name}: ask for one of ${byAgent.map((w) => w.id).join(', ')}`,
          { workers: byAgent.map((w) => w.id) },
        );
      }
      worker = byAgent[0];
    }
    if (!worker)
      throw new HttpError(
        404,
        `session ${sessionId} has no worker or agent ${name}; ` +
          `workers: ${workers.map((w) => w.id).join(', ') || 'none yet'}`,
      );

    const stream = query.stream ?? 'stdout';
    const files = agentFilesOf(ctx.manager.workspace, sessionId, worker.id);
    const tail = await readTail(stream === 'stdout' ? files.stdout : files.stderr, query.lines ?? DEFAULT_LINES);
    return c.json({ workerId: worker.id, stream, lines: tail.lines, truncated: tail.truncated });
  });

  return app;
}
