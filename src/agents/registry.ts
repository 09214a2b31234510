/** The agent CLIs the orchestrator knows, and where their binaries are. A new CLI is one adapter file here. */
import type { AgentAdapter } from './types.js';
import { claudeAdapter } from './claude.js';
import { codexAdapter } from './codex.js';
import { geminiAdapter } from './gemini.js';

import { KNOWN_AGENT_NAMES, type KnownAgent } from './names.js';

export type { KnownAgent };

export const agentRegistry: Record<KnownAgent, AgentAdapter> = {
  claude: claudeAdapter,
  codex: codexAdapter,
  gemini: geminiAdapter,
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

/** Workers that ask for interactive mode with an agent that has none yet: one line naming them, or null. */
export function interactiveUnsupported(workers: ReadonlyArray<{ id: string; agent: string; mode?: string }>) {
  const bad = workers.filter(
    (w) => w.mode === 'interactive' && Object.hasOwn(agentRegistry, w.agent) && !getAdapter(w.agent).interactive,
  );
  if (bad.length === 0) return null;
  const supported = knownAgents()
    .filter((a) => getAdapter(a).interactive)
    .join(', ');
  const named = bad.map((w) => `${w.agent} (worker "${w.id}")`).join(', ');
  return `mode "interactive" is not supported for ${named} yet: use "exec" there (interactive: ${supported})`;
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
