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
 * under `refs/orch/<sid>/` (`base`, `start/<worker>`), which also keep their commits from the user's gc.
 *
 * Once an agent ran in a checkout, everything in it is the agent's, its `.git` included (a config there can
 * make git run a program). So git runs there only confined (`confine`, the session's sandbox), and a worker's
 * commits reach the user's repository as a bundle, which git reads as data. Checkouts no agent wrote (before the
 * first launch, the integration, what a person resolved) are worked on directly.
 *
 * Every step is idempotent: a restarted orchestrator finds each checkout as it was and goes on.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git, gitLine, gitTest, resolveCommit, splitZ, type Confine } from './git.js';
import { ORCHESTRATOR_IDENTITY, makeSharedCheckout } from './repo.js';
import { diffFiles, splitNumstat, type DiffFile } from './diff.js';
import type { ChangeStat, IntegrationStep } from '../domain/isolation.js';

/** The name of the integration checkout and branch (worker ids start with a letter or digit: no clash). */
export const RESULT = '_result';

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

export interface CommitOutcome {
  /** The commit made for what the agent left uncommitted, or null when it left nothing. */
  commit: string | null;
  /** The worker's whole change so far: start..head. */
  change: ChangeStat;
}

export interface Unresolved {
  unresolved: string[];
}

export type { IntegrationStep };

export type IntegrationOutcome =
  | { status: 'done'; head: string; steps: IntegrationStep[]; change: ChangeStat }
  | { status: 'conflict'; worker: string; files: string[]; cwd: string; head: string; message: string };

/** Who an agent's leftover changes are committed as. */
export interface Author {
  name: string;
  email: string;
}

/** A conflict marker line: seven `<` or `>` at the start of a line, then a space or the end. */
const MARKERS = '^(<<<<<<<|>>>>>>>)( |$)';

/** Serializes this process's writes to one user repository (ref updates, fetches). */
const repoLocks = new Map<string, Promise<unknown>>();
function withRepoLock<T>(root: string, work: () => Promise<T>): Promise<T> {
  const next = (repoLocks.get(root) ?? Promise.resolve()).then(work, work);
  repoLocks.set(
    root,
    next.catch(() => undefined),
  );
  return next;
}

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

  state(name: string): CheckoutState | null {
    try {
      return JSON.parse(readFileSync(this.statePath(name), 'utf8')) as CheckoutState;
    } catch {
      return null;
    }
  }

  private statePath(name: string): string {
    return join(this.root, '.state', `${name}.json`);
  }

  private writeState(name: string, state: CheckoutState): void {
    mkdirSync(join(this.root, '.state'), { recursive: true });
    writeFileSync(this.statePath(name), `${JSON.stringify(state, null, 2)}\n`);
  }

  /**
   * A worker's checkout, ready to run its agent: made from the base (no `from`), from one branch's head, or from
   * a merge of several. A conflict in that merge is left in the checkout for a person to resolve; a worker that
   * resolves conflicts for others (`keepConflicts`) starts in it. Idempotent: a prepared checkout is used as it
   * is, and a merge a person resolved there is committed. `setup` runs once, after the checkout is made.
   */
  async prepareWorker(
    name: string,
    from: readonly string[],
    options: { keepConflicts?: boolean; setup?: (cwd: string) => Promise<void> } = {},
  ): Promise<PrepareOutcome> {
    const cwd = this.cwd(name);
    const existing = this.exists(name) ? this.state(name) : null;
    if (existing?.start) {
      if (!existing.setupDone) await this.runSetup(name, existing, options.setup);
      return { status: 'ready', cwd, start: existing.start, created: false };
    }
    const sources = await this.sourcesOf(from);
    if (existing?.merging && sameList(existing.sources, sources)) {
      if (options.keepConflicts) return this.finishPrepare(name, existing, options.setup, existing.sources[0]);
      // Nothing ran here yet: what is in the checkout is the merge, and what a person did to it.
      const resumed = await this.continueMerge(
        name,
        existing,
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
      const conflicts = await this.merge(name, sources[i] as string, `orchestrate: start of ${name}: merge ${from[i]}`);
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

  /**
   * After an attempt: commit what the agent left uncommitted (authored by the agent), then bring the branch into
   * the user's repository. A merge whose conflicts are not resolved is not committed. Runs confined.
   */
  async commitWork(name: string, message: string, author: Author): Promise<CommitOutcome | Unresolved | null> {
    const dir = this.dir(name);
    if (!existsSync(join(dir, '.git'))) return null;
    const state = this.state(name);
    const confine = this.confine?.([dir, this.bundleDir]);
    // Without a sandbox there is no boundary to keep: what is committed here is written straight into the user's
    // object store (the checkout's own objects stay readable), so the branch needs no fetch afterwards, unless the
    // agent committed something itself.
    // (Only while the checkout's own object store is empty: an object already there, from a merge or the agent's
    // own `git add`, would not be written again, and the user's store would lack it.)
    const direct = confine === undefined && objectStoreEmpty(join(dir, '.git', 'objects'));
    const before = direct ? headOf(dir) : null;
    const objects: Record<string, string> = direct
      ? { GIT_OBJECT_DIRECTORY: this.objectsDir, GIT_ALTERNATE_OBJECT_DIRECTORIES: join(dir, '.git', 'objects') }
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
    if (made.code === 0 && state?.merging) this.writeState(name, { ...state, merging: null, conflicted: [] });
    const head = (await run(['rev-parse', '--verify', 'HEAD^{commit}'])).stdout.trim();
    if (!/^[0-9a-f]{40,64}$/.test(head)) throw new Error(`the checkout of ${name} has no HEAD commit`);
    const commit = made.code === 0 ? head : null;
    const start = state?.start ?? (await this.start(name));
    // Nothing new, or only what was just written to the user's store: the branch is pointed at it.
    const known = head === start || (direct && before !== null && before === start);
    await this.bringBack(name, head, known ? head : start, run, confine !== undefined);
    return { commit, change: await changeStat(this.repo.root, this.branch(name), start, head) };
  }

  /**
   * A worker's change as its checkout holds it now: its start against the working tree, new files included (a
   * review while the worker runs sees its work in progress; once it ended this is start..head). Runs confined.
   */
  async workingDiff(name: string, maxUntracked = 50): Promise<string> {
    const dir = this.dir(name);
    const start = await this.start(name);
    if (!start || !existsSync(join(dir, '.git'))) return '';
    const confine = this.confine?.([dir]);
    const run = (args: string[], ok = [0]) =>
      git(dir, args, { ...(confine ? { confine } : {}), ok, timeoutMs: 120_000 });
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

  /**
   * Integrate the workers' branches into `orch/<sid>/_result`, in the order given (dependency order): the branches
   * no other one contains are taken one after the other, fast-forward where possible, else merged. A conflict is
   * left in the integration checkout for a person; called again once they resolved it, this commits the merge and
   * goes on. A merge of a worker no longer among the candidates (skipped) is abandoned.
   */
  async integrate(candidates: readonly string[]): Promise<IntegrationOutcome> {
    const name = RESULT;
    const dir = this.dir(name);
    const cwd = this.cwd(name);
    let state = existsSync(join(dir, '.git')) ? this.state(name) : null;
    if (!state) {
      // No merge to make (none of the branches, or one that starts from the base: a chain): the result is that
      // branch head, and no integration checkout is needed.
      const tips = await this.tips(candidates);
      const only = tips.length === 0 ? { worker: '', head: this.base } : tips.length === 1 ? tips[0] : null;
      if (
        only &&
        (only.head === this.base ||
          (await gitTest(this.repo.root, ['merge-base', '--is-ancestor', this.base, only.head])))
      ) {
        await this.publish(name, only.head);
        const steps: IntegrationStep[] = only.worker
          ? [{ worker: only.worker, how: 'fast-forward', head: only.head }]
          : [];
        return {
          status: 'done',
          head: only.head,
          steps,
          change: await changeStat(this.repo.root, this.branch(name), this.base, only.head),
        };
      }
      await this.createCheckout(name, this.base, 'branch');
      state = {
        kind: 'result',
        from: [],
        sources: [this.base],
        start: this.base,
        merging: null,
        conflicted: [],
        setupDone: true,
      };
      this.writeState(name, state);
    }
    const steps: IntegrationStep[] = [];
    if (state.merging) {
      const merging = state.merging;
      // A worker that resolved this very conflict (its branch holds the result so far and the one being merged)
      // replaces the merge left here.
      if (
        candidates.includes(merging) &&
        !(await this.coveredByAnother(merging, candidates, await gitLine(dir, ['rev-parse', 'HEAD'])))
      ) {
        const resumed = await this.continueMerge(
          name,
          state,
          `orchestrate: merge ${merging} into the result of ${this.sessionId} (resolved by hand)`,
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
      this.writeState(name, state);
    }
    for (const tip of await this.tips(candidates)) {
      const current = await gitLine(dir, ['rev-parse', 'HEAD']);
      if (await gitTest(dir, ['merge-base', '--is-ancestor', tip.head, current])) {
        steps.push({ worker: tip.worker, how: 'contained', head: current });
      } else if (await gitTest(dir, ['merge-base', '--is-ancestor', current, tip.head])) {
        await git(dir, ['merge', '-q', '--ff-only', tip.head], { env: ORCHESTRATOR_IDENTITY });
        steps.push({ worker: tip.worker, how: 'fast-forward', head: tip.head });
      } else {
        const conflicts = await this.merge(
          name,
          tip.head,
          `orchestrate: merge ${tip.worker} into the result of ${this.sessionId}`,
        );
        if (conflicts.length > 0) {
          this.writeState(name, { ...state, merging: tip.worker, conflicted: conflicts });
          // The result so far, for a worker that resolves the conflict to start from (with the branch it merges).
          await this.publish(name);
          const message = `integrating ${tip.worker} into ${this.branch(name)} conflicts in ${conflicts.join(', ')}`;
          return { status: 'conflict', worker: tip.worker, files: conflicts, cwd, head: current, message };
        }
        steps.push({ worker: tip.worker, how: 'merge', head: await gitLine(dir, ['rev-parse', 'HEAD']) });
      }
    }
    // Fast-forwards only: the result is a branch head the user's repository has; a merge made here is fetched.
    const head = await gitLine(dir, ['rev-parse', 'HEAD']);
    await this.publish(
      name,
      head === this.base || steps.some((s) => s.how === 'fast-forward' && s.head === head) ? head : undefined,
    );
    return {
      status: 'done',
      head,
      steps,
      change: await changeStat(this.repo.root, this.branch(name), this.base, head),
    };
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

  private get bundleDir(): string {
    return join(this.root, '.bundles');
  }

  private async coveredByAnother(merging: string, candidates: readonly string[], current: string): Promise<boolean> {
    const mergingHead = await this.head(merging);
    if (!mergingHead) return false;
    for (const other of candidates) {
      const head = other === merging ? null : await this.head(other);
      if (!head || head === mergingHead) continue;
      if (
        (await gitTest(this.repo.root, ['merge-base', '--is-ancestor', mergingHead, head])) &&
        (await gitTest(this.dir(RESULT), ['merge-base', '--is-ancestor', current, head]))
      )
        return true;
    }
    return false;
  }

  /** The branches no other candidate contains, in the candidates' order (a chain has one: its last worker). */
  private async tips(candidates: readonly string[]): Promise<Array<{ worker: string; head: string }>> {
    const heads: Array<{ worker: string; head: string }> = [];
    const all = await this.heads();
    for (const worker of candidates) {
      const head = all.get(worker);
      if (head && !heads.some((h) => h.head === head)) heads.push({ worker, head });
    }
    if (heads.length <= 1) return heads;
    const independent = new Set(
      (await git(this.repo.root, ['merge-base', '--independent', ...heads.map((h) => h.head)])).stdout
        .split('\n')
        .filter(Boolean),
    );
    return heads.filter((h) => independent.has(h.head));
  }

  /** Every branch of the session and its head, in one read. */
  private async heads(): Promise<Map<string, string>> {
    const prefix = `refs/heads/orch/${this.sessionId}/`;
    const out = await git(this.repo.root, ['for-each-ref', '--format=%(objectname) %(refname)', prefix]);
    const heads = new Map<string, string>();
    for (const line of out.stdout.split('\n').filter(Boolean)) {
      const [sha, ref] = line.split(' ') as [string, string];
      heads.set(ref.slice(prefix.length), sha);
    }
    return heads;
  }

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

  /** A fresh repository at `dir(name)` that reads the user's objects, with `at` checked out. */
  private async createCheckout(name: string, at: string, head: 'branch' | 'detached'): Promise<void> {
    await makeSharedCheckout(this.dir(name), this.objectsDir, at, head === 'branch' ? this.branchRef(name) : null);
  }

  /** `git merge --no-ff` of a commit into a checkout no agent wrote; the conflicted paths (empty: it merged). */
  private async merge(name: string, commit: string, message: string): Promise<string[]> {
    const dir = this.dir(name);
    const out = await git(dir, ['merge', '--no-ff', '--no-edit', '-m', message, commit], {
      env: ORCHESTRATOR_IDENTITY,
      ok: [0, 1],
    });
    if (out.code === 0) return [];
    const conflicts = splitZ((await git(dir, ['diff', '--name-only', '-z', '--diff-filter=U'])).stdout);
    if (conflicts.length === 0)
      throw new Error(
        `git merge in ${dir} failed: ${(out.stderr || out.stdout).trim().split('\n').slice(-2).join(' / ')}`,
      );
    return conflicts;
  }

  /** A merge left for a person: still conflicted, committed now that it is resolved, or gone (`none`). */
  private async continueMerge(
    name: string,
    state: CheckoutState,
    message: string,
  ): Promise<
    | { status: 'conflict'; cwd: string; files: string[]; merging: string; message: string }
    | { status: 'resolved' | 'none' }
  > {
    const dir = this.dir(name);
    const merging = state.merging as string;
    if (existsSync(join(dir, '.git', 'MERGE_HEAD'))) {
      const conflict = (files: string[]) => ({
        status: 'conflict' as const,
        cwd: this.cwd(name),
        files,
        merging,
        message: `the merge of ${merging} still has unresolved conflicts in ${files.join(', ')}`,
      });
      // Unmerged paths: the person has not marked them resolved (`git add`), so their index is left as it is.
      const unmerged = splitZ((await git(dir, ['diff', '--name-only', '-z', '--diff-filter=U'])).stdout);
      if (unmerged.length > 0) return conflict(unmerged);
      await git(dir, ['add', '-A']);
      if (state.conflicted.length > 0) {
        const marked = await git(dir, ['grep', '--cached', '-l', '-z', '-E', MARKERS, '--', ...state.conflicted], {
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
    for (const source of state.sources) {
      if (!(await gitTest(dir, ['merge-base', '--is-ancestor', source, head]))) return { status: 'none' };
    }
    return { status: 'resolved' };
  }

  private async finishPrepare(
    name: string,
    state: CheckoutState,
    setup: ((cwd: string) => Promise<void>) | undefined,
    startAt?: string,
  ): Promise<PrepareOutcome> {
    const start = startAt ?? (await gitLine(this.dir(name), ['rev-parse', 'HEAD']));
    // A start the user's repository has (the base, one dependency's head) is pointed at; a merge made here (of
    // several, or one a person resolved) is fetched first. Branch and start are then set in one transaction.
    const madeHere = !state.sources.includes(start);
    await withRepoLock(this.repo.root, async () => {
      if (madeHere)
        await git(this.repo.root, [
          'fetch',
          '--quiet',
          '--no-tags',
          '--no-write-fetch-head',
          '--no-recurse-submodules',
          this.dir(name),
          `+HEAD:${this.branchRef(name)}`,
        ]);
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

  private async runSetup(
    name: string,
    state: CheckoutState,
    setup: ((cwd: string) => Promise<void>) | undefined,
  ): Promise<void> {
    await setup?.(this.cwd(name));
    this.writeState(name, { ...state, setupDone: true });
  }

  /** Point the branch of `name` at the checkout's HEAD (or at `commit`), fetched from a checkout no agent wrote. */
  private async publish(name: string, commit?: string): Promise<void> {
    await withRepoLock(this.repo.root, async () => {
      if (commit) await git(this.repo.root, ['update-ref', this.branchRef(name), commit]);
      else
        await git(this.repo.root, [
          'fetch',
          '--quiet',
          '--no-tags',
          '--no-write-fetch-head',
          '--no-recurse-submodules',
          this.dir(name),
          `+HEAD:${this.branchRef(name)}`,
        ]);
    });
  }

  /**
   * A worker's commits into the user's repository: the checkout's HEAD when the repository has it already, else
   * a bundle that confined git writes and the user's git fetches (a bundle is data: nothing of the checkout's
   * configuration comes along).
   */
  private async bringBack(
    name: string,
    head: string,
    start: string | null,
    run: (args: string[], options?: { ok?: number[] }) => Promise<{ code: number; stdout: string }>,
    confined: boolean,
  ): Promise<void> {
    await withRepoLock(this.repo.root, async () => {
      // Nothing new (its start, which the user's repository has): point the branch at it.
      if (head === start) {
        await git(this.repo.root, ['update-ref', this.branchRef(name), head]);
        return;
      }
      // Without a sandbox there is no boundary to keep: fetch straight from the checkout.
      if (!confined) {
        await git(this.repo.root, [
          'fetch',
          '--quiet',
          '--no-tags',
          '--no-write-fetch-head',
          '--no-recurse-submodules',
          this.dir(name),
          `+HEAD:${this.branchRef(name)}`,
        ]);
        return;
      }
      mkdirSync(this.bundleDir, { recursive: true });
      const bundle = join(this.bundleDir, `${name}.bundle`);
      const exclude = [this.base, start].filter((c): c is string => c !== null).map((c) => `^${c}`);
      try {
        await run(['bundle', 'create', '-q', bundle, 'HEAD', ...exclude]);
        await git(this.repo.root, [
          '-c',
          'fetch.fsckObjects=true',
          'fetch',
          '--quiet',
          '--no-tags',
          '--no-write-fetch-head',
          bundle,
          `+HEAD:${this.branchRef(name)}`,
        ]);
      } finally {
        rmSync(bundle, { force: true });
      }
    });
  }
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

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
