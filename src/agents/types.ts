/**
 * The contract every agent CLI adapter fulfils. Adapters are pure: they build argv arrays, turn one stdout
 * line into normalized payloads, and classify a finished run. No I/O, no clock (the caller passes `now`).
 */
import type { AgentName, AgentPayload, FailureSignal } from '../domain/events.js';
import type { LaunchFixes } from '../domain/launch-fixes.js';
import type { InteractiveProtocol } from './conversation.js';

export type { LaunchFixes };

export interface LaunchOptions {
  /** The whole prompt, passed as one argv element, never through a shell. */
  prompt: string;
  /** The agent's working directory (the target repository or its worktree). */
  targetDir: string;
  /** Extra directories the agent may use besides targetDir. */
  includeDirs: string[];
  model?: string;
  /** Continue the agent's own session (claude/gemini `--resume <id>`, codex `exec ... resume <id>`). */
  resume?: { agentSessionId: string };
  fixes: LaunchFixes;
  /** Reviewers: ask the CLI not to write where it has a way to say so. */
  readOnly?: boolean;
  /** The generic `acp` agent: the worker's own command (the binary and its arguments) that speaks ACP. */
  command?: string[];
}

/** argv after the binary, and environment variables to add to the inherited environment. */
export interface AgentCommand {
  args: string[];
  env: Record<string, string>;
}

export interface FailureInput {
  /** Exit code of the agent process; null when it was killed by a signal. */
  exitCode: number | null;
  signal: string | null;
  /** The last few KiB of the agent's stderr, as text. */
  stderrTail: string;
  /** Of the run's last 200 payloads, its results, errors and unparsed lines (most recent last). */
  events: AgentPayload[];
  /** For relative retry times ("try again at 9:24 AM"). */
  now: Date;
}

export interface AgentAdapter {
  name: AgentName;
  displayName: string;
  /** The npm package the CLI is installed from (its package.json says the installed version). */
  npmPackage: string;
  /** Environment variable holding a path to the binary, e.g. ORCHESTRATOR_CLAUDE_BIN. */
  binEnvVar: string;
  /** Binary looked up on PATH when the variable is not set. */
  defaultBinary: string;
  buildCommand(options: LaunchOptions): AgentCommand;
  /** buildCommand with `resume` set: the agent's native resume of `agentSessionId` with `options.prompt`. */
  resumeCommand(options: LaunchOptions, agentSessionId: string): AgentCommand;
  /**
   * One line of stdout (without the newline) -> normalized payloads. Never throws and never returns an empty
   * array for a non-blank line: a non-JSON line is `malformed`, an unknown type is `unknown`.
   */
  parseLine(line: string): AgentPayload[];
  /** null when the run succeeded; otherwise what went wrong, in the agent's own words. */
  classifyFailure(input: FailureInput): FailureSignal | null;
  /**
   * A retry notice the agent is acting on that can only end one way (a rejected API key is retried for
   * minutes by claude and codex): the orchestrator then ends the run at once and classifies it.
   */
  isHopelessRetry?(payload: AgentPayload): boolean;
  /** Interactive mode over the CLI's own two-way protocol (./conversation.ts); absent: exec mode only. */
  interactive?: InteractiveProtocol;
  /** The CLI speaks only its protocol (ACP): every worker of it runs in interactive mode, reviewers too. */
  interactiveOnly?: boolean;
  /** The binary and its arguments are the worker's `command` (the generic `acp` agent), not `defaultBinary`. */
  commandFromSpec?: boolean;
}
