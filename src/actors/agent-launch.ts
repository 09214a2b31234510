/**
 * Launch and attach: the two ways a run gets its agent. A launch starts the agent under the wrapper in a process
 * group of its own and writes its launch record before the wrapper lets the agent start, so that a restarted
 * orchestrator finds it rather than launching it twice. Attaching takes the agent a launch record names: still
 * running (then its exit, which we cannot await as it is not our child, is watched for), or ended while nobody
 * watched.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync, watch, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { AgentAdapter } from '../agents/types.js';
import type { FailureSignal } from '../domain/events.js';
import type { ChangeStat } from '../domain/isolation.js';
import type { AgentProcessInput } from '../machines/agent-process-protocol.js';
import type { ProcRecord } from '../store/session-store.js';
import { STDIN_RELAY_SCRIPT } from './agent-channel.js';
import {
  groupMembers,
  isSameProcessAlive,
  launchDetached,
  readExitFile,
  readProcStat,
  type ExitStatus,
  type LaunchRequest,
} from './process-group.js';

/** Only for re-attached agents, whose exit we cannot await: how often to look whether they still live. */
const ATTACHED_LIVENESS_MS = 10_000;

export interface RunFiles {
  stdout: string;
  stderr: string;
  exit: (attempt: number) => string;
  stdin: (attempt: number) => string;
  sent: (attempt: number) => string;
}

/** What a launch needs of the process host (src/actors/agent-process.ts has the whole of it). */
export interface LaunchHost {
  writeProcRecord(workerId: string, record: ProcRecord): void;
  wrapLaunch(request: LaunchRequest, input: AgentProcessInput): LaunchRequest;
  now(): Date;
}

export type ChildExit = ExitStatus & { spawnError?: string; lost?: boolean };

export type Launched =
  | { record: ProcRecord; exited: Promise<ChildExit> }
  /** It could not be spawned: the attempt's failure, once the spawn error is known. */
  | { record: null; failure: Promise<FailureSignal> };

/** Launch the agent (its prompt rendered) and record the launch. */
export function launchAgent(
  host: LaunchHost,
  input: AgentProcessInput,
  adapter: AgentAdapter,
  files: RunFiles,
  binary: string,
  prompt: string,
): Launched {
  // Interactive: no prompt in argv (it goes in on stdin), and the agent runs under its stdin relay.
  const interactive = input.interactive ? adapter.interactive : undefined;
  const command = interactive
    ? interactive.buildCommand(input.launch)
    : adapter.buildCommand({ ...input.launch, prompt });
  const stdoutStart = prepareOutputFile(files.stdout);
  const stderrStart = prepareOutputFile(files.stderr);
  const wrapped = host.wrapLaunch(
    {
      file: binary,
      args: command.args,
      env: command.env,
      cwd: input.launch.targetDir,
      stdoutPath: files.stdout,
      stderrPath: files.stderr,
      exitPath: files.exit(input.attempt),
    },
    input,
  );
  // The relay runs outside the sandbox, around it (as the network proxy does): the FIFO stays on the host.
  const request = interactive
    ? {
        ...wrapped,
        file: process.execPath,
        args: [
          STDIN_RELAY_SCRIPT,
          files.stdin(input.attempt),
          files.sent(input.attempt),
          '--',
          wrapped.file,
          ...wrapped.args,
        ],
      }
    : wrapped;
  let record = null as ProcRecord | null;
  // Recorded before the agent may start (the wrapper waits at its gate until then): a restarted orchestrator
  // finds this launch rather than launching it twice, and an agent whose launch was never recorded never runs.
  const launched = launchDetached(request, (pid) => {
    record = {
      attempt: input.attempt,
      pid,
      pgid: pid,
      startTime: readProcStat(pid)?.startTime ?? '',
      stdoutStart,
      stderrStart,
      launchedAt: host.now().toISOString(),
      argv: [request.file, ...request.args],
    };
    host.writeProcRecord(input.workerId, record);
  });
  if (launched.pid <= 0 || !record) {
    return {
      record: null,
      failure: launched.exited.then((status) => ({
        kind: 'agent_not_found',
        message: `could not start ${request.file}: ${status.spawnError ?? 'spawn failed'}`,
      })),
    };
  }
  return { record, exited: launched.exited };
}

/** Whether the agent of a launch record still runs: it left no exit status and its pid is still that process. */
export function isStillRunning(record: ProcRecord, exitPath: string): boolean {
  return readExitFile(exitPath) === null && isSameProcessAlive(record.pid, record.startTime);
}

/**
 * Whether the group is stopped (SIGSTOP): a session paused before the orchestrator went down. A pause stops the
 * whole group at once, so the leader's state tells (one /proc read, not a scan of every process per worker);
 * the group is scanned only when the leader is gone.
 */
export function isGroupStopped(pgid: number): boolean {
  const leader = readProcStat(pgid);
  if (leader && leader.state !== 'Z' && leader.state !== 'X') return leader.state === 'T';
  return groupMembers(pgid).some((m) => m.state === 'T');
}

/**
 * Watch for the end of a re-attached agent: its exit file appearing, or (every ATTACHED_LIVENESS_MS) its process
 * gone without one (`lost`). Calls `onExit` until closed.
 */
export function watchExit(
  record: ProcRecord,
  exitPath: string,
  onExit: (status: ChildExit) => void,
): { close(): void } {
  let closed = false;
  const check = () => {
    if (closed) return;
    const status = readExitFile(exitPath);
    if (status) onExit(status);
    else if (!isSameProcessAlive(record.pid, record.startTime)) onExit({ exitCode: null, signal: null, lost: true });
  };
  const watcher = watch(dirname(exitPath), { persistent: false }, (_event, name) => {
    if (name === basename(exitPath)) check();
  });
  const liveness = setInterval(check, ATTACHED_LIVENESS_MS);
  liveness.unref();
  return {
    close: () => {
      closed = true;
      watcher.close();
      clearInterval(liveness);
    },
  };
}

/**
 * Create the output file if needed, end it with a newline (a killed attempt may have left half a line), return its
 * size.
 */
export function prepareOutputFile(path: string): number {
  if (!existsSync(path)) writeFileSync(path, '');
  const fd = openSync(path, 'r+');
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return 0;
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    if (last[0] === 0x0a) return size;
    writeFileSync(path, '\n', { flag: 'a' });
    return size + 1;
  } finally {
    closeSync(fd);
  }
}

/** The worker's checkout around its agent runs: where it runs, made before a launch, committed after one. */
export interface CheckoutHost {
  /** The input with the launch's directory moved into the checkout (pure: paths only). */
  locate(input: AgentProcessInput): AgentProcessInput;
  /** Make the checkout (idempotent); a failure is the attempt's failure (a conflict, a setup command). */
  prepare(input: AgentProcessInput, signal?: AbortSignal): Promise<{ failure: FailureSignal } | null>;
  /** After the agent ended: commit what it left; a conflict it left unresolved fails the attempt. */
  finish(input: AgentProcessInput): Promise<{ change: ChangeStat | null; failure?: FailureSignal }>;
}
