/**
 * Helpers of the recovery and controls integration tests, on top of the shared test/support/orchestrate.ts:
 * a spec with small limits, `orchestrate run` as a background child, polling, /proc reads of process groups,
 * and a cleanup that SIGKILLs every process a test left (found by pid, pgid and the sandbox path).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OrchestratorEvent } from '../../src/domain/events.js';
import type { SessionView } from '../../src/runtime/view.js';
import { CLI, ROOT, cleanupSandbox as cleanupShared, fakeAgentEnv, launches, processesMentioning, runCli, sessionDir, sessionIds, type CliResult, type Sandbox } from '../support/orchestrate.js';

/** Small limits so every recovery path runs in well under a second (the defaults wait for minutes). */
export const FAST_LIMITS = { backoffBaseMs: 50, backoffMaxMs: 200, maxRetryWaitSec: 5, killGraceMs: 500 };

export interface WorkerSpecInput {
  id: string;
  agent: 'claude' | 'codex' | 'gemini';
  role: string;
  dependsOn?: string[];
}

/**
 * Write a spec with the given workers (no reviews unless given) into the sandbox; returns its path.
 * `"sandbox": "none"` unless `extra` says otherwise: these tests are about recovery and controls, and inside
 * bubblewrap the agents get a private /tmp, where the fake agent's state folder (its launch counters) is not
 * the test's. Recovery inside our sandbox is tested through SessionManager's `sandbox.insideSandbox`.
 */
export function writeSpec(
  sandbox: Sandbox,
  workers: WorkerSpecInput[],
  limits: Record<string, number> = {},
  extra: Record<string, unknown> = {},
): string {
  const path = join(sandbox.dir, 'spec.json');
  writeFileSync(path, JSON.stringify({ task: 'fix the bug', workers, reviews: [], limits: { ...FAST_LIMITS, ...limits }, sandbox: 'none', ...extra }, null, 2));
  return path;
}

/** One worker `w` of `agent`. */
export function oneWorkerSpec(sandbox: Sandbox, agent: WorkerSpecInput['agent'], limits: Record<string, number> = {}): string {
  return writeSpec(sandbox, [{ id: 'w', agent, role: 'implementer' }], limits);
}

/**
 * The environment of a run: every agent is the fake. IS_SANDBOX is blanked because the machine running the
 * tests may set it (it changes how the fake claude treats root).
 */
export function agentEnv(sandbox: Sandbox, config: object): Record<string, string> {
  return { ...fakeAgentEnv(sandbox, config), IS_SANDBOX: '', ORCHESTRATOR_TOKEN: '' };
}

/** `orchestrate run` to the end, without a server, JSON events on stdout. */
export function runSession(sandbox: Sandbox, config: object, spec: string, agents?: string, timeoutMs = 30_000): Promise<CliResult> {
  return runCli(
    ['run', 'fix the bug', '-C', sandbox.target, '--workspace', sandbox.workspace, '--no-server', '--json', '--spec', spec, ...(agents ? ['--agents', agents] : [])],
    { env: agentEnv(sandbox, config), timeoutMs },
  );
}

export interface BackgroundRun {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

/** `orchestrate run` as a background child (with a server unless `--no-server` is in extraArgs). */
export function startRun(sandbox: Sandbox, config: object, spec: string, extraArgs: string[] = []): BackgroundRun {
  const child = spawn(process.execPath, [CLI, 'run', 'fix the bug', '-C', sandbox.target, '--workspace', sandbox.workspace, '--json', '--spec', spec, ...extraArgs], {
    cwd: ROOT,
    env: { ...process.env, ...agentEnv(sandbox, config) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (err += d));
  started.push(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

const started: ChildProcess[] = [];

/** `orchestrate <args> --workspace <ws>` (status, pause, resume, stop, resolve). */
export function cli(sandbox: Sandbox, args: string[]): Promise<CliResult> {
  return runCli([...args, '--workspace', sandbox.workspace], { env: { ORCHESTRATOR_TOKEN: '' }, timeoutMs: 20_000 });
}

export async function status(sandbox: Sandbox, sessionId: string): Promise<SessionView> {
  const result = await cli(sandbox, ['status', sessionId, '--json']);
  if (result.exitCode !== 0) throw new Error(`orchestrate status failed (${result.exitCode}): ${result.stderr}`);
  return JSON.parse(result.stdout) as SessionView;
}

/** Poll until `check` returns a truthy value; fail with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 15_000, everyMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await sleep(everyMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The session id once the run created its folder. */
export function waitForSession(sandbox: Sandbox): Promise<string> {
  return waitFor('the session folder', () => sessionIds(sandbox.workspace)[0]);
}

/** Events of the session read straight from events.jsonl (a live session may have a torn last line). */
export function liveEvents(sandbox: Sandbox, sessionId?: string): OrchestratorEvent[] {
  const path = join(sessionDir(sandbox.workspace, sessionId), 'events.jsonl');
  if (!existsSync(path)) return [];
  const events: OrchestratorEvent[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    try {
      if (line) events.push(JSON.parse(line) as OrchestratorEvent);
    } catch {
      // the line being written
    }
  }
  return events;
}

/** The launch records (pid = pgid of the wrapper) the session kept for one worker. */
export function procRecords(sandbox: Sandbox, workerId: string, sessionId?: string): Array<{ attempt: number; pid: number; pgid: number }> {
  const path = join(sessionDir(sandbox.workspace, sessionId), 'agents', `${workerId}.proc.json`);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Array<{ attempt: number; pid: number; pgid: number }>) : [];
}

/** The `spawnChild` grandchildren the fake started (children.jsonl). */
export function fakeChildren(sandbox: Sandbox): Array<{ parentPid: number; pid: number }> {
  const path = join(sandbox.stateDir, 'children.jsonl');
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { parentPid: number; pid: number }) : [];
}

export interface ProcInfo {
  pid: number;
  /** The executable's name (/proc/<pid>/stat field 2). */
  comm: string;
  state: string;
  pgrp: number;
}

/** /proc/<pid>/stat: field 3 (state) and field 5 (pgrp); null when the process is gone. Zombies count as gone. */
export function procInfo(pid: number): ProcInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = fields[0] ?? '?';
    if (state === 'Z' || state === 'X') return null;
    return { pid, comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), state, pgrp: Number(fields[2]) };
  } catch {
    return null;
  }
}

export function isAlive(pid: number): boolean {
  return procInfo(pid) !== null;
}

/** Every live (non-zombie) process whose process group is `pgid`. */
export function groupMembers(pgid: number): ProcInfo[] {
  const members: ProcInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const info = procInfo(Number(entry));
    if (info && info.pgrp === pgid) members.push(info);
  }
  return members;
}

/**
 * Everything a test may have left: the `orchestrate` children it started, every agent process group the
 * sessions recorded, the fake agents and their grandchildren, and anything whose command line names the
 * sandbox. SIGCONT first, so a paused group dies too. Then the temp folder goes.
 */
export async function cleanupSandbox(sandbox: Sandbox | undefined): Promise<void> {
  for (const child of started.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  await cleanupShared(sandbox);
}

/** Nothing of a sandbox runs any more: no process names it, no recorded group has a member, no grandchild lives. */
export function leftovers(sandbox: Sandbox): { mentioning: number[]; groups: Record<number, ProcInfo[]>; children: number[] } {
  const groups: Record<number, ProcInfo[]> = {};
  for (const sessionId of sessionIds(sandbox.workspace)) {
    const agents = join(sessionDir(sandbox.workspace, sessionId), 'agents');
    if (!existsSync(agents)) continue;
    for (const file of readdirSync(agents).filter((f) => f.endsWith('.proc.json'))) {
      for (const record of JSON.parse(readFileSync(join(agents, file), 'utf8')) as Array<{ pgid: number }>) {
        const members = groupMembers(record.pgid);
        if (members.length) groups[record.pgid] = members;
      }
    }
  }
  return {
    mentioning: processesMentioning(sandbox.dir),
    groups,
    children: fakeChildren(sandbox).map((c) => c.pid).filter(isAlive),
  };
}

export const NOTHING_LEFT = { mentioning: [], groups: {}, children: [] };

/** The launches of one persona, in order. */
export function launchesOf(sandbox: Sandbox, persona: string) {
  return launches(sandbox).filter((l) => l.persona === persona) as Array<ReturnType<typeof launches>[number] & { ts: string; pid: number; resume: string | null; key: string }>;
}
