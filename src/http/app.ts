/**
 * The HTTP API as a Hono app, pure of listening (src/http/server.ts listens; tests use app.request).
 *
 * Order: security headers (on every answer, errors included) -> Host/Origin guard (403) -> bearer token on
 * /api (401) -> body limit (413) -> routes (a body that is not JSON: 415). A path no route has is a 404; a path
 * some route has, asked with another method, is a 405 with `Allow`. Every error is JSON {error, details?};
 * onError turns anything unexpected into a 500, which no bad input reaches (it is a 4xx before that).
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { UsageError } from '../runtime/session-manager.js';
import { SessionNotFoundError } from '../runtime/session-folder.js';
import { bearerAuth } from './auth.js';
import { apiContext, type AppDeps, type AppEnv, type Logger } from './context.js';
import { errorResponse, HttpError } from './errors.js';
import { type HostPolicy, hostOriginGuard, securityHeaders } from './guards.js';
import { blockerRoutes } from './routes/blockers.js';
import { changeRoutes } from './routes/changes.js';
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
  const api = new Hono<AppEnv>();
  api.route('/', sessionRoutes(ctx));
  api.route('/', machineRoutes());
  api.route('/', openApiRoutes());
  api.route('/', controlRoutes(ctx));
  api.route('/', stateRoutes(ctx));
  api.route('/', logRoutes(ctx));
  api.route('/', eventRoutes(ctx));
  api.route('/', blockerRoutes(ctx));
  api.route('/', changeRoutes(ctx));
  return createShell(
    deps,
    api,
    pageRoutes(deps.staticDir, (sessionId) => deps.manager.has(sessionId)),
  );
}

/** What every app of ours shares, whatever serves its sessions (this workspace, or a fleet's database). */
export interface ShellDeps {
  token: string;
  hosts: HostPolicy;
  logger?: Logger;
  /** An error of the app's own backing store as the answer it deserves (the fleet's database away: 503), else null. */
  knownError?: (error: unknown) => HttpError | null;
}

/**
 * The API routes (under /api/v1) and pages behind our guards, limits and error answers: security headers, Host and
 * Origin, the bearer token, the body limit, a JSON 404 or 405 for what no route takes, and a 500 for nothing a
 * request can cause. The fleet's API node (src/fleet/api.ts) mounts its own routes in the same shell.
 */
export function createShell(deps: ShellDeps, api: Hono<AppEnv>, pages: Hono<AppEnv>): Hono<AppEnv> {
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
  app.route('/api/v1', api);
  app.route('/', pages);

  const methodsFor = routeMethods(app);
  app.notFound((c) => {
    const allow = methodsFor(c.req.path);
    if (allow.length > 0) {
      return errorResponse(
        c,
        new HttpError(
          405,
          `${c.req.method} is not allowed on ${c.req.path}; it takes ${allow.join(', ')}`,
          { allow },
          { Allow: allow.join(', ') },
        ),
      );
    }
    return errorResponse(c, new HttpError(404, `no route ${c.req.method} ${c.req.path}`));
  });
  app.onError((error, c) => {
    if (error instanceof HttpError) return errorResponse(c, error);
    const known = deps.knownError?.(error);
    if (known) return errorResponse(c, known);
    if (error instanceof UsageError) return errorResponse(c, new HttpError(400, error.message));
    // The session folder went away between the existence check and the read.
    if (error instanceof SessionNotFoundError) return errorResponse(c, new HttpError(404, error.message));
    if (error instanceof HTTPException) {
      return c.json(
        { error: error.message || error.getResponse().statusText || 'request refused' },
        error.status as ContentfulStatusCode,
      );
    }
    deps.logger?.error?.(`${c.req.method} ${c.req.path} failed`, error);
    return c.json({ error: `internal error: ${(error as Error)?.message ?? String(error)}` }, 500);
  });

  return app;
}

/**
 * The methods the app's routes take for a path (GET routes also take HEAD), from its route table: an answer
 * for "this path exists, but not with that method". Middleware (method ALL) does not count.
 */
function routeMethods(app: Hono<AppEnv>): (path: string) => string[] {
  let table: Array<{ method: string; pattern: RegExp }> | null = null;
  return (path) => {
    table ??= app.routes
      .filter((r) => r.method !== 'ALL')
      .map((r) => ({ method: r.method.toUpperCase(), pattern: pathPattern(r.path) }));
    const methods = new Set<string>();
    for (const route of table) if (route.pattern.test(path)) methods.add(route.method);
    if (methods.has('GET')) methods.add('HEAD');
    return [...methods];
  };
}

/** A Hono route path as a RegExp: `:param` is one segment, a trailing `*` anything. */
function pathPattern(path: string): RegExp {
  const source = path
    .split('/')
    .map((segment) => {
      if (segment === '*') return '.*';
      if (segment.startsWith(':')) return '[^/]+';
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${source}$`);
}
