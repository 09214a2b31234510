/**
 * `orchestrate demo`: the real pipeline (machines, process actors, recovery, review rounds, store, live view)
 * on a temporary git copy of the bundled example project, with recorded agents instead of the real CLIs, so it
 * needs no API key. The recorded agents print each CLI's real output format and really edit the files.
 */
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { copyDemoProject, writeDemoLaunchers } from '../demo/launchers.js';
import { DEMO_TASK } from '../demo/task.js';
import { PACKAGE_ROOT } from '../demo/paths.js';
import { defaultSpec } from '../domain/spec.js';

export interface DemoSetup {
  workspace: string;
  /** The environment the demo's sessions find their (recorded) agents in. */
  env: Record<string, string | undefined>;
  projectDir: string;
  rootDir: string;
  /**
   * What the recorded agents read: the orchestrator's package (dist/, examples/) and every node_modules Node
   * resolves its imports from (a symlinked or hoisted node_modules lives outside the package).
   */
  readable: string[];
  gitNote?: string;
}

export async function prepareDemo(options: { workspace?: string; speed: number }): Promise<DemoSetup> {
  const rootDir = mkdtempSync(join(tmpdir(), 'orchestrate-demo-'));
  const projectDir = join(rootDir, 'project');
  const copy = await copyDemoProject(projectDir);
  const agents = prepareRecordedAgents(rootDir, options.speed);
  const workspace = options.workspace ?? join(projectDir, '.orchestrator');
  return {
    workspace,
    env: agents.env,
    projectDir,
    rootDir,
    readable: agents.readable,
    ...(copy.git ? {} : { gitNote: copy.note ?? 'git is not available: reviews see no diff' }),
  };
}

/** The recorded agents as claude, codex and gemini: what their sessions need (environment, sandbox paths). */
export interface RecordedAgents {
  env: Record<string, string | undefined>;
  /** What they read: see DemoSetup.readable. */
  readable: string[];
  /** Where they keep their own sessions (a native resume reads them back). */
  writable: string[];
}

/**
 * Launchers, a home and a state folder for the recorded agents under `rootDir` (the demo's, or `serve
 * --recorded-agents`'s): sessions started with the returned environment run them instead of the real CLIs.
 */
export function prepareRecordedAgents(rootDir: string, speed: number): RecordedAgents {
  const bins = writeDemoLaunchers(join(rootDir, 'bin'));
  // The recorded agents get a home of their own: the sandbox creates agent config dirs (~/.claude ...) in the
  // agents' home before a launch, and a demo must not touch the user's.
  const home = join(rootDir, 'home');
  mkdirSync(home, { recursive: true });
  const stateDir = join(rootDir, 'state');
  const env = {
    ...process.env,
    HOME: home,
    ORCHESTRATOR_CLAUDE_BIN: bins.claude,
    ORCHESTRATOR_CODEX_BIN: bins.codex,
    ORCHESTRATOR_GEMINI_BIN: bins.gemini,
    DEMO_STATE_DIR: stateDir,
    DEMO_AGENT_SPEED: String(speed),
  };
  return { env, readable: [PACKAGE_ROOT, ...moduleDirs(PACKAGE_ROOT)], writable: [stateDir] };
}

export function demoSpec() {
  return defaultSpec(DEMO_TASK);
}

/** The node_modules directories Node searches from `dir` upward, those that exist. */
export function moduleDirs(dir: string): string[] {
  const found: string[] = [];
  for (let at = dir; ; at = dirname(at)) {
    const candidate = join(at, 'node_modules');
    if (existsSync(candidate)) found.push(candidate);
    if (dirname(at) === at) return found;
  }
}
