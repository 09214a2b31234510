/**
 * The session supervisor's bookkeeping, pure functions over its context: which workers may start, whether
 * the session is done or needs a person, blocker records.
 */
import type { LaunchFixes } from '../launch-fixes.js';
import type { BlockerChoice, BlockerFields, Decision, Usage } from '../events.js';
import type { SessionSpec, WorkerSpec } from '../spec.js';
import type { ChangeStat } from '../isolation.js';
import type { UpstreamSummary } from '../prompts.js';
import { endedUnfinished, hasFinishedWork } from '../review-targets.js';
import { FINAL_WORKER_STATUSES, type WorkerStatus } from '../worker-status.js';

export interface WorkerEntry {
  id: string;
  agent: string;
  role: string;
  kind: 'worker' | 'reviewer';
  roundId?: string;
  /** The child actor's id; a worker retried after it failed for good runs as a new incarnation. */
  actorId: string;
  incarnation: number;
  status: WorkerStatus;
  started: boolean;
  attempt: number;
  finalText: string | null;
  planDone: number;
  reviewedAtPlanDone: number;
  usage: Usage;
  agentSessionId: string | null;
  dependsOn: string[];
  reason: string | null;
  /** A command was sent and the worker has not reported back yet. */
  pending: boolean;
  /** Its change so far, start..head of its branch (a session with checkouts). */
  change?: ChangeStat | null;
}

export type { BlockerChoice };

/** A blocker as the session keeps it: what its events say (BlockerFields), with its id and whether it is open. */
export type BlockerRecord = BlockerFields & { id: string; open: boolean };

export interface RoundRecord {
  roundId: string;
  targets: string[];
  reason: string;
  decision: Decision | null;
}

export interface SessionInput {
  sessionId: string;
  spec: SessionSpec;
  targetDir: string;
  baseCommit: string | null;
  /** Workers run inside our own sandbox (decided by src/safety before the session starts). */
  insideSandbox: boolean;
  /** Workers have checkouts and branches of their own: the session integrates them before it completes. */
  isolated?: boolean;
}

/** The session's result: its workers' branches integrated into orch/<sid>/_result (a session with checkouts). */
export interface IntegrationState {
  /** `pending` until it is integrated (`done`), or `blocked` by a conflict or failure only a person can answer. */
  status: 'pending' | 'blocked' | 'done';
  /** Workers a person left out of the result (a conflict answered skip). */
  excluded: string[];
  head: string | null;
  change: { files: number; additions: number; deletions: number } | null;
}

/** A worker the session added while it ran: an agent resolving a merge conflict, chosen by a person. */
export interface AddedWorker {
  id: string;
  agent: string;
  role: 'merger';
  /** The branches whose merge conflicted: it starts inside that merge. */
  from: string[];
  files: string[];
  /** The worker whose conflict it resolves (it is reviewed by that worker's reviewers). */
  resolves: string;
  /** `start`: merging the branches `resolves` starts from; `result`: integrating `resolves` into the result. */
  stage: 'start' | 'result';
}

/** A review round asked for: by a trigger, or by a person (`whenDone`). */
export interface ReviewRequest {
  targets: string[];
  reason: string;
  /** A person's request: its round starts once every target has finished its work (completed, or waits for review). */
  whenDone?: boolean;
}

export type SessionMode = 'running' | 'paused' | 'waiting' | 'integrating' | 'stopping' | 'completed' | 'stopped';

export interface SessionContext extends SessionInput {
  mode: SessionMode;
  workers: Record<string, WorkerEntry>;
  restarts: Record<string, number[]>;
  blockers: BlockerRecord[];
  rounds: RoundRecord[];
  activeRound: string | null;
  reviewQueue: ReviewRequest[];
  /** `partial`: it ended on its own, but not every worker completed (one was skipped, or left out of the result). */
  outcome: 'completed' | 'partial' | 'stopped' | 'escalated' | null;
  stopReason: string | null;
  /** Launch fixes a recovery found for an agent (gemini's --skip-trust...): later launches of it start with them. */
  learnedFixes: Record<string, LaunchFixes>;
  integration: IntegrationState;
  /** Workers added while the session ran (conflict resolvers), by id. */
  added: Record<string, AddedWorker>;
  /** Rules a person added with `allow-always`, allowed for the rest of the session (absent in older snapshots). */
  permissionRules?: string[];
}

const isFinal = (status: WorkerStatus) => FINAL_WORKER_STATUSES.includes(status);

export { endedUnfinished, hasFinishedWork };

/** The targets of a person's request whose work is not finished yet: its round waits for them. */
export function unfinishedTargets(context: Pick<SessionContext, 'workers'>, request: ReviewRequest): string[] {
  if (!request.whenDone) return [];
  return request.targets.filter((t) => {
    const status = context.workers[t]?.status;
    return status !== undefined && !hasFinishedWork(status) && !endedUnfinished(status);
  });
}

/** A worker a person can stop on its own (STOP_WORKER): not yet done, or failed/stopped and so in the way. */
export const STOPPABLE_WORKER_STATUSES: readonly WorkerStatus[] = [
  'spawned',
  'running',
  'paused',
  'recovering',
  'blocked',
  'failed',
  'stopped',
];
const satisfied = (status: WorkerStatus) => status === 'completed' || status === 'skipped';

/** A worker as the session first knows it: spawned, nothing reported yet. */
export function newWorkerEntry(
  fields: Pick<WorkerEntry, 'id' | 'agent' | 'role' | 'kind' | 'dependsOn'> & Partial<WorkerEntry>,
): WorkerEntry {
  return {
    actorId: fields.id,
    incarnation: 1,
    status: 'spawned',
    started: false,
    attempt: 0,
    finalText: null,
    planDone: 0,
    reviewedAtPlanDone: 0,
    usage: {},
    agentSessionId: null,
    reason: null,
    pending: false,
    ...fields,
  };
}

export function initialWorkers(spec: SessionSpec): Record<string, WorkerEntry> {
  return Object.fromEntries(
    spec.workers.map((w) => [
      w.id,
      newWorkerEntry({ id: w.id, agent: w.agent, role: w.role, kind: 'worker', dependsOn: w.dependsOn }),
    ]),
  );
}

/** Workers whose dependencies all completed (or were skipped) and that have not started yet. */
export function readyWorkers(context: Pick<SessionContext, 'workers'>): WorkerEntry[] {
  return Object.values(context.workers).filter(
    (w) =>
      w.kind === 'worker' &&
      !w.started &&
      w.status === 'spawned' &&
      w.dependsOn.every((d) => satisfied(context.workers[d]?.status ?? 'spawned')),
  );
}

export function upstreamOf(context: Pick<SessionContext, 'workers'>, workerId: string): UpstreamSummary[] {
  const entry = context.workers[workerId];
  if (!entry) return [];
  return entry.dependsOn
    .map((d) => context.workers[d])
    .filter((d): d is WorkerEntry => d !== undefined)
    .map((d) => ({ workerId: d.id, role: d.role, agent: d.agent, summary: d.finalText ?? '' }));
}

/** Every worker completed or skipped and no review is pending: the session is done. */
export function allDone(context: SessionContext): boolean {
  const workers = Object.values(context.workers);
  return (
    workers.filter((w) => w.kind === 'worker').every((w) => satisfied(w.status)) &&
    workers.filter((w) => w.kind === 'reviewer').every((w) => isFinal(w.status)) &&
    context.activeRound === null &&
    context.reviewQueue.length === 0
  );
}

/** Something will still happen without a person: a process runs, a backoff waits, a round collects. */
export function busy(context: SessionContext): boolean {
  // A person's request held until its target finishes is not progress of its own: the target's status says that.
  if (context.activeRound !== null || context.reviewQueue.some((r) => unfinishedTargets(context, r).length === 0))
    return true;
  if (readyWorkers(context).length > 0) return true;
  // A worker that was sent a command and has not reported back is busy too: it is about to change state.
  // So is a blocked worker without an open blocker: the supervisor's decision about it is on its way (a
  // worker reports FAILED and then its `blocked` status in one step, after the supervisor already answered).
  const open = new Set(context.blockers.filter((b) => b.open && b.workerId).map((b) => b.workerId));
  // A running agent that waits for a person's permission is not progress either.
  const asking = new Set(
    context.blockers.filter((b) => b.open && b.kind === 'PERMISSION_REQUEST').map((b) => b.workerId),
  );
  return Object.values(context.workers).some(
    // A worker paused for a blocker (INTERVENE: safety, budget, resources) waits for a person like a blocked one.
    (w) =>
      w.pending ||
      (w.status === 'running' && !asking.has(w.id)) ||
      ['stopping', 'recovering'].includes(w.status) ||
      ((w.status === 'blocked' || w.status === 'paused') && !open.has(w.id)),
  );
}

export function openBlockers(context: Pick<SessionContext, 'blockers'>): BlockerRecord[] {
  return context.blockers.filter((b) => b.open);
}

/** Nothing can progress until a person answers (a blocker), or nothing can progress at all. */
export function needsPerson(context: SessionContext): boolean {
  if (allDone(context)) return context.isolated === true && context.integration.status === 'blocked';
  return !busy(context);
}

export function allFinal(context: SessionContext): boolean {
  return (
    Object.values(context.workers).every((w) => isFinal(w.status) || (w.status === 'spawned' && !w.started)) &&
    context.activeRound === null
  );
}

export function nextBlockerId(context: Pick<SessionContext, 'blockers'>): string {
  return `b${context.blockers.length + 1}`;
}

/** Who reviews a worker: the spec's reviews of it; a conflict resolver gets those of the worker it resolves for. */
export function reviewersFor(context: Pick<SessionContext, 'spec' | 'added'>, target: string) {
  const added = context.added?.[target];
  if (added)
    return context.spec.reviews
      .filter((r) => r.target === added.resolves)
      .map((r) => ({ ...r, target, focus: `the resolution of a merge conflict (${r.focus})` }));
  return context.spec.reviews.filter((r) => r.target === target);
}

/** Workers that wait in `reviewing` after success: trigger on-complete and someone reviews them. */
export function awaitsReview(context: Pick<SessionContext, 'spec' | 'added'>, workerId: string): boolean {
  return context.spec.review.trigger === 'on-complete' && reviewersFor(context, workerId).length > 0;
}

/** A worker's spec: from the session spec, or made up for a worker the session added (a conflict resolver). */
export function workerSpecOf(
  context: Pick<SessionContext, 'spec' | 'added'>,
  workerId: string,
): WorkerSpec | undefined {
  const spec = context.spec.workers.find((w) => w.id === workerId);
  if (spec) return spec;
  const added = context.added?.[workerId];
  if (!added) return undefined;
  // It runs its agent as the session's workers of that agent do (their mode, an `acp` agent's command): the worker
  // it resolves for first.
  const like = [context.spec.workers.find((w) => w.id === added.resolves), ...context.spec.workers].find(
    (w) => w?.agent === added.agent,
  );
  return {
    id: added.id,
    agent: added.agent,
    role: added.role,
    prompt: mergerPrompt(added),
    dependsOn: [],
    includeDirs: [],
    ...(like?.mode ? { mode: like.mode } : {}),
    ...(like?.command ? { command: like.command } : {}),
  };
}

function mergerPrompt(added: AddedWorker): string {
  const what =
    added.stage === 'start'
      ? `Merging the branches of ${added.from.join(' and ')} (the work ${added.resolves} builds on) conflicts.`
      : `Integrating ${added.resolves}'s branch into the session's result conflicts.`;
  return [
    'You are the MERGER in a team of AI coding agents working on one repository.',
    `${what} The merge is in progress in this checkout: ${added.files.join(', ')} ` +
      `${added.files.length === 1 ? 'holds' : 'hold'} conflict markers.`,
    'Resolve every conflict so that the intent of both sides is kept, ' +
      'make sure the project still builds and its tests pass,',
    'and mark each file resolved (`git add`). Do not start another merge, ' +
      'rebase, reset or checkout; the merge is committed for you.',
    'End with a summary of how you resolved each conflict.',
  ].join('\n');
}

/** Workers that completed and are not left out, in dependency order (then spec order): what the result integrates. */
export function integrationCandidates(context: Pick<SessionContext, 'workers' | 'integration'>): string[] {
  const workers = Object.values(context.workers).filter((w) => w.kind === 'worker');
  const order: string[] = [];
  const visit = (id: string, seen: Set<string>) => {
    if (order.includes(id) || seen.has(id)) return;
    seen.add(id);
    for (const dep of context.workers[id]?.dependsOn ?? []) visit(dep, seen);
    order.push(id);
  };
  for (const w of workers) visit(w.id, new Set());
  return order.filter(
    (id) => context.workers[id]?.status === 'completed' && !context.integration.excluded.includes(id),
  );
}

/** The workers that were to run and did not complete, or were left out of the result, with why. */
export function unfinishedWorkers(context: Pick<SessionContext, 'workers' | 'integration'>): string[] {
  const notRun = Object.values(context.workers)
    .filter((w) => w.kind === 'worker' && w.status !== 'completed')
    .map((w) => `${w.id} ${w.status}${w.reason && w.reason !== w.status ? ` (${w.reason})` : ''}`);
  const leftOut = context.integration.excluded.map((id) => `${id} left out of the result`);
  return [...notRun, ...leftOut];
}

/** Done: every worker and review finished, and (with checkouts) the result integrated. */
export function finished(context: SessionContext): boolean {
  return allDone(context) && (!context.isolated || context.integration.status === 'done');
}

/** Every worker and review finished and the result is still to be integrated (a session with checkouts). */
export function readyToIntegrate(context: SessionContext): boolean {
  return context.isolated === true && context.integration.status === 'pending' && allDone(context);
}
