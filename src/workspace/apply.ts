/**
 * Bringing a session's change into the user's checkout, the one thing that writes there (`orchestrate apply`),
 * and never at the cost of the user's own work.
 *
 * By default the change lands as uncommitted changes on top of whatever the checkout holds now. The checkout is
 * captured as a tree (as the base was: through a throwaway index); when it still is exactly where the change
 * started, the change's own tree is the result; when the user worked on since, the change is merged into their
 * tree in a scratch repository (a 3-way merge whose base is where the change started), conflicts marked in the
 * files as git marks them. Then only the difference between the user's tree and that result is applied to the
 * working tree by `git apply`, which applies all of it or nothing. Neither HEAD nor the index moves, and the
 * checkout as it was before is kept as a commit (refs/orch/<sid>/before-apply) to go back to.
 *
 * `--merge` merges the branch as commits instead (HEAD and index move, as a `git merge` does), refused while the
 * merge would touch files with uncommitted changes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { git, gitBytes, gitLine, splitZ } from './git.js';
import { ORCHESTRATOR_IDENTITY, captureWorkingTree, commitTree, findRepo, makeSharedCheckout } from './repo.js';
import { diffFiles, type DiffFile } from './diff.js';
import { UsageError } from '../domain/usage-error.js';

export interface ApplyRange {
  /** Where the change starts (the base, or a worker's start) and where it ends (a branch head). */
  from: string;
  to: string;
  /** The branch `to` is the head of (for messages and --merge). */
  branch: string;
}

export interface ApplyOutcome {
  mode: 'changes' | 'merge';
  /** What changed in the checkout. */
  files: DiffFile[];
  /** Files now holding conflict markers (changes), or left unmerged by git (merge). */
  conflicts: string[];
  /** The checkout before the apply, as a commit (changes mode), to go back to. */
  backup: string | null;
  /** One line for a person. */
  summary: string;
}

/** Apply `range` to the checkout at `repoRoot` as uncommitted changes (default) or as a merge. */
export async function applyRange(repoRoot: string, range: ApplyRange, options: { merge: boolean; sessionId: string; message: string }): Promise<ApplyOutcome> {
  const repo = await findRepo(repoRoot);
  if (!repo) throw new UsageError(`${repoRoot} is no longer a git repository`);
  return options.merge ? mergeBranch(repo.root, range, options.message) : applyChanges(repo, range, options.sessionId);
}

async function applyChanges(repo: NonNullable<Awaited<ReturnType<typeof findRepo>>>, range: ApplyRange, sessionId: string): Promise<ApplyOutcome> {
  const current = await captureWorkingTree(repo, null);
  const fromTree = await gitLine(repo.root, ['rev-parse', `${range.from}^{tree}`]);
  const before = await commitTree(repo, current.tree, [range.from], `orchestrate: the checkout before applying ${range.branch}`);
  let result = await gitLine(repo.root, ['rev-parse', `${range.to}^{tree}`]);
  let conflicts: string[] = [];
  if (current.tree !== fromTree) ({ tree: result, conflicts } = await mergeTrees(repo.commonDir, before, range.to));
  const files = await diffFiles(repo.root, current.tree, result);
  if (files.length === 0) return { mode: 'changes', files, conflicts: [], backup: null, summary: `nothing to apply: the checkout already holds ${range.branch}` };
  await git(repo.root, ['update-ref', `refs/orch/${sessionId}/before-apply`, before]);
  const patch = await gitBytes(repo.root, ['diff', '--binary', '--no-color', '--no-ext-diff', '--no-textconv', '--full-index', current.tree, result]);
  const applied = await git(repo.root, ['apply', '--whitespace=nowarn', '--allow-empty'], { input: patch, ok: [0, 1, 128] });
  if (applied.code !== 0) {
    const why = applied.stderr.trim().split('\n').filter(Boolean).slice(0, 4).join('; ');
    throw new UsageError(`nothing was applied: git apply refused the change (${why}). Your checkout is as it was.`);
  }
  const counted = `${files.length} ${files.length === 1 ? 'file' : 'files'}, +${sum(files, 'additions')} -${sum(files, 'deletions')}`;
  const summary = conflicts.length
    ? `applied ${range.branch} as uncommitted changes (${counted}), with conflict markers in ${conflicts.join(', ')}: resolve them, then review and commit`
    : `applied ${range.branch} as uncommitted changes (${counted}): review them (git diff) and commit`;
  return { mode: 'changes', files, conflicts, backup: before, summary };
}

/**
 * `ours` merged with `theirs` in a scratch repository that reads the user's objects: the resulting tree (conflict
 * markers in it where both changed the same lines) and the conflicted paths. The merge base is `ours`'s parent.
 */
async function mergeTrees(commonDir: string, ours: string, theirs: string): Promise<{ tree: string; conflicts: string[] }> {
  const scratch = mkdtempSync(join(tmpdir(), 'orchestrate-apply-'));
  try {
    await makeSharedCheckout(scratch, join(commonDir, 'objects'), ours, 'refs/heads/apply');
    const merged = await git(scratch, ['merge', '--no-ff', '--no-commit', theirs], { env: ORCHESTRATOR_IDENTITY, ok: [0, 1] });
    const conflicts = merged.code === 0 ? [] : splitZ((await git(scratch, ['diff', '--name-only', '-z', '--diff-filter=U'])).stdout);
    if (merged.code !== 0 && conflicts.length === 0) throw new Error(`the change could not be merged into your checkout: ${merged.stderr.trim().split('\n').pop() ?? ''}`);
    await git(scratch, ['add', '-A']);
    return { tree: await gitLine(scratch, ['write-tree']), conflicts };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function mergeBranch(root: string, range: ApplyRange, message: string): Promise<ApplyOutcome> {
  const head = (await git(root, ['rev-parse', '--verify', '--quiet', 'HEAD'], { ok: [0, 1] })).stdout.trim();
  if (!head) throw new UsageError('apply --merge needs a commit to merge into: this repository has none yet (apply without --merge)');
  const mergeBase = (await git(root, ['merge-base', head, range.to], { ok: [0, 1] })).stdout.trim();
  const touched = splitZ((await git(root, ['diff', '--name-only', '-z', '--no-renames', mergeBase || range.from, range.to])).stdout);
  const dirty = await uncommittedPaths(root);
  const overlap = touched.filter((p) => dirty.has(p));
  if (overlap.length > 0) {
    const list = overlap.slice(0, 5).join(', ') + (overlap.length > 5 ? ` and ${overlap.length - 5} more` : '');
    throw new UsageError(`apply --merge would touch files with uncommitted changes (${list}): commit or stash them first, or apply without --merge`);
  }
  const before = await gitLine(root, ['rev-parse', 'HEAD']);
  const merged = await git(root, ['merge', '--no-ff', '--no-edit', '-m', message, range.to], { ok: [0, 1], userHooks: true });
  const conflicts = merged.code === 0 ? [] : splitZ((await git(root, ['diff', '--name-only', '-z', '--diff-filter=U'])).stdout);
  if (merged.code !== 0 && conflicts.length === 0) throw new UsageError(`git merge refused: ${(merged.stderr || merged.stdout).trim().split('\n').slice(-2).join(' / ')}`);
  const files = await diffFiles(root, before, conflicts.length ? range.to : 'HEAD');
  const summary = conflicts.length
    ? `merging ${range.branch} conflicts in ${conflicts.join(', ')}: resolve them and commit (or git merge --abort)`
    : `merged ${range.branch} into ${await currentBranch(root)} (${files.length} ${files.length === 1 ? 'file' : 'files'})`;
  return { mode: 'merge', files, conflicts, backup: null, summary };
}

/** Paths with uncommitted changes: modified, staged, or untracked (not ignored). */
async function uncommittedPaths(root: string): Promise<Set<string>> {
  const out = await git(root, ['status', '--porcelain=v1', '-z', '--untracked-files=all']);
  const paths = new Set<string>();
  const entries = splitZ(out.stdout);
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as string;
    paths.add(entry.slice(3));
    // A rename is followed by its old path.
    if (entry[0] === 'R' || entry[0] === 'C') paths.add(entries[++i] as string);
  }
  return paths;
}

async function currentBranch(root: string): Promise<string> {
  const out = await git(root, ['symbolic-ref', '--quiet', '--short', 'HEAD'], { ok: [0, 1, 128] });
  return out.code === 0 ? out.stdout.trim() : 'HEAD';
}

function sum(files: DiffFile[], key: 'additions' | 'deletions'): number {
  return files.reduce((n, f) => n + f[key], 0);
}
