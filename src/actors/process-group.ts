/**
 * Launch an agent so that it can outlive the orchestrator, and act on its whole process group.
 *
 * The agent runs under a fixed /bin/sh script (never built from input: every value arrives as an argv
 * element) that sends stdin from /dev/null (codex waits for EOF on an open pipe), appends stdout/stderr
 * straight to the session's files, and writes the exit status to a file when the agent ends. The script is
 * the leader of a new process group (`detached: true` = setsid), so a signal to -pgid reaches the agent
 * and everything it started. Nothing flows through the orchestrator: if it dies, the agent keeps writing.
 *
 * The wrapper starts the agent only when told to: it first reads one line from a pipe whose other end the
 * orchestrator holds. The orchestrator writes its launch record, then sends "go". If it dies in between (kill -9
 * under load can land there), the pipe ends without the line and the wrapper exits without running the agent, so
 * no agent ever runs that a restarted orchestrator cannot find by its launch record.
 */
import { readFileSync } from 'node:fs';
import { execa } from 'execa';
import { groupMembers } from '../fs/proc.js';

export { groupMembers, isSameProcessAlive, readProcStat, type ProcStat } from '../fs/proc.js';

/**
 * $1 exit file, $2 stdout file, $3 stderr file, then the agent's argv. It waits for "go" on stdin (the gate), and
 * exits with GATE_CLOSED_CODE, running nothing, if stdin ends first. The exit line ends with a newline so a reader
 * can tell a complete status from a half-written one.
 */
/** The wrapper's exit when its gate closed without "go": the agent never ran (no exit file is written). */
export const GATE_CLOSED_CODE = 125;

export const WRAPPER_SCRIPT =
  `exit_file=$1; out=$2; err=$3; shift 3; read -r gate || exit ${GATE_CLOSED_CODE}; ` +
  `[ "$gate" = go ] || exit ${GATE_CLOSED_CODE}; exec 0</dev/null; "$@" >>"$out" 2>>"$err"; ` +
  `code=$?; printf '%s\\n' "$code" >"$exit_file"; exit "$code"`;

export interface LaunchRequest {
  file: string;
  args: readonly string[];
  /** Added to the inherited environment. */
  env: Record<string, string>;
  cwd: string;
  stdoutPath: string;
  stderrPath: string;
  exitPath: string;
}

export interface ExitStatus {
  exitCode: number | null;
  signal: string | null;
}

export interface LaunchedProcess {
  pid: number;
  /** The argv actually executed (wrapper included), for the record. */
  argv: string[];
  /** Resolves when the wrapper ends (only while this orchestrator is its parent). */
  exited: Promise<ExitStatus & { spawnError?: string }>;
}

/**
 * Start the wrapper, call `record(pid)` (the caller writes its launch record there), then open the gate. If
 * `record` throws, the gate closes instead (the agent never runs) and the error is thrown on.
 */
export function launchDetached(request: LaunchRequest, record?: (pid: number) => void): LaunchedProcess {
  const args = [
    '-c',
    WRAPPER_SCRIPT,
    'orchestrator-agent',
    request.exitPath,
    request.stdoutPath,
    request.stderrPath,
    request.file,
    ...request.args,
  ];
  const child = execa('/bin/sh', args, {
    cwd: request.cwd,
    env: request.env,
    extendEnv: true,
    detached: true,
    stdin: 'pipe',
    stdout: 'ignore',
    stderr: 'ignore',
    // The agent must survive this process: never kill it on our exit (execa's default would).
    cleanup: false,
    reject: false,
    buffer: false,
  });
  // Our own exit must not wait for the agent.
  child.unref?.();
  const exited = child.then(
    (result) => ({
      exitCode: result.exitCode ?? null,
      signal: result.signal ?? null,
      ...(result.failed && result.exitCode === undefined && !result.signal ? { spawnError: result.shortMessage } : {}),
    }),
    (error: Error) => ({ exitCode: null, signal: null, spawnError: error.message }),
  );
  // The wrapper may be gone before the gate is written to (killed, or never spawned): no EPIPE crash.
  child.stdin?.on('error', () => undefined);
  if (child.pid === undefined) {
    child.stdin?.destroy();
    return { pid: -1, argv: ['/bin/sh', ...args], exited };
  }
  try {
    record?.(child.pid);
  } catch (error) {
    child.stdin?.end();
    throw error;
  }
  child.stdin?.end('go\n');
  return { pid: child.pid, argv: ['/bin/sh', ...args], exited };
}

/**
 * The wrapper reports the agent's status as `$?`: 128 + N when a signal N killed it. Codes 129..143 are read
 * as signals 1..15; higher codes stay codes, because gemini exits with HTTP status & 255 (144 = 400, 173 = 429).
 */
export function decodeExitCode(code: number): ExitStatus {
  if (code > 128 && code <= 143) {
    const name = SIGNAL_NAMES[code - 128];
    if (name) return { exitCode: null, signal: name };
  }
  return { exitCode: code, signal: null };
}

const SIGNAL_NAMES: Record<number, string> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  3: 'SIGQUIT',
  4: 'SIGILL',
  5: 'SIGTRAP',
  6: 'SIGABRT',
  7: 'SIGBUS',
  8: 'SIGFPE',
  9: 'SIGKILL',
  10: 'SIGUSR1',
  11: 'SIGSEGV',
  12: 'SIGUSR2',
  13: 'SIGPIPE',
  14: 'SIGALRM',
  15: 'SIGTERM',
};

/** Read the exit file the wrapper writes; null while the agent runs (or the line is not complete yet). */
export function readExitFile(path: string): ExitStatus | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  if (!text.endsWith('\n')) return null;
  const code = Number.parseInt(text.trim(), 10);
  return Number.isInteger(code) ? decodeExitCode(code) : null;
}

/** Send a signal to a whole process group; false when the group no longer exists. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  if (!Number.isInteger(pgid) || pgid <= 1) return false;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

/**
 * SIGTERM the group (and SIGCONT, since a stopped process only acts on SIGTERM once continued), then SIGKILL
 * whatever is left after the grace period. Resolves when no member of the group is left.
 */
export async function terminateGroup(
  pgid: number,
  graceMs: number,
  pollMs = 25,
  /** How long the group may take to end of its own first (it was asked to, another way), before any signal. */
  ownEndMs = 0,
): Promise<'terminated' | 'killed' | 'gone'> {
  if (ownEndMs > 0 && (await groupEndsWithin(pgid, ownEndMs, pollMs))) return 'gone';
  if (!signalGroup(pgid, 'SIGTERM')) return 'gone';
  signalGroup(pgid, 'SIGCONT');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (groupMembers(pgid).length === 0) return 'terminated';
    await sleep(pollMs);
  }
  signalGroup(pgid, 'SIGKILL');
  for (let i = 0; i < 200 && groupMembers(pgid).length > 0; i++) await sleep(pollMs);
  return 'killed';
}

/** Whether the group is gone (no member left) within `ms`; nothing is signalled. */
async function groupEndsWithin(pgid: number, ms: number, pollMs = 25): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (groupMembers(pgid).length === 0) return true;
    await sleep(pollMs);
  }
  return groupMembers(pgid).length === 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
