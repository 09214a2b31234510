/**
 * The session's result: the workers' branches integrated into `orch/<sid>/_result`, in the integration checkout
 * (no agent writes it, so git runs there directly). A conflict is left there for a person, or for a worker added to
 * resolve it; called again, the integration takes up where it stopped.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ChangeStat, IntegrationStep } from '../domain/isolation.js';
import type { CheckoutState, SessionCheckouts } from './checkouts.js';
import { git, gitLine, gitTest } from './git.js';
import { continueMerge, mergeCommit } from './merges.js';
import { ORCHESTRATOR_IDENTITY } from './repo.js';
import { changeStat } from './session-refs.js';

export type { IntegrationStep };

/** The name of the integration checkout and branch (worker ids start with a letter or digit: no clash). */
export const RESULT = '_result';

export type IntegrationOutcome =
  | { status: 'done'; head: string; steps: IntegrationStep[]; change: ChangeStat }
  | { status: 'conflict'; worker: string; files: string[]; cwd: string; head: string; message: string };

/**
 * Integrate the workers' branches into `orch/<sid>/_result`, in the order given (dependency order): the branches
 * no other one contains are taken one after the other, fast-forward where possible, else merged. A conflict is
 * left in the integration checkout for a person; called again once they resolved it, this commits the merge and
 * goes on. A merge of a worker no longer among the candidates (skipped) is abandoned.
 */
export async function integrate(
  checkouts: SessionCheckouts,
  candidates: readonly string[],
): Promise<IntegrationOutcome> {
  const name = RESULT;
  const { base, sessionId } = checkouts;
  const dir = checkouts.dir(name);
  const cwd = checkouts.cwd(name);
  let state = existsSync(join(dir, '.git')) ? checkouts.state(name) : null;
  if (!state) {
    // No merge to make (none of the branches, or one that starts from the base: a chain): the result is that
    // branch head, and no integration checkout is needed.
    const found = await tips(checkouts, candidates);
    const only = found.length === 0 ? { worker: '', head: base } : found.length === 1 ? found[0] : null;
    if (
      only &&
      (only.head === base || (await gitTest(checkouts.repo.root, ['merge-base', '--is-ancestor', base, only.head])))
    ) {
      await checkouts.publish(name, only.head);
      const steps: IntegrationStep[] = only.worker
        ? [{ worker: only.worker, how: 'fast-forward', head: only.head }]
        : [];
      return {
        status: 'done',
        head: only.head,
        steps,
        change: await changeStat(checkouts.repo.root, checkouts.branch(name), base, only.head),
      };
    }
    await checkouts.createCheckout(name, base, 'branch');
    state = {
      kind: 'result',
      from: [],
      sources: [base],
      start: base,
      merging: null,
      conflicted: [],
      setupDone: true,
    } satisfies CheckoutState;
    checkouts.writeState(name, state);
  }
  const steps: IntegrationStep[] = [];
  if (state.merging) {
    const merging = state.merging;
    // A worker that resolved this very conflict (its branch holds the result so far and the one being merged)
    // replaces the merge left here.
    if (
      candidates.includes(merging) &&
      !(await coveredByAnother(checkouts, merging, candidates, await gitLine(dir, ['rev-parse', 'HEAD'])))
    ) {
      const resumed = await continueMerge(
        { dir, cwd },
        { merging, conflicted: state.conflicted, sources: state.sources },
        `orchestrate: merge ${merging} into the result of ${sessionId} (resolved by hand)`,
      );
      if (resumed.status === 'conflict')
        return {
          status: 'conflict',
          worker: merging,
          files: resumed.files,
          cwd,
          head: await gitLine(dir, ['rev-parse', 'HEAD']),
          message: resumed.message,
        };
      if (resumed.status === 'resolved')
        steps.push({ worker: merging, how: 'merge', head: await gitLine(dir, ['rev-parse', 'HEAD']) });
    }
    if (existsSync(join(dir, '.git', 'MERGE_HEAD'))) await git(dir, ['merge', '--abort']);
    state = { ...state, merging: null, conflicted: [] };
    checkouts.writeState(name, state);
  }
  for (const tip of await tips(checkouts, candidates)) {
    const current = await gitLine(dir, ['rev-parse', 'HEAD']);
    if (await gitTest(dir, ['merge-base', '--is-ancestor', tip.head, current])) {
      steps.push({ worker: tip.worker, how: 'contained', head: current });
    } else if (await gitTest(dir, ['merge-base', '--is-ancestor', current, tip.head])) {
      await git(dir, ['merge', '-q', '--ff-only', tip.head], { env: ORCHESTRATOR_IDENTITY });
      steps.push({ worker: tip.worker, how: 'fast-forward', head: tip.head });
    } else {
      const conflicts = await mergeCommit(
        dir,
        tip.head,
        `orchestrate: merge ${tip.worker} into the result of ${sessionId}`,
      );
      if (conflicts.length > 0) {
        checkouts.writeState(name, { ...state, merging: tip.worker, conflicted: conflicts });
        // The result so far, for a worker that resolves the conflict to start from (with the branch it merges).
        await checkouts.publish(name);
        const message = `integrating ${tip.worker} into ${checkouts.branch(name)} conflicts in ${conflicts.join(', ')}`;
        return { status: 'conflict', worker: tip.worker, files: conflicts, cwd, head: current, message };
      }
      steps.push({ worker: tip.worker, how: 'merge', head: await gitLine(dir, ['rev-parse', 'HEAD']) });
    }
  }
  // Fast-forwards only: the result is a branch head the user's repository has; a merge made here is fetched.
  const head = await gitLine(dir, ['rev-parse', 'HEAD']);
  await checkouts.publish(
    name,
    head === base || steps.some((s) => s.how === 'fast-forward' && s.head === head) ? head : undefined,
  );
  return {
    status: 'done',
    head,
    steps,
    change: await changeStat(checkouts.repo.root, checkouts.branch(name), base, head),
  };
}

async function coveredByAnother(
  checkouts: SessionCheckouts,
  merging: string,
  candidates: readonly string[],
  current: string,
): Promise<boolean> {
  const mergingHead = await checkouts.head(merging);
  if (!mergingHead) return false;
  for (const other of candidates) {
    const head = other === merging ? null : await checkouts.head(other);
    if (!head || head === mergingHead) continue;
    if (
      (await gitTest(checkouts.repo.root, ['merge-base', '--is-ancestor', mergingHead, head])) &&
      (await gitTest(checkouts.dir(RESULT), ['merge-base', '--is-ancestor', current, head]))
    )
      return true;
  }
  return false;
}

/** The branches no other candidate contains, in the candidates' order (a chain has one: its last worker). */
async function tips(
  checkouts: SessionCheckouts,
  candidates: readonly string[],
): Promise<Array<{ worker: string; head: string }>> {
  const heads: Array<{ worker: string; head: string }> = [];
  const all = await sessionHeads(checkouts);
  for (const worker of candidates) {
    const head = all.get(worker);
    if (head && !heads.some((h) => h.head === head)) heads.push({ worker, head });
  }
  if (heads.length <= 1) return heads;
  const independent = new Set(
    (await git(checkouts.repo.root, ['merge-base', '--independent', ...heads.map((h) => h.head)])).stdout
      .split('\n')
      .filter(Boolean),
  );
  return heads.filter((h) => independent.has(h.head));
}

/** Every branch of the session and its head, in one read. */
async function sessionHeads(checkouts: SessionCheckouts): Promise<Map<string, string>> {
  const prefix = `refs/heads/orch/${checkouts.sessionId}/`;
  const out = await git(checkouts.repo.root, ['for-each-ref', '--format=%(objectname) %(refname)', prefix]);
  const heads = new Map<string, string>();
  for (const line of out.stdout.split('\n').filter(Boolean)) {
    const [sha, ref] = line.split(' ') as [string, string];
    heads.set(ref.slice(prefix.length), sha);
  }
  return heads;
}
