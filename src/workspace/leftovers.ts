/**
 * What sessions leave behind in git, found and removed: checkouts under `<workspace>/checkouts/<sid>` and the
 * refs a session owns in a repository (`refs/heads/orch/<sid>/*`, `refs/orch/<sid>/*`). A session that still has
 * its folder and was not discarded owns them; anything else is a leftover (`orchestrate gc`, `doctor`). Work
 * that was never applied is removed only when asked to (`--force`).
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { git, resolveCommit } from './git.js';
import { findRepo } from './repo.js';
import { removeSessionRefs, sessionRegistryPath } from './session-refs.js';

const SESSION_ID = /^orch_\d{8}_\d{6}_[a-z0-9]{4}$/;

export type Owner = 'session' | 'discarded' | 'gone';

export interface Leftover {
  sessionId: string;
  /** Why it is left over: its session was discarded, or its session folder is gone. */
  owner: Exclude<Owner, 'session'>;
  checkouts: string | null;
  repo: string | null;
  refs: string[];
  /** Its branches hold work beyond the base that was never applied (removed only with --force). */
  unapplied: boolean;
}

/**
 * Every session with checkouts or refs: in the workspace's checkouts folder, in the given repositories (and those
 * the checkouts read from) and their git dirs' checkouts folders. `ownerOf` says whether a session folder of this
 * workspace still owns them; a session a repository records as another workspace's is judged by that workspace.
 */
export async function findLeftovers(
  workspace: string,
  repos: readonly string[],
  ownerOf: (sessionId: string) => Owner,
  ownerElsewhere: (workspace: string, sessionId: string) => boolean,
): Promise<Leftover[]> {
  const ws = resolve(workspace);
  const found = new Map<string, { checkouts: string | null; repo: string | null; refs: string[] }>();
  const entry = (sid: string) => {
    let e = found.get(sid);
    if (!e) found.set(sid, (e = { checkouts: null, repo: null, refs: [] }));
    return e;
  };
  const repoRoots = new Map<string, string>();
  const addRepo = async (dir: string) => {
    const repo = await findRepo(dir).catch(() => null);
    if (repo) repoRoots.set(repo.root, repo.commonDir);
  };
  for (const r of repos) await addRepo(r);
  const scanCheckouts = async (root: string) => {
    if (!existsSync(root)) return;
    for (const sid of readdirSync(root).filter((d) => SESSION_ID.test(d))) {
      const e = entry(sid);
      e.checkouts = join(root, sid);
      const repo = repoOfCheckouts(e.checkouts);
      if (repo && !repoRoots.has(repo)) await addRepo(repo);
    }
  };
  await scanCheckouts(join(ws, 'checkouts'));
  for (const commonDir of [...repoRoots.values()]) await scanCheckouts(join(commonDir, 'orchestrate', 'checkouts'));
  for (const repo of repoRoots.keys()) {
    const out = await git(repo, ['for-each-ref', '--format=%(refname)', 'refs/heads/orch/', 'refs/orch/']).catch(
      () => ({ stdout: '' }),
    );
    for (const ref of out.stdout.split('\n').filter(Boolean)) {
      const sid = /^refs\/(?:heads\/)?orch\/([^/]+)\//.exec(ref)?.[1];
      if (!sid || !SESSION_ID.test(sid)) continue;
      const e = entry(sid);
      e.repo = repo;
      e.refs.push(ref);
    }
  }
  const leftovers: Leftover[] = [];
  for (const [sessionId, e] of [...found.entries()].sort()) {
    const registered = e.repo ? registeredWorkspace(repoRoots.get(e.repo) as string, sessionId) : null;
    if (registered && registered !== ws && ownerElsewhere(registered, sessionId)) continue;
    const owner = registered && registered !== ws ? 'gone' : ownerOf(sessionId);
    if (owner === 'session') continue;
    leftovers.push({ sessionId, owner, ...e, unapplied: await holdsUnappliedWork(e.repo, sessionId, e.refs) });
  }
  return leftovers;
}

/** Remove a leftover: its checkouts, its refs and the repository's record of it. */
export async function removeLeftover(leftover: Leftover): Promise<void> {
  if (leftover.repo) {
    await removeSessionRefs(leftover.repo, leftover.sessionId);
    const repo = await findRepo(leftover.repo).catch(() => null);
    if (repo) rmSync(sessionRegistryPath(repo.commonDir, leftover.sessionId), { force: true });
  }
  if (leftover.checkouts) rmSync(leftover.checkouts, { recursive: true, force: true });
}

/** The workspace a repository records a session as belonging to (recordBase), if it does. */
function registeredWorkspace(commonDir: string, sessionId: string): string | null {
  try {
    return (
      (JSON.parse(readFileSync(sessionRegistryPath(commonDir, sessionId), 'utf8')) as { workspace?: string })
        .workspace ?? null
    );
  } catch {
    return null;
  }
}

/** A session's branches hold commits beyond its base, and no apply of it is recorded (refs/orch/<sid>/applied). */
export async function holdsUnappliedWork(
  repo: string | null,
  sessionId: string,
  refs: readonly string[],
): Promise<boolean> {
  if (!repo) return false;
  if (refs.includes(`refs/orch/${sessionId}/applied`)) return false;
  const base = await resolveCommit(repo, `refs/orch/${sessionId}/base`);
  for (const ref of refs.filter((r) => r.startsWith(`refs/heads/orch/${sessionId}/`))) {
    const head = await resolveCommit(repo, ref);
    if (head && head !== base) return true;
  }
  return false;
}

/** The repository a session's checkouts read their objects from (their alternates file), if it still exists. */
function repoOfCheckouts(dir: string): string | null {
  for (const name of existsSync(dir) ? readdirSync(dir) : []) {
    try {
      const objects = readFileSync(join(dir, name, '.git', 'objects', 'info', 'alternates'), 'utf8')
        .trim()
        .split('\n')[0];
      if (objects && existsSync(objects)) return resolveRepoRoot(dirname(objects));
    } catch {
      // not a checkout (.state, .bundles)
    }
  }
  return null;
}

/** The working tree whose git dir is `commonDir` (`<root>/.git` for a usual repository). */
function resolveRepoRoot(commonDir: string): string {
  return commonDir.endsWith('/.git') ? dirname(commonDir) : commonDir;
}
