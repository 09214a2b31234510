/**
 * Codex CLI (`codex exec --json`). Formats: docs AGENT-FORMATS.md and test/fixtures/transcripts/codex.
 * stdin must be closed (/dev/null) by the caller, else codex waits for it.
 */
import type { AgentPayload, FailureSignal } from '../domain/events.js';
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
  lookup,
  parseJsonLine,
  payloadEvidence,
  stderrEvidence,
  str,
  textOf,
  unknownPayload,
  type FailureRule,
  type JsonObject,
} from './common.js';
import { codexInteractive } from './codex-interactive.js';
import { parseRetryAt } from './retry-time.js';

export function buildCodexCommand(options: LaunchOptions): AgentCommand {
  const args = ['exec', '--json'];
  args.push(...(options.readOnly ? ['--sandbox', 'read-only'] : ['--dangerously-bypass-approvals-and-sandbox']));
  if (options.fixes.skipGitRepoCheck) args.push('--skip-git-repo-check');
  args.push('-C', options.targetDir);
  for (const dir of options.includeDirs) args.push('--add-dir', dir);
  if (options.model) args.push('-m', options.model);
  // Every flag goes before `resume`: the resume subcommand rejects -C and friends.
  if (options.resume) args.push('resume', options.resume.agentSessionId);
  // A prompt starting with "-" would be read as an option; "--" ends the options.
  if (options.prompt.startsWith('-')) args.push('--');
  args.push(options.prompt);
  return { args, env: {} };
}

const COMMAND_STATUS = {
  in_progress: 'started',
  completed: 'completed',
  failed: 'failed',
  declined: 'declined',
} as const;
const CHANGE_KINDS = new Set(['add', 'delete', 'update']);

export function parseCodexLine(line: string): AgentPayload[] {
  return parseJsonLine(line, (value) => {
    switch (value.type) {
      case 'thread.started':
        return [defined({ kind: 'init', agentSessionId: str(value.thread_id) })];
      case 'turn.started':
        return [{ kind: 'message', role: 'system', text: 'turn started' }];
      case 'item.started':
      case 'item.updated':
      case 'item.completed':
        return [itemPayload(value)];
      case 'turn.completed':
        return turnCompleted(value);
      case 'turn.failed': {
        const message = isObject(value.error) ? str(value.error.message) : undefined;
        return [
          defined({
            kind: 'result',
            ok: false,
            text: message !== undefined ? clip(message) : undefined,
            errors: message ? [clip(message)] : undefined,
          }),
        ];
      }
      case 'error': {
        const message = str(value.message) ?? textOf(value);
        // Top-level errors are mostly retry notices: codex keeps going after them.
        return [{ kind: 'error', message: clip(message), retrying: message.startsWith('Reconnecting...') }];
      }
      default:
        return [];
    }
  });
}

function itemPayload(value: JsonObject): AgentPayload {
  const event = str(value.type) ?? 'item';
  if (!isObject(value.item)) return unknownPayload(value, event);
  const item = value.item;
  const toolId = str(item.id);
  switch (item.type) {
    case 'agent_message':
      return defined({ kind: 'message', role: 'assistant', text: clipMiddle(textOf(item.text)), messageId: toolId });
    case 'reasoning':
      return { kind: 'reasoning', text: clip(textOf(item.text)) };
    case 'command_execution': {
      const status = lookup(COMMAND_STATUS, item.status) ?? (event === 'item.completed' ? 'completed' : 'started');
      const output = str(item.aggregated_output);
      return defined({
        kind: 'command',
        toolId,
        command: clip(textOf(item.command)),
        status,
        exitCode: item.exit_code === null ? null : int(item.exit_code),
        output: output ? clip(output) : undefined,
      });
    }
    case 'file_change': {
      const changes = (Array.isArray(item.changes) ? item.changes.filter(isObject) : []).flatMap((change) => {
        const path = str(change.path);
        const kind = str(change.kind) ?? 'update';
        return path === undefined
          ? []
          : [{ path, kind: CHANGE_KINDS.has(kind) ? (kind as 'add' | 'delete' | 'update') : 'update' }];
      });
      // An in-progress patch has not been applied yet: it is only proposed.
      const status = item.status === 'failed' ? 'failed' : item.status === 'in_progress' ? 'proposed' : 'completed';
      return defined({ kind: 'file_change', toolId, changes, status });
    }
    case 'mcp_tool_call':
      return mcpPayload(event, item, toolId);
    case 'web_search':
      return defined({ kind: 'tool_call', toolId, name: 'web_search', input: { query: str(item.query) } });
    case 'todo_list': {
      const items = (Array.isArray(item.items) ? item.items.filter(isObject) : []).map((todo) => ({
        text: clip(textOf(todo.text)),
        done: todo.completed === true,
      }));
      return { kind: 'plan', items };
    }
    case 'error':
      // Error items are warnings (deprecations, transport fallbacks); the turn goes on.
      return { kind: 'error', message: clip(textOf(item.message)), warning: true };
    default:
      return unknownPayload(value, `item.${str(item.type) ?? '(no type)'}`);
  }
}

function mcpPayload(event: string, item: JsonObject, toolId: string | undefined): AgentPayload {
  const name = `${str(item.server) ?? '?'}.${str(item.tool) ?? '?'}`;
  if (event !== 'item.completed') return defined({ kind: 'tool_call', toolId, name, input: item.arguments });
  const error = isObject(item.error) ? (str(item.error.message) ?? textOf(item.error)) : str(item.error);
  const result = isObject(item.result) && item.result.content !== undefined ? item.result.content : item.result;
  const output = error ?? textOf(result);
  return defined({
    kind: 'tool_result',
    toolId,
    ok: item.status === 'completed' && !error,
    output: output ? clip(output) : undefined,
  });
}

function turnCompleted(value: JsonObject): AgentPayload[] {
  const usage = isObject(value.usage) ? value.usage : {};
  return [
    {
      kind: 'usage',
      cumulative: true,
      usage: defined({
        inputTokens: count(usage.input_tokens),
        cachedInputTokens: count(usage.cached_input_tokens),
        outputTokens: count(usage.output_tokens),
        reasoningTokens: count(usage.reasoning_output_tokens),
      }),
    },
    { kind: 'result', ok: true },
  ];
}

function count(value: unknown): number | undefined {
  const n = int(value);
  return n !== undefined && n >= 0 ? n : undefined;
}

const CODEX_RULES: readonly FailureRule[] = [
  { kind: 'not_git_repo', pattern: /Not inside a trusted directory and --skip-git-repo-check was not specified/i },
  { kind: 'resume_not_found', pattern: /no rollout found for thread id|thread not found/i },
  { kind: 'auth', pattern: /401 Unauthorized|Incorrect API key|invalid_api_key|Not logged in/i },
  { kind: 'quota', pattern: /Quota exceeded|insufficient_quota/i },
  {
    kind: 'rate_limit',
    pattern: new RegExp(
      "You[’']ve hit your usage limit|429 Too Many Requests|" +
        'exceeded retry limit, last status: 429|usage_limit_reached',
      'i',
    ),
  },
  {
    kind: 'server_error',
    pattern:
      /status:? 5\d\d\b|Internal Server Error|Bad Gateway|Service Unavailable|Gateway Timeout|high demand|overloaded/i,
  },
  {
    kind: 'invalid_args',
    pattern: [
      new RegExp(
        'error: unexpected argument|error: invalid value|error: unrecognized subcommand|' +
          'does not exist or you do not have access',
        'i',
      ),
      /Usage: codex/,
    ],
  },
  {
    kind: 'network',
    pattern:
      /waiting for network|stream disconnected|failed to lookup address|Connection failed|error sending request/i,
  },
];

export function classifyCodexFailure(input: FailureInput): FailureSignal | null {
  if (input.exitCode === 0) return null;
  const { final, retrying } = payloadEvidence(input.events);
  // Retry notices are a tier of their own: when codex is killed while "Reconnecting... waiting for
  // network", they are all the evidence there is; when a turn failed, its final error decides.
  const tiers = [[...final, ...stderrEvidence(input.stderrTail)], retrying];
  const fallback = fallbackEvidence(tiers, input.exitCode, input.signal);
  const classification = classifyEvidence(CODEX_RULES, tiers, input.exitCode, fallback);
  let retryAt: string | undefined;
  if (classification.kind === 'rate_limit' || classification.kind === 'quota') {
    retryAt = parseRetryAt(classification.evidence.text, input.now);
  }
  return failureSignal(input, classification, { retryAt });
}

/** codex reconnects even on a rejected key ("Reconnecting... 1/5 (unexpected status 401 Unauthorized ...)"). */
export function isHopelessCodexRetry(payload: AgentPayload): boolean {
  return payload.kind === 'error' && payload.retrying === true && /\b401 Unauthorized\b/.test(payload.message);
}

export const codexAdapter: AgentAdapter = {
  name: 'codex',
  displayName: 'Codex CLI',
  npmPackage: '@openai/codex',
  binEnvVar: 'ORCHESTRATOR_CODEX_BIN',
  defaultBinary: 'codex',
  buildCommand: buildCodexCommand,
  resumeCommand: (options, agentSessionId) => buildCodexCommand({ ...options, resume: { agentSessionId } }),
  parseLine: parseCodexLine,
  classifyFailure: classifyCodexFailure,
  isHopelessRetry: isHopelessCodexRetry,
  interactive: codexInteractive,
};
