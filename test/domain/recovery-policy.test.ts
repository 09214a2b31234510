/**
 * The supervisor's recovery table (src/domain/recovery-policy.ts, docs/recovery.md), row by row, and the pure
 * pieces it leans on: the backoff with jitter and the restart intensity (src/domain/restart-intensity.ts).
 */
import { describe, expect, it } from 'vitest';
import { FAILURE_KINDS, type FailureKind, type FailureSignal } from '../../src/domain/events.js';
import { backoffDelay, decideRecovery, type RecoveryInput } from '../../src/domain/recovery-policy.js';
import { exceedsIntensity, restartsInWindow } from '../../src/domain/restart-intensity.js';

const NOW = Date.parse('2026-11-21T09:00:00.000Z');
const LIMITS = { backoffBaseMs: 2_000, backoffMaxMs: 120_000, maxRetryWaitSec: 3_600 };

function input(kind: FailureKind, over: Partial<RecoveryInput> & { retryAt?: string } = {}): RecoveryInput {
  const { retryAt, ...rest } = over;
  const signal: FailureSignal = { kind, message: `the agent's words for ${kind}`, ...(retryAt ? { retryAt } : {}) };
  return {
    signal,
    agent: 'codex',
    fixes: {},
    agentSessionId: 'thread-1',
    insideSandbox: false,
    recentRestarts: 0,
    limits: LIMITS,
    now: NOW,
    random: 0.5,
    ...rest,
  };
}

describe('decideRecovery: the table', () => {
  // What each failure kind leads to, with an agent session id to resume, no retryAt, outside the sandbox.
  const EXPECTED: Record<FailureKind, string> = {
    not_git_repo: 'relaunch_with_flag',
    untrusted_folder: 'relaunch_with_flag',
    root_bypass_refused: 'PERMISSION_BLOCKER',
    rate_limit: 'backoff_and_relaunch',
    quota: 'QUOTA_EXCEEDED',
    server_error: 'backoff_and_relaunch',
    network: 'backoff_and_relaunch',
    stalled: 'backoff_and_relaunch',
    crashed: 'backoff_and_relaunch',
    max_turns: 'resume_with_continue',
    resume_not_found: 'relaunch_fresh',
    auth: 'AUTH_REQUIRED',
    invalid_args: 'INVALID_ARGS',
    agent_not_found: 'AGENT_NOT_FOUND',
    merge_conflict: 'MERGE_CONFLICT',
    setup_failed: 'SETUP_FAILED',
  };

  it('has a row for every failure kind', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual([...FAILURE_KINDS].sort());
  });

  it.each(FAILURE_KINDS.map((k) => [k, EXPECTED[k]]))('%s → %s', (kind, outcome) => {
    const decision = decideRecovery(input(kind));
    expect(decision.type === 'relaunch' ? decision.action : decision.blocker).toBe(outcome);
    // Escalations say what happened in the agent's words and what a person should do.
    if (decision.type === 'escalate') {
      expect(decision.message).toContain(`the agent's words for ${kind}`);
      expect(decision.action.length).toBeGreaterThan(20);
    }
  });

  it('transient failures resume the agent session when its id is known, and start over when it is not', () => {
    for (const kind of ['rate_limit', 'server_error', 'network', 'stalled', 'crashed'] as const) {
      expect(decideRecovery(input(kind))).toMatchObject({
        type: 'relaunch',
        resume: true,
        prompt: 'resume',
        change: 'resume agent session thread-1',
      });
      expect(decideRecovery(input(kind, { agentSessionId: null }))).toMatchObject({
        type: 'relaunch',
        resume: false,
        prompt: 'original',
        change: 'fresh launch (no agent session id yet)',
      });
    }
  });

  it('backoff grows with the restarts in the window and stays under backoffMaxMs', () => {
    const delays = [0, 1, 2, 3, 10].map((n) => decideRecovery(input('server_error', { recentRestarts: n, random: 1 })));
    expect(delays.map((d) => (d.type === 'relaunch' ? d.delayMs : -1))).toEqual([2_000, 4_000, 8_000, 16_000, 120_000]);
  });

  describe('rate_limit and quota with retryAt: wait until then, capped', () => {
    it('waits exactly until retryAt, then resumes', () => {
      const retryAt = new Date(NOW + 90_000).toISOString();
      for (const kind of ['rate_limit', 'quota'] as const) {
        expect(decideRecovery(input(kind, { retryAt }))).toMatchObject({
          type: 'relaunch',
          action: 'wait_and_resume',
          delayMs: 90_000,
          resume: true,
          change: `resume agent session thread-1 at ${retryAt}`,
        });
      }
    });

    it('a retryAt past maxRetryWaitSec waits only the cap, and says so', () => {
      const decision = decideRecovery(input('quota', { retryAt: new Date(NOW + 10 * 3_600_000).toISOString() }));
      expect(decision).toMatchObject({ type: 'relaunch', delayMs: 3_600_000 });
      expect(decision.type === 'relaunch' && decision.detail).toContain('wait capped to 3600s');
    });

    it('a retryAt already past relaunches at once', () => {
      expect(decideRecovery(input('rate_limit', { retryAt: new Date(NOW - 5_000).toISOString() }))).toMatchObject({
        delayMs: 0,
      });
    });

    it('without an agent session id it starts over at that time', () => {
      const retryAt = new Date(NOW + 1_000).toISOString();
      expect(decideRecovery(input('rate_limit', { retryAt, agentSessionId: null }))).toMatchObject({
        resume: false,
        prompt: 'original',
        change: `fresh launch at ${retryAt}`,
      });
    });
  });

  describe('launch fixes', () => {
    it('not_git_repo adds --skip-git-repo-check once; failing again with it is INVALID_ARGS', () => {
      const first = decideRecovery(input('not_git_repo'));
      expect(first).toMatchObject({
        type: 'relaunch',
        fixes: { skipGitRepoCheck: true },
        delayMs: 0,
        change: 'add --skip-git-repo-check',
      });
      expect(decideRecovery(input('not_git_repo', { fixes: { skipGitRepoCheck: true } }))).toMatchObject({
        type: 'escalate',
        blocker: 'INVALID_ARGS',
      });
    });

    it('untrusted_folder adds --skip-trust once, keeping the fixes it had', () => {
      expect(decideRecovery(input('untrusted_folder', { agent: 'gemini', fixes: { isSandbox: true } }))).toMatchObject({
        fixes: { isSandbox: true, skipTrust: true },
      });
      expect(decideRecovery(input('untrusted_folder', { fixes: { skipTrust: true } }))).toMatchObject({
        type: 'escalate',
        blocker: 'INVALID_ARGS',
      });
    });

    it('root_bypass_refused: IS_SANDBOX=1 only inside our sandbox, and only once', () => {
      expect(decideRecovery(input('root_bypass_refused', { agent: 'claude', insideSandbox: true }))).toMatchObject({
        type: 'relaunch',
        action: 'relaunch_with_env',
        fixes: { isSandbox: true },
      });
      const outside = decideRecovery(input('root_bypass_refused', { agent: 'claude' }));
      expect(outside).toMatchObject({ type: 'escalate', blocker: 'PERMISSION_BLOCKER' });
      expect(outside.type === 'escalate' && outside.action).toContain('non-root user');
      const again = decideRecovery(
        input('root_bypass_refused', { agent: 'claude', insideSandbox: true, fixes: { isSandbox: true } }),
      );
      expect(again).toMatchObject({ type: 'escalate', blocker: 'PERMISSION_BLOCKER' });
      expect(again.type === 'escalate' && again.action).toContain('still refuses inside the sandbox');
    });
  });

  it('max_turns continues the agent session with a "continue" prompt; without an id it starts over', () => {
    expect(decideRecovery(input('max_turns'))).toMatchObject({
      action: 'resume_with_continue',
      resume: true,
      prompt: 'max_turns',
      delayMs: 0,
    });
    expect(decideRecovery(input('max_turns', { agentSessionId: null }))).toMatchObject({
      action: 'relaunch_fresh',
      resume: false,
      prompt: 'original',
    });
  });

  it('resume_not_found starts over with the original prompt, whatever the session id', () => {
    expect(decideRecovery(input('resume_not_found'))).toMatchObject({
      action: 'relaunch_fresh',
      resume: false,
      prompt: 'original',
      change: 'fresh launch without --resume',
    });
  });

  it('auth says how to log in to that agent; agent_not_found how to install it or where to point', () => {
    const auth = decideRecovery(input('auth', { agent: 'codex' }));
    expect(auth.type === 'escalate' && auth.action).toContain('codex login');
    const missing = decideRecovery(input('agent_not_found', { agent: 'gemini' }));
    expect(missing.type === 'escalate' && missing.action).toContain('ORCHESTRATOR_GEMINI_BIN');
  });
});

describe('backoffDelay: exponential with equal jitter', () => {
  it('is half fixed, half random: within [exp/2, exp]', () => {
    expect(backoffDelay(0, 2_000, 120_000, 0)).toBe(1_000);
    expect(backoffDelay(0, 2_000, 120_000, 1)).toBe(2_000);
    expect(backoffDelay(2, 2_000, 120_000, 0.5)).toBe(6_000);
  });

  it('never exceeds the maximum, and never retries at once when base > 0', () => {
    for (let n = 0; n < 40; n++) {
      for (const r of [0, 0.3, 1]) {
        const d = backoffDelay(n, 2_000, 120_000, r);
        expect(d).toBeGreaterThanOrEqual(1_000);
        expect(d).toBeLessThanOrEqual(120_000);
      }
    }
  });
});

describe('restart intensity (Erlang/OTP): more than maxRestarts within the window gives up', () => {
  const s = 1_000;

  it('counts only the restarts inside the window ending now', () => {
    expect(restartsInWindow([NOW - 61 * s, NOW - 60 * s, NOW - 59 * s, NOW], NOW, 60)).toEqual([NOW - 59 * s, NOW]);
  });

  it('allows maxRestarts restarts in the window; the next one exceeds', () => {
    expect(exceedsIntensity([], NOW, 3, 60)).toBe(false);
    expect(exceedsIntensity([NOW - 3 * s, NOW - 2 * s], NOW, 3, 60)).toBe(false);
    expect(exceedsIntensity([NOW - 3 * s, NOW - 2 * s, NOW - s], NOW, 3, 60)).toBe(true);
  });

  it('restarts that left the window no longer count', () => {
    expect(exceedsIntensity([NOW - 200 * s, NOW - 100 * s, NOW - 70 * s], NOW, 3, 60)).toBe(false);
  });

  it('maxRestarts 0 never restarts', () => {
    expect(exceedsIntensity([], NOW, 0, 60)).toBe(true);
  });
});
