/**
 * Merges in a checkout no agent wrote (git runs there directly): a merge of a commit, and a merge left for a person,
 * found again later: still conflicted, resolved (then committed), or gone. A conflicted file counts as resolved
 * only when it holds no conflict marker.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { git, gitTest, resolveCommit, splitZ } from './git.js';
import { ORCHESTRATOR_IDENTITY } from './repo.js';

/** A conflict marker line: seven `<` or `>` at the start of a line, then a space or the end. */
export const MARKERS = '^(<<<<<<<|>>>>>>>)( |$)';

export type MergeLeft =
  | { status: 'conflict'; cwd: string; files: string[]; merging: string; message: string }
  | { status: 'resolved' | 'none' };

/** The paths git left unmerged in a checkout's index. */
export async function unmergedPaths(dir: string): Promise<string[]> {
  return splitZ((await git(dir, ['diff', '--name-only', '-z', '--diff-filter=U'])).stdout);
}

/** `git merge --no-ff` of a commit into the checkout at `dir`; the conflicted paths (empty: it merged). */
export async function mergeCommit(dir: string, commit: string, message: string): Promise<string[]> {
  const out = await git(dir, ['merge', '--no-ff', '--no-edit', '-m', message, commit], {
    env: ORCHESTRATOR_IDENTITY,
    ok: [0, 1],
  });
  if (out.code === 0) return [];
  const conflicts = await unmergedPaths(dir);
  if (conflicts.length === 0)
    throw new Error(
      `git merge in ${dir} failed: ${(out.stderr || out.stdout).trim().split('\n').slice(-2).join(' / ')}`,
    );
  return conflicts;
}

/**
 * A merge of `merging` left for a person in the checkout at `dir` (the agent works in `cwd`): still conflicted,
 * committed now that it is resolved, or gone (`none`). `conflicted`: the paths that conflicted; `sources`: the
 * commits a merge the person committed holds.
 */
export async function continueMerge(
  checkout: { dir: string; cwd: string },
  left: { merging: string; conflicted: readonly string[]; sources: readonly string[] },
  message: string,
): Promise<MergeLeft> {
  const { dir } = checkout;
  const { merging } = left;
  if (existsSync(join(dir, '.git', 'MERGE_HEAD'))) {
    const conflict = (files: string[]) => ({
      status: 'conflict' as const,
      cwd: checkout.cwd,
      files,
      merging,
      message: `the merge of ${merging} still has unresolved conflicts in ${files.join(', ')}`,
    });
    // Unmerged paths: the person has not marked them resolved (`git add`), so their index is left as it is.
    const unmerged = await unmergedPaths(dir);
    if (unmerged.length > 0) return conflict(unmerged);
    await git(dir, ['add', '-A']);
    if (left.conflicted.length > 0) {
      const marked = await git(dir, ['grep', '--cached', '-l', '-z', '-E', MARKERS, '--', ...left.conflicted], {
        ok: [0, 1],
      });
      if (marked.code === 0) return conflict(splitZ(marked.stdout));
    }
    await git(dir, ['commit', '-q', '--no-verify', '--no-edit', '-m', message], { env: ORCHESTRATOR_IDENTITY });
    return { status: 'resolved' };
  }
  // No merge in progress: the person committed it (HEAD holds every source), or it is gone.
  const head = await resolveCommit(dir, 'HEAD');
  if (!head) return { status: 'none' };
  for (const source of left.sources) {
    if (!(await gitTest(dir, ['merge-base', '--is-ancestor', source, head]))) return { status: 'none' };
  }
  return { status: 'resolved' };
}
