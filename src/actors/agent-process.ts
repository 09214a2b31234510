/**
 * `agentProcess`: the fromCallback actor a worker invokes for one attempt of one agent run.
 *
 * Launch is idempotent per (worker, attempt): the actor first looks for the launch record of its attempt.
 * XState runs a restored fromCallback actor again (after `orchestrate resume`), so this is how a restored
 * worker re-attaches to its live agent, reads the exit status of one that ended meanwhile, or reports the
 * process lost, instead of launching it twice.
 *
 * Output is followed from the stdout file by offset; each line becomes agent events, persisted (the store
 * remembers the offset of the last line turned into events) before the worker hears a summary of them.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { fromCallback } from 'xstate';
import type { AgentAdapter, LaunchOptions } from '../agents/types.js';
import { malformed } from '../agents/common.js';
import type { AgentPayload, FailureSignal, NewEvent } from '../domain/events.js';
import type { PromptSpec } from '../domain/prompts.js';
import { OutputTracker } from '../domain/output-facts.js';
import type { ProcRecord } from '../store/session-store.js';
import type { ChangeStat } from '../domain/isolation.js';
import type { AgentProcessCommand, AgentProcessEvent, AgentProcessInput } from '../machines/agent-process-protocol.js';
import { LineFollower, type FollowedLine } from './line-follower.js';
import {
  groupMembers,
  isSameProcessAlive,
  launchDetached,
  readExitFile,
  readProcStat,
  signalGroup,
  terminateGroup,
  type ExitStatus,
  type LaunchRequest,
} from './process-group.js';

export type {
  AgentProcessCommand,
  AgentProcessEvent,
  AgentProcessInput,
  CheckoutRequest,
} from '../machines/agent-process-protocol.js';

export interface AgentProcessHost {
  files(workerId: string): { stdout: string; stderr: string; exit: (attempt: number) => string };
  readProcRecords(workerId: string): ProcRecord[];
  writeProcRecord(workerId: string, record: ProcRecord): void;
  /** Offset just past the last stdout line of this attempt already persisted as events. */
  lastLineEnd(workerId: string, attempt: number): number | undefined;
  /** What the events of this attempt already in the log said (after a restart), to continue from. */
  restoredFacts?(workerId: string, attempt: number): OutputTracker | undefined;
  publish(events: NewEvent[]): void;
  adapter(agent: string): AgentAdapter;
  /** The binary to run for an agent, or an error a person can act on. */
  resolveBinary(adapter: AgentAdapter): { path: string } | { error: string };
  renderPrompt(spec: PromptSpec, launch: Omit<LaunchOptions, 'prompt'>): Promise<string>;
  /** The sandbox's chance to wrap the command (src/safety); identity when there is none. */
  wrapLaunch(request: LaunchRequest, input: AgentProcessInput): LaunchRequest;
  /** Called for every batch of payloads (safety policy, budgets); may return events to publish. */
  inspect?(input: AgentProcessInput, payloads: AgentPayload[]): void;
  /** Present when the session gives each worker a checkout of its own (src/runtime/checkout-host.ts). */
  checkouts?: CheckoutHost;
  now(): Date;
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

const STDERR_TAIL_BYTES = 16 * 1024;
/** Only for re-attached agents, whose exit we cannot await: how often to look whether they still live. */
const ATTACHED_LIVENESS_MS = 10_000;

export function createAgentProcessLogic(host: AgentProcessHost) {
  return fromCallback<AgentProcessCommand, AgentProcessInput>(({ input, sendBack, receive }) => {
    const run = new AgentRun(host, input, (event) => sendBack(event));
    receive((command) => run.command(command));
    void run.start();
    return () => run.dispose();
  });
}

class AgentRun {
  private readonly adapter: AgentAdapter;
  private readonly files: ReturnType<AgentProcessHost['files']>;
  private readonly tracker: OutputTracker;
  private follower: LineFollower | null = null;
  private record: ProcRecord | null = null;
  private disposed = false;
  private ended = false;
  private stopRequested = false;
  private endReason: 'stalled' | 'timed_out' | 'hopeless' | null = null;
  private paused = false;
  private stallTimer: NodeJS.Timeout | null = null;
  private deadlineTimer: NodeJS.Timeout | null = null;
  private livenessTimer: NodeJS.Timeout | null = null;
  private exitWatcher: FSWatcher | null = null;
  private activeSince: number | null = null;
  private activeMs = 0;
  private lastLine = '';
  private pendingCommands: AgentProcessCommand[] = [];
  /** The group kill in progress (stop, stall, timeout): its end, not the wrapper's, is the attempt's end. */
  private killing: Promise<unknown> | null = null;
  /** Ends the checkout's setup commands when the worker is stopped (or this actor let go) before its launch. */
  private readonly preparing = new AbortController();

  private readonly input: AgentProcessInput;

  constructor(
    private readonly host: AgentProcessHost,
    input: AgentProcessInput,
    private readonly send: (event: AgentProcessEvent) => void,
  ) {
    // In a session with checkouts the agent runs in its own: every use of the input below sees that directory.
    this.input = host.checkouts?.locate(input) ?? input;
    this.adapter = host.adapter(input.agent);
    this.files = host.files(input.workerId);
    this.tracker = host.restoredFacts?.(input.workerId, input.attempt) ?? new OutputTracker();
  }

  async start(): Promise<void> {
    try {
      const existing = this.host.readProcRecords(this.input.workerId).find((r) => r.attempt === this.input.attempt);
      if (existing) this.attach(existing);
      else await this.launch();
    } catch (error) {
      // The safety layer refusing a launch (LaunchRefusedError, kind 'invalid_args') is not a crash: retrying cannot
      // help.
      const refused = (error as { kind?: unknown }).kind === 'invalid_args';
      this.fail({
        kind: refused ? 'invalid_args' : 'crashed',
        message: refused
          ? (error as Error).message
          : `could not start ${this.adapter.displayName}: ${(error as Error).message}`,
      });
    }
  }

  command(command: AgentProcessCommand): void {
    if (!this.record) {
      // Not launched yet (its checkout is being made, the prompt rendered): apply once it is; a stop ends setup.
      if (command.type === 'PROCESS.TERMINATE') {
        this.stopRequested = true;
        this.preparing.abort();
      }
      this.pendingCommands.push(command);
      return;
    }
    const pgid = this.record.pgid;
    switch (command.type) {
      case 'PROCESS.PAUSE':
        if (this.paused || this.ended) return;
        this.paused = true;
        signalGroup(pgid, 'SIGSTOP');
        this.suspendTimers();
        return;
      case 'PROCESS.RESUME':
        if (!this.paused || this.ended) return;
        this.paused = false;
        signalGroup(pgid, 'SIGCONT');
        this.resumeTimers();
        return;
      case 'PROCESS.TERMINATE':
        this.stopRequested = true;
        void this.kill();
        return;
    }
  }

  dispose(): void {
    // Leaving the state (or the orchestrator shutting down) only stops following: the agent keeps running
    // and a later `resume` re-attaches. Killing is always an explicit PROCESS.TERMINATE.
    this.disposed = true;
    this.preparing.abort();
    this.clearTimers();
    this.exitWatcher?.close();
    this.follower?.stop();
  }

  private async launch(): Promise<void> {
    const binary = this.host.resolveBinary(this.adapter);
    if ('error' in binary) {
      this.fail({ kind: 'agent_not_found', message: binary.error });
      return;
    }
    if (this.host.checkouts) {
      const prepared = await this.host.checkouts.prepare(this.input, this.preparing.signal);
      if (this.disposed) return;
      if (this.stopRequested) {
        // Stopped while its checkout was being made: the agent never ran.
        this.ended = true;
        this.send({
          type: 'PROCESS.EXITED',
          attempt: this.input.attempt,
          outcome: 'stopped',
          exitCode: null,
          signal: null,
          failure: null,
          activeMs: 0,
          facts: this.tracker.facts(),
        });
        return;
      }
      if (prepared) {
        this.fail(prepared.failure);
        return;
      }
    }
    const prompt = await this.host.renderPrompt(this.input.prompt, this.input.launch);
    if (this.disposed) return;
    const command = this.adapter.buildCommand({ ...this.input.launch, prompt });
    const stdoutStart = prepareOutputFile(this.files.stdout);
    const stderrStart = prepareOutputFile(this.files.stderr);
    const request = this.host.wrapLaunch(
      {
        file: binary.path,
        args: command.args,
        env: command.env,
        cwd: this.input.launch.targetDir,
        stdoutPath: this.files.stdout,
        stderrPath: this.files.stderr,
        exitPath: this.files.exit(this.input.attempt),
      },
      this.input,
    );
    const launched = launchDetached(request);
    if (launched.pid <= 0) {
      const status = await launched.exited;
      this.fail({
        kind: 'agent_not_found',
        message: `could not start ${request.file}: ${status.spawnError ?? 'spawn failed'}`,
      });
      return;
    }
    const stat = readProcStat(launched.pid);
    const record: ProcRecord = {
      attempt: this.input.attempt,
      pid: launched.pid,
      pgid: launched.pid,
      startTime: stat?.startTime ?? '',
      stdoutStart,
      stderrStart,
      launchedAt: this.host.now().toISOString(),
      argv: [request.file, ...request.args],
    };
    // Recorded before anything else: from now on a restarted orchestrator finds this launch, not a new one.
    this.host.writeProcRecord(this.input.workerId, record);
    this.record = record;
    this.send({ type: 'PROCESS.STARTED', attempt: this.input.attempt, pid: launched.pid, reattached: false });
    this.follow(stdoutStart);
    this.startTimers();
    this.applyPendingCommands();
    void launched.exited.then((status) => this.onExit(status));
  }

  private attach(record: ProcRecord): void {
    this.record = record;
    const from = this.host.lastLineEnd(this.input.workerId, record.attempt) ?? record.stdoutStart;
    const exitPath = this.files.exit(record.attempt);
    if (readExitFile(exitPath) === null && isSameProcessAlive(record.pid, record.startTime)) {
      this.send({ type: 'PROCESS.STARTED', attempt: record.attempt, pid: record.pid, reattached: true });
      // Catch the worker up on what it may have missed before the restart (session id, plan, summary).
      if (this.tracker.lineCount > 0)
        this.send({ type: 'PROCESS.OUTPUT', attempt: record.attempt, facts: this.tracker.facts() });
      this.follow(from);
      // A session paused before the orchestrator went down left this group SIGSTOPped, and the restored worker
      // is in running.paused: stay paused (timers stand still) until PROCESS.RESUME sends SIGCONT.
      if (groupMembers(record.pgid).some((m) => m.state === 'T')) this.paused = true;
      else this.startTimers();
      this.applyPendingCommands();
      this.watchForExit(record, exitPath);
      return;
    }
    // It ended while nobody watched: take in the rest of its output, then its exit status (if it left one).
    this.follow(from);
    const status = readExitFile(exitPath);
    void this.onExit(status ?? { exitCode: null, signal: null, lost: true });
  }

  private watchForExit(record: ProcRecord, exitPath: string): void {
    const check = () => {
      if (this.ended || this.disposed) return;
      const status = readExitFile(exitPath);
      if (status) void this.onExit(status);
      else if (!isSameProcessAlive(record.pid, record.startTime))
        void this.onExit({ exitCode: null, signal: null, lost: true });
    };
    this.exitWatcher = watch(dirname(exitPath), { persistent: false }, (_event, name) => {
      if (name === basename(exitPath)) check();
    });
    this.livenessTimer = setInterval(check, ATTACHED_LIVENESS_MS);
    this.livenessTimer.unref();
  }

  private follow(from: number): void {
    this.follower = new LineFollower(this.files.stdout, from, {
      onLines: (lines) => this.onLines(lines),
      onError: () => undefined,
    });
    this.follower.start();
  }

  private onLines(lines: FollowedLine[]): void {
    const events: NewEvent[] = [];
    const payloads: AgentPayload[] = [];
    let progressed = false;
    for (const line of lines) {
      if (line.text.trim() === '') continue;
      const parsed: AgentPayload[] = line.oversizeBytes
        ? [
            {
              ...malformed(line.text, `line of ${line.oversizeBytes} bytes is longer than the limit; cut`),
              bytes: line.oversizeBytes,
              truncated: true,
            },
          ]
        : safeParse(this.adapter, line.text);
      const ts = agentTimestamp(line.text);
      for (const payload of parsed) {
        payloads.push(payload);
        if (!(payload.kind === 'error' && payload.retrying)) progressed = true;
        events.push({
          type: 'agent',
          source: { kind: 'worker', id: this.input.workerId },
          agent: this.input.agent,
          workerId: this.input.workerId,
          at: { attempt: this.input.attempt, end: line.end },
          ...(ts ? { ts } : {}),
          ...payload,
        } as NewEvent);
      }
      this.lastLine = line.text;
    }
    if (events.length === 0) return;
    this.host.publish(events);
    this.host.inspect?.(this.input, payloads);
    // A retry that cannot succeed (a rejected API key) would keep the agent busy for minutes: end it now.
    if (this.adapter.isHopelessRetry && payloads.some((p) => this.adapter.isHopelessRetry?.(p)))
      this.endBecause('hopeless');
    const changed = this.tracker.add(payloads);
    // Retry notices ("Reconnecting... waiting for network") are output but not progress: they must not
    // hold off the stall timeout, or codex without network would run forever.
    if (progressed) this.touchStallTimer();
    if (changed && !this.ended)
      this.send({ type: 'PROCESS.OUTPUT', attempt: this.input.attempt, facts: this.tracker.facts() });
  }

  private async onExit(status: ExitStatus & { spawnError?: string; lost?: boolean }): Promise<void> {
    if (this.ended || this.disposed) return;
    this.ended = true;
    this.pauseActiveClock();
    this.clearTimers();
    this.exitWatcher?.close();
    // The wrapper (the group leader) dies of the SIGTERM at once; an agent may outlive it until the SIGKILL.
    // Stopped, stalled or timed out means nothing of the group is left: wait for the kill to finish.
    if (this.killing) await this.killing;
    // The wrapper's own status file is the truth (the wrapper reports the agent's status, not its own).
    const fromFile = this.record ? readExitFile(this.files.exit(this.record.attempt)) : null;
    const exit = fromFile ?? status;
    this.follower?.finish();
    this.follower?.stop();
    // What the agent left is committed whatever the outcome: a stopped or failed attempt's work is kept too.
    const finished = this.host.checkouts ? await this.finishCheckout() : null;
    if (this.disposed) return;
    const base = {
      type: 'PROCESS.EXITED' as const,
      attempt: this.input.attempt,
      exitCode: exit.exitCode,
      signal: exit.signal,
      activeMs: this.activeMs,
      facts: this.tracker.facts(),
      ...(finished ? { change: finished.change } : {}),
    };
    if (this.stopRequested) {
      this.send({ ...base, outcome: 'stopped', failure: null });
      return;
    }
    if (this.endReason === 'timed_out') {
      this.send({ ...base, outcome: 'timed_out', failure: null });
      return;
    }
    if (this.endReason === 'stalled') {
      const seconds = Math.round(this.input.stallTimeoutMs / 1000);
      const last = this.lastLine ? `; its last line: ${this.lastLine.slice(0, 300)}` : '';
      this.send({
        ...base,
        outcome: 'failed',
        failure: {
          kind: 'stalled',
          message: `no progress for ${seconds}s, so its process group was killed${last}`,
          exitCode: exit.exitCode,
          signal: exit.signal,
        },
      });
      return;
    }
    const failure =
      status.lost && !fromFile ? lostFailure(this.adapter) : (this.classify(exit) ?? finished?.failure ?? null);
    this.send({ ...base, outcome: failure ? 'failed' : 'ok', failure });
  }

  private async finishCheckout(): Promise<{ change: ChangeStat | null; failure?: FailureSignal }> {
    try {
      return (await this.host.checkouts?.finish(this.input)) ?? { change: null };
    } catch (error) {
      // The agent's run stands; its work stays in the checkout and is committed after the next attempt.
      return {
        change: null,
        failure: { kind: 'crashed', message: `its work could not be committed: ${(error as Error).message}` },
      };
    }
  }

  private classify(exit: ExitStatus): FailureSignal | null {
    const stderrTail = readTail(this.files.stderr, this.record?.stderrStart ?? 0, STDERR_TAIL_BYTES);
    if ((exit.exitCode === 126 || exit.exitCode === 127) && this.tracker.lineCount === 0) {
      return {
        kind: 'invalid_args',
        message: `could not execute ${this.record?.argv[0] ?? this.adapter.defaultBinary} (exit ${exit.exitCode}): ${stderrTail.trim().split('\n').pop() ?? ''}. Install ${this.adapter.displayName} or set ${this.adapter.binEnvVar}.`,
        exitCode: exit.exitCode,
        signal: null,
      };
    }
    try {
      return this.adapter.classifyFailure({
        exitCode: exit.exitCode,
        signal: exit.signal,
        stderrTail,
        events: this.tracker.recent(),
        now: this.host.now(),
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

  private fail(failure: FailureSignal): void {
    if (this.ended) return;
    this.ended = true;
    this.send({
      type: 'PROCESS.EXITED',
      attempt: this.input.attempt,
      outcome: 'failed',
      exitCode: null,
      signal: null,
      failure,
      activeMs: 0,
      facts: this.tracker.facts(),
    });
  }

  private async kill(): Promise<void> {
    if (!this.record) return;
    if (this.stallTimer) clearTimeout(this.stallTimer);
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.stallTimer = this.deadlineTimer = null;
    this.killing = terminateGroup(this.record.pgid, this.input.killGraceMs);
    await this.killing;
    // Our own child also reports through `exited`; a re-attached agent is not our child, so say it here.
    // (The wrapper dies with the group, so a killed agent leaves no exit file.)
    if (!this.ended)
      void this.onExit(readExitFile(this.files.exit(this.record.attempt)) ?? { exitCode: null, signal: 'SIGTERM' });
  }

  private applyPendingCommands(): void {
    const pending = this.pendingCommands;
    this.pendingCommands = [];
    for (const command of pending) this.command(command);
  }

  // --- timers: stall (no progress) and the worker's time budget; both stand still while paused ---------

  private startTimers(): void {
    this.activeSince = Date.now();
    this.touchStallTimer();
    if (this.input.timeLeftMs !== null) this.armDeadline(this.input.timeLeftMs);
  }

  private touchStallTimer(): void {
    if (this.paused || this.ended) return;
    if (this.stallTimer) {
      this.stallTimer.refresh();
      return;
    }
    this.stallTimer = setTimeout(() => this.endBecause('stalled'), this.input.stallTimeoutMs);
    this.stallTimer.unref();
  }

  private armDeadline(ms: number): void {
    this.deadlineTimer = setTimeout(() => this.endBecause('timed_out'), Math.max(0, ms));
    this.deadlineTimer.unref();
  }

  private endBecause(reason: 'stalled' | 'timed_out' | 'hopeless'): void {
    if (this.ended || this.stopRequested) return;
    this.endReason = reason;
    void this.kill();
  }

  private suspendTimers(): void {
    this.pauseActiveClock();
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = null;
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = null;
  }

  private resumeTimers(): void {
    this.activeSince = Date.now();
    this.touchStallTimer();
    if (this.input.timeLeftMs !== null) this.armDeadline(this.input.timeLeftMs - this.activeMs);
  }

  private pauseActiveClock(): void {
    if (this.activeSince !== null) this.activeMs += Date.now() - this.activeSince;
    this.activeSince = null;
  }

  private clearTimers(): void {
    if (this.stallTimer) clearTimeout(this.stallTimer);
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    if (this.livenessTimer) clearInterval(this.livenessTimer);
    this.stallTimer = this.deadlineTimer = this.livenessTimer = null;
  }
}

function safeParse(adapter: AgentAdapter, line: string): AgentPayload[] {
  try {
    const payloads = adapter.parseLine(line);
    return payloads.length > 0 ? payloads : [malformed(line, `${adapter.name} parser returned nothing for this line`)];
  } catch (error) {
    return [malformed(line, `${adapter.name} parser failed: ${(error as Error).message}`)];
  }
}

/** The agent's own time for a line, when it prints one (gemini `timestamp`, claude assistant `timestamp`). */
function agentTimestamp(line: string): string | undefined {
  const at = line.lastIndexOf('"timestamp":"');
  if (at === -1) return undefined;
  const start = at + 13;
  const end = line.indexOf('"', start);
  if (end === -1 || end - start > 40) return undefined;
  const value = line.slice(start, end);
  return Number.isNaN(Date.parse(value)) ? undefined : new Date(value).toISOString();
}

function lostFailure(adapter: AgentAdapter): FailureSignal {
  return {
    kind: 'crashed',
    message: `the ${adapter.displayName} process ended while the orchestrator was not running and left no exit status`,
    exitCode: null,
    signal: null,
  };
}

/**
 * Create the output file if needed, end it with a newline (a killed attempt may have left half a line), return its
 * size.
 */
function prepareOutputFile(path: string): number {
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
