/**
 * Running the real `orchestrate` CLI (dist/cli.js, built by `npm test` before vitest runs) against fake agents
 * in integration tests, to the end (runCli) or in the background (startCli), and reading back what a session
 * left on disk. What a test started and made is cleaned up by cleanupAfterTest in its afterEach.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { groupMembers } from '../../src/actors/process-group.js';
import type { OrchestratorEvent } from '../../src/domain/events.js';
import type { SessionSpecInput } from '../../src/domain/spec.js';
import { fakeAgentVars, readLaunches, type FakeLaunch } from './fake-agent.js';
import { poll } from './poll.js';

export { FAKE_AGENT } from './fake-agent.js';
export { poll } from './poll.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = join(ROOT, 'dist', 'cli.js');

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
  for (const [name, content] of Object.entries(options.files ?? { 'README.md': '# target\n' }))
    writeFileSync(join(target, name), content);
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
    ...fakeAgentVars(sandbox.stateDir, config),
    // The fake's memory lives under the OS temp dir: writable inside the sandbox too (its /tmp is private).
    ORCHESTRATOR_SANDBOX_WRITABLE: sandbox.stateDir,
    // The fake codex looks for a .git in the work dir and above, as codex does: not above the sandbox, where a
    // stray .git (an empty /tmp/.git made by another program) would put a target made without git in a repository.
    FAKE_AGENT_GIT_CEILING: sandbox.dir,
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
export function runCli(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
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
      reject(
        new Error(
          `orchestrate ${args.join(' ')} did not end within ` +
            `${options.timeoutMs ?? 60_000} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`,
        ),
      );
    }, options.timeoutMs ?? 60_000);
    // `close`, not `exit`: on a loaded machine the last of its output can still be in the pipes when it has exited.
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      resolve({ exitCode, signal, stdout, stderr });
    });
  });
}

/** `orchestrate` started in the background (startCli), for a test that talks to it while it runs. */
export interface StartedCli {
  child: ChildProcess;
  /** Its output so far. */
  stdout(): string;
  stderr(): string;
  /**
   * Resolves (never rejects) when it exits: its exit code or signal, all its output, and when it exited (Date.now()).
   */
  exited: Promise<CliResult & { exitedAt: number }>;
  /**
   * `$ orchestrate <args>` and the last 2000 characters of its stdout and of its stderr so far, for failure messages.
   */
  transcript(): string;
}

/** Every CLI startCli started since the last stopStartedClis (a module per test file: vitest isolates them). */
const startedClis = new Set<StartedCli>();

/**
 * Start `orchestrate <args>` in the background (argv array, no shell), `env` over this process's environment.
 * Whatever still runs at the end of the test is stopped by stopStartedClis (cleanupAfterTest calls it).
 */
export function startCli(args: string[], env: Record<string, string>, options: { cwd?: string } = {}): StartedCli {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<CliResult & { exitedAt: number }>((resolve) =>
    // Once its output is all read too (`close`; it comes after `exit`).
    child.on('close', (exitCode, signal) => resolve({ exitCode, signal, stdout, stderr, exitedAt: Date.now() })),
  );
  const started: StartedCli = {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    transcript: () => `$ orchestrate ${args.join(' ')}\n${stdout.slice(-2000)}${stderr.slice(-2000)}`,
  };
  startedClis.add(started);
  return started;
}

/** The transcripts of every CLI started since the last stopStartedClis, for failure messages. */
export function startedTranscripts(): string {
  return [...startedClis].map((cli) => cli.transcript()).join('\n');
}

const isRunning = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;
const exitsWithin = (cli: StartedCli, ms: number) =>
  Promise.race([
    cli.exited.then(() => true),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms).unref()),
  ]);

/**
 * For afterEach: SIGTERM every started CLI still running, SIGKILL those that have not exited `graceMs` later
 * (and wait a little for them to go), then forget them all.
 */
export async function stopStartedClis(graceMs = 300): Promise<void> {
  const clis = [...startedClis];
  startedClis.clear();
  await Promise.all(
    clis.map(async (cli) => {
      if (!isRunning(cli.child)) return;
      cli.child.kill('SIGTERM');
      if (await exitsWithin(cli, graceMs)) return;
      if (isRunning(cli.child)) cli.child.kill('SIGKILL');
      await exitsWithin(cli, 2_000);
    }),
  );
}

/** The ids of the sessions in a workspace, oldest first. */
export function sessionIds(workspace: string): string[] {
  const dir = join(workspace, 'sessions');
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((d) => d.startsWith('orch_'))
        .sort()
    : [];
}

export function sessionDir(workspace: string, sessionId = sessionIds(workspace).at(-1) ?? ''): string {
  return join(workspace, 'sessions', sessionId);
}

/**
 * The server URL the session's lock names (the server of the process running it), or null while there is none;
 * with `pid`, only once that process holds the lock (a resumed run serving the session).
 */
export function lockServerUrl(workspace: string, sessionId: string, pid?: number): string | null {
  const lock = join(sessionDir(workspace, sessionId), 'orchestrator.lock');
  if (!existsSync(lock)) return null;
  const holder = JSON.parse(readFileSync(lock, 'utf8')) as { pid: number; serverUrl?: string };
  return (pid === undefined || holder.pid === pid) && holder.serverUrl ? holder.serverUrl : null;
}

/**
 * The id of the workspace's first session once its session.json exists (what a started `orchestrate run` is
 * doing); on timeout the message holds the output of every CLI started so far.
 */
export function waitForSession(sandbox: Sandbox, timeoutMs = 20_000): Promise<string> {
  return poll(
    () => {
      const sid = sessionIds(sandbox.workspace)[0];
      return sid && existsSync(join(sessionDir(sandbox.workspace, sid), 'session.json')) ? sid : null;
    },
    timeoutMs,
    () => `the session folder; output so far:\n${startedTranscripts()}`,
  );
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

export function eventsOfType<T extends OrchestratorEvent['type']>(
  events: OrchestratorEvent[],
  type: T,
): Extract<OrchestratorEvent, { type: T }>[] {
  return events.filter((e): e is Extract<OrchestratorEvent, { type: T }> => e.type === type);
}

/** The fake agent's record of its launches (argv, cwd, env it saw). */
export function launches(sandbox: Sandbox): FakeLaunch[] {
  return readLaunches(sandbox.stateDir);
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
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { pid: number }).pid);
}

/** Alive and not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

/**
 * Every member of a process group is stopped (SIGSTOP, state T). A group stopped right after the wrapper forked
 * the agent holds the wrapper in `D` (vfork: it waits for its child to exec, and the child is stopped): that
 * counts as stopped too.
 */
export function groupStopped(pgid: number): boolean {
  const members = groupMembers(pgid);
  return (
    members.length > 0 &&
    members.every(
      (m) => m.state === 'T' || (m.state === 'D' && members.some((c) => c.ppid === m.pid && c.state === 'T')),
    )
  );
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
  const pids = [
    ...launches(sandbox).map((l) => (l as { pid?: number }).pid ?? 0),
    ...childPidsOf(sandbox),
    ...processesMentioning(sandbox.dir),
  ];
  for (const pid of pids) if (pid > 1 && isAlive(pid)) killQuietly(pid, 'SIGKILL');
  await poll(
    () => processesMentioning(sandbox.dir).length === 0,
    5_000,
    () => `processes of ${sandbox.dir}: ${processesMentioning(sandbox.dir).join(' ')}`,
  ).catch(() => undefined);
  rmSync(sandbox.dir, { recursive: true, force: true });
}

// --- per test: what a test made and started, cleaned up in its afterEach -------------------------------------

/** Sandboxes made by testSandbox (or sandboxWith) since the last cleanupAfterTest. */
const testSandboxes: Sandbox[] = [];

/** makeSandbox, cleaned up (its processes killed, its folder removed) by the next cleanupAfterTest. */
export function testSandbox(options: Parameters<typeof makeSandbox>[0] = {}): Sandbox {
  const sandbox = makeSandbox(options);
  testSandboxes.push(sandbox);
  return sandbox;
}

/**
 * A testSandbox whose target is a git repository, `spec` (unless null) written to spec.json in it, and the
 * environment that makes every agent the fake agent configured by `config`.
 */
/** Two workers, the second waiting for the first: the session the CLI tests read back. */
export const TWO_WORKERS: SessionSpecInput = {
  task: 'exercise the CLI',
  workers: [
    { id: 'impl', agent: 'claude', role: 'implementer' },
    { id: 'check', agent: 'codex', role: 'verifier', dependsOn: ['impl'] },
  ],
  sandbox: 'none',
};

export function sandboxWith(
  spec: SessionSpecInput | null,
  config: object,
): { sandbox: Sandbox; specPath: string; env: Record<string, string> } {
  const sandbox = testSandbox({ git: true });
  const specPath = join(sandbox.dir, 'spec.json');
  if (spec) writeFileSync(specPath, JSON.stringify(spec));
  return { sandbox, specPath, env: fakeAgentEnv(sandbox, config) };
}

/** Leave a sandbox out of cleanupAfterTest: one that a whole describe block reads (its caller removes it). */
export function keepSandbox(sandbox: Sandbox): void {
  const i = testSandboxes.indexOf(sandbox);
  if (i >= 0) testSandboxes.splice(i, 1);
}

/** For afterEach: stop the CLIs the test started (stopStartedClis), then clean up its sandboxes (cleanupSandbox). */
export async function cleanupAfterTest(): Promise<void> {
  await stopStartedClis();
  for (const sandbox of testSandboxes.splice(0)) await cleanupSandbox(sandbox);
}
