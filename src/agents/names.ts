/**
 * The agent CLIs there is an adapter for (src/agents/registry.ts holds the adapters; kept apart so help text is cheap).
 */
export const KNOWN_AGENT_NAMES = ['claude', 'codex', 'gemini', 'opencode', 'qwen', 'acp'] as const;
export type KnownAgent = (typeof KNOWN_AGENT_NAMES)[number];
