/**
 * Starting workers: what a worker is given (its input), which workers start and when (`advance`, after every
 * change), and a worker run again as a new incarnation (after it ended, or to wait for a conflict's resolver).
 */
import type { PromptSpec } from '../prompts.js';
import type { WorkerInput } from '../../machines/worker.machine.js';
import {
  type AddedWorker,
  awaitsReview,
  newWorkerEntry,
  readyWorkers,
  type SessionContext,
  upstreamOf,
  type WorkerEntry,
  workerSpecOf,
} from './context.js';
import { startNextRound } from './rounds.js';
import type { Step } from './step.js';

export function workerInput(context: SessionContext, workerId: string): WorkerInput {
  const spec = workerSpecOf(context, workerId);
  if (!spec) throw new Error(`unknown worker ${workerId}`);
  const added = context.added[workerId];
  const limits = context.spec.limits;
  return {
    sessionId: context.sessionId,
    workerId,
    agent: spec.agent,
    role: spec.role,
    kind: 'worker',
    task: context.spec.task,
    targetDir: context.targetDir,
    includeDirs: spec.includeDirs,
    ...(spec.command ? { command: spec.command } : {}),
    ...(spec.model ? { model: spec.model } : {}),
    ...(spec.prompt ? { customPrompt: spec.prompt } : {}),
    readOnly: false,
    ...(spec.mode === 'interactive' ? { interactive: true } : {}),
    awaitReview: awaitsReview(context, workerId),
    stallTimeoutMs: limits.stallTimeoutSec * 1000,
    workerTimeoutMs: limits.workerTimeoutSec * 1000,
    killGraceMs: limits.killGraceMs,
    ...(added ? { checkoutFrom: { from: added.from, keepConflicts: true } } : {}),
  };
}

/** The session's own workers, spawned (not started) as it begins. */
export function spawnWorkers(s: Step): void {
  for (const w of s.context.spec.workers) s.spawnWorker(w.id, workerInput(s.context, w.id), `worker:${w.id}`);
}

/**
 * The branches a worker's checkout starts from: those of its dependencies that completed (skipped ones are left out).
 */
export function startFrom(context: SessionContext, workerId: string): string[] {
  return (context.workers[workerId]?.dependsOn ?? []).filter((d) => context.workers[d]?.status === 'completed');
}

/** Start what can start, and the next review round. Called whenever something changed. */
export function advance(s: Step): void {
  if (s.context.mode !== 'running' && s.context.mode !== 'waiting') return;
  for (const w of readyWorkers(s.context)) {
    s.command(w.id, {
      type: 'START',
      upstream: upstreamOf(s.context, w.id),
      fixes: s.context.learnedFixes[w.agent] ?? {},
      from: startFrom(s.context, w.id),
    });
    s.patchWorker(w.id, { started: true });
  }
  startNextRound(s);
}

/**
 * A worker as a new incarnation: its old child actor stopped, a new one spawned that continues its attempt numbers
 * and starts with the launch fixes this session learned for its agent. Returns the new actor's id.
 */
function reincarnate(s: Step, worker: WorkerEntry, extra: Partial<WorkerInput>, patch: Partial<WorkerEntry>): string {
  const incarnation = worker.incarnation + 1;
  const actorId = `${worker.id}~${incarnation}`;
  s.stopChild(worker.actorId);
  s.spawnWorker(actorId, {
    ...workerInput(s.context, worker.id),
    previousAttempts: worker.attempt,
    ...extra,
    fixes: s.context.learnedFixes[worker.agent] ?? {},
  });
  s.patchWorker(worker.id, { actorId, incarnation, status: 'spawned', ...patch });
  return actorId;
}

/**
 * A worker that ended (failed for good, or completed and now given a follow-up) runs again as a new
 * incarnation, started at once; with `resumeId` it continues the agent's session.
 */
export function respawn(s: Step, worker: WorkerEntry, options: { prompt?: PromptSpec; resumeId?: string } = {}): void {
  const extra = {
    ...(options.prompt ? { prompt: options.prompt } : {}),
    ...(options.resumeId ? { resumeSessionId: options.resumeId } : {}),
  };
  const actorId = reincarnate(s, worker, extra, { started: true, pending: true });
  s.send(actorId, {
    type: 'START',
    upstream: upstreamOf(s.context, worker.id),
    fixes: s.context.learnedFixes[worker.agent] ?? {},
  });
}

/**
 * A worker that must wait again (for a resolver): a new incarnation, spawned but not started, with new dependencies.
 */
export function respawnWaiting(s: Step, worker: WorkerEntry, dependsOn: string[]): void {
  reincarnate(s, worker, {}, { started: false, pending: false, dependsOn });
}

/** Add a worker that resolves a merge conflict (an agent a person chose), and start it at once. */
export function addResolver(s: Step, what: Omit<AddedWorker, 'id' | 'role'>): string {
  let id = `${what.resolves}-merge`;
  for (let n = 2; s.context.workers[id] || s.context.added[id]; n++) id = `${what.resolves}-merge${n}`;
  const added: AddedWorker = { id, role: 'merger', ...what };
  s.set({ added: { ...s.context.added, [id]: added } });
  s.spawnWorker(id, workerInput(s.context, id));
  const entry = newWorkerEntry({
    id,
    agent: what.agent,
    role: 'merger',
    kind: 'worker',
    dependsOn: [],
    started: true,
    pending: true,
  });
  s.set({ workers: { ...s.context.workers, [id]: entry } });
  s.send(id, { type: 'START', upstream: [], fixes: s.context.learnedFixes[what.agent] ?? {} });
  const where = what.stage === 'start' ? `in the start of ${what.resolves}` : `integrating ${what.resolves}`;
  s.record({
    type: 'workspace',
    source: { kind: 'supervisor', id: s.context.sessionId },
    action: 'conflict',
    workerId: id,
    files: what.files,
    detail: `${id} (${what.agent}) resolves the conflict ${where} (${what.files.join(', ')})`,
  });
  return id;
}
