/**
 * How an attempt ended, as the PROCESS.EXITED event the worker hears. A run ended on purpose says why (a stop,
 * the stall timer, the deadline); an agent that ended of its own accord (or of a hopeless retry) is judged by its
 * exit: the wrapper's status, the stderr tail and the last payloads, through the adapter's failure classifier.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import type { AgentAdapter } from '../agents/types.js';
import type { FailureSignal } from '../domain/events.js';
import type { ChangeStat } from '../domain/isolation.js';
import type { OutputTracker } from '../domain/output-facts.js';
import type { AgentProcessEvent, AgentProcessInput } from '../machines/agent-process-protocol.js';
import type { ProcRecord } from '../store/session-store.js';
import type { ExitStatus } from './process-group.js';

const STDERR_TAIL_BYTES = 16 * 1024;

/** Why a run is being ended from outside; a stop wins over the others (it is what the worker asked for). */
export type EndCause = 'stopped' | 'stalled' | 'timed_out' | 'hopeless';

export type ExitedEvent = Extract<AgentProcessEvent, { type: 'PROCESS.EXITED' }>;

/** What the worker's checkout made of the attempt's leftovers (null: a session without checkouts). */
export type FinishedCheckout = { change: ChangeStat | null; failure?: FailureSignal };

export interface EndedRun {
  input: AgentProcessInput;
  adapter: AgentAdapter;
  record: ProcRecord | null;
  cause: EndCause | null;
  /** The status the run saw: its child's, or one it made up (killed; `lost`: gone without a status). */
  seen: ExitStatus & { lost?: boolean };
  /** The wrapper's status file, which is the truth when there is one (it reports the agent's status). */
  fromFile: ExitStatus | null;
  finished: FinishedCheckout | null;
  activeMs: number;
  tracker: OutputTracker;
  /** The last line of output, for the message of a stall. */
  lastLine: string;
  stderrPath: string;
  now: () => Date;
}

export function exitedEvent(run: EndedRun): ExitedEvent {
  const exit = run.fromFile ?? run.seen;
  const base = {
    type: 'PROCESS.EXITED' as const,
    attempt: run.input.attempt,
    exitCode: exit.exitCode,
    signal: exit.signal,
    activeMs: run.activeMs,
    facts: run.tracker.facts(),
    ...(run.finished ? { change: run.finished.change } : {}),
  };
  if (run.cause === 'stopped') return { ...base, outcome: 'stopped', failure: null };
  if (run.cause === 'timed_out') return { ...base, outcome: 'timed_out', failure: null };
  if (run.cause === 'stalled') {
    const seconds = Math.round(run.input.stallTimeoutMs / 1000);
    const last = run.lastLine ? `; its last line: ${run.lastLine.slice(0, 300)}` : '';
    return {
      ...base,
      outcome: 'failed',
      failure: {
        kind: 'stalled',
        message: `no progress for ${seconds}s, so its process group was killed${last}`,
        exitCode: exit.exitCode,
        signal: exit.signal,
      },
    };
  }
  const failure =
    run.seen.lost && !run.fromFile ? lostFailure(run.adapter) : (classify(run, exit) ?? run.finished?.failure ?? null);
  return { ...base, outcome: failure ? 'failed' : 'ok', failure };
}

/** The event of an attempt whose agent never ran: it could not be launched, or was stopped before it was. */
export function notRunEvent(
  input: AgentProcessInput,
  tracker: OutputTracker,
  end: { outcome: 'stopped'; failure: null } | { outcome: 'failed'; failure: FailureSignal },
): ExitedEvent {
  return {
    type: 'PROCESS.EXITED',
    attempt: input.attempt,
    outcome: end.outcome,
    exitCode: null,
    signal: null,
    failure: end.failure,
    activeMs: 0,
    facts: tracker.facts(),
  };
}

function classify(run: EndedRun, exit: ExitStatus): FailureSignal | null {
  const { adapter, record } = run;
  const stderrTail = readTail(run.stderrPath, record?.stderrStart ?? 0, STDERR_TAIL_BYTES);
  if ((exit.exitCode === 126 || exit.exitCode === 127) && run.tracker.lineCount === 0) {
    const binary = record?.argv[0] ?? adapter.defaultBinary;
    const said = stderrTail.trim().split('\n').pop() ?? '';
    return {
      kind: 'invalid_args',
      message:
        `could not execute ${binary} (exit ${exit.exitCode}): ${said}. ` +
        `Install ${adapter.displayName} or set ${adapter.binEnvVar}.`,
      exitCode: exit.exitCode,
      signal: null,
    };
  }
  try {
    return adapter.classifyFailure({
      exitCode: exit.exitCode,
      signal: exit.signal,
      stderrTail,
      events: run.tracker.recent(),
      now: run.now(),
    });
  } catch (error) {
    return {
      kind: 'crashed',
      message: `could not classify the failure: ${(error as Error).message}`,
      exitCode: exit.exitCode,
      signal: exit.signal,
    };
  }
}

function lostFailure(adapter: AgentAdapter): FailureSignal {
  return {
    kind: 'crashed',
    message: `the ${adapter.displayName} process ended while the orchestrator was not running and left no exit status`,
    exitCode: null,
    signal: null,
  };
}

function readTail(path: string, from: number, maxBytes: number): string {
  if (!existsSync(path)) return '';
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(from, size - maxBytes);
    const buffer = Buffer.alloc(Math.max(0, size - start));
    readSync(fd, buffer, 0, buffer.length, start);
    return buffer.toString('utf8');
  } finally {
    closeSync(fd);
  }
}
