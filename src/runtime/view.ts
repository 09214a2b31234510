/**
 * The read model of a session for people and programs (CLI status, GET /state, the dashboard), built from
 * a persisted snapshot: the same code serves a live session and one read from snapshot.json on disk. The view's
 * types, and the fold that moves it forward with events, are in src/domain/session-view.ts.
 */
import type { SessionContext } from '../domain/supervisor/context.js';
import type { Limits } from '../domain/spec.js';
import type { Usage } from '../domain/events.js';
import { addUsage } from '../domain/output-facts.js';
import {
  type SessionSummary,
  stateValueString,
  type SessionView,
  type WorkerView,
  type WorkspaceView,
} from '../domain/session-view.js';
import { type SessionMeta, SessionStore } from '../store/session-store.js';
import { listingOnDisk, type PersistedNode, persistedState, persistedWorkers } from './summary.js';
import { sessionCheckoutsDir } from '../domain/isolation.js';
import { reviewPairsOf } from '../domain/review-targets.js';

export type { SessionSummary, SessionView, WorkerView, WorkspaceView };
export { runnerOnDisk, summaryOf } from './summary.js';

/**
 * The view of a session on disk: it reads session.json, snapshot.json and the tail of events.jsonl, never the
 * whole log, and writes nothing (another process may be running the session).
 */
export function viewOnDisk(workspace: string, sessionId: string): SessionView {
  const meta = SessionStore.readMeta(workspace, sessionId);
  const snapshot = SessionStore.readSnapshotOf(workspace, sessionId)?.snapshot ?? null;
  return buildSessionView(meta, snapshot, SessionStore.lastSeqOf(workspace, sessionId), workspace);
}

/**
 * The sessions of a workspace as they are on disk, none of them live here: what `orchestrate status SID` reads.
 * It loads neither the machines nor the process actors (SessionManager does, to run sessions); a listing alone
 * needs only src/runtime/summary.ts.
 */
export function sessionsOnDisk(workspace: string): {
  workspace: string;
  list(): SessionSummary[];
  view(sessionId: string): SessionView;
} {
  const listing = listingOnDisk(workspace);
  return { ...listing, view: (sessionId: string) => viewOnDisk(listing.workspace, sessionId) };
}

export function buildSessionView(meta: SessionMeta, persisted: unknown, lastSeq: number, workspace = ''): SessionView {
  const root = (persisted ?? {}) as PersistedNode;
  const context = root.context as SessionContext | undefined;
  const workers: WorkerView[] = [];
  if (context) {
    for (const { entry, child, context: wc, status, progress } of persistedWorkers(root)) {
      workers.push({
        id: entry.id,
        agent: entry.agent,
        role: entry.role,
        kind: entry.kind,
        roundId: entry.roundId ?? null,
        status,
        state: child ? stateValueString(child.value) : entry.status,
        progress,
        plan: wc?.plan ?? null,
        attempt: wc?.attempt ?? entry.attempt,
        pid: wc?.pid ?? null,
        agentSessionId: wc?.agentSessionId ?? entry.agentSessionId,
        dependsOn: entry.dependsOn,
        usage: wc ? Object.values(wc.usageByAttempt).reduce<Usage>((sum, u) => addUsage(sum, u), {}) : entry.usage,
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
        // Its input says (a reviewer of an agent that speaks only ACP too); a spec from before modes, its worker's.
        mode:
          (wc?.interactive ?? meta.spec.workers.find((w) => w.id === entry.id)?.mode === 'interactive')
            ? 'interactive'
            : 'exec',
        retryAt: wc?.backoff && status === 'recovering' ? new Date(wc.backoff.dueAt).toISOString() : null,
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
    state: persistedState(root),
    outcome: context?.outcome ?? null,
    stopReason: context?.stopReason ?? null,
    workers,
    blockers: context?.blockers ?? [],
    rounds: (context?.rounds ?? []).map((r) => ({
      ...r,
      state: root.children?.[r.roundId] ? stateValueString(root.children[r.roundId]?.snapshot.value) : 'done',
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
