/**
 * The safety layer in one call: `createSafetyFactory` probes bubblewrap once; the factory it returns decides
 * each session's sandbox from its spec and gives the session manager its hooks: `wrapLaunch` (validate every
 * launch, then wrap it in bwrap), `watchPayloads` (the policy on agent payloads), `attach` (budgets, resource limits,
 * the sandbox decision in the session log) and `close`.
 */
import { existsSync, mkdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { AgentProcessInput } from '../actors/agent-process.js';
import type { LaunchRequest } from '../actors/process-group.js';
import { getAdapter } from '../agents/registry.js';
import type { AgentPayload } from '../domain/events.js';
import { sandboxSettings, type SessionSpec } from '../domain/spec.js';
import { findAgentBinary } from '../runtime/binaries.js';
import { UsageError, type SessionSafety } from '../runtime/session-manager.js';
import type { SessionRuntime } from '../runtime/session-runtime.js';
import { probeBwrap, type BwrapProbe } from './bwrap-probe.js';
import { checkDirectories, validateLaunch } from './launch-check.js';
import { SafetyMonitor } from './monitor.js';
import { safetyEvent } from './safety-event.js';
import { resolvePath } from './paths.js';
import { decideRequest, sessionPermissionRules } from './permission-policy.js';
import type { PolicyContext } from './policy.js';
import { agentStateDirs, ensureAgentState, hiddenPaths } from './agent-files.js';
import { refuseWhatCannotRunInside } from './agent-run-paths.js';
import { bwrapCommand, bwrapWrap, decideSandbox, type SandboxDecision } from './sandbox.js';
import { agentNetwork, netDirFor, netRootOf, PROXY_PORT, type NetPolicyFile } from './network.js';
import { decideNetwork } from './network-decision.js';
import type { Isolation } from '../domain/isolation.js';
import { sessionDirOf } from '../runtime/session-folder.js';

export { resolveSandbox, bwrapWrap, bwrapArgs, decideSandbox } from './sandbox.js';
export { checkPayloads, checkCommand, checkWritePath, RULES } from './policy.js';
export { validateLaunch, checkDirectories } from './launch-check.js';
export { decideNetwork, NET_PROXY_SCRIPT, type NetworkDecision } from './network-decision.js';

export interface SafetyOptions {
  /** The agents' environment: PATH (bwrap, agent binaries), HOME, ORCHESTRATOR_*_BIN. Default: process.env. */
  env?: Record<string, string | undefined>;
  /** Default: env.HOME, else the OS home directory. */
  home?: string;
  /**
   * Directories every session's agents may write besides their own (the demo's recorded-agent state). Also
   * from ORCHESTRATOR_SANDBOX_WRITABLE in env (':'-separated): build caches such as ~/.cargo or ~/.m2.
   */
  extraWritable?: string[];
  /**
   * Directories the agents must be able to read although they may lie under /tmp, which is private inside
   * the sandbox (the demo's recorded agents import the orchestrator's own package, wherever it is installed).
   */
  extraReadable?: string[];
  /** Resource sampling interval (ms); default 2000. */
  sampleMs?: number;
  /** Told every sandbox decision (the CLI prints a warning when "auto" fell back to none). */
  onDecision?: (decision: SandboxDecision, spec: SessionSpec) => void;
}

export interface SessionSafetyHooks extends SessionSafety {
  sandboxMode: 'bwrap' | 'none';
  reason: string;
  decision: SandboxDecision;
}

export type SafetyFactory = (
  spec: SessionSpec,
  targetDir: string,
  context: { workspace: string; isolation?: Isolation | undefined },
) => SessionSafetyHooks;

/** Probe bubblewrap once; decide and build each session's safety synchronously afterwards. */
export async function createSafetyFactory(options: SafetyOptions = {}): Promise<SafetyFactory> {
  const env = options.env ?? process.env;
  const probe = await probeBwrap(env.PATH ?? '');
  return (spec, targetDir, context) =>
    buildSessionSafety(spec, targetDir, context.workspace, probe, options, context.isolation);
}

/** One session's safety (the factory in one call). */
export async function createSafety(
  spec: SessionSpec,
  options: SafetyOptions & { targetDir: string; workspace: string; isolation?: Isolation },
): Promise<SessionSafetyHooks> {
  return (await createSafetyFactory(options))(spec, options.targetDir, {
    workspace: options.workspace,
    isolation: options.isolation,
  });
}

function buildSessionSafety(
  spec: SessionSpec,
  targetDirIn: string,
  workspace: string,
  probe: BwrapProbe,
  options: SafetyOptions,
  isolation: Isolation | undefined,
): SessionSafetyHooks {
  const env = options.env ?? process.env;
  // An empty HOME is no home: never resolve it against the cwd.
  const home = resolve(options.home || env.HOME || homedir());
  const targetDir = resolve(targetDirIn);
  const settings = spec.safety;
  const allowedRoots = (settings?.allowedRoots ?? []).map((r) => resolvePath(r, targetDir, home));
  const extra = [
    ...(options.extraWritable ?? []),
    ...(env.ORCHESTRATOR_SANDBOX_WRITABLE ?? '').split(':').filter(Boolean),
  ].map((r) => resolvePath(r, targetDir, home));

  const problems = [
    ...checkDirectories({
      targetDir,
      includeDirs: spec.workers.flatMap((w) => w.includeDirs),
      allowedRoots: [...allowedRoots, ...extra],
      home,
    }),
    ...spec.workers
      .filter((w) => w.model?.startsWith('-'))
      .map((w) => `worker ${w.id}: the model "${w.model}" looks like a flag`),
  ];
  if (problems.length > 0)
    throw new UsageError(
      `${problems.join('; ')}. Choose a project directory (orchestrate run -C <dir>) and narrower directories.`,
    );

  const sandbox = sandboxSettings(spec.sandbox);
  const network = decideNetwork(sandbox, decideSandbox(sandbox.mode, probe), env);
  const decision = network.decision;
  options.onDecision?.(decision, spec);
  const inside = decision.mode === 'bwrap';
  if (inside) refuseWhatCannotRunInside(spec, env);
  let runtime: SessionRuntime | null = null;

  // With checkouts an agent works in its own; the user's checkout is theirs and never writable.
  const checkouts = isolation?.mode === 'checkouts' ? isolation : null;
  /** The checkout an agent runs in: its working directory without the target's place inside the repository. */
  const checkoutOf = (cwd: string): string =>
    checkouts?.repo.prefix
      ? resolve(
          cwd,
          ...checkouts.repo.prefix
            .split('/')
            .filter(Boolean)
            .map(() => '..'),
        )
      : cwd;
  const rootsOf = (input: AgentProcessInput): string[] => {
    const cwd = resolve(input.launch.targetDir);
    const own = checkouts ? [checkoutOf(cwd)] : [targetDir, cwd];
    return [...own, ...input.launch.includeDirs.map((d) => resolvePath(d, cwd, home)), ...allowedRoots, ...extra];
  };
  const policyContext = (input: AgentProcessInput): PolicyContext => ({
    cwd: resolve(input.launch.targetDir),
    // Inside bwrap /tmp is the agent's own (a fresh tmpfs): writing there touches nothing of anyone else.
    allowedRoots: [...rootsOf(input), ...(inside ? ['/tmp'] : [])],
    home,
    protectedBranches: settings?.protectedBranches ?? ['main', 'master'],
    ...(settings?.rules ? { rules: settings.rules } : {}),
    realpath: realpathOfExisting,
  });
  const permissionRules = sessionPermissionRules(spec.permissions, settings?.rules);
  const monitor = new SafetyMonitor({
    spec,
    policyContext,
    ...(options.sampleMs ? { sampleMs: options.sampleMs } : {}),
  });

  const wrapLaunch = (request: LaunchRequest, input: AgentProcessInput): LaunchRequest => {
    const adapter = getAdapter(input.agent);
    const binary = findAgentBinary(adapter, env, input.launch.command);
    const problems = validateLaunch(request, {
      adapter,
      expectedBinary: 'path' in binary ? binary.path : null,
      launch: input.launch,
      ...(input.interactive ? { interactive: true } : {}),
      allowedRoots: rootsOf(input),
      home,
    });
    if (problems.length > 0) {
      const message =
        `the safety layer refused to launch ${adapter.displayName} for worker ` +
        `${input.workerId}: ${problems.join('; ')}`;
      runtime?.record([
        safetyEvent(
          'launch-validation',
          [request.file, ...request.args.filter((a) => a.startsWith('-'))].join(' '),
          'refuse',
          message,
          input.workerId,
        ),
      ]);
      throw new LaunchRefusedError(message);
    }
    // The agent must not get the API token from its environment (the workspace file is hidden by bwrap).
    const request2: LaunchRequest = { ...request, env: { ...request.env, ORCHESTRATOR_TOKEN: '' } };
    if (!inside || !decision.probe?.path) return request2;
    const agentEnv = { ...env, ...request.env };
    const state = agentStateDirs(input.agent, home, agentEnv);
    ensureAgentState(state);
    const { hidden, reopened } = hiddenPaths(input.agent, home, agentEnv, sandbox);
    const cwd = resolve(input.launch.targetDir);
    // A reviewer reads its checkout and writes nothing of the project (what the spec and the environment allow
    // every agent to write, build caches say, it may).
    const reviewer = checkouts !== null && input.launch.readOnly;
    const roots = reviewer ? [...allowedRoots, ...extra] : rootsOf(input);
    const plan = {
      bwrapPath: decision.probe.path,
      writable: [...roots, ...state.bind],
      hidden: [workspace],
      denied: hidden,
      emptyFile: emptyFileIn(workspace),
      // Checkouts read the user's objects (alternates), which a private /tmp would hide; a reviewer reads its checkout.
      readable: [
        ...(options.extraReadable ?? []),
        ...(checkouts ? [join(checkouts.repo.commonDir, 'objects')] : []),
        ...(reviewer ? [checkoutOf(cwd)] : []),
        ...reopened,
      ],
    };
    if (!network.proxied) return bwrapWrap(request2, plan);
    // The agent's proxy: its allowlist in the worker's net folder, read by the proxy process at its start.
    const dir = netDirFor(sessionDirOf(workspace, input.sessionId), input.workerId);
    const reach = agentNetwork(input.agent, agentEnv, home, sandbox.allowHosts);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const policy: NetPolicyFile = {
      worker: input.workerId,
      agent: input.agent,
      allow: reach.allow,
      forwards: reach.forwards,
      proxyPort: PROXY_PORT,
    };
    writeFileSync(join(dir, 'policy.json'), `${JSON.stringify(policy, null, 2)}\n`);
    return bwrapWrap(request2, plan, {
      dir,
      forwards: reach.forwards,
      nodePath: process.execPath,
      proxyScript: network.proxied.proxyScript,
      socatPath: network.proxied.socatPath,
    });
  };

  /** A command confined like an agent, with only `writable` writable (setup commands; git in an agent's checkout). */
  const confine = (
    command: { file: string; args: string[]; cwd: string },
    access: { writable: readonly string[]; network: boolean },
  ): { file: string; args: string[] } => {
    if (!inside || !decision.probe?.path) return command;
    return bwrapCommand(command, {
      bwrapPath: decision.probe.path,
      writable: access.writable,
      hidden: [workspace],
      readable: [...(options.extraReadable ?? []), ...(checkouts ? [join(checkouts.repo.commonDir, 'objects')] : [])],
      network: access.network,
    });
  };
  const npmCache = env.npm_config_cache || join(home, '.npm');

  return {
    insideSandbox: inside,
    sandboxMode: decision.mode,
    reason: decision.reason,
    decision,
    wrapLaunch,
    // Only with a sandbox: without one, git in an agent's checkout and setup commands run as they are, and the
    // checkouts take the direct path (no bundle: there is no boundary to keep).
    ...(inside && decision.probe?.path ? { confine } : {}),
    // Setup commands (npm ci ...) also fill the package managers' caches, and the spec's allowed roots.
    setupWritable: [npmCache, join(home, '.cache'), ...allowedRoots, ...extra],
    watchPayloads: (attached: SessionRuntime, input: AgentProcessInput, payloads: AgentPayload[]) =>
      monitor.watchPayloads(attached, input, payloads),
    // Interactive agents ask before a tool runs: the spec's rules, the built-in ones, what a person allowed always.
    decidePermission: (attached, input, asked) => {
      const cwd = resolve(input.launch.targetDir);
      const rules = { ...permissionRules, always: attached.permissionRules() };
      const { requestId: _, ...request } = asked;
      return decideRequest(
        rules,
        { ...request, agent: input.agent, workerId: input.workerId },
        { cwd, root: checkouts ? checkoutOf(cwd) : targetDir, policy: policyContext(input) },
      );
    },
    attach: (attached: SessionRuntime) => {
      runtime = attached;
      attached.record([
        safetyEvent(
          'sandbox',
          sandbox.mode === decision.mode ? decision.mode : `${sandbox.mode} -> ${decision.mode}`,
          decision.fellBack ? 'warn' : 'log',
          decision.reason,
          undefined,
          attached.sessionId,
        ),
        ...(inside
          ? [
              safetyEvent(
                'sandbox',
                `network: ${network.proxied ? 'proxy' : 'open'}`,
                network.warning ? 'warn' : 'log',
                network.warning ?? network.reason,
                undefined,
                attached.sessionId,
              ),
            ]
          : []),
      ]);
      monitor.attach(attached);
      // Requests an agent's proxy refused, from each worker's net folder.
      if (network.proxied) monitor.watchRefusals();
    },
    close: () => {
      monitor.close();
      // A session that has ended needs no net folder any more (its refusals are events by now). Those that did not
      // fit in the session folder (a long path) live in the temp dir, where nothing else would ever remove them.
      if (runtime?.hasEnded()) removeNetDirs(runtime);
      runtime = null;
    },
  };
}

function removeNetDirs(runtime: SessionRuntime): void {
  for (const worker of runtime.view().workers)
    rmSync(netDirFor(runtime.dir, worker.id), { recursive: true, force: true });
  rmSync(netRootOf(runtime.dir), { recursive: true, force: true });
}

/** An empty read-only file in the workspace, bound over each hidden credentials file (created once). */
export function emptyFileIn(workspace: string): string {
  const file = join(workspace, 'empty');
  if (!existsSync(file)) {
    mkdirSync(workspace, { recursive: true });
    writeFileSync(file, '', { mode: 0o444 });
  }
  return file;
}

/**
 * A refused launch. The agent-process actor reports a thrown launch error as `crashed` (so it is retried
 * under restart intensity); `kind` lets it report `invalid_args` instead (see docs/security.md).
 */
export class LaunchRefusedError extends Error {
  readonly kind = 'invalid_args' as const;
  constructor(message: string) {
    super(message);
    this.name = 'LaunchRefusedError';
  }
}

/** realpath of the longest existing prefix, plus the rest: a symlink inside the target that points out is seen. */
export function realpathOfExisting(path: string): string {
  let head = path;
  const rest: string[] = [];
  while (!existsSync(head)) {
    const parent = dirname(head);
    if (parent === head) return path;
    rest.unshift(basename(head));
    head = parent;
  }
  try {
    return join(realpathSync(head), ...rest);
  } catch {
    return path;
  }
}
