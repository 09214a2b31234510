/**
 * Listening: the app on a Node http server, bound to 127.0.0.1 unless told otherwise. Writes the token
 * (0600) and server.json into the workspace so the CLI and curl can find the server; prints nothing (the
 * CLI prints). close() ends the SSE streams, then idle connections, then forces the rest after a timeout,
 * so it returns even while browsers hold streams open.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { createAdaptorServer } from '@hono/node-server';
import { UsageError, type SessionManager } from '../runtime/session-manager.js';
import { writeFileAtomic } from '../store/session-store.js';
import { createApp } from './app.js';
import { generateToken, isValidToken } from './auth.js';
import type { Logger } from './context.js';
import { HostPolicy, hostForUrl, isLoopbackHost, isWildcardHost } from './guards.js';
import { HistoryIndex } from './history-index.js';
import { SseHub, type SseLimits } from './sse.js';

export interface StartServerOptions {
  manager: SessionManager;
  /** Default 127.0.0.1. Anything else exposes an API that runs code on this machine: warned about. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** Default: ORCHESTRATOR_TOKEN, else 32 random bytes (base64url). */
  token?: string;
  /** Where `token` and `server.json` are written. */
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
  close(): Promise<void>;
}

export interface ServerInfo {
  pid: number;
  host: string;
  port: number;
  url: string;
  startedAt: string;
}

export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token ?? (process.env.ORCHESTRATOR_TOKEN?.trim() || generateToken());
  if (!isValidToken(token)) {
    throw new UsageError('the token must be 1-512 characters of A-Z a-z 0-9 . _ ~ + / = - (it travels in a header and a URL)');
  }
  if (!isLoopbackHost(host)) {
    options.logger?.warn(
      `listening on ${host}, not on loopback: anyone who can reach it and has the token can make agents run code on this machine`,
    );
  }
  const workspace = resolve(options.workspace);
  const hosts = new HostPolicy(host);
  const streams = new SseHub();
  const history = new HistoryIndex(options.manager);
  let url = '';
  const app = createApp({
    manager: options.manager,
    token,
    hosts,
    baseUrl: () => url,
    streams,
    history,
    ...(options.heartbeatMs !== undefined ? { heartbeatMs: options.heartbeatMs } : {}),
    ...(options.sseLimits ? { sseLimits: options.sseLimits } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.staticDir ? { staticDir: options.staticDir } : {}),
  });
  const server = createAdaptorServer({ fetch: app.fetch, hostname: host }) as Server;
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

  mkdirSync(workspace, { recursive: true });
  const tokenPath = join(workspace, 'token');
  writeFileAtomic(tokenPath, `${token}\n`, 0o600);
  chmodSync(tokenPath, 0o600);
  const info: ServerInfo = { pid: process.pid, host, port, url, startedAt: new Date().toISOString() };
  const infoPath = join(workspace, 'server.json');
  writeFileAtomic(infoPath, `${JSON.stringify(info, null, 2)}\n`);

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((done) => {
      const closed = new Promise<void>((resolveClose) => server.close(() => resolveClose()));
      streams.closeAll();
      history.clear();
      // Streams that ended leave keep-alive connections idle: close those as they appear; cut the rest at the end.
      const sweep = setInterval(() => server.closeIdleConnections(), 25);
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), options.closeTimeoutMs ?? 2_000);
      void closed.then(() => {
        clearInterval(sweep);
        clearTimeout(force);
        removeIfOurs(infoPath, info);
        done();
      });
    });
    return closing;
  };

  return { url, host, port, token, close };
}

/** Another server may have started in the same workspace meanwhile: its server.json is not ours to remove. */
function removeIfOurs(path: string, info: ServerInfo): void {
  try {
    if (!existsSync(path)) return;
    const current = JSON.parse(readFileSync(path, 'utf8')) as Partial<ServerInfo>;
    if (current.pid === info.pid && current.port === info.port) rmSync(path, { force: true });
  } catch {
    // unreadable: leave it
  }
}

/** The address to open in a browser: the token rides in the fragment, which the browser never sends. */
export function dashboardUrl(url: string, token: string): string {
  return `${url}/#token=${encodeURIComponent(token)}`;
}
