/**
 * A live session: the session actor with every named actor and action bound to real effects, its store,
 * `state` events derived from the actor system's transitions, and the snapshot kept on disk.
 *
 * Data flow: agent bytes -> adapter parser -> event -> store (events.jsonl) -> listeners (SSE, CLI);
 * machine transitions -> `state` events -> store; every state change -> snapshot.json (atomic).
 */
import { createActor, type Actor, type EventObject, type InspectionEvent } from 'xstate';
import type { AgentProcessInput } from '../actors/agent-process.js';
import type { LaunchRequest } from '../actors/process-group.js';
import type { AskedPermission } from '../agents/conversation.js';
import type { Decided } from '../domain/permission-rules.js';
import type { AgentPayload, NewEvent, OrchestratorEvent } from '../domain/events.js';
import type { SessionSpec } from '../domain/spec.js';
import type { sessionMachine, SessionEvent } from '../machines/session.machine.js';
import type { WorkerStatusEvent } from '../machines/worker.machine.js';
import { SessionLockedError, SessionStore, type ProcRecord } from '../store/session-store.js';
import type { EventListener, FrameChunk, LogLine } from '../store/event-log.js';
import type { SessionContext } from '../domain/supervisor/context.js';
import type { Isolation } from '../domain/isolation.js';
import { boundSessionMachine, sessionCheckouts } from './session-effects.js';
import { type ActorMachine, StateLog, stateValueToString } from './state-log.js';
import { gitHead } from './git.js';
import type { SessionCheckouts } from '../workspace/checkouts.js';
import { buildSessionView, type SessionView } from './view.js';
import { permissionHistoryOf, specDecision } from './permissions.js';
import { waitForEnd } from './wait-for-end.js';

export interface RuntimeOptions {
  workspace: string;
  /** Environment for finding and running agents (defaults to process.env). */
  env?: Record<string, string | undefined>;
  /** Workers run inside our sandbox (src/safety decides; claude's root refusal may then be lifted). */
  insideSandbox?: boolean;
  wrapLaunch?: (request: LaunchRequest, input: AgentProcessInput) => LaunchRequest;
  /** Sees every batch of an agent's payloads once it is published (the safety policy, budgets). */
  watchPayloads?: (runtime: SessionRuntime, input: AgentProcessInput, payloads: AgentPayload[]) => void;
  /** Also hand XState's inspection events to this observer (`--inspect stately`). */
  inspector?: (event: InspectionEvent) => void;
  /** Run a command confined like an agent (src/safety): setup commands, git in a checkout an agent wrote. */
  confine?: (
    command: { file: string; args: string[]; cwd: string },
    access: { writable: readonly string[]; network: boolean },
  ) => { file: string; args: string[] };
  setupWritable?: readonly string[];
  /**
   * An interactive agent's request before a tool runs (src/safety: the spec's permissions and the built-in rules).
   * Without it, the spec's own rules decide, with no shell parsing and no built-in rules.
   */
  decidePermission?: (runtime: SessionRuntime, input: AgentProcessInput, request: AskedPermission) => Decided;
}

export type SessionEndState = 'completed' | 'partial' | 'stopped' | 'escalated' | 'waiting';

/** How often context-only changes (usage, progress) reach snapshot.json at most; state changes go at once. */
const SNAPSHOT_THROTTLE_MS = 1000;

export class SessionRuntime {
  readonly actor: Actor<typeof sessionMachine>;
  /** The `state` events, derived from inspection (and what a restore knows is logged already). */
  private readonly states = new StateLog((events) => this.record(events));
  private snapshotTimer: NodeJS.Timeout | null = null;
  private snapshotDue = false;
  /**
   * Set by start(). Before it the actor holds its initial state without having run it: its entry actions (the
   * STARTs to the workers) have not happened, so a snapshot of it, restored, would wait for them for ever.
   */
  private started = false;
  private stopped = false;
  private changeListeners = new Set<() => void>();
  private detachListeners = new Set<() => void>();
  private failure: Error | null = null;

  /** The workers' checkouts and branches, in a session that has them (meta.isolation). */
  readonly checkouts: SessionCheckouts | null;

  private constructor(
    readonly store: SessionStore,
    options: RuntimeOptions,
    restored: unknown,
  ) {
    const isolation = store.meta.isolation;
    const checkouts = isolation?.mode === 'checkouts' ? sessionCheckouts(store.sessionId, options, isolation) : null;
    this.checkouts = checkouts;
    const machine = boundSessionMachine(store, options, checkouts, {
      publish: (events) => this.record(events),
      // An event the log holds beyond a restored snapshot, recorded again as the actor repeats its step: once.
      record: (event) => {
        if (!this.states.isReplay(event)) this.record([event]);
      },
      ...(options.watchPayloads
        ? {
            watchPayloads: (input: AgentProcessInput, payloads: AgentPayload[]) =>
              options.watchPayloads?.(this, input, payloads),
          }
        : {}),
      decidePermission: (input, request) =>
        options.decidePermission?.(this, input, request) ??
        specDecision(store.meta.spec, this.permissionRules(), input, request),
      permissionHistory: (workerId, attempt) => permissionHistoryOf(store.log.readAfter(0), workerId, attempt),
    });
    this.actor = createActor(machine, {
      ...(restored ? { snapshot: restored as never } : {}),
      input: {
        sessionId: store.sessionId,
        spec: store.meta.spec,
        targetDir: store.meta.targetDir,
        baseCommit: store.meta.baseCommit,
        insideSandbox: options.insideSandbox ?? false,
        isolated: checkouts !== null,
      },
      inspect: (event) => {
        this.onInspection(event);
        options.inspector?.(event);
      },
    });
    this.actor.subscribe({
      next: () => this.notifyChange(),
      // A child error with no handler would otherwise crash the process.
      error: (error) => {
        this.failure = error as Error;
        this.notifyChange();
      },
    });
  }

  /** A new session in a new session folder, with its workers isolated as decided (src/workspace/plan.ts). */
  static async create(
    spec: SessionSpec,
    targetDir: string,
    options: RuntimeOptions,
    isolation: Isolation,
    sessionId?: string,
  ): Promise<SessionRuntime> {
    // In place in a repository, reviews diff the working tree against the HEAD the session started from.
    const baseCommit = isolation.mode === 'checkouts' ? isolation.base.commit : await gitHead(targetDir);
    const store = SessionStore.create(options.workspace, spec, targetDir, baseCommit, new Date(), isolation, sessionId);
    const runtime = new SessionRuntime(store, options, null);
    runtime.stateChanged('session', store.sessionId, 'created', 'create');
    if (runtime.checkouts && isolation.mode === 'checkouts') {
      await runtime.checkouts.recordBase(options.workspace);
      runtime.record([
        {
          type: 'workspace',
          source: { kind: 'session', id: store.sessionId },
          action: 'base',
          commit: isolation.base.commit,
          detail:
            `base ${isolation.base.summary}; each worker works on its own branch ` +
            `orch/${store.sessionId}/<worker>, in ${runtime.checkouts.root}`,
        },
      ]);
    } else if (isolation.mode === 'in-place') {
      runtime.record([
        {
          type: 'workspace',
          source: { kind: 'session', id: store.sessionId },
          action: 'base',
          detail: `in place: ${isolation.reason}`,
        },
      ]);
    }
    return runtime;
  }

  /**
   * An existing session, restored from snapshot.json. Its process actors run again: each re-attaches to its
   * live agent, reads the exit of one that ended meanwhile, or reports it lost (src/actors/agent-process.ts).
   */
  static open(sessionId: string, options: RuntimeOptions): SessionRuntime {
    // Refuse before touching the log: another live orchestrator may be appending to it.
    const holder = SessionStore.lockHolder(SessionStore.dirOf(options.workspace, sessionId));
    if (holder && holder.pid !== process.pid) throw new SessionLockedError(sessionId, holder);
    const store = SessionStore.open(options.workspace, sessionId);
    const persisted = store.readSnapshot();
    const runtime = new SessionRuntime(store, options, persisted?.snapshot ?? null);
    // No snapshot: the orchestrator died between creating the session and starting it. The session starts
    // afresh; what create() logged is known already.
    runtime.states.seed(sessionId, persisted?.snapshot ?? null, store.log.readAfter(persisted?.seq ?? 0));
    return runtime;
  }

  get sessionId(): string {
    return this.store.sessionId;
  }

  // --- the door for http/ and safety/: what they may ask of a session, without its store or actor -------------

  get spec(): SessionSpec {
    return this.store.meta.spec;
  }

  /** The session folder. */
  get dir(): string {
    return this.store.dir;
  }

  /** The session machine's state as text: `running`, `paused`, `waiting`, `completed`... */
  stateName(): string {
    return stateValueToString(this.actor.getSnapshot().value);
  }

  /** Whether the session machine, in its state now, takes `event`: a command is refused rather than ignored. */
  can(event: SessionEvent): boolean {
    return this.actor.getSnapshot().can(event);
  }

  /** Whether a worker's own machine, in its state now, takes `event` (PAUSE, RESUME...). */
  workerCan(workerId: string, event: EventObject): boolean {
    const snapshot = this.actor.getSnapshot();
    const entry = snapshot.context.workers[workerId];
    const child = entry
      ? (snapshot.children as Record<string, { getSnapshot(): { can?(event: EventObject): boolean } } | undefined>)[
          entry.actorId
        ]
      : undefined;
    return child?.getSnapshot().can?.(event) ?? false;
  }

  /** The supervisor's context as it is now (read it, never change it). */
  supervisor(): Readonly<SessionContext> {
    return this.actor.getSnapshot().context;
  }

  /** The seq of the last event in the log. */
  get lastSeq(): number {
    return this.store.log.lastSeq;
  }

  /** Events after `seq`, at most `limit`. */
  /** Rules a person allowed always in this session (PERMISSION_REQUEST answered allow-always). */
  permissionRules(): readonly string[] {
    return this.actor.getSnapshot().context.permissionRules ?? [];
  }

  readAfter(seq: number, limit?: number): OrchestratorEvent[] {
    return this.store.log.readAfter(seq, limit);
  }

  /** The log's lines after `seq` as written (seq, type, JSON text), unparsed: what a fleet runner replicates. */
  readLinesAfter(seq: number, limit?: number): LogLine[] {
    return this.store.log.readLinesAfter(seq, limit);
  }

  /** SSE frames of the log's lines after `seq`, as they are on disk (no parse, no serialize); one page at most. */
  readFrameChunk(seq: number, limit?: number): FrameChunk | null {
    return this.store.log.readFrameChunk(seq, limit);
  }

  /** Every event appended from now on; returns the unsubscribe. */
  subscribe(listener: EventListener): () => void {
    return this.store.log.subscribe(listener);
  }

  /** The launch records of a worker's agent processes (pid, process group, attempt). */
  procRecords(workerId: string): ProcRecord[] {
    return this.store.readProcRecords(workerId);
  }

  start(lock: { serverUrl?: string } = {}): this {
    this.store.acquireLock(lock);
    this.started = true;
    this.actor.start();
    this.writeSnapshot();
    return this;
  }

  send(event: SessionEvent): void {
    if (this.stopped) throw new Error(`session ${this.sessionId} is no longer running in this process`);
    this.actor.send(event);
  }

  view(): SessionView {
    return buildSessionView(
      this.store.meta,
      this.actor.getPersistedSnapshot(),
      this.store.log.lastSeq,
      this.store.workspace,
    );
  }

  /** 'completed' | 'partial' | 'stopped' | 'escalated' once final; 'waiting' while only a person can move it. */
  endState(): SessionEndState | null {
    const snapshot = this.actor.getSnapshot();
    if (snapshot.status === 'done') {
      const outcome = snapshot.context.outcome;
      return outcome === 'escalated' || outcome === 'completed' || outcome === 'partial' ? outcome : 'stopped';
    }
    if (snapshot.value === 'waiting') return 'waiting';
    // Paused by a review decision: only an answer to its blocker moves it on.
    if (snapshot.value === 'paused' && snapshot.context.blockers.some((b) => b.open)) return 'waiting';
    return null;
  }

  /** Final (completed, stopped, escalated): nothing of it runs any more. */
  hasEnded(): boolean {
    return this.actor.getSnapshot().status === 'done';
  }

  get error(): Error | null {
    return this.failure;
  }

  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Resolves when the session is final, or (with `orWaiting`) when it needs a person. */
  waitForEnd(orWaiting = false): Promise<SessionEndState> {
    return waitForEnd(this, orWaiting);
  }

  /**
   * Stop following this session in this process without touching its agents: they keep running and a later
   * `orchestrate resume` re-attaches. (SIGINT/SIGTERM use STOP instead, which ends the agents.)
   */
  detach(): void {
    if (this.stopped) return;
    this.writeSnapshot();
    this.stopped = true;
    if (this.snapshotTimer) clearTimeout(this.snapshotTimer);
    this.actor.stop();
    for (const listener of this.detachListeners) listener();
    this.detachListeners.clear();
    this.store.releaseLock();
    this.store.close();
  }

  /** True once this process let go of the session (its store is closed). */
  get detached(): boolean {
    return this.stopped;
  }

  /** Called once, when this process lets go of the session (before its store closes). */
  onDetach(listener: () => void): () => void {
    this.detachListeners.add(listener);
    return () => this.detachListeners.delete(listener);
  }

  // --- events and snapshots -------------------------------------------------------------------------

  record(events: NewEvent[]): OrchestratorEvent[] {
    if (this.stopped || events.length === 0) return [];
    return this.store.append(events);
  }

  private onInspection(event: InspectionEvent): void {
    if (event.type === '@xstate.event' && event.event.type === 'WORKER.STATUS') {
      // A worker's notification reaches the session (which reacts at once) before the worker's own snapshot
      // is reported: log the worker's state change here, so the log reads in causal order.
      const status = event.event as WorkerStatusEvent;
      const actorId = (event.sourceRef as unknown as { id?: string } | undefined)?.id ?? status.workerId;
      this.stateChanged('worker', actorId, status.state, status.cause, status.progress);
      return;
    }
    if (event.type !== '@xstate.snapshot') return;
    const snapshot = event.snapshot as { value?: unknown; machine?: { id: string }; context?: { progress?: number } };
    const machineId = snapshot.machine?.id;
    if (machineId !== 'session' && machineId !== 'worker' && machineId !== 'review') return;
    const id = machineId === 'session' ? this.sessionId : (event.actorRef as unknown as { id: string }).id;
    const progress = machineId === 'worker' ? snapshot.context?.progress : undefined;
    if (!this.stateChanged(machineId, id, stateValueToString(snapshot.value), event.event.type, progress))
      this.scheduleSnapshot();
  }

  /**
   * An actor's state changed (a `state` event unless logged already): snapshot.json follows before the next
   * macrotask.
   */
  private stateChanged(machine: ActorMachine, id: string, value: string, cause: string, progress?: number): boolean {
    if (!this.states.change(machine, id, value, cause, progress)) return false;
    // Every state change reaches the disk before the next macrotask (coalesced when a step changes several).
    this.snapshotDue = true;
    queueMicrotask(() => {
      if (this.snapshotDue) this.writeSnapshot();
    });
    return true;
  }

  private scheduleSnapshot(): void {
    if (this.snapshotTimer || this.stopped) return;
    this.snapshotTimer = setTimeout(() => {
      this.snapshotTimer = null;
      // Context only (usage, progress): no fsync on the event loop once a second while agents talk.
      this.writeSnapshot(false);
    }, SNAPSHOT_THROTTLE_MS);
    this.snapshotTimer.unref();
  }

  writeSnapshot(durable = true): void {
    if (this.stopped || !this.started) return;
    this.snapshotDue = false;
    this.store.writeSnapshot(this.actor.getPersistedSnapshot(), undefined, durable);
  }

  private notifyChange(): void {
    for (const listener of this.changeListeners) listener();
  }
}
