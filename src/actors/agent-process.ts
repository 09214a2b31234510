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
 *
 * The run's concerns live apart: launch and attach (./agent-launch.ts), the run clock of stall, deadline and
 * active time (./run-clock.ts), the exit outcome (./exit-outcome.ts), a line's payloads (agents/line-payloads.ts).
 * What is left here is the lifecycle that ties them together (see `Phase`).
 */
import { fromCallback } from 'xstate';
import { lineEvents } from '../agents/line-payloads.js';
import { adapterInMode } from '../agents/registry.js';
import type { AgentAdapter, LaunchOptions } from '../agents/types.js';
import type { AgentPayload, FailureSignal, NewEvent } from '../domain/events.js';
import { OutputTracker } from '../domain/output-facts.js';
import type { PromptSpec } from '../domain/prompts.js';
import type { AgentProcessCommand, AgentProcessEvent, AgentProcessInput } from '../machines/agent-process-protocol.js';
import type { ProcRecord } from '../store/session-store.js';
import {
  isGroupStopped,
  isStillRunning,
  launchAgent,
  watchExit,
  type CheckoutHost,
  type ChildExit,
  type LaunchHost,
  type RunFiles,
} from './agent-launch.js';
import { exitedEvent, notRunEvent, type EndCause, type FinishedCheckout } from './exit-outcome.js';
import { LineFollower, type FollowedLine } from './line-follower.js';
import { Throttle } from './throttle.js';
import { readExitFile, signalGroup, terminateGroup, type LaunchRequest } from './process-group.js';
import { type InteractiveLink, type LinkHost, linkFor, readLines } from './interactive-link.js';
import { RunClock } from './run-clock.js';

export type { AgentProcessCommand, AgentProcessEvent, AgentProcessInput } from '../machines/agent-process-protocol.js';
export type { CheckoutHost } from './agent-launch.js';

export interface AgentProcessHost extends LaunchHost {
  files(workerId: string): RunFiles;
  readProcRecords(workerId: string): ProcRecord[];
  writeProcRecord(workerId: string, record: ProcRecord): void;
  /** Offset just past the last stdout line of this attempt already persisted as events. */
  lastLineEnd(workerId: string, attempt: number): number | undefined;
  /** What the events of this attempt already in the log said (after a restart), to continue from. */
  restoredFacts?(workerId: string, attempt: number): OutputTracker | undefined;
  publish(events: NewEvent[]): void;
  adapter(agent: string): AgentAdapter;
  /** The binary to run for an agent (the generic `acp` agent: its `command`), or an error a person can act on. */
  resolveBinary(adapter: AgentAdapter, command?: readonly string[]): { path: string } | { error: string };
  renderPrompt(spec: PromptSpec, launch: Omit<LaunchOptions, 'prompt'>): Promise<string>;
  /** The sandbox's chance to wrap the command (src/safety); identity when there is none. */
  wrapLaunch(request: LaunchRequest, input: AgentProcessInput): LaunchRequest;
  /** Sees every batch of payloads once it is published (the safety policy, budgets). */
  watchPayloads?(input: AgentProcessInput, payloads: AgentPayload[]): void;
  /** Present when the session gives each worker a checkout of its own (src/runtime/checkout-host.ts). */
  checkouts?: CheckoutHost;
  /** Interactive mode: the permission rules' decision for a request (absent: everything is allowed). */
  decidePermission?: LinkHost['decidePermission'];
  permissionHistory?: LinkHost['permissionHistory'];
  now(): Date;
}

export function createAgentProcessLogic(host: AgentProcessHost) {
  return fromCallback<AgentProcessCommand, AgentProcessInput>(({ input, sendBack, receive }) => {
    const run = new AgentRun(host, input, (event) => sendBack(event));
    receive((command) => run.command(command));
    void run.start();
    return () => run.release();
  });
}

/**
 * Where a run is:
 *
 *   launching ──launched / attached (the launch record is known)──▶ running ──its end seen──▶ ended
 *       └──────────── could not launch, or stopped while its checkout was made ────────────▶ ended
 *
 * - `launching`: no agent yet (its checkout is being made, its prompt rendered); commands wait for the launch, and
 *   a stop also ends the checkout's setup.
 * - `running`: the agent's group lives; pause and resume are SIGSTOP / SIGCONT to it and the run clock's (its
 *   `paused`). `cause` set: it is being ended (a stop, the stall timer, the deadline, a hopeless retry), by the group
 *   kill in `killing`.
 * - `ended`: the end is being reported (after the kill, the output's last lines, the checkout's commit) or has been;
 *   nothing else is sent. A stop that arrives before the report still makes it `stopped`.
 * `released` is apart: the actor let go (its state left, or the orchestrator going down). Nothing is sent and no kill
 * started from then on (one under way goes on): the agent keeps running, and a later `resume` re-attaches to it.
 */
type Phase = 'launching' | 'running' | 'ended';

class AgentRun {
  private readonly input: AgentProcessInput;
  private readonly adapter: AgentAdapter;
  private readonly files: RunFiles;
  private readonly tracker: OutputTracker;
  private readonly clock: RunClock;
  /** PROCESS.OUTPUT at most every 50 ms: a burst of lines is one report (the run's last facts go with its EXITED). */
  private readonly outputReport = new Throttle(50, () => {
    if (this.phase !== 'ended' && !this.released)
      this.send({ type: 'PROCESS.OUTPUT', attempt: this.input.attempt, facts: this.tracker.facts() });
  });
  private phase: Phase = 'launching';
  private released = false;
  /** Why the run is being ended from outside; null while it runs of its own accord. */
  private cause: EndCause | null = null;
  /** The group kill in progress (stop, stall, timeout): its end, not the wrapper's, is the attempt's end. */
  private killing: Promise<unknown> | null = null;
  /** Set once launched or attached: the launch record of this attempt. */
  private record: ProcRecord | null = null;
  private follower: LineFollower | null = null;
  /** Interactive mode: the agent's stdin and the conversation over it. */
  private link: InteractiveLink | null = null;
  private exitWatch: { close(): void } | null = null;
  private lastLine = '';
  /** Commands that came while launching, applied once launched. */
  private pendingCommands: AgentProcessCommand[] = [];
  /** Ends the checkout's setup commands when the worker is stopped (or this actor let go) before its launch. */
  private readonly preparing = new AbortController();

  constructor(
    private readonly host: AgentProcessHost,
    input: AgentProcessInput,
    private readonly send: (event: AgentProcessEvent) => void,
  ) {
    // In a session with checkouts the agent runs in its own; an agent that speaks only its protocol, interactive.
    const located = host.checkouts?.locate(input) ?? input;
    this.input = host.adapter(input.agent).interactiveOnly ? { ...located, interactive: true } : located;
    this.adapter = adapterInMode(host.adapter(input.agent), this.input.interactive);
    this.files = host.files(input.workerId);
    this.tracker = host.restoredFacts?.(input.workerId, input.attempt) ?? new OutputTracker();
    this.clock = new RunClock(this.input, (overrun) => this.endBecause(overrun));
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
    const record = this.record;
    if (!record) {
      // Not launched yet (its checkout is being made, the prompt rendered): apply once it is; a stop ends setup.
      if (command.type === 'PROCESS.TERMINATE') {
        this.cause = 'stopped';
        this.preparing.abort();
      }
      this.pendingCommands.push(command);
      return;
    }
    switch (command.type) {
      case 'PROCESS.PAUSE':
        if (this.clock.paused || this.phase === 'ended') return;
        this.clock.pause();
        signalGroup(record.pgid, 'SIGSTOP');
        return;
      case 'PROCESS.RESUME':
        if (!this.clock.paused || this.phase === 'ended') return;
        this.clock.resume();
        signalGroup(record.pgid, 'SIGCONT');
        return;
      case 'PROCESS.TERMINATE':
        this.cause = 'stopped';
        void this.kill();
        return;
      case 'PROCESS.ANSWER':
      case 'PROCESS.SAY':
        if (this.phase !== 'ended') this.link?.command(command);
        return;
    }
  }

  release(): void {
    // Leaving the state (or the orchestrator shutting down) only stops following: the agent keeps running
    // and a later `resume` re-attaches. Killing is always an explicit PROCESS.TERMINATE.
    this.released = true;
    this.preparing.abort();
    this.clock.stop();
    this.outputReport.cancel();
    this.exitWatch?.close();
    this.follower?.stop();
    this.link?.close();
  }

  // --- launching ---------------------------------------------------------------------------------------------

  private async launch(): Promise<void> {
    const binary = this.host.resolveBinary(this.adapter, this.input.launch.command);
    if ('error' in binary) {
      this.fail({ kind: 'agent_not_found', message: binary.error });
      return;
    }
    if (this.host.checkouts) {
      const prepared = await this.host.checkouts.prepare(this.input, this.preparing.signal);
      if (this.released) return;
      if (this.cause === 'stopped') {
        // Stopped while its checkout was being made: the agent never ran.
        this.end();
        this.send(notRunEvent(this.input, this.tracker, { outcome: 'stopped', failure: null }));
        return;
      }
      if (prepared) {
        this.fail(prepared.failure);
        return;
      }
    }
    const prompt = await this.host.renderPrompt(this.input.prompt, this.input.launch);
    if (this.released) return;
    this.link = this.newLink();
    this.link?.open(prompt);
    const launched = launchAgent(this.host, this.input, this.adapter, this.files, binary.path, prompt);
    if (!launched.record) {
      this.fail(await launched.failure);
      return;
    }
    const { record } = launched;
    this.running(record);
    this.send({ type: 'PROCESS.STARTED', attempt: this.input.attempt, pid: record.pid, reattached: false });
    this.follow(record.stdoutStart);
    this.clock.start();
    this.applyPendingCommands();
    void launched.exited.then((status) => this.onExit(status));
  }

  private attach(record: ProcRecord): void {
    this.running(record);
    const from = this.host.lastLineEnd(this.input.workerId, record.attempt) ?? record.stdoutStart;
    const exitPath = this.files.exit(record.attempt);
    if (isStillRunning(record, exitPath)) {
      this.send({ type: 'PROCESS.STARTED', attempt: record.attempt, pid: record.pid, reattached: true });
      this.link = this.newLink();
      this.link?.reattach(readLines(this.files.stdout, record.stdoutStart), () =>
        this.host.renderPrompt(this.input.prompt, this.input.launch),
      );
      // Catch the worker up on what it may have missed before the restart (session id, plan, summary).
      if (this.tracker.lineCount > 0)
        this.send({ type: 'PROCESS.OUTPUT', attempt: record.attempt, facts: this.tracker.facts() });
      this.follow(from);
      // A session paused before the orchestrator went down left this group SIGSTOPped, and the restored worker
      // is in running.paused: stay paused (the clock stands still) until PROCESS.RESUME sends SIGCONT.
      if (isGroupStopped(record.pgid)) this.clock.startPaused();
      else this.clock.start();
      this.applyPendingCommands();
      this.exitWatch = watchExit(record, exitPath, (status) => void this.onExit(status));
      return;
    }
    // It ended while nobody watched: take in the rest of its output (protocol lines told apart), then its exit status.
    this.link = this.newLink(true);
    this.follow(from);
    const status = readExitFile(exitPath);
    void this.onExit(status ?? { exitCode: null, signal: null, lost: true });
  }

  private running(record: ProcRecord): void {
    this.record = record;
    this.phase = 'running';
  }

  private applyPendingCommands(): void {
    const pending = this.pendingCommands;
    this.pendingCommands = [];
    for (const command of pending) this.command(command);
  }

  // --- running -----------------------------------------------------------------------------------------------

  private follow(from: number): void {
    this.follower = new LineFollower(this.files.stdout, from, {
      onLines: (lines) => this.onLines(lines),
      onError: () => undefined,
    });
    this.follower.start();
  }

  private onLines(lines: FollowedLine[]): void {
    const agentLines = lines.filter((l) => l.text.trim() !== '' && !this.link?.onLine(l.text, l.end));
    const { events, payloads, progressed } = lineEvents(this.adapter, this.input, agentLines);
    const last = agentLines.at(-1);
    if (last) this.lastLine = last.text;
    if (events.length === 0) return;
    this.host.publish(events);
    this.host.watchPayloads?.(this.input, payloads);
    // A retry that cannot succeed (a rejected API key) would keep the agent busy for minutes: end it now.
    if (this.adapter.isHopelessRetry && payloads.some((p) => this.adapter.isHopelessRetry?.(p)))
      this.endBecause('hopeless');
    const changed = this.tracker.add(payloads);
    // Retry notices are output, not progress: codex without network would otherwise never stall.
    if (progressed) this.clock.progress();
    if (changed && this.phase !== 'ended') this.outputReport.request();
  }

  /** The stall timer, the deadline or a hopeless retry ends the run (unless it is ending or stopped already). */
  private endBecause(cause: Exclude<EndCause, 'stopped'>): void {
    if (this.phase === 'ended' || this.cause === 'stopped') return;
    this.cause = cause;
    void this.kill();
  }

  private async kill(): Promise<void> {
    const record = this.record;
    if (!record) return;
    this.clock.disarm();
    // An interactive agent's stop goes through its protocol first (it ends its turn, its conversation, itself); the
    // group is signalled after a grace if anything is left. A paused group could not read it.
    const asked = this.cause === 'stopped' && !this.clock.paused && this.link?.interrupt();
    this.killing = terminateGroup(record.pgid, this.input.killGraceMs, 25, asked ? this.input.killGraceMs : 0);
    await this.killing;
    // Our own child also reports through `exited`; a re-attached one is not, so say it here (from its exit file).
    if (this.phase !== 'ended')
      void this.onExit(readExitFile(this.files.exit(record.attempt)) ?? { exitCode: null, signal: 'SIGTERM' });
  }

  // --- ended -------------------------------------------------------------------------------------------------

  private end(): void {
    this.phase = 'ended';
    this.clock.stop();
    this.outputReport.cancel();
    this.link?.close();
  }

  /** Interactive mode, when the worker asks for it and the agent has it (`closed`: only to tell its lines apart). */
  private newLink(closed = false): InteractiveLink | null {
    return linkFor(this.host, this.input, this.adapter, this.files, this.clock, (e) => this.send(e), closed);
  }

  private async onExit(status: ChildExit): Promise<void> {
    if (this.phase === 'ended' || this.released) return;
    this.end();
    this.exitWatch?.close();
    // The wrapper (the group leader) dies of the SIGTERM at once; an agent may outlive it until the SIGKILL.
    // Stopped, stalled or timed out means nothing of the group is left: wait for the kill to finish.
    if (this.killing) await this.killing;
    // The wrapper's own status file is the truth (the wrapper reports the agent's status, not its own).
    const fromFile = this.record ? readExitFile(this.files.exit(this.record.attempt)) : null;
    await this.follower?.finish();
    this.follower?.stop();
    // Let go while its last lines went over (the orchestrator going down): the next `resume` finishes this run.
    if (this.released) return;
    // What the agent left is committed whatever the outcome: a stopped or failed attempt's work is kept too.
    const finished = this.host.checkouts ? await this.finishCheckout() : null;
    if (this.released) return;
    this.send(
      exitedEvent({
        input: this.input,
        adapter: this.adapter,
        record: this.record,
        cause: this.cause,
        seen: status,
        fromFile,
        finished,
        activeMs: this.clock.activeMs,
        tracker: this.tracker,
        lastLine: this.lastLine,
        stderrPath: this.files.stderr,
        now: () => this.host.now(),
      }),
    );
  }

  private async finishCheckout(): Promise<FinishedCheckout> {
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

  private fail(failure: FailureSignal): void {
    if (this.phase === 'ended') return;
    this.end();
    this.send(notRunEvent(this.input, this.tracker, { outcome: 'failed', failure }));
  }
}
