/**
 * One peer-review round. The reviewers are worker actors of the session (so their failures go through the
 * supervisor's recovery like any worker's); the round asks the session to launch them, collects their
 * answers, turns each into a typed Verdict (one stricter retry by native resume when an answer has none,
 * then it counts as a concern), enforces the per-reviewer timeout, and decides by the fixed policy.
 * The timeout counts only while a reviewer is not paused (a paused session or a paused reviewer card): the
 * session tells the round REVIEWER.PAUSED / REVIEWER.RESUMED, and the time left is kept meanwhile.
 *
 *   requesting -ROUND.LAUNCHED-> collecting -(all answered)-> deciding -> done (output: the Decision)
 */
import { deadlineTimer } from './deadline-timer.js';
import { assign, enqueueActions, sendParent, setup } from 'xstate';
import type { Decision, NewEvent, Verdict } from '../domain/events.js';
import { decide, extractVerdict, noVerdict } from '../domain/review-policy.js';

export interface ReviewerAssignment {
  /** The reviewer's worker id, e.g. r1-codex-implementer. */
  reviewerId: string;
  reviewer: string;
  target: string;
  focus: string;
  /** The generic `acp` reviewer's command. */
  command?: string[];
  /** Over the agent's own protocol (an agent that has no other mode). */
  interactive?: boolean;
}

export interface ReviewRoundInput {
  sessionId: string;
  roundId: string;
  targets: string[];
  assignments: ReviewerAssignment[];
  timeoutMs: number;
}

interface Answer {
  verdict: Verdict | null;
  valid: boolean;
  retried: boolean;
  done: boolean;
  /** When it times out (ms since the epoch): null before the launch and while it is paused. */
  deadline: number | null;
  /** Paused (by the session or by a person): its clock stands still. */
  paused: boolean;
  /** While paused after its clock started: the time it had left. */
  remainingMs: number | null;
}

export interface ReviewRoundContext extends ReviewRoundInput {
  answers: Record<string, Answer>;
  decision: Decision | null;
}

export type ReviewRoundEvent =
  | { type: 'ROUND.LAUNCHED' }
  | { type: 'REVIEWER.ANSWER'; reviewerId: string; text: string }
  | { type: 'REVIEWER.FAILED'; reviewerId: string; reason: string }
  | { type: 'REVIEWER.PAUSED'; reviewerId: string }
  | { type: 'REVIEWER.RESUMED'; reviewerId: string }
  | { type: 'TIMER.DONE' };

export interface ReviewRoundOutput {
  roundId: string;
  targets: string[];
  decision: Decision;
  verdicts: Array<ReviewerAssignment & { verdict: Verdict; valid: boolean }>;
}

/** Messages from the round to the session, which owns the reviewer workers. */
export type RoundRequest =
  | { type: 'ROUND.LAUNCH'; roundId: string; assignments: ReviewerAssignment[] }
  | { type: 'ROUND.RETRY_REVIEWER'; roundId: string; reviewerId: string }
  | { type: 'ROUND.ACCEPT_REVIEWER'; roundId: string; reviewerId: string }
  | { type: 'ROUND.STOP_REVIEWER'; roundId: string; reviewerId: string };

const pendingDeadline = (answers: Record<string, Answer>): number | null => {
  const deadlines = Object.values(answers)
    .filter((a) => !a.done && a.deadline !== null)
    .map((a) => a.deadline as number);
  return deadlines.length ? Math.min(...deadlines) : null;
};

export const reviewMachine = setup({
  types: {
    context: {} as ReviewRoundContext,
    events: {} as ReviewRoundEvent,
    input: {} as ReviewRoundInput,
    output: {} as ReviewRoundOutput,
  },
  actors: {
    deadlineTimer,
  },
  actions: {
    // Provided by the runtime: append an event to the session log.
    record: (_, _event: NewEvent) => undefined,
    /** Every request to the session (which owns the reviewer workers) goes through this one action. */
    askSession: sendParent((_, request: RoundRequest | RoundDoneEvent) => request),
  },
  guards: {
    allAnswered: ({ context }) => Object.values(context.answers).every((a) => a.done),
    noReviewers: ({ context }) => context.assignments.length === 0,
  },
}).createMachine({
  id: 'review',
  context: ({ input }) => ({
    ...input,
    answers: Object.fromEntries(
      input.assignments.map((a) => [
        a.reviewerId,
        { verdict: null, valid: false, retried: false, done: false, deadline: null, paused: false, remainingMs: null },
      ]),
    ),
    decision: null,
  }),
  initial: 'requesting',
  states: {
    requesting: {
      always: { guard: 'noReviewers', target: 'deciding' },
      entry: {
        type: 'askSession',
        params: ({ context }) => ({ type: 'ROUND.LAUNCH', roundId: context.roundId, assignments: context.assignments }),
      },
      on: {
        'ROUND.LAUNCHED': {
          target: 'collecting',
          actions: assign({
            answers: ({ context }) =>
              Object.fromEntries(
                Object.entries(context.answers).map(([id, a]) => [
                  id,
                  a.paused
                    ? { ...a, remainingMs: context.timeoutMs }
                    : { ...a, deadline: Date.now() + context.timeoutMs },
                ]),
              ),
          }),
        },
        // A reviewer paused before the round launched: its clock starts only once it runs.
        'REVIEWER.PAUSED': {
          actions: assign({ answers: ({ context, event }) => pauseClock(context.answers, event.reviewerId) }),
        },
        'REVIEWER.RESUMED': {
          actions: assign({ answers: ({ context, event }) => resumeClock(context.answers, event.reviewerId) }),
        },
      },
    },
    collecting: {
      always: { guard: 'allAnswered', target: 'deciding' },
      invoke: {
        src: 'deadlineTimer',
        input: ({ context }) => ({ dueAt: pendingDeadline(context.answers) ?? Number.MAX_SAFE_INTEGER }),
      },
      on: {
        'REVIEWER.ANSWER': {
          actions: enqueueActions(({ context, event, enqueue }) => {
            const answer = context.answers[event.reviewerId];
            if (!answer || answer.done) return;
            const assignment = context.assignments.find((a) => a.reviewerId === event.reviewerId) as ReviewerAssignment;
            const verdict = extractVerdict(event.text);
            if (!verdict && !answer.retried) {
              enqueue.assign({
                answers: {
                  ...context.answers,
                  [event.reviewerId]: {
                    ...answer,
                    retried: true,
                    deadline: Date.now() + context.timeoutMs,
                    paused: false,
                    remainingMs: null,
                  },
                },
              });
              enqueue({
                type: 'askSession',
                params: { type: 'ROUND.RETRY_REVIEWER', roundId: context.roundId, reviewerId: event.reviewerId },
              });
              return;
            }
            const final = verdict ?? noVerdict('reviewer gave no valid verdict');
            enqueue.assign({
              answers: {
                ...context.answers,
                [event.reviewerId]: { ...answer, verdict: final, valid: verdict !== null, done: true },
              },
            });
            enqueue({ type: 'record', params: reviewEvent(context, assignment, final, verdict !== null) });
            enqueue({
              type: 'askSession',
              params: { type: 'ROUND.ACCEPT_REVIEWER', roundId: context.roundId, reviewerId: event.reviewerId },
            });
          }),
        },
        'REVIEWER.FAILED': {
          actions: enqueueActions(({ context, event, enqueue }) => {
            const answer = context.answers[event.reviewerId];
            if (!answer || answer.done) return;
            const assignment = context.assignments.find((a) => a.reviewerId === event.reviewerId) as ReviewerAssignment;
            const final = noVerdict(`reviewer gave no valid verdict: ${event.reason}`);
            enqueue.assign({
              answers: { ...context.answers, [event.reviewerId]: { ...answer, verdict: final, done: true } },
            });
            enqueue({ type: 'record', params: reviewEvent(context, assignment, final, false) });
          }),
        },
        // Re-entered, so the deadline timer is armed again for the deadlines that are left.
        'REVIEWER.PAUSED': {
          target: 'collecting',
          reenter: true,
          actions: assign({ answers: ({ context, event }) => pauseClock(context.answers, event.reviewerId) }),
        },
        'REVIEWER.RESUMED': {
          target: 'collecting',
          reenter: true,
          actions: assign({ answers: ({ context, event }) => resumeClock(context.answers, event.reviewerId) }),
        },
        'TIMER.DONE': {
          target: 'collecting',
          reenter: true,
          actions: enqueueActions(({ context, enqueue }) => {
            const now = Date.now();
            const answers = { ...context.answers };
            for (const [id, answer] of Object.entries(answers)) {
              if (answer.done || answer.deadline === null || answer.deadline > now) continue;
              const assignment = context.assignments.find((a) => a.reviewerId === id) as ReviewerAssignment;
              const final = noVerdict(
                `reviewer gave no valid verdict: no answer within ${Math.round(context.timeoutMs / 1000)}s`,
              );
              answers[id] = { ...answer, verdict: final, done: true };
              enqueue({ type: 'record', params: reviewEvent(context, assignment, final, false) });
              enqueue({
                type: 'askSession',
                params: { type: 'ROUND.STOP_REVIEWER', roundId: context.roundId, reviewerId: id },
              });
            }
            enqueue.assign({ answers });
          }),
        },
      },
    },
    deciding: {
      always: {
        target: 'done',
        actions: enqueueActions(({ context, enqueue }) => {
          const verdicts = Object.values(context.answers).map(
            (a) => a.verdict ?? noVerdict('reviewer gave no valid verdict'),
          );
          enqueue.assign({ decision: decide(verdicts) });
        }),
      },
    },
    done: {
      type: 'final',
      entry: { type: 'askSession', params: ({ context }) => ({ type: 'ROUND.DONE', output: roundOutput(context) }) },
    },
  },
  output: ({ context }) => roundOutput(context),
});

/** Stop a reviewer's clock, keeping the time it had left. */
function pauseClock(answers: Record<string, Answer>, reviewerId: string): Record<string, Answer> {
  const answer = answers[reviewerId];
  if (!answer || answer.done || answer.paused) return answers;
  const remainingMs = answer.deadline === null ? answer.remainingMs : Math.max(0, answer.deadline - Date.now());
  return { ...answers, [reviewerId]: { ...answer, paused: true, deadline: null, remainingMs } };
}

/** Start a paused reviewer's clock again with the time it had left (none yet before the launch). */
function resumeClock(answers: Record<string, Answer>, reviewerId: string): Record<string, Answer> {
  const answer = answers[reviewerId];
  if (!answer || answer.done || !answer.paused) return answers;
  const deadline = answer.remainingMs === null ? null : Date.now() + answer.remainingMs;
  return { ...answers, [reviewerId]: { ...answer, paused: false, deadline, remainingMs: null } };
}

export interface RoundDoneEvent {
  type: 'ROUND.DONE';
  output: ReviewRoundOutput;
}

function roundOutput(context: ReviewRoundContext): ReviewRoundOutput {
  return {
    roundId: context.roundId,
    targets: context.targets,
    decision: context.decision ?? 'CONTINUE',
    verdicts: context.assignments.map((a) => {
      const answer = context.answers[a.reviewerId];
      return {
        ...a,
        verdict: answer?.verdict ?? noVerdict('reviewer gave no valid verdict'),
        valid: answer?.valid ?? false,
      };
    }),
  };
}

function reviewEvent(
  context: ReviewRoundContext,
  assignment: ReviewerAssignment,
  verdict: Verdict,
  valid: boolean,
): NewEvent {
  return {
    type: 'review',
    source: { kind: 'review', id: context.roundId },
    roundId: context.roundId,
    reviewerId: assignment.reviewerId,
    reviewer: assignment.reviewer,
    target: assignment.target,
    focus: assignment.focus,
    verdict,
    valid,
  };
}
