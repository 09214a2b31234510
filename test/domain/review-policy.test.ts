/**
 * The fixed review policy (src/domain/review-policy.ts): every multiset of 1, 2 and 3 verdicts, in every order,
 * against a hand-written table of the rule as the issue states it:
 *
 *   any blocker -> STOP_AND_ESCALATE; 2 or more concerns -> PAUSE_AND_CLARIFY;
 *   exactly 1 concern -> LOG_WARNING; all approve -> CONTINUE
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecisionSchema, VerdictSchema, type Decision, type Verdict } from '../../src/domain/events.js';
import { countVerdicts, decide, noVerdict } from '../../src/domain/review-policy.js';

type Kind = Verdict['verdict'];
const KINDS: readonly Kind[] = ['approve', 'concern', 'blocker'];

/**
 * The expected decision of every multiset of 1..3 verdicts, written out by hand (key: the verdicts sorted
 * alphabetically, joined by "+"). Nothing here is computed: it is the independent statement of the rule.
 */
const EXPECTED: Record<string, Decision> = {
  // one reviewer
  approve: 'CONTINUE',
  concern: 'LOG_WARNING',
  blocker: 'STOP_AND_ESCALATE',
  // two reviewers
  'approve+approve': 'CONTINUE',
  'approve+concern': 'LOG_WARNING',
  'approve+blocker': 'STOP_AND_ESCALATE',
  'concern+concern': 'PAUSE_AND_CLARIFY',
  'blocker+concern': 'STOP_AND_ESCALATE',
  'blocker+blocker': 'STOP_AND_ESCALATE',
  // three reviewers
  'approve+approve+approve': 'CONTINUE',
  'approve+approve+concern': 'LOG_WARNING',
  'approve+approve+blocker': 'STOP_AND_ESCALATE',
  'approve+concern+concern': 'PAUSE_AND_CLARIFY',
  'approve+blocker+concern': 'STOP_AND_ESCALATE',
  'approve+blocker+blocker': 'STOP_AND_ESCALATE',
  'concern+concern+concern': 'PAUSE_AND_CLARIFY',
  'blocker+concern+concern': 'STOP_AND_ESCALATE',
  'blocker+blocker+concern': 'STOP_AND_ESCALATE',
  'blocker+blocker+blocker': 'STOP_AND_ESCALATE',
};

const keyOf = (kinds: readonly Kind[]) => [...kinds].sort().join('+');

/** Every sequence (ordered, with repetition) of `n` verdict kinds: 3^n of them. */
function sequences(n: number): Kind[][] {
  if (n === 0) return [[]];
  return sequences(n - 1).flatMap((rest) => KINDS.map((k) => [k, ...rest]));
}

/** Every multiset of `n` verdict kinds (non-decreasing index sequences): C(n+2, 2) of them. */
function multisets(n: number, from = 0): Kind[][] {
  if (n === 0) return [[]];
  const out: Kind[][] = [];
  for (let i = from; i < KINDS.length; i++)
    for (const rest of multisets(n - 1, i)) out.push([KINDS[i] as Kind, ...rest]);
  return out;
}

const verdicts = (kinds: readonly Kind[]): Verdict[] =>
  kinds.map((verdict, i) => ({
    verdict,
    summary: `reviewer ${i + 1} says ${verdict}`,
    issues: verdict === 'approve' ? [] : [{ severity: verdict, message: `issue ${i + 1}` }],
  }));

describe('decide(): every multiset of 1, 2 and 3 verdicts', () => {
  const all = [1, 2, 3].flatMap((n) => multisets(n));

  it('the generator and the table agree: 3 + 6 + 10 = 19 multisets, each once', () => {
    expect(multisets(1)).toHaveLength(3);
    expect(multisets(2)).toHaveLength(6);
    expect(multisets(3)).toHaveLength(10);
    expect(new Set(all.map(keyOf)).size).toBe(19);
    expect(all.map(keyOf).sort()).toEqual(Object.keys(EXPECTED).sort());
    for (const decision of Object.values(EXPECTED)) expect(DecisionSchema.safeParse(decision).success).toBe(true);
  });

  it.each(all.map((kinds) => [keyOf(kinds), kinds] as const))('%s', (key, kinds) => {
    expect(decide(verdicts(kinds))).toBe(EXPECTED[key]);
  });

  it('does not depend on the order of the reviewers: all 3 + 9 + 27 sequences', () => {
    const seqs = [1, 2, 3].flatMap((n) => sequences(n));
    expect(seqs).toHaveLength(39);
    for (const seq of seqs) expect(decide(verdicts(seq)), seq.join(',')).toBe(EXPECTED[keyOf(seq)]);
  });

  it('reads only the verdict field: summaries and issues do not change the decision', () => {
    // A "concern" whose issues are all blockers is still a concern; an "approve" listing a blocker issue is an approve.
    const concernWithBlockerIssue: Verdict = {
      verdict: 'concern',
      summary: 'x',
      issues: [{ severity: 'blocker', message: 'bad' }],
    };
    const approveWithBlockerIssue: Verdict = {
      verdict: 'approve',
      summary: 'fine',
      issues: [{ severity: 'blocker', message: 'nit really' }],
    };
    expect(decide([concernWithBlockerIssue])).toBe('LOG_WARNING');
    expect(decide([approveWithBlockerIssue, approveWithBlockerIssue])).toBe('CONTINUE');
    expect(decide([{ verdict: 'blocker' }])).toBe('STOP_AND_ESCALATE');
  });

  it('no reviewer at all: nothing against the work, CONTINUE', () => {
    expect(decide([])).toBe('CONTINUE');
  });

  it('any number of reviewers follows the rule (property, 0..12 reviewers)', () => {
    // The rule stated once more, as predicates over the list (not over counts).
    const rule = (kinds: Kind[]): Decision => {
      if (kinds.some((k) => k === 'blocker')) return 'STOP_AND_ESCALATE';
      const concerns = kinds.filter((k) => k === 'concern');
      if (concerns.length >= 2) return 'PAUSE_AND_CLARIFY';
      if (concerns.length === 1) return 'LOG_WARNING';
      return 'CONTINUE';
    };
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...KINDS), { maxLength: 12 }), (kinds) => {
        expect(decide(verdicts(kinds))).toBe(rule(kinds));
      }),
      { numRuns: 500 },
    );
  });
});

describe('countVerdicts()', () => {
  it('counts each kind, zero for the kinds absent', () => {
    expect(countVerdicts([])).toEqual({ approve: 0, concern: 0, blocker: 0 });
    expect(countVerdicts(verdicts(['approve']))).toEqual({ approve: 1, concern: 0, blocker: 0 });
    expect(countVerdicts(verdicts(['concern', 'blocker', 'concern']))).toEqual({ approve: 0, concern: 2, blocker: 1 });
    expect(countVerdicts(verdicts(['blocker', 'approve', 'approve']))).toEqual({ approve: 2, concern: 0, blocker: 1 });
  });

  it('always sums to the number of verdicts, for every sequence of up to 3', () => {
    for (const seq of [0, 1, 2, 3].flatMap((n) => sequences(n))) {
      const c = countVerdicts(verdicts(seq));
      expect(c.approve + c.concern + c.blocker).toBe(seq.length);
      for (const kind of KINDS) expect(c[kind]).toBe(seq.filter((k) => k === kind).length);
    }
  });

  it('returns a fresh object each time (callers may mutate it)', () => {
    const a = countVerdicts([]);
    a.approve = 5;
    expect(countVerdicts([])).toEqual({ approve: 0, concern: 0, blocker: 0 });
  });
});

describe('noVerdict()', () => {
  it('is a valid Verdict that counts as one concern carrying the reason', () => {
    const v = noVerdict('reviewer gave no valid verdict');
    expect(VerdictSchema.parse(v)).toEqual(v);
    expect(v).toEqual({
      verdict: 'concern',
      summary: 'reviewer gave no valid verdict',
      issues: [{ severity: 'concern', message: 'reviewer gave no valid verdict' }],
    });
  });

  it('keeps the reason verbatim (timeouts and failures say why)', () => {
    const reason = 'reviewer gave no valid verdict: no answer within 1s';
    expect(noVerdict(reason).summary).toBe(reason);
    expect(noVerdict(reason).issues[0]?.message).toBe(reason);
  });

  it('weighs like a concern in the policy: one alone warns, two pause, beside a blocker it escalates', () => {
    const none = noVerdict('reviewer gave no valid verdict');
    expect(decide([none])).toBe('LOG_WARNING');
    expect(decide([none, none])).toBe('PAUSE_AND_CLARIFY');
    expect(decide([none, ...verdicts(['approve', 'approve'])])).toBe('LOG_WARNING');
    expect(decide([none, ...verdicts(['concern'])])).toBe('PAUSE_AND_CLARIFY');
    expect(decide([none, ...verdicts(['blocker'])])).toBe('STOP_AND_ESCALATE');
  });
});
