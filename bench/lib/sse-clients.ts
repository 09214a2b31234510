/**
 * Child process holding many SSE clients (real node:http connections, one socket each) against a session's
 * event stream, so that reading them costs the orchestrator process nothing. Driven over IPC by SsePool.
 *
 * Messages in:  {type:'open', url, token, count, slow, measureLatency, chaos?}
 *               {type:'target', seq}        report {type:'reached', at} once every fast client has seq
 *               {type:'stats'}              report {type:'stats', clients: FrameStats[] (no latencies), latencies}
 *               {type:'close'}
 */
import http from 'node:http';
import { FrameCounter, type FrameStats } from './sse-frames.js';

interface Client {
  index: number;
  slow: boolean;
  counter: FrameCounter;
  request: http.ClientRequest | null;
  response: http.IncomingMessage | null;
  connects: number;
  ended: boolean;
  statuses: number[];
}

interface OpenMessage {
  type: 'open';
  url: string;
  token: string;
  count: number;
  slow: number;
  measureLatency: boolean;
  /** Start each client after this seq (?lastEventId=); default 0: the whole log. */
  lastEventId?: number;
}

const clients: Client[] = [];
let target = Number.POSITIVE_INFINITY;
let reached = false;
let options: OpenMessage | null = null;
let closing = false;
/** As EventSource does after a dropped stream (its default is ~3 s; the benchmark does not want to idle). */
const RECONNECT_MS = 50;

function send(message: unknown): void {
  process.send?.(message);
}

function checkTarget(): void {
  if (reached || !Number.isFinite(target) || clients.length === 0) return;
  for (const c of clients) if (!c.slow && c.counter.stats.lastId < target) return;
  reached = true;
  send({ type: 'reached', at: performance.timeOrigin + performance.now() });
}

function connect(client: Client): void {
  if (!options) return;
  client.counter.newConnection();
  const from = client.counter.stats.lastId;
  // Always from a known seq (0 = the whole log), so every later frame can be checked as previous + 1.
  const query = `?lastEventId=${from}`;
  client.connects++;
  const request = http.get(
    `${options.url}${query}`,
    { agent: false, headers: { authorization: `Bearer ${options.token}` } },
    (res) => {
      client.response = res;
      client.statuses.push(res.statusCode ?? 0);
      if (client.slow) {
        // A slow client: reads nothing, so the server's socket and then its bounded queue fill up.
        res.pause();
      }
      res.on('data', (chunk: Buffer) => {
        client.counter.push(chunk);
        if (!client.slow) checkTarget();
      });
      res.on('end', () => reconnect(client, request));
      res.on('close', () => reconnect(client, request));
      res.on('error', () => reconnect(client, request));
    },
  );
  request.on('error', () => reconnect(client, request));
  client.request = request;
}

/** The server dropped us (a slow client past its bound) or the stream ended: come back with Last-Event-ID. */
function reconnect(client: Client, request: http.ClientRequest): void {
  if (client.request !== request) return;
  client.request = null;
  client.response = null;
  if (closing) {
    client.ended = true;
    return;
  }
  setTimeout(() => connect(client), RECONNECT_MS);
}

process.on('message', (message: { type: string } & Record<string, unknown>) => {
  switch (message.type) {
    case 'open': {
      options = message as unknown as OpenMessage;
      for (let i = 0; i < options.count; i++) {
        const client: Client = {
          index: i,
          slow: i < options.slow,
          counter: new FrameCounter(options.lastEventId ?? 0, options.measureLatency && i === options.slow),
          request: null,
          response: null,
          connects: 0,
          ended: false,
          statuses: [],
        };
        clients.push(client);
        connect(client);
      }
      send({ type: 'opened' });
      return;
    }
    case 'target':
      target = message.seq as number;
      reached = false;
      checkTarget();
      return;
    case 'stats': {
      const latencies = clients.flatMap((c) => c.counter.stats.latencies);
      send({
        type: 'stats',
        clients: clients.map(
          (c) =>
            ({
              ...c.counter.stats,
              latencies: [],
              slow: c.slow,
              ended: c.ended,
              connects: c.connects,
              statuses: c.statuses,
            }) as FrameStats & { slow: boolean },
        ),
        latencies,
      });
      return;
    }
    case 'close':
      closing = true;
      for (const c of clients) c.request?.destroy();
      setTimeout(() => process.exit(0), 50);
      return;
  }
});
send({ type: 'ready' });
