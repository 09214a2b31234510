/**
 * The HTTP API as a Hono app, pure of listening (src/http/server.ts listens; tests use app.request).
 *
 * Order: security headers (on every answer, errors included) -> Host/Origin guard (403) -> bearer token on
 * /api (401) -> body limit (413) -> routes. Every error is JSON {error, details?}; onError turns anything
 * unexpected into a 500, which no bad input reaches (it is a 400/404/409 before that).
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { UsageError } from '../runtime/session-manager.js';
import { SessionNotFoundError } from '../store/session-store.js';
import { bearerAuth } from './auth.js';
import { apiContext, type AppDeps, type AppEnv } from './context.js';
import { errorResponse, HttpError } from './errors.js';
import { hostOriginGuard, securityHeaders } from './guards.js';
import { blockerRoutes } from './routes/blockers.js';
import { controlRoutes } from './routes/control.js';
import { eventRoutes } from './routes/events.js';
import { logRoutes } from './routes/logs.js';
import { machineRoutes } from './routes/machines.js';
import { openApiRoutes } from './routes/openapi.js';
import { pageRoutes } from './routes/pages.js';
import { sessionRoutes } from './routes/sessions.js';
import { stateRoutes } from './routes/state.js';

export type { AppDeps } from './context.js';

/** Request bodies above this are refused with 413 (a session spec is a few KiB). */
export const BODY_LIMIT_BYTES = 1024 * 1024;

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const ctx = apiContext(deps);
  const app = new Hono<AppEnv>();

  app.use('*', securityHeaders());
  app.use('*', hostOriginGuard(deps.hosts));
  app.use('/api/*', bearerAuth(deps.token));
  app.use(
    '/api/*',
    bodyLimit({
      maxSize: BODY_LIMIT_BYTES,
      onError: () => {
        throw new HttpError(413, `the request body is larger than ${BODY_LIMIT_BYTES} bytes`);
      },
    }),
  );

  const api = new Hono<AppEnv>();
  api.route('/', sessionRoutes(ctx));
  api.route('/', machineRoutes());
  api.route('/', openApiRoutes());
  api.route('/', controlRoutes(ctx));
  api.route('/', stateRoutes(ctx));
  api.route('/', logRoutes(ctx));
  api.route('/', eventRoutes(ctx));
  api.route('/', blockerRoutes(ctx));
  app.route('/api/v1', api);
  app.route('/', pageRoutes(deps.staticDir));

  app.notFound((c) => errorResponse(c, new HttpError(404, `no route ${c.req.method} ${c.req.path}`)));
  app.onError((error, c) => {
    if (error instanceof HttpError) return errorResponse(c, error);
    if (error instanceof UsageError) return errorResponse(c, new HttpError(400, error.message));
    // The session folder went away between the existence check and the read.
    if (error instanceof SessionNotFoundError) return errorResponse(c, new HttpError(404, error.message));
    if (error instanceof HTTPException) {
      return c.json({ error: error.message || error.getResponse().statusText || 'request refused' }, error.status as ContentfulStatusCode);
    }
    deps.logger?.error?.(`${c.req.method} ${c.req.path} failed`, error);
    return c.json({ error: `internal error: ${(error as Error)?.message ?? String(error)}` }, 500);
  });

  return app;
}
