/**
 * The harness of the per-CLI tests: one fake model server per test file, a fresh run folder per CLI run
 * (HOME, TMPDIR, target), the run as the unprivileged test user when we are root (so claude may bypass
 * permissions), and the recovery decision our supervisor would take for the run's failure.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import type { LaunchOptions } from '../../../src/agents/types.js';
import { decideRecovery, type RecoveryDecision } from '../../../src/domain/recovery-policy.js';
import type { FailureSignal } from '../../../src/domain/events.js';
import { startFakeModelServer, type FakeModelServer, type LoggedRequest } from '../fake-model-server.js';
import { makeRunDir, prepareHome, removeRunDir, type AgentSettings } from './agent-env.js';
import type { RealAgent } from './install.js';
import { runAgent, type AgentRun } from './run-agent.js';
import { PROVIDER_OF, type ScriptInput } from './scenarios.js';
import { chownTree, ensureTestUser, type TestUser } from './test-user.js';

export interface DirectRun extends AgentRun {
  dir: string;
  target: string;
  /** The fake server's log of this run only. */
  requests: LoggedRequest[];
}

export interface DirectOptions {
  launch?: Partial<LaunchOptions>;
  settings?: AgentSettings;
  /** Run as ourselves even when we are root (the root-refusal scenario). */
  asSelf?: boolean;
  /** Make the target a git repository with one commit. */
  git?: boolean;
  /** Reuse a run folder (resume needs the same HOME); created when absent. */
  dir?: string;
  timeoutMs?: number;
}

export class DirectHarness {
  private dirs: string[] = [];

  private constructor(
    readonly server: FakeModelServer,
    readonly user: TestUser | null,
  ) {}

  static async start(): Promise<DirectHarness> {
    return new DirectHarness(await startFakeModelServer(), ensureTestUser());
  }

  async run(agent: RealAgent, script: ScriptInput, options: DirectOptions = {}): Promise<DirectRun> {
    this.server.setScenario(PROVIDER_OF[agent], script);
    const fresh = options.dir === undefined;
    const dir = options.dir ?? makeRunDir(`direct-${agent}`);
    if (fresh) this.dirs.push(dir);
    const target = join(dir, 'target');
    const asUser = options.asSelf ? null : this.user;
    const env = prepareHome(join(dir, 'home'), join(dir, 'tmp'), this.server, options.settings);
    if (fresh) {
      mkdirSync(target, { recursive: true });
      if (options.git) initGitRepo(target);
    }
    chownTree(dir, asUser);
    const launch: LaunchOptions = {
      prompt: 'Say hello.',
      targetDir: target,
      includeDirs: [],
      fixes: {},
      ...options.launch,
    };
    const before = this.server.requests.length;
    const run = await runAgent(agent, launch, {
      env,
      cwd: target,
      timeoutMs: options.timeoutMs ?? 90_000,
      ...(asUser ? { uid: asUser.uid, gid: asUser.gid } : {}),
    });
    return { ...run, dir, target, requests: this.server.requests.slice(before) };
  }

  async close(): Promise<void> {
    await this.server.close();
    for (const dir of this.dirs) removeRunDir(dir);
  }
}

export function initGitRepo(dir: string): void {
  writeFileSync(join(dir, 'README.md'), '# real-agents test target\n');
  const git = (...args: string[]) => {
    const result = spawnSync(
      'git',
      ['-c', 'user.name=real-agents', '-c', 'user.email=real-agents@example.invalid', ...args],
      { cwd: dir, encoding: 'utf8' },
    );
    if (result.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${result.stderr}`);
  };
  git('init', '-q');
  git('add', '.');
  git('commit', '-qm', 'initial');
}

/** What our supervisor decides for a failure (the table in src/domain/recovery-policy.ts), with its defaults. */
export function recoveryFor(
  agent: RealAgent,
  signal: FailureSignal,
  agentSessionId: string | null = null,
): RecoveryDecision {
  return decideRecovery({
    signal,
    agent,
    fixes: {},
    agentSessionId,
    insideSandbox: false,
    recentRestarts: 0,
    limits: { backoffBaseMs: 2_000, backoffMaxMs: 120_000, maxRetryWaitSec: 3_600 },
    now: Date.now(),
    random: 0.5,
  });
}

/** The action name of a decision: a relaunch's action, or `escalate:<BLOCKER>`. */
export function actionOf(decision: RecoveryDecision): string {
  return decision.type === 'relaunch' ? decision.action : `escalate:${decision.blocker}`;
}
