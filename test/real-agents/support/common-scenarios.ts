/**
 * The scenarios every CLI goes through directly (our argv, our parser, our classifier, our recovery table),
 * with what each CLI is expected to do given as data by its test file. docs/compatibility.md shows the
 * same table.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LaunchOptions } from '../../../src/agents/types.js';
import type { FailureKind } from '../../../src/domain/events.js';
import { extractVerdict } from '../../../src/domain/review-policy.js';
import { actionOf, DirectHarness, recoveryFor, type DirectRun } from './direct.js';
import type { RealAgent } from './install.js';
import { describeRun } from './run-agent.js';
import { DEFAULT_AFTER_WRITE, DEFAULT_TEXT, type Scenario, type Verdict } from './scenarios.js';

export type ErrorScenario = 'err401' | 'err429' | 'err429-noreset' | 'err500';

export interface ErrorExpectation {
  exitCode: number;
  kind: FailureKind;
  /** The HTTP status the signal names; undefined = the CLI's words name none. */
  httpStatus?: number;
  /** Whether the signal must carry a retry time (the CLI said when to come back). */
  retryAt: boolean;
  /** The supervisor's action for it: a relaunch action or `escalate:<BLOCKER>`. */
  action: string;
  /** Model requests one launch makes for this error with our retry settings (the CLI's own retries). */
  requests: number;
}

export interface CliExpectations {
  agent: RealAgent;
  /** Fixes every launch gets (gemini: --skip-trust, which the supervisor adds after exit 55). */
  fixes: LaunchOptions['fixes'];
  /** The launch a reviewer gets (readOnly, plus what the supervisor would have added). */
  reviewerLaunch: Partial<LaunchOptions>;
  errors: Record<ErrorScenario, ErrorExpectation>;
}

const VERDICT: Verdict = {
  verdict: 'concern',
  summary: 'The greeting works but has no test.',
  issues: [{ severity: 'concern', file: 'hello.txt', line: 1, message: 'Add a test for the greeting.' }],
};

/** 429 resets this far ahead: short, because claude waits out retry-after before its own retry. */
const RESET_AFTER_SEC = 2;

export function describeCommonScenarios(expect_: CliExpectations): void {
  const { agent } = expect_;
  let h: DirectHarness;
  beforeAll(async () => {
    h = await DirectHarness.start();
  });
  afterAll(async () => {
    await h?.close();
  });

  const run = (script: Scenario, launch: Partial<LaunchOptions> = {}) =>
    h.run(agent, script, { launch: { ...launch, fixes: { ...expect_.fixes, ...launch.fixes } } });

  /** Assertions every run shares: our parser accepted every line, nothing went to an unknown endpoint. */
  const checkParsing = (r: DirectRun) => {
    expect(r.timedOut, describeRun(r)).toBe(false);
    expect(r.invalidPayloads, 'payloads our schema rejects').toEqual([]);
    expect(
      r.payloads.filter((p) => p.kind === 'malformed'),
      'stdout lines our parser could not read',
    ).toEqual([]);
    expect(
      r.requests.filter((q) => q.kind === 'unknown').map((q) => `${q.method} ${q.path}`),
      'requests the fake server does not know',
    ).toEqual([]);
  };

  describe(`${agent}: success scenarios`, () => {
    it('text: a plain answer', async () => {
      const r = await run({ kind: 'text' });
      const why = describeRun(r);
      checkParsing(r);
      expect(r.exitCode, why).toBe(0);
      expect(r.failure, why).toBeNull();
      expect(r.facts.agentSessionId, why).toBeTruthy();
      expect(r.facts.finalText?.trim(), why).toBe(DEFAULT_TEXT);
      expect(r.facts.resultOk, why).toBe(true);
      expect(
        r.payloads.some((p) => p.kind === 'usage'),
        why,
      ).toBe(true);
      expect(r.requests.filter((q) => q.kind === 'main')).toHaveLength(1);
    });

    it('write-file: a tool call really writes a file in the target directory', async () => {
      const content = `written by ${agent}\nsecond line\n`;
      const r = await run({ kind: 'write-file', path: 'hello.txt', content });
      const why = describeRun(r);
      checkParsing(r);
      const file = join(r.target, 'hello.txt');
      expect(r.exitCode, why).toBe(0);
      expect(r.failure, why).toBeNull();
      expect(existsSync(file), `${file} was not written\n${why}`).toBe(true);
      expect(readFileSync(file, 'utf8').trimEnd(), why).toBe(content.trimEnd());
      // The worker learns which file changed from our parser (claude/gemini: the tool call; codex: its item).
      expect(r.facts.filesChanged, why).toContain(file);
      expect(
        r.payloads.some((p) => p.kind === 'file_change' && p.changes.some((c) => c.path === file)),
        why,
      ).toBe(true);
      expect(
        r.payloads.some((p) => p.kind === 'tool_result' && !p.ok),
        why,
      ).toBe(false);
      expect(r.facts.finalText?.trim(), why).toBe(DEFAULT_AFTER_WRITE);
      const turns = r.requests.filter((q) => q.kind === 'main');
      expect(
        turns.map((q) => q.afterTool),
        'the second model turn carries the tool result',
      ).toEqual([false, true]);
    });

    it('verdict: a reviewer launch (read-only) answers with a verdict our review policy extracts', async () => {
      const r = await run({ kind: 'verdict', verdict: VERDICT }, expect_.reviewerLaunch);
      const why = describeRun(r);
      checkParsing(r);
      expect(r.exitCode, why).toBe(0);
      expect(r.failure, why).toBeNull();
      expect(extractVerdict(r.facts.finalText ?? ''), why).toEqual(VERDICT);
    });
  });

  describe(`${agent}: error scenarios (classified, then the recovery table)`, () => {
    const cases: Array<[ErrorScenario, Scenario]> = [
      ['err401', { kind: 'err401' }],
      ['err429', { kind: 'err429', resetAfterSec: RESET_AFTER_SEC }],
      ['err429-noreset', { kind: 'err429-noreset' }],
      ['err500', { kind: 'err500' }],
    ];
    for (const [name, scenario] of cases) {
      const want = expect_.errors[name];
      it(
        `${name}: exit ${want.exitCode}, ${want.kind}` +
          `${want.retryAt ? ' with a retry time' : ''} -> ${want.action}`,
        async () => {
          if (name === 'err429') await awayFromMinuteEnd(RESET_AFTER_SEC + 2);
          const started = Date.now();
          const r = await run(scenario);
          const why = describeRun(r);
          checkParsing(r);
          expect(r.exitCode, why).toBe(want.exitCode);
          expect(r.failure?.kind, why).toBe(want.kind);
          if (want.httpStatus !== undefined) expect(r.failure?.httpStatus, why).toBe(want.httpStatus);
          if (want.retryAt) {
            expect(r.failure?.retryAt, why).toBeDefined();
            const at = Date.parse(r.failure?.retryAt ?? '');
            // The CLI's own words: codex prints minutes only ("try again at 6:08 AM"), so allow a minute before.
            expect(
              at,
              `retryAt ${r.failure?.retryAt} should be about ${RESET_AFTER_SEC}s after the start\n${why}`,
            ).toBeGreaterThanOrEqual(started - 60_000);
            expect(
              at,
              `retryAt ${r.failure?.retryAt} should be about ${RESET_AFTER_SEC}s after the start\n${why}`,
            ).toBeLessThanOrEqual(Date.now() + 120_000);
          } else {
            expect(r.failure?.retryAt, why).toBeUndefined();
          }
          expect(actionOf(recoveryFor(agent, r.failure!, r.facts.agentSessionId ?? null)), why).toBe(want.action);
          expect(r.requests.filter((q) => q.kind === 'main').length, `model requests of one launch\n${why}`).toBe(
            want.requests,
          );
        },
      );
    }
  });

  describe(`${agent}: native resume`, () => {
    it('resumeCommand continues the same agent session; unknown id: resume_not_found -> relaunch_fresh', async () => {
      const first = await run({ kind: 'text' });
      expect(first.exitCode, describeRun(first)).toBe(0);
      const id = first.facts.agentSessionId;
      expect(id).toBeTruthy();
      const again = await h.run(
        agent,
        { kind: 'text', text: 'Resumed.' },
        { dir: first.dir, launch: { prompt: 'Continue.', fixes: expect_.fixes, resume: { agentSessionId: id! } } },
      );
      const why = describeRun(again);
      checkParsing(again);
      expect(again.exitCode, why).toBe(0);
      expect(again.facts.agentSessionId, why).toBe(id);
      expect(again.facts.finalText?.trim(), why).toBe('Resumed.');
      // The resumed turn carries the earlier conversation (the first prompt is in the request).
      expect(again.requests.find((q) => q.kind === 'main')?.body, 'the resumed request holds the first turn').toContain(
        'Say hello.',
      );

      const unknown = await h.run(
        agent,
        { kind: 'text' },
        {
          dir: first.dir,
          launch: {
            prompt: 'Continue.',
            fixes: expect_.fixes,
            resume: { agentSessionId: '00000000-0000-4000-8000-000000000000' },
          },
        },
      );
      const whyUnknown = describeRun(unknown);
      expect(unknown.exitCode, whyUnknown).not.toBe(0);
      expect(unknown.failure?.kind, whyUnknown).toBe('resume_not_found');
      expect(actionOf(recoveryFor(agent, unknown.failure!, '00000000-0000-4000-8000-000000000000')), whyUnknown).toBe(
        'relaunch_fresh',
      );
    });
  });
}

/**
 * Codex says "try again at 6:08 AM": minutes only. Start a reset scenario early enough in a minute that
 * the reset falls in the same minute, the case that must not read as "tomorrow" (deterministic either way).
 */
async function awayFromMinuteEnd(needSec: number): Promise<void> {
  const intoMinute = (Date.now() % 60_000) / 1000;
  if (intoMinute > 60 - needSec) await new Promise((resolve) => setTimeout(resolve, (60 - intoMinute + 0.5) * 1000));
}
