/**
 * `orchestrate demo`, the newcomer's first command, end to end: the real CLI from a package that lives under
 * /tmp (as a fresh clone there does). Inside the sandbox /tmp is private, so the recorded agents must still
 * see the package they run from.
 */
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, readEvents, eventsOfType } from '../support/orchestrate.js';
import { spawnSync } from 'node:child_process';

const packageCopy = mkdtempSync(join(tmpdir(), 'orch-demo-pkg-'));
afterAll(() => rmSync(packageCopy, { recursive: true, force: true }));

describe('orchestrate demo', () => {
  it('completes with every worker completed and says where the session folder is, from a package under /tmp', () => {
    for (const part of ['dist', 'examples', 'package.json']) cpSync(join(ROOT, part), join(packageCopy, part), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(packageCopy, 'node_modules'));
    const result = spawnSync(process.execPath, [join(packageCopy, 'dist', 'cli.js'), 'demo', '--speed', '0', '--no-server'], {
      env: { ...process.env, NO_COLOR: '1' },
      encoding: 'utf8',
      timeout: 90_000,
    });
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
    const folder = /Session folder: (\S+)/.exec(result.stdout)?.[1];
    expect(folder && existsSync(join(folder, 'events.jsonl')), result.stdout).toBe(true);
    // One line says how to look at it again (no dashboard ran: --no-server).
    expect(result.stdout.match(/serve --workspace/g)).toHaveLength(1);
    expect(result.stdout).toMatch(/^Browse the session: .* serve --workspace \S+ {3}\(or: .* logs orch_\S+ --workspace \S+\)$/m);
    const workspace = join(folder as string, '..', '..');
    const events = readEvents(workspace);
    const finals = new Map(eventsOfType(events, 'state').filter((e) => e.machine === 'worker').map((e) => [e.id, e.to]));
    for (const worker of ['architect', 'implementer', 'verifier']) expect(finals.get(worker), worker).toBe('completed');
    expect(eventsOfType(events, 'decision').map((d) => d.decision)).toEqual(['CONTINUE', 'LOG_WARNING']);
    // The three workers on their branches, the result's diff --stat, the command that applies it; the copy untouched.
    const sid = eventsOfType(events, 'state')[0]?.sessionId as string;
    for (const worker of ['architect', 'implementer', 'verifier']) expect(result.stdout).toMatch(new RegExp(`orch/${sid}/${worker}: \\d+ files? \\+\\d+ -\\d+`));
    expect(result.stdout).toContain(`the result is orch/${sid}/_result:`);
    expect(result.stdout).toMatch(/^ {3}src\/text\.js +\| +\d+ \++$/m);
    expect(result.stdout).toMatch(/^ {3}4 files changed, \d+ insertions\(\+\), \d+ deletions?\(-\)$/m);
    const project = /^The project copy in (\S+) is untouched/m.exec(result.stdout)?.[1] as string;
    expect(result.stdout).toMatch(new RegExp(`^Apply it to the copy and run its tests: cd ${project} && (npx )?orchestrate apply ${sid} && npm test$`, 'm'));
    expect(spawnSync('git', ['status', '--porcelain'], { cwd: project, encoding: 'utf8' }).stdout).toBe('');
    // The demo's own folder in the temp dir, and how to remove it.
    const root = join(project, '..');
    expect(result.stdout).toContain(`Everything of this demo is in ${root}; remove it when done: rm -rf ${root}`);
    rmSync(root, { recursive: true, force: true });
  }, 120_000);
});
