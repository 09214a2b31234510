/**
 * The fleet's API node (issue 16; docs/fleet.md): the API and dashboard of `orchestrate serve --store`, over the
 * Postgres store instead of a workspace. Any number of nodes may serve one database; none runs an agent.
 *
 * - POST /api/v1/orchestrate with a `repo` queues the session for the runners (202).
 * - GET /sessions, /{sid}/state and /{sid}/events (SSE, Last-Event-ID replay) read the tables (./api-views.ts,
 *   ./api-feed.ts).
 * - Every other request about a session (pause, stop, a blocker's answer, a message, its diff or logs) goes to the
 *   runner holding it through the `commands` table (./commands.ts), and the runner's own API answers it: the same
 *   checks and the same answer as from a local server. A session no runner holds gets a 409 that says why.
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import { agentUses } from '../domain/spec-agents.js';
import { createShell } from '../http/app.js';
import { type AppEnv, DEFAULT_HEARTBEAT_MS } from '../http/context.js';
import { HttpError, parseOr400, readJson } from '../http/errors.js';
import { machineRoutes } from '../http/routes/machines.js';
import { openApiRoutes } from '../http/routes/openapi.js';
import { pageRoutes } from '../http/routes/pages.js';
import { refuseSpecTypo, requestedSpec } from '../http/routes/sessions.js';
import { feedStartOf, SSE_HEADERS, sseResponse, sseStreamFor } from '../http/routes/events.js';
import { FleetOrchestrateBodySchema, SessionIdParam } from '../http/schemas.js';
import type { ServedAppDeps } from '../http/server.js';
import { feedStartSeq } from '../http/session-feed.js';
import { messageFrame } from '../http/sse.js';
import { newSessionId } from '../store/layout.js';
import type { FleetFeeds } from './api-feed.js';
import {
  type FleetRow,
  fleetHistory,
  fleetLive,
  fleetPart,
  fleetRow,
  fleetRows,
  fleetSummary,
  fleetView,
} from './api-views.js';
import type { ReplyWaiter } from './commands.js';
import type { FleetStore } from './pg-store.js';

/** Sessions listed by GET /sessions, newest first. */
const LIST_LIMIT = 200;

export interface FleetApiDeps extends ServedAppDeps {
  store: FleetStore;
  feeds: FleetFeeds;
  replies: ReplyWaiter;
  /** How long a relayed request waits for the runner's answer before it is given up (default 30 s). */
  replyWaitMs?: number;
}

export function createFleetApp(deps: FleetApiDeps): Hono<AppEnv> {
  const { store } = deps;
  const api = new Hono<AppEnv>();
  api.route('/', machineRoutes());
  api.route('/', openApiRoutes());

  api.get('/sessions', async (c) => {
    const rows = await fleetRows(store, LIST_LIMIT);
    const sessions = await Promise.all(rows.map(async (row) => fleetSummary(row, await fleetView(store, row))));
    return c.json({ sessions });
  });

  api.post('/orchestrate', async (c) => {
    const raw = await readJson(c);
    const body = parseOr400(FleetOrchestrateBodySchema, refuseSpecTypo(FleetOrchestrateBodySchema, raw), 'body');
    const spec = requestedSpec(body);
    const sessionId = newSessionId();
    const agents = [...new Set(agentUses(spec).map((use) => use.agent))].sort();
    await store.enqueue({
      id: sessionId,
      spec,
      repo: body.repo,
      base: body.base ?? 'HEAD',
      agents,
      labels: body.labels ?? [],
    });
    c.header('Location', `/api/v1/${sessionId}/state`);
    return c.json({ sessionId, state: 'queued', agents, url: `${deps.baseUrl()}/#/sessions/${sessionId}` }, 202);
  });

  api.get('/:sid/state', async (c) => {
    const row = await rowOr404(c);
    const [view, history] = await Promise.all([fleetView(store, row), fleetHistory(store, row.id)]);
    return c.json({
      ...view,
      live: fleetLive(row),
      runner: null,
      fleet: fleetPart(row),
      ...history,
    });
  });

  api.get('/:sid/events', async (c) => {
    const start = feedStartOf(c);
    const row = await rowOr404(c);
    if (c.req.method === 'HEAD') return c.body(null, 200, SSE_HEADERS);
    const view = await fleetView(store, row);
    const stream = sseStreamFor(c, row.id, deps.sseLimits, deps.logger);
    stream.enqueue(messageFrame('snapshot', { ...view, fleet: fleetPart(row) }), false);
    const after = feedStartSeq(start, view.lastSeq);
    deps.feeds.follow(row.id, stream, after, view.lastSeq, deps.heartbeatMs ?? DEFAULT_HEARTBEAT_MS);
    deps.streams.add(stream);
    return sseResponse(c, stream);
  });

  // Their changes are on the remote, not on this machine: `apply` is the user's, with git.
  for (const verb of ['apply', 'discard'])
    api.post(`/:sid/${verb}`, async (c) => {
      const row = await rowOr404(c);
      throw new HttpError(
        409,
        `session ${row.id} runs in the fleet: its branches are on its repository, not here; ` +
          `\`orchestrate apply ${row.id} --store ...\` in your checkout fetches orch/${row.id}/_result and applies it`,
        { repo: row.repo, branch: `orch/${row.id}/_result` },
      );
    });

  api.all('/:sid/*', async (c) => {
    const row = await rowOr404(c);
    refuseUnheld(row);
    const text = c.req.method === 'GET' || c.req.method === 'HEAD' ? '' : await c.req.text();
    const body = text.trim() === '' ? null : text;
    // It must be JSON, as a local server says (readJson reads the text again from Hono's cache).
    if (body !== null) await readJson(c, true);
    const url = new URL(c.req.url);
    const outcome = await deps.replies.request(
      row.id,
      { method: c.req.method, path: `${url.pathname}${url.search}`, body },
      deps.replyWaitMs ?? 30_000,
    );
    if ('answered' in outcome) {
      const { status, headers, body } = outcome.answered;
      return c.body(new Uint8Array(body), status as 200, headers);
    }
    if ('expired' in outcome)
      throw new HttpError(504, `no runner took the request for ${row.id} in time; nothing was done, try again`);
    throw new HttpError(
      504,
      `the runner of ${row.id} took the request but has not answered in time; ` +
        `its effect, if any, shows in the session's events`,
    );
  });

  return createShell({ ...deps, knownError: databaseAway }, api, pageRoutes(deps.staticDir));

  async function rowOr404(c: Context<AppEnv>): Promise<FleetRow> {
    const sessionId = parseOr400(SessionIdParam, c.req.param('sid'), 'session id');
    const row = await fleetRow(store, sessionId);
    if (!row) throw new HttpError(404, `no session ${sessionId} in this fleet`);
    return row;
  }
}

/** The database unreachable or going away (a connection refused or cut, the server shutting down): a 503. */
function databaseAway(error: unknown): HttpError | null {
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  const away =
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    code === 'ETIMEDOUT' ||
    code === '57P01' ||
    code === '57P03' ||
    (typeof code === 'string' && code.startsWith('08')) ||
    /Connection terminated|timeout exceeded when trying to connect/.test(message ?? '');
  return away ? new HttpError(503, `the fleet database is not reachable now (${message ?? code}); try again`) : null;
}

/** A 409 for a session that no runner holds now, saying why and what happens next. */
function refuseUnheld(row: FleetRow): void {
  const state = { status: row.status, runner: row.owner };
  if (row.status === 'ended')
    throw new HttpError(409, `session ${row.id} has ended (${row.outcome ?? 'ended'}); start a new session instead`, {
      ...state,
      outcome: row.outcome,
    });
  if (row.status === 'queued')
    throw new HttpError(409, `session ${row.id} is queued: no runner has taken it yet`, state);
  if (row.notBefore && !row.owner)
    throw new HttpError(
      409,
      `session ${row.id} waits until ${row.notBefore} for its agents' retry time; no runner holds it meanwhile`,
      { ...state, notBefore: row.notBefore },
    );
  if (!row.owner || !row.leased)
    throw new HttpError(
      409,
      `session ${row.id} has no runner now (its lease ran out); another runner takes it over, then try again`,
      state,
    );
}
