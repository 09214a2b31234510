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
import { git, gitBytes, gitLine, gitTest, splitZ } from './git.js';
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
export async function applyRange(
  repoRoot: string,
  range: ApplyRange,
  options: { merge: boolean; sessionId: string; message: string },
): Promise<ApplyOutcome> {
  const repo = await findRepo(repoRoot);
  if (!repo) throw new UsageError(`${repoRoot} is no longer a git repository`);
  return options.merge ? mergeBranch(repo, range, options.message) : applyChanges(repo, range, options.sessionId);
}

async function applyChanges(
  repo: NonNullable<Awaited<ReturnType<typeof findRepo>>>,
  range: ApplyRange,
  sessionId: string,
): Promise<ApplyOutcome> {
  const current = await captureWorkingTree(repo, null);
  const fromTree = await gitLine(repo.root, ['rev-parse', `${range.from}^{tree}`]);
  const before = await commitTree(
    repo,
    current.tree,
    [range.from],
    `orchestrate: the checkout before applying ${range.branch}`,
  );
  let result = await gitLine(repo.root, ['rev-parse', `${range.to}^{tree}`]);
  let conflicts: string[] = [];
  if (current.tree !== fromTree) ({ tree: result, conflicts } = await mergeTrees(repo.commonDir, before, range.to));
  const files = await diffFiles(repo.root, current.tree, result);
  if (files.length === 0)
    return {
      mode: 'changes',
      files,
      conflicts: [],
      backup: null,
      summary: `nothing to apply: the checkout already holds ${range.branch}`,
    };
  await git(repo.root, ['update-ref', `refs/orch/${sessionId}/before-apply`, before]);
  const patch = await gitBytes(repo.root, [
    'diff',
    '--binary',
    '--no-color',
    '--no-ext-diff',
    '--no-textconv',
    '--full-index',
    current.tree,
    result,
  ]);
  const applied = await git(repo.root, ['apply', '--whitespace=nowarn', '--allow-empty'], {
    input: patch,
    ok: [0, 1, 128],
  });
  if (applied.code !== 0) {
    const why = applied.stderr.trim().split('\n').filter(Boolean).slice(0, 4).join('; ');
    throw new UsageError(`nothing was applied: git apply refused the change (${why}). Your checkout is as it was.`);
  }
  const counted =
    `${files.length} ${files.length === 1 ? 'file' : 'files'}, ` +
    `+${sum(files, 'additions')} -${sum(files, 'deletions')}`;
  const summary = conflicts.length
    ? `applied ${range.branch} as uncommitted changes (${counted}), ` +
      `with conflict markers in ${conflicts.join(', ')}: resolve them, then review and commit`
    : `applied ${range.branch} as uncommitted changes (${counted}): review them (git diff) and commit`;
  return { mode: 'changes', files, conflicts, backup: before, summary };
}

/**
 * `ours` merged with `theirs` in a scratch repository that reads the user's objects: the resulting tree (conflict
 * markers in it where both changed the same lines) and the conflicted paths. The merge base is `ours`'s parent.
 */
async function mergeTrees(
  commonDir: string,
  ours: string,
  theirs: string,
): Promise<{ tree: string; conflicts: string[] }> {
  const scratch = mkdtempSync(join(tmpdir(), 'orchestrate-apply-'));
  // What the merge writes (its blobs with conflict markers, its tree) goes straight into the user's object store,
  // where the patch is made.
  const env = { ...ORCHESTRATOR_IDENTITY, GIT_OBJECT_DIRECTORY: join(commonDir, 'objects') };
  try {
    await makeSharedCheckout(scratch, join(commonDir, 'objects'), ours, 'refs/heads/apply');
    const merged = await git(scratch, ['merge', '--no-ff', '--no-commit', theirs], { env, ok: [0, 1] });
    const conflicts =
      merged.code === 0 ? [] : splitZ((await git(scratch, ['diff', '--name-only', '-z', '--diff-filter=U'])).stdout);
    if (merged.code !== 0 && conflicts.length === 0)
      throw new Error(
        `the change could not be merged into your checkout: ${merged.stderr.trim().split('\n').pop() ?? ''}`,
      );
    await git(scratch, ['add', '-A'], { env });
    return { tree: await gitLine(scratch, ['write-tree'], { env }), conflicts };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * The branch merged as commits: a merge commit of HEAD and the branch, its tree the 3-way merge whose base is where
 * the change started (the session's base, which may hold the user's uncommitted work of then), made in a scratch
 * repository; then HEAD fast-forwards to it. A conflict changes nothing and is reported.
 */
async function mergeBranch(
  repo: NonNullable<Awaited<ReturnType<typeof findRepo>>>,
  range: ApplyRange,
  message: string,
): Promise<ApplyOutcome> {
  const root = repo.root;
  const head = repo.head;
  if (!head)
    throw new UsageError(
      'apply --merge needs a commit to merge into: this repository has none yet (apply without --merge)',
    );
  const touched = splitZ((await git(root, ['diff', '--name-only', '-z', '--no-renames', range.from, range.to])).stdout);
  const dirty = await uncommittedPaths(root);
  const overlap = touched.filter((p) => dirty.has(p));
  if (overlap.length > 0) {
    const list = overlap.slice(0, 5).join(', ') + (overlap.length > 5 ? ` and ${overlap.length - 5} more` : '');
    throw new UsageError(
      `apply --merge would touch files with uncommitted changes (${list}): ` +
        `commit or stash them first, or apply without --merge`,
    );
  }
  if (await gitTest(root, ['merge-base', '--is-ancestor', range.to, head])) {
    return {
      mode: 'merge',
      files: [],
      conflicts: [],
      backup: null,
      summary: `nothing to merge: ${await currentBranch(root)} already holds ${range.branch}`,
    };
  }
  // HEAD's tree as a child of where the change started: the merge below then takes that as its base.
  const ours = await commitTree(repo, `${head}^{tree}`, [range.from], 'orchestrate: HEAD, for the merge');
  const merged = await mergeTrees(repo.commonDir, ours, range.to);
  if (merged.conflicts.length > 0) {
    throw new UsageError(
      `merging ${range.branch} into ${await currentBranch(root)} conflicts in ${merged.conflicts.join(', ')}; ` +
        'nothing was changed. Apply without --merge to get the change with conflict markers to resolve, ' +
        `or merge by hand (git merge ${range.branch})`,
    );
  }
  const parents = ['-p', head, '-p', range.to];
  const made = await git(root, ['commit-tree', merged.tree, ...parents, '-m', message], { ok: [0, 128] });
  const commit =
    made.code === 0
      ? made.stdout.trim()
      : await gitLine(root, ['commit-tree', merged.tree, ...parents, '-m', message], { env: ORCHESTRATOR_IDENTITY });
  const moved = await git(root, ['merge', '--ff-only', '-q', commit], { ok: [0, 1, 128], userHooks: true });
  if (moved.code !== 0)
    throw new UsageError(
      `git refused to move ${await currentBranch(root)} to the merge: ` +
        `${(moved.stderr || moved.stdout).trim().split('\n').slice(-2).join(' / ')}`,
    );
  const files = await diffFiles(root, head, commit);
  return {
    mode: 'merge',
    files,
    conflicts: [],
    backup: null,
    summary:
      `merged ${range.branch} into ${await currentBranch(root)} ` +
      `(${files.length} ${files.length === 1 ? 'file' : 'files'})`,
  };
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
