/**
 * A worker's work on its way back: what its agent left in the checkout committed (authored by the agent), and the
 * branch brought into the user's repository, as a bundle when a sandbox stands between them (a bundle is data: git
 * reads nothing of the checkout's configuration from it). Once an agent ran in a checkout, git runs there confined.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ChangeStat } from '../domain/isolation.js';
import type { SessionCheckouts } from './checkouts.js';
import { git, splitZ } from './git.js';
import { MARKERS } from './merges.js';
import { ORCHESTRATOR_IDENTITY } from './repo.js';
import { changeStat, fetchCheckoutHead, withRepoLock } from './session-refs.js';

export interface CommitOutcome {
  /** The commit made for what the agent left uncommitted, or null when it left nothing. */
  commit: string | null;
  /** The worker's whole change so far: start..head. */
  change: ChangeStat;
}

export interface Unresolved {
  unresolved: string[];
}

/** Who an agent's leftover changes are committed as. */
export interface Author {
  name: string;
  email: string;
}

type Run = (args: string[], options?: { ok?: number[] }) => Promise<{ code: number; stdout: string }>;

/**
 * After an attempt: commit what the agent left uncommitted (authored by the agent), then bring the branch into
 * the user's repository. A merge whose conflicts are not resolved is not committed. Runs confined.
 */
export async function commitWork(
  checkouts: SessionCheckouts,
  name: string,
  message: string,
  author: Author,
): Promise<CommitOutcome | Unresolved | null> {
  const dir = checkouts.dir(name);
  if (!existsSync(join(dir, '.git'))) return null;
  const state = checkouts.state(name);
  const confine = checkouts.confined([dir, checkouts.bundleDir]);
  // Without a sandbox there is no boundary to keep: what is committed here is written straight into the user's
  // object store (the checkout's own objects stay readable), so the branch needs no fetch afterwards, unless the
  // agent committed something itself.
  // (Only while the checkout's own object store is empty: an object already there, from a merge or the agent's
  // own `git add`, would not be written again, and the user's store would lack it.)
  const direct = confine === undefined && objectStoreEmpty(join(dir, '.git', 'objects'));
  const before = direct ? headOf(dir) : null;
  const objects: Record<string, string> = direct
    ? { GIT_OBJECT_DIRECTORY: checkouts.objectsDir, GIT_ALTERNATE_OBJECT_DIRECTORIES: join(dir, '.git', 'objects') }
    : {};
  const run = (args: string[], options: { env?: Record<string, string>; ok?: number[] } = {}) =>
    git(dir, args, {
      ...options,
      env: { ...objects, ...options.env },
      ...(confine ? { confine } : {}),
      timeoutMs: 120_000,
    });
  // Whether a merge waits to be committed (its file's existence: nothing of the checkout is run for it).
  const merging = existsSync(join(dir, '.git', 'MERGE_HEAD'));
  // Conflicted files the agent edited but did not mark resolved are staged with the rest; what counts is that
  // no conflict marker is left in them.
  const conflicted = merging
    ? [
        ...new Set([
          ...(state?.conflicted ?? []),
          ...splitZ((await run(['diff', '--name-only', '-z', '--diff-filter=U'])).stdout),
        ]),
      ]
    : [];
  await run(['add', '-A']);
  if (conflicted.length > 0) {
    const marked = await run(['grep', '--cached', '-l', '-z', '-E', MARKERS, '--', ...conflicted], { ok: [0, 1] });
    if (marked.code === 0) return { unresolved: splitZ(marked.stdout) };
  }
  // Exit 1: nothing staged, nothing to commit (a merge waiting to be committed always commits).
  const made = await run(['commit', '-q', '--no-verify', ...(merging ? ['--allow-empty'] : []), '-m', message], {
    env: { ...ORCHESTRATOR_IDENTITY, GIT_AUTHOR_NAME: author.name, GIT_AUTHOR_EMAIL: author.email },
    ok: [0, 1],
  });
  if (made.code === 0 && state?.merging) checkouts.writeState(name, { ...state, merging: null, conflicted: [] });
  const head = (await run(['rev-parse', '--verify', 'HEAD^{commit}'])).stdout.trim();
  if (!/^[0-9a-f]{40,64}$/.test(head)) throw new Error(`the checkout of ${name} has no HEAD commit`);
  const commit = made.code === 0 ? head : null;
  const start = state?.start ?? (await checkouts.start(name));
  // Nothing new, or only what was just written to the user's store: the branch is pointed at it.
  const known = head === start || (direct && before !== null && before === start);
  await bringBack(checkouts, name, head, known ? head : start, run, confine !== undefined);
  return { commit, change: await changeStat(checkouts.repo.root, checkouts.branch(name), start, head) };
}

/**
 * A worker's change as its checkout holds it now: its start against the working tree, new files included (a
 * review while the worker runs sees its work in progress; once it ended this is start..head). Runs confined.
 */
export async function workingDiff(checkouts: SessionCheckouts, name: string, maxUntracked = 50): Promise<string> {
  const dir = checkouts.dir(name);
  const start = await checkouts.start(name);
  if (!start || !existsSync(join(dir, '.git'))) return '';
  const confine = checkouts.confined([dir]);
  const run = (args: string[], ok = [0]) => git(dir, args, { ...(confine ? { confine } : {}), ok, timeoutMs: 120_000 });
  const parts = [(await run(['diff', '--no-color', '--no-ext-diff', '--no-textconv', '-M', start])).stdout];
  const untracked = splitZ((await run(['ls-files', '--others', '--exclude-standard', '-z'])).stdout).slice(
    0,
    maxUntracked,
  );
  // `git diff --no-index` exits 1 when the files differ, which they always do here.
  for (const file of untracked)
    parts.push((await run(['diff', '--no-color', '--no-index', '--', '/dev/null', file], [0, 1])).stdout);
  return parts.filter((p) => p.trim() !== '').join('\n');
}

/**
 * A worker's commits into the user's repository: the checkout's HEAD when the repository has it already, else
 * a bundle that confined git writes and the user's git fetches (a bundle is data: nothing of the checkout's
 * configuration comes along).
 */
async function bringBack(
  checkouts: SessionCheckouts,
  name: string,
  head: string,
  start: string | null,
  run: Run,
  confined: boolean,
): Promise<void> {
  const { root } = checkouts.repo;
  await withRepoLock(root, async () => {
    // Nothing new (its start, which the user's repository has): point the branch at it.
    if (head === start) {
      await git(root, ['update-ref', checkouts.branchRef(name), head]);
      return;
    }
    // Without a sandbox there is no boundary to keep: fetch straight from the checkout.
    if (!confined) {
      await fetchCheckoutHead(root, checkouts.dir(name), checkouts.branchRef(name));
      return;
    }
    mkdirSync(checkouts.bundleDir, { recursive: true });
    const bundle = join(checkouts.bundleDir, `${name}.bundle`);
    const exclude = [checkouts.base, start].filter((c): c is string => c !== null).map((c) => `^${c}`);
    try {
      await run(['bundle', 'create', '-q', bundle, 'HEAD', ...exclude]);
      await git(root, [
        '-c',
        'fetch.fsckObjects=true',
        'fetch',
        '--quiet',
        '--no-tags',
        '--no-write-fetch-head',
        bundle,
        `+HEAD:${checkouts.branchRef(name)}`,
      ]);
    } finally {
      rmSync(bundle, { force: true });
    }
  });
}

/** No object in a checkout's own store (all it reads comes from its alternates). */
function objectStoreEmpty(objects: string): boolean {
  try {
    return readdirSync(objects).every(
      (entry) => entry === 'info' || (entry === 'pack' && readdirSync(join(objects, 'pack')).length === 0),
    );
  } catch {
    return false;
  }
}

/** A checkout's HEAD commit read from its files (null when it is not a plain loose ref: git is asked then). */
function headOf(dir: string): string | null {
  try {
    const head = readFileSync(join(dir, '.git', 'HEAD'), 'utf8').trim();
    const sha = head.startsWith('ref: ') ? readFileSync(join(dir, '.git', head.slice(5)), 'utf8').trim() : head;
    return /^[0-9a-f]{40,64}$/.test(sha) ? sha : null;
  } catch {
    return null;
  }
}
