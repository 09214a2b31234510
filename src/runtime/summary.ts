/**
 * The one-line summary of a session that listings show (`orchestrate status`, GET /sessions), and the parts of a
 * persisted snapshot that both it and the full view (src/runtime/view.ts) read. A session on disk is summarized from
 * its snapshot and the header of its session.json, without the spec's schema: this module loads no zod, no
 * machine and no event log, so a cold `orchestrate status` loads none of them.
 */
import type { SessionContext, WorkerEntry } from '../domain/supervisor/context.js';
import type { WorkerContext } from '../machines/worker.machine.js';
import { type SessionSummary, type SessionView, stateValueString, type WorkerView } from '../domain/session-view.js';
import { type WorkerStatus, workerStatusOf } from '../domain/worker-status.js';
import { resolve } from 'node:path';
import { listSessions, readSessionHeader, sessionDirOf } from '../store/layout.js';
import { lockHolder } from '../store/lock.js';
import { readSnapshotFile } from '../store/snapshots.js';

/** A node of a persisted actor snapshot: the session's, or a child's (a worker, a review round). */
export interface PersistedNode {
  status?: string;
  value?: unknown;
  context?: unknown;
  children?: Record<string, { snapshot: PersistedNode; src?: unknown }>;
}

/** One worker of a persisted session: its entry in the session's context and its own actor's snapshot, if any. */
export interface PersistedWorker {
  entry: WorkerEntry;
  child: PersistedNode | undefined;
  context: WorkerContext | undefined;
  status: WorkerStatus;
  progress: number;
}

/** The session's state value as text: `created` before its first snapshot. */
export function persistedState(root: PersistedNode): string {
  return root.value === undefined ? 'created' : stateValueString(root.value);
}

export function persistedWorkers(root: PersistedNode): PersistedWorker[] {
  const session = root.context as SessionContext | undefined;
  if (!session) return [];
  return Object.values(session.workers).map((entry) => {
    const child = root.children?.[entry.actorId]?.snapshot;
    const context = child?.context as WorkerContext | undefined;
    // A worker a person skipped after it failed keeps its actor in `failed`; the session's word counts.
    const status = entry.status === 'skipped' ? 'skipped' : child ? workerStatusOf(child.value) : entry.status;
    const progress = context?.progress ?? (entry.status === 'completed' ? 1 : 0);
    return { entry, child, context, status, progress };
  });
}

/** What a summary is made of: a full view has it all, a session on disk gives it from its snapshot. */
type Summarized = Pick<SessionView, 'sessionId' | 'createdAt' | 'task' | 'targetDir' | 'state' | 'outcome'> & {
  workers: ReadonlyArray<Pick<WorkerView, 'id' | 'agent' | 'status' | 'progress'>>;
  blockers: ReadonlyArray<{ open: boolean }>;
};

export function summaryOf(view: Summarized, live: boolean, runner: SessionSummary['runner']): SessionSummary {
  return {
    sessionId: view.sessionId,
    createdAt: view.createdAt,
    task: view.task,
    targetDir: view.targetDir,
    state: view.state,
    outcome: view.outcome,
    live,
    runner,
    workers: view.workers.map((w) => ({ id: w.id, agent: w.agent, status: w.status, progress: w.progress })),
    // A session that ended takes no answers any more: its blockers are history, not questions.
    openBlockers: view.outcome === null ? view.blockers.filter((b) => b.open).length : 0,
  };
}

/** The orchestrator process that runs a session (this one or another), from its lock; null when none does. */
export function runnerOnDisk(workspace: string, sessionId: string): SessionSummary['runner'] {
  const holder = lockHolder(sessionDirOf(workspace, sessionId));
  return holder ? { pid: holder.pid, host: holder.host ?? null, serverUrl: holder.serverUrl ?? null } : null;
}

/** The summary of a session on disk, as summaryOf(viewOnDisk(...)) gives it, from the snapshot and the header. */
export function summaryOnDisk(workspace: string, sessionId: string): SessionSummary {
  const header = readSessionHeader(workspace, sessionId);
  const root = (readSnapshotFile(sessionDirOf(workspace, sessionId))?.snapshot ?? {}) as PersistedNode;
  const context = root.context as SessionContext | undefined;
  const workers = persistedWorkers(root).map(({ entry, status, progress }) => ({
    id: entry.id,
    agent: entry.agent,
    status,
    progress,
  }));
  const view = {
    ...header,
    state: persistedState(root),
    outcome: context?.outcome ?? null,
    workers,
    blockers: context?.blockers ?? [],
  };
  return summaryOf(view, false, runnerOnDisk(workspace, sessionId));
}

/** Every session of a workspace on disk, newest first. */
export function summariesOnDisk(workspace: string): SessionSummary[] {
  return listSessions(workspace).map((sessionId) => summaryOnDisk(workspace, sessionId));
}

/** A workspace's sessions on disk for a listing (`orchestrate status`). */
export function listingOnDisk(workspace: string): { workspace: string; list(): SessionSummary[] } {
  const root = resolve(workspace);
  return { workspace: root, list: () => summariesOnDisk(root) };
}
