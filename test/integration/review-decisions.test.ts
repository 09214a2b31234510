/**
 * Peer review end to end, decisions: the real `orchestrate run` (dist/cli.js) with fake agents on a git target.
 * The implementer (fake claude) writes a file so the reviewers (fake codex / gemini / claude, launched by the
 * session as read-only reviewer workers) have a diff; each reviewer answers the verdict its rule says.
 *
 *   blocker -> STOP_AND_ESCALATE (exit 2, issue quoted)    all approve -> CONTINUE (exit 0)
 *   one concern -> LOG_WARNING (exit 0)                    two concerns -> PAUSE_AND_CLARIFY (answer, round 2)
 *   review.maxRounds caps the rounds; the default pairs and --agents filtering.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SessionView } from '../../src/runtime/view.js';
import {
  cleanupAfterTest,
  eventsOfType,
  launches,
  poll,
  readEvents,
  runCli,
  sessionIds,
  startCli,
  lockServerUrl,
} from '../support/orchestrate.js';
import {
  allLaunches,
  APPROVE,
  eventsSoFar,
  IMPLEMENTER,
  isReviewerLaunch,
  type Launch,
  noAgentLeft,
  promptOf,
  REVIEWER,
  reviewerSays,
  run,
  runArgs,
  setup,
  TASK,
  type Verdict,
  view,
} from './support-review.js';

// --- helpers of this file (the shared ones: ./support-review.ts) ------------------------------------------

const concern = (what: string): Verdict => ({
  verdict: 'concern',
  summary: `Unsure: ${what}`,
  issues: [{ severity: 'concern', file: 'src/greet.js', line: 1, message: what }],
});
const BLOCKER: Verdict = {
  verdict: 'blocker',
  summary: 'greet() leaks the admin password.',
  issues: [
    { severity: 'blocker', file: 'src/greet.js', line: 1, message: 'greet() returns the admin password in plain text' },
    { severity: 'nit', message: 'missing semicolon' },
  ],
};

/**
 * One claude implementer reviewed by `reviewers`. `sandbox: "none"`: the fake agent keeps its memory (launch
 * log, counters, issued session ids) in a state dir under /tmp, which a bubblewrap sandbox hides behind a
 * private /tmp; reviews work the same with or without the sandbox.
 */
const oneImplementer = (reviewers: string[], review: object = {}, extra: object = {}) => ({
  task: TASK,
  workers: [{ id: 'impl', agent: 'claude', role: 'implementer' }],
  reviews: reviewers.map((reviewer) => ({ reviewer, target: 'impl', focus: 'implementation' })),
  review,
  sandbox: 'none',
  ...extra,
});

// A few seconds each on an idle machine; room for a loaded one (2 cores shared with other test runs).
vi.setConfig({ testTimeout: 60_000 });

const workerStatuses = (v: SessionView) => Object.fromEntries(v.workers.map((w) => [w.id, w.status]));

afterEach(cleanupAfterTest);

// --- the tests ---------------------------------------------------------------------------------------------

describe('review decisions through the real CLI', () => {
  it(
    'a codex reviewer answering blocker: STOP_AND_ESCALATE, exit 2, the blocking issue quoted in the summary, ' +
      'outcome escalated, no agent left',
    async () => {
      const h = setup(oneImplementer(['codex', 'gemini']), {
        rules: [reviewerSays('codex', BLOCKER), reviewerSays('gemini', APPROVE)],
        claude: IMPLEMENTER,
      });
      const result = await run(h);
      expect(result.exitCode, result.stderr).toBe(2);

      const events = readEvents(h.sandbox.workspace);
      const reviews = eventsOfType(events, 'review');
      expect(reviews.map((r) => [r.reviewer, r.target, r.focus, r.verdict.verdict, r.valid]).sort()).toEqual([
        ['codex', 'impl', 'implementation', 'blocker', true],
        ['gemini', 'impl', 'implementation', 'approve', true],
      ]);
      expect(reviews.find((r) => r.reviewer === 'codex')?.verdict).toEqual(BLOCKER);

      const decisions = eventsOfType(events, 'decision');
      expect(decisions).toHaveLength(1);
      expect(decisions[0]).toMatchObject({
        roundId: 'round-1',
        target: 'impl',
        decision: 'STOP_AND_ESCALATE',
        counts: { approve: 1, concern: 0, blocker: 1 },
        action: 'session stopped; escalated to a person',
      });

      const blocker = eventsOfType(events, 'blocker').find((b) => b.kind === 'REVIEW_BLOCKER');
      expect(blocker?.message).toBe(
        'A reviewer found blocking issues in impl:\n' +
          'codex: src/greet.js:1: greet() returns the admin password in plain text',
      );
      expect(blocker?.options).toEqual([]);
      // Only blocker-severity issues are quoted as blocking.
      expect(blocker?.message).not.toContain('missing semicolon');

      // The CLI summary (stderr with --json) quotes the blocking issue.
      expect(result.stderr).toContain('stopped and escalated');
      expect(result.stderr).toContain('round-1 impl: STOP_AND_ESCALATE (1 approve, 0 concern, 1 blocker)');
      expect(result.stderr).toContain('REVIEW_BLOCKER b1');
      expect(result.stderr).toContain('codex: src/greet.js:1: greet() returns the admin password in plain text');
      // stdout is the event stream: the same review, decision and blocker events.
      expect(result.stdout).toContain('"decision":"STOP_AND_ESCALATE"');

      const v = await view(h);
      expect(v.outcome).toBe('escalated');
      expect(v.stopReason).toBe('review blocker in impl');
      expect(workerStatuses(v)).toEqual({
        impl: 'stopped',
        'r1-codex-impl': 'completed',
        'r1-gemini-impl': 'completed',
      });
      await noAgentLeft(h);
    },
  );

  it('all reviewers approve: CONTINUE, exit 0, every worker completed; the reviewers ran in parallel', async () => {
    const h = setup(oneImplementer(['codex', 'gemini']), {
      rules: [reviewerSays('codex', APPROVE, { holdMs: 1_500 }), reviewerSays('gemini', APPROVE, { holdMs: 1_500 })],
      claude: IMPLEMENTER,
    });
    const result = await run(h);
    expect(result.exitCode, result.stderr).toBe(0);

    const events = readEvents(h.sandbox.workspace);
    const decisions = eventsOfType(events, 'decision');
    expect(decisions.map((d) => [d.roundId, d.decision, d.counts, d.action])).toEqual([
      ['round-1', 'CONTINUE', { approve: 2, concern: 0, blocker: 0 }, 'all reviewers approve; continuing'],
    ]);
    expect(eventsOfType(events, 'review').every((r) => r.valid && r.verdict.verdict === 'approve')).toBe(true);
    expect(eventsOfType(events, 'blocker')).toEqual([]);

    // Both reviewer processes were launched before the first of them answered (each holds 1.5 s before answering).
    const reviewerLaunches = allLaunches(h).filter(isReviewerLaunch);
    expect(reviewerLaunches.map((l) => l.persona).sort()).toEqual(['codex', 'gemini']);
    const firstAnswer = Math.min(...eventsOfType(events, 'review').map((r) => Date.parse(r.ts)));
    for (const l of reviewerLaunches) expect(Date.parse(l.ts)).toBeLessThan(firstAnswer);

    const v = await view(h);
    expect(v.outcome).toBe('completed');
    expect(workerStatuses(v)).toEqual({
      impl: 'completed',
      'r1-codex-impl': 'completed',
      'r1-gemini-impl': 'completed',
    });
    expect(result.stderr).toContain('round-1 impl: CONTINUE (2 approve, 0 concern, 0 blocker)');
  });

  it('exactly one concern: LOG_WARNING, the concern logged in the decision, exit 0', async () => {
    const h = setup(oneImplementer(['codex', 'gemini']), {
      rules: [reviewerSays('codex', APPROVE), reviewerSays('gemini', concern('greet() ignores the name'))],
      claude: IMPLEMENTER,
    });
    const result = await run(h);
    expect(result.exitCode, result.stderr).toBe(0);
    const decisions = eventsOfType(readEvents(h.sandbox.workspace), 'decision');
    expect(decisions).toHaveLength(1);
    expect(decisions[0]).toMatchObject({
      decision: 'LOG_WARNING',
      counts: { approve: 1, concern: 1, blocker: 0 },
      action: 'one concern logged; continuing (gemini: Unsure: greet() ignores the name)',
    });
    const v = await view(h);
    expect(v.outcome).toBe('completed');
    expect(workerStatuses(v).impl).toBe('completed');
  });

  it(
    'two concerns without a server: PAUSE_AND_CLARIFY, a CLARIFICATION_NEEDED blocker (answer|stop), ' +
      'the run ends with exit 2',
    async () => {
      const h = setup(oneImplementer(['codex', 'gemini']), {
        rules: [reviewerSays('codex', concern('which greeting?')), reviewerSays('gemini', concern('no test'))],
        claude: IMPLEMENTER,
      });
      const result = await run(h);
      expect(result.exitCode, result.stderr).toBe(2);
      const events = readEvents(h.sandbox.workspace);
      expect(eventsOfType(events, 'decision').map((d) => [d.decision, d.action])).toEqual([
        ['PAUSE_AND_CLARIFY', 'paused; waiting for a person to answer the concerns'],
      ]);
      const blocker = eventsOfType(events, 'blocker')[0];
      expect(blocker).toMatchObject({ blockerId: 'b1', kind: 'CLARIFICATION_NEEDED', options: ['answer', 'stop'] });
      expect(blocker?.message.split('\n')).toEqual([
        'Reviewers raised 2 concerns about impl:',
        'codex: src/greet.js:1: which greeting?',
        'gemini: src/greet.js:1: no test',
      ]);
      expect(blocker?.resolution).toBeUndefined();
      expect(result.stderr).toContain('CLARIFICATION_NEEDED b1');
      expect(result.stderr).toContain(
        `orchestrate resolve ${sessionIds(h.sandbox.workspace)[0]} b1 <answer|stop> --text "..."`,
      );
      const v = await view(h);
      expect(v.state).toBe('paused');
      expect(v.outcome).toBeNull();
      expect(workerStatuses(v).impl).toBe('reviewing');
      await noAgentLeft(h);
    },
  );

  it(
    'two concerns with a server: the session pauses, `orchestrate resolve … answer --text` resumes the target ' +
      'natively with the answer, round 2 approves, exit 0',
    async () => {
      const ANSWER = 'Greet with "hello world" and add a test (answer-7f3a)';
      const h = setup(oneImplementer(['codex', 'gemini']), {
        rules: [
          // Round 2 sees the target's new summary (it says FIXED) in its prompt: approve then.
          { match: { promptIncludes: 'FIXED greet' }, scenario: { delayMs: 1, verdict: APPROVE } },
          reviewerSays('codex', concern('which greeting?')),
          reviewerSays('gemini', concern('no test')),
          // The target resumed with the answer: change the file, say so.
          {
            match: { agent: 'claude', resume: true },
            scenario: {
              delayMs: 1,
              writeFiles: [{ path: 'src/greet.js', content: "export const greet = () => 'hello world';\n" }],
              finalText: 'FIXED greet: now says hello world.',
            },
          },
        ],
        claude: IMPLEMENTER,
      });
      const { exited } = startCli(runArgs(h, []), h.env);
      const ws = h.sandbox.workspace;

      const blocker = await poll(
        () => eventsOfType(eventsSoFar(ws), 'blocker').find((b) => b.kind === 'CLARIFICATION_NEEDED'),
        15_000,
        'the CLARIFICATION_NEEDED blocker',
      );
      const sid = sessionIds(ws)[0] as string;
      // The lock file in the session folder records the server URL the CLI talks to.
      expect(lockServerUrl(ws, sid)).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      await poll(
        () => eventsOfType(eventsSoFar(ws), 'state').some((e) => e.machine === 'session' && e.to === 'paused'),
        15_000,
        'the session to be paused',
      );

      const answered = await runCli(
        ['resolve', sid, blocker.blockerId, 'answer', '--text', ANSWER, '--workspace', ws],
        {
          env: h.env,
        },
      );
      expect(answered.exitCode, answered.stderr).toBe(0);
      expect(answered.stdout).toContain('b1: answered answer');

      const end = await exited;
      expect(end.exitCode, end.stderr).toBe(0);
      const events = readEvents(ws);

      // The answer is recorded on the blocker.
      const resolved = eventsOfType(events, 'blocker').filter((b) => b.blockerId === 'b1' && b.resolution);
      expect(resolved.map((b) => b.resolution)).toEqual([{ choice: 'answer', text: ANSWER, by: 'cli' }]);

      // The target's next launch is a native resume of its own agent session, prompted with the answer.
      const implSession = eventsOfType(events, 'agent').find((e) => e.workerId === 'impl' && e.kind === 'init');
      const agentSessionId = (implSession as { agentSessionId?: string } | undefined)?.agentSessionId;
      expect(agentSessionId).toBeTruthy();
      const claudeLaunches = allLaunches(h).filter((l) => l.persona === 'claude');
      expect(claudeLaunches).toHaveLength(2);
      const resumed = claudeLaunches[1] as Launch;
      expect(resumed.resume).toBe(agentSessionId);
      expect(resumed.argv.join(' ')).toContain(`--resume ${agentSessionId}`);
      expect(promptOf(resumed)).toContain(
        'Reviewers raised concerns about your work:\n' +
          '- codex: src/greet.js:1: which greeting?\n- gemini: src/greet.js:1: no test',
      );
      expect(promptOf(resumed)).toContain(`A person answered:\n${ANSWER}`);

      // The work is reviewed again: round 2 sees the new summary and the new diff, approves.
      const decisions = eventsOfType(events, 'decision');
      expect(decisions.map((d) => [d.roundId, d.decision])).toEqual([
        ['round-1', 'PAUSE_AND_CLARIFY'],
        ['round-2', 'CONTINUE'],
      ]);
      const round2 = allLaunches(h).filter(isReviewerLaunch).slice(2);
      expect(round2).toHaveLength(2);
      for (const l of round2) {
        const prompt = promptOf(l);
        expect(prompt).toContain('Its final summary:\nFIXED greet: now says hello world.');
        expect(prompt).toContain("+export const greet = () => 'hello world';");
      }
      const v = await view(h);
      expect(v.outcome).toBe('completed');
      expect(workerStatuses(v)).toMatchObject({
        impl: 'completed',
        'r2-codex-impl': 'completed',
        'r2-gemini-impl': 'completed',
      });
      expect(end.stderr).toContain('round-2 impl: CONTINUE (2 approve, 0 concern, 0 blocker)');
    },
  );

  it(
    'a clarification left open by a --no-server run is answered after `orchestrate resume` (with a server): ' +
      'the work is reviewed again',
    async () => {
      const h = setup(oneImplementer(['codex', 'gemini']), {
        rules: [
          { match: { promptIncludes: 'FIXED greet' }, scenario: { delayMs: 1, verdict: APPROVE } },
          reviewerSays('codex', concern('which greeting?')),
          reviewerSays('gemini', concern('no test')),
          { match: { agent: 'claude', resume: true }, scenario: { delayMs: 1, finalText: 'FIXED greet as answered.' } },
        ],
        claude: IMPLEMENTER,
      });
      const first = await run(h);
      expect(first.exitCode, first.stderr).toBe(2);
      const ws = h.sandbox.workspace;
      const sid = sessionIds(ws)[0] as string;

      const { exited } = startCli(['resume', sid, '--workspace', ws, '--json'], h.env);
      await poll(() => lockServerUrl(ws, sid), 15_000, "the resumed session's server in the lock file");
      const answered = await runCli(
        ['resolve', sid, 'b1', 'answer', '--text', 'Say hello; a test is not needed.', '--workspace', ws],
        { env: h.env },
      );
      expect(answered.exitCode, answered.stderr).toBe(0);
      const end = await exited;
      expect(end.exitCode, end.stderr).toBe(0);
      expect(eventsOfType(readEvents(ws), 'decision').map((d) => [d.roundId, d.decision])).toEqual([
        ['round-1', 'PAUSE_AND_CLARIFY'],
        ['round-2', 'CONTINUE'],
      ]);
      const resumed = allLaunches(h).filter((l) => l.persona === 'claude')[1];
      expect(resumed?.resume).toBeTruthy();
      expect(promptOf(resumed as Launch)).toContain('A person answered:\nSay hello; a test is not needed.');
    },
  );

  it(
    'review.maxRounds 1 with the clarification loop: after the answer, a decision says "not reviewed" ' +
      'because of the cap, and the session completes',
    async () => {
      const h = setup(oneImplementer(['codex', 'gemini'], { maxRounds: 1 }), {
        rules: [
          reviewerSays('codex', concern('which greeting?')),
          reviewerSays('gemini', concern('no test')),
          { match: { agent: 'claude', resume: true }, scenario: { delayMs: 1, finalText: 'Changed as answered.' } },
        ],
        claude: IMPLEMENTER,
      });
      const { exited } = startCli(runArgs(h, []), h.env);
      const ws = h.sandbox.workspace;
      await poll(
        () => eventsOfType(eventsSoFar(ws), 'blocker').some((b) => b.kind === 'CLARIFICATION_NEEDED'),
        15_000,
        'the clarification blocker',
      );
      const sid = sessionIds(ws)[0] as string;
      const answered = await runCli(['resolve', sid, 'b1', 'answer', '--text', 'Use hello.', '--workspace', ws], {
        env: h.env,
      });
      expect(answered.exitCode, answered.stderr).toBe(0);

      const end = await exited;
      expect(end.exitCode, end.stderr).toBe(0);
      const events = readEvents(ws);
      const decisions = eventsOfType(events, 'decision');
      expect(decisions.map((d) => [d.roundId, d.decision, d.action])).toEqual([
        ['round-1', 'PAUSE_AND_CLARIFY', 'paused; waiting for a person to answer the concerns'],
        ['none', 'CONTINUE', 'not reviewed: the cap of 1 review rounds per session is reached; continuing'],
      ]);
      expect(decisions[1]?.target).toBe('impl');
      // No second round was launched: only round-1 reviewers exist.
      const v = await view(h);
      expect(
        v.workers
          .filter((w) => w.kind === 'reviewer')
          .map((w) => w.id)
          .sort(),
      ).toEqual(['r1-codex-impl', 'r1-gemini-impl']);
      expect(v.outcome).toBe('completed');
      expect(
        launches(h.sandbox)
          .map((l) => l.persona)
          .sort(),
      ).toEqual(['claude', 'claude', 'codex', 'gemini']);
    },
  );

  it('review.maxRounds 0: no reviewer is launched, the decision says why, the worker completes', async () => {
    const h = setup(oneImplementer(['codex'], { maxRounds: 0 }), {
      rules: [reviewerSays('codex', BLOCKER)],
      claude: IMPLEMENTER,
    });
    const result = await run(h);
    expect(result.exitCode, result.stderr).toBe(0);
    const decisions = eventsOfType(readEvents(h.sandbox.workspace), 'decision');
    expect(decisions).toEqual([
      expect.objectContaining({
        roundId: 'none',
        decision: 'CONTINUE',
        counts: { approve: 0, concern: 0, blocker: 0 },
        action: 'not reviewed: the cap of 0 review rounds per session is reached; continuing',
      }),
    ]);
    expect(launches(h.sandbox).map((l) => l.persona)).toEqual(['claude']);
  });
});

describe('who reviews whom', () => {
  const everyoneApproves = {
    rules: [{ match: { promptIncludes: REVIEWER }, scenario: { delayMs: 1, verdict: APPROVE } }],
    default: { delayMs: 1, writeFiles: [{ path: 'NOTES.md', content: 'notes\n' }] },
  };

  it(
    'without a spec: the default pairs (gemini reviews the claude implementer, ' +
      'codex reviews the gemini architect and the implementer), one round per reviewed worker',
    async () => {
      const h = setup(null, everyoneApproves);
      const result = await run(h);
      expect(result.exitCode, result.stderr).toBe(0);
      const events = readEvents(h.sandbox.workspace);
      const pairs = eventsOfType(events, 'review').map(
        (r) => `${r.roundId}: ${r.reviewer} -> ${r.target} (${r.focus})`,
      );
      expect(pairs.sort()).toEqual([
        'round-1: codex -> architect (architecture)',
        'round-2: codex -> implementer (implementation)',
        'round-2: gemini -> implementer (implementation)',
      ]);
      expect(eventsOfType(events, 'decision').map((d) => [d.roundId, d.target, d.decision])).toEqual([
        ['round-1', 'architect', 'CONTINUE'],
        ['round-2', 'implementer', 'CONTINUE'],
      ]);
      const v = await view(h);
      expect(
        v.workers
          .filter((w) => w.kind === 'reviewer')
          .map((w) => `${w.id}:${w.agent}`)
          .sort(),
      ).toEqual(['r1-codex-architect:codex', 'r2-codex-implementer:codex', 'r2-gemini-implementer:gemini']);
    },
  );

  it('--agents claude,codex keeps the pairs whose reviewer and target remain (codex on the implementer)', async () => {
    const h = setup(null, everyoneApproves);
    const result = await run(h, ['--no-server', '--agents', 'claude,codex']);
    expect(result.exitCode, result.stderr).toBe(0);
    const events = readEvents(h.sandbox.workspace);
    expect(eventsOfType(events, 'review').map((r) => `${r.reviewer} -> ${r.target}`)).toEqual(['codex -> implementer']);
    const v = await view(h);
    expect(v.workers.map((w) => w.id).sort()).toEqual(['implementer', 'r1-codex-implementer', 'verifier']);
  });
});
