/**
 * Helpers of the recovery and controls integration tests, on top of the shared test/support/orchestrate.ts:
 * a spec with small limits, `orchestrate run` as a background child, polling, /proc reads of process groups,
 * and what is left running. (The per-test cleanup is orchestrate.ts's cleanupAfterTest.)
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OrchestratorEvent } from '../../src/domain/events.js';
import type { SessionView } from '../../src/runtime/view.js';
import {
  fakeAgentEnv,
  launches,
  poll,
  processesMentioning,
  runCli,
  sessionDir,
  sessionIds,
  startCli,
  type CliResult,
  type Sandbox,
  type StartedCli,
} from '../support/orchestrate.js';

export { waitForSession } from '../support/orchestrate.js';

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
  writeFileSync(
    path,
    JSON.stringify(
      { task: 'fix the bug', workers, reviews: [], limits: { ...FAST_LIMITS, ...limits }, sandbox: 'none', ...extra },
      null,
      2,
    ),
  );
  return path;
}

/** One worker `w` of `agent`. */
export function oneWorkerSpec(
  sandbox: Sandbox,
  agent: WorkerSpecInput['agent'],
  limits: Record<string, number> = {},
): string {
  return writeSpec(sandbox, [{ id: 'w', agent, role: 'implementer' }], limits);
}

/**
 * The environment of a run: every agent is the fake. IS_SANDBOX is blanked because the machine running the
 * tests may set it (it changes how the fake claude treats root).
 */
export function agentEnv(sandbox: Sandbox, config: object): Record<string, string> {
  return { ...fakeAgentEnv(sandbox, config), IS_SANDBOX: '', ORCHESTRATOR_TOKEN: '' };
}

/**
 * `orchestrate run` to the end, without a server, JSON events on stdout. In place (`--in-place`): these tests are
 * about the supervisor, and worker checkouts cost a few git processes per attempt; checkouts have tests of their
 * own (isolation*.test.ts), and the durability, review and demo tests run with them.
 */
export function runSession(
  sandbox: Sandbox,
  config: object,
  spec: string,
  agents?: string,
  timeoutMs = 30_000,
): Promise<CliResult> {
  return runCli(
    [
      'run',
      'fix the bug',
      '-C',
      sandbox.target,
      '--workspace',
      sandbox.workspace,
      '--no-server',
      '--json',
      '--in-place',
      '--spec',
      spec,
      ...(agents ? ['--agents', agents] : []),
    ],
    { env: agentEnv(sandbox, config), timeoutMs },
  );
}

/** `orchestrate run` as a background child (with a server unless `--no-server` is in extraArgs). */
export function startRun(sandbox: Sandbox, config: object, spec: string, extraArgs: string[] = []): StartedCli {
  return startCli(
    [
      'run',
      'fix the bug',
      '-C',
      sandbox.target,
      '--workspace',
      sandbox.workspace,
      '--json',
      '--in-place',
      '--spec',
      spec,
      ...extraArgs,
    ],
    agentEnv(sandbox, config),
  );
}

/** `orchestrate <args> --workspace <ws>` (status, pause, resume, stop, resolve). */
export function cli(sandbox: Sandbox, args: string[]): Promise<CliResult> {
  return runCli([...args, '--workspace', sandbox.workspace], { env: { ORCHESTRATOR_TOKEN: '' }, timeoutMs: 20_000 });
}

export async function status(sandbox: Sandbox, sessionId: string): Promise<SessionView> {
  const result = await cli(sandbox, ['status', sessionId, '--json']);
  if (result.exitCode !== 0) throw new Error(`orchestrate status failed (${result.exitCode}): ${result.stderr}`);
  return JSON.parse(result.stdout) as SessionView;
}

/** poll() with the `what` first, as these tests read best (a function: said only on a timeout, with what it found). */
export const waitFor = <T>(
  what: string | (() => string),
  check: () => T | Promise<T>,
  timeoutMs = 15_000,
  everyMs = 25,
) => poll(check, timeoutMs, what, everyMs) as Promise<NonNullable<T>>;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
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
export function procRecords(
  sandbox: Sandbox,
  workerId: string,
  sessionId?: string,
): Array<{ attempt: number; pid: number; pgid: number }> {
  const path = join(sessionDir(sandbox.workspace, sessionId), 'agents', `${workerId}.proc.json`);
  return existsSync(path)
    ? (JSON.parse(readFileSync(path, 'utf8')) as Array<{ attempt: number; pid: number; pgid: number }>)
    : [];
}

/** The `spawnChild` grandchildren the fake started (children.jsonl). */
export function fakeChildren(sandbox: Sandbox): Array<{ parentPid: number; pid: number }> {
  const path = join(sandbox.stateDir, 'children.jsonl');
  return existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { parentPid: number; pid: number })
    : [];
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

/** Nothing of a sandbox runs any more: no process names it, no recorded group has a member, no grandchild lives. */
export function leftovers(sandbox: Sandbox): {
  mentioning: number[];
  groups: Record<number, ProcInfo[]>;
  children: number[];
} {
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
    children: fakeChildren(sandbox)
      .map((c) => c.pid)
      .filter(isAlive),
  };
}

export const NOTHING_LEFT = { mentioning: [], groups: {}, children: [] };

/** The launches of one persona, in order. */
export function launchesOf(sandbox: Sandbox, persona: string) {
  return launches(sandbox).filter((l) => l.persona === persona) as Array<
    ReturnType<typeof launches>[number] & { ts: string; pid: number; resume: string | null; key: string }
  >;
}
