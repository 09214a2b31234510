/**
 * A session's result into the user's checkout and away again, with the real CLI, real git and the fake agents:
 * apply as uncommitted changes (over the user's own work, and with conflicts), apply --merge, discard and gc.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAfterTest, eventsOfType, readEvents, sessionIds } from '../support/orchestrate.js';
import { gitIn, writeFiles } from '../support/git-repo.js';
import { cli, PARALLEL, run, session, show, writes } from './support-isolation.js';

afterEach(cleanupAfterTest);

describe('apply, discard and gc', () => {
  const done = async () => {
    const s = session(
      { ...PARALLEL, reviews: [] },
      writes({
        claude: { 'x.txt': 'from x\n', 'README.md': '# target, edited by its user\nand by x\n' },
        codex: { 'y.txt': 'from y\n' },
      }),
    );
    const result = await run(s);
    expect(result.exitCode, result.stderr).toBe(0);
    return { ...s, sid: sessionIds(s.sandbox.workspace)[0] as string };
  };

  it("apply lands the result as uncommitted changes on top of the user's own work, which is kept", async () => {
    const s = await done();
    const repo = s.sandbox.target;
    const head = gitIn(repo, 'rev-parse', 'HEAD');
    // The user went on working meanwhile.
    writeFiles(repo, { 'notes.txt': 'mine, and more\n' });
    const applied = await cli(s, ['apply', s.sid]);
    expect(applied.exitCode, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/applied orch\/.*_result as uncommitted changes \(3 files, \+3 -0\)/);
    expect(readFileSync(join(repo, 'x.txt'), 'utf8')).toBe('from x\n');
    expect(readFileSync(join(repo, 'y.txt'), 'utf8')).toBe('from y\n');
    expect(readFileSync(join(repo, 'README.md'), 'utf8')).toBe('# target, edited by its user\nand by x\n');
    expect(readFileSync(join(repo, 'notes.txt'), 'utf8')).toBe('mine, and more\n');
    expect(readFileSync(join(repo, 'staged.txt'), 'utf8')).toBe('staged\n');
    // Neither HEAD nor the index moved: the staged file is still the only staged change.
    expect(gitIn(repo, 'rev-parse', 'HEAD')).toBe(head);
    expect(gitIn(repo, 'diff', '--cached', '--name-only')).toBe('staged.txt');
    // What it was before is a commit to go back to; and the apply is in the session's log.
    expect(show(repo, `refs/orch/${s.sid}/before-apply:notes.txt`)).toBe('mine, and more\n');
    expect(
      eventsOfType(readEvents(s.sandbox.workspace, s.sid), 'workspace').find((e) => e.action === 'apply')?.detail,
    ).toContain('cli: applied');
    // Applied: discard needs no --force, and takes the checkouts and every ref of the session.
    const discarded = await cli(s, ['discard', s.sid]);
    expect(discarded.exitCode, discarded.stderr).toBe(0);
    expect(existsSync(join(s.sandbox.workspace, 'checkouts', s.sid))).toBe(false);
    expect(gitIn(repo, 'for-each-ref', 'refs/orch', 'refs/heads/orch')).toBe('');
    expect(readFileSync(join(repo, 'x.txt'), 'utf8')).toBe('from x\n');
  }, 60_000);

  it('apply on lines the user changed since marks the conflict in the file, says so (exit 2); none lost', async () => {
    const s = await done();
    const repo = s.sandbox.target;
    writeFiles(repo, { 'README.md': '# target, rewritten by its user\n' });
    const applied = await cli(s, ['apply', s.sid]);
    expect(applied.exitCode).toBe(2);
    expect(applied.stdout).toContain('with conflict markers in README.md');
    const readme = readFileSync(join(repo, 'README.md'), 'utf8');
    expect(readme).toContain('# target, rewritten by its user');
    expect(readme).toContain('and by x');
    expect(readme).toMatch(/^<{7} /m);
    expect(readFileSync(join(repo, 'y.txt'), 'utf8')).toBe('from y\n');
    expect(show(repo, `refs/orch/${s.sid}/before-apply:README.md`)).toBe('# target, rewritten by its user\n');
  }, 60_000);

  it('apply --merge is refused if it touches uncommitted changes; on a clean checkout it merges commits', async () => {
    const s = await done();
    const repo = s.sandbox.target;
    const refused = await cli(s, ['apply', s.sid, '--merge']);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    // README.md: the session changed it, and so did the user (uncommitted). Their other work is not in the way.
    expect(refused.stderr).toMatch(
      /^error: apply --merge would touch files with uncommitted changes \(README\.md\): commit or stash them first/,
    );
    // The user commits that file; the merge then brings the session's change of it (relative to the base, which held
    // the user's edit) and its new files as one merge commit, and leaves the rest of their work uncommitted.
    gitIn(repo, 'commit', '-q', '-m', 'my readme', 'README.md');
    const mine = gitIn(repo, 'rev-parse', 'HEAD');
    const merged = await cli(s, ['apply', s.sid, '--merge']);
    expect(merged.exitCode, merged.stderr).toBe(0);
    expect(merged.stdout).toMatch(/^merged orch\/.*\/_result into main \(3 files\)/);
    expect(gitIn(repo, 'log', '-1', '--format=%s%n%P')).toBe(
      `Merge orchestrate session ${s.sid}: two files at once\n` +
        `${mine} ${gitIn(repo, 'rev-parse', `orch/${s.sid}/_result`)}`,
    );
    expect(readFileSync(join(repo, 'README.md'), 'utf8')).toBe('# target, edited by its user\nand by x\n');
    expect(readFileSync(join(repo, 'y.txt'), 'utf8')).toBe('from y\n');
    expect(gitIn(repo, 'status', '--porcelain')).toBe('A  staged.txt\n?? notes.txt');
  }, 60_000);

  it('discard refuses un-applied work unless --force; gc takes leftovers, un-applied only with --force', async () => {
    const s = await done();
    const repo = s.sandbox.target;
    const refused = await cli(s, ['discard', s.sid]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(
      /^error: the work of session .* was never applied: `orchestrate apply .*` first, or discard it with --force/,
    );
    expect(existsSync(join(s.sandbox.workspace, 'checkouts', s.sid))).toBe(true);
    // Its session folder goes away (a person deleted it): the branches are leftovers, kept while un-applied.
    rmSync(join(s.sandbox.workspace, 'sessions', s.sid), { recursive: true });
    const doctor = await cli(s, ['doctor']);
    expect(doctor.stdout).toMatch(
      new RegExp(
        `checkouts +1 leftover\\(s\\) of sessions no longer here: ${s.sid} \\(folder gone, un-applied work\\)`,
      ),
    );
    const kept = await cli(s, ['gc']);
    expect(kept.stdout).toContain(`kept ${s.sid}: its branches hold work that was never applied`);
    expect(gitIn(repo, 'branch', '--list', 'orch/*')).not.toBe('');
    const collected = await cli(s, ['gc', '--force']);
    expect(collected.stdout).toContain(`removed ${s.sid} (its session folder is gone): checkouts, 6 refs in ${repo}`);
    expect(gitIn(repo, 'for-each-ref', 'refs/orch', 'refs/heads/orch')).toBe('');
    expect(existsSync(join(s.sandbox.workspace, 'checkouts', s.sid))).toBe(false);
    expect((await cli(s, ['gc'])).stdout).toContain('nothing to collect');
  }, 90_000);
});
