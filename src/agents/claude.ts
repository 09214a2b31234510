/**
 * Claude Code (`claude --print --output-format stream-json --verbose`). Formats: docs AGENT-FORMATS.md and
 * test/fixtures/transcripts/claude.
 */
import type { AgentPayload, AgentPayloadOf, FailureSignal } from '../domain/events.js';
import type { AgentAdapter, AgentCommand, FailureInput, LaunchOptions } from './types.js';
import {
  classifyEvidence,
  clip,
  clipMiddle,
  defined,
  failureSignal,
  fallbackEvidence,
  int,
  isObject,
  num,
  parseJsonLine,
  payloadEvidence,
  stderrEvidence,
  str,
  textOf,
  unknownPayload,
  type FailureRule,
  type JsonObject,
  retryAtOf,
} from './common.js';
import { claudeInteractive } from './claude-interactive.js';

export function buildClaudeCommand(options: LaunchOptions): AgentCommand {
  const args = ['--print'];
  args.push(...(options.readOnly ? ['--permission-mode', 'plan'] : ['--dangerously-skip-permissions']));
  args.push('--strict-mcp-config');
  // `--add-dir <directories...>` is variadic: the separate form would swallow the prompt as a directory.
  for (const dir of [options.targetDir, ...options.includeDirs]) args.push(`--add-dir=${dir}`);
  args.push('--output-format', 'stream-json', '--verbose');
  if (options.model) args.push('--model', options.model);
  if (options.resume) args.push('--resume', options.resume.agentSessionId);
  // A prompt starting with "-" would be read as an option; "--" ends the options.
  if (options.prompt.startsWith('-')) args.push('--');
  args.push(options.prompt);
  const env: Record<string, string> = options.fixes.isSandbox ? { IS_SANDBOX: '1' } : {};
  return { args, env };
}

const FILE_TOOLS = new Set(['Write', 'Edit', 'MultiEdit', 'NotebookEdit']);

export function parseClaudeLine(line: string): AgentPayload[] {
  return parseJsonLine(line, (value) => {
    switch (value.type) {
      case 'system':
        return [systemPayload(value)];
      case 'assistant':
        return assistantPayloads(value);
      case 'user':
        return userPayloads(value);
      case 'result':
        return resultPayloads(value);
      case 'rate_limit_event':
        return [rateLimitPayload(value)];
      default:
        return [];
    }
  });
}

function systemPayload(value: JsonObject): AgentPayload {
  const subtype = str(value.subtype);
  if (subtype === 'init') {
    return defined({
      kind: 'init',
      agentSessionId: str(value.session_id),
      model: str(value.model),
      cwd: str(value.cwd),
    });
  }
  if (subtype === 'api_retry') {
    const status = int(value.error_status);
    const code = str(value.error);
    const cause = [status, code].filter((part) => part !== undefined).join(' ') || 'unknown error';
    const attempt = `${int(value.attempt) ?? '?'}/${int(value.max_retries) ?? '?'}`;
    const delay = num(value.retry_delay_ms);
    return defined({
      kind: 'error',
      message: `API retry ${attempt}${delay !== undefined ? ` after ${Math.round(delay)} ms` : ''}: ${cause}`,
      retrying: true,
      httpStatus: status,
      code,
    });
  }
  if (subtype === 'permission_denied') {
    const tool = str(value.tool_name) ?? 'a tool';
    const why = str(value.decision_reason) ?? str(value.message);
    return {
      kind: 'error',
      warning: true,
      code: 'permission_denied',
      message: clip(`permission denied for ${tool}${why ? `: ${why}` : ''}`),
    };
  }
  return unknownPayload(value, `system/${subtype ?? '(no subtype)'}`);
}

function assistantPayloads(value: JsonObject): AgentPayload[] {
  const message = isObject(value.message) ? value.message : {};
  const blocks = Array.isArray(message.content) ? message.content.filter(isObject) : [];
  // An API failure arrives as a synthetic assistant message (model "<synthetic>") with a top-level `error`.
  if (value.error !== undefined && value.error !== null) {
    const text = blocks
      .map((block) => textOf(block.text))
      .join('\n')
      .trim();
    return [
      defined({
        kind: 'error' as const,
        message: clip(text || String(value.error)),
        httpStatus: int(value.api_error_status),
        code: str(value.error),
      }),
    ];
  }
  const messageId = str(message.id);
  return blocks.map((block): AgentPayload => {
    switch (block.type) {
      case 'text':
        return defined({ kind: 'message', role: 'assistant', text: clipMiddle(textOf(block.text)), messageId });
      case 'thinking':
        return { kind: 'reasoning', text: clip(str(block.thinking) ?? textOf(block.text)) };
      case 'tool_use':
        return toolUsePayload(block);
      default:
        return unknownPayload(block, `assistant/${str(block.type) ?? '(no type)'}`);
    }
  });
}

function toolUsePayload(block: JsonObject): AgentPayload {
  const toolId = str(block.id);
  const name = str(block.name) ?? '(unnamed tool)';
  const input = isObject(block.input) ? block.input : {};
  if (name === 'Bash' && str(input.command) !== undefined) {
    return defined({ kind: 'command', status: 'started', command: clip(str(input.command) ?? ''), toolId });
  }
  const path = str(input.file_path) ?? str(input.notebook_path);
  if (FILE_TOOLS.has(name) && path !== undefined) {
    const kind = name === 'Write' ? ('add' as const) : ('update' as const);
    return defined({ kind: 'file_change', status: 'proposed', toolId, changes: [{ path, kind }] });
  }
  if (name === 'TodoWrite' && Array.isArray(input.todos)) {
    const items = input.todos.filter(isObject).map((todo) => ({
      text: clip(textOf(todo.content)),
      done: todo.status === 'completed',
    }));
    return { kind: 'plan', items };
  }
  return defined({ kind: 'tool_call', toolId, name, input: block.input });
}

function userPayloads(value: JsonObject): AgentPayload[] {
  const message = isObject(value.message) ? value.message : {};
  if (typeof message.content === 'string') return [{ kind: 'message', role: 'user', text: clip(message.content) }];
  const blocks = Array.isArray(message.content) ? message.content.filter(isObject) : [];
  return blocks.map((block): AgentPayload => {
    if (block.type === 'tool_result') {
      return defined({
        kind: 'tool_result',
        toolId: str(block.tool_use_id),
        ok: block.is_error !== true,
        output: clip(textOf(block.content)),
      });
    }
    if (block.type === 'text') return { kind: 'message', role: 'user', text: clip(textOf(block.text)) };
    return unknownPayload(block, `user/${str(block.type) ?? '(no type)'}`);
  });
}

function resultPayloads(value: JsonObject): AgentPayload[] {
  const usage = isObject(value.usage) ? value.usage : {};
  const usagePayload: AgentPayloadOf<'usage'> = {
    kind: 'usage',
    cumulative: true,
    usage: defined({
      inputTokens: count(usage.input_tokens),
      outputTokens: count(usage.output_tokens),
      cachedInputTokens: count(usage.cache_read_input_tokens),
      costUsd: count(value.total_cost_usd),
    }),
  };
  const errors = Array.isArray(value.errors) ? value.errors.map((e) => clip(textOf(e))) : undefined;
  const result: AgentPayloadOf<'result'> = defined({
    kind: 'result' as const,
    // `is_error` is the failure flag: a failed API call still ends with subtype "success".
    ok: typeof value.is_error === 'boolean' ? !value.is_error : value.subtype === 'success',
    text: str(value.result) !== undefined ? clipMiddle(str(value.result) ?? '') : undefined,
    reason: str(value.terminal_reason) ?? str(value.startup_failure_reason) ?? str(value.subtype),
    errorType: str(value.api_error_type),
    errors,
    httpStatus: int(value.api_error_status),
    numTurns: int(value.num_turns),
    durationMs: num(value.duration_ms),
  });
  return [usagePayload, result];
}

function count(value: unknown): number | undefined {
  const n = num(value);
  return n !== undefined && n >= 0 ? n : undefined;
}

function rateLimitPayload(value: JsonObject): AgentPayload {
  const info = isObject(value.rate_limit_info) ? value.rate_limit_info : {};
  const status = str(info.status) ?? 'unknown';
  const resetsAt = num(info.resetsAt);
  const resets = resetsAt !== undefined ? `, resets at ${new Date(resetsAt * 1000).toISOString()}` : '';
  return {
    kind: 'error',
    code: 'rate_limit',
    warning: status !== 'rejected',
    message: `rate limit ${status}${resets}`,
  };
}

const is =
  (...statuses: number[]) =>
  (status: number) =>
    statuses.includes(status);

// Specific before generic: the first rule a piece of evidence supports decides.
const CLAUDE_RULES: readonly FailureRule[] = [
  { kind: 'root_bypass_refused', pattern: /cannot be used with root\/sudo privileges/i, codes: ['bypass_root'] },
  {
    kind: 'auth',
    pattern: /Not logged in|Invalid API key|OAuth token (?:has expired|revoked)|authentication_error/i,
    codes: ['authentication_failed', 'authentication_error', 'permission_error'],
    status: is(401, 403),
  },
  { kind: 'quota', pattern: /credit balance is too low|billing_error/i, codes: ['billing_error'] },
  {
    kind: 'rate_limit',
    pattern: new RegExp(
      String.raw`Request rejected \(429\)|rate_limit_error|usage limit reached|` +
        "You[’']ve hit your (?:usage )?limit|rate limit rejected",
      'i',
    ),
    codes: ['rate_limit', 'rate_limit_error'],
    status: is(429),
  },
  {
    kind: 'server_error',
    pattern: /overloaded|server_error|Internal server error/i,
    codes: ['overloaded', 'server_error', 'overloaded_error'],
    status: (s) => s >= 500,
  },
  { kind: 'max_turns', pattern: /Reached maximum number of turns/i, codes: ['error_max_turns', 'max_turns'] },
  { kind: 'resume_not_found', pattern: /No conversation found with session ID/i },
  {
    kind: 'invalid_args',
    pattern: /requires --verbose|error: unknown option|error: option|error: too many arguments|Input must be provided/i,
    codes: ['invalid_request', 'model_not_found'],
  },
  {
    kind: 'network',
    pattern: /Connection error|ECONNREFUSED|ENOTFOUND|ETIMEDOUT|ECONNRESET|fetch failed|Unable to connect/i,
  },
];

export function classifyClaudeFailure(input: FailureInput): FailureSignal | null {
  const { final, retrying } = payloadEvidence(input.events);
  const lastResult = input.events.findLast((event) => event.kind === 'result');
  const failedResult = lastResult?.kind === 'result' && !lastResult.ok;
  if (input.exitCode === 0 && !failedResult) return null;
  const tiers = [[...final, ...stderrEvidence(input.stderrTail)], retrying];
  const fallback = fallbackEvidence(tiers, input.exitCode, input.signal);
  const classification = classifyEvidence(CLAUDE_RULES, tiers, input.exitCode, fallback);
  // The rejected rate_limit_event names the reset time; the deciding message may name one too.
  return failureSignal(input, classification, { retryAt: retryAtOf(classification, tiers, input.now) });
}

/** claude retries even a rejected key (10 times by default, minutes of backoff): authentication cannot heal. */
export function isHopelessClaudeRetry(payload: AgentPayload): boolean {
  return (
    payload.kind === 'error' &&
    payload.retrying === true &&
    (payload.code === 'authentication_failed' || payload.code === 'billing_error' || payload.httpStatus === 401)
  );
}

export const claudeAdapter: AgentAdapter = {
  name: 'claude',
  displayName: 'Claude Code',
  npmPackage: '@anthropic-ai/claude-code',
  binEnvVar: 'ORCHESTRATOR_CLAUDE_BIN',
  defaultBinary: 'claude',
  buildCommand: buildClaudeCommand,
  resumeCommand: (options, agentSessionId) => buildClaudeCommand({ ...options, resume: { agentSessionId } }),
  parseLine: parseClaudeLine,
  classifyFailure: classifyClaudeFailure,
  isHopelessRetry: isHopelessClaudeRetry,
  interactive: claudeInteractive,
};
