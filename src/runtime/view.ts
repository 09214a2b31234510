/**
 * The read model of a session for people and programs (CLI status, GET /state, the dashboard), built from
 * a persisted snapshot: the same code serves a live session and one read from snapshot.json on disk.
 */
import type { FailureSignal, Usage } from '../domain/events.js';
import type { BlockerRecord, RoundRecord, SessionContext } from '../domain/supervisor/context.js';
import { totalUsage, workerStatusOf, type WorkerContext, type WorkerStatus } from '../machines/worker.machine.js';
import type { Limits } from '../domain/spec.js';
import { addUsage } from '../domain/output-facts.js';
import type { SessionMeta } from '../store/session-store.js';
import { sessionCheckoutsDir, type ChangeStat } from '../domain/isolation.js';
import { reviewPairsOf } from '../domain/review-targets.js';

export interface WorkerView {
  id: string;
  agent: string;
  role: string;
  kind: 'worker' | 'reviewer';
  roundId: string | null;
  status: WorkerStatus;
  state: string;
  progress: number;
  plan: { done: number; total: number } | null;
  attempt: number;
  pid: number | null;
  agentSessionId: string | null;
  dependsOn: string[];
  usage: Usage;
  lastActivity: string | null;
  summary: string | null;
  lastFailure: FailureSignal | null;
  blockerId: string | null;
  reason: string | null;
  fixes: Record<string, boolean>;
  filesChanged: string[];
  /**
   * Its branch and change so far (start..head), in a session with checkouts; null in place or before its first attempt.
   */
  change: ChangeStat | null;
  /** The agents that review it (the spec's reviews; a conflict resolver gets those of the worker it resolves for). */
  reviewers: string[];
}

/** Where the session's agents work: checkouts of their own from a base, or the target itself. */
export type WorkspaceView =
  | {
      mode: 'checkouts';
      base: { commit: string; summary: string };
      /** `<workspace>/checkouts/<sid>`: one checkout per worker and reviewer, and `_result`. */
      checkouts: string;
      /** orch/<sid>/_result once the workers' branches are integrated. */
      result: {
        branch: string;
        status: 'pending' | 'blocked' | 'done';
        head: string | null;
        change: { files: number; additions: number; deletions: number } | null;
        excluded: string[];
      };
    }
  | { mode: 'in-place'; reason: string };

export interface SessionView {
  sessionId: string;
  createdAt: string;
  task: string;
  targetDir: string;
  baseCommit: string | null;
  workspace: WorkspaceView;
  state: string;
  outcome: SessionContext['outcome'];
  stopReason: string | null;
  workers: WorkerView[];
  blockers: BlockerRecord[];
  /** With the round machine's state while the round runs (`requesting`, `collecting` ...), else `done`. */
  rounds: Array<RoundRecord & { state: string }>;
  usage: Usage;
  /**
   * What usage and resources are judged against (src/safety, docs/security.md): crossings are safety events and
   * blockers.
   */
  limits: Pick<Limits, 'maxCostUsd' | 'maxTokens' | 'maxRssMb' | 'maxCpuPercent' | 'session'>;
  lastSeq: number;
}

interface PersistedNode {
  status?: string;
  value?: unknown;
  context?: unknown;
  children?: Record<string, { snapshot: PersistedNode; src?: unknown }>;
}

export function buildSessionView(meta: SessionMeta, persisted: unknown, lastSeq: number, workspace = ''): SessionView {
  const root = (persisted ?? {}) as PersistedNode;
  const context = root.context as SessionContext | undefined;
  const workers: WorkerView[] = [];
  if (context) {
    for (const entry of Object.values(context.workers)) {
      const child = root.children?.[entry.actorId]?.snapshot;
      const wc = child?.context as WorkerContext | undefined;
      const status = child
        ? child.status === 'done'
          ? workerStatusOf(child.value)
          : workerStatusOf(child.value)
        : entry.status;
      workers.push({
        id: entry.id,
        agent: entry.agent,
        role: entry.role,
        kind: entry.kind,
        roundId: entry.roundId ?? null,
        // A worker a person skipped after it failed keeps its actor in `failed`; the session's word counts.
        status: entry.status === 'skipped' ? 'skipped' : status,
        state: child ? valueString(child.value) : entry.status,
        progress: wc?.progress ?? (entry.status === 'completed' ? 1 : 0),
        plan: wc?.plan ?? null,
        attempt: wc?.attempt ?? entry.attempt,
        pid: wc?.pid ?? null,
        agentSessionId: wc?.agentSessionId ?? entry.agentSessionId,
        dependsOn: entry.dependsOn,
        usage: wc ? totalUsage(wc) : entry.usage,
        lastActivity: wc?.lastActivity ?? null,
        summary: wc?.finalText ?? entry.finalText,
        lastFailure: wc?.lastFailure ?? null,
        blockerId: wc?.blockerId ?? null,
        reason: wc?.endReason ?? entry.reason,
        fixes: { ...(wc?.fixes ?? {}) } as Record<string, boolean>,
        filesChanged: wc?.filesChanged ?? [],
        change: wc?.change ?? entry.change ?? null,
        reviewers:
          entry.kind === 'worker'
            ? reviewPairsOf(meta.spec, context.added?.[entry.id]?.resolves ?? entry.id).map((r) => r.reviewer)
            : [],
      });
    }
  }
  const usage = workers.reduce<Usage>((sum, w) => addUsage(sum, w.usage), {});
  return {
    sessionId: meta.sessionId,
    createdAt: meta.createdAt,
    task: meta.spec.task,
    targetDir: meta.targetDir,
    baseCommit: meta.baseCommit,
    workspace: workspaceView(meta, context, workspace),
    state: root.value === undefined ? 'created' : valueString(root.value),
    outcome: context?.outcome ?? null,
    stopReason: context?.stopReason ?? null,
    workers,
    blockers: context?.blockers ?? [],
    rounds: (context?.rounds ?? []).map((r) => ({
      ...r,
      state: root.children?.[r.roundId] ? valueString(root.children[r.roundId]?.snapshot.value) : 'done',
    })),
    usage,
    limits: budgetLimits(meta.spec.limits),
    lastSeq,
  };
}

function workspaceView(meta: SessionMeta, context: SessionContext | undefined, workspace: string): WorkspaceView {
  const isolation = meta.isolation;
  if (!isolation)
    return {
      mode: 'in-place',
      reason: 'this session is from before worker checkouts: its agents edited the target directly',
    };
  if (isolation.mode === 'in-place') return { mode: 'in-place', reason: isolation.reason };
  const integration = context?.integration;
  return {
    mode: 'checkouts',
    base: { commit: isolation.base.commit, summary: isolation.base.summary },
    checkouts: sessionCheckoutsDir(workspace, meta.sessionId, isolation),
    result: {
      branch: `orch/${meta.sessionId}/_result`,
      status: integration?.status ?? 'pending',
      head: integration?.head ?? null,
      change: integration?.change ?? null,
      excluded: integration?.excluded ?? [],
    },
  };
}

function budgetLimits(limits: Limits): SessionView['limits'] {
  const { maxCostUsd, maxTokens, maxRssMb, maxCpuPercent, session } = limits;
  return { maxCostUsd, maxTokens, maxRssMb, maxCpuPercent, session: { ...session } };
}

function valueString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object')
    return Object.entries(value)
      .map(([k, v]) => `${k}.${valueString(v)}`)
      .join(',');
  return String(value);
}
