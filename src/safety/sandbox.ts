/**
 * The sandbox: bubblewrap around each agent, or nothing.
 *
 * Inside bwrap the agent sees the whole filesystem read-only, except what it must write: the target directory
 * (or its worktree), its include dirs and the allowed roots, its own config/cache directories (it keeps its
 * sessions there, which native resume needs) and a private /tmp. The orchestrator's workspace (session logs,
 * exit files, the API token) is hidden behind an empty read-only tmpfs. The network stays (agents call their
 * model's API).
 *
 * bwrap wraps the agent INSIDE the launch wrapper (src/actors/process-group.ts): the wrapper, outside the
 * sandbox, opens the output files and writes the exit file, so the agent can neither read nor forge them.
 * Deliberately not used: --die-with-parent (an agent must outlive an orchestrator crash and be re-attached by
 * pid), --unshare-pid (the agent would be pid 1 of its namespace, which ignores SIGTERM without a handler, and
 * its pid would not be the one /proc shows us), --new-session (it would leave our process group, so pause and
 * stop of the group would miss it; there is no terminal to protect: the wrapper has none and stdin is /dev/null).
 */
import { existsSync, lstatSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LaunchRequest } from '../actors/process-group.js';
import type { SandboxMode } from '../domain/spec.js';
import { UsageError } from '../runtime/session-manager.js';
import { probeBwrap, type BwrapProbe } from './bwrap-probe.js';
import { isInside } from './policy.js';

export interface SandboxDecision {
  mode: 'bwrap' | 'none';
  /** Why, in words for the session log and the CLI. */
  reason: string;
  /** true when "auto" wanted bwrap and could not have it: the CLI warns, the session logs a `warn`. */
  fellBack: boolean;
  probe: BwrapProbe | null;
}

/** Decide the sandbox of a session. "bwrap" that cannot be had is a usage error that says how to fix it. */
export async function resolveSandbox(mode: SandboxMode, options: { pathVar?: string; probe?: BwrapProbe } = {}): Promise<SandboxDecision> {
  if (mode === 'none') return decideSandbox(mode, null);
  return decideSandbox(mode, options.probe ?? (await probeBwrap(options.pathVar ?? process.env.PATH ?? '')));
}

/** resolveSandbox with the probe already done (the session manager decides synchronously). */
export function decideSandbox(mode: SandboxMode, probe: BwrapProbe | null): SandboxDecision {
  if (mode === 'none') return { mode: 'none', reason: '"sandbox": "none": agents run unconfined, with the rights of this user', fellBack: false, probe };
  if (probe?.available) return { mode: 'bwrap', reason: `agents run in bubblewrap (${probe.version ?? probe.path}): read-only filesystem except each agent's own checkout (or the target, in place), their config dirs and a private /tmp`, fellBack: false, probe };
  const why = probe?.reason ?? 'bubblewrap was not probed';
  if (mode === 'bwrap') {
    throw new UsageError(`the spec asks for "sandbox": "bwrap", but ${why}. Install bubblewrap (apt-get install bubblewrap) and allow user namespaces, or use "sandbox": "auto" (falls back to none) or "none".`);
  }
  return { mode: 'none', reason: `no sandbox: ${why}; agents run unconfined ("sandbox": "auto" fell back to none)`, fellBack: true, probe };
}

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

export interface BwrapPlan {
  bwrapPath: string;
  /** Writable inside (bound in place); absent paths are skipped. */
  writable: readonly string[];
  /** Hidden behind an empty read-only tmpfs (the workspace). */
  hidden: readonly string[];
  /** Bound read-only on top (the agent binary: under /tmp it would vanish behind the private /tmp). */
  readable?: readonly string[];
  /** false: a network namespace of its own with nothing in it (git in a checkout needs no network). */
  network?: boolean;
  cwd: string;
}

/** The bwrap arguments before `--` (order matters: a later mount covers an earlier one). */
export function bwrapArgs(plan: BwrapPlan): string[] {
  const writable = unique(plan.writable.filter((p) => existsSync(p)).map(real));
  // A hidden dir under /tmp that nothing writable contains is already invisible: /tmp is a fresh tmpfs.
  const hidden = unique(plan.hidden.filter((p) => existsSync(p)).map(real)).filter((h) => !isInside(h, '/tmp') || writable.some((w) => isInside(h, w)));
  const present = (plan.readable ?? []).filter((p) => existsSync(p));
  // A readable path is bound at its real path. A path that is itself a symlink (a package's node_modules linked
  // elsewhere) cannot be a mount point: it stays a symlink, recreated inside when /tmp's privacy would hide it.
  const readable = unique(present.flatMap((p) => (isSymlink(p) ? [real(p)] : [p, real(p)])));
  const bound = [...writable, ...readable];
  const links = unique(present.filter(isSymlink)).filter((p) => isInside(p, '/tmp') && !bound.some((b) => b !== p && isInside(p, b)));
  const mounts = [
    ...writable.map((path) => ({ path, args: ['--bind', path, path] })),
    ...hidden.map((path) => ({ path, args: ['--tmpfs', path] })),
    ...readable.map((path) => ({ path, args: ['--ro-bind', path, path] })),
  ];
  // Parents before children, so a bind inside a hidden workspace (or a workspace inside the target) comes out right.
  mounts.sort((a, b) => depth(a.path) - depth(b.path));
  mounts.push(...links.map((path) => ({ path, args: ['--symlink', real(path), path] })));
  // A hidden directory turns read-only only after the binds inside it (a checkout in the workspace): bwrap creates
  // their mount points in it first.
  mounts.push(...hidden.map((path) => ({ path, args: ['--remount-ro', path] })));
  return [
    '--ro-bind', '/', '/',
    '--dev', '/dev',
    '--proc', '/proc',
    '--tmpfs', '/tmp',
    '--unshare-ipc',
    ...(plan.network === false ? ['--unshare-net'] : []),
    ...mounts.flatMap((m) => m.args),
    '--setenv', 'TMPDIR', '/tmp',
    '--unsetenv', 'ORCHESTRATOR_TOKEN',
    '--chdir', plan.cwd,
  ];
}

/** Any command inside bwrap (a setup command, git in a checkout an agent wrote). */
export function bwrapCommand(command: { file: string; args: readonly string[]; cwd: string }, plan: Omit<BwrapPlan, 'cwd'>): { file: string; args: string[] } {
  return { file: plan.bwrapPath, args: [...bwrapArgs({ ...plan, cwd: command.cwd }), '--', command.file, ...command.args] };
}

/** The launch with the agent inside bwrap; the unchanged wrapper script runs bwrap. */
export function bwrapWrap(request: LaunchRequest, plan: Omit<BwrapPlan, 'cwd'>): LaunchRequest {
  const readable = [...(plan.readable ?? []), request.file];
  return { ...request, file: plan.bwrapPath, args: [...bwrapArgs({ ...plan, readable, cwd: request.cwd }), '--', request.file, ...request.args] };
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

function unique(paths: string[]): string[] {
  return [...new Set(paths)];
}

function depth(path: string): number {
  return path.split('/').filter(Boolean).length;
}
