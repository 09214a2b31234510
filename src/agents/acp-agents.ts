/**
 * Agents that speak only ACP (./acp.ts): the generic `acp` agent, which runs whatever ACP agent a worker's `command`
 * names (`["opencode", "acp"]`), and the named adapters built the same way. They have no exec mode: every worker and
 * reviewer of theirs runs in interactive mode, its permissions asked before each tool runs.
 */
import type { FailureSignal } from '../domain/events.js';
import { AcpConversation, parseAcpLine } from './acp.js';
import {
  classifyEvidence,
  type FailureRule,
  failureSignal,
  fallbackEvidence,
  payloadEvidence,
  stderrEvidence,
  retryAtOf,
} from './common.js';
import { classifyByLastTurn, type InteractiveProtocol } from './conversation.js';
import type { AgentAdapter, AgentCommand, FailureInput, LaunchOptions } from './types.js';

/**
 * What any agent behind a model API says when it fails, in the words such APIs and their SDKs use. An agent with
 * its own words passes its rules first.
 */
export const MODEL_API_RULES: readonly FailureRule[] = [
  {
    kind: 'auth',
    pattern: [
      /(?:invalid|incorrect).{0,20}api.?key|invalid x-api-key|unauthori[sz]ed/i,
      /authentication|not logged in|please log ?in/i,
    ],
    status: (s) => s === 401 || s === 403,
  },
  { kind: 'quota', pattern: /insufficient_quota|exceeded your (?:current )?quota|billing/i },
  { kind: 'rate_limit', pattern: /rate.?limit|too many requests|resource.?exhausted/i, status: (s) => s === 429 },
  {
    kind: 'server_error',
    pattern: /overloaded|internal server error|service unavailable|bad gateway|the server had an error/i,
    status: (s) => s >= 500,
  },
  { kind: 'invalid_args', status: (s) => s === 400 || s === 404 },
  { kind: 'network', pattern: /fetch failed|ENOTFOUND|ECONNREFUSED|ETIMEDOUT|ECONNRESET|EAI_AGAIN|socket hang up/i },
];

/** A failed ACP run, by MODEL_API_RULES, from its last turn's error and its stderr. */
const classifyAcpFailure = classifyByLastTurn((input: FailureInput): FailureSignal | null => {
  const { final, retrying } = payloadEvidence(input.events);
  const tiers = [[...final, ...stderrEvidence(input.stderrTail)], retrying];
  const fallback = fallbackEvidence(tiers, input.exitCode, input.signal);
  const classification = classifyEvidence(MODEL_API_RULES, tiers, input.exitCode, fallback);
  const retryAt = retryAtOf(classification, tiers, input.now);
  return failureSignal(input, classification, retryAt ? { retryAt } : {});
});

export interface AcpAgentDefinition {
  name: string;
  displayName: string;
  npmPackage: string;
  binEnvVar: string;
  defaultBinary: string;
  /** The first version the adapter is tested with (docs/compatibility.md). */
  since: string;
  /** argv after the binary: the switch into ACP (`acp`, `--acp`), then what the launch options ask for. */
  args(options: Omit<LaunchOptions, 'prompt'>): string[];
  env?(options: Omit<LaunchOptions, 'prompt'>): Record<string, string>;
}

/** An adapter for an agent that speaks only ACP: its exec-mode entries are its ACP ones (no exec mode is offered). */
export function acpOnlyAdapter(definition: AcpAgentDefinition): AgentAdapter {
  const buildCommand = (options: Omit<LaunchOptions, 'prompt'>): AgentCommand => ({
    args: definition.args(options),
    env: definition.env?.(options) ?? {},
  });
  const protocol: InteractiveProtocol = {
    since: definition.since,
    buildCommand,
    conversation: ({ launch }) => new AcpConversation(launch),
    parseLine: parseAcpLine,
    classifyFailure: classifyAcpFailure,
  };
  return {
    name: definition.name,
    displayName: definition.displayName,
    npmPackage: definition.npmPackage,
    binEnvVar: definition.binEnvVar,
    defaultBinary: definition.defaultBinary,
    buildCommand,
    // A new attempt starts a new ACP session, its prompt saying what was done (session/load is not relied on).
    resumeCommand: (options) => buildCommand(options),
    parseLine: parseAcpLine,
    classifyFailure: classifyAcpFailure,
    interactive: protocol,
    interactiveOnly: true,
  };
}

/**
 * `{"agent": "acp", "command": ["opencode", "acp"]}`: any ACP agent, its program and arguments the worker's own
 * (src/runtime/binaries.ts finds the program). Nothing is added to its argv: the model and the folder go over ACP.
 */
export const genericAcpAdapter: AgentAdapter = {
  ...acpOnlyAdapter({
    name: 'acp',
    displayName: 'ACP agent',
    npmPackage: '',
    binEnvVar: '',
    defaultBinary: '',
    since: '0.0.0',
    args: (options) => options.command?.slice(1) ?? [],
  }),
  commandFromSpec: true,
};

/**
 * opencode (`opencode acp`, npm opencode-ai). Its own defaults run every command and edit without asking, so the
 * configuration it is given (OPENCODE_CONFIG_CONTENT, merged over the user's own) makes its build agent ask before
 * both and its plan agent (a reviewer's mode) before a command. Its model (`provider/model`) goes the same way:
 * `opencode acp` takes no model flag.
 */
export const opencodeAdapter = acpOnlyAdapter({
  name: 'opencode',
  displayName: 'opencode',
  npmPackage: 'opencode-ai',
  binEnvVar: 'ORCHESTRATOR_OPENCODE_BIN',
  defaultBinary: 'opencode',
  since: '1.18.33',
  args: () => ['acp'],
  env: (options) => ({
    OPENCODE_CONFIG_CONTENT: JSON.stringify({
      ...(options.model ? { model: options.model } : {}),
      agent: {
        build: { permission: { bash: 'ask', edit: 'ask', webfetch: 'ask' } },
        plan: { permission: { bash: 'ask', webfetch: 'ask' } },
      },
    }),
  }),
});

/**
 * Qwen Code (`qwen --acp`, npm @qwen-code/qwen-code; a Gemini CLI fork). Its sessions start in its own `auto` mode,
 * where a classifier approves actions without asking: `--approval-mode default` makes it ask the host.
 */
export const qwenAdapter = acpOnlyAdapter({
  name: 'qwen',
  displayName: 'Qwen Code',
  npmPackage: '@qwen-code/qwen-code',
  binEnvVar: 'ORCHESTRATOR_QWEN_BIN',
  defaultBinary: 'qwen',
  since: '0.24.4',
  args: (options) => [
    '--acp',
    '--approval-mode',
    'default',
    ...(options.includeDirs.length > 0 ? ['--include-directories', options.includeDirs.join(',')] : []),
    ...(options.model ? ['-m', options.model] : []),
  ],
});
