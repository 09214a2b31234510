/**
 * The user's repository, read without being changed: where it is, and its working tree captured as a commit.
 *
 * A session starts from a base commit: by default HEAD plus the user's uncommitted tracked and untracked changes.
 * It is captured the way `git stash create` does, but with a temporary index (a copy of the user's, for its
 * stat cache), so neither the checkout, nor the index, nor any ref of the user's changes; only new objects land
 * in the object store.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { git, gitLine, resolveCommit } from './git.js';

export interface RepoInfo {
  /** The top of the user's working tree. */
  root: string;
  /** The repository's common git dir (objects, refs), absolute: shared by all its worktrees. */
  commonDir: string;
  /** The index of this working tree (a linked worktree has its own). */
  indexFile: string;
  /** The target directory relative to `root` ('' at the top, else ending in '/'). */
  prefix: string;
  head: string | null;
  /** The tree of HEAD (null without a commit). */
  headTree: string | null;
  /** The checked-out branch (without refs/heads/), or null when HEAD is detached or unborn. */
  branch: string | null;
}

/** The repository whose working tree holds `dir`; null when `dir` is not inside one (or git is missing). */
export async function findRepo(dir: string): Promise<RepoInfo | null> {
  const where = [
    'rev-parse',
    '--is-inside-work-tree',
    '--show-toplevel',
    '--git-common-dir',
    '--git-path',
    'index',
    '--show-prefix',
  ];
  let out: { code: number; stdout: string };
  try {
    // One process in the usual case: HEAD, its tree and its branch come with the paths; a repository without a
    // commit yet (HEAD unborn) makes that fail, and is asked again without them.
    out = await git(dir, [...where, 'HEAD', 'HEAD^{tree}', '--symbolic-full-name', 'HEAD', '--'], { ok: [0, 128] });
    if (out.code !== 0) out = await git(dir, where, { ok: [0, 128] });
    if (out.code !== 0) return null;
  } catch {
    return null;
  }
  const lines = out.stdout.split('\n');
  if (lines[0] !== 'true' || !lines[1]) return null;
  const root = lines[1];
  const absolute = (p: string) => (isAbsolute(p) ? p : resolve(dir, p));
  const head = /^[0-9a-f]{40,64}$/.test(lines[5] ?? '') ? (lines[5] as string) : null;
  const branch =
    head && (lines[7] ?? '').startsWith('refs/heads/') ? (lines[7] as string).slice('refs/heads/'.length) : null;
  return {
    root,
    commonDir: absolute(lines[2] ?? '.git'),
    indexFile: absolute(lines[3] ?? '.git/index'),
    prefix: lines[4] ?? '',
    head,
    headTree: head ? (lines[6] ?? null) : null,
    branch,
  };
}

export interface CapturedTree {
  /** The tree of the working tree as `git add -A` would stage it (ignored files left out). */
  tree: string;
  /** Paths that differ from `against`'s tree. */
  changed: string[];
}

/** The working tree as a tree object, through a throwaway copy of the index. */
export async function captureWorkingTree(
  repo: RepoInfo,
  against: string | null,
  againstTree?: string | null,
): Promise<CapturedTree> {
  const scratch = mkdtempSync(join(tmpdir(), 'orchestrate-index-'));
  const index = join(scratch, 'index');
  try {
    if (existsSync(repo.indexFile)) copyFileSync(repo.indexFile, index);
    const env = { GIT_INDEX_FILE: index };
    // A copied index may stage what the working tree no longer has: `add -A` makes it the working tree.
    if (!existsSync(index)) await git(repo.root, ['read-tree', '--empty'], { env });
    await git(repo.root, ['add', '-A', '--', '.'], { env });
    const tree = await gitLine(repo.root, ['write-tree'], { env });
    if (againstTree && tree === againstTree) return { tree, changed: [] };
    const changed = against
      ? (await git(repo.root, ['diff', '--name-only', '-z', '--no-renames', against, tree])).stdout
          .split('\0')
          .filter(Boolean)
      : (await git(repo.root, ['ls-tree', '-r', '-z', '--name-only', tree])).stdout.split('\0').filter(Boolean);
    return { tree, changed };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** A commit object for `tree` (no ref points at it), with a fixed identity so it never asks who the user is. */
export async function commitTree(
  repo: { root: string },
  tree: string,
  parents: readonly string[],
  message: string,
): Promise<string> {
  return gitLine(repo.root, ['commit-tree', tree, ...parents.flatMap((p) => ['-p', p]), '-m', message], {
    env: ORCHESTRATOR_IDENTITY,
  });
}

/** Who commits what the orchestrator commits (an agent's work is authored by the agent: see checkouts.ts). */
export const ORCHESTRATOR_IDENTITY = {
  GIT_AUTHOR_NAME: 'orchestrate',
  GIT_AUTHOR_EMAIL: 'orchestrate@localhost',
  GIT_COMMITTER_NAME: 'orchestrate',
  GIT_COMMITTER_EMAIL: 'orchestrate@localhost',
};

export interface Base {
  commit: string;
  /** HEAD when the session started (null in a repository with no commit yet). */
  head: string | null;
  branch: string | null;
  /** `--base REF` as given, or null for HEAD plus the uncommitted changes. */
  ref: string | null;
  /** Uncommitted paths taken into the base (0 with --base, or a clean checkout). */
  uncommitted: number;
  /** One line for the start line and `status`: "main @ 1a2b3c4d5e6f + 3 uncommitted files". */
  summary: string;
}

/** The commit a session starts from. `ref` names one; without it, HEAD plus the uncommitted changes. */
export async function captureBase(repo: RepoInfo, options: { ref?: string | undefined } = {}): Promise<Base> {
  const short = (sha: string) => sha.slice(0, 12);
  if (options.ref !== undefined) {
    const commit = await resolveCommit(repo.root, options.ref);
    if (!commit) throw new BaseError(`--base ${options.ref} names no commit in ${repo.root}`);
    return {
      commit,
      head: repo.head,
      branch: repo.branch,
      ref: options.ref,
      uncommitted: 0,
      summary: `${options.ref} @ ${short(commit)}`,
    };
  }
  const captured = await captureWorkingTree(repo, repo.head, repo.headTree);
  const where = repo.head ? `${repo.branch ?? 'detached HEAD'} @ ${short(repo.head)}` : 'an empty repository';
  if (repo.head && captured.changed.length === 0) {
    return { commit: repo.head, head: repo.head, branch: repo.branch, ref: null, uncommitted: 0, summary: where };
  }
  const n = captured.changed.length;
  const message =
    `orchestrate: base of a session: ${where} plus uncommitted changes\n\n` +
    `${n} uncommitted ${n === 1 ? 'path' : 'paths'} of the checkout, taken as they were when the session started.\n`;
  const commit = await commitTree(repo, captured.tree, repo.head ? [repo.head] : [], message);
  return {
    commit,
    head: repo.head,
    branch: repo.branch,
    ref: null,
    uncommitted: n,
    summary: `${where} + ${n} uncommitted ${n === 1 ? 'file' : 'files'}`,
  };
}

/** `--base` that names nothing, or a base that cannot be captured: the session does not start. */
export class BaseError extends Error {
  readonly usage = true;
  constructor(message: string) {
    super(message);
    this.name = 'BaseError';
  }
}

/** `path` relative to the repository root, when it is inside it. */
export function insideRepo(repo: RepoInfo, path: string): string | null {
  const rel = relative(repo.root, resolve(path));
  return rel.startsWith('..') || isAbsolute(rel) ? null : rel;
}

/**
 * A repository at `dir` of its own that reads `objectsDir` (the user's object store) through an alternates file,
 * with `at` checked out: on the branch `ref`, or detached when `ref` is null. What was at `dir` is removed first.
 * The few files of a fresh `.git` are written directly (what `git init --template=` and two ref updates would
 * write, minus three processes per checkout); git then only checks the tree out.
 */
export async function makeSharedCheckout(
  dir: string,
  objectsDir: string,
  at: string,
  ref: string | null,
): Promise<void> {
  rmSync(dir, { recursive: true, force: true });
  const gitDir = join(dir, '.git');
  for (const sub of ['objects/info', 'objects/pack', 'refs/heads', 'refs/tags', 'info'])
    mkdirSync(join(gitDir, sub), { recursive: true });
  // A SHA-256 repository names its commits with 64 hex digits; its checkouts must say so too.
  const sha256 = at.length === 64;
  const core = [
    '[core]',
    `\trepositoryformatversion = ${sha256 ? 1 : 0}`,
    '\tfilemode = true',
    '\tbare = false',
    '\tlogallrefupdates = true',
  ];
  writeFileSync(
    join(gitDir, 'config'),
    `${[...core, ...(sha256 ? ['[extensions]', '\tobjectformat = sha256'] : [])].join('\n')}\n`,
  );
  writeFileSync(join(gitDir, 'objects', 'info', 'alternates'), `${objectsDir}\n`);
  writeFileSync(join(gitDir, 'info', 'exclude'), '# what the orchestrator copied or linked in: never committed\n');
  if (ref) {
    mkdirSync(join(gitDir, dirname(ref)), { recursive: true });
    writeFileSync(join(gitDir, ref), `${at}\n`);
    writeFileSync(join(gitDir, 'HEAD'), `ref: ${ref}\n`);
  } else {
    writeFileSync(join(gitDir, 'HEAD'), `${at}\n`);
  }
  await git(dir, ['read-tree', '-u', '--reset', 'HEAD']);
}
