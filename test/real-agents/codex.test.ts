/**
 * Codex CLI 0.169.0, run directly with our argv (buildCodexCommand) against the fake Responses API. The fake
 * provider comes from $HOME/.codex/config.toml, so our argv is exactly what the orchestrator passes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeCommonScenarios } from './support/common-scenarios.js';
import { actionOf, DirectHarness, recoveryFor } from './support/direct.js';
import { describeRun } from './support/run-agent.js';
import { DEFAULT_TEXT } from './support/scenarios.js';
import { parseRetryAt } from '../../src/agents/retry-time.js';

describeCommonScenarios({
  agent: 'codex',
  fixes: {},
  // Reviewers run with --sandbox read-only, which (unlike the bypass flag) keeps the git check: the
  // supervisor adds --skip-git-repo-check after `not_git_repo` (see below), so the reviewer launch has it.
  reviewerLaunch: { readOnly: true, fixes: { skipGitRepoCheck: true } },
  errors: {
    // codex retries a 401 once (request_max_retries=1) and prints "Reconnecting... 1/1" before failing.
    err401: {
      exitCode: 1,
      kind: 'auth',
      httpStatus: 401,
      retryAt: false,
      action: 'escalate:AUTH_REQUIRED',
      requests: 2,
    },
    // `usage_limit_reached` with resets_at: "You’ve hit your usage limit. ... try again at 6:08 AM." (not retried).
    err429: { exitCode: 1, kind: 'rate_limit', retryAt: true, action: 'wait_and_resume', requests: 1 },
    'err429-noreset': {
      exitCode: 1,
      kind: 'rate_limit',
      httpStatus: 429,
      retryAt: false,
      action: 'backoff_and_relaunch',
      requests: 1,
    },
    // A 500 says "We’re currently experiencing high demand" (no status); request and stream retries: 4 requests.
    err500: { exitCode: 1, kind: 'server_error', retryAt: false, action: 'backoff_and_relaunch', requests: 4 },
  },
});

describe('codex: outside a git repository', () => {
  let h: DirectHarness;
  beforeAll(async () => {
    h = await DirectHarness.start();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('a read-only launch fails: not_git_repo -> relaunch_with_flag (--skip-git-repo-check), then works', async () => {
    const r = await h.run('codex', { kind: 'text' }, { launch: { readOnly: true } });
    const why = describeRun(r);
    expect(r.exitCode, why).toBe(1);
    expect(r.stderr, why).toContain('Not inside a trusted directory and --skip-git-repo-check was not specified.');
    expect(r.failure?.kind, why).toBe('not_git_repo');
    const decision = recoveryFor('codex', r.failure!);
    expect(actionOf(decision), why).toBe('relaunch_with_flag');
    const fixed = await h.run(
      'codex',
      { kind: 'text' },
      { dir: r.dir, launch: { readOnly: true, fixes: decision.type === 'relaunch' ? decision.fixes : {} } },
    );
    expect(fixed.exitCode, describeRun(fixed)).toBe(0);
    expect(fixed.facts.finalText, describeRun(fixed)).toBe(DEFAULT_TEXT);
  });

  it('the worker launch (bypass flag) needs no git repository', async () => {
    const r = await h.run('codex', { kind: 'text' });
    expect(r.exitCode, describeRun(r)).toBe(0);
  });

  it('-C given before `resume` is honoured: the resumed turn works in the target directory', async () => {
    const first = await h.run('codex', { kind: 'text' });
    const id = first.facts.agentSessionId!;
    const again = await h.run(
      'codex',
      { kind: 'text' },
      { dir: first.dir, launch: { prompt: 'Continue.', resume: { agentSessionId: id } } },
    );
    const why = describeRun(again);
    expect(again.argv.indexOf('-C'), why).toBeLessThan(again.argv.indexOf('resume'));
    expect(again.exitCode, why).toBe(0);
    expect(again.requests.find((q) => q.kind === 'main')?.body, why).toContain(`<cwd>${first.target}</cwd>`);
  });
});

describe('codex: the usage-limit message', () => {
  let h: DirectHarness;
  beforeAll(async () => {
    h = await DirectHarness.start();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('"try again at H:MM AM" names a time within minutes, never tomorrow (codex prints minutes only)', async () => {
    // A reset 2s ahead lands in the current minute (unless the minute is about to end: then wait for the next).
    const intoMinute = (Date.now() % 60_000) / 1000;
    if (intoMinute > 55) await new Promise((resolve) => setTimeout(resolve, (60.5 - intoMinute) * 1000));
    const r = await h.run('codex', { kind: 'err429', resetAfterSec: 2 });
    const failed = r.payloads.find((p) => p.kind === 'result' && !p.ok);
    const message = failed?.kind === 'result' ? (failed.text ?? '') : '';
    expect(message, describeRun(r)).toMatch(/try again at \d{1,2}:\d{2} [AP]M\./);
    const now = new Date();
    const at = parseRetryAt(message, now);
    expect(at, message).toBeDefined();
    expect(Date.parse(at!) - now.getTime(), `${message} -> ${at}`).toBeLessThanOrEqual(120_000);
  });
});
