/**
 * `--inspect stately`: a relay between the orchestrator's XState inspection events and Stately's hosted
 * inspector (https://stately.ai/inspect) in a browser, as @statelyai/inspect's own relay does, but bound to
 * 127.0.0.1 (theirs listens on every interface) and refusing WebSocket connections from any other web page
 * (a WebSocket is not subject to CORS: without the Origin check, any site the person visits could read the
 * session's inspection events from ws://localhost). Opening the page is left to the person (no shell).
 *
 * The page at http://localhost:PORT embeds the hosted inspector in an iframe and hands it every message the
 * relay receives; the orchestrator connects with createWebSocketInspector({ url: 'ws://localhost:PORT' }).
 */
import { createServer, type Server } from 'node:http';
import { createInspector } from '@statelyai/inspect';
import { WebSocket, WebSocketServer } from 'ws';

export const STATELY_INSPECTOR_URL = 'https://stately.ai/inspect';
/** What @statelyai/inspect's WebSocket inspector connects to by default. */
export const DEFAULT_RELAY_PORT = 8080;
/** Messages kept for a page that opens after the session started. */
const BUFFER = 500;

export interface StatelyRelay {
  /** The page to open. */
  pageUrl: string;
  /** Where the inspector sends its events. */
  wsUrl: string;
  port: number;
  close(): Promise<void>;
}

/** Start the relay on 127.0.0.1:port (0: any free port). Rejects with the listen error (EADDRINUSE ...). */
export function startStatelyRelay(port = DEFAULT_RELAY_PORT): Promise<StatelyRelay> {
  const buffer: string[] = [];
  let server: Server;
  /** The port listened on (`port` may be 0: any free port). */
  const bound = () => {
    const address = server.address();
    return typeof address === 'object' && address ? address.port : port;
  };
  server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/') !== '/') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    res
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
      .end(bridgePage(bound()));
  });
  const wss = new WebSocketServer({
    server,
    // The orchestrator (Node: no Origin) and the relay's own page; no other web page.
    verifyClient: ({ origin }: { origin?: string }) =>
      !origin || origin === `http://localhost:${bound()}` || origin === `http://127.0.0.1:${bound()}`,
  });
  // The server's own errors (a taken port) reach the caller through listen; ws re-emits them here too.
  wss.on('error', () => undefined);
  wss.on('connection', (socket) => {
    for (const message of buffer) socket.send(message);
    socket.on('message', (data) => {
      const message = data.toString();
      buffer.push(message);
      if (buffer.length > BUFFER) buffer.shift();
      for (const client of wss.clients)
        if (client !== socket && client.readyState === WebSocket.OPEN) client.send(message);
    });
    socket.on('error', () => undefined);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      // Neither holds the process: the CLI ends when its session does.
      server.unref();
      resolve({
        port: bound(),
        pageUrl: `http://localhost:${bound()}`,
        wsUrl: `ws://localhost:${bound()}`,
        close: () =>
          new Promise<void>((done) => {
            for (const client of wss.clients) client.terminate();
            wss.close();
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

function bridgePage(port: number): string {
  const inspectorOrigin = new URL(STATELY_INSPECTOR_URL).origin;
  return `<!doctype html>
<html>
<head>
  <meta charset="utf-8">
  <title>meta-orchestrator · Stately inspector</title>
  <style>html, body { height: 100%; margin: 0; } iframe { width: 100%; height: 100%; border: 0; }</style>
</head>
<body>
  <iframe id="inspector" src="${STATELY_INSPECTOR_URL}"></iframe>
  <script>
    const frame = document.getElementById('inspector');
    const waiting = [];
    let ready = false;
    const deliver = (data) => frame.contentWindow.postMessage(data, '${inspectorOrigin}');
    window.addEventListener('message', (e) => {
      if (e.origin !== '${inspectorOrigin}' || !e.data || e.data.type !== '@statelyai.connected') return;
      ready = true;
      waiting.splice(0).forEach(deliver);
    });
    const ws = new WebSocket('ws://' + location.hostname + ':${port}');
    ws.onmessage = (event) => {
      const data = JSON.parse(event.data);
      if (ready) deliver(data);
      else waiting.push(data);
    };
  </script>
</body>
</html>
`;
}

/** Inspection events kept while the relay is not reachable (the oldest go first). */
const MAX_DEFERRED = 1_000;

export interface InspectionClient {
  /** Hand to the session runtime: XState inspection events. */
  inspect(event: InspectionEventLike): void;
  /** Send what is queued, then close; never keeps the process alive past `graceMs`. */
  close(graceMs?: number): Promise<void>;
}

type InspectionEventLike = Parameters<NonNullable<ReturnType<typeof createInspector>['inspect']['next']>>[0];

/**
 * @statelyai/inspect's inspector (its conversion of XState events) over our own WebSocket client: theirs
 * retries a failed connection every 5 s on a timer that `stop()` does not cancel, so a CLI pointed at a port
 * where no relay answers never exited. Ours retries on an unref'd timer that close() cancels.
 */
export function connectInspector(url: string): InspectionClient {
  let socket: WebSocket | null = null;
  let open = false;
  let closed = false;
  let retry: NodeJS.Timeout | null = null;
  const deferred: string[] = [];
  const connect = () => {
    if (closed) return;
    const ws = new WebSocket(url);
    socket = ws;
    ws.on('open', () => {
      open = true;
      for (const message of deferred.splice(0)) ws.send(message);
    });
    ws.on('error', () => undefined); // 'close' follows
    ws.on('close', () => {
      open = false;
      if (closed) return;
      retry = setTimeout(connect, 5_000);
      retry.unref();
    });
  };
  const inspector = createInspector({
    send(event) {
      let text: string;
      try {
        text = JSON.stringify(event);
      } catch {
        return; // not serializable: the inspector does without this one
      }
      if (open && socket) socket.send(text);
      else {
        deferred.push(text);
        if (deferred.length > MAX_DEFERRED) deferred.shift();
      }
    },
  });
  connect();
  return {
    inspect: (event) => inspector.inspect.next?.(event),
    close: async (graceMs = 1_000) => {
      // The inspector converts events on a zero-delay timer: let the last ones through.
      await new Promise((resolve) => setTimeout(resolve, 20));
      closed = true;
      if (retry) clearTimeout(retry);
      const ws = socket;
      if (!ws || ws.readyState === WebSocket.CLOSED) return;
      if (ws.readyState !== WebSocket.OPEN) {
        ws.terminate();
        return;
      }
      // A close handshake sends what is queued first; a relay that does not answer it is cut off.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          ws.terminate();
          resolve();
        }, graceMs);
        ws.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        ws.close();
      });
    },
  };
}
