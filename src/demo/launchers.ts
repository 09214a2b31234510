/**
 * What `orchestrate demo` sets up before it runs the real pipeline: one executable launcher per agent CLI (the
 * orchestrator runs ORCHESTRATOR_CLAUDE_BIN & co. directly, so each must be an executable file), and a git copy
 * of the bundled example project for the agents to work on.
 */
import { chmodSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { distFile } from '../package-root.js';
import { PERSONAS, type Persona } from './invocation.js';
import { DEMO_PROJECT_DIR } from './paths.js';

/** The player module of the built package (dist/demo/recorded-agent.js, an entry point of `npm run build`). */
export function demoAgentModulePath(): string {
  return distFile('demo', 'recorded-agent.js');
}

/**
 * The launcher script: `#!<node>`, set the persona, import the player. Only syntax that CommonJS and ES modules
 * share, so it runs whatever package.json is above `dir`.
 */
export function launcherScript(persona: Persona, nodePath: string, modulePath: string): string {
  return [
    `#!${nodePath}`,
    `// orchestrate demo: plays recorded ${persona} transcripts (no model, no API key). Generated; safe to delete.`,
    `process.env.DEMO_AGENT_PERSONA = ${JSON.stringify(persona)};`,
    `import(${JSON.stringify(pathToFileURL(modulePath).href)}).catch((error) => {`,
    `  console.error(error);`,
    `  process.exit(1);`,
    `});`,
    '',
  ].join('\n');
}

/**
 * Write an executable launcher per persona into `dir` (created if needed) and return their paths, for
 * ORCHESTRATOR_CLAUDE_BIN, ORCHESTRATOR_CODEX_BIN and ORCHESTRATOR_GEMINI_BIN. `modulePath` is the player
 * module to import (the compiled one by default).
 */
export function writeDemoLaunchers(
  dir: string,
  nodePath: string = process.execPath,
  modulePath: string = demoAgentModulePath(),
): Record<Persona, string> {
  if (/\s/.test(nodePath)) throw new Error(`cannot write a #! line for a node path with spaces: ${nodePath}`);
  mkdirSync(dir, { recursive: true });
  const paths = {} as Record<Persona, string>;
  for (const persona of PERSONAS) {
    const file = join(dir, persona);
    writeFileSync(file, launcherScript(persona, nodePath, modulePath), { mode: 0o755 });
    chmodSync(file, 0o755); // the mode above is cut by the umask, and ignored for an existing file
    paths[persona] = file;
  }
  return paths;
}

export interface DemoProjectCopy {
  dir: string;
  /** true when the copy is a git repository with one commit (the reviews diff against it). */
  git: boolean;
  /** Why it is not a git repository, when it is not. */
  note?: string;
}

const GIT_IDENTITY = { name: 'orchestrate demo', email: 'demo@orchestrate.invalid' };

/**
 * Copy examples/demo-project to `dest`, then make it a git repository with one commit. When git is missing the
 * copy is still made, and the result says so.
 */
export async function copyDemoProject(dest: string, source: string = DEMO_PROJECT_DIR): Promise<DemoProjectCopy> {
  cpSync(source, dest, {
    recursive: true,
    filter: (path) => !['node_modules', '.git'].includes(basename(path)),
  });
  const git = (args: string[]) => execa('git', args, { cwd: dest, stdin: 'ignore' });
  try {
    await git(['-c', 'init.defaultBranch=main', 'init', '-q']);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ENOENT')
      return { dir: dest, git: false, note: 'git was not found: the copy is not a git repository' };
    return { dir: dest, git: false, note: `git init failed: ${(error as Error).message}` };
  }
  await git(['config', 'user.name', GIT_IDENTITY.name]);
  await git(['config', 'user.email', GIT_IDENTITY.email]);
  await git(['add', '-A']);
  await git(['-c', 'commit.gpgsign=false', 'commit', '-q', '--no-verify', '-m', 'demo project']);
  return { dir: dest, git: true };
}
