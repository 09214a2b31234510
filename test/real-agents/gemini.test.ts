/**
 * Gemini CLI 0.61.0, run directly with our argv (buildGeminiCommand) against the fake Gemini API. Every
 * launch gets --skip-trust, as the supervisor adds it after the first launch's exit 55 (tested below).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeCommonScenarios } from './support/common-scenarios.js';
import { actionOf, DirectHarness, recoveryFor } from './support/direct.js';
import { describeRun } from './support/run-agent.js';

describeCommonScenarios({
  agent: 'gemini',
  fixes: { skipTrust: true },
  reviewerLaunch: { readOnly: true },
  errors: {
    // Exit code = HTTP status & 255. general.maxAttempts=1: no retries of its own.
    err401: {
      exitCode: 145,
      kind: 'auth',
      httpStatus: 401,
      retryAt: false,
      action: 'escalate:AUTH_REQUIRED',
      requests: 1,
    },
    // RetryInfo.retryDelay -> "Suggested retry after 2s." / "Please retry in 2s."
    err429: {
      exitCode: 173,
      kind: 'rate_limit',
      httpStatus: 429,
      retryAt: true,
      action: 'wait_and_resume',
      requests: 1,
    },
    'err429-noreset': {
      exitCode: 173,
      kind: 'rate_limit',
      httpStatus: 429,
      retryAt: false,
      action: 'backoff_and_relaunch',
      requests: 1,
    },
    err500: {
      exitCode: 244,
      kind: 'server_error',
      httpStatus: 500,
      retryAt: false,
      action: 'backoff_and_relaunch',
      requests: 1,
    },
  },
});

describe('gemini: untrusted folder', () => {
  let h: DirectHarness;
  beforeAll(async () => {
    h = await DirectHarness.start();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('the first launch in a fresh folder exits 55: untrusted_folder -> relaunch_with_flag (--skip-trust)', async () => {
    const r = await h.run('gemini', { kind: 'text' });
    const why = describeRun(r);
    expect(r.exitCode, why).toBe(55);
    expect(r.stdout, why).toBe('');
    expect(r.failure?.kind, why).toBe('untrusted_folder');
    const decision = recoveryFor('gemini', r.failure!);
    expect(actionOf(decision), why).toBe('relaunch_with_flag');
    expect(decision.type === 'relaunch' ? decision.fixes : null).toEqual({ skipTrust: true });
    expect(
      h.server.requests.filter((q) => q.kind === 'main'),
      'no model request before the trust check',
    ).toHaveLength(0);
  });

  it('with an explicit model (settings.json model.name) there is no routing call', async () => {
    const r = await h.run(
      'gemini',
      { kind: 'text' },
      { launch: { fixes: { skipTrust: true } }, settings: { geminiModel: 'gemini-2.5-flash' } },
    );
    const why = describeRun(r);
    expect(r.exitCode, why).toBe(0);
    expect(
      r.requests.map((q) => `${q.kind} ${q.path}`),
      why,
    ).toEqual(['main /v1beta/models/gemini-2.5-flash:streamGenerateContent']);
  });
});
