/** What the routes share: the dependencies of the app, and the lookups every session route starts with. */
import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';
import type { SessionManager } from '../runtime/session-manager.js';
import type { SessionRuntime } from '../runtime/session-runtime.js';
import { HttpError, parseOr400 } from './errors.js';
import type { HostPolicy } from './guards.js';
import { HistoryIndex } from './history-index.js';
import { SessionIdParam } from './schemas.js';
import { DEFAULT_SSE_LIMITS, SseHub, type SseLimits } from './sse.js';

export interface Logger {
  info?(message: string): void;
  warn(message: string): void;
  error?(message: string, error?: unknown): void;
}

export interface AppDeps {
  manager: SessionManager;
  token: string;
  /** Which Host and Origin values are ours; its port is set once the server listens. */
  hosts: HostPolicy;
  /** The server's own URL, e.g. http://127.0.0.1:4317 (for the dashboard links in responses). */
  baseUrl?: () => string;
  /** Open SSE streams, ended by the server on close. */
  streams?: SseHub;
  history?: HistoryIndex;
  heartbeatMs?: number;
  sseLimits?: SseLimits;
  /** Relative targetDir values resolve against this (default: process.cwd()). */
  cwd?: string;
  /** Folder of index.html, inspect.html and assets/ (default: <package root>/static). */
  staticDir?: string;
  logger?: Logger;
}

export interface ApiContext {
  manager: SessionManager;
  baseUrl: () => string;
  streams: SseHub;
  history: HistoryIndex;
  heartbeatMs: number;
  sseLimits: SseLimits;
  cwd: string;
  logger: Logger | undefined;
}

/** node-server passes the Node request/response as env; app.request() passes nothing. */
export type AppEnv = { Bindings: Partial<HttpBindings> | undefined };

export const DEFAULT_HEARTBEAT_MS = 15_000;

export function apiContext(deps: AppDeps): ApiContext {
  return {
    manager: deps.manager,
    baseUrl: deps.baseUrl ?? (() => `http://127.0.0.1:${deps.hosts.port}`),
    streams: deps.streams ?? new SseHub(),
    history: deps.history ?? new HistoryIndex(deps.manager),
    heartbeatMs: deps.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
    sseLimits: deps.sseLimits ?? DEFAULT_SSE_LIMITS,
    cwd: deps.cwd ?? process.cwd(),
    logger: deps.logger,
  };
}

/** The `{sid}` path parameter, validated (before anything touches the disk with it). */
export function sessionIdOf(c: Context): string {
  return parseOr400(SessionIdParam, c.req.param('sid'), 'session id');
}

export function requireSession(ctx: ApiContext, sessionId: string): void {
  if (!ctx.manager.has(sessionId)) throw new HttpError(404, `no session ${sessionId} in this workspace`);
}

/**
 * The session's runtime in this server, or a 409 that says why there is none: the session has ended (nothing
 * can run it again), or it is not running in this server (`orchestrate resume` first).
 */
export function liveRuntime(ctx: ApiContext, sessionId: string): SessionRuntime {
  const runtime = ctx.manager.get(sessionId);
  if (!runtime) {
    const view = ctx.manager.view(sessionId);
    if (view.outcome !== null) throw endedError(sessionId, view.outcome, view.state);
    throw new HttpError(
      409,
      `session ${sessionId} is not running in this server; \`orchestrate resume ${sessionId}\` first`,
      { state: view.state, live: false },
    );
  }
  const end = runtime.endState();
  if (end === 'completed' || end === 'partial' || end === 'stopped' || end === 'escalated')
    throw endedError(sessionId, end, runtime.stateName());
  return runtime;
}

function endedError(sessionId: string, outcome: string, state: string): HttpError {
  return new HttpError(409, `session ${sessionId} has ended (${outcome}); start a new session instead`, {
    state,
    outcome,
  });
}

/** Send a command to a session, turning "no longer running" into a 409 rather than a 500. */
export function sendTo(runtime: SessionRuntime, event: Parameters<SessionRuntime['send']>[0]): string {
  try {
    runtime.send(event);
  } catch (error) {
    throw new HttpError(409, (error as Error).message);
  }
  return runtime.stateName();
}
