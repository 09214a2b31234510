/** The little git the orchestrator needs: the commit a session starts from, and the diff a reviewer reads. */
import { git as runGit, GitError } from '../workspace/git.js';

const GIT_TIMEOUT_MS = 30_000;

/** git through the workspace's runner (its settings: no hooks, no fsmonitor...); a failure is `ok: false`. */
async function git(cwd: string, args: string[]): Promise<{ ok: boolean; stdout: string }> {
  try {
    return { ok: true, stdout: (await runGit(cwd, args, { timeoutMs: GIT_TIMEOUT_MS })).stdout };
  } catch (error) {
    if (error instanceof GitError) return { ok: false, stdout: error.result.stdout };
    throw error;
  }
}

/** HEAD of the repository at `dir`, or null when it is not a git repository (or has no commit yet). */
export async function gitHead(dir: string): Promise<string | null> {
  const head = await git(dir, ['rev-parse', '--verify', '--quiet', 'HEAD']);
  return head.ok && /^[0-9a-f]{40,64}$/.test(head.stdout.trim()) ? head.stdout.trim() : null;
}

export async function isGitRepository(dir: string): Promise<boolean> {
  return (await git(dir, ['rev-parse', '--is-inside-work-tree'])).stdout.trim() === 'true';
}

/**
 * Everything that changed in the working tree since `base`: the tracked diff, plus new untracked files shown
 * as additions (a reviewer must see new files too). null when `dir` is not a git repository.
 */
export async function gitDiff(dir: string, base: string | null, maxUntracked = 50): Promise<string | null> {
  if (!(await isGitRepository(dir))) return null;
  const tracked = base
    ? await git(dir, ['diff', '--no-color', '--no-ext-diff', base])
    : await git(dir, ['diff', '--no-color', '--no-ext-diff']);
  const untracked = await git(dir, ['ls-files', '--others', '--exclude-standard', '-z']);
  const files = untracked.stdout.split('\0').filter(Boolean).slice(0, maxUntracked);
  const parts = [tracked.stdout];
  for (const file of files) {
    // `git diff --no-index` exits 1 when files differ, which they always do here.
    const added = await git(dir, ['diff', '--no-color', '--no-index', '--', '/dev/null', file]);
    parts.push(added.stdout);
  }
  return parts.filter((p) => p.trim() !== '').join('\n');
}
