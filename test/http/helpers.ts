/** Shared by the HTTP tests: a SessionManager on temp folders whose agents are the fake agent, and request helpers. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import type { SessionSpecInput } from '../../src/domain/spec.js';
import { SessionSpecSchema } from '../../src/domain/spec.js';
import type { NewEvent } from '../../src/domain/events.js';
import { createApp, type AppDeps } from '../../src/http/app.js';
import type { AppEnv } from '../../src/http/context.js';
import { HostPolicy } from '../../src/http/guards.js';
import { SessionManager } from '../../src/runtime/session-manager.js';
import type { SessionRuntime } from '../../src/runtime/session-runtime.js';
import { fakeAgentVars } from '../support/fake-agent.js';
import { poll } from '../support/poll.js';

export { FAKE_AGENT } from '../support/fake-agent.js';
export const TOKEN = 'test-token-0123456789abcdef';
export const PORT = 4567;
export const HOST = `127.0.0.1:${PORT}`;

/** Agents that hold before answering: sessions stay `running` until stopped. */
export const HOLD = { default: { holdMs: 60_000 } };
/** Claude fails to authenticate: the session raises an AUTH_REQUIRED blocker. */
export const AUTH_FAILS = { default: { fail: 'auth' } };

export interface Harness {
  manager: SessionManager;
  workspace: string;
  target: string;
  cleanup(): Promise<void>;
}

const folders: string[] = [];
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `orch-http-${prefix}-`));
  folders.push(dir);
  return dir;
}

export function makeHarness(config: object = HOLD): Harness {
  const workspace = tempDir('ws');
  const target = tempDir('target');
  const manager = new SessionManager({
    workspace,
    env: { ...process.env, ...fakeAgentVars(tempDir('fake-state'), config) },
  });
  return { manager, workspace, target, cleanup: () => stopAll(manager) };
}

/** STOP every live session and wait until its agents are gone; then let go of the runtimes. */
export function stopAll(manager: SessionManager): Promise<void> {
  return manager.stopAll('test cleanup');
}

export function removeTempDirs(): void {
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function oneWorker(task = 'write the thing', agent = 'claude', id = 'w1'): SessionSpecInput {
  return { task, workers: [{ id, agent, role: 'implementer' }] };
}

export async function startSession(harness: Harness, spec: SessionSpecInput = oneWorker()): Promise<SessionRuntime> {
  return harness.manager.create(SessionSpecSchema.parse(spec), harness.target);
}

export function testApp(harness: Harness, deps: Partial<AppDeps> = {}): Hono<AppEnv> {
  return createApp({
    manager: harness.manager,
    token: TOKEN,
    hosts: new HostPolicy('127.0.0.1', PORT),
    cwd: harness.target,
    ...deps,
  });
}

export interface CallOptions {
  method?: string;
  /** An object is sent as JSON; a string as is. */
  body?: unknown;
  headers?: Record<string, string>;
  /** null: no Authorization header. */
  token?: string | null;
  /** null: no Host header. */
  host?: string | null;
}

export function call(app: Hono<AppEnv>, path: string, options: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...options.headers };
  const host = options.host === undefined ? HOST : options.host;
  if (host !== null) headers.host = host;
  const token = options.token === undefined ? TOKEN : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  return Promise.resolve(
    app.request(path, {
      method: options.method ?? (body !== undefined ? 'POST' : 'GET'),
      headers,
      ...(body !== undefined ? { body } : {}),
    }),
  );
}

export async function json<T = Record<string, unknown>>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

/** poll() with the `what` before the timeout, as the HTTP tests call it. */
export const waitFor = <T>(probe: () => T | undefined | null | false, what: string, timeoutMs = 15_000, stepMs = 20) =>
  poll(probe, timeoutMs, what, stepMs);

/** A cheap event to append straight to a session's log (the machines never see it). */
export function noteEvent(n: number, padding = 0): NewEvent {
  return {
    type: 'safety',
    source: { kind: 'safety', id: 'test' },
    rule: 'test-load',
    subject: `note ${n}`,
    action: 'log',
    detail: 'x'.repeat(padding),
  };
}

/**
 * Wait until the session's held fake agent has printed its last progress line (`step k of k`): from then on it
 * only holds, so only the test adds events. Not "quiet for a while": on a loaded machine a line comes late.
 */
export async function untilHeld(runtime: SessionRuntime, timeoutMs = 15_000): Promise<void> {
  await waitFor(
    () =>
      runtime
        .readAfter(0)
        .some((e) => e.type === 'agent' && e.kind === 'message' && /\bstep (\d+) of \1\b/.test(e.text)),
    'the held agent to print its last line',
    timeoutMs,
  );
}
