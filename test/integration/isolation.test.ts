/**
 * Every worker on its own branch, with the real CLI, real git and the fake agents: the user's checkout stays
 * byte-identical, parallel and chained workers, reviewers reading only their target's diff, merge conflicts
 * resolved by a person and by an agent, checkout setup, work in place (isolation-apply.test.ts: apply, discard, gc).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SessionSpecInput } from '../../src/domain/spec.js';
import { cleanupAfterTest, eventsOfType, launches, readEvents, runCli, sessionIds } from '../support/orchestrate.js';
import { gitIn, snapshotCheckout, writeFiles } from '../support/git-repo.js';
import { cli, PARALLEL, REVIEWER, run, session, show, writes } from './support-isolation.js';

afterEach(cleanupAfterTest);

describe('parallel workers on different files', () => {
  it('each works on its own branch off HEAD + uncommitted work; the user checkout stays byte-identical', async () => {
    const s = session(PARALLEL, writes({ claude: { 'x.txt': 'from x\n' }, codex: { 'y.txt': 'from y\n' } }));
    const before = snapshotCheckout(s.sandbox.target);
    const result = await run(s);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      /Base: main @ [0-9a-f]{12} \+ 3 uncommitted files; each worker works on its own branch/,
    );
    expect(snapshotCheckout(s.sandbox.target)).toEqual(before);
    const sid = sessionIds(s.sandbox.workspace)[0] as string;
    const repo = s.sandbox.target;
    // The base holds the user's uncommitted work; each branch adds only its worker's file; the result both.
    expect(show(repo, `orch/${sid}/x:README.md`)).toBe('# target, edited by its user\n');
    expect(show(repo, `orch/${sid}/x:notes.txt`)).toBe('mine\n');
    expect(show(repo, `orch/${sid}/x:x.txt`)).toBe('from x\n');
    expect(() => show(repo, `orch/${sid}/x:y.txt`)).toThrow();
    expect(show(repo, `orch/${sid}/_result:x.txt`)).toBe('from x\n');
    expect(show(repo, `orch/${sid}/_result:y.txt`)).toBe('from y\n');
    // Their agents really ran side by side, each in its own checkout.
    const cwds = launches(s.sandbox)
      .filter((l) => !l.argv.some((a) => a.includes(REVIEWER)))
      .map((l) => l.workdir);
    expect(new Set(cwds).size).toBe(2);
    for (const cwd of cwds) expect(cwd).toContain(join(s.sandbox.workspace, 'checkouts', sid));
    // Each reviewer's prompt holds its target's diff, and only that.
    const prompts = launches(s.sandbox)
      .filter((l) => l.argv.some((a) => a.includes(REVIEWER)))
      .map((l) => (l.persona === 'gemini' ? l.argv[l.argv.indexOf('-p') + 1] : l.argv.at(-1)) as string);
    const ofX = prompts.find((p) => p.includes('(x, claude)')) as string;
    const ofY = prompts.find((p) => p.includes('(y, codex)')) as string;
    expect(ofX).toContain('+++ b/x.txt');
    expect(ofX).not.toContain('y.txt');
    expect(ofX).not.toContain('notes.txt');
    expect(ofY).toContain('+++ b/y.txt');
    expect(ofY).not.toContain('x.txt');
    // What the user's repository shows: this session's branches, no worktree of ours.
    expect(gitIn(repo, 'worktree', 'list').split('\n')).toHaveLength(1);
    expect(gitIn(repo, 'branch', '--format=%(refname:short)').split('\n').sort()).toEqual([
      'main',
      `orch/${sid}/_result`,
      `orch/${sid}/x`,
      `orch/${sid}/y`,
    ]);
    // status names the base, each branch with its counts, and the result.
    const status = await cli(s, ['status', sid]);
    expect(status.stdout).toMatch(/base: +main @ [0-9a-f]{12} \+ 3 uncommitted files/);
    expect(status.stdout).toContain(`orch/${sid}/x 1 file +1 -0`);
    expect(status.stdout).toContain(`result: orch/${sid}/_result 2 files +2 -0`);
    expect(result.stdout).toContain(`apply:  orchestrate apply ${sid}`);
  }, 60_000);
});

describe('a dependency chain', () => {
  it("each worker starts from its predecessor's head and sees its work; its own change is only its own", async () => {
    const spec: SessionSpecInput = {
      task: 'a chain',
      workers: [
        { id: 'design', agent: 'gemini', role: 'architect' },
        { id: 'build', agent: 'claude', role: 'implementer', dependsOn: ['design'] },
        { id: 'check', agent: 'codex', role: 'verifier', dependsOn: ['build'] },
      ],
    };
    const s = session(
      spec,
      writes({
        gemini: { 'DESIGN.md': 'the design\n' },
        claude: { 'impl.js': 'impl\n' },
        codex: { 'CHECKED.md': 'checked\n' },
      }),
    );
    const result = await run(s);
    expect(result.exitCode, result.stderr).toBe(0);
    const sid = sessionIds(s.sandbox.workspace)[0] as string;
    const checkout = (w: string) => join(s.sandbox.workspace, 'checkouts', sid, w);
    // What each one saw: the files of those before it, in its own checkout.
    expect(readFileSync(join(checkout('build'), 'DESIGN.md'), 'utf8')).toBe('the design\n');
    expect(readFileSync(join(checkout('check'), 'impl.js'), 'utf8')).toBe('impl\n');
    const diff = await cli(s, ['diff', sid, 'build', '--stat']);
    expect(diff.stdout).toContain('impl.js');
    expect(diff.stdout).not.toContain('DESIGN.md');
    // A chain fast-forwards: the result is the last worker's head.
    const repo = s.sandbox.target;
    expect(gitIn(repo, 'rev-parse', `orch/${sid}/_result`)).toBe(gitIn(repo, 'rev-parse', `orch/${sid}/check`));
    const integrated = eventsOfType(readEvents(s.sandbox.workspace, sid), 'workspace').find(
      (e) => e.action === 'integrate',
    );
    expect(integrated?.detail).toContain('check fast-forwarded');
    // Piped, the diff is a patch git apply takes: on a clean copy of the base it gives the result.
    const patch = execFileSync(
      process.execPath,
      [join(process.cwd(), 'dist', 'cli.js'), 'diff', sid, '--workspace', s.sandbox.workspace],
      { env: { ...process.env, ...s.env }, cwd: repo },
    );
    const copy = join(s.sandbox.dir, 'copy');
    execFileSync('git', ['clone', '-q', repo, copy]);
    execFileSync('git', ['checkout', '-q', gitIn(repo, 'rev-parse', `refs/orch/${sid}/base`)], { cwd: copy });
    execFileSync('git', ['apply'], { cwd: copy, input: patch });
    expect(readFileSync(join(copy, 'CHECKED.md'), 'utf8')).toBe('checked\n');
    expect(readFileSync(join(copy, 'impl.js'), 'utf8')).toBe('impl\n');
  }, 60_000);
});

const SAME_LINES: SessionSpecInput = {
  task: 'both change the same line',
  workers: [
    { id: 'x', agent: 'claude', role: 'implementer' },
    { id: 'y', agent: 'codex', role: 'implementer' },
  ],
  reviews: [{ reviewer: 'gemini', target: 'y', focus: 'implementation' }],
};
const SAME_LINES_AGENTS = writes({
  claude: { 'shared.txt': 'one\nx\nthree\n' },
  codex: { 'shared.txt': 'one\ny\nthree\n' },
});

describe('parallel workers on the same lines: a MERGE_CONFLICT', () => {
  it('names the files and the checkout; a person resolves it there, answers retry; the session completes', async () => {
    const s = session({ ...SAME_LINES, reviews: [] }, SAME_LINES_AGENTS);
    const first = await run(s);
    expect(first.exitCode).toBe(2);
    const sid = sessionIds(s.sandbox.workspace)[0] as string;
    const resultDir = join(s.sandbox.workspace, 'checkouts', sid, '_result');
    expect(first.stdout).toContain('MERGE_CONFLICT b1');
    expect(first.stdout).toContain(`files: shared.txt; resolve them in ${resultDir}`);
    expect(first.stdout).toContain(`orchestrate resolve ${sid} b1 <retry|agent|skip|stop>`);
    expect(readFileSync(join(resultDir, 'shared.txt'), 'utf8')).toMatch(/^<{7} /m);
    // Not resolved yet: asked again, the same conflict.
    writeFileSync(join(resultDir, 'shared.txt'), 'one\nx, then y\nthree\n');
    gitIn(resultDir, 'add', 'shared.txt');
    const resumed = await cli(s, ['resolve', sid, 'b1', 'retry', '--no-server']);
    expect(resumed.exitCode, resumed.stdout + resumed.stderr).toBe(0);
    expect(show(s.sandbox.target, `orch/${sid}/_result:shared.txt`)).toBe('one\nx, then y\nthree\n');
  }, 60_000);

  it("an agent of the person's choice resolves it as a worker of its own, reviewed like any other", async () => {
    const s = session(SAME_LINES, SAME_LINES_AGENTS);
    expect((await run(s)).exitCode).toBe(2);
    const sid = sessionIds(s.sandbox.workspace)[0] as string;
    const resumed = await cli(s, ['resolve', sid, 'b1', 'agent', '--agent', 'claude', '--no-server']);
    expect(resumed.exitCode, resumed.stdout + resumed.stderr).toBe(0);
    const events = readEvents(s.sandbox.workspace, sid);
    expect(eventsOfType(events, 'blocker').find((e) => e.resolution)?.resolution).toMatchObject({
      choice: 'agent',
      agent: 'claude',
      by: 'cli',
    });
    // The resolver ran in the conflicted merge, and its work is the merge.
    const resolver = launches(s.sandbox).find((l) => l.argv.some((a) => a.includes('You are the MERGER')));
    expect(resolver?.persona).toBe('claude');
    expect(resolver?.workdir).toContain(join('checkouts', sid, 'y-merge'));
    expect(eventsOfType(events, 'review').map((e) => [e.reviewer, e.target])).toEqual(
      expect.arrayContaining([['gemini', 'y-merge']]),
    );
    const repo = s.sandbox.target;
    expect(show(repo, `orch/${sid}/_result:shared.txt`)).toBe('one\nx and y\nthree\n');
    expect(gitIn(repo, 'rev-parse', `orch/${sid}/_result`)).toBe(gitIn(repo, 'rev-parse', `orch/${sid}/y-merge`));
    expect(gitIn(repo, 'log', '-1', '--format=%p', `orch/${sid}/y-merge`).split(' ')).toHaveLength(2);
  }, 60_000);

  it('a worker that depends on both meets the conflict at its start: ' +
    'an agent resolves it, then the worker runs on the resolution', async () => {
    const spec: SessionSpecInput = {
      ...SAME_LINES,
      workers: [...SAME_LINES.workers!, { id: 'z', agent: 'gemini', role: 'verifier', dependsOn: ['x', 'y'] }],
      reviews: [],
    };
    const s = session(spec, SAME_LINES_AGENTS);
    const first = await run(s);
    expect(first.exitCode).toBe(2);
    expect(first.stdout).toMatch(/MERGE_CONFLICT b1 \(z\): merging x and y to start z conflicts in shared\.txt/);
    const sid = sessionIds(s.sandbox.workspace)[0] as string;
    const resumed = await cli(s, ['resolve', sid, 'b1', 'agent', '--no-server']);
    expect(resumed.exitCode, resumed.stdout + resumed.stderr).toBe(0);
    const z = launches(s.sandbox).find((l) => l.persona === 'gemini' && !l.argv.some((a) => a.includes('MERGER')));
    expect(z?.workdir).toContain(join('checkouts', sid, 'z'));
    expect(readFileSync(join(s.sandbox.workspace, 'checkouts', sid, 'z', 'shared.txt'), 'utf8')).toBe(
      'one\nx and y\nthree\n',
    );
  }, 60_000);
});

describe('where checkouts do not apply', () => {
  it('outside git or with --in-place, agents edit the target as before; a warning at start and in status', async () => {
    const s = session({ ...PARALLEL, reviews: [] }, writes({ claude: { 'x.txt': 'x\n' }, codex: { 'y.txt': 'y\n' } }));
    const result = await run(s, ['--in-place']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      `warning: --in-place: agents edit ${s.sandbox.target} directly, not checkouts of their own`,
    );
    expect(readFileSync(join(s.sandbox.target, 'x.txt'), 'utf8')).toBe('x\n');
    expect(gitIn(s.sandbox.target, 'branch', '--list', 'orch/*')).toBe('');
    const sid = sessionIds(s.sandbox.workspace)[0] as string;
    expect((await cli(s, ['status', sid])).stdout).toContain('warning: --in-place');
    const refused = await cli(s, ['apply', sid]);
    expect(refused.stderr).toMatch(/^error: session .* worked in place .*: it has no branches to apply/);
    const bad = await run(s, ['--base', 'no-such-ref']);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toMatch(/^error: --base no-such-ref names no commit in /);
  }, 60_000);
});

describe('checkout setup (spec "workspace")', () => {
  it('copies and links files from the target (never committed), runs setup commands, output in the log', async () => {
    const spec: SessionSpecInput = {
      task: 'with setup',
      workers: [{ id: 'w', agent: 'claude', role: 'implementer' }],
      workspace: {
        copy: ['.env', 'missing.txt'],
        symlink: ['deps'],
        setup: [
          [
            process.execPath,
            '-e',
            "require('fs').writeFileSync('SETUP_RAN', 'yes'); " +
              "console.log('installing'); console.log('done installing')",
          ],
        ],
      },
    };
    const s = session(spec, writes({ claude: { 'w.txt': 'w\n' } }));
    writeFiles(s.sandbox.target, { '.env': 'SECRET=1\n', 'deps/lib.js': 'lib\n' });
    writeFileSync(join(s.sandbox.target, '.gitignore'), '*.log\n.env\ndeps/\nSETUP_RAN\n');
    const result = await run(s);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    const sid = sessionIds(s.sandbox.workspace)[0] as string;
    const checkout = join(s.sandbox.workspace, 'checkouts', sid, 'w');
    expect(readFileSync(join(checkout, '.env'), 'utf8')).toBe('SECRET=1\n');
    expect(readFileSync(join(checkout, 'deps', 'lib.js'), 'utf8')).toBe('lib\n');
    expect(readFileSync(join(checkout, 'SETUP_RAN'), 'utf8')).toBe('yes');
    // Nothing of it is on the branch: only the agent's own file.
    expect(gitIn(s.sandbox.target, 'diff', '--name-only', `refs/orch/${sid}/start/w`, `orch/${sid}/w`)).toBe('w.txt');
    const setup = eventsOfType(readEvents(s.sandbox.workspace, sid), 'workspace').filter((e) => e.action === 'setup');
    expect(setup.map((e) => e.detail)).toEqual(
      expect.arrayContaining([
        'workspace.copy: .env copied from the target (never committed)',
        expect.stringMatching(/^workspace\.copy: missing\.txt is not in .*; skipped$/),
        'workspace.symlink: deps linked from the target (never committed)',
      ]),
    );
    expect(setup.map((e) => e.output ?? '').join('\n')).toContain('installing\ndone installing');
    expect(setup.at(-1)).toMatchObject({ exitCode: 0 });
  }, 60_000);

  it('a failing setup command is a SETUP_FAILED blocker with its last line; retry runs the setup again', async () => {
    const failsUntilFixed =
      "if (!require('fs').existsSync('FIXED')) { console.error('npm ERR! missing package.json'); process.exit(3) }";
    const spec: SessionSpecInput = {
      task: 'broken setup',
      workers: [{ id: 'w', agent: 'claude', role: 'implementer' }],
      workspace: { setup: [[process.execPath, '-e', failsUntilFixed]] },
    };
    const s = session(spec, writes({ claude: { 'w.txt': 'w\n' } }));
    const result = await run(s);
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toMatch(
      new RegExp(
        String.raw`SETUP_FAILED b1 \(w\): the checkout of this worker could not be set up: ` +
          String.raw`.* exited 3: npm ERR! missing package\.json`,
      ),
    );
    expect(launches(s.sandbox)).toHaveLength(0);
    // A person fixes what the setup needs in the checkout, and answers retry: the setup runs again, then the agent.
    const sid = sessionIds(s.sandbox.workspace)[0] as string;
    writeFileSync(join(s.sandbox.workspace, 'checkouts', sid, 'w', 'FIXED'), '');
    const resumed = await cli(s, ['resolve', sid, 'b1', 'retry', '--no-server']);
    expect(resumed.exitCode, resumed.stdout + resumed.stderr).toBe(0);
    expect(launches(s.sandbox)).toHaveLength(1);
  }, 60_000);
});

describe('the default workspace, inside the user checkout', () => {
  it("keeps the checkouts in the git dir, where no user tool crawls; another workspace's gc spares them", async () => {
    const s = session({ ...PARALLEL, reviews: [] }, writes({ claude: { 'x.txt': 'x\n' }, codex: { 'y.txt': 'y\n' } }));
    const result = await runCli(['run', '--spec', s.specPath, '-C', s.sandbox.target, '--no-server'], { env: s.env });
    expect(result.exitCode, result.stderr).toBe(0);
    const workspace = join(s.sandbox.target, '.orchestrator');
    const sid = sessionIds(workspace)[0] as string;
    const checkouts = join(s.sandbox.target, '.git', 'orchestrate', 'checkouts', sid);
    expect(existsSync(join(checkouts, 'x', 'x.txt'))).toBe(true);
    expect(existsSync(join(workspace, 'checkouts'))).toBe(false);
    // What the user's tools see of the checkout: the session folder (ignored by its own .gitignore), no copy of the
    // project.
    expect(
      gitIn(s.sandbox.target, 'status', '--porcelain', '--ignored', '--untracked-files=all')
        .split('\n')
        .filter((l) => l.includes('x.txt')),
    ).toEqual([]);
    // Another workspace on the same repository does not judge this session: its folder is not there, yet it is alive.
    const other = await runCli(['gc', '--force', '--workspace', s.sandbox.workspace, '-C', s.sandbox.target], {
      env: s.env,
    });
    expect(other.stdout).toContain('nothing to collect');
    expect(existsSync(checkouts)).toBe(true);
    // Its own workspace, once its folder is gone, collects it.
    rmSync(join(workspace, 'sessions', sid), { recursive: true });
    const own = await runCli(['gc', '--force', '--workspace', workspace, '-C', s.sandbox.target], { env: s.env });
    expect(own.stdout).toContain(`removed ${sid} (its session folder is gone)`);
    expect(existsSync(checkouts)).toBe(false);
    expect(existsSync(join(s.sandbox.target, '.git', 'orchestrate', 'sessions', `${sid}.json`))).toBe(false);
  }, 60_000);
});
