/**
 * What the session's children report: a worker's status and output facts (which may queue a review), and a
 * review round's decision (continue, pause for a person's answer, or stop and escalate).
 */
import type { RoundDoneEvent } from '../../machines/review.machine.js';
import type { WorkerProgressEvent, WorkerStatusEvent } from '../../machines/worker.machine.js';
import { reviewersFor, type WorkerEntry } from './context.js';
import { raiseBlocker } from './blockers.js';
import { queueReview } from './rounds.js';
import { advance } from './spawn.js';
import { permissionSettled } from './permissions.js';
import type { Step } from './step.js';

export function onWorkerStatus(s: Step, event: WorkerStatusEvent): void {
  const entry = s.worker(event.workerId);
  if (!entry) return;
  s.patchWorker(entry.id, {
    status: event.status,
    attempt: event.attempt,
    finalText: event.finalText ?? entry.finalText,
    planDone: event.planDone,
    usage: event.usage,
    agentSessionId: event.agentSessionId ?? entry.agentSessionId,
    reason: event.reason,
    pending: false,
    ...(event.change ? { change: event.change } : {}),
  });
  // Out of `running`, its agent waits for no answer: a permission it asked about needs nobody any more.
  if (event.status !== 'running' && event.status !== 'paused') permissionSettled(s, { workerId: entry.id });
  if (entry.kind === 'reviewer' && entry.roundId && entry.roundId === s.context.activeRound) {
    const round = entry.roundId;
    // The per-reviewer timeout stands still while the reviewer is paused.
    if (event.status === 'paused' && entry.status !== 'paused')
      s.send(round, { type: 'REVIEWER.PAUSED', reviewerId: entry.id });
    else if (entry.status === 'paused' && event.status !== 'paused')
      s.send(round, { type: 'REVIEWER.RESUMED', reviewerId: entry.id });
    if (event.status === 'reviewing')
      s.send(round, { type: 'REVIEWER.ANSWER', reviewerId: entry.id, text: event.finalText ?? '' });
    else if (event.status === 'failed' || event.status === 'stopped' || event.status === 'skipped')
      s.send(round, { type: 'REVIEWER.FAILED', reviewerId: entry.id, reason: event.reason ?? event.status });
  }
  if (entry.kind === 'worker' && event.status === 'reviewing' && entry.status !== 'reviewing')
    queueReview(s, [entry.id], 'work completed');
  reviewOnPlanProgress(s, entry.id);
  advance(s);
}

/** Output facts of a running worker: summary, usage, plan progress (which may trigger a review). */
export function onWorkerProgress(s: Step, event: WorkerProgressEvent): void {
  const entry = s.worker(event.workerId);
  if (!entry) return;
  s.patchWorker(entry.id, {
    finalText: event.finalText ?? entry.finalText,
    planDone: event.planDone,
    usage: event.usage,
    agentSessionId: event.agentSessionId ?? entry.agentSessionId,
  });
  if (reviewOnPlanProgress(s, entry.id)) advance(s);
}

/** `"review": {"trigger": {"everyPlanItems": N}}`: a round each time N more plan items are done. */
function reviewOnPlanProgress(s: Step, workerId: string): boolean {
  const worker = s.worker(workerId);
  const trigger = s.context.spec.review.trigger;
  const every = typeof trigger === 'object' ? trigger.everyPlanItems : null;
  if (
    !worker ||
    worker.kind !== 'worker' ||
    !every ||
    worker.planDone < worker.reviewedAtPlanDone + every ||
    reviewersFor(s.context, worker.id).length === 0
  ) {
    return false;
  }
  s.patchWorker(worker.id, { reviewedAtPlanDone: worker.planDone });
  return queueReview(s, [worker.id], `${worker.planDone} plan items done`);
}

/** `file:line: message` of a reviewer's issue, or its summary when it listed none. */
function issueLines(
  reviewer: string,
  verdict: RoundDoneEvent['output']['verdicts'][number]['verdict'],
  only?: 'blocker',
) {
  const issues = only ? verdict.issues.filter((i) => i.severity === only) : verdict.issues;
  return issues.length
    ? issues.map((i) => `${reviewer}: ${i.file ? `${i.file}${i.line ? `:${i.line}` : ''}: ` : ''}${i.message}`)
    : [`${reviewer}: ${verdict.summary}`];
}

export function onRoundDone(s: Step, event: RoundDoneEvent): void {
  const { output } = event;
  const counts = { approve: 0, concern: 0, blocker: 0 };
  for (const v of output.verdicts) counts[v.verdict.verdict]++;
  // The targets still waiting for this round's decision, as they were when it came.
  const targetsInReview = output.targets
    .map((t) => s.worker(t))
    .filter((w): w is WorkerEntry => w?.status === 'reviewing');
  s.set({
    rounds: s.context.rounds.map((r) => (r.roundId === output.roundId ? { ...r, decision: output.decision } : r)),
    activeRound: null,
  });
  s.stopChild(output.roundId);
  const base = {
    type: 'decision' as const,
    source: { kind: 'review' as const, id: output.roundId },
    roundId: output.roundId,
    target: output.targets.join(','),
    decision: output.decision,
    counts,
  };

  switch (output.decision) {
    case 'CONTINUE':
    case 'LOG_WARNING': {
      const warning = output.verdicts
        .filter((v) => v.verdict.verdict === 'concern')
        .map((v) => `${v.reviewer}: ${v.verdict.summary}`);
      s.record({
        ...base,
        action:
          output.decision === 'CONTINUE'
            ? 'all reviewers approve; continuing'
            : `one concern logged; continuing (${warning.join('; ')})`,
      });
      for (const w of targetsInReview) s.command(w.id, { type: 'REVIEW.CONTINUE' });
      advance(s);
      return;
    }
    case 'PAUSE_AND_CLARIFY': {
      const concerns = output.verdicts
        .filter((v) => v.verdict.verdict !== 'approve')
        .flatMap((v) => issueLines(v.reviewer, v.verdict));
      s.record({ ...base, action: 'paused; waiting for a person to answer the concerns' });
      raiseBlocker(s, {
        kind: 'CLARIFICATION_NEEDED',
        roundId: output.roundId,
        targets: output.targets,
        message: [`Reviewers raised ${counts.concern} concerns about ${output.targets.join(', ')}:`, ...concerns].join(
          '\n',
        ),
        action:
          'Answer with guidance for the reviewed agent ' +
          '(it continues with your answer, and the work is reviewed again), or stop.',
        options: ['answer', 'stop'],
      });
      s.raise({ type: 'PAUSE' });
      return;
    }
    case 'STOP_AND_ESCALATE': {
      const blocking = output.verdicts
        .filter((v) => v.verdict.verdict === 'blocker')
        .flatMap((v) => issueLines(v.reviewer, v.verdict, 'blocker'));
      s.record({ ...base, action: 'session stopped; escalated to a person' });
      raiseBlocker(s, {
        kind: 'REVIEW_BLOCKER',
        roundId: output.roundId,
        targets: output.targets,
        message: [`A reviewer found blocking issues in ${output.targets.join(', ')}:`, ...blocking].join('\n'),
        action:
          'Read the blocking issues, fix them (or start a new session with a clearer task); this session is stopped.',
        options: [],
      });
      s.set({ outcome: 'escalated', stopReason: `review blocker in ${output.targets.join(', ')}` });
      s.raise({ type: 'STOP', reason: 'review blocker' });
      return;
    }
  }
}
