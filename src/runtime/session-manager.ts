/**
 * The sessions of one workspace: the live ones this process runs, and the ones only on disk. The CLI and
 * the HTTP server both go through it, so a session looks the same from either.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { AgentPayload, NewEvent, OrchestratorEvent } from '../domain/events.js';
import { agentRuns, type SessionSpec } from '../domain/spec.js';
import { SessionLockedError, SessionStore, sessionsDir } from '../store/session-store.js';
import type { AgentProcessInput } from '../actors/agent-process.js';
import type { LaunchRequest } from '../actors/process-group.js';
import { SessionRuntime, type RuntimeOptions } from './session-runtime.js';
import { getAdapter } from '../agents/registry.js';
import { findAgentBinary } from './binaries.js';
import { withModes } from './agent-modes.js';
import { type SessionSummary, type SessionView, viewOnDisk } from './view.js';
import { runnerOnDisk, summaryOf, summaryOnDisk } from './summary.js';
import { UsageError } from '../domain/usage-error.js';
import type { Isolation, IsolationRequest } from '../domain/isolation.js';
import { planIsolation } from '../workspace/plan.js';

export { UsageError };

export type { SessionSummary };

/** One session's sandbox decision and safety hooks (src/safety createSafetyFactory builds them from its spec). */
export interface SessionSafety {
  insideSandbox: boolean;
  wrapLaunch?: (request: LaunchRequest, input: AgentProcessInput) => LaunchRequest;
  /**
   * Run a command confined like an agent (setup commands, git in a checkout an agent wrote); identity without a
   * sandbox.
   */
  confine?: (
    command: { file: string; args: string[]; cwd: string },
    access: { writable: readonly string[]; network: boolean },
  ) => { file: string; args: string[] };
  /** Writable for setup commands besides the checkout (package-manager caches, allowed roots). */
  setupWritable?: readonly string[];
  watchPayloads?: (runtime: SessionRuntime, input: AgentProcessInput, payloads: AgentPayload[]) => void;
  /** An interactive agent's request before a tool runs, decided by the session's permission rules. */
  decidePermission?: RuntimeOptions['decidePermission'];
  /** Called once the runtime started (budgets, resource sampling, the sandbox decision in the log). */
  attach?: (runtime: SessionRuntime) => void;
  /** Called when this process lets go of the session. */
  close?: () => void;
}

export interface SessionManagerOptions {
  workspace: string;
  env?: Record<string, string | undefined>;
  /** Decides per session whether its agents run in our sandbox, and wraps their launches (src/safety). */
  sandbox?: {
    insideSandbox: boolean;
    wrapLaunch?: (request: LaunchRequest, input: AgentProcessInput) => LaunchRequest;
  };
  watchPayloads?: (runtime: SessionRuntime, input: AgentProcessInput, payloads: AgentPayload[]) => void;
  inspector?: RuntimeOptions['inspector'];
  /**
   * The mode of workers that name none: by default decided per agent from its CLI's version (interactive where
   * it is tested, src/runtime/agent-modes.ts); `exec` for the demo's recorded agents, which play exec runs only.
   */
  defaultMode?: 'exec';
  /**
   * Per session (specs differ in `sandbox`, limits, rules): its safety, decided at create and at resume (from
   * session.json). Wins over `sandbox`; its `watchPayloads` runs after the one above. May throw a UsageError.
   */
  safetyFor?: (
    spec: SessionSpec,
    targetDir: string,
    context: { workspace: string; isolation?: Isolation | undefined },
  ) => SessionSafety;
}

export class SessionManager {
  readonly workspace: string;
  private live = new Map<string, SessionRuntime>();
  /** The URL of the server serving this manager's sessions, recorded in each session's lock for other CLIs. */
  serverUrl: string | undefined;
  private createdListeners = new Set<(runtime: SessionRuntime) => void>();

  constructor(private readonly options: SessionManagerOptions) {
    this.workspace = resolve(options.workspace);
    mkdirSync(this.workspace, { recursive: true });
  }

  /**
   * A new session, started. In a git repository its workers get checkouts of their own from a base commit (HEAD
   * plus the uncommitted changes, or `request.base`); outside git or `request.inPlace`, they edit the target.
   * `isolation`: decided already (planIsolation), as `run` does before it announces a server. `sessionId`: the
   * id the session was queued with (a fleet runner's); by default a new one.
   */
  async create(
    spec: SessionSpec,
    targetDir: string,
    request: IsolationRequest & { isolation?: Isolation; sessionId?: string } = {},
  ): Promise<SessionRuntime> {
    const dir = resolve(targetDir);
    this.preflight(spec, dir);
    const modes = await withModes(spec, this.options.env ?? process.env, this.options.defaultMode);
    const isolation = request.isolation ?? (await planIsolation(dir, request, this.workspace));
    const safety = this.options.safetyFor?.(modes.spec, dir, { workspace: this.workspace, isolation });
    const options = this.runtimeOptions(safety);
    const runtime = await SessionRuntime.create(modes.spec, dir, options, isolation, request.sessionId);
    if (modes.notes.length > 0) runtime.record(modes.notes);
    this.adopt(runtime);
    runtime.start(this.serverUrl ? { serverUrl: this.serverUrl } : {});
    this.attachSafety(runtime, safety);
    return runtime;
  }

  /** An unfinished session from disk, restored and started (re-attaching to agents still running). */
  resume(sessionId: string): SessionRuntime {
    const existing = this.live.get(sessionId);
    if (existing) return existing;
    const meta = this.options.safetyFor ? SessionStore.readMeta(this.workspace, sessionId) : null;
    const safety = meta
      ? this.options.safetyFor?.(meta.spec, meta.targetDir, { workspace: this.workspace, isolation: meta.isolation })
      : undefined;
    const runtime = SessionRuntime.open(sessionId, this.runtimeOptions(safety));
    this.adopt(runtime);
    try {
      runtime.start(this.serverUrl ? { serverUrl: this.serverUrl } : {});
    } catch (error) {
      runtime.detach();
      throw error;
    }
    // An ended session is only being looked at (stop, resolve of a finished one): nothing runs, nothing to log.
    if (!runtime.hasEnded()) this.attachSafety(runtime, safety);
    return runtime;
  }

  get(sessionId: string): SessionRuntime | undefined {
    return this.live.get(sessionId);
  }

  has(sessionId: string): boolean {
    return this.live.has(sessionId) || SessionStore.list(this.workspace).includes(sessionId);
  }

  /** Every session of the workspace, newest first. */
  list(): SessionSummary[] {
    return SessionStore.list(this.workspace).map((sessionId) => this.summary(sessionId));
  }

  /**
   * The full view of a session, live or from disk. On disk it reads session.json, snapshot.json and the tail of
   * events.jsonl, never the whole log, and writes nothing (another process may be running the session).
   */
  view(sessionId: string): SessionView {
    return this.live.get(sessionId)?.view() ?? viewOnDisk(this.workspace, sessionId);
  }

  /** Events with seq > afterSeq from a session's log (live, or on disk read-only). */
  readEvents(sessionId: string, afterSeq: number, limit?: number): OrchestratorEvent[] {
    const live = this.live.get(sessionId);
    if (live) return live.store.log.readAfter(afterSeq, limit);
    const store = SessionStore.openReadOnly(this.workspace, sessionId);
    try {
      return store.log.readAfter(afterSeq, limit);
    } finally {
      store.close();
    }
  }

  /**
   * Append events to a session's log: through its runtime when this process runs it, else under its lock (a session
   * nobody runs: apply, discard). Refused when another process runs it.
   */
  recordEvents(sessionId: string, events: NewEvent[]): void {
    const live = this.live.get(sessionId);
    if (live && !live.detached) {
      live.record(events);
      return;
    }
    const holder = SessionStore.lockHolder(SessionStore.dirOf(this.workspace, sessionId));
    if (holder && holder.pid !== process.pid) throw new SessionLockedError(sessionId, holder);
    const store = SessionStore.open(this.workspace, sessionId);
    try {
      store.acquireLock();
      store.append(events);
    } finally {
      store.releaseLock();
      store.close();
    }
  }

  /** Let go of one live session without touching its agents. */
  detach(sessionId: string): void {
    this.live.get(sessionId)?.detach();
  }

  /** Sessions on disk that did not end (candidates for `serve --resume-all`). */
  unfinished(): string[] {
    return this.list()
      .filter((s) => !s.live && s.outcome === null)
      .map((s) => s.sessionId);
  }

  onCreated(listener: (runtime: SessionRuntime) => void): () => void {
    this.createdListeners.add(listener);
    return () => this.createdListeners.delete(listener);
  }

  /**
   * STOP every live session that has not ended (its agents get SIGTERM, then SIGKILL after the grace
   * period), wait until each has ended, then let go of them all.
   */
  async stopAll(reason: string): Promise<void> {
    await Promise.all(
      this.liveSessions.map(async (runtime) => {
        const end = runtime.endState();
        if (end !== 'completed' && end !== 'partial' && end !== 'stopped' && end !== 'escalated') {
          try {
            runtime.send({ type: 'STOP', reason });
          } catch {
            return; // detached meanwhile
          }
        }
        await runtime.waitForEnd().catch(() => undefined);
      }),
    );
    this.detachAll();
  }

  /** Let go of every live session without touching its agents (they are re-attached by a later resume). */
  detachAll(): void {
    for (const runtime of this.live.values()) runtime.detach();
    this.live.clear();
  }

  get liveSessions(): SessionRuntime[] {
    return [...this.live.values()];
  }

  get sessionsRoot(): string {
    return sessionsDir(this.workspace);
  }

  /** The orchestrator process that runs the session (this one or another), from its lock; null when none does. */
  runner(sessionId: string): SessionSummary['runner'] {
    return runnerOnDisk(this.workspace, sessionId);
  }

  private summary(sessionId: string): SessionSummary {
    const live = this.live.get(sessionId);
    return live ? summaryOf(live.view(), true, this.runner(sessionId)) : summaryOnDisk(this.workspace, sessionId);
  }

  private adopt(runtime: SessionRuntime): void {
    this.live.set(runtime.sessionId, runtime);
    runtime.onDetach(() => this.live.delete(runtime.sessionId));
    for (const listener of this.createdListeners) listener(runtime);
  }

  private runtimeOptions(safety?: SessionSafety): RuntimeOptions {
    const wrapLaunch = safety ? safety.wrapLaunch : this.options.sandbox?.wrapLaunch;
    const payloadWatchers = [this.options.watchPayloads, safety?.watchPayloads].filter((f) => f !== undefined);
    return {
      workspace: this.workspace,
      ...(this.options.env ? { env: this.options.env } : {}),
      ...(safety?.confine ? { confine: safety.confine } : {}),
      ...(safety?.setupWritable ? { setupWritable: safety.setupWritable } : {}),
      insideSandbox: safety?.insideSandbox ?? this.options.sandbox?.insideSandbox ?? false,
      ...(wrapLaunch ? { wrapLaunch } : {}),
      ...(payloadWatchers.length > 0
        ? { watchPayloads: (runtime, input, payloads) => payloadWatchers.forEach((f) => f(runtime, input, payloads)) }
        : {}),
      ...(this.options.inspector ? { inspector: this.options.inspector } : {}),
      ...(safety?.decidePermission ? { decidePermission: safety.decidePermission } : {}),
    };
  }

  /**
   * What `create` refuses with a usage error, for a caller to check before it sets anything up (the CLI, before
   * it starts a server): the target must exist, and every agent the spec runs (its workers' and its reviewers')
   * must be there, or its first worker would only block on it.
   */
  preflight(spec: SessionSpec, targetDir: string): void {
    const dir = resolve(targetDir);
    if (!existsSync(dir)) throw new UsageError(`target directory ${dir} does not exist`);
    this.checkAgents(spec);
  }

  /** Say which agents are missing and how to get them. */
  private checkAgents(spec: SessionSpec): void {
    const env = this.options.env ?? process.env;
    const missing = agentRuns(spec).flatMap(({ agent, command }) => {
      const found = findAgentBinary(getAdapter(agent), env, command);
      return 'error' in found ? [found.error] : [];
    });
    if (missing.length > 0) {
      throw new UsageError(
        `${missing.join(' ')} (\`orchestrate doctor\` checks every agent; ` +
          `\`--agents\` or a spec chooses which ones a session uses)`,
      );
    }
  }

  /** After start: agents launch asynchronously (the prompt is rendered first), so nothing launched yet. */
  private attachSafety(runtime: SessionRuntime, safety: SessionSafety | undefined): void {
    if (!safety) return;
    safety.attach?.(runtime);
    runtime.onDetach(() => safety.close?.());
  }
}
