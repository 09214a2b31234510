/**
 * Gemini CLI (`gemini -p ... --output-format stream-json`). Formats: docs AGENT-FORMATS.md and
 * test/fixtures/transcripts/gemini. Startup failures print nothing on stdout: stderr and the exit code
 * (HTTP status & 255 for API errors) are the evidence.
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
  num,
  parseJsonLine,
  payloadEvidence,
  stderrEvidence,
  str,
  stripAnsi,
  textOf,
  type Evidence,
  type FailureRule,
  type JsonObject,
  retryAtOf,
} from './common.js';
import { AcpConversation, parseAcpLine } from './acp.js';
import { classifyByLastTurn, type InteractiveProtocol } from './conversation.js';

export function buildGeminiCommand(options: LaunchOptions): AgentCommand {
  // yargs reads a value starting with "-" as another option: the `=` form keeps it the prompt's.
  const args = options.prompt.startsWith('-') ? [`--prompt=${options.prompt}`] : ['-p', options.prompt];
  args.push(...(options.readOnly ? ['--approval-mode', 'plan'] : ['--yolo']));
  args.push('--include-directories', [options.targetDir, ...options.includeDirs].join(','));
  args.push('--output-format', 'stream-json');
  if (options.fixes.skipTrust) args.push('--skip-trust');
  if (options.model) args.push('-m', options.model);
  if (options.resume) args.push('--resume', options.resume.agentSessionId);
  return { args, env: {} };
}

const ROLES = { user: 'user', assistant: 'assistant', model: 'assistant', system: 'system' } as const;
const FILE_TOOLS = new Set(['write_file', 'replace', 'edit']);

export function parseGeminiLine(line: string): AgentPayload[] {
  return parseJsonLine(line, (value) => {
    switch (value.type) {
      case 'init':
        return [defined({ kind: 'init', agentSessionId: str(value.session_id), model: str(value.model) })];
      case 'message': {
        const role = lookup(ROLES, value.role);
        if (!role) return [];
        const delta = typeof value.delta === 'boolean' ? value.delta : undefined;
        return [defined({ kind: 'message', role, text: clipMiddle(textOf(value.content)), delta })];
      }
      case 'tool_use':
        return [toolUsePayload(value)];
      case 'tool_result': {
        const error = isObject(value.error) ? str(value.error.message) : undefined;
        return [
          defined({
            kind: 'tool_result',
            toolId: str(value.tool_id),
            ok: value.status === 'success',
            output: clip(str(value.output) ?? error ?? ''),
          }),
        ];
      }
      case 'error':
        return [{ kind: 'error', message: clip(textOf(value.message)), warning: value.severity === 'warning' }];
      case 'result':
        return resultPayloads(value);
      default:
        return [];
    }
  });
}

function toolUsePayload(value: JsonObject): AgentPayload {
  const toolId = str(value.tool_id);
  const name = str(value.tool_name) ?? '(unnamed tool)';
  const parameters = isObject(value.parameters) ? value.parameters : {};
  if (name === 'run_shell_command' && str(parameters.command) !== undefined) {
    return defined({ kind: 'command', status: 'started', command: clip(str(parameters.command) ?? ''), toolId });
  }
  const path = str(parameters.file_path) ?? str(parameters.absolute_path) ?? str(parameters.path);
  if (FILE_TOOLS.has(name) && path !== undefined) {
    const kind = name === 'write_file' ? ('add' as const) : ('update' as const);
    return defined({ kind: 'file_change', status: 'proposed', toolId, changes: [{ path, kind }] });
  }
  if (name === 'write_todos' && Array.isArray(parameters.todos)) {
    const items = parameters.todos.filter(isObject).map((todo) => ({
      text: clip(textOf(todo.description)),
      done: todo.status === 'completed',
    }));
    return { kind: 'plan', items };
  }
  return defined({ kind: 'tool_call', toolId, name, input: value.parameters });
}

function resultPayloads(value: JsonObject): AgentPayload[] {
  const stats = isObject(value.stats) ? value.stats : {};
  const error = isObject(value.error) ? value.error : undefined;
  const message = error ? str(error.message) : undefined;
  return [
    {
      kind: 'usage',
      cumulative: true,
      usage: defined({
        inputTokens: count(stats.input_tokens),
        outputTokens: count(stats.output_tokens),
        cachedInputTokens: count(stats.cached),
        totalTokens: count(stats.total_tokens),
      }),
    },
    defined({
      kind: 'result',
      ok: value.status === 'success',
      text: message !== undefined ? clipMiddle(message) : undefined,
      reason: error ? str(error.type) : undefined,
      durationMs: num(stats.duration_ms),
    }),
  ];
}

function count(value: unknown): number | undefined {
  const n = num(value);
  return n !== undefined && n >= 0 ? n : undefined;
}

/** gemini exits with the HTTP status & 255 after an API error: 144..243 are 4xx, 244..255 are 5xx. */
export function httpStatusFromGeminiExit(exitCode: number | null): number | undefined {
  return exitCode !== null && exitCode >= 144 && exitCode <= 255 ? exitCode + 256 : undefined;
}

const exitIs =
  (...codes: number[]) =>
  (exitCode: number | null) =>
    exitCode !== null && codes.includes(exitCode);
const statusIs =
  (...statuses: number[]) =>
  (status: number) =>
    statuses.includes(status);

// Specific before generic. Exit codes decide on their own, but a line that names the cause is quoted first.
const GEMINI_RULES: readonly FailureRule[] = [
  { kind: 'untrusted_folder', pattern: /not running in a trusted directory/i, exit: exitIs(55) },
  {
    kind: 'auth',
    pattern: new RegExp(
      'Please set an Auth method|Invalid auth method|API key not valid|' +
        'API_KEY_INVALID|PERMISSION_DENIED|UNAUTHENTICATED',
    ),
    status: statusIs(401, 403),
    exit: exitIs(41, 145, 147),
  },
  { kind: 'resume_not_found', pattern: /Error resuming session|Invalid session identifier/i },
  {
    kind: 'max_turns',
    pattern: /max session turns|Maximum session turns/i,
    codes: ['FatalTurnLimitedError'],
    exit: exitIs(53),
  },
  // A 400 or 404 from the API is a request gemini cannot fix by retrying (unknown model, bad parameter).
  {
    kind: 'invalid_args',
    pattern: /Unknown argument|Invalid values|Not enough arguments/i,
    status: statusIs(400, 404),
    exit: exitIs(42, 52, 144, 148),
  },
  { kind: 'quota', pattern: /exhausted your daily quota|TerminalQuotaError/i },
  {
    kind: 'rate_limit',
    pattern: /RESOURCE_EXHAUSTED|Resource has been exhausted|RetryableQuotaError/i,
    status: statusIs(429),
    exit: exitIs(173),
  },
  {
    kind: 'server_error',
    pattern: /"status":\s*"(?:INTERNAL|UNAVAILABLE)"/,
    status: (s) => s >= 500,
    exit: (code) => code !== null && code >= 244 && code <= 255,
  },
  { kind: 'network', pattern: /fetch failed|ENOTFOUND|ECONNREFUSED|ETIMEDOUT|ECONNRESET/i },
];

/** json mode prints its errors on stderr as pretty JSON `{ "session_id", "error": { type, message, code } }`. */
function stderrJsonErrors(stderrTail: string): Evidence[] {
  const found: Evidence[] = [];
  for (const block of stripAnsi(stderrTail).matchAll(/^\{\n[\s\S]*?\n\}$/gm)) {
    try {
      const parsed: unknown = JSON.parse(block[0]);
      const error = isObject(parsed) && isObject(parsed.error) ? parsed.error : undefined;
      const message = error && str(error.message);
      if (!error || !message) continue;
      const code = int(error.code);
      found.push(
        defined({
          text: message,
          code: str(error.type),
          httpStatus: code !== undefined && code >= 400 && code <= 599 ? code : undefined,
        }),
      );
    } catch {
      // Not JSON after all: the line-by-line evidence still has it.
    }
  }
  return found.reverse();
}

export function classifyGeminiFailure(input: FailureInput): FailureSignal | null {
  const lastResult = input.events.findLast((event) => event.kind === 'result');
  const failedResult = lastResult?.kind === 'result' && !lastResult.ok;
  if (input.exitCode === 0 && !failedResult) return null;
  const { final, retrying } = payloadEvidence(input.events);
  const tiers = [[...final, ...stderrJsonErrors(input.stderrTail), ...stderrEvidence(input.stderrTail)], retrying];
  const fallback = fallbackEvidence(tiers, input.exitCode, input.signal);
  const classification = classifyEvidence(GEMINI_RULES, tiers, input.exitCode, fallback);
  const retryAt = retryAtOf(classification, tiers, input.now);
  return failureSignal(input, classification, { retryAt, httpStatus: httpStatusFromGeminiExit(input.exitCode) });
}

/** `gemini --acp`: the Agent Client Protocol (./acp.ts); the folder, mode and prompt go over stdin. */
export function buildGeminiAcpCommand(options: Omit<LaunchOptions, 'prompt'>): AgentCommand {
  const args = ['--acp', '--include-directories', [options.targetDir, ...options.includeDirs].join(',')];
  if (options.fixes.skipTrust) args.push('--skip-trust');
  if (options.model) args.push('-m', options.model);
  return { args, env: {} };
}

const geminiAcp: InteractiveProtocol = {
  since: '0.61.0',
  buildCommand: buildGeminiAcpCommand,
  conversation: ({ launch }) => new AcpConversation(launch),
  parseLine: parseAcpLine,
  classifyFailure: classifyByLastTurn(classifyGeminiFailure),
};

export const geminiAdapter: AgentAdapter = {
  name: 'gemini',
  displayName: 'Gemini CLI',
  npmPackage: '@google/gemini-cli',
  binEnvVar: 'ORCHESTRATOR_GEMINI_BIN',
  defaultBinary: 'gemini',
  buildCommand: buildGeminiCommand,
  resumeCommand: (options, agentSessionId) => buildGeminiCommand({ ...options, resume: { agentSessionId } }),
  parseLine: parseGeminiLine,
  classifyFailure: classifyGeminiFailure,
  interactive: geminiAcp,
};
