/**
 * Running the real `orchestrate` CLI (dist/cli.js, built by `npm test` before vitest runs) against fake agents
 * in integration tests, and reading back what a session left on disk.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OrchestratorEvent } from '../../src/domain/events.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = join(ROOT, 'dist', 'cli.js');
export const FAKE_AGENT = join(ROOT, 'test', 'fixtures', 'fake-agent.mjs');

export interface Sandbox {
  /** A temp dir holding target/, workspace/ and state/ (the fake agent's memory). */
  dir: string;
  target: string;
  workspace: string;
  stateDir: string;
}

/** A fresh temp folder; `git: true` makes the target a repository with one commit. */
export function makeSandbox(options: { git?: boolean; files?: Record<string, string> } = {}): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), 'orch-it-'));
  const target = join(dir, 'target');
  const workspace = join(dir, 'workspace');
  const stateDir = join(dir, 'state');
  mkdirSync(target, { recursive: true });
  mkdirSync(stateDir, { recursive: true });
  for (const [name, content] of Object.entries(options.files ?? { 'README.md': '# target\n' })) writeFileSync(join(target, name), content);
  if (options.git) {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: target, stdio: 'ignore' });
    git('-c', 'init.defaultBranch=main', 'init', '-q');
    git('-c', 'user.name=t', '-c', 'user.email=t@t', 'add', '-A');
    git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'init');
  }
  return { dir, target, workspace, stateDir };
}

/** Environment that makes every agent the fake agent, configured by `config` (see test/fixtures/fake-agent.md). */
export function fakeAgentEnv(sandbox: Sandbox, config: object = {}): Record<string, string> {
  return {
    ORCHESTRATOR_CLAUDE_BIN: FAKE_AGENT,
    ORCHESTRATOR_CODEX_BIN: FAKE_AGENT,
    ORCHESTRATOR_GEMINI_BIN: FAKE_AGENT,
    FAKE_AGENT_STATE_DIR: sandbox.stateDir,
    FAKE_AGENT_CONFIG: JSON.stringify(config),
    // The fake's memory lives under the OS temp dir: writable inside the sandbox too (its /tmp is private).
    ORCHESTRATOR_SANDBOX_WRITABLE: sandbox.stateDir,
    NO_COLOR: '1',
  };
}

export interface CliResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run `orchestrate <args>` to the end (argv array, no shell). */
export function runCli(args: string[], options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd ?? ROOT,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`orchestrate ${args.join(' ')} did not end within ${options.timeoutMs ?? 60_000} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.on('exit', (exitCode, signal) => {
      clearTimeout(timer);
      resolve({ exitCode, signal, stdout, stderr });
    });
  });
}

/** The ids of the sessions in a workspace, oldest first. */
export function sessionIds(workspace: string): string[] {
  const dir = join(workspace, 'sessions');
  return existsSync(dir) ? readdirSync(dir).filter((d) => d.startsWith('orch_')).sort() : [];
}

export function sessionDir(workspace: string, sessionId = sessionIds(workspace).at(-1) ?? ''): string {
  return join(workspace, 'sessions', sessionId);
}

/** Every event of a session, checking on the way that seq is 1..N with no gap and no duplicate. */
export function readEvents(workspace: string, sessionId?: string): OrchestratorEvent[] {
  const path = join(sessionDir(workspace, sessionId), 'events.jsonl');
  const events = readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as OrchestratorEvent);
  events.forEach((event, i) => {
    if (event.seq !== i + 1) throw new Error(`events.jsonl: line ${i + 1} has seq ${event.seq}`);
  });
  return events;
}

export function eventsOfType<T extends OrchestratorEvent['type']>(events: OrchestratorEvent[], type: T): Extract<OrchestratorEvent, { type: T }>[] {
  return events.filter((e): e is Extract<OrchestratorEvent, { type: T }> => e.type === type);
}

/** The fake agent's record of its launches (argv, cwd, env it saw). */
export function launches(sandbox: Sandbox): Array<{ persona: string; argv: string[]; launch: number; env: Record<string, string | null> }> {
  const path = join(sandbox.stateDir, 'launches.jsonl');
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
}

/** Live processes whose command line mentions `needle` (a temp dir path): for "nothing left running" checks. */
export function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (cmdline.includes(needle) && state !== 'Z') pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/**
 * Poll until `probe` returns something truthy; a probe that throws (a file read while another process writes
 * it) is simply tried again. Fails with `what` (and the last error) after `timeoutMs`.
 */
export async function poll<T>(probe: () => T | null | undefined | false | Promise<T | null | undefined | false>, timeoutMs: number, what: string | (() => string)): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      lastError = ` (last error: ${(error as Error).message})`;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${typeof what === 'string' ? what : what()}${lastError}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export interface ProcRecordLike {
  attempt: number;
  pid: number;
  pgid: number;
  startTime: string;
}

/** Every launch record of every session in the sandbox's workspace. */
export function procRecordsOf(sandbox: Sandbox): ProcRecordLike[] {
  return sessionIds(sandbox.workspace).flatMap((sid) => {
    const dir = join(sandbox.workspace, 'sessions', sid, 'agents');
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => f.endsWith('.proc.json'))
      .flatMap((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as ProcRecordLike[]);
  });
}

/** Grandchildren the fake agents started (`spawnChild`), from complete lines of children.jsonl. */
export function childPidsOf(sandbox: Sandbox): number[] {
  const path = join(sandbox.stateDir, 'children.jsonl');
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { pid: number }).pid);
}

/** Alive and not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

function killQuietly(target: number, signal: NodeJS.Signals): void {
  try {
    process.kill(target, signal);
  } catch {
    // gone meanwhile
  }
}

/**
 * Whatever a test left in a sandbox: every agent process group its sessions recorded (SIGCONT first, so a
 * paused group dies too), the fake agents and their grandchildren, anything whose command line names the
 * sandbox. Then waits until nothing is left and removes the folder.
 */
export async function cleanupSandbox(sandbox: Sandbox | undefined): Promise<void> {
  if (!sandbox) return;
  for (const { pgid } of procRecordsOf(sandbox)) {
    killQuietly(-pgid, 'SIGCONT');
    killQuietly(-pgid, 'SIGKILL');
  }
  const pids = [...launches(sandbox).map((l) => (l as { pid?: number }).pid ?? 0), ...childPidsOf(sandbox), ...processesMentioning(sandbox.dir)];
  for (const pid of pids) if (pid > 1 && isAlive(pid)) killQuietly(pid, 'SIGKILL');
  await poll(() => processesMentioning(sandbox.dir).length === 0, 5_000, () => `processes of ${sandbox.dir}: ${processesMentioning(sandbox.dir).join(' ')}`).catch(() => undefined);
  rmSync(sandbox.dir, { recursive: true, force: true });
}
