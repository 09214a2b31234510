/**
 * Review rounds: requests are queued (by a trigger, or by a person), and the first that can start becomes the
 * session's one active round, which launches a reviewer worker per (reviewer, target) pair.
 */
import { reviewedWorkers } from '../review-targets.js';
import type { ReviewerAssignment } from '../../machines/review.machine.js';
import type { WorkerInput } from '../../machines/worker.machine.js';
import {
  endedUnfinished,
  hasFinishedWork,
  newWorkerEntry,
  type ReviewRequest,
  type RoundRecord,
  reviewersFor,
  unfinishedTargets,
  type WorkerEntry,
  workerSpecOf,
} from './context.js';
import type { Step } from './step.js';

/** A review asked for (by a person, or for all the reviewed workers): queued, and started if it can start. */
export function requestReview(s: Step, target: string | undefined, reason: string): void {
  // Only finished work is reviewed: a target still at work is held until it finishes (the API says so when asked);
  // one that ended without finished work has nothing to review.
  const targets = (target ? [target] : reviewedWorkers(s.context.spec)).filter((t) => {
    const w = s.context.workers[t];
    return w !== undefined && !endedUnfinished(w.status);
  });
  // Finished work is reviewed now; work still under way gets a request of its own, which waits.
  const done = targets.filter((t) => hasFinishedWork(s.context.workers[t]!.status));
  const later = targets.filter((t) => !done.includes(t));
  queueReview(s, done, reason, true);
  queueReview(s, later, reason, true);
  startNextRound(s);
}

/**
 * Queue a round for `targets`, leaving out those a queued request already covers (one round reviews them).
 * True when it queued one.
 */
export function queueReview(s: Step, targets: string[], reason: string, whenDone = false): boolean {
  const queued = new Set(s.context.reviewQueue.flatMap((r) => r.targets));
  const fresh = targets.filter((t) => !queued.has(t));
  if (fresh.length === 0) return false;
  const request: ReviewRequest = { targets: fresh, reason, ...(whenDone ? { whenDone } : {}) };
  s.set({ reviewQueue: [...s.context.reviewQueue, request] });
  return true;
}

/** A `CONTINUE` decision of round `none`: a request that starts no round, and why. */
function notReviewed(s: Step, target: string, why: string): void {
  s.record({
    type: 'decision',
    source: { kind: 'review', id: 'cap' },
    roundId: 'none',
    target,
    decision: 'CONTINUE',
    counts: { approve: 0, concern: 0, blocker: 0 },
    action: `not reviewed: ${why}; continuing`,
  });
}

/**
 * Start the first queued request that can start: a person's request waits (stays queued) while a target is
 * still at work; a request past the round cap or without reviewers is recorded as not reviewed and dropped.
 */
export function startNextRound(s: Step): void {
  const context = s.context;
  if (context.activeRound !== null || context.mode === 'paused' || context.mode === 'stopping') return;
  const queue = context.reviewQueue;
  const held: ReviewRequest[] = [];
  let newRound: RoundRecord | null = null;
  let taken = 0;
  while (taken < queue.length && newRound === null) {
    const request = queue[taken++]!;
    let targets = request.targets;
    if (request.whenDone) {
      for (const t of targets.filter((t) => endedUnfinished(context.workers[t]?.status ?? 'skipped'))) {
        notReviewed(s, t, `it ended ${context.workers[t]?.status ?? 'unknown'} before its work was finished`);
      }
      targets = targets.filter((t) => !endedUnfinished(context.workers[t]?.status ?? 'skipped'));
      if (targets.length === 0) continue;
      if (unfinishedTargets(context, { ...request, targets }).length > 0) {
        held.push({ ...request, targets });
        continue;
      }
    }
    const roundNo = context.rounds.length + 1;
    const pairs = targets.flatMap((t) => reviewersFor(context, t));
    if (roundNo > context.spec.review.maxRounds || pairs.length === 0) {
      const why =
        pairs.length === 0
          ? 'no reviewer is configured for it'
          : `the cap of ${context.spec.review.maxRounds} review rounds per session is reached`;
      for (const t of targets) {
        if (s.context.workers[t]?.status === 'reviewing') s.command(t, { type: 'REVIEW.CONTINUE' });
        notReviewed(s, t, why);
      }
      continue;
    }
    const roundId = `round-${roundNo}`;
    const assignments: ReviewerAssignment[] = pairs.map((p) => ({
      reviewerId: `r${roundNo}-${p.reviewer}-${p.target}`,
      reviewer: p.reviewer,
      target: p.target,
      focus: p.focus,
      ...(p.command ? { command: p.command } : {}),
      ...(p.mode === 'interactive' ? { interactive: true } : {}),
    }));
    newRound = { roundId, targets, reason: request.reason, decision: null };
    s.spawnRound(roundId, {
      sessionId: context.sessionId,
      roundId,
      targets,
      assignments,
      timeoutMs: context.spec.review.timeoutSec * 1000,
    });
  }
  if (taken === 0) return;
  const round = newRound;
  s.set({
    reviewQueue: [...held, ...queue.slice(taken)],
    ...(round ? { rounds: [...s.context.rounds, round], activeRound: round.roundId } : {}),
  });
}

/** A round asks for its reviewers: each a worker of its own, started at once, read-only. */
export function launchReviewers(s: Step, roundId: string, assignments: ReviewerAssignment[]): void {
  const { context } = s;
  const workers: Record<string, WorkerEntry> = {};
  const limits = context.spec.limits;
  for (const a of assignments) {
    const target = context.workers[a.target];
    const targetSpec = workerSpecOf(context, a.target);
    const input: WorkerInput = {
      sessionId: context.sessionId,
      workerId: a.reviewerId,
      agent: a.reviewer,
      role: 'reviewer',
      kind: 'reviewer',
      roundId,
      task: context.spec.task,
      targetDir: context.targetDir,
      includeDirs: [],
      ...(a.command ? { command: a.command } : {}),
      readOnly: true,
      ...(a.interactive ? { interactive: true } : {}),
      awaitReview: true,
      prompt: {
        kind: 'review',
        task: context.spec.task,
        targetId: a.target,
        targetRole: targetSpec?.role ?? a.target,
        targetAgent: targetSpec?.agent ?? '',
        targetSummary: target?.finalText ?? '',
        focus: a.focus,
        targetDir: context.targetDir,
        baseCommit: context.baseCommit,
        diffLimitBytes: context.spec.review.diffLimitBytes,
        strict: false,
      },
      stallTimeoutMs: limits.stallTimeoutSec * 1000,
      workerTimeoutMs: context.spec.review.timeoutSec * 2000,
      killGraceMs: limits.killGraceMs,
      fixes: context.learnedFixes[a.reviewer] ?? {},
    };
    s.spawnWorker(a.reviewerId, input);
    // Started at once and pending: START is on its way.
    workers[a.reviewerId] = newWorkerEntry({
      id: a.reviewerId,
      agent: a.reviewer,
      role: 'reviewer',
      kind: 'reviewer',
      roundId,
      dependsOn: [],
      started: true,
      pending: true,
    });
    s.send(a.reviewerId, { type: 'START', upstream: [] });
  }
  s.set({ workers: { ...s.context.workers, ...workers } });
  s.send(roundId, { type: 'ROUND.LAUNCHED' });
}
