/**
 * Claude Code 2.1.329, run directly with our argv (buildClaudeCommand) against the fake Anthropic API, as the
 * unprivileged test user when the suite runs as root (claude refuses to bypass permissions as root).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeCommonScenarios } from './support/common-scenarios.js';
import { actionOf, DirectHarness, recoveryFor } from './support/direct.js';
import { describeRun } from './support/run-agent.js';
import { isRoot } from './support/test-user.js';
import { decideRecovery } from '../../src/domain/recovery-policy.js';

describeCommonScenarios({
  agent: 'claude',
  fixes: {},
  reviewerLaunch: { readOnly: true },
  errors: {
    err401: {
      exitCode: 1,
      kind: 'auth',
      httpStatus: 401,
      retryAt: false,
      action: 'escalate:AUTH_REQUIRED',
      requests: 2,
    },
    // With an API key claude prints no reset time: it waits out retry-after for its own retry, then says
    // "Request rejected (429)" and nothing about when (no rate_limit_event), so the supervisor backs off.
    err429: {
      exitCode: 1,
      kind: 'rate_limit',
      httpStatus: 429,
      retryAt: false,
      action: 'backoff_and_relaunch',
      requests: 2,
    },
    'err429-noreset': {
      exitCode: 1,
      kind: 'rate_limit',
      httpStatus: 429,
      retryAt: false,
      action: 'backoff_and_relaunch',
      requests: 2,
    },
    err500: {
      exitCode: 1,
      kind: 'server_error',
      httpStatus: 500,
      retryAt: false,
      action: 'backoff_and_relaunch',
      requests: 2,
    },
  },
});

describe.runIf(isRoot())('claude as root', () => {
  let h: DirectHarness;
  beforeAll(async () => {
    h = await DirectHarness.start();
  });
  afterAll(async () => {
    await h?.close();
  });

  it(
    'refuses --dangerously-skip-permissions: ' +
      'root_bypass_refused -> PERMISSION_BLOCKER (or IS_SANDBOX=1 inside our sandbox)',
    async () => {
      const r = await h.run('claude', { kind: 'text' }, { asSelf: true });
      const why = describeRun(r);
      expect(r.exitCode, why).toBe(1);
      expect(r.stdout, why).toBe('');
      expect(r.stderr, why).toContain(
        '--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons',
      );
      expect(r.failure?.kind, why).toBe('root_bypass_refused');
      expect(actionOf(recoveryFor('claude', r.failure!)), why).toBe('escalate:PERMISSION_BLOCKER');
      const inSandbox = decideRecovery({
        signal: r.failure!,
        agent: 'claude',
        fixes: {},
        agentSessionId: null,
        insideSandbox: true,
        recentRestarts: 0,
        limits: { backoffBaseMs: 2000, backoffMaxMs: 120_000, maxRetryWaitSec: 3600 },
        now: Date.now(),
        random: 0.5,
      });
      expect(inSandbox.type === 'relaunch' ? inSandbox.fixes : null).toEqual({ isSandbox: true });
      expect(h.server.requests.length, 'the refusal comes before any request').toBe(0);
    },
  );

  it('the isSandbox fix (IS_SANDBOX=1) really lifts the refusal', async () => {
    const r = await h.run('claude', { kind: 'text' }, { asSelf: true, launch: { fixes: { isSandbox: true } } });
    const why = describeRun(r);
    expect(r.exitCode, why).toBe(0);
    expect(r.failure, why).toBeNull();
  });

  it('a reviewer launch (--permission-mode plan) runs as root: no bypass is asked for', async () => {
    const r = await h.run('claude', { kind: 'text' }, { asSelf: true, launch: { readOnly: true } });
    const why = describeRun(r);
    expect(r.exitCode, why).toBe(0);
    expect(r.lines[0], why).toContain('"permissionMode":"plan"');
  });
});
