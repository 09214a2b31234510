/**
 * Listening: the app on a Node http server, bound to 127.0.0.1 unless told otherwise. Keeps the workspace's
 * token (one per workspace, 0600, reused by every server of the workspace) and server.json (the live server)
 * so the CLI and curl can find the server (src/http/workspace-files.ts); prints nothing (the CLI prints).
 * close() ends the SSE streams, then idle connections, then forces the rest after a timeout, so it returns
 * even while browsers hold streams open.
 */
import { mkdirSync } from 'node:fs';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { resolve } from 'node:path';
import { createAdaptorServer } from '@hono/node-server';
import { UsageError, type SessionManager } from '../runtime/session-manager.js';
import type { Hono } from 'hono';
import { createApp } from './app.js';
import { isValidToken } from './auth.js';
import type { AppEnv, Logger } from './context.js';
import { HostPolicy, hostForUrl, isLoopbackHost, isWildcardHost } from './guards.js';
import { HistoryIndex } from './history-index.js';
import { SseHub, type SseLimits } from './sse.js';
import {
  claimServerInfo,
  ownProcStartTime,
  releaseServerInfo,
  tokenPathOf,
  workspaceToken,
  type ServerInfo,
} from './workspace-files.js';

export type { ServerInfo } from './workspace-files.js';

/** What an app other than the workspace's gets from the server (src/fleet/api.ts). */
export interface ServedAppDeps {
  token: string;
  hosts: HostPolicy;
  baseUrl: () => string;
  streams: SseHub;
  logger?: Logger;
  heartbeatMs?: number;
  sseLimits?: SseLimits;
  staticDir?: string;
}

export interface StartServerOptions {
  /** The sessions it serves: this workspace's. */
  manager?: SessionManager;
  /** Or another app in the same server: the fleet's API node over its database (src/fleet/api.ts). */
  app?: (deps: ServedAppDeps) => Hono<AppEnv>;
  /** Default 127.0.0.1. Anything else exposes an API that runs code on this machine: warned about. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /**
   * Default: ORCHESTRATOR_TOKEN, else the workspace's token file when it is valid, else 32 new random bytes
   * (base64url) written to it.
   */
  token?: string;
  /** Where `token` and `server.json` are kept. */
  workspace: string;
  heartbeatMs?: number;
  logger?: Logger;
  /** How long close() lets open connections finish before cutting them (default 2000 ms). */
  closeTimeoutMs?: number;
  sseLimits?: SseLimits;
  cwd?: string;
  staticDir?: string;
}

export interface RunningServer {
  url: string;
  host: string;
  port: number;
  token: string;
  /** `<workspace>/token` when it holds this server's token, else null (ORCHESTRATOR_TOKEN differs from it). */
  tokenFile: string | null;
  /** The live server that server.json was left to (it names another server of the workspace), else null. */
  sharedWith: ServerInfo | null;
  close(): Promise<void>;
}

export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const explicit = options.token ?? (process.env.ORCHESTRATOR_TOKEN?.trim() || undefined);
  if (explicit !== undefined && !isValidToken(explicit)) {
    throw new UsageError(
      'the token must be 1-512 characters of A-Z a-z 0-9 . _ ~ + / = - (it travels in a header and a URL)',
    );
  }
  const workspace = resolve(options.workspace);
  mkdirSync(workspace, { recursive: true });
  const { token, inFile } = workspaceToken(workspace, explicit, options.logger);
  const hosts = new HostPolicy(host);
  const streams = new SseHub();
  let url = '';
  const shared: ServedAppDeps = {
    token,
    hosts,
    baseUrl: () => url,
    streams,
    ...(options.heartbeatMs !== undefined ? { heartbeatMs: options.heartbeatMs } : {}),
    ...(options.sseLimits ? { sseLimits: options.sseLimits } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.staticDir ? { staticDir: options.staticDir } : {}),
  };
  const manager = options.manager;
  const history = manager ? new HistoryIndex(manager) : null;
  let app: Hono<AppEnv>;
  if (options.app) app = options.app(shared);
  else if (manager && history)
    app = createApp({ ...shared, manager, history, ...(options.cwd ? { cwd: options.cwd } : {}) });
  else throw new Error('startServer needs a manager or an app');
  const server = createAdaptorServer({ fetch: app.fetch, hostname: host }) as Server;
  server.on('clientError', answerDespiteTrailingBytes);
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  const port = (server.address() as AddressInfo).port;
  hosts.port = port;
  url = `http://${hostForUrl(isWildcardHost(host) ? '127.0.0.1' : host)}:${port}`;
  // Only once it listens: a host it cannot bind is an error, not a warning followed by one.
  if (!isLoopbackHost(host)) {
    options.logger?.warn(
      `listening on ${host}, not on loopback: ` +
        `anyone who can reach it and has the token can make agents run code on this machine`,
    );
  }

  const procStartTime = ownProcStartTime();
  const info: ServerInfo = {
    pid: process.pid,
    ...(procStartTime ? { procStartTime } : {}),
    host,
    port,
    url,
    startedAt: new Date().toISOString(),
  };
  const sharedWith = claimServerInfo(workspace, info);

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((done) => {
      const closed = new Promise<void>((resolveClose) => server.close(() => resolveClose()));
      streams.closeAll();
      history?.clear();
      // Streams that ended leave keep-alive connections idle: close those as they appear; cut the rest at the end.
      const sweep = setInterval(() => server.closeIdleConnections(), 25);
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), options.closeTimeoutMs ?? 2_000);
      void closed.then(() => {
        clearInterval(sweep);
        clearTimeout(force);
        releaseServerInfo(workspace, info);
        done();
      });
    });
    return closing;
  };

  return { url, host, port, token, tokenFile: inFile ? tokenPathOf(workspace) : null, sharedWith, close };
}

/** The address to open in a browser: the token rides in the fragment, which the browser never sends. */
export function dashboardUrl(url: string, token: string): string {
  return `${url}/#token=${encodeURIComponent(token)}`;
}

/** How long an answer in flight may take once its connection is known to close. */
const DRAIN_MAX_MS = 5_000;

/**
 * A request the parser cannot take is answered with a JSON 4xx and its connection closed (Node's default is a
 * bare status line). One exception keeps its real answer: bytes after a complete request on a `Connection:
 * close` connection (a body its headers did not announce: Node's own client sends one for DELETE or OPTIONS
 * without a Content-Length). The request itself was whole and is being answered; Node 24's parser errors on the
 * extra bytes and, by default, resets the connection before that answer goes out. Here the extra bytes are
 * thrown away and the connection ends after the answer.
 */
function answerDespiteTrailingBytes(error: Error & { code?: string }, socket: Duplex): void {
  const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (error.code === 'HPE_CLOSED_CONNECTION' && inFlight && !inFlight.writableFinished) {
    if ((socket as Duplex & { [DRAINING]?: boolean })[DRAINING]) return;
    (socket as Duplex & { [DRAINING]?: boolean })[DRAINING] = true;
    const timer = setTimeout(() => socket.destroy(), DRAIN_MAX_MS);
    timer.unref();
    inFlight.once('finish', () => {
      clearTimeout(timer);
      socket.end();
    });
    inFlight.once('close', () => clearTimeout(timer));
    return;
  }
  if (socket.writable && !inFlight?.headersSent) {
    const [status, reason] =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large']
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'Request Timeout']
          : [400, 'Bad Request'];
    const body = JSON.stringify({ error: `bad request: ${error.message.replace(/\s+/g, ' ').slice(0, 200)}` });
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

const DRAINING = Symbol('draining');
