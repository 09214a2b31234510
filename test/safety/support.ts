/**
 * For the safety integration tests: a SessionManager wired exactly as the CLI wires it (createSafetyFactory),
 * whose agents are the fake agent (real processes), on temp folders; and waiting on a live session.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OrchestratorEvent } from '../../src/domain/events.js';
import { SessionSpecSchema, type SessionSpecInput } from '../../src/domain/spec.js';
import { SessionManager } from '../../src/runtime/session-manager.js';
import type { SessionRuntime } from '../../src/runtime/session-runtime.js';
import { createSafetyFactory } from '../../src/safety/index.js';
import { type FakeLaunch, fakeAgentVars, readLaunches } from '../support/fake-agent.js';
import { poll } from '../support/poll.js';

export { FAKE_AGENT } from '../support/fake-agent.js';
export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

export interface SafetyHarness {
  manager: SessionManager;
  root: string;
  target: string;
  workspace: string;
  /** The fake agent's memory (launches.jsonl): writable inside the sandbox like the demo's state dir. */
  stateDir: string;
  home: string;
  start(spec: SessionSpecInput): Promise<SessionRuntime>;
  launches(): FakeLaunch[];
  cleanup(): Promise<void>;
}

/** A harness whose target is a git repository (codex insists) under the OS temp dir, HOME a temp dir too. */
export async function makeSafetyHarness(
  config: object,
  options: { env?: Record<string, string>; sampleMs?: number; base?: string } = {},
): Promise<SafetyHarness> {
  // `base` outside /tmp for a home the sandbox shows (its /tmp is private).
  const root = mkdtempSync(join(options.base ?? tmpdir(), 'orch-safety-'));
  const target = join(root, 'target');
  const workspace = join(root, 'workspace');
  const stateDir = join(root, 'state');
  const home = join(root, 'home');
  for (const d of [target, stateDir, home]) mkdirSync(d, { recursive: true });
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: target, stdio: 'ignore' });
  git('-c', 'init.defaultBranch=main', 'init', '-q');
  git('commit', '-q', '--allow-empty', '-m', 'init');
  const env: Record<string, string | undefined> = {
    ...process.env,
    HOME: home,
    ...fakeAgentVars(stateDir, config),
    ...options.env,
  };
  const safetyFor = await createSafetyFactory({ env, extraWritable: [stateDir], sampleMs: options.sampleMs ?? 500 });
  const manager = new SessionManager({ workspace, env, safetyFor });
  return {
    manager,
    root,
    target,
    workspace,
    stateDir,
    home,
    start: (spec) => manager.create(SessionSpecSchema.parse(spec), target),
    launches: () => readLaunches(stateDir),
    cleanup: async () => {
      await manager.stopAll('test cleanup');
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export function events(runtime: SessionRuntime): OrchestratorEvent[] {
  return runtime.store.log.readAfter(0);
}

export function ofType<T extends OrchestratorEvent['type']>(
  runtime: SessionRuntime,
  type: T,
): Extract<OrchestratorEvent, { type: T }>[] {
  return events(runtime).filter((e): e is Extract<OrchestratorEvent, { type: T }> => e.type === type);
}

/** poll() with the `what` before the timeout (no fixed sleeps: the session moves at the agents' pace). */
export const waitFor = <T>(probe: () => T | undefined | null | false, what: string, timeoutMs = 20_000) =>
  poll(probe, timeoutMs, what);

export function openBlocker(runtime: SessionRuntime, kind: string) {
  return runtime.view().blockers.find((b) => b.open && b.kind === kind);
}

export function workerStatus(runtime: SessionRuntime, workerId: string): string | undefined {
  return runtime.view().workers.find((w) => w.id === workerId)?.status;
}

/** Answer a blocker as a person would (the API and `orchestrate resolve` send the same event). */
export function answer(runtime: SessionRuntime, blockerId: string, choice: 'retry' | 'skip' | 'stop'): void {
  runtime.send({ type: 'RESOLVE', blockerId, choice, by: 'test' });
}
