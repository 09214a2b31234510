/**
 * A fleet session's code on its way between the remote and a runner (issue 16: code moves by git): the runner's
 * clone at the session's base, the session's refs fetched into it when it is taken over, and pushed back as they
 * change: its branches (orch/<sid>/<worker>, orch/<sid>/_result) and its refs under refs/orch/<sid>/ (its base,
 * where each worker started).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { git } from '../workspace/git.js';

/**
 * Git's transports a session's repository may use: the usual ones. Any other (`ext::`, a remote helper) could run a
 * command named in the URL, which whoever queued the session chose. Goes before the git subcommand.
 */
export const REPO_PROTOCOLS = [
  ...['-c', 'protocol.allow=never'],
  ...['https', 'http', 'ssh', 'git', 'file'].flatMap((p) => ['-c', `protocol.${p}.allow=always`]),
];

/** A clone of the session's repository at its base, in `workDir/<sid>`. */
export async function cloneAt(workDir: string, session: { sessionId: string; repo: string; base: string }) {
  const dir = join(workDir, session.sessionId);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });
  await git(workDir, [...REPO_PROTOCOLS, 'clone', '--quiet', '--no-checkout', '--', session.repo, dir]);
  const base = await git(dir, ['rev-parse', '--verify', '--quiet', `${session.base}^{commit}`], { ok: [0, 1] });
  const commit = base.code === 0 ? session.base : `origin/${session.base}`;
  await git(dir, ['checkout', '--quiet', '--detach', commit]);
  return dir;
}

/** The session's refs as another runner pushed them, into the clone `dir`. */
export async function fetchSessionRefs(dir: string, sessionId: string): Promise<void> {
  const refspecs = [`+refs/heads/orch/${sessionId}/*:refs/heads/orch/${sessionId}/*`];
  refspecs.push(`+refs/orch/${sessionId}/*:refs/orch/${sessionId}/*`);
  await git(dir, [...REPO_PROTOCOLS, 'fetch', '--quiet', 'origin', ...refspecs]);
}

/**
 * Push the session's refs to origin when they differ from `pushed` (what the last push sent, as for-each-ref
 * printed it); returns what was pushed now.
 */
export async function pushSessionRefs(dir: string, sessionId: string, pushed: string): Promise<string> {
  const format = '--format=%(refname) %(objectname)';
  const refs = await git(dir, ['for-each-ref', format, `refs/heads/orch/${sessionId}/`, `refs/orch/${sessionId}/`]);
  if (refs.stdout === pushed) return pushed;
  const names = refs.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' ')[0] as string);
  if (names.length > 0) await pushWithRetries(dir, names);
  return refs.stdout;
}

/**
 * `git push --force` of `refs` to origin, tried again a few times: runners pushing to one remote at once can find a
 * ref's lock (or the folder it goes in) taken by another push, which a moment later is free.
 */
async function pushWithRetries(dir: string, refs: readonly string[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await git(dir, [...REPO_PROTOCOLS, 'push', '--quiet', '--force', 'origin', ...refs.map((r) => `${r}:${r}`)]);
      return;
    } catch (error) {
      if (attempt >= 4) throw new Error(`pushing the session's branches failed: ${(error as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt + Math.random() * 100));
    }
  }
}
