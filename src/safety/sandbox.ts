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
 * What each agent keeps and what none may read: ./agent-files.ts; what an agent needs visible to start:
 * ./agent-run-paths.ts.
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
import { existsSync, lstatSync, statSync } from 'node:fs';
import type { LaunchRequest } from '../actors/process-group.js';
import type { SandboxMode } from '../domain/spec.js';
import { UsageError } from '../runtime/session-manager.js';
import { agentRunPaths } from './agent-run-paths.js';
import { probeBwrap, type BwrapProbe } from './bwrap-probe.js';
import { BRIDGE_SCRIPT, PROXY_PORT, proxyEnv } from './network.js';
import { isInside, real, unique } from './paths.js';

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
      reason:
        `agents run in bubblewrap (${probe.version ?? probe.path}): read-only filesystem except ` +
        `each agent's own checkout (or the target, in place), their config dirs and a private /tmp; ` +
        `credentials and the other agents' folders hidden; a PID namespace of their own`,
      fellBack: false,
      probe,
    };
  const why = probe?.reason ?? 'bubblewrap was not probed';
  if (mode === 'bwrap') {
    throw new UsageError(
      `the spec asks for "sandbox": "bwrap", but ${why}. Install bubblewrap (apt-get install bubblewrap) ` +
        `and allow user namespaces, or use "sandbox": "auto" (falls back to none) or "none".`,
    );
  }
  return {
    mode: 'none',
    reason: `no sandbox: ${why}; agents run unconfined ("sandbox": "auto" fell back to none)`,
    fellBack: true,
    probe,
  };
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

function depth(path: string): number {
  return path.split('/').filter(Boolean).length;
}
