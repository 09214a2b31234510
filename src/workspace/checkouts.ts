/**
 * One session's checkouts: every worker works in a checkout of its own on its own branch, reviewers read a
 * checkout of their target's branch, and the session's result is integrated in a checkout of its own.
 *
 *   <checkouts>/<sid>/<worker>/     a worker's checkout, on branch orch/<sid>/<worker>
 *   <checkouts>/<sid>/<reviewer>/   a reviewer's, detached at its target's head (read-only in the sandbox)
 *   <checkouts>/<sid>/_result/      the integration of every worker's branch (orch/<sid>/_result)
 *   <checkouts>/<sid>/.state/       the orchestrator's bookkeeping of each checkout (no agent can write it)
 *   <checkouts>/<sid>/.bundles/     a worker's new commits on their way into the user's repository
 *
 * (`<checkouts>` is `<workspace>/checkouts`, or the repository's `.git/orchestrate/checkouts`: domain/isolation.ts.)
 *
 * A checkout is a repository of its own (`git init` plus an alternates file naming the user's object store), not
 * a `git worktree` of the user's repository: a worktree shares the user's refs, so an agent able to commit could
 * also move or delete the user's branches (docs/security.md has the measurements behind this choice). What the
 * session owns in the user's repository: the branches `orch/<sid>/<worker>` and `orch/<sid>/_result`, and refs
 * under `refs/orch/<sid>/` (`base`, `start/<worker>`), which also keep their commits from the user's gc
 * (./session-refs.ts).
 *
 * Once an agent ran in a checkout, everything in it is the agent's, its `.git` included (a config there can
 * make git run a program). So git runs there only confined (`confine`, the session's sandbox), and a worker's
 * commits reach the user's repository as a bundle, which git reads as data (./commit-back.ts). Checkouts no agent
 * wrote (before the first launch, the integration, what a person resolved) are worked on directly (./merges.ts,
 * ./integration.ts).
 *
 * This file has the layout and bookkeeping of the checkouts and their making; every step is idempotent: a
 * restarted orchestrator finds each checkout as it was and goes on.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChangeStat } from '../domain/isolation.js';
import { commitWork, workingDiff, type Author, type CommitOutcome, type Unresolved } from './commit-back.js';
import { diffFiles, type DiffFile } from './diff.js';
import { git, gitLine, resolveCommit, type Confine } from './git.js';
import { integrate, RESULT, type IntegrationOutcome } from './integration.js';
import { continueMerge, mergeCommit } from './merges.js';
import { makeSharedCheckout } from './repo.js';
import { changeStat, fetchCheckoutHead, removeSessionRefs, sessionRegistryPath, withRepoLock } from './session-refs.js';

export { RESULT };
export type { Author, CommitOutcome, IntegrationOutcome, Unresolved };
export type { IntegrationStep } from './integration.js';
export { changeStat, removeSessionRefs, sessionRefs, sessionRegistryPath } from './session-refs.js';

export interface SessionRepo {
  /** The top of the user's working tree. */
  root: string;
  /** Its common git dir (objects, refs). */
  commonDir: string;
  /** The target directory inside the repository ('' or 'sub/dir/'). */
  prefix: string;
}

export interface CheckoutState {
  kind: 'worker' | 'reviewer' | 'result';
  /** Branches of this session it starts from (worker names, or `_result`); empty: the base. */
  from: string[];
  /** The commits `from` named when the checkout was made. */
  sources: string[];
  /** The commit its own change is counted from, once prepared. */
  start: string | null;
  /** A merge in progress here: the branch being merged (for the integration: a worker). */
  merging: string | null;
  /** Paths that conflicted in that merge (they must hold no conflict markers when it is committed). */
  conflicted: string[];
  setupDone: boolean;
}

export type PrepareOutcome =
  | { status: 'ready'; cwd: string; start: string; created: boolean }
  | { status: 'conflict'; cwd: string; files: string[]; merging: string; sources: string[]; message: string };

type Setup = (cwd: string) => Promise<void>;

export class SessionCheckouts {
  constructor(
    readonly sessionId: string,
    readonly repo: SessionRepo,
    /** The base commit of the session. */
    readonly base: string,
    /** `<workspace>/checkouts/<sid>`. */
    readonly root: string,
    /** How to run git confined in a checkout an agent wrote (none: directly, as when there is no sandbox). */
    private readonly confine?: (writable: readonly string[]) => Confine | undefined,
  ) {}

  // --- the layout ----------------------------------------------------------------------------------------

  branch(name: string): string {
    return `orch/${this.sessionId}/${name}`;
  }
  branchRef(name: string): string {
    return `refs/heads/${this.branch(name)}`;
  }
  startRef(name: string): string {
    return `refs/orch/${this.sessionId}/start/${name}`;
  }
  get baseRef(): string {
    return `refs/orch/${this.sessionId}/base`;
  }
  dir(name: string): string {
    return join(this.root, name);
  }
  /** Where the agent works: the target directory's place inside the checkout. */
  cwd(name: string): string {
    return this.repo.prefix ? join(this.dir(name), this.repo.prefix) : this.dir(name);
  }
  /** The user's object store, which every checkout reads through its alternates file. */
  get objectsDir(): string {
    return join(this.repo.commonDir, 'objects');
  }
  /** Where a worker's bundle waits on its way into the user's repository. */
  get bundleDir(): string {
    return join(this.root, '.bundles');
  }
  /** How git runs in a checkout an agent wrote, able to write `writable` (undefined: directly). */
  confined(writable: readonly string[]): Confine | undefined {
    return this.confine?.(writable);
  }

  /**
   * Record the base in the user's repository (a ref under refs/orch/, so their gc keeps it), and which workspace
   * the session belongs to (`<git dir>/orchestrate/sessions/<sid>.json`): `gc` in another workspace of the same
   * repository leaves it alone.
   */
  async recordBase(workspace?: string): Promise<void> {
    await withRepoLock(this.repo.root, () => git(this.repo.root, ['update-ref', this.baseRef, this.base]));
    if (workspace) {
      const registry = sessionRegistryPath(this.repo.commonDir, this.sessionId);
      mkdirSync(join(registry, '..'), { recursive: true });
      writeFileSync(registry, `${JSON.stringify({ workspace, checkouts: this.root })}\n`);
    }
  }

  async head(name: string): Promise<string | null> {
    return resolveCommit(this.repo.root, this.branchRef(name));
  }
  async start(name: string): Promise<string | null> {
    return resolveCommit(this.repo.root, this.startRef(name));
  }

  exists(name: string): boolean {
    return existsSync(this.dir(name));
  }

  // --- the bookkeeping -----------------------------------------------------------------------------------

  state(name: string): CheckoutState | null {
    try {
      return JSON.parse(readFileSync(this.statePath(name), 'utf8')) as CheckoutState;
    } catch {
      return null;
    }
  }

  writeState(name: string, state: CheckoutState): void {
    mkdirSync(join(this.root, '.state'), { recursive: true });
    writeFileSync(this.statePath(name), `${JSON.stringify(state, null, 2)}\n`);
  }

  private statePath(name: string): string {
    return join(this.root, '.state', `${name}.json`);
  }

  // --- making checkouts ----------------------------------------------------------------------------------

  /**
   * A worker's checkout, ready to run its agent: made from the base (no `from`), from one branch's head, or from
   * a merge of several. A conflict in that merge is left in the checkout for a person to resolve; a worker that
   * resolves conflicts for others (`keepConflicts`) starts in it. Idempotent: a prepared checkout is used as it
   * is, and a merge a person resolved there is committed. `setup` runs once, after the checkout is made.
   */
  async prepareWorker(
    name: string,
    from: readonly string[],
    options: { keepConflicts?: boolean; setup?: Setup } = {},
  ): Promise<PrepareOutcome> {
    const cwd = this.cwd(name);
    const saved = this.exists(name) ? null : this.state(name);
    if (saved?.start) {
      // Its bookkeeping is here but not the checkout (the session moved to another runner, src/fleet/folder.ts; or
      // the folder was deleted): made again at its branch's head, so the work committed there goes on, and set up.
      await this.createCheckout(name, (await this.head(name)) ?? saved.start, 'branch');
      const again = { ...saved, setupDone: false };
      this.writeState(name, again);
      await this.runSetup(name, again, options.setup);
      return { status: 'ready', cwd, start: saved.start, created: false };
    }
    const existing = this.exists(name) ? this.state(name) : null;
    if (existing?.start) {
      if (!existing.setupDone) await this.runSetup(name, existing, options.setup);
      return { status: 'ready', cwd, start: existing.start, created: false };
    }
    const sources = await this.sourcesOf(from);
    if (existing?.merging && sameList(existing.sources, sources)) {
      if (options.keepConflicts) return this.finishPrepare(name, existing, options.setup, existing.sources[0]);
      // Nothing ran here yet: what is in the checkout is the merge, and what a person did to it.
      const resumed = await continueMerge(
        { dir: this.dir(name), cwd },
        { merging: existing.merging, conflicted: existing.conflicted, sources: existing.sources },
        `orchestrate: start of ${name}: merge ${existing.merging} (resolved by hand)`,
      );
      if (resumed.status === 'conflict') return { ...resumed, sources: existing.from };
      if (resumed.status === 'resolved') return this.finishPrepare(name, existing, options.setup);
    }
    await this.createCheckout(name, sources[0] as string, 'branch');
    const state: CheckoutState = {
      kind: 'worker',
      from: [...from],
      sources,
      start: null,
      merging: null,
      conflicted: [],
      setupDone: false,
    };
    this.writeState(name, state);
    for (let i = 1; i < sources.length; i++) {
      const message = `orchestrate: start of ${name}: merge ${from[i]}`;
      const conflicts = await mergeCommit(this.dir(name), sources[i] as string, message);
      if (conflicts.length === 0) continue;
      const conflicted = { ...state, merging: from[i] as string, conflicted: conflicts };
      this.writeState(name, conflicted);
      if (options.keepConflicts) return this.finishPrepare(name, conflicted, options.setup, sources[0]);
      return {
        status: 'conflict',
        cwd,
        files: conflicts,
        merging: from[i] as string,
        sources: from.slice(0, i + 1),
        message: `merging ${from.slice(0, i + 1).join(' and ')} to start ${name} conflicts in ${conflicts.join(', ')}`,
      };
    }
    return this.finishPrepare(name, state, options.setup);
  }

  /** A reviewer's checkout: its target's branch head, detached (the sandbox makes it read-only). */
  async prepareReviewer(name: string, target: string): Promise<string> {
    const cwd = this.cwd(name);
    if (this.exists(name) && this.state(name)?.start) return cwd;
    const head = (await this.head(target)) ?? this.base;
    await this.createCheckout(name, head, 'detached');
    this.writeState(name, {
      kind: 'reviewer',
      from: [target],
      sources: [head],
      start: head,
      merging: null,
      conflicted: [],
      setupDone: true,
    });
    return cwd;
  }

  /** A fresh repository at `dir(name)` that reads the user's objects, with `at` checked out. */
  async createCheckout(name: string, at: string, head: 'branch' | 'detached'): Promise<void> {
    await makeSharedCheckout(this.dir(name), this.objectsDir, at, head === 'branch' ? this.branchRef(name) : null);
  }

  /** Point the branch of `name` at the checkout's HEAD (or at `commit`), fetched from a checkout no agent wrote. */
  async publish(name: string, commit?: string): Promise<void> {
    await withRepoLock(this.repo.root, async () => {
      if (commit) await git(this.repo.root, ['update-ref', this.branchRef(name), commit]);
      else await fetchCheckoutHead(this.repo.root, this.dir(name), this.branchRef(name));
    });
  }

  // --- after the agents ----------------------------------------------------------------------------------

  /** See commit-back.ts: commit what the agent left, bring the branch back. Runs confined. */
  commitWork(name: string, message: string, author: Author): Promise<CommitOutcome | Unresolved | null> {
    return commitWork(this, name, message, author);
  }

  /** See commit-back.ts: a worker's change as its checkout holds it now. Runs confined. */
  workingDiff(name: string, maxUntracked = 50): Promise<string> {
    return workingDiff(this, name, maxUntracked);
  }

  /** A worker's change: start..head of its branch in the user's repository. */
  async changeOf(name: string): Promise<ChangeStat> {
    const [start, head] = await Promise.all([name === RESULT ? this.base : this.start(name), this.head(name)]);
    return changeStat(this.repo.root, this.branch(name), start, head);
  }

  /** The files of a worker's change (or of the session's result, with RESULT). */
  async filesOf(name: string): Promise<DiffFile[]> {
    const [start, head] = await Promise.all([name === RESULT ? this.base : this.start(name), this.head(name)]);
    return start && head ? diffFiles(this.repo.root, start, head) : [];
  }

  /** See integration.ts: the workers' branches into `orch/<sid>/_result`. */
  integrate(candidates: readonly string[]): Promise<IntegrationOutcome> {
    return integrate(this, candidates);
  }

  /** Remove every checkout of the session and every ref it owns in the user's repository. */
  async remove(): Promise<{ refs: string[]; checkouts: boolean }> {
    const refs = await removeSessionRefs(this.repo.root, this.sessionId);
    const had = existsSync(this.root);
    rmSync(this.root, { recursive: true, force: true });
    rmSync(sessionRegistryPath(this.repo.commonDir, this.sessionId), { force: true });
    return { refs, checkouts: had };
  }

  // --- the pieces ----------------------------------------------------------------------------------------

  private async sourcesOf(from: readonly string[]): Promise<string[]> {
    if (from.length === 0) return [this.base];
    const sources: string[] = [];
    for (const name of from) {
      const head = await this.head(name);
      if (!head)
        throw new Error(
          `${this.branch(name)} does not exist in ${this.repo.root}, so it cannot be where a checkout starts`,
        );
      sources.push(head);
    }
    return sources;
  }

  private async finishPrepare(
    name: string,
    state: CheckoutState,
    setup: Setup | undefined,
    startAt?: string,
  ): Promise<PrepareOutcome> {
    const start = startAt ?? (await gitLine(this.dir(name), ['rev-parse', 'HEAD']));
    // A start the user's repository has (the base, one dependency's head) is pointed at; a merge made here (of
    // several, or one a person resolved) is fetched first. Branch and start are then set in one transaction.
    const madeHere = !state.sources.includes(start);
    await withRepoLock(this.repo.root, async () => {
      if (madeHere) await fetchCheckoutHead(this.repo.root, this.dir(name), this.branchRef(name));
      const updates = [
        ...(madeHere ? [] : [`update ${this.branchRef(name)} ${start}`]),
        `update ${this.startRef(name)} ${start}`,
      ];
      await git(this.repo.root, ['update-ref', '--stdin'], { input: `${updates.join('\n')}\n` });
    });
    const prepared: CheckoutState = {
      ...state,
      start,
      ...(startAt === undefined ? { merging: null, conflicted: [] } : {}),
    };
    this.writeState(name, prepared);
    await this.runSetup(name, prepared, setup);
    return { status: 'ready', cwd: this.cwd(name), start, created: true };
  }

  private async runSetup(name: string, state: CheckoutState, setup: Setup | undefined): Promise<void> {
    await setup?.(this.cwd(name));
    this.writeState(name, { ...state, setupDone: true });
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
