/** The agent CLIs the orchestrator knows, and where their binaries are. A new CLI is one adapter file here. */
import { agentUses } from '../domain/spec.js';
import type { AgentAdapter } from './types.js';
import { claudeAdapter } from './claude.js';
import { codexAdapter } from './codex.js';
import { geminiAdapter } from './gemini.js';
import { genericAcpAdapter, opencodeAdapter, qwenAdapter } from './acp-agents.js';

import { KNOWN_AGENT_NAMES, type KnownAgent } from './names.js';

export type { KnownAgent };

export const agentRegistry: Record<KnownAgent, AgentAdapter> = {
  claude: claudeAdapter,
  codex: codexAdapter,
  gemini: geminiAdapter,
  opencode: opencodeAdapter,
  qwen: qwenAdapter,
  acp: genericAcpAdapter,
};

export function knownAgents(): string[] {
  return [...KNOWN_AGENT_NAMES];
}

export function getAdapter(name: string): AgentAdapter {
  if (Object.hasOwn(agentRegistry, name)) return agentRegistry[name as KnownAgent];
  throw new Error(`Unknown agent "${name}": use one of ${knownAgents().join(', ')}.`);
}

export interface ResolvedBinary {
  path: string;
  from: 'env' | 'path';
}

/**
 * Where to find an adapter's binary: the adapter's environment variable (ORCHESTRATOR_CLAUDE_BIN...) holds a
 * path that is run as is and wins, so tests and unusual installs can point anywhere; else `which` on PATH.
 * Pure: the caller passes the environment and the PATH lookup.
 */
export function resolveAgentBinary(
  adapter: AgentAdapter,
  env: Record<string, string | undefined>,
  which: (bin: string) => string | null,
): ResolvedBinary | null {
  const fromEnv = env[adapter.binEnvVar]?.trim();
  if (fromEnv) return { path: fromEnv, from: 'env' };
  const found = which(adapter.defaultBinary);
  return found ? { path: found, from: 'path' } : null;
}

/**
 * What a spec asks of the agents that they cannot do, in one line, or null: an agent there is no adapter for, a
 * worker in interactive mode with an agent that has none, a worker or reviewer in exec mode with one that speaks
 * only its protocol.
 */
export function agentProblems(spec: Parameters<typeof agentUses>[0]): string | null {
  const runs = agentUses(spec);
  const unknown = [...new Set(runs.map((r) => r.agent))].filter((a) => !Object.hasOwn(agentRegistry, a));
  if (unknown.length) return `unknown agent(s) ${unknown.join(', ')}: use ${knownAgents().join(', ')}`;
  const named = (bad: typeof runs) => bad.map((r) => `${r.agent} (${r.who})`).join(', ');
  const noInteractive = runs.filter((r) => r.mode === 'interactive' && !getAdapter(r.agent).interactive);
  if (noInteractive.length) {
    const supported = knownAgents().filter((a) => getAdapter(a).interactive);
    return (
      `mode "interactive" is not supported for ${named(noInteractive)} yet: use "exec" there ` +
      `(interactive: ${supported.join(', ')})`
    );
  }
  const noExec = runs.filter((r) => r.mode === 'exec' && getAdapter(r.agent).interactiveOnly);
  if (noExec.length === 0) return null;
  return `mode "exec" is not offered by ${named(noExec)}: it speaks only ACP, so leave "mode" out or say "interactive"`;
}

/**
 * The adapter as a run in `interactive` mode reads its agent:
 * the protocol's own lines and failures where it has them.
 */
export function adapterInMode(adapter: AgentAdapter, interactive: boolean | undefined): AgentAdapter {
  const protocol = interactive ? adapter.interactive : undefined;
  if (!protocol?.parseLine && !protocol?.classifyFailure) return adapter;
  return {
    ...adapter,
    ...(protocol.parseLine ? { parseLine: protocol.parseLine } : {}),
    ...(protocol.classifyFailure ? { classifyFailure: protocol.classifyFailure } : {}),
  };
}
