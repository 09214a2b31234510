import { describe, expect, it, vi } from 'vitest';
import { createActor, fromCallback } from 'xstate';
import type { NewEvent } from '../../src/domain/events.js';
import { machineGraph } from '../../src/machines/graph.js';
import { reviewMachine, type ReviewRoundEvent, type ReviewRoundInput } from '../../src/machines/review.machine.js';
import { walkAllTransitions, withoutInvocations } from './model-coverage.js';

const verdictText = (verdict: 'approve' | 'concern' | 'blocker') => {
  const issues =
    verdict === 'approve' ? [] : [{ severity: verdict, file: 'src/a.ts', line: 3, message: `${verdict} issue` }];
  return `Review done.\n\`\`\`json\n${JSON.stringify({ verdict, summary: `${verdict} summary`, issues })}\n\`\`\``;
};

const input = (timeoutMs: number): ReviewRoundInput => ({
  sessionId: 'orch_20261121_000000_test',
  roundId: 'round-1',
  targets: ['implementer'],
  assignments: [
    { reviewerId: 'r1-gemini-implementer', reviewer: 'gemini', target: 'implementer', focus: 'implementation' },
    { reviewerId: 'r1-codex-implementer', reviewer: 'codex', target: 'implementer', focus: 'implementation' },
  ],
  timeoutMs,
});

const reviewers = ['r1-gemini-implementer', 'r1-codex-implementer'];

function roundEvents(): ReviewRoundEvent[] {
  return [
    { type: 'ROUND.LAUNCHED' },
    ...reviewers.flatMap((reviewerId): ReviewRoundEvent[] => [
      { type: 'REVIEWER.ANSWER', reviewerId, text: verdictText('approve') },
      { type: 'REVIEWER.ANSWER', reviewerId, text: 'I think it is fine but I will not give JSON.' },
      { type: 'REVIEWER.FAILED', reviewerId, reason: 'auth' },
      { type: 'REVIEWER.PAUSED', reviewerId },
      { type: 'REVIEWER.RESUMED', reviewerId },
    ]),
    { type: 'TIMER.DONE' },
  ];
}

function stubbedRound(requests: Array<{ type: string }> = [], recorded: NewEvent[] = []) {
  return reviewMachine.provide({
    actions: {
      askSession: (_, request: { type: string }) => {
        requests.push(request);
      },
      record: (_, event: NewEvent) => {
        recorded.push(event);
      },
    },
    actors: { deadlineTimer: fromCallback(() => undefined) },
  });
}

describe('review round machine (model-based)', () => {
  it('takes every declared transition', () => {
    const covered = new Set<string>();
    // timeoutMs 0: every TIMER.DONE finds the deadlines passed; a long timeout: TIMER.DONE finds none;
    // and a round nobody is configured to review.
    for (const roundInput of [input(0), input(3_600_000), { ...input(1000), assignments: [] }]) {
      const result = walkAllTransitions({
        model: withoutInvocations(stubbedRound()),
        machine: stubbedRound(),
        input: roundInput,
        events: roundEvents,
        serializeState: (s) =>
          JSON.stringify([s.value, Object.values(s.context.answers).map((a: any) => [a.done, a.retried, a.paused])]),
      });
      for (const key of result.covered) covered.add(key);
    }
    const missing = machineGraph(reviewMachine)
      .edges.map((e) => e.key)
      .filter((key) => !covered.has(key));
    expect(missing).toEqual([]);
  });
});

describe('review round machine (behaviour)', () => {
  const run = (events: ReviewRoundEvent[], timeoutMs = 3_600_000) => {
    const requests: Array<{ type: string; [k: string]: unknown }> = [];
    const recorded: NewEvent[] = [];
    const actor = createActor(stubbedRound(requests, recorded), { input: input(timeoutMs) }).start();
    for (const event of events) actor.send(event);
    return { actor, requests, recorded };
  };

  it('asks the session to launch its reviewers, then decides by the policy', () => {
    const { actor, requests } = run([
      { type: 'ROUND.LAUNCHED' },
      { type: 'REVIEWER.ANSWER', reviewerId: reviewers[0]!, text: verdictText('approve') },
      { type: 'REVIEWER.ANSWER', reviewerId: reviewers[1]!, text: verdictText('concern') },
    ]);
    expect(requests[0]).toMatchObject({ type: 'ROUND.LAUNCH', roundId: 'round-1' });
    expect(actor.getSnapshot().status).toBe('done');
    expect(actor.getSnapshot().output?.decision).toBe('LOG_WARNING');
    expect(requests.at(-1)).toMatchObject({ type: 'ROUND.DONE' });
  });

  it('retries once with a stricter ask, then counts an answer without a verdict as a concern', () => {
    const { actor, requests, recorded } = run([
      { type: 'ROUND.LAUNCHED' },
      { type: 'REVIEWER.ANSWER', reviewerId: reviewers[0]!, text: 'no json here' },
      { type: 'REVIEWER.ANSWER', reviewerId: reviewers[0]!, text: 'still no json' },
      { type: 'REVIEWER.ANSWER', reviewerId: reviewers[1]!, text: verdictText('approve') },
    ]);
    expect(requests.filter((r) => r.type === 'ROUND.RETRY_REVIEWER')).toEqual([
      { type: 'ROUND.RETRY_REVIEWER', roundId: 'round-1', reviewerId: reviewers[0] },
    ]);
    const review = recorded.find((e) => e.type === 'review' && e.reviewer === 'gemini');
    expect(review).toMatchObject({
      valid: false,
      verdict: { verdict: 'concern', summary: 'reviewer gave no valid verdict' },
    });
    expect(actor.getSnapshot().output?.decision).toBe('LOG_WARNING');
  });

  it('accepts a valid verdict given on the retry', () => {
    const { actor, recorded } = run([
      { type: 'ROUND.LAUNCHED' },
      { type: 'REVIEWER.ANSWER', reviewerId: reviewers[0]!, text: 'prose only' },
      {
        type: 'REVIEWER.ANSWER',
        reviewerId: reviewers[0]!,
        text: JSON.stringify({
          verdict: 'blocker',
          summary: 'no',
          issues: [{ severity: 'blocker', message: 'breaks' }],
        }),
      },
      { type: 'REVIEWER.ANSWER', reviewerId: reviewers[1]!, text: verdictText('approve') },
    ]);
    expect(recorded.find((e) => e.type === 'review' && e.reviewer === 'gemini')).toMatchObject({
      valid: true,
      verdict: { verdict: 'blocker' },
    });
    expect(actor.getSnapshot().output?.decision).toBe('STOP_AND_ESCALATE');
  });

  it('counts a reviewer that does not answer in time as a concern and asks the session to stop it', () => {
    const { actor, requests } = run([{ type: 'ROUND.LAUNCHED' }, { type: 'TIMER.DONE' }], 0);
    expect(requests.filter((r) => r.type === 'ROUND.STOP_REVIEWER').map((r) => r.reviewerId)).toEqual(reviewers);
    expect(actor.getSnapshot().output?.decision).toBe('PAUSE_AND_CLARIFY');
  });

  it('a paused reviewer’s clock stands still: it keeps the time it had left, and gets it back on resume', () => {
    vi.useFakeTimers({ now: Date.parse('2026-11-21T09:00:00Z') });
    try {
      const { actor, recorded } = run([{ type: 'ROUND.LAUNCHED' }], 4_000);
      const answer = () => actor.getSnapshot().context.answers[reviewers[0]!]!;
      vi.advanceTimersByTime(1_000);
      actor.send({ type: 'REVIEWER.PAUSED', reviewerId: reviewers[0]! });
      expect(answer()).toMatchObject({ paused: true, deadline: null, remainingMs: 3_000 });
      // Paused for a minute, far past the 4 s timeout: a TIMER.DONE (the other reviewer's) does not end it.
      vi.advanceTimersByTime(60_000);
      actor.send({ type: 'TIMER.DONE' });
      expect(recorded.filter((e) => e.type === 'review' && e.reviewerId === reviewers[0])).toEqual([]);
      actor.send({ type: 'REVIEWER.RESUMED', reviewerId: reviewers[0]! });
      expect(answer()).toMatchObject({ paused: false, remainingMs: null, deadline: Date.now() + 3_000 });
      vi.advanceTimersByTime(3_000);
      actor.send({ type: 'TIMER.DONE' });
      expect(recorded.find((e) => e.type === 'review' && e.reviewerId === reviewers[0])).toMatchObject({
        valid: false,
        verdict: { summary: expect.stringContaining('no answer within 4s') },
      });
    } finally {
      vi.useRealTimers();
    }
  });

  it('a reviewer paused before the round launched starts its clock only when it runs', () => {
    vi.useFakeTimers({ now: Date.parse('2026-11-21T09:00:00Z') });
    try {
      const { actor } = run(
        [{ type: 'REVIEWER.PAUSED', reviewerId: reviewers[1]! }, { type: 'ROUND.LAUNCHED' }],
        4_000,
      );
      expect(actor.getSnapshot().context.answers[reviewers[1]!]).toMatchObject({
        paused: true,
        deadline: null,
        remainingMs: 4_000,
      });
      vi.advanceTimersByTime(30_000);
      actor.send({ type: 'REVIEWER.RESUMED', reviewerId: reviewers[1]! });
      expect(actor.getSnapshot().context.answers[reviewers[1]!]).toMatchObject({ deadline: Date.now() + 4_000 });
    } finally {
      vi.useRealTimers();
    }
  });

  it('with no reviewer at all, decides CONTINUE at once', () => {
    const actor = createActor(stubbedRound(), { input: { ...input(1000), assignments: [] } }).start();
    expect(actor.getSnapshot().output?.decision).toBe('CONTINUE');
  });
});
