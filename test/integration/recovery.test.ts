/**
 * The recovery policy table (src/domain/recovery-policy.ts, docs/recovery.md), one test per row, end to end:
 * `orchestrate run --no-server` with the fake agent really spawned, failing the way the real CLI does. Each
 * test checks the exit code, the `recovery`/`blocker` events (signal, action, attempt, backoff, change), the
 * worker's final state, and what changed in the relaunch (argv and env from the fake's launches.jsonl).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { OrchestratorEvent } from '../../src/domain/events.js';
import { SessionSpecSchema } from '../../src/domain/spec.js';
import { SessionManager } from '../../src/runtime/session-manager.js';
import { cleanupAfterTest, eventsOfType, readEvents, testSandbox } from '../support/orchestrate.js';
import {
  FAST_LIMITS,
  agentEnv,
  launchesOf,
  leftovers,
  NOTHING_LEFT,
  oneWorkerSpec,
  runSession,
  writeSpec,
} from './support-recovery.js';

afterEach(cleanupAfterTest);

const box = (options: { git?: boolean } = {}) => testSandbox(options);

/** The state a worker ended in, from the `state` events. */
function finalState(events: OrchestratorEvent[], workerId: string): string | undefined {
  return eventsOfType(events, 'state')
    .filter((e) => e.machine === 'worker' && e.id === workerId)
    .at(-1)?.to;
}

function sessionOutcome(events: OrchestratorEvent[]): string | undefined {
  return eventsOfType(events, 'state')
    .filter((e) => e.machine === 'session')
    .at(-1)?.to;
}

/** The agent's own session id of the worker's first attempt (its `init` event). */
function firstAgentSessionId(events: OrchestratorEvent[], workerId: string): string {
  const init = eventsOfType(events, 'agent').find(
    (e) => e.workerId === workerId && e.kind === 'init' && e.at?.attempt === 1,
  );
  const id = init && 'agentSessionId' in init ? init.agentSessionId : undefined;
  if (!id) throw new Error(`no init event with an agent session id for ${workerId}`);
  return id;
}

const ROOT = process.getuid?.() === 0;
/** As root the fake applies claude's real root check; otherwise it pretends to run as root. */
const ROOT_REFUSAL = ROOT ? { enforceRoot: true } : { fail: 'root_bypass_refused' };

describe('recovery policy rows, end to end through `orchestrate run`', () => {
  it(
    'not_git_repo (codex): the read-only codex reviewer is relaunched with --skip-git-repo-check, ' +
      'and later codex launches start with it',
    async () => {
      // A codex worker never hits this: its --dangerously-bypass-approvals-and-sandbox also skips the git check
      // (as in the real CLI). A reviewer runs with --sandbox read-only, so outside a git repository it is refused.
      const s = box({ git: false });
      const spec = writeSpec(
        s,
        [
          { id: 'impl', agent: 'claude', role: 'implementer' },
          { id: 'verifier', agent: 'codex', role: 'verifier', dependsOn: ['impl'] },
        ],
        {},
        { reviews: [{ reviewer: 'codex', target: 'impl', focus: 'correctness' }] },
      );
      const config = {
        default: { delayMs: 2 },
        codex: { delayMs: 2, verdict: { verdict: 'approve', summary: 'looks right' } },
      };
      const result = await runSession(s, config, spec);
      expect(result.exitCode, result.stderr).toBe(0);

      const events = readEvents(s.workspace);
      const recoveries = eventsOfType(events, 'recovery');
      expect(recoveries).toHaveLength(1);
      expect(recoveries[0]).toMatchObject({
        workerId: 'r1-codex-impl',
        signal: { kind: 'not_git_repo' },
        action: 'relaunch_with_flag',
        attempt: 1,
        backoffMs: 0,
        change: 'add --skip-git-repo-check',
      });
      expect(recoveries[0]!.signal.message).toContain('--skip-git-repo-check was not specified');
      expect(finalState(events, 'r1-codex-impl')).toBe('completed');
      expect(finalState(events, 'impl')).toBe('completed');
      expect(finalState(events, 'verifier')).toBe('completed');

      const codex = launchesOf(s, 'codex');
      expect(codex).toHaveLength(3);
      expect(codex[0]!.argv).toContain('read-only');
      expect(codex[0]!.argv).not.toContain('--skip-git-repo-check');
      expect(codex[1]!.argv).toEqual(expect.arrayContaining(['read-only', '--skip-git-repo-check']));
      // The verifier (a codex worker) starts with the fix the supervisor learned for codex in this session.
      expect(codex[2]!.argv).toEqual(
        expect.arrayContaining(['--dangerously-bypass-approvals-and-sandbox', '--skip-git-repo-check']),
      );
    },
  );

  it('untrusted_folder (gemini): relaunched with --skip-trust, then completes', async () => {
    const s = box();
    const result = await runSession(s, { gemini: { untrusted: true, delayMs: 2 } }, oneWorkerSpec(s, 'gemini'));
    expect(result.exitCode, result.stderr).toBe(0);

    const events = readEvents(s.workspace);
    const [recovery, ...more] = eventsOfType(events, 'recovery');
    expect(more).toHaveLength(0);
    expect(recovery).toMatchObject({
      workerId: 'w',
      signal: { kind: 'untrusted_folder', exitCode: 55 },
      action: 'relaunch_with_flag',
      attempt: 1,
      backoffMs: 0,
      change: 'add --skip-trust',
    });
    expect(finalState(events, 'w')).toBe('completed');

    const gemini = launchesOf(s, 'gemini');
    expect(gemini).toHaveLength(2);
    expect(gemini[0]!.argv).not.toContain('--skip-trust');
    expect(gemini[1]!.argv).toContain('--skip-trust');
  });

  it(
    'root_bypass_refused (claude as root, not in our sandbox): ' +
      'PERMISSION_BLOCKER with the fix, the worker stays blocked, exit 2',
    async () => {
      const s = box();
      const result = await runSession(s, { claude: { ...ROOT_REFUSAL, delayMs: 2 } }, oneWorkerSpec(s, 'claude'));
      expect(result.exitCode, result.stderr).toBe(2);

      const events = readEvents(s.workspace);
      expect(eventsOfType(events, 'recovery')).toEqual([
        expect.objectContaining({
          workerId: 'w',
          signal: expect.objectContaining({ kind: 'root_bypass_refused' }),
          action: 'escalate',
          attempt: 1,
        }),
      ]);
      const [blocker, ...others] = eventsOfType(events, 'blocker');
      expect(others).toHaveLength(0);
      expect(blocker).toMatchObject({
        blockerId: 'b1',
        kind: 'PERMISSION_BLOCKER',
        workerId: 'w',
        options: ['retry', 'skip', 'stop'],
      });
      expect(blocker!.message).toContain('cannot be used with root/sudo privileges');
      expect(blocker!.action).toMatch(/non-root user/);
      expect(blocker!.action).toMatch(/IS_SANDBOX=1/);
      expect(finalState(events, 'w')).toBe('blocked');
      // No relaunch: nothing would change it.
      expect(launchesOf(s, 'claude')).toHaveLength(1);
      expect(launchesOf(s, 'claude')[0]!.env.IS_SANDBOX).not.toBe('1');
      expect(result.stderr).toContain('PERMISSION_BLOCKER b1 (w)');
      expect(result.stderr).toMatch(/orchestrate resolve orch_\S+ b1 <retry\|skip\|stop>/);
    },
  );

  it(
    'root_bypass_refused inside our sandbox (SessionManager sandbox.insideSandbox): ' +
      'relaunched with IS_SANDBOX=1, then completes',
    async () => {
      const s = box();
      const manager = new SessionManager({
        workspace: s.workspace,
        env: { ...process.env, ...agentEnv(s, { claude: { ...ROOT_REFUSAL, delayMs: 2 } }) },
        sandbox: { insideSandbox: true },
      });
      const spec = SessionSpecSchema.parse({
        task: 'fix the bug',
        workers: [{ id: 'w', agent: 'claude', role: 'implementer' }],
        limits: FAST_LIMITS,
      });
      const runtime = await manager.create(spec, s.target);
      let end: string;
      try {
        end = await runtime.waitForEnd(true);
      } finally {
        runtime.detach();
      }
      expect(end).toBe('completed');

      const events = readEvents(s.workspace);
      expect(eventsOfType(events, 'recovery')).toEqual([
        expect.objectContaining({
          workerId: 'w',
          signal: expect.objectContaining({ kind: 'root_bypass_refused' }),
          action: 'relaunch_with_env',
          attempt: 1,
          backoffMs: 0,
          change: 'set IS_SANDBOX=1',
        }),
      ]);
      expect(eventsOfType(events, 'blocker')).toHaveLength(0);
      expect(finalState(events, 'w')).toBe('completed');
      const claude = launchesOf(s, 'claude');
      expect(claude).toHaveLength(2);
      expect(claude[0]!.env.IS_SANDBOX).not.toBe('1');
      expect(claude[1]!.env.IS_SANDBOX).toBe('1');
      expect(claude[1]!.argv).toContain('--dangerously-skip-permissions');
    },
  );

  it('rate_limit with retryAt (claude): waits until the reset time, then resumes the agent session', async () => {
    const s = box();
    const config = { claude: { fail: 'rate_limit_reset', retryAfterSec: 3, failTimes: 1, delayMs: 2 } };
    const result = await runSession(s, config, oneWorkerSpec(s, 'claude'));
    expect(result.exitCode, result.stderr).toBe(0);

    const events = readEvents(s.workspace);
    const agentSession = firstAgentSessionId(events, 'w');
    const [recovery, ...more] = eventsOfType(events, 'recovery');
    expect(more).toHaveLength(0);
    expect(recovery).toMatchObject({
      workerId: 'w',
      signal: { kind: 'rate_limit' },
      action: 'wait_and_resume',
      attempt: 1,
    });
    const retryAt = Date.parse(recovery!.signal.retryAt ?? '');
    expect(Number.isNaN(retryAt)).toBe(false);
    expect(recovery!.change).toBe(`resume agent session ${agentSession} at ${new Date(retryAt).toISOString()}`);
    expect(recovery!.backoffMs).toBeGreaterThan(500);
    expect(recovery!.backoffMs).toBeLessThanOrEqual(3_000);
    expect(finalState(events, 'w')).toBe('completed');

    const claude = launchesOf(s, 'claude');
    expect(claude).toHaveLength(2);
    expect(claude[1]!.argv).toEqual(expect.arrayContaining(['--resume', agentSession]));
    expect(claude[1]!.resume).toBe(agentSession);
    // It really waited: the relaunch came after the reset time (the fake's resetsAt is >= 2 s ahead).
    expect(Date.parse(claude[1]!.ts)).toBeGreaterThanOrEqual(retryAt - 50);
    expect(Date.parse(claude[1]!.ts) - Date.parse(claude[0]!.ts)).toBeGreaterThanOrEqual(1_500);
  });

  it('rate_limit with a retryAt beyond limits.maxRetryWaitSec: the wait is capped', async () => {
    const s = box();
    const config = { claude: { fail: 'rate_limit_reset', retryAfterSec: 3600, failTimes: 1, delayMs: 2 } };
    const result = await runSession(s, config, oneWorkerSpec(s, 'claude', { maxRetryWaitSec: 1 }));
    expect(result.exitCode, result.stderr).toBe(0);

    const [recovery] = eventsOfType(readEvents(s.workspace), 'recovery');
    expect(recovery).toMatchObject({ signal: { kind: 'rate_limit' }, action: 'wait_and_resume', attempt: 1 });
    expect(recovery!.backoffMs).toBeLessThanOrEqual(1_000);
    expect(recovery!.detail).toContain('wait capped to 1s');
    expect(launchesOf(s, 'claude')).toHaveLength(2);
  });

  it('quota with retryAt (codex "Quota exceeded ... Try again in 2s"): waits, then resumes the thread', async () => {
    const s = box();
    // The fake's built-in codex quota message names no time; replay one that does, from a thread the fake
    // issued earlier (sessions.json), so that the native resume of that thread is accepted.
    const threadId = '01a1fcd6-0000-7000-8000-00000000c0de';
    writeFileSync(
      join(s.stateDir, 'sessions.json'),
      JSON.stringify({ [threadId]: { persona: 'codex', cwd: s.target, createdAt: new Date().toISOString() } }),
    );
    const message = 'Quota exceeded. Check your plan and billing details. Try again in 2s.';
    const transcript = join(s.dir, 'codex-quota.jsonl');
    writeFileSync(
      transcript,
      [
        { type: 'thread.started', thread_id: threadId },
        { type: 'turn.started' },
        { type: 'error', message },
        { type: 'turn.failed', error: { message } },
      ]
        .map((l) => JSON.stringify(l))
        .join('\n') + '\n',
    );
    const config = {
      rules: [{ match: { agent: 'codex', resume: false }, scenario: { transcript, exitCode: 1, delayMs: 2 } }],
      codex: { delayMs: 2 },
    };
    const result = await runSession(s, config, oneWorkerSpec(s, 'codex'));
    expect(result.exitCode, result.stderr).toBe(0);

    const events = readEvents(s.workspace);
    const [recovery, ...more] = eventsOfType(events, 'recovery');
    expect(more).toHaveLength(0);
    expect(recovery).toMatchObject({
      workerId: 'w',
      signal: { kind: 'quota', message },
      action: 'wait_and_resume',
      attempt: 1,
    });
    expect(recovery!.signal.retryAt).toBeDefined();
    expect(recovery!.change).toContain(`resume agent session ${threadId} at `);
    expect(recovery!.backoffMs).toBeGreaterThan(1_000);
    expect(recovery!.backoffMs).toBeLessThanOrEqual(2_000);
    expect(finalState(events, 'w')).toBe('completed');

    const codex = launchesOf(s, 'codex');
    expect(codex).toHaveLength(2);
    expect(codex[1]!.argv.slice(-3, -1)).toEqual(['resume', threadId]);
    expect(Date.parse(codex[1]!.ts) - Date.parse(codex[0]!.ts)).toBeGreaterThanOrEqual(1_500);
  });

  it('quota without retryAt (claude "Credit balance is too low"): QUOTA_EXCEEDED, no relaunch, exit 2', async () => {
    const s = box();
    const result = await runSession(s, { claude: { fail: 'quota', delayMs: 2 } }, oneWorkerSpec(s, 'claude'));
    expect(result.exitCode, result.stderr).toBe(2);

    const events = readEvents(s.workspace);
    expect(eventsOfType(events, 'recovery')).toEqual([
      expect.objectContaining({ signal: expect.objectContaining({ kind: 'quota' }), action: 'escalate', attempt: 1 }),
    ]);
    expect(eventsOfType(events, 'blocker')).toEqual([
      expect.objectContaining({
        kind: 'QUOTA_EXCEEDED',
        workerId: 'w',
        message: expect.stringContaining('Credit balance is too low'),
        action: expect.stringMatching(/plan and billing/),
      }),
    ]);
    expect(finalState(events, 'w')).toBe('blocked');
    expect(launchesOf(s, 'claude')).toHaveLength(1);
  });

  it.each([
    { agent: 'claude', fail: 'rate_limit', kind: 'rate_limit', resumeArgs: (id: string) => ['--resume', id] },
    { agent: 'codex', fail: 'server_error', kind: 'server_error', resumeArgs: (id: string) => ['resume', id] },
    { agent: 'gemini', fail: 'network', kind: 'network', resumeArgs: (id: string) => ['--resume', id] },
    { agent: 'claude', fail: 'crash', kind: 'crashed', resumeArgs: (id: string) => ['--resume', id] },
  ] as const)(
    '$kind ($agent, fail: $fail): exponential backoff with jitter, relaunch resuming the agent session',
    async ({ agent, fail, kind, resumeArgs }) => {
      const s = box();
      const result = await runSession(s, { [agent]: { fail, failTimes: 1, delayMs: 2 } }, oneWorkerSpec(s, agent));
      expect(result.exitCode, result.stderr).toBe(0);

      const events = readEvents(s.workspace);
      const agentSession = firstAgentSessionId(events, 'w');
      const [recovery, ...more] = eventsOfType(events, 'recovery');
      expect(more).toHaveLength(0);
      expect(recovery).toMatchObject({
        workerId: 'w',
        signal: { kind },
        action: 'backoff_and_relaunch',
        attempt: 1,
        change: `resume agent session ${agentSession}`,
      });
      expect(recovery!.signal.retryAt).toBeUndefined();
      // First restart: base 50 ms, "equal jitter" = half fixed, half random.
      expect(recovery!.backoffMs).toBeGreaterThanOrEqual(FAST_LIMITS.backoffBaseMs / 2);
      expect(recovery!.backoffMs).toBeLessThanOrEqual(FAST_LIMITS.backoffBaseMs);
      expect(finalState(events, 'w')).toBe('completed');

      const runs = launchesOf(s, agent);
      expect(runs).toHaveLength(2);
      expect(runs[0]!.resume).toBeNull();
      expect(runs[1]!.resume).toBe(agentSession);
      const at = runs[1]!.argv.indexOf(resumeArgs(agentSession)[0]!);
      expect(runs[1]!.argv.slice(at, at + 2)).toEqual(resumeArgs(agentSession));
    },
  );

  it('backoff grows exponentially with the restarts inside the window, and is capped by backoffMaxMs', async () => {
    const s = box();
    const result = await runSession(
      s,
      { claude: { fail: 'server_error', failTimes: 4, delayMs: 2 } },
      oneWorkerSpec(s, 'claude', { maxRestarts: 5, backoffBaseMs: 40, backoffMaxMs: 100 }),
    );
    expect(result.exitCode, result.stderr).toBe(0);

    const recoveries = eventsOfType(readEvents(s.workspace), 'recovery');
    expect(recoveries.map((r) => [r.action, r.attempt])).toEqual([
      ['backoff_and_relaunch', 1],
      ['backoff_and_relaunch', 2],
      ['backoff_and_relaunch', 3],
      ['backoff_and_relaunch', 4],
    ]);
    // exp = min(max, base * 2^n): 40, 80, 100, 100; delay in [exp/2, exp].
    const bounds = [40, 80, 100, 100];
    recoveries.forEach((r, i) => {
      expect(r.backoffMs).toBeGreaterThanOrEqual(bounds[i]! / 2);
      expect(r.backoffMs).toBeLessThanOrEqual(bounds[i]!);
    });
  });

  it('max_turns (claude): relaunch with native resume and a "continue" prompt', async () => {
    const s = box();
    const result = await runSession(
      s,
      { claude: { fail: 'max_turns', failTimes: 1, delayMs: 2 } },
      oneWorkerSpec(s, 'claude'),
    );
    expect(result.exitCode, result.stderr).toBe(0);

    const events = readEvents(s.workspace);
    const agentSession = firstAgentSessionId(events, 'w');
    expect(eventsOfType(events, 'recovery')).toEqual([
      expect.objectContaining({
        workerId: 'w',
        signal: expect.objectContaining({ kind: 'max_turns' }),
        action: 'resume_with_continue',
        attempt: 1,
        backoffMs: 0,
        change: `resume agent session ${agentSession} with a "continue" prompt`,
      }),
    ]);
    expect(finalState(events, 'w')).toBe('completed');
    const claude = launchesOf(s, 'claude');
    expect(claude).toHaveLength(2);
    expect(claude[1]!.argv).toEqual(expect.arrayContaining(['--resume', agentSession]));
    expect(claude[1]!.argv.at(-1)).toMatch(/ran out of turns\. Continue the task/);
  });

  it('max_turns counts as a restart: with maxRestarts 0 the worker is given up (RESTART_INTENSITY)', async () => {
    const s = box();
    const result = await runSession(
      s,
      { gemini: { fail: 'max_turns', failTimes: 1, delayMs: 2 } },
      oneWorkerSpec(s, 'gemini', { maxRestarts: 0 }),
    );
    expect(result.exitCode, result.stderr).toBe(2);

    const events = readEvents(s.workspace);
    expect(eventsOfType(events, 'recovery')).toEqual([
      expect.objectContaining({
        signal: expect.objectContaining({ kind: 'max_turns' }),
        action: 'give_up',
        attempt: 1,
      }),
    ]);
    expect(eventsOfType(events, 'blocker')).toEqual([
      expect.objectContaining({ kind: 'RESTART_INTENSITY', workerId: 'w' }),
    ]);
    expect(finalState(events, 'w')).toBe('failed');
    expect(launchesOf(s, 'gemini')).toHaveLength(1);
  });

  it('resume_not_found (codex): the failed resume is followed by a fresh launch, without resume', async () => {
    const s = box();
    // Launch 1 crashes after thread.started (so the supervisor resumes); the resume is refused as unknown.
    const config = {
      rules: [
        { match: { agent: 'codex', resume: true }, scenario: { fail: 'resume_not_found', key: 'resumed', delayMs: 2 } },
      ],
      codex: { fail: 'crash', failTimes: 1, delayMs: 2 },
    };
    const result = await runSession(s, config, oneWorkerSpec(s, 'codex'));
    expect(result.exitCode, result.stderr).toBe(0);

    const events = readEvents(s.workspace);
    const thread = firstAgentSessionId(events, 'w');
    const recoveries = eventsOfType(events, 'recovery');
    expect(recoveries).toEqual([
      expect.objectContaining({
        signal: expect.objectContaining({ kind: 'crashed' }),
        action: 'backoff_and_relaunch',
        attempt: 1,
        change: `resume agent session ${thread}`,
      }),
      expect.objectContaining({
        signal: expect.objectContaining({ kind: 'resume_not_found' }),
        action: 'relaunch_fresh',
        attempt: 2,
        backoffMs: 0,
        change: 'fresh launch without --resume',
      }),
    ]);
    expect(recoveries[1]!.signal.message).toContain(`no rollout found for thread id ${thread}`);
    expect(finalState(events, 'w')).toBe('completed');

    const codex = launchesOf(s, 'codex');
    expect(codex.map((l) => l.resume)).toEqual([null, thread, null]);
    expect(codex[2]!.argv).not.toContain('resume');
    // The fresh launch gets the original (role) prompt again, not a "continue".
    expect(codex[2]!.argv.at(-1)).toBe(codex[0]!.argv.at(-1));
  });

  it.each([
    { agent: 'claude', kind: 'auth', blocker: 'AUTH_REQUIRED', action: /\/login|ANTHROPIC_API_KEY/ },
    { agent: 'codex', kind: 'auth', blocker: 'AUTH_REQUIRED', action: /codex login|OPENAI_API_KEY/ },
    { agent: 'gemini', kind: 'auth', blocker: 'AUTH_REQUIRED', action: /GEMINI_API_KEY/ },
    { agent: 'gemini', kind: 'invalid_args', blocker: 'INVALID_ARGS', action: /ORCHESTRATOR_GEMINI_BIN/ },
    { agent: 'codex', kind: 'invalid_args', blocker: 'INVALID_ARGS', action: /ORCHESTRATOR_CODEX_BIN/ },
  ] as const)(
    '$kind ($agent): blocker $blocker saying what the person must do, worker blocked, exit 2',
    async ({ agent, kind, blocker, action }) => {
      const s = box();
      const result = await runSession(s, { [agent]: { fail: kind, delayMs: 2 } }, oneWorkerSpec(s, agent));
      expect(result.exitCode, result.stderr).toBe(2);

      const events = readEvents(s.workspace);
      expect(eventsOfType(events, 'recovery')).toEqual([
        expect.objectContaining({
          workerId: 'w',
          signal: expect.objectContaining({ kind }),
          action: 'escalate',
          attempt: 1,
        }),
      ]);
      const blockers = eventsOfType(events, 'blocker');
      expect(blockers).toHaveLength(1);
      expect(blockers[0]).toMatchObject({ kind: blocker, workerId: 'w', options: ['retry', 'skip', 'stop'] });
      expect(blockers[0]!.action).toMatch(action);
      expect(blockers[0]!.action).toMatch(/answer retry/);
      expect(finalState(events, 'w')).toBe('blocked');
      expect(sessionOutcome(events)).toBe('waiting');
      expect(launchesOf(s, agent)).toHaveLength(1);
      expect(leftovers(s)).toEqual(NOTHING_LEFT);
    },
  );
});
