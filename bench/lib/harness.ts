/**
 * A real orchestrator in this process: SessionManager on a temp workspace + startServer on port 0, with the
 * agent binaries pointed at the bench agents. Everything a scenario starts is stopped by `cleanup()`.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SessionSpecSchema, type SessionSpecInput } from '../../src/domain/spec.js';
import { startServer, type RunningServer } from '../../src/http/server.js';
import { SessionManager } from '../../src/runtime/session-manager.js';
import type { SessionRuntime } from '../../src/runtime/session-runtime.js';
import { AGENTS_DIR } from './paths.js';

export interface Harness {
  dir: string;
  workspace: string;
  target: string;
  manager: SessionManager;
  server: RunningServer | null;
  eventsUrl(sessionId: string): string;
  cleanup(): Promise<void>;
}

export const BENCH_AGENT = join(AGENTS_DIR, 'bench-agent.mjs');
export const IDLE_AGENT = join(AGENTS_DIR, 'idle-agent.sh');

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `orch-bench-${prefix}-`));
}

/** Every agent CLI is `bin` (the bench agent by default), with `env` for it. */
export function agentEnv(env: Record<string, string>, bin = BENCH_AGENT): Record<string, string | undefined> {
  return {
    ...process.env,
    ORCHESTRATOR_CLAUDE_BIN: bin,
    ORCHESTRATOR_CODEX_BIN: bin,
    ORCHESTRATOR_GEMINI_BIN: bin,
    ...env,
  };
}

export async function makeHarness(options: {
  env: Record<string, string | undefined>;
  server?: boolean;
  workspace?: string;
  logger?: { warn(m: string): void };
}): Promise<Harness> {
  const dir = tempDir('run');
  const workspace = options.workspace ?? join(dir, 'workspace');
  const target = join(dir, 'target');
  mkdirSync(target, { recursive: true });
  // The bench agent speaks exec mode's formats (the figures are exec mode's pipeline).
  const manager = new SessionManager({ workspace, env: options.env, defaultMode: 'exec' });
  const server =
    options.server === false
      ? null
      : await startServer({
          manager,
          workspace,
          port: 0,
          heartbeatMs: 15_000,
          logger: options.logger ?? { warn: () => undefined },
        });
  return {
    dir,
    workspace,
    target,
    manager,
    server,
    eventsUrl: (sid) => `${server?.url}/api/v1/${sid}/events`,
    cleanup: async () => {
      await stopAll(manager);
      await server?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `count` workers of the given agents (cycled), no reviews, no sandbox, nothing that would relaunch them. */
export function benchSpec(
  count: number,
  agents: string[] = ['claude'],
  limits: Record<string, number> = {},
): SessionSpecInput {
  return {
    task: 'benchmark',
    workers: Array.from({ length: count }, (_, i) => ({
      id: `w${String(i + 1).padStart(3, '0')}`,
      agent: agents[i % agents.length] as string,
      role: 'implementer',
    })),
    reviews: [],
    sandbox: 'none',
    limits: { maxRestarts: 0, stallTimeoutSec: 3600, workerTimeoutSec: 7200, killGraceMs: 500, ...limits },
  };
}

export async function createSession(harness: Harness, spec: SessionSpecInput): Promise<SessionRuntime> {
  return harness.manager.create(SessionSpecSchema.parse(spec), harness.target);
}

/** STOP every live session, wait for its agents to be gone, let go of the runtimes. */
export async function stopAll(manager: SessionManager): Promise<void> {
  await Promise.all(
    manager.liveSessions.map(async (runtime) => {
      const end = runtime.endState();
      if (end !== 'completed' && end !== 'stopped' && end !== 'escalated') {
        try {
          runtime.send({ type: 'STOP', reason: 'benchmark cleanup' });
        } catch {
          return;
        }
      }
      await Promise.race([runtime.waitForEnd().catch(() => undefined), sleep(15_000)]);
    }),
  );
  manager.detachAll();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function waitUntil(
  predicate: () => boolean,
  what: string,
  timeoutMs: number,
  everyMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
