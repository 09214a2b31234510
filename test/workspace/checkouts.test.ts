/**
 * The workspace's git, against real repositories: the base captured without touching the checkout, worker
 * checkouts from the base, a branch or a merge, commits brought back, conflicts left for a person, integration.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { captureBase, findRepo } from '../../src/workspace/repo.js';
import { RESULT, SessionCheckouts, sessionRefs } from '../../src/workspace/checkouts.js';
import { commitAll, gitIn, makeRepo, snapshotCheckout, writeFiles } from '../support/git-repo.js';

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const AUTHOR = { name: 'claude (w)', email: 'claude@orchestrate.localhost' };

async function session(
  files: Record<string, string> = { 'a.txt': 'one\ntwo\nthree\n', '.gitignore': '*.log\n/.orchestrator/\n' },
) {
  const repoDir = makeRepo(files);
  made.push(repoDir);
  const repo = await findRepo(repoDir);
  if (!repo) throw new Error('not a repo');
  const base = await captureBase(repo, {});
  const checkouts = new SessionCheckouts(
    'orch_20261206_100000_abcd',
    repo,
    base.commit,
    join(repoDir, '.orchestrator', 'checkouts', 'orch_20261206_100000_abcd'),
  );
  await checkouts.recordBase();
  return { repoDir, repo, base, checkouts };
}

describe('the base', () => {
  it('is HEAD plus uncommitted tracked, staged and untracked changes; the checkout stays byte-identical', async () => {
    const repoDir = makeRepo({ 'a.txt': 'a\n', 'b.txt': 'b\n', '.gitignore': '*.log\n' });
    made.push(repoDir);
    writeFiles(repoDir, {
      'a.txt': 'a changed\n',
      'new.txt': 'untracked\n',
      'staged.txt': 'staged\n',
      'build.log': 'ignored\n',
    });
    gitIn(repoDir, 'add', 'staged.txt');
    const before = snapshotCheckout(repoDir);
    const repo = await findRepo(repoDir);
    const base = await captureBase(repo!, {});
    expect(snapshotCheckout(repoDir)).toEqual(before);
    expect(base.uncommitted).toBe(3);
    expect(base.summary).toMatch(/^main @ [0-9a-f]{12} \+ 3 uncommitted files$/);
    expect(gitIn(repoDir, 'show', `${base.commit}:a.txt`)).toBe('a changed');
    expect(gitIn(repoDir, 'show', `${base.commit}:new.txt`)).toBe('untracked');
    expect(gitIn(repoDir, 'show', `${base.commit}:staged.txt`)).toBe('staged');
    expect(() => gitIn(repoDir, 'show', `${base.commit}:build.log`)).toThrow();
    expect(gitIn(repoDir, 'rev-parse', `${base.commit}^`)).toBe(before.head);
    // No ref, no stash entry: only objects were added.
    expect(gitIn(repoDir, 'stash', 'list')).toBe('');
  });

  it('is HEAD itself in a clean checkout, and a named ref with --base', async () => {
    const repoDir = makeRepo({ 'a.txt': 'a\n' });
    made.push(repoDir);
    const first = gitIn(repoDir, 'rev-parse', 'HEAD');
    writeFiles(repoDir, { 'a.txt': 'second\n' });
    commitAll(repoDir, 'second');
    const repo = await findRepo(repoDir);
    expect((await captureBase(repo!, {})).commit).toBe(repo!.head);
    const named = await captureBase(repo!, { ref: 'HEAD~1' });
    expect(named.commit).toBe(first);
    expect(named.summary).toBe(`HEAD~1 @ ${first.slice(0, 12)}`);
    await expect(captureBase(repo!, { ref: 'no-such-branch' })).rejects.toThrow(
      /--base no-such-branch names no commit/,
    );
    await expect(captureBase(repo!, { ref: '--output=/tmp/x' })).rejects.toThrow(/names no commit/);
  });

  it('knows a subdirectory target by its prefix, and nothing outside a repository', async () => {
    const repoDir = makeRepo({ 'pkg/x/a.txt': 'a\n' });
    made.push(repoDir);
    expect((await findRepo(join(repoDir, 'pkg', 'x')))?.prefix).toBe('pkg/x/');
    expect(await findRepo('/')).toBeNull();
  });
});

describe('worker checkouts', () => {
  it('start from the base on their own branch; leftover work is committed, brought back as the branch', async () => {
    const { repoDir, base, checkouts } = await session();
    const before = snapshotCheckout(repoDir, ['.orchestrator']);
    const ready = await checkouts.prepareWorker('w1', []);
    expect(ready).toMatchObject({ status: 'ready', start: base.commit, created: true });
    if (ready.status !== 'ready') return;
    expect(readFileSync(join(ready.cwd, 'a.txt'), 'utf8')).toBe('one\ntwo\nthree\n');
    expect(gitIn(ready.cwd, 'symbolic-ref', 'HEAD')).toBe(`refs/heads/orch/orch_20261206_100000_abcd/w1`);
    writeFiles(ready.cwd, { 'b.txt': 'b\n', 'a.txt': 'one\nTWO\nthree\n' });
    const done = await checkouts.commitWork('w1', 'w1 (claude), attempt 1: the task', AUTHOR);
    expect(done).toMatchObject({ change: { files: 2, additions: 2, deletions: 1, start: base.commit } });
    const head = gitIn(repoDir, 'rev-parse', 'orch/orch_20261206_100000_abcd/w1');
    expect(gitIn(repoDir, 'log', '-1', '--format=%an <%ae>|%s', head)).toBe(
      'claude (w) <claude@orchestrate.localhost>|w1 (claude), attempt 1: the task',
    );
    // Nothing left to commit: no new commit, the same head.
    expect(await checkouts.commitWork('w1', 'again', AUTHOR)).toMatchObject({ commit: null, change: { head } });
    // The agent's own commits are kept as they are.
    writeFiles(ready.cwd, { 'c.txt': 'c\n' });
    commitAll(ready.cwd, 'the agent committed this');
    const after = await checkouts.commitWork('w1', 'attempt 2', AUTHOR);
    expect(after).toMatchObject({ commit: null, change: { files: 3 } });
    expect(gitIn(repoDir, 'log', '-1', '--format=%s', 'orch/orch_20261206_100000_abcd/w1')).toBe(
      'the agent committed this',
    );
    expect(snapshotCheckout(repoDir, ['.orchestrator'])).toEqual(before);
    expect((await checkouts.filesOf('w1')).map((f) => `${f.status} ${f.path} +${f.additions} -${f.deletions}`)).toEqual(
      ['modified a.txt +1 -1', 'added b.txt +1 -0', 'added c.txt +1 -0'],
    );
  });

  it("what the agent staged itself (blobs in the checkout's own store) reaches the user repository whole", async () => {
    const { repoDir, checkouts } = await session();
    const ready = await checkouts.prepareWorker('w', []);
    writeFiles(ready.cwd, { 'staged-by-agent.txt': 'staged\n', 'left.txt': 'left\n' });
    gitIn(ready.cwd, 'add', 'staged-by-agent.txt');
    await checkouts.commitWork('w', 'w', AUTHOR);
    const branch = `orch/orch_20261206_100000_abcd/w`;
    expect(gitIn(repoDir, 'show', `${branch}:staged-by-agent.txt`)).toBe('staged');
    expect(gitIn(repoDir, 'show', `${branch}:left.txt`)).toBe('left');
    expect(gitIn(repoDir, 'fsck', '--connectivity-only', '--no-dangling')).toBe('');
  });

  it("the working diff is a worker's change as its checkout has it now: mid-run too, new files included", async () => {
    const { checkouts } = await session();
    const ready = await checkouts.prepareWorker('w', []);
    expect(await checkouts.workingDiff('w')).toBe('');
    writeFiles(ready.cwd, { 'a.txt': 'one\nTWO\nthree\n', 'new.txt': 'new\n' });
    const during = await checkouts.workingDiff('w');
    expect(during).toContain('-two\n+TWO');
    expect(during).toContain('+++ b/new.txt');
    await checkouts.commitWork('w', 'w', AUTHOR);
    const after = await checkouts.workingDiff('w');
    expect(after).toContain('-two\n+TWO');
    expect(after).toContain('+++ b/new.txt');
  });

  it("a chain: the next worker starts from its dependency's head and its change is only its own", async () => {
    const { checkouts } = await session();
    const a = await checkouts.prepareWorker('a', []);
    writeFiles(a.cwd, { 'design.md': 'design\n' });
    await checkouts.commitWork('a', 'a', AUTHOR);
    const b = await checkouts.prepareWorker('b', ['a']);
    expect(b.status).toBe('ready');
    expect(readFileSync(join(b.cwd, 'design.md'), 'utf8')).toBe('design\n');
    writeFiles(b.cwd, { 'impl.ts': 'impl\n' });
    await checkouts.commitWork('b', 'b', AUTHOR);
    expect((await checkouts.filesOf('b')).map((f) => f.path)).toEqual(['impl.ts']);
    const result = await checkouts.integrate(['a', 'b']);
    expect(result).toMatchObject({
      status: 'done',
      steps: [{ worker: 'b', how: 'fast-forward' }],
      change: { files: 2 },
    });
  });

  it('parallel workers on different files are merged into the result', async () => {
    const { repoDir, checkouts } = await session();
    for (const [w, file] of [
      ['x', 'x.txt'],
      ['y', 'y.txt'],
    ] as const) {
      const ready = await checkouts.prepareWorker(w, []);
      writeFiles(ready.cwd, { [file]: `${w}\n` });
      await checkouts.commitWork(w, w, AUTHOR);
    }
    const result = await checkouts.integrate(['x', 'y']);
    expect(result).toMatchObject({
      status: 'done',
      steps: [
        { worker: 'x', how: 'fast-forward' },
        { worker: 'y', how: 'merge' },
      ],
    });
    expect(gitIn(repoDir, 'show', 'orch/orch_20261206_100000_abcd/_result:x.txt')).toBe('x');
    expect(gitIn(repoDir, 'show', 'orch/orch_20261206_100000_abcd/_result:y.txt')).toBe('y');
    // Integrating again changes nothing.
    expect(await checkouts.integrate(['x', 'y'])).toMatchObject({
      status: 'done',
      steps: [{ how: 'contained' }, { how: 'contained' }],
    });
  });

  it('a conflicting merge of two dependencies waits for a person; once resolved, the worker starts on it', async () => {
    const { checkouts } = await session();
    for (const w of ['p', 'q']) {
      const ready = await checkouts.prepareWorker(w, []);
      writeFiles(ready.cwd, { 'a.txt': `one\n${w}\nthree\n` });
      await checkouts.commitWork(w, w, AUTHOR);
    }
    const first = await checkouts.prepareWorker('r', ['p', 'q']);
    expect(first).toMatchObject({ status: 'conflict', files: ['a.txt'], merging: 'q', sources: ['p', 'q'] });
    // Asked again before anyone resolved it: the same conflict.
    expect(await checkouts.prepareWorker('r', ['p', 'q'])).toMatchObject({ status: 'conflict', files: ['a.txt'] });
    // Marked resolved but with the markers still in: not accepted.
    gitIn(first.cwd, 'add', 'a.txt');
    expect(await checkouts.prepareWorker('r', ['p', 'q'])).toMatchObject({ status: 'conflict', files: ['a.txt'] });
    writeFileSync(join(first.cwd, 'a.txt'), 'one\np and q\nthree\n');
    const ready = await checkouts.prepareWorker('r', ['p', 'q']);
    expect(ready).toMatchObject({ status: 'ready', created: true });
    expect(gitIn(ready.cwd, 'log', '-1', '--format=%p')).toMatch(/^[0-9a-f]+ [0-9a-f]+$/);
    expect(await checkouts.filesOf('r')).toEqual([]);
  });

  it('a worker that resolves conflicts starts inside them, and its commit is the merge', async () => {
    const { checkouts } = await session();
    for (const w of ['p', 'q']) {
      const ready = await checkouts.prepareWorker(w, []);
      writeFiles(ready.cwd, { 'a.txt': `one\n${w}\nthree\n` });
      await checkouts.commitWork(w, w, AUTHOR);
    }
    const resolver = await checkouts.prepareWorker('p-merge', ['p', 'q'], { keepConflicts: true });
    expect(resolver).toMatchObject({ status: 'ready' });
    expect(readFileSync(join(resolver.cwd, 'a.txt'), 'utf8')).toContain('<<<<<<<');
    expect(await checkouts.commitWork('p-merge', 'resolve', AUTHOR)).toEqual({ unresolved: ['a.txt'] });
    writeFileSync(join(resolver.cwd, 'a.txt'), 'one\nboth\nthree\n');
    gitIn(resolver.cwd, 'add', 'a.txt');
    const done = await checkouts.commitWork('p-merge', 'resolve', AUTHOR);
    expect(done).toMatchObject({ commit: expect.any(String) });
    expect(gitIn(resolver.cwd, 'log', '-1', '--format=%p').split(' ')).toHaveLength(2);
    const result = await checkouts.integrate(['p', 'q', 'p-merge']);
    expect(result).toMatchObject({ status: 'done', steps: [{ worker: 'p-merge', how: 'fast-forward' }] });
  });

  it('an integration conflict names worker and files; resolved by hand, integrated; or worker skipped', async () => {
    const { repoDir, checkouts } = await session();
    for (const w of ['p', 'q', 'z']) {
      const ready = await checkouts.prepareWorker(w, []);
      writeFiles(ready.cwd, w === 'z' ? { 'z.txt': 'z\n' } : { 'a.txt': `one\n${w}\nthree\n` });
      await checkouts.commitWork(w, w, AUTHOR);
    }
    const conflict = await checkouts.integrate(['p', 'q', 'z']);
    expect(conflict).toMatchObject({ status: 'conflict', worker: 'q', files: ['a.txt'], cwd: checkouts.cwd(RESULT) });
    expect(await checkouts.integrate(['p', 'q', 'z'])).toMatchObject({ status: 'conflict', worker: 'q' });
    writeFileSync(join(checkouts.cwd(RESULT), 'a.txt'), 'one\np+q\nthree\n');
    gitIn(checkouts.cwd(RESULT), 'add', 'a.txt');
    const done = await checkouts.integrate(['p', 'q', 'z']);
    expect(done).toMatchObject({
      status: 'done',
      steps: [
        { worker: 'q', how: 'merge' },
        { worker: 'p', how: 'contained' },
        { worker: 'q', how: 'contained' },
        { worker: 'z', how: 'merge' },
      ],
    });
    expect(gitIn(repoDir, 'show', 'orch/orch_20261206_100000_abcd/_result:a.txt')).toBe('one\np+q\nthree');

    const again = await session();
    for (const w of ['p', 'q']) {
      const ready = await again.checkouts.prepareWorker(w, []);
      writeFiles(ready.cwd, { 'a.txt': `one\n${w}\nthree\n` });
      await again.checkouts.commitWork(w, w, AUTHOR);
    }
    expect(await again.checkouts.integrate(['p', 'q'])).toMatchObject({ status: 'conflict', worker: 'q' });
    // Skipped: the merge is abandoned and the rest integrated without it.
    expect(await again.checkouts.integrate(['p'])).toMatchObject({
      status: 'done',
      steps: [{ worker: 'p', how: 'contained' }],
    });
    expect(existsSync(join(again.checkouts.dir(RESULT), '.git', 'MERGE_HEAD'))).toBe(false);
  });

  it("reviewers get their target's head; remove() takes every checkout and ref of the session", async () => {
    const { repoDir, checkouts } = await session();
    const w = await checkouts.prepareWorker('w', []);
    writeFiles(w.cwd, { 'w.txt': 'w\n' });
    await checkouts.commitWork('w', 'w', AUTHOR);
    const cwd = await checkouts.prepareReviewer('r1-codex-w', 'w');
    expect(readFileSync(join(cwd, 'w.txt'), 'utf8')).toBe('w\n');
    expect(gitIn(cwd, 'rev-parse', 'HEAD')).toBe(gitIn(repoDir, 'rev-parse', 'orch/orch_20261206_100000_abcd/w'));
    expect(await sessionRefs(repoDir, 'orch_20261206_100000_abcd')).toEqual([
      'refs/heads/orch/orch_20261206_100000_abcd/w',
      'refs/orch/orch_20261206_100000_abcd/base',
      'refs/orch/orch_20261206_100000_abcd/start/w',
    ]);
    const removed = await checkouts.remove();
    expect(removed.refs).toHaveLength(3);
    expect(existsSync(checkouts.root)).toBe(false);
    expect(gitIn(repoDir, 'branch', '--list', 'orch/*')).toBe('');
  });
});
