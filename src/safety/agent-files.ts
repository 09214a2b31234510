/**
 * The agents' own files in the sandbox: where each agent keeps its state (writable inside, made before its first
 * launch), and what no agent may read (the user's credentials, the other agents' state, the spec's denyRead).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isInside, unique } from './paths.js';

/**
 * Where an agent keeps its own state, writable inside the sandbox: its config dir (sessions, which native
 * resume needs, credentials, settings) and the npm cache (npx). CLAUDE_CONFIG_DIR / CODEX_HOME / GEMINI_DIR
 * move the config dir. `create` is made before launch when absent (the agent could not: the home directory is
 * read-only inside); `bind` entries are bound only when they exist.
 */
export interface AgentState {
  create: string[];
  /** Files created with this content when absent (claude hangs at start without a writable ~/.claude.json). */
  createFiles: Record<string, string>;
  bind: string[];
}

export function agentStateDirs(agent: string, home: string, env: Record<string, string | undefined>): AgentState {
  const npm = env.npm_config_cache || join(home, '.npm');
  switch (agent) {
    case 'claude': {
      const config = env.CLAUDE_CONFIG_DIR || join(home, '.claude');
      // Claude writes ~/.claude.json (beside the dir) on every start; its lock and temp files there fail on the
      // read-only home, and it then writes the file in place (its own fallback).
      const file = env.CLAUDE_CONFIG_DIR ? join(config, '.claude.json') : join(home, '.claude.json');
      const state = ['.local/state/claude', '.local/share/claude', '.cache/claude'].map((d) => join(home, d));
      return { create: [config, npm], createFiles: { [file]: '{}\n' }, bind: [config, file, npm, ...state] };
    }
    case 'codex': {
      const config = env.CODEX_HOME || join(home, '.codex');
      return { create: [config, npm], createFiles: {}, bind: [config, npm] };
    }
    case 'gemini': {
      const config = env.GEMINI_DIR || join(home, '.gemini');
      return { create: [config, npm], createFiles: {}, bind: [config, npm] };
    }
    case 'opencode': {
      // The XDG folders: config (and its plugin install), data (sessions, snapshots, auth), state, cache.
      const xdg = (name: string, fallback: string) => join(env[name] || join(home, fallback), 'opencode');
      const dirs = [
        xdg('XDG_CONFIG_HOME', '.config'),
        xdg('XDG_DATA_HOME', '.local/share'),
        xdg('XDG_STATE_HOME', '.local/state'),
        xdg('XDG_CACHE_HOME', '.cache'),
      ];
      return { create: [...dirs, npm], createFiles: {}, bind: [...dirs, npm] };
    }
    case 'qwen': {
      const config = env.QWEN_HOME || join(home, '.qwen');
      return { create: [config, npm], createFiles: {}, bind: [config, npm] };
    }
    case 'acp':
      // Any ACP agent: where it keeps its state is not known here (safety.allowedRoots can make it writable).
      return { create: [npm], createFiles: {}, bind: [npm] };
    default: {
      const config = join(home, `.${agent}`);
      return { create: [config, npm], createFiles: {}, bind: [config, npm] };
    }
  }
}

/** Create what an agent would create on its first run, had it a writable home. */
export function ensureAgentState(state: AgentState): void {
  for (const dir of state.create) if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const [file, content] of Object.entries(state.createFiles)) {
    if (!existsSync(file)) writeFileSync(file, content, { mode: 0o600, flag: 'wx' });
  }
}

/**
 * What no agent reads: the user's credentials, relative to the home directory. Hidden when they exist (a
 * folder behind an empty read-only tmpfs, a file behind /dev/null); the spec's sandbox.denyRead adds paths and
 * sandbox.allowRead re-opens one.
 */
export const CREDENTIAL_PATHS: readonly string[] = [
  '.ssh',
  '.aws',
  '.gnupg',
  '.config/gcloud',
  '.azure',
  '.kube',
  '.docker/config.json',
  '.netrc',
  '.npmrc',
  '.pypirc',
  '.git-credentials',
  '.config/gh',
];

/** The agents whose config folders are hidden from each other (an agent sees only its own). */
export const AGENTS_WITH_STATE: readonly string[] = ['claude', 'codex', 'gemini', 'opencode', 'qwen'];

/**
 * The paths hidden from one agent: the credentials, the other agents' state (but the npm cache they share),
 * and `denyRead`, less what `allowRead` re-opens (a hidden path inside a re-opened one, or equal to it).
 * A re-opened path inside a hidden folder is returned in `reopened`, to be bound back read-only.
 */
export function hiddenPaths(
  agent: string,
  home: string,
  env: Record<string, string | undefined>,
  settings: { denyRead: readonly string[]; allowRead: readonly string[] },
): { hidden: string[]; reopened: string[] } {
  const expand = (p: string) => (p === '~' ? home : p.startsWith('~/') ? join(home, p.slice(2)) : p);
  const own = new Set(agentStateDirs(agent, home, env).bind);
  const others = AGENTS_WITH_STATE.filter((a) => a !== agent).flatMap((a) =>
    agentStateDirs(a, home, env).bind.filter((p) => !own.has(p)),
  );
  const allow = settings.allowRead.map(expand);
  const hidden = unique([
    ...CREDENTIAL_PATHS.map((p) => join(home, p)),
    ...others,
    ...settings.denyRead.map(expand),
  ]).filter((h) => !allow.some((a) => isInside(h, a)));
  const reopened = allow.filter((a) => hidden.some((h) => isInside(a, h) && a !== h));
  return { hidden, reopened };
}
