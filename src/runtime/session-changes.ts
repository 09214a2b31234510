/**
 * A session's changes, for the CLI (`diff`, `apply`, `discard`, `gc`) and the API alike: read from its branches in
 * the user's repository, applied to the user's checkout only when asked, removed with its checkouts. A session
 * that worked in place (outside git, `--in-place`) has no branches: these say so.
 */
import { existsSync } from 'node:fs';
import { sessionCheckoutsDir, type Isolation } from '../domain/isolation.js';
import type { NewEvent } from '../domain/events.js';
import { UsageError } from '../domain/usage-error.js';
import { applyRange, type ApplyOutcome } from '../workspace/apply.js';
import { RESULT, SessionCheckouts } from '../workspace/checkouts.js';
import { diffFiles, unifiedDiff, type DiffFile } from '../workspace/diff.js';
import { git } from '../workspace/git.js';
import {
  findLeftovers,
  holdsUnappliedWork,
  removeLeftover,
  type Leftover,
  type Owner,
} from '../workspace/leftovers.js';
import { sessionRefs } from '../workspace/checkouts.js';
import { SessionStore } from '../store/session-store.js';
import type { SessionManager } from './session-manager.js';
import type { SessionView } from './view.js';
import { gitDiff } from './git.js';

export interface ChangeRange {
  from: string;
  to: string;
  branch: string;
  worker: string | null;
}

export interface SessionDiff {
  /** The repository the ranges are in (null for a session that worked in place). */
  repo: string | null;
  /**
   * The ranges shown: one (a worker, or the integrated result), or one per worker while the result is not integrated.
   */
  ranges: ChangeRange[];
  files: Array<DiffFile & { worker: string | null }>;
  /** The unified diff (with `unified`); piped, `git apply` takes it. */
  text?: Buffer;
  /** Why the diff is what it is, for a person ("not integrated yet: each worker's own change"). */
  note: string | null;
}

type CheckoutsIsolation = Extract<Isolation, { mode: 'checkouts' }>;

function checkoutsOf(
  manager: SessionManager,
  sessionId: string,
  verb: string,
): { checkouts: SessionCheckouts; isolation: CheckoutsIsolation; view: SessionView } {
  const view = manager.view(sessionId);
  const meta = SessionStore.readMeta(manager.workspace, sessionId);
  const isolation = meta.isolation;
  if (isolation?.mode !== 'checkouts') {
    const why = isolation?.mode === 'in-place' ? isolation.reason : 'it is from before worker checkouts';
    throw new UsageError(
      `session ${sessionId} worked in place (${why}): ` +
        `it has no branches to ${verb}; its changes are in ${meta.targetDir} already`,
    );
  }
  return {
    checkouts: new SessionCheckouts(
      sessionId,
      isolation.repo,
      isolation.base.commit,
      sessionCheckoutsDir(manager.workspace, sessionId, isolation),
    ),
    isolation,
    view,
  };
}

/** Workers with a branch, in dependency order. */
function workersWithBranches(view: SessionView): string[] {
  const workers = view.workers.filter((w) => w.kind === 'worker');
  const order: string[] = [];
  const visit = (id: string) => {
    if (order.includes(id)) return;
    for (const dep of workers.find((w) => w.id === id)?.dependsOn ?? []) visit(dep);
    order.push(id);
  };
  for (const w of workers) visit(w.id);
  return order;
}

async function workerRange(checkouts: SessionCheckouts, view: SessionView, worker: string): Promise<ChangeRange> {
  if (!view.workers.some((w) => w.id === worker && w.kind === 'worker')) {
    const known = view.workers.filter((w) => w.kind === 'worker').map((w) => w.id);
    throw new UsageError(`session ${view.sessionId} has no worker "${worker}" (its workers: ${known.join(', ')})`);
  }
  const [start, head] = await Promise.all([checkouts.start(worker), checkouts.head(worker)]);
  if (!start || !head) throw new UsageError(`${worker} has no branch yet: its checkout is made when it starts`);
  return { from: start, to: head, branch: checkouts.branch(worker), worker };
}

/** The session's result, once its workers' branches are integrated. */
async function resultRange(checkouts: SessionCheckouts, view: SessionView): Promise<ChangeRange | null> {
  if (view.workspace.mode !== 'checkouts' || view.workspace.result.status !== 'done') return null;
  const head = await checkouts.head(RESULT);
  return head ? { from: checkouts.base, to: head, branch: checkouts.branch(RESULT), worker: null } : null;
}

/** `orchestrate diff` and GET /diff: one worker's change, or the session's. */
export async function sessionDiff(
  manager: SessionManager,
  sessionId: string,
  request: { worker?: string | undefined; unified: boolean; binary?: boolean },
): Promise<SessionDiff> {
  const meta = SessionStore.readMeta(manager.workspace, sessionId);
  if (meta.isolation?.mode !== 'checkouts' && request.unified && !request.worker) {
    // In place in a repository (--in-place): the working tree against the commit the session started from.
    const text = await gitDiff(meta.targetDir, meta.baseCommit).catch(() => null);
    if (text !== null)
      return {
        repo: null,
        ranges: [],
        files: [],
        text: Buffer.from(text),
        note:
          `session ${sessionId} worked in place: this is the diff of ${meta.targetDir} against ` +
          `${meta.baseCommit ? meta.baseCommit.slice(0, 12) : 'its index'}`,
      };
  }
  const { checkouts, view } = checkoutsOf(manager, sessionId, 'diff');
  let ranges: ChangeRange[];
  let note: string | null = null;
  if (request.worker) {
    ranges = [await workerRange(checkouts, view, request.worker)];
  } else {
    const result = await resultRange(checkouts, view);
    if (result) {
      ranges = [result];
    } else {
      ranges = [];
      for (const worker of workersWithBranches(view)) {
        const [start, head] = await Promise.all([checkouts.start(worker), checkouts.head(worker)]);
        if (start && head && start !== head)
          ranges.push({ from: start, to: head, branch: checkouts.branch(worker), worker });
      }
      note =
        `the session's result is not integrated yet (${view.state}): ` +
        `each worker's own change, one after the other`;
    }
  }
  const files: SessionDiff['files'] = [];
  const texts: Buffer[] = [];
  for (const range of ranges) {
    for (const file of await diffFiles(checkouts.repo.root, range.from, range.to))
      files.push({ ...file, worker: range.worker });
    if (request.unified) {
      if (ranges.length > 1)
        texts.push(Buffer.from(`# ${range.branch}: ${range.from.slice(0, 12)}..${range.to.slice(0, 12)}\n`));
      texts.push(await unifiedDiff(checkouts.repo.root, range.from, range.to, { binary: request.binary === true }));
    }
  }
  return { repo: checkouts.repo.root, ranges, files, ...(request.unified ? { text: Buffer.concat(texts) } : {}), note };
}

export interface ApplyResult extends ApplyOutcome {
  range: ChangeRange;
}

/** `orchestrate apply` and POST /apply: the session's result (or one worker's change) into the user's checkout. */
export async function applySession(
  manager: SessionManager,
  sessionId: string,
  request: { worker?: string | undefined; merge?: boolean | undefined; by?: string },
): Promise<ApplyResult> {
  const { checkouts, isolation, view } = checkoutsOf(manager, sessionId, 'apply');
  let range: ChangeRange;
  if (request.worker) {
    range = await workerRange(checkouts, view, request.worker);
  } else {
    const result = await resultRange(checkouts, view);
    if (!result) {
      const why = view.outcome ? `it ended ${view.outcome} without one` : `it is ${view.state}`;
      throw new UsageError(
        `session ${sessionId} has no result to apply yet (${why}): ` +
          `\`orchestrate apply ${sessionId} --worker W\` applies one worker's change`,
      );
    }
    range = result;
  }
  const task = view.task.trim().split('\n')[0] ?? '';
  const outcome = await applyRange(isolation.repo.root, range, {
    merge: request.merge === true,
    sessionId,
    message: `Merge orchestrate session ${sessionId}: ${task}`,
  });
  if (outcome.files.length > 0) {
    await git(isolation.repo.root, ['update-ref', `refs/orch/${sessionId}/applied`, range.to]);
    manager.recordEvents(sessionId, [
      {
        type: 'workspace',
        source: { kind: 'session', id: sessionId },
        action: 'apply',
        branch: range.branch,
        commit: range.to,
        ...(range.worker ? { workerId: range.worker } : {}),
        files: outcome.files.map((f) => f.path),
        detail: `${request.by ? `${request.by}: ` : ''}${outcome.summary}`,
      },
    ]);
  }
  return { ...outcome, range };
}

/** `orchestrate discard` and POST /discard: the session's checkouts and branches removed (its folder and log stay). */
export async function discardSession(
  manager: SessionManager,
  sessionId: string,
  request: { force?: boolean | undefined; by?: string },
): Promise<{ summary: string; refs: string[] }> {
  const { checkouts, isolation, view } = checkoutsOf(manager, sessionId, 'discard');
  if (
    view.outcome === null &&
    (manager.get(sessionId) || SessionStore.lockHolder(SessionStore.dirOf(manager.workspace, sessionId)))
  ) {
    throw new UsageError(
      `session ${sessionId} is still running: stop it first (\`orchestrate stop ${sessionId}\`), then discard it`,
    );
  }
  const refs = await sessionRefs(isolation.repo.root, sessionId);
  if (!request.force && (await holdsUnappliedWork(isolation.repo.root, sessionId, refs))) {
    throw new UsageError(
      `the work of session ${sessionId} was never applied: ` +
        `\`orchestrate apply ${sessionId}\` first, or discard it with --force to throw it away`,
    );
  }
  const removed = await checkouts.remove();
  const summary =
    `discarded session ${sessionId}: ${removed.checkouts ? `its checkouts (${checkouts.root}) and ` : ''}` +
    `${removed.refs.length} ${removed.refs.length === 1 ? 'ref' : 'refs'} in ${isolation.repo.root}`;
  manager.recordEvents(sessionId, [
    {
      type: 'workspace',
      source: { kind: 'session', id: sessionId },
      action: 'discard',
      detail: `${request.by ? `${request.by}: ` : ''}${summary}`,
    },
  ]);
  return { summary, refs: removed.refs };
}

/** Whether a session still owns what carries its id: its folder exists and it was not discarded. */
export function ownerOf(workspace: string, sessionId: string): Owner {
  let meta: ReturnType<typeof SessionStore.readMeta>;
  try {
    meta = SessionStore.readMeta(workspace, sessionId);
  } catch {
    return 'gone';
  }
  return wasDiscarded(workspace, sessionId, meta.isolation) ? 'discarded' : 'session';
}

/** A discard is the last word on a session's checkouts: its `workspace` event is in the log. */
function wasDiscarded(workspace: string, sessionId: string, isolation: Isolation | undefined): boolean {
  if (isolation?.mode !== 'checkouts') return false;
  const store = SessionStore.openReadOnly(workspace, sessionId);
  try {
    return store.log.readAfter(0).some((e) => e.type === 'workspace' && e.action === 'discard');
  } finally {
    store.close();
  }
}

/** Leftovers of the workspace: checkouts and refs of discarded sessions or of sessions whose folder is gone. */
export async function workspaceLeftovers(workspace: string, extraRepos: readonly string[] = []): Promise<Leftover[]> {
  const repos = new Set(extraRepos);
  for (const sessionId of SessionStore.list(workspace)) {
    try {
      const isolation = SessionStore.readMeta(workspace, sessionId).isolation;
      if (isolation?.mode === 'checkouts' && existsSync(isolation.repo.root)) repos.add(isolation.repo.root);
    } catch {
      // an unreadable session folder is not ours to judge here
    }
  }
  return findLeftovers(
    workspace,
    [...repos],
    (sid) => ownerOf(workspace, sid),
    (other, sid) => ownerOf(other, sid) === 'session',
  );
}

/** `orchestrate gc`: remove leftovers; un-applied work only with `force`. What was removed, and what was kept. */
export async function collectGarbage(
  workspace: string,
  options: { force: boolean; repos?: readonly string[] },
): Promise<{ removed: Leftover[]; kept: Leftover[] }> {
  const removed: Leftover[] = [];
  const kept: Leftover[] = [];
  for (const leftover of await workspaceLeftovers(workspace, options.repos ?? [])) {
    if (leftover.unapplied && !options.force) {
      kept.push(leftover);
      continue;
    }
    await removeLeftover(leftover);
    removed.push(leftover);
  }
  return { removed, kept };
}

export type { NewEvent };
