/**
 * What an agent needs visible inside the sandbox to start, and why it could not: its binary, its package, and the
 * interpreter its `#!` line names. The sandbox's /tmp is private, so what is installed under /tmp is bound in.
 */
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { getAdapter } from '../agents/registry.js';
import { agentRuns, type SessionSpec } from '../domain/spec.js';
import { findAgentBinary, which } from '../runtime/binaries.js';
import { UsageError } from '../runtime/session-manager.js';
import { isInside, real, unique } from './paths.js';

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

/**
 * Before anything starts: an agent whose program the sandbox cannot make visible (its `#!` names a program that
 * cannot be found) would only crash at every launch. One line that says which, why and what to do.
 */
export function refuseWhatCannotRunInside(spec: SessionSpec, env: Record<string, string | undefined>): void {
  const problems = agentRuns(spec).flatMap(({ agent, command }) => {
    const binary = findAgentBinary(getAdapter(agent), env, command);
    const problem = 'path' in binary ? sandboxRunProblem(binary.path, env.PATH ?? '') : null;
    return problem
      ? [`${agent} (${'path' in binary ? binary.path : agent}) cannot run inside the sandbox: ${problem}`]
      : [];
  });
  if (problems.length > 0) {
    throw new UsageError(
      `${problems.join('; ')}. Install what its #! line names ` +
        `(or point ORCHESTRATOR_<AGENT>_BIN at the real binary), or set "sandbox": "none" to run it unconfined.`,
    );
  }
}
