/**
 * 7. Worker checkouts of a 10,000-file repository: the time to prepare N worker checkouts (src/workspace: a
 * repository of its own per worker that reads the user's objects, its branch published, its start recorded)
 * against a bare `git worktree add` of the same N, measured in the same run. Also the session's base (HEAD plus
 * the uncommitted changes, through a throwaway index) against `git stash create`, and `git clone --shared`, the
 * other way to give a worker a repository of its own (docs/security.md weighs the three).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { captureBase, findRepo } from '../../src/workspace/repo.js';
import { SessionCheckouts } from '../../src/workspace/checkouts.js';
import { tempDir } from '../lib/harness.js';
import { median, round, type ScenarioOptions, type ScenarioResult } from '../lib/measure.js';

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=b', '-c', 'user.email=b@b', '-c', 'gc.auto=0', ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });

/** `files` small source-like files in 100 folders, committed. */
function makeRepository(dir: string, files: number): void {
  mkdirSync(dir, { recursive: true });
  git(dir, '-c', 'init.defaultBranch=main', 'init', '-q');
  const perDir = Math.ceil(files / 100);
  for (let d = 0; d < 100; d++) {
    const folder = join(dir, 'src', `module${d}`);
    mkdirSync(folder, { recursive: true });
    for (let f = 0; f < perDir && d * perDir + f < files; f++) {
      writeFileSync(
        join(folder, `file${f}.ts`),
        `export const value${d}_${f} = ${d * perDir + f};\n// ${'x'.repeat(120)}\n`,
      );
    }
  }
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'a big repository');
}

async function time(work: () => Promise<void> | void): Promise<number> {
  const t0 = performance.now();
  await work();
  return performance.now() - t0;
}

export async function run(options: ScenarioOptions): Promise<ScenarioResult> {
  const started = performance.now();
  const files = 10_000;
  const workers = options.quick ? 3 : 4;
  const rounds = options.quick ? 2 : 4;
  const dir = tempDir('checkouts');
  const repoDir = join(dir, 'repo');
  makeRepository(repoDir, files);
  // The user is in the middle of something: a few edits and new files, as the base captures them.
  for (let i = 0; i < 5; i++)
    writeFileSync(join(repoDir, 'src', `module${i}`, 'file0.ts'), `export const edited = ${i};\n`);
  for (let i = 0; i < 5; i++) writeFileSync(join(repoDir, `new${i}.ts`), 'untracked\n');
  git(repoDir, 'status', '--porcelain'); // the stat cache warm, as in a checkout someone works in
  const repo = await findRepo(repoDir);
  if (!repo) throw new Error('not a repository');

  const worktree: number[] = [];
  const clone: number[] = [];
  const ours: number[] = [];
  const base: number[] = [];
  const stash: number[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      const root = join(dir, `round${r}`);
      stash.push(await time(() => void git(repoDir, 'stash', 'create')));
      let commit = '';
      base.push(await time(async () => void (commit = (await captureBase(repo)).commit)));
      worktree.push(
        await time(() => {
          for (let w = 0; w < workers; w++)
            git(repoDir, 'worktree', 'add', '-q', '--detach', join(root, 'worktree', `w${w}`), commit);
        }),
      );
      clone.push(
        await time(() => {
          for (let w = 0; w < workers; w++) {
            const at = join(root, 'clone', `w${w}`);
            git(dir, 'clone', '-q', '--shared', '--no-checkout', repoDir, at);
            git(at, 'checkout', '-q', '--detach', commit);
          }
        }),
      );
      const sessionId = `orch_20261206_000000_b${String(r).padStart(3, '0')}`;
      const checkouts = new SessionCheckouts(sessionId, repo, commit, join(root, 'ours'));
      ours.push(
        await time(async () => {
          await checkouts.recordBase();
          for (let w = 0; w < workers; w++) await checkouts.prepareWorker(`w${w}`, []);
        }),
      );
      git(repoDir, 'worktree', 'remove', '--force', join(root, 'worktree', 'w0'));
      for (let w = 1; w < workers; w++) git(repoDir, 'worktree', 'remove', '--force', join(root, 'worktree', `w${w}`));
      await checkouts.remove();
      rmSync(root, { recursive: true, force: true });
    }
  } finally {
    git(repoDir, 'worktree', 'prune');
    rmSync(dir, { recursive: true, force: true });
  }
  const ms = (values: number[]) => round(median(values), 0);
  const per = (values: number[]) => round(median(values) / workers, 0);
  return {
    name: 'checkouts',
    title: `Worker checkouts of a ${files.toLocaleString('en-US')}-file repository`,
    durationMs: performance.now() - started,
    figures: [
      {
        metric: `prepare ${workers} worker checkouts (ours)`,
        value: ms(ours),
        unit: 'ms',
        reference: { label: `git worktree add ×${workers}`, value: ms(worktree), unit: 'ms' },
        ratio: round(median(ours) / median(worktree), 2),
        bound:
          'writing the files of each checkout (read-tree -u), as worktree add does; ' +
          'plus init, the alternates file and two ref updates in the user repository per worker',
      },
      {
        metric: 'one worker checkout (ours)',
        value: per(ours),
        unit: 'ms',
        reference: { label: 'one git worktree add', value: per(worktree), unit: 'ms' },
        ratio: round(median(ours) / median(worktree), 2),
      },
      {
        metric: `git clone --shared + checkout ×${workers}`,
        value: ms(clone),
        unit: 'ms',
        reference: { label: `git worktree add ×${workers}`, value: ms(worktree), unit: 'ms' },
        ratio: round(median(clone) / median(worktree), 2),
        bound: 'the other isolated option: also copies every ref of the user repository and sets up a remote',
      },
      {
        metric: 'the base: HEAD + uncommitted changes (ours)',
        value: ms(base),
        unit: 'ms',
        reference: { label: 'git stash create', value: ms(stash), unit: 'ms' },
        ratio: round(median(base) / median(stash), 2),
        bound:
          'copying the index and `git add -A` through it (untracked files too, ' +
          'which stash create leaves out); write-tree; commit-tree',
      },
    ],
    notes: [
      `median of ${rounds} rounds; ${workers} workers from the same base; ` +
        `5 edited and 5 untracked files in the user checkout`,
    ],
  };
}
