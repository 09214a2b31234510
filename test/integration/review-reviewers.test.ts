/**
 * Peer review end to end, the reviewers themselves: the stricter retry by native resume, a reviewer that never
 * gives a verdict, a crashed reviewer recovered by the supervisor, the per-reviewer timeout, the triggers
 * (everyPlanItems, manual through the server), and what a reviewer process is given (the git diff in its
 * prompt, read-only flags). Real `orchestrate run` (dist/cli.js) with fake agents on a git target.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import type { OrchestratorEvent } from '../../src/domain/events.js';
import { renderStrictVerdictRequest, VERDICT_FORMAT } from '../../src/domain/prompts.js';
import {
  cleanupAfterTest,
  eventsOfType,
  poll,
  processesMentioning,
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
  GREET,
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

const STRICT = 'did not contain a valid verdict';
const concern = (what: string): Verdict => ({
  verdict: 'concern',
  summary: `Unsure: ${what}`,
  issues: [{ severity: 'concern', message: what }],
});
const NO_VERDICT = {
  verdict: 'concern',
  summary: 'reviewer gave no valid verdict',
  issues: [{ severity: 'concern', message: 'reviewer gave no valid verdict' }],
};

/**
 * One claude implementer reviewed by `reviewers`. `sandbox: "none"`: the fake agent keeps its memory (launch
 * log, counters, issued session ids) in a state dir under /tmp, which a bubblewrap sandbox hides behind a
 * private /tmp; reviews work the same with or without the sandbox.
 */
const oneImplementer = (reviewers: string[], review: object = {}, limits: object = {}) => ({
  task: TASK,
  workers: [{ id: 'impl', agent: 'claude', role: 'implementer' }],
  reviews: reviewers.map((reviewer) => ({ reviewer, target: 'impl', focus: 'implementation' })),
  review,
  limits,
  sandbox: 'none',
});

// A few seconds each on an idle machine; room for a loaded one (2 cores shared with other test runs).
vi.setConfig({ testTimeout: 60_000 });

function within<T>(promise: Promise<T>, ms: number, what: string | (() => string)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const fail = () => new Error(`${typeof what === 'string' ? what : what()} did not happen within ${ms} ms`);
  return Promise.race([promise, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(fail()), ms)))]).finally(
    () => clearTimeout(timer),
  );
}

/** argv holds `flag value` as two adjacent items. */
const hasPair = (argv: string[], flag: string, value: string) =>
  argv.some((a, i) => a === flag && argv[i + 1] === value);
const READ_ONLY: Record<string, [string, string]> = {
  codex: ['--sandbox', 'read-only'],
  claude: ['--permission-mode', 'plan'],
  gemini: ['--approval-mode', 'plan'],
};
const WRITE_FLAGS: Record<string, string> = {
  codex: '--dangerously-bypass-approvals-and-sandbox',
  claude: '--dangerously-skip-permissions',
  gemini: '--yolo',
};
const expectReadOnly = (l: Launch) => {
  const [flag, value] = READ_ONLY[l.persona] as [string, string];
  expect(hasPair(l.argv, flag, value), `${l.persona} ${l.argv.join(' ')}`).toBe(true);
  expect(l.argv).not.toContain(WRITE_FLAGS[l.persona]);
};
const agentSessionOf = (events: OrchestratorEvent[], workerId: string) =>
  (
    eventsOfType(events, 'agent').find((e) => e.workerId === workerId && e.kind === 'init') as
      | { agentSessionId?: string }
      | undefined
  )?.agentSessionId;

afterEach(cleanupAfterTest);

// --- the tests ---------------------------------------------------------------------------------------------

describe('an answer without a verdict', () => {
  it('gets one stricter retry by native resume (each CLI, still read-only); a valid second answer counts', async () => {
    const retryAnswer = (agent: string) => ({
      match: { agent, resume: true, promptIncludes: STRICT },
      scenario: { delayMs: 1, verdict: APPROVE, verdictStyle: 'bare' },
    });
    const h = setup(oneImplementer(['codex', 'claude', 'gemini']), {
      rules: [
        retryAnswer('codex'),
        retryAnswer('claude'),
        retryAnswer('gemini'),
        // First answers: prose only, a fenced block with invalid JSON, prose only.
        reviewerSays('codex', APPROVE, { verdictStyle: 'none' }),
        reviewerSays('claude', APPROVE, { verdictStyle: 'broken' }),
        reviewerSays('gemini', APPROVE, { verdictStyle: 'none' }),
      ],
      claude: IMPLEMENTER,
    });
    const result = await run(h);
    expect(result.exitCode, result.stderr).toBe(0);
    const events = readEvents(h.sandbox.workspace);

    for (const agent of ['codex', 'claude', 'gemini']) {
      const workerId = `r1-${agent}-impl`;
      const mine = allLaunches(h).filter((l) => l.persona === agent && (isReviewerLaunch(l) || l.resume));
      expect(mine, agent).toHaveLength(2);
      const [first, retry] = mine as [Launch, Launch];
      expect(first.resume).toBeNull();
      // The retry resumes the reviewer's own agent session, with exactly the stricter request, still read-only.
      expect(retry.resume).toBe(agentSessionOf(events, workerId));
      expect(promptOf(retry)).toBe(renderStrictVerdictRequest());
      expectReadOnly(first);
      expectReadOnly(retry);
    }
    // One review event per reviewer (the first answers are not recorded as verdicts), all valid.
    const reviews = eventsOfType(events, 'review');
    expect(reviews.map((r) => [r.reviewer, r.verdict.verdict, r.valid]).sort()).toEqual([
      ['claude', 'approve', true],
      ['codex', 'approve', true],
      ['gemini', 'approve', true],
    ]);
    expect(eventsOfType(events, 'decision').map((d) => d.decision)).toEqual(['CONTINUE']);
    const v = await view(h);
    for (const agent of ['codex', 'claude', 'gemini'])
      expect(v.workers.find((w) => w.id === `r1-${agent}-impl`)).toMatchObject({ status: 'completed', attempt: 2 });
  });

  it(
    'a reviewer that never gives valid JSON counts as a concern "reviewer gave no valid verdict" ' +
      '(valid: false); its broken "blocker" does not escalate',
    async () => {
      const h = setup(oneImplementer(['codex', 'gemini']), {
        rules: [
          // Every codex launch (the review and the resumed retry) answers a fenced block of invalid JSON.
          {
            match: { agent: 'codex' },
            scenario: {
              delayMs: 1,
              verdictStyle: 'broken',
              verdict: { verdict: 'blocker', summary: 'never parsed', issues: [] },
            },
          },
          reviewerSays('gemini', APPROVE),
        ],
        claude: IMPLEMENTER,
      });
      const result = await run(h);
      expect(result.exitCode, result.stderr).toBe(0);
      const events = readEvents(h.sandbox.workspace);
      const codex = allLaunches(h).filter((l) => l.persona === 'codex');
      expect(codex.map((l) => l.resume === null)).toEqual([true, false]);
      expect(promptOf(codex[1] as Launch)).toBe(renderStrictVerdictRequest());
      const review = eventsOfType(events, 'review').find((r) => r.reviewer === 'codex');
      expect(review).toMatchObject({ valid: false, verdict: NO_VERDICT });
      expect(eventsOfType(events, 'decision')).toEqual([
        expect.objectContaining({
          decision: 'LOG_WARNING',
          counts: { approve: 1, concern: 1, blocker: 0 },
          action: 'one concern logged; continuing (codex: reviewer gave no valid verdict)',
        }),
      ]);
      // No third launch: one retry only.
      expect(codex).toHaveLength(2);
    },
  );
});

describe('reviewer failures and timeouts', () => {
  it(
    'a reviewer that crashes is recovered by the supervisor like any worker ' +
      '(recovery event for its worker id), and its verdict still counts',
    async () => {
      const h = setup(oneImplementer(['codex', 'gemini'], {}, { backoffBaseMs: 10, backoffMaxMs: 50 }), {
        rules: [
          // codex crashes on its first launch only (counter key), then answers a concern; every codex launch is a
          // reviewer.
          {
            match: { agent: 'codex' },
            scenario: {
              delayMs: 1,
              fail: 'crash',
              failTimes: 1,
              key: 'codex-reviewer',
              verdict: concern('greet() is untested'),
            },
          },
          reviewerSays('gemini', APPROVE),
        ],
        claude: IMPLEMENTER,
      });
      const result = await run(h);
      expect(result.exitCode, result.stderr).toBe(0);
      const events = readEvents(h.sandbox.workspace);

      const recoveries = eventsOfType(events, 'recovery');
      expect(recoveries).toHaveLength(1);
      expect(recoveries[0]).toMatchObject({
        workerId: 'r1-codex-impl',
        action: 'backoff_and_relaunch',
        signal: { kind: 'crashed' },
      });

      const codex = allLaunches(h).filter((l) => l.persona === 'codex');
      expect(codex).toHaveLength(2);
      // The relaunch resumes the reviewer's own session (it started before crashing), still read-only.
      expect(codex[1]?.resume).toBe(agentSessionOf(events, 'r1-codex-impl'));
      expect(promptOf(codex[1] as Launch)).toContain('Your previous run was interrupted by an error.');
      codex.forEach(expectReadOnly);

      const review = eventsOfType(events, 'review').find((r) => r.reviewer === 'codex');
      expect(review).toMatchObject({ valid: true, verdict: concern('greet() is untested') });
      expect(eventsOfType(events, 'decision').map((d) => [d.decision, d.counts])).toEqual([
        ['LOG_WARNING', { approve: 1, concern: 1, blocker: 0 }],
      ]);
      expect(result.stderr).toContain('r1-codex-impl: crashed → backoff_and_relaunch');
      const v = await view(h);
      expect(v.workers.find((w) => w.id === 'r1-codex-impl')).toMatchObject({ status: 'completed', attempt: 2 });
    },
  );

  it(
    'per-reviewer timeout: a reviewer holding past review.timeoutSec counts as a concern ' +
      'with the timeout reason and its process is stopped',
    async () => {
      const h = setup(oneImplementer(['codex'], { timeoutSec: 2 }, { killGraceMs: 300 }), {
        rules: [reviewerSays('codex', APPROVE, { holdMs: 60_000 })],
        claude: IMPLEMENTER,
      });
      const started = Date.now();
      const result = await run(h);
      expect(result.exitCode, result.stderr).toBe(0);
      // Ended on the reviewer timeout, far before the reviewer's 60 s hold.
      expect(Date.now() - started).toBeLessThan(30_000);
      const events = readEvents(h.sandbox.workspace);

      const reason = 'reviewer gave no valid verdict: no answer within 2s';
      const reviews = eventsOfType(events, 'review');
      expect(reviews).toHaveLength(1);
      expect(reviews[0]).toMatchObject({
        reviewer: 'codex',
        valid: false,
        verdict: { verdict: 'concern', summary: reason, issues: [{ severity: 'concern', message: reason }] },
      });
      expect(eventsOfType(events, 'decision')).toEqual([
        expect.objectContaining({
          decision: 'LOG_WARNING',
          counts: { approve: 0, concern: 1, blocker: 0 },
          action: `one concern logged; continuing (codex: ${reason})`,
        }),
      ]);

      const v = await view(h);
      expect(v.workers.find((w) => w.id === 'r1-codex-impl')?.status).toBe('stopped');
      expect(v.workers.find((w) => w.id === 'impl')?.status).toBe('completed');
      const codexPid = allLaunches(h).find((l) => l.persona === 'codex')?.pid as number;
      expect(codexPid).toBeGreaterThan(0);
      expect(processesMentioning(h.sandbox.dir)).not.toContain(codexPid);
      await noAgentLeft(h);
    },
  );

  it('paused time does not count for the reviewer timeout: paused past it, its verdict still counts', async () => {
    // timeoutSec 8; the session is paused 9 s while the reviewer runs. Counted, the pause alone would trip the
    // timeout; not counted, the reviewer's active time (its start and the pause landing, then its answer once
    // resumed) stays well under 8 s on a loaded machine. The reviewer cannot answer before the test releases it
    // (holdUntil), which the test does while it is paused: however slowly `orchestrate pause` lands, it lands
    // on a reviewer at work, never on a session that has ended.
    const releaseDir = mkdtempSync(join(tmpdir(), 'orch-review-release-'));
    onTestFinished(() => rmSync(releaseDir, { recursive: true, force: true }));
    const release = join(releaseDir, 'release');
    const h = setup(oneImplementer(['codex'], { timeoutSec: 8 }), {
      rules: [reviewerSays('codex', APPROVE, { holdUntil: release })],
      claude: IMPLEMENTER,
    });
    const started = startCli(runArgs(h, []), h.env);
    const ws = h.sandbox.workspace;
    const runSoFar = () => `\norchestrate run so far:\n${started.transcript()}`;
    const reviewerIs = (state: string) =>
      eventsOfType(eventsSoFar(ws), 'state').some(
        (e) => e.machine === 'worker' && e.id === 'r1-codex-impl' && e.to === state,
      );
    await poll(
      () => reviewerIs('running.active'),
      20_000,
      () => `the reviewer to run${runSoFar()}`,
    );
    const sid = sessionIds(ws)[0] as string;
    const paused = await runCli(['pause', sid, '--workspace', ws], { env: h.env });
    expect(paused.exitCode, `${paused.stderr}${runSoFar()}`).toBe(0);
    await poll(
      () => reviewerIs('running.paused'),
      20_000,
      () => `the reviewer paused${runSoFar()}`,
    );
    // Stopped (SIGSTOP), it sees the release only once resumed.
    writeFileSync(release, '');
    await new Promise((r) => setTimeout(r, 9_000));
    // Nothing was decided while the session was paused.
    expect(eventsOfType(eventsSoFar(ws), 'review')).toEqual([]);
    const resumed = await runCli(['resume', sid, '--workspace', ws], { env: h.env });
    expect(resumed.exitCode, `${resumed.stderr}${runSoFar()}`).toBe(0);

    const end = await within(started.exited, 30_000, () => `the end of the run${runSoFar()}`);
    expect(end.exitCode, end.stderr).toBe(0);
    const events = readEvents(ws);
    expect(eventsOfType(events, 'review')).toEqual([
      expect.objectContaining({
        reviewer: 'codex',
        valid: true,
        verdict: expect.objectContaining({ verdict: 'approve' }),
      }),
    ]);
    expect(eventsOfType(events, 'decision').map((d) => d.decision)).toEqual(['CONTINUE']);
  }, 90_000);
});

describe('triggers', () => {
  it('everyPlanItems: 2: a round while the target still works (its plan up by 2), none at completion', async () => {
    const h = setup(oneImplementer(['codex', 'gemini'], { trigger: { everyPlanItems: 2 } }), {
      rules: [reviewerSays('codex', APPROVE), reviewerSays('gemini', APPROVE)],
      claude: { ...IMPLEMENTER, plan: ['design', 'code', 'test', 'docs'], holdMs: 2_000 },
    });
    const result = await run(h);
    expect(result.exitCode, result.stderr).toBe(0);
    const events = readEvents(h.sandbox.workspace);
    const workerStates = eventsOfType(events, 'state').filter((e) => e.machine === 'worker' && e.id === 'impl');

    const implDone = workerStates.find((e) => e.to === 'completed');
    expect(implDone).toBeDefined();
    // The target never waited in `reviewing`: with this trigger it is reviewed during its work, not after it.
    expect(workerStates.some((e) => e.to === 'reviewing')).toBe(false);

    // At least 2 more plan items done since the last round -> a round: 2/4 and (unless the agent's output
    // arrived in one batch with 3/4) 4/4. Every round is decided before the target completes (it holds 2 s).
    const decisions = eventsOfType(events, 'decision');
    expect(decisions.length).toBeGreaterThanOrEqual(1);
    expect(decisions.length).toBeLessThanOrEqual(2);
    expect(decisions.map((d) => d.roundId)).toEqual(['round-1', 'round-2'].slice(0, decisions.length));
    expect(decisions.every((d) => d.decision === 'CONTINUE')).toBe(true);
    const round1 = eventsOfType(events, 'review').filter((r) => r.roundId === 'round-1');
    expect(round1).toHaveLength(2);
    for (const r of round1) expect(r.seq).toBeLessThan(implDone?.seq as number);
    // When round-1 was decided, the target's plan had at least 2 items done (the trigger's promise).
    const planAtRound1 = eventsOfType(events, 'agent')
      .filter((e) => e.workerId === 'impl' && e.kind === 'plan' && e.seq < (decisions[0]?.seq as number))
      .at(-1) as { items: Array<{ done: boolean }> } | undefined;
    expect(planAtRound1?.items.filter((i) => i.done).length).toBeGreaterThanOrEqual(2);
  });

  it('everyPlanItems: an answered clarification reaches the running target (not silently dropped)', async () => {
    const ANSWER = 'Keep it simple (answer-plan-91)';
    const h = setup(oneImplementer(['codex', 'gemini'], { trigger: { everyPlanItems: 2 } }), {
      rules: [reviewerSays('codex', concern('which greeting?')), reviewerSays('gemini', concern('no test'))],
      claude: { ...IMPLEMENTER, plan: ['code', 'test'], holdMs: 800 },
    });
    const { exited } = startCli(runArgs(h, []), h.env);
    const ws = h.sandbox.workspace;
    await poll(
      () => eventsOfType(eventsSoFar(ws), 'blocker').some((b) => b.kind === 'CLARIFICATION_NEEDED'),
      15_000,
      'the clarification blocker',
    );
    const answered = await runCli(
      ['resolve', sessionIds(ws)[0] as string, 'b1', 'answer', '--text', ANSWER, '--workspace', ws],
      { env: h.env },
    );
    expect(answered.exitCode, answered.stderr).toBe(0);
    await within(exited, 20_000, 'the end of the run');
    const gotAnswer = allLaunches(h).filter((l) => l.persona === 'claude' && promptOf(l).includes(ANSWER));
    expect(gotAnswer).toHaveLength(1);
  });

  it('trigger "manual": no round when the worker completes', async () => {
    const h = setup(oneImplementer(['codex', 'gemini'], { trigger: 'manual' }), {
      rules: [reviewerSays('codex', APPROVE), reviewerSays('gemini', APPROVE)],
      claude: IMPLEMENTER,
    });
    const result = await run(h);
    expect(result.exitCode, result.stderr).toBe(0);
    const events = readEvents(h.sandbox.workspace);
    expect(eventsOfType(events, 'review')).toEqual([]);
    expect(eventsOfType(events, 'decision')).toEqual([]);
    expect(allLaunches(h).map((l) => l.persona)).toEqual(['claude']);
  });

  it('trigger "manual": rounds start by `orchestrate review SID` via the server; unknown targets refused', async () => {
    // The implementer works until the test has asked for the review (holdUntil): however slowly the request lands on
    // a loaded machine, it lands on a session still running.
    const releaseDir = mkdtempSync(join(tmpdir(), 'orch-review-release-'));
    onTestFinished(() => rmSync(releaseDir, { recursive: true, force: true }));
    const release = join(releaseDir, 'release');
    const h = setup(oneImplementer(['codex', 'gemini'], { trigger: 'manual' }), {
      rules: [reviewerSays('codex', APPROVE), reviewerSays('gemini', concern('greet() is untested'))],
      claude: { ...IMPLEMENTER, holdUntil: release },
    });
    const { exited } = startCli(runArgs(h, []), h.env);
    const ws = h.sandbox.workspace;
    await poll(
      () =>
        eventsOfType(eventsSoFar(ws), 'state').some(
          (e) => e.machine === 'worker' && e.id === 'impl' && e.to === 'running.active',
        ),
      15_000,
      'the implementer to run',
    );
    const sid = sessionIds(ws)[0] as string;
    const lock = await poll(() => lockServerUrl(ws, sid), 15_000, 'the server URL in the lock file');
    expect(eventsOfType(eventsSoFar(ws), 'review')).toEqual([]);

    // The HTTP API the CLI uses: an unknown target is refused.
    const token = readFileSync(join(ws, 'token'), 'utf8').trim();
    const refused = await fetch(`${lock}/api/v1/${sid}/review`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ target: 'nobody' }),
    });
    expect(refused.status).toBe(404);

    const requestedAt = Date.now();
    const asked = await runCli(['review', sid, '--workspace', ws], { env: h.env });
    expect(asked.exitCode, asked.stderr).toBe(0);
    expect(asked.stdout).toContain(`review: sent to ${lock}`);
    // The implementer still works: only finished work is reviewed, so its round waits (and says so).
    expect(asked.stdout).toContain(
      'impl has not finished its work yet: the round starts when it does (only finished work is reviewed)',
    );
    writeFileSync(release, '');

    const end = await within(exited, 60_000, 'the end of the run');
    expect(end.exitCode, end.stderr).toBe(0);
    const events = readEvents(ws);
    const decisions = eventsOfType(events, 'decision');
    expect(decisions.map((d) => [d.roundId, d.target, d.decision])).toEqual([['round-1', 'impl', 'LOG_WARNING']]);
    const reviewerLaunches = allLaunches(h).filter(isReviewerLaunch);
    expect(reviewerLaunches.map((l) => l.persona).sort()).toEqual(['codex', 'gemini']);
    for (const l of reviewerLaunches) expect(Date.parse(l.ts)).toBeGreaterThanOrEqual(requestedAt - 50);
    // The round started once the implementer's work was finished, not while it ran.
    const implDone = eventsOfType(events, 'state').find(
      (e) => e.machine === 'worker' && e.id === 'impl' && e.to === 'completed',
    );
    const roundStart = eventsOfType(events, 'state').find((e) => e.machine === 'review' && e.id === 'round-1');
    expect(implDone && roundStart && implDone.seq < roundStart.seq, 'the round starts after impl completed').toBe(true);
  });
});

describe('what a reviewer process gets', () => {
  it(
    'its prompt holds the task, the target, its summary, the focus, the real git diff (cut past diffLimitBytes) ' +
      'and the format; it runs read-only',
    async () => {
      const big = Array.from({ length: 200 }, (_, i) => `line ${i} of a large generated file`).join('\n');
      const h = setup(oneImplementer(['codex', 'claude', 'gemini'], { diffLimitBytes: 600 }), {
        rules: [reviewerSays('codex', APPROVE), reviewerSays('claude', APPROVE), reviewerSays('gemini', APPROVE)],
        claude: {
          ...IMPLEMENTER,
          writeFiles: [
            { path: 'src/greet.js', content: GREET },
            { path: 'zz-generated.txt', content: big },
          ],
        },
      });
      const base = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: h.sandbox.target, encoding: 'utf8' }).trim();
      const result = await run(h);
      expect(result.exitCode, result.stderr).toBe(0);

      const all = allLaunches(h);
      const implementer = all.find((l) => l.persona === 'claude' && !isReviewerLaunch(l)) as Launch;
      expect(implementer.argv).toContain('--dangerously-skip-permissions');
      const reviewers = all.filter(isReviewerLaunch);
      expect(reviewers.map((l) => l.persona).sort()).toEqual(['claude', 'codex', 'gemini']);
      for (const l of reviewers) {
        expectReadOnly(l);
        const prompt = promptOf(l);
        expect(prompt.startsWith(REVIEWER)).toBe(true);
        expect(prompt).toContain(`TASK the team works on:\n${TASK}`);
        expect(prompt).toContain('You review the work of the implementer (impl, claude). Focus: implementation.');
        expect(prompt).toContain('Its final summary:\nAdded src/greet.js exporting greet().');
        expect(prompt).toContain(
          `git diff against where impl started, commit ${base.slice(0, 12)} (its branch is orch/`,
        );
        // Its own checkout of impl's branch, not the user's checkout.
        expect(l.cwd).toMatch(/\/checkouts\/orch_\d{8}_\d{6}_[a-z0-9]{4}\/r1-/);
        expect(prompt).toContain('+++ b/src/greet.js');
        expect(prompt).toContain(`+${GREET.trimEnd()}`);
        expect(prompt).toContain('+++ b/zz-generated.txt');
        expect(prompt).toMatch(/bytes, cut to the first 600: read the files for the rest\)/);
        expect(prompt).toContain('[diff truncated]');
        expect(prompt).not.toContain('line 199 of a large generated file');
        expect(prompt).toContain(VERDICT_FORMAT);
      }
    },
  );
});
