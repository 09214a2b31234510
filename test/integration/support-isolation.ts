/**
 * Shared by the isolation tests: a session on a git target with the fake agents writing files, and the user's
 * checkout as people have it (a staged file, an uncommitted edit, an untracked file, an ignored one).
 */
import { execFileSync } from 'node:child_process';
import type { SessionSpecInput } from '../../src/domain/spec.js';
import { runCli, sandboxWith, type Sandbox } from '../support/orchestrate.js';
import { gitIn, writeFiles } from '../support/git-repo.js';

export const REVIEWER = 'You are a REVIEWER';
const approve = { verdict: { verdict: 'approve', summary: 'fine', issues: [] } };
/** The fake agent of `agent` writes `files` (by its persona; reviewers approve). */
export const writes = (files: Record<string, Record<string, string>>) => ({
  rules: [
    { match: { promptIncludes: REVIEWER }, scenario: approve },
    {
      match: { promptIncludes: 'You are the MERGER' },
      scenario: { writeFiles: [{ path: 'shared.txt', content: 'one\nx and y\nthree\n' }] },
    },
  ],
  ...Object.fromEntries(
    Object.entries(files).map(([agent, f]) => [
      agent,
      { writeFiles: Object.entries(f).map(([path, content]) => ({ path, content })) },
    ]),
  ),
});

export function session(spec: SessionSpecInput, config: object) {
  const made = sandboxWith({ ...spec, sandbox: spec.sandbox ?? 'none' }, config);
  // The user's checkout as people have it: a staged file, an uncommitted edit, an untracked file, an ignored one.
  writeFiles(made.sandbox.target, { '.gitignore': '*.log\n', 'shared.txt': 'one\ntwo\nthree\n' });
  gitIn(made.sandbox.target, 'add', '-A');
  gitIn(made.sandbox.target, 'commit', '-q', '-m', 'project');
  writeFiles(made.sandbox.target, {
    'README.md': '# target, edited by its user\n',
    'notes.txt': 'mine\n',
    'build.log': 'ignored\n',
    'staged.txt': 'staged\n',
  });
  gitIn(made.sandbox.target, 'add', 'staged.txt');
  return made;
}

export const run = (s: { sandbox: Sandbox; specPath: string; env: Record<string, string> }, extra: string[] = []) =>
  runCli(
    ['run', '--spec', s.specPath, '-C', s.sandbox.target, '--workspace', s.sandbox.workspace, '--no-server', ...extra],
    { env: s.env },
  );
export const cli = (s: { sandbox: Sandbox; env: Record<string, string> }, args: string[]) =>
  runCli([...args, '--workspace', s.sandbox.workspace], { env: s.env, cwd: s.sandbox.target });
export const show = (repo: string, rev: string) => execFileSync('git', ['show', rev], { cwd: repo, encoding: 'utf8' });

export const PARALLEL: SessionSpecInput = {
  task: 'two files at once',
  workers: [
    { id: 'x', agent: 'claude', role: 'implementer' },
    { id: 'y', agent: 'codex', role: 'implementer' },
  ],
  reviews: [
    { reviewer: 'gemini', target: 'x', focus: 'implementation' },
    { reviewer: 'codex', target: 'y', focus: 'implementation' },
  ],
};
