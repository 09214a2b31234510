/**
 * The sandbox: bubblewrap around each agent, or nothing.
 *
 * Inside bwrap the agent sees the filesystem read-only, except what it must write: its own checkout (or the
 * target, in place), its include dirs and the allowed roots, its own config/cache directories (it keeps its
 * sessions there, which native resume needs) and a private /tmp. What it must not read is hidden: the user's
 * credentials (~/.ssh, ~/.aws, … CREDENTIAL_PATHS), the other agents' config folders, the orchestrator's
 * workspace (session logs, exit files, the API token) — each behind an empty read-only tmpfs, or an empty file
 * for a file. Its network is a namespace of its own whose one way out is a proxy with an allowlist
 * (src/safety/network.ts). Its processes are a PID namespace of their own: `pkill node` inside sees only them.
 *
 * bwrap wraps the agent INSIDE the launch wrapper (src/actors/process-group.ts): the wrapper, outside the
 * sandbox, opens the output files and writes the exit file, so the agent can neither read nor forge them.
 * Deliberately not used:
 * - --die-with-parent: an agent must outlive an orchestrator crash and be re-attached by pid.
 * - --as-pid-1: bwrap's own reaper is pid 1 of the namespace and the agent runs below it, so the agent handles
 *   SIGTERM as it always does (a pid 1 ignores signals it has no handler for). Every process inside keeps its
 *   host pid and the launch wrapper's process group (test/integration/safety-confinement.test.ts checks it), so
 *   pause, stop and re-attach act on the group from outside as before; /proc inside is the namespace's own.
 * - --new-session: it would leave our process group, so pause and stop of the group would miss it. There is no
 *   terminal to inject into (TIOCSTI): the wrapper is a session leader without one (setsid), stdin is /dev/null,
 *   and /dev inside is bwrap's own, without the host's ptys; /dev/tty cannot be opened (tested).
 */
import {
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  realpathSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { LaunchRequest } from '../actors/process-group.js';
import type { SandboxMode } from '../domain/spec.js';
import { UsageError } from '../runtime/session-manager.js';
import { probeBwrap, type BwrapProbe } from './bwrap-probe.js';
import { which } from '../runtime/binaries.js';
import { BRIDGE_SCRIPT, PROXY_PORT, proxyEnv } from './network.js';
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
export async function resolveSandbox(
  mode: SandboxMode,
  options: { pathVar?: string; probe?: BwrapProbe } = {},
): Promise<SandboxDecision> {
  if (mode === 'none') return decideSandbox(mode, null);
  return decideSandbox(mode, options.probe ?? (await probeBwrap(options.pathVar ?? process.env.PATH ?? '')));
}

/** resolveSandbox with the probe already done (the session manager decides synchronously). */
export function decideSandbox(mode: SandboxMode, probe: BwrapProbe | null): SandboxDecision {
  if (mode === 'none')
    return {
      mode: 'none',
      reason: '"sandbox": "none": agents run unconfined, with the rights of this user',
      fellBack: false,
      probe,
    };
  if (probe?.available)
    return {
      mode: 'bwrap',
      reason: `agents run in bubblewrap (${probe.version ?? probe.path}): read-only filesystem except each agent's own checkout (or the target, in place), their config dirs and a private /tmp; credentials and the other agents' folders hidden; a PID namespace of their own`,
      fellBack: false,
      probe,
    };
  const why = probe?.reason ?? 'bubblewrap was not probed';
  if (mode === 'bwrap') {
    throw new UsageError(
      `the spec asks for "sandbox": "bwrap", but ${why}. Install bubblewrap (apt-get install bubblewrap) and allow user namespaces, or use "sandbox": "auto" (falls back to none) or "none".`,
    );
  }
  return {
    mode: 'none',
    reason: `no sandbox: ${why}; agents run unconfined ("sandbox": "auto" fell back to none)`,
    fellBack: true,
    probe,
  };
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
export const AGENTS_WITH_STATE: readonly string[] = ['claude', 'codex', 'gemini'];

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

export interface BwrapPlan {
  bwrapPath: string;
  /** Writable inside (bound in place); absent paths are skipped. */
  writable: readonly string[];
  /** Hidden behind an empty read-only tmpfs (the workspace). */
  hidden: readonly string[];
  /** Bound read-only on top (the agent binary: under /tmp it would vanish behind the private /tmp). */
  readable?: readonly string[];
  /** Never readable inside: a folder behind an empty read-only tmpfs, a file behind `emptyFile` (absent: skipped). */
  denied?: readonly string[];
  /** An empty regular file bound over each denied file (/dev/null could not be read: bwrap binds it nodev). */
  emptyFile?: string;
  /**
   * false: a network namespace of its own with only loopback in it (git in a checkout needs no network; an
   * agent reaches the world through its proxy's bridge).
   */
  network?: boolean;
  /** Set inside only (the proxy variables). */
  setenv?: Record<string, string>;
  cwd: string;
}

/** The bwrap arguments before `--` (order matters: a later mount covers an earlier one). */
export function bwrapArgs(plan: BwrapPlan): string[] {
  const writable = unique(plan.writable.filter((p) => existsSync(p)).map(real));
  // A hidden dir under /tmp that nothing writable contains is already invisible: /tmp is a fresh tmpfs.
  const hidden = unique(plan.hidden.filter((p) => existsSync(p)).map(real)).filter(
    (h) => !isInside(h, '/tmp') || writable.some((w) => isInside(h, w)),
  );
  // Denied paths are covered where they are (a symlink's target too: ~/.ssh may link elsewhere).
  const deniedPaths = unique(
    (plan.denied ?? []).filter((p) => existsSync(p)).flatMap((p) => (isSymlink(p) ? [real(p)] : [p])),
  );
  const deniedDirs = deniedPaths.filter(isDirectory).filter((d) => !writable.includes(d));
  const deniedFiles = plan.emptyFile ? deniedPaths.filter((p) => !isDirectory(p)) : [];
  const present = (plan.readable ?? []).filter((p) => existsSync(p));
  // A readable path is bound at its real path. A path that is itself a symlink (a package's node_modules linked
  // elsewhere) cannot be a mount point: it stays a symlink, recreated inside when /tmp's privacy would hide it.
  const readable = unique(present.flatMap((p) => (isSymlink(p) ? [real(p)] : [p, real(p)])));
  const bound = [...writable, ...readable];
  const links = unique(present.filter(isSymlink)).filter(
    (p) => isInside(p, '/tmp') && !bound.some((b) => b !== p && isInside(p, b)),
  );
  const mounts = [
    ...writable.map((path) => ({ path, args: ['--bind', path, path] })),
    ...hidden.map((path) => ({ path, args: ['--tmpfs', path] })),
    ...readable.map((path) => ({ path, args: ['--ro-bind', path, path] })),
    ...deniedDirs.map((path) => ({ path, args: ['--tmpfs', path] })),
    ...deniedFiles.map((path) => ({ path, args: ['--ro-bind', plan.emptyFile as string, path] })),
  ];
  // Parents before children, so a bind inside a hidden workspace (or a workspace inside the target) comes out right.
  mounts.sort((a, b) => depth(a.path) - depth(b.path));
  mounts.push(...links.map((path) => ({ path, args: ['--symlink', real(path), path] })));
  // A hidden directory turns read-only only after the binds inside it (a checkout in the workspace): bwrap creates
  // their mount points in it first.
  mounts.push(...[...hidden, ...deniedDirs].map((path) => ({ path, args: ['--remount-ro', path] })));
  return [
    '--ro-bind',
    '/',
    '/',
    '--dev',
    '/dev',
    '--proc',
    '/proc',
    '--tmpfs',
    '/tmp',
    '--unshare-ipc',
    '--unshare-pid',
    ...(plan.network === false ? ['--unshare-net'] : []),
    ...mounts.flatMap((m) => m.args),
    '--setenv',
    'TMPDIR',
    '/tmp',
    ...Object.entries(plan.setenv ?? {}).flatMap(([name, value]) => ['--setenv', name, value]),
    '--unsetenv',
    'ORCHESTRATOR_TOKEN',
    '--chdir',
    plan.cwd,
  ];
}

/** Any command inside bwrap (a setup command, git in a checkout an agent wrote). */
export function bwrapCommand(
  command: { file: string; args: readonly string[]; cwd: string },
  plan: Omit<BwrapPlan, 'cwd'>,
): { file: string; args: string[] } {
  return {
    file: plan.bwrapPath,
    args: [...bwrapArgs({ ...plan, cwd: command.cwd }), '--', command.file, ...command.args],
  };
}

/** The launch with the agent inside bwrap; the unchanged wrapper script runs bwrap. */
/**
 * What an agent needs to start that the private /tmp inside would hide, when it is installed under /tmp: its
 * binary, its package (the nearest folder above the binary's real path with a package.json) and the
 * node_modules folder holding it (codex's platform package and gemini's bundle chunks are siblings there), and
 * the interpreter its `#!` line names (`#!/usr/bin/env node` is looked up in PATH) with that interpreter's
 * installation (`<root>/bin/node` -> `<root>`). Paths elsewhere are visible anyway and are left out (but the
 * binary itself).
 */
export function agentRunPaths(file: string, pathVar: string): string[] {
  const paths = [file, real(file)];
  const pkg = packageRootOf(real(file));
  if (pkg) {
    paths.push(pkg);
    const modules = pkg.split('/node_modules/');
    if (modules.length > 1) paths.push(`${modules.slice(0, -1).join('/node_modules/')}/node_modules`);
  }
  const interpreter = shebangInterpreter(real(file), pathVar);
  if (interpreter) {
    paths.push(interpreter, real(interpreter));
    for (const p of [interpreter, real(interpreter)])
      if (basename(dirname(p)) === 'bin') paths.push(dirname(dirname(p)));
  }
  // The binary itself always (it may lie in a folder hidden inside), the rest where /tmp would hide it.
  return unique(paths).filter((p) => p === file || (isInside(p, '/tmp') && p !== '/tmp'));
}

/**
 * Why `file` cannot run inside the sandbox, or null when agentRunPaths makes all it needs visible: the program
 * its `#!` line names cannot be found (a name PATH does not have, a path that does not exist), so the sandbox
 * cannot show it either and the agent would fail with `execvp ... No such file or directory`.
 */
export function sandboxRunProblem(file: string, pathVar: string): string | null {
  const words = shebangWords(real(file));
  if (words === null) return `${file} cannot be read`;
  if (words.length === 0) return null;
  const [program = ''] = words;
  if (basename(program) !== 'env')
    return existsSync(program) ? null : `its #! line runs ${program}, which does not exist`;
  const name = envProgram(words);
  if (!name) return `its #! line (#!${words.join(' ')}) names no program`;
  return which(name, pathVar) ? null : `its #! line runs "${name}" from PATH, and PATH has no ${name}`;
}

/** The words of a script's `#!` line: [] for a binary or a file without one, null when it cannot be read. */
function shebangWords(file: string): string[] | null {
  let head = '';
  try {
    const fd = openSync(file, 'r');
    try {
      const buffer = Buffer.alloc(256);
      head = buffer.subarray(0, readSync(fd, buffer, 0, 256, 0)).toString('latin1');
    } finally {
      closeSync(fd);
    }
  } catch {
    return null;
  }
  if (!head.startsWith('#!')) return [];
  return head.slice(2).split('\n')[0]?.trim().split(/\s+/).filter(Boolean) ?? [];
}

/** The program of `#!/usr/bin/env [-S] [VAR=x] NAME ...`. */
const envProgram = (words: readonly string[]) => words.slice(1).find((w) => !w.startsWith('-') && !w.includes('='));

function packageRootOf(path: string): string | null {
  for (let dir = dirname(path); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
  }
  return null;
}

/** The program a script's `#!` line runs (`env NAME` resolved in PATH); null for a binary or no `#!`. */
export function shebangInterpreter(file: string, pathVar: string): string | null {
  const [program, ...rest] = shebangWords(file) ?? [];
  if (!program) return null;
  if (basename(program) !== 'env') return program;
  const name = envProgram([program, ...rest]);
  return name ? which(name, pathVar) : null;
}

export function bwrapWrap(request: LaunchRequest, plan: Omit<BwrapPlan, 'cwd'>, net?: ProxiedNetwork): LaunchRequest {
  const readable = [
    ...(plan.readable ?? []),
    ...agentRunPaths(request.file, request.env.PATH ?? process.env.PATH ?? ''),
  ];
  if (!net)
    return {
      ...request,
      file: plan.bwrapPath,
      args: [...bwrapArgs({ ...plan, readable, cwd: request.cwd }), '--', request.file, ...request.args],
    };
  // The proxy (outside) runs bwrap; inside, the bridge runs the agent. The agent sees the net folder read-only:
  // connecting to a socket needs no write access.
  const inside = bwrapArgs({
    ...plan,
    readable: [...readable, net.dir],
    network: false,
    setenv: { ...plan.setenv, ...proxyEnv() },
    cwd: request.cwd,
  });
  const ports = [PROXY_PORT, ...net.forwards].map(String);
  return {
    ...request,
    file: net.nodePath,
    args: [
      net.proxyScript,
      net.dir,
      '--',
      plan.bwrapPath,
      ...inside,
      '--',
      '/bin/sh',
      '-c',
      BRIDGE_SCRIPT,
      'orchestrator-bridge',
      net.socatPath,
      net.dir,
      ...ports,
      '--',
      request.file,
      ...request.args,
    ],
  };
}

/** An agent's network through its proxy: where the proxy listens and what runs it (src/safety/network.ts). */
export interface ProxiedNetwork {
  /** The worker's net folder (policy.json and the sockets). */
  dir: string;
  forwards: readonly number[];
  nodePath: string;
  proxyScript: string;
  socatPath: string;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
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
