/**
 * GET /api/v1/{sid}/events: Server-Sent Events. First `event: snapshot` (the SessionView, no id), then the
 * replay the client asked for (Last-Event-ID header, else ?lastEventId=, else ?tail=N), then live events:
 * `id: <seq>`, `event: <type>`, `data: <event JSON>`. `: ping` comments every heartbeatMs.
 */
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { type Context, Hono } from 'hono';
import { requireSession, sessionIdOf, type ApiContext, type AppEnv, type Logger } from '../context.js';
import { parseOr400 } from '../errors.js';
import { securityHeadersFor } from '../guards.js';
import { EventsQuerySchema, LastEventIdSchema } from '../schemas.js';
import { startSessionFeed, type FeedStart } from '../session-feed.js';
import { DEFAULT_SSE_LIMITS, messageFrame, type SseLimits, SseStream } from '../sse.js';

export function eventRoutes(ctx: ApiContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get('/:sid/events', (c) => {
    const sessionId = sessionIdOf(c);
    const start = feedStartOf(c);
    requireSession(ctx, sessionId);
    // Hono answers HEAD with the GET handler and drops the body unread: no stream may be opened for it.
    if (c.req.method === 'HEAD') return c.body(null, 200, SSE_HEADERS);
    const stream = sseStreamFor(c, sessionId, ctx.sseLimits, ctx.logger);
    stream.enqueue(messageFrame('snapshot', ctx.manager.view(sessionId)), false);
    startSessionFeed({ manager: ctx.manager, sessionId, stream, start, heartbeatMs: ctx.heartbeatMs });
    ctx.streams.add(stream);
    return sseResponse(c, stream);
  });

  return app;
}

export const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
};

/**
 * Where a client's stream starts: the Last-Event-ID header (a reconnecting EventSource sends it and the original
 * URL: the header is the newer word), else ?lastEventId=, else ?tail=N, else live.
 */
export function feedStartOf(c: Context<AppEnv>): FeedStart {
  const query = parseOr400(EventsQuerySchema, c.req.query(), 'query');
  const header = c.req.header('last-event-id');
  const lastEventId =
    header !== undefined && header !== ''
      ? parseOr400(LastEventIdSchema, header.trim(), 'Last-Event-ID header')
      : query.lastEventId;
  return lastEventId !== undefined ? { lastEventId } : query.tail !== undefined ? { tail: query.tail } : { live: true };
}

/** The stream of one client: bounded by `limits`, cut with its socket, a drop said once. */
export function sseStreamFor(
  c: Context<AppEnv>,
  sessionId: string,
  limits: SseLimits | undefined,
  logger: Logger | undefined,
): SseStream {
  const outgoing = c.env?.outgoing;
  return new SseStream({
    limits: limits ?? DEFAULT_SSE_LIMITS,
    ...(outgoing ? { abort: () => outgoing.destroy() } : {}),
    onDrop: (reason) =>
      logger?.warn(`dropped an event stream of ${sessionId}: ${reason}; it reconnects with its Last-Event-ID`),
  });
}

/**
 * The response of a stream. On a Node server the stream writes to the socket itself, with the head the shell's
 * middleware would have given it: node-server is told the response is sent. Elsewhere (app.request) it is a web
 * body; Transfer-Encoding tells node-server not to wait for its end to compute a Content-Length.
 */
export function sseResponse(c: Context<AppEnv>, stream: SseStream): Response {
  const outgoing = c.env?.outgoing;
  if (!outgoing) return c.body(stream.body, 200, { ...SSE_HEADERS, 'Transfer-Encoding': 'chunked' });
  outgoing.writeHead(200, { ...SSE_HEADERS, ...securityHeadersFor(c.req.path, SSE_HEADERS['Content-Type'], true) });
  stream.writeTo(outgoing);
  return RESPONSE_ALREADY_SENT;
}
