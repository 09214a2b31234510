/**
 * FailureSignal -> RecoveryAction: the supervisor's table, pure. docs/recovery.md explains each row.
 *
 * | signal                                             | action                                                   |
 * |----------------------------------------------------|----------------------------------------------------------|
 * | not_git_repo (codex)                               | relaunch with --skip-git-repo-check                       |
 * | untrusted_folder (gemini)                          | relaunch with --skip-trust                                |
 * | root_bypass_refused (claude as root)               | in our sandbox: relaunch with IS_SANDBOX=1; else blocker  |
 * | rate_limit, quota with retryAt                     | wait until then (capped), relaunch with native resume     |
 * | quota without retryAt                              | blocker QUOTA_EXCEEDED (waiting will not help)            |
 * | rate_limit without retryAt, server_error, network, | exponential backoff with jitter, relaunch                 |
 * |   stalled, crashed                                 |   (native resume when the agent session id is known)      |
 * | max_turns                                          | relaunch with native resume and a "continue" prompt       |
 * | resume_not_found                                   | relaunch fresh, without resume                            |
 * | auth, invalid_args                                 | blocker AUTH_REQUIRED / INVALID_ARGS with what to do      |
 * | agent_not_found (no binary, or it cannot be run)   | blocker AGENT_NOT_FOUND: install it or point the env at it |
 * | merge_conflict (its start, or what it left)        | blocker MERGE_CONFLICT: resolve by hand, by an agent,    |
 * |                                                    |   or skip                                                |
 * | setup_failed (a workspace.setup command)           | blocker SETUP_FAILED: fix the command or the project, retry |
 *
 * Every relaunch counts against the restart intensity (src/domain/restart-intensity.ts).
 */
import type { LaunchFixes } from './launch-fixes.js';
import type { BlockerChoice, BlockerKind, FailureSignal, RecoveryActionKind } from './events.js';

export type ContinuePrompt = 'original' | 'resume' | 'max_turns';

export type RecoveryDecision =
  | {
      type: 'relaunch';
      action: RecoveryActionKind;
      delayMs: number;
      fixes: LaunchFixes;
      /** Continue the agent's own session (native resume) rather than starting over. */
      resume: boolean;
      prompt: ContinuePrompt;
      /** What changes in the next launch, for the recovery event. */
      change: string;
      detail: string;
    }
  | { type: 'escalate'; blocker: BlockerKind; message: string; action: string; options?: BlockerChoice[] };

export interface RecoveryInput {
  signal: FailureSignal;
  agent: string;
  /** Fixes the failed launch already had. */
  fixes: LaunchFixes;
  agentSessionId: string | null;
  /** The worker runs inside our own sandbox (bwrap), so telling claude IS_SANDBOX=1 is true. */
  insideSandbox: boolean;
  /** Restarts of this worker inside the intensity window so far: the backoff exponent. */
  recentRestarts: number;
  limits: { backoffBaseMs: number; backoffMaxMs: number; maxRetryWaitSec: number };
  now: number;
  /** 0..1, for the jitter. */
  random: number;
}

const LOGIN_HELP: Record<string, string> = {
  claude: 'Log in to Claude Code (run `claude` and use /login) or set ANTHROPIC_API_KEY',
  codex: 'Run `codex login` or set OPENAI_API_KEY (CODEX_API_KEY for `codex exec`)',
  gemini: 'Set GEMINI_API_KEY or choose an auth method in ~/.gemini/settings.json',
  opencode: 'Run `opencode auth login`, or configure a provider in ~/.config/opencode/opencode.json',
  qwen: 'Run `qwen` and /auth, or set OPENAI_API_KEY (with OPENAI_BASE_URL and OPENAI_MODEL)',
};

export function decideRecovery(input: RecoveryInput): RecoveryDecision {
  const { signal, fixes } = input;
  const canResume = input.agentSessionId !== null;
  const backoff = (): RecoveryDecision => ({
    type: 'relaunch',
    action: 'backoff_and_relaunch',
    delayMs: backoffDelay(input.recentRestarts, input.limits.backoffBaseMs, input.limits.backoffMaxMs, input.random),
    fixes,
    resume: canResume,
    prompt: canResume ? 'resume' : 'original',
    change: canResume ? `resume agent session ${input.agentSessionId}` : 'fresh launch (no agent session id yet)',
    detail: `${signal.kind.replace('_', ' ')}: ${signal.message}`,
  });

  switch (signal.kind) {
    case 'not_git_repo':
      if (fixes.skipGitRepoCheck) return stillFailing(signal, '--skip-git-repo-check');
      return fix(
        input,
        { skipGitRepoCheck: true },
        'relaunch_with_flag',
        'add --skip-git-repo-check',
        'codex refused to run outside a git repository; relaunching with --skip-git-repo-check',
      );
    case 'untrusted_folder':
      if (fixes.skipTrust) return stillFailing(signal, '--skip-trust');
      return fix(
        input,
        { skipTrust: true },
        'relaunch_with_flag',
        'add --skip-trust',
        'gemini does not trust this folder; relaunching with --skip-trust',
      );
    case 'root_bypass_refused':
      if (input.insideSandbox && !fixes.isSandbox) {
        return fix(
          input,
          { isSandbox: true },
          'relaunch_with_env',
          'set IS_SANDBOX=1',
          'claude refuses to bypass permissions as root; it runs inside our sandbox, so relaunching with IS_SANDBOX=1',
        );
      }
      return {
        type: 'escalate',
        blocker: 'PERMISSION_BLOCKER',
        message: `Claude Code refuses --dangerously-skip-permissions when run as root: ${signal.message}`,
        action: input.insideSandbox
          ? 'It still refuses inside the sandbox. Run the orchestrator as a non-root user, then answer retry.'
          : 'Run the orchestrator as a non-root user, or use the sandbox ' +
            '("sandbox": "bwrap", needs bubblewrap) so IS_SANDBOX=1 is true; then answer retry.',
      };
    case 'rate_limit':
    case 'quota': {
      if (signal.retryAt) {
        const waitMs = Math.max(0, Date.parse(signal.retryAt) - input.now);
        const capMs = input.limits.maxRetryWaitSec * 1000;
        const delayMs = Math.min(waitMs, capMs);
        return {
          type: 'relaunch',
          action: 'wait_and_resume',
          delayMs,
          fixes,
          resume: canResume,
          prompt: canResume ? 'resume' : 'original',
          change: canResume
            ? `resume agent session ${input.agentSessionId} at ${new Date(input.now + delayMs).toISOString()}`
            : `fresh launch at ${new Date(input.now + delayMs).toISOString()}`,
          detail:
            `${signal.kind === 'quota' ? 'quota' : 'rate limit'} until ${signal.retryAt}` +
            `${waitMs > capMs ? ` (wait capped to ${input.limits.maxRetryWaitSec}s)` : ''}: ${signal.message}`,
        };
      }
      if (signal.kind === 'quota') {
        return {
          type: 'escalate',
          blocker: 'QUOTA_EXCEEDED',
          message: `${input.agent} is out of quota and did not say when it resets: ${signal.message}`,
          action:
            "Check the plan and billing of this agent's account " +
            '(or switch its API key), then answer retry; or skip this worker.',
        };
      }
      return backoff();
    }
    case 'server_error':
    case 'network':
    case 'stalled':
    case 'crashed':
      return backoff();
    case 'max_turns':
      if (!canResume) {
        return {
          type: 'relaunch',
          action: 'relaunch_fresh',
          delayMs: 0,
          fixes,
          resume: false,
          prompt: 'original',
          change: 'fresh launch (no agent session id to resume)',
          detail: `max turns: ${signal.message}`,
        };
      }
      return {
        type: 'relaunch',
        action: 'resume_with_continue',
        delayMs: 0,
        fixes,
        resume: true,
        prompt: 'max_turns',
        change: `resume agent session ${input.agentSessionId} with a "continue" prompt`,
        detail: `the agent ran out of turns: ${signal.message}`,
      };
    case 'resume_not_found':
      return {
        type: 'relaunch',
        action: 'relaunch_fresh',
        delayMs: 0,
        fixes,
        resume: false,
        prompt: 'original',
        change: 'fresh launch without --resume',
        detail: `the agent no longer knows its session: ${signal.message}`,
      };
    case 'auth':
      return {
        type: 'escalate',
        blocker: 'AUTH_REQUIRED',
        message: `${input.agent} is not authenticated: ${signal.message}`,
        action: `${LOGIN_HELP[input.agent] ?? `Authenticate ${input.agent}`}, then answer retry.`,
      };
    case 'agent_not_found':
      return {
        type: 'escalate',
        blocker: 'AGENT_NOT_FOUND',
        message: `${input.agent} could not be started: ${signal.message}`,
        action:
          `Install ${input.agent} (\`orchestrate doctor\` says how) or set ` +
          `ORCHESTRATOR_${input.agent.toUpperCase()}_BIN to its path, then answer retry; or skip this worker.`,
      };
    case 'merge_conflict': {
      const where = signal.conflict ? ` in ${signal.conflict.dir}` : '';
      return {
        type: 'escalate',
        blocker: 'MERGE_CONFLICT',
        message: `${signal.message}`,
        action:
          `Resolve the conflicts${where} (edit the files, \`git add\` them; committing is optional), ` +
          `then answer retry; or answer agent to have an agent resolve them ` +
          `(it is reviewed like any worker), skip to go on without this worker, or stop.`,
        options: ['retry', 'agent', 'skip', 'stop'],
      };
    }
    case 'setup_failed':
      return {
        type: 'escalate',
        blocker: 'SETUP_FAILED',
        message: `the checkout of this worker could not be set up: ${signal.message}`,
        action:
          "Fix the command in the spec's workspace.setup or what it needs " +
          '(its output is in the session log), then answer retry; or skip this worker.',
      };
    case 'invalid_args':
      return {
        type: 'escalate',
        blocker: 'INVALID_ARGS',
        message: `${input.agent} rejected how it was started: ${signal.message}`,
        action:
          `Fix the cause (the agent binary or ORCHESTRATOR_${input.agent.toUpperCase()}_BIN, ` +
          `the model name or flags in the spec), then answer retry; or skip this worker.`,
      };
  }
}

/**
 * Exponential backoff with "equal jitter": half the delay is fixed, half random, so retries of several
 * workers hit by the same outage spread out, yet none retries immediately.
 */
export function backoffDelay(recentRestarts: number, baseMs: number, maxMs: number, random: number): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, recentRestarts));
  return Math.round(exp / 2 + (random * exp) / 2);
}

function fix(
  input: RecoveryInput,
  add: LaunchFixes,
  action: RecoveryActionKind,
  change: string,
  detail: string,
): RecoveryDecision {
  const canResume = input.agentSessionId !== null;
  return {
    type: 'relaunch',
    action,
    delayMs: 0,
    fixes: { ...input.fixes, ...add },
    resume: canResume,
    prompt: canResume ? 'resume' : 'original',
    change,
    detail,
  };
}

function stillFailing(signal: FailureSignal, flag: string): RecoveryDecision {
  return {
    type: 'escalate',
    blocker: 'INVALID_ARGS',
    message: `the agent still fails the same way with ${flag}: ${signal.message}`,
    action: "Check the agent's version and configuration by hand, then answer retry; or skip this worker.",
  };
}
