/**
 * What a session owns in the user's repository, and the one way its checkouts write there: the branches
 * `orch/<sid>/<name>` and the refs under `refs/orch/<sid>/`, written under this process's lock of that repository,
 * the record of which workspace a session belongs to, and a branch's change counted there.
 */
import { join } from 'node:path';
import type { ChangeStat } from '../domain/isolation.js';
import { splitNumstat } from './diff.js';
import { git } from './git.js';

/** Serializes this process's writes to one user repository (ref updates, fetches). */
const repoLocks = new Map<string, Promise<unknown>>();
export function withRepoLock<T>(root: string, work: () => Promise<T>): Promise<T> {
  const next = (repoLocks.get(root) ?? Promise.resolve()).then(work, work);
  repoLocks.set(
    root,
    next.catch(() => undefined),
  );
  return next;
}

/**
 * Fetch a checkout's HEAD into the user's repository as `ref` (call it under the repository's lock). Only from a
 * checkout no agent wrote, or one outside any sandbox: the user's git reads that repository.
 */
export async function fetchCheckoutHead(root: string, checkout: string, ref: string): Promise<void> {
  await git(root, [
    'fetch',
    '--quiet',
    '--no-tags',
    '--no-write-fetch-head',
    '--no-recurse-submodules',
    checkout,
    `+HEAD:${ref}`,
  ]);
}

/** Where a repository records which workspace a session of it belongs to. */
export function sessionRegistryPath(commonDir: string, sessionId: string): string {
  return join(commonDir, 'orchestrate', 'sessions', `${sessionId}.json`);
}

/** Every ref a session owns in a repository. */
export async function sessionRefs(root: string, sessionId: string): Promise<string[]> {
  const out = await git(root, [
    'for-each-ref',
    '--format=%(refname)',
    `refs/heads/orch/${sessionId}/`,
    `refs/orch/${sessionId}/`,
  ]);
  return out.stdout.split('\n').filter(Boolean);
}

/** Delete every ref a session owns in a repository; the refs it deleted. */
export async function removeSessionRefs(root: string, sessionId: string): Promise<string[]> {
  return withRepoLock(root, async () => {
    const refs = await sessionRefs(root, sessionId);
    if (refs.length > 0)
      await git(root, ['update-ref', '--stdin'], { input: refs.map((r) => `delete ${r}\n`).join('') });
    return refs;
  });
}

/** +/- line counts and files of a branch's change (one `git diff --numstat`). */
export async function changeStat(
  root: string,
  branch: string,
  start: string | null,
  head: string | null,
): Promise<ChangeStat> {
  if (!start || !head || start === head) return { branch, start, head, files: 0, additions: 0, deletions: 0 };
  const counts = splitNumstat(
    (await git(root, ['diff', '--no-color', '--no-ext-diff', '--no-textconv', '-M', '--numstat', '-z', start, head]))
      .stdout,
  );
  return {
    branch,
    start,
    head,
    files: counts.length,
    additions: counts.reduce((n, f) => n + f.additions, 0),
    deletions: counts.reduce((n, f) => n + f.deletions, 0),
  };
}
