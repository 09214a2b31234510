/**
 * Who can be reviewed, from the spec's `reviews` (pairs of reviewer agent and target worker): a worker has
 * reviewers when at least one pair names it as the target. The session machine starts a round only for such
 * targets and, for a request that has none (or past `review.maxRounds`), records a `CONTINUE` decision with
 * roundId `none` instead; checking first lets a person's request be refused rather than turned into that.
 */
import type { SessionSpec } from './spec.js';

type ReviewConfig = Pick<SessionSpec, 'reviews'> & { review: Pick<SessionSpec['review'], 'maxRounds'> };

/** The review pairs whose target is `workerId` (the machine's `reviewersFor`). */
export function reviewPairsOf(spec: Pick<SessionSpec, 'reviews'>, workerId: string): SessionSpec['reviews'] {
  return spec.reviews.filter((r) => r.target === workerId);
}

/** The workers that have reviewers, in the order of the spec's reviews, each once. */
export function reviewedWorkers(spec: Pick<SessionSpec, 'reviews'>): string[] {
  return [...new Set(spec.reviews.map((r) => r.target))];
}

/** A worker's work is finished, so it can be reviewed: it completed, or it waits for its review. */
export const hasFinishedWork = (status: string) => status === 'completed' || status === 'reviewing';
/** A worker that ended without finished work (failed, stopped, skipped): there is nothing of it to review. */
export const endedUnfinished = (status: string) => status === 'failed' || status === 'stopped' || status === 'skipped';

export interface ReviewRefusal {
  reason: 'no-reviewers' | 'max-rounds' | 'nothing-to-review';
  message: string;
  /** The workers that do have reviewers. */
  reviewed: string[];
}

/**
 * Why a review requested by a person (of `target`, or of every reviewed worker without one) cannot start a
 * round, or null when it can. `roundsSoFar`: the rounds the session has started (each counts against maxRounds).
 * `statusOf`: a worker's status. Only finished work is reviewed: a worker still at work is reviewed once it
 * finishes (see reviewWaitsFor), one that ended without finishing (failed, stopped, skipped) has nothing to review.
 */
export function manualReviewRefusal(
  spec: ReviewConfig,
  target: string | undefined,
  roundsSoFar: number,
  statusOf: (workerId: string) => string | undefined = () => undefined,
): ReviewRefusal | null {
  const reviewed = reviewedWorkers(spec);
  const which = reviewed.length
    ? `workers with reviewers: ${reviewed.join(', ')}`
    : 'no worker of this session has any';
  if (target !== undefined && reviewPairsOf(spec, target).length === 0) {
    return {
      reason: 'no-reviewers',
      reviewed,
      message: `worker ${target} has no reviewers configured (the spec's "reviews" name no reviewer for it); ${which}`,
    };
  }
  if (target === undefined && reviewed.length === 0) {
    return {
      reason: 'no-reviewers',
      reviewed,
      message: 'no worker of this session has reviewers configured (the spec\'s "reviews" are empty)',
    };
  }
  const targets = target !== undefined ? [target] : reviewed;
  const ended = targets.filter((t) => endedUnfinished(statusOf(t) ?? ''));
  if (ended.length === targets.length) {
    const what = ended.map((t) => `${t} ${statusOf(t)}`).join(', ');
    return {
      reason: 'nothing-to-review',
      reviewed,
      message: `nothing to review: ${what} without finished work (only completed work is reviewed)`,
    };
  }
  if (roundsSoFar >= spec.review.maxRounds) {
    return {
      reason: 'max-rounds',
      reviewed,
      message:
        `the session has had ${roundsSoFar} review round(s), ` +
        `its cap (review.maxRounds = ${spec.review.maxRounds})`,
    };
  }
  return null;
}

/** The targets of a person's review request whose work is not finished yet: its round starts once they finish. */
export function reviewWaitsFor(
  spec: Pick<SessionSpec, 'reviews'>,
  target: string | undefined,
  statusOf: (workerId: string) => string | undefined,
): string[] {
  return (target !== undefined ? [target] : reviewedWorkers(spec)).filter((t) => {
    const status = statusOf(t);
    return status !== undefined && !hasFinishedWork(status) && !endedUnfinished(status);
  });
}
