/**
 * GET /api/v1/{sid}/events: Server-Sent Events. First `event: snapshot` (the SessionView, no id), then the
 * replay the client asked for (Last-Event-ID header, else ?lastEventId=, else ?tail=N), then live events:
 * `id: <seq>`, `event: <type>`, `data: <event JSON>`. `: ping` comments every heartbeatMs.
 */
import { Hono } from 'hono';
import { requireSession, sessionIdOf, type ApiContext, type AppEnv } from '../context.js';
import { parseOr400 } from '../errors.js';
import { EventsQuerySchema, LastEventIdSchema } from '../schemas.js';
import { startSessionFeed, type FeedStart } from '../session-feed.js';
import { messageFrame, SseStream } from '../sse.js';

export function eventRoutes(ctx: ApiContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get('/:sid/events', (c) => {
    const sessionId = sessionIdOf(c);
    const query = parseOr400(EventsQuerySchema, c.req.query(), 'query');
    // A reconnecting EventSource sends the header and the original URL: the header is the newer word.
    const header = c.req.header('last-event-id');
    const lastEventId =
      header !== undefined && header !== ''
        ? parseOr400(LastEventIdSchema, header.trim(), 'Last-Event-ID header')
        : query.lastEventId;
    requireSession(ctx, sessionId);

    const headers = {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      'X-Accel-Buffering': 'no',
    };
    // Hono answers HEAD with the GET handler and drops the body unread: no stream may be opened for it.
    if (c.req.method === 'HEAD') return c.body(null, 200, headers);

    const start: FeedStart =
      lastEventId !== undefined ? { lastEventId } : query.tail !== undefined ? { tail: query.tail } : { live: true };
    const outgoing = c.env?.outgoing;
    const stream = new SseStream({
      limits: ctx.sseLimits,
      ...(outgoing ? { abort: () => outgoing.destroy() } : {}),
      onDrop: (reason) =>
        ctx.logger?.warn(`dropped an event stream of ${sessionId}: ${reason}; it reconnects with its Last-Event-ID`),
    });
    stream.enqueue(messageFrame('snapshot', ctx.manager.view(sessionId)), false);
    startSessionFeed({ manager: ctx.manager, sessionId, stream, start, heartbeatMs: ctx.heartbeatMs });
    ctx.streams.add(stream);

    // Transfer-Encoding tells node-server not to wait for the body's end to compute a Content-Length.
    return c.body(stream.body, 200, { ...headers, 'Transfer-Encoding': 'chunked' });
  });

  return app;
}
