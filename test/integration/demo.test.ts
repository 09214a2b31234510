/**
 * `orchestrate demo`, the newcomer's first command, end to end: the real CLI from a package that lives under
 * /tmp (as a fresh clone there does). Inside the sandbox /tmp is private, so the recorded agents must still
 * see the package they run from.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, readEvents, eventsOfType, poll, startCli, stopStartedClis } from '../support/orchestrate.js';
import { spawnSync } from 'node:child_process';

const packageCopy = mkdtempSync(join(tmpdir(), 'orch-demo-pkg-'));
afterAll(() => rmSync(packageCopy, { recursive: true, force: true }));

describe('orchestrate demo', () => {
  it('completes with every worker completed and says where the session folder is, from a package under /tmp', () => {
    for (const part of ['dist', 'examples', 'package.json'])
      cpSync(join(ROOT, part), join(packageCopy, part), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(packageCopy, 'node_modules'));
    const result = spawnSync(
      process.execPath,
      [join(packageCopy, 'dist', 'cli.js'), 'demo', '--speed', '0', '--no-server'],
      {
        env: { ...process.env, NO_COLOR: '1' },
        encoding: 'utf8',
        timeout: 90_000,
      },
    );
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
    const folder = /Session folder: (\S+)/.exec(result.stdout)?.[1];
    expect(folder && existsSync(join(folder, 'events.jsonl')), result.stdout).toBe(true);
    // One line says how to look at it again (no dashboard ran: --no-server).
    expect(result.stdout.match(/serve --workspace/g)).toHaveLength(1);
    expect(result.stdout).toMatch(
      /^Browse the session: .* serve --workspace \S+ {3}\(or: .* logs orch_\S+ --workspace \S+\)$/m,
    );
    const workspace = join(folder as string, '..', '..');
    const events = readEvents(workspace);
    const finals = new Map(
      eventsOfType(events, 'state')
        .filter((e) => e.machine === 'worker')
        .map((e) => [e.id, e.to]),
    );
    for (const worker of ['architect', 'implementer', 'verifier']) expect(finals.get(worker), worker).toBe('completed');
    expect(eventsOfType(events, 'decision').map((d) => d.decision)).toEqual(['CONTINUE', 'LOG_WARNING']);
    // The three workers on their branches, the result's diff --stat, the command that applies it; the copy untouched.
    const sid = eventsOfType(events, 'state')[0]?.sessionId as string;
    for (const worker of ['architect', 'implementer', 'verifier'])
      expect(result.stdout).toMatch(new RegExp(`orch/${sid}/${worker}: \\d+ files? \\+\\d+ -\\d+`));
    expect(result.stdout).toContain(`the result is orch/${sid}/_result:`);
    expect(result.stdout).toMatch(/^ {3}src\/text\.js +\| +\d+ \++$/m);
    expect(result.stdout).toMatch(/^ {3}4 files changed, \d+ insertions\(\+\), \d+ deletions?\(-\)$/m);
    const project = /^The project copy in (\S+) is untouched/m.exec(result.stdout)?.[1] as string;
    expect(result.stdout).toMatch(
      new RegExp(
        `^Apply it to the copy and run its tests: cd ${project} && (npx )?orchestrate apply ${sid} && npm test$`,
        'm',
      ),
    );
    expect(spawnSync('git', ['status', '--porcelain'], { cwd: project, encoding: 'utf8' }).stdout).toBe('');
    // The demo's own folder in the temp dir, and how to remove it.
    const root = join(project, '..');
    expect(result.stdout).toContain(`Everything of this demo is in ${root}; remove it when done: rm -rf ${root}`);
    rmSync(root, { recursive: true, force: true });
  }, 120_000);
});

describe('orchestrate serve --recorded-agents', () => {
  it('runs sessions started via the API with the recorded agents (no key), removes their files at exit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orch-recorded-'));
    try {
      const project = join(dir, 'project');
      cpSync(join(ROOT, 'examples', 'demo-project'), project, { recursive: true });
      for (const args of [
        ['init', '-q'],
        ['add', '-A'],
        ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'init'],
      ])
        spawnSync('git', args, { cwd: project });
      const workspace = join(dir, 'ws');
      const server = startCli(['serve', '--recorded-agents', '--speed', '0', '--port', '0', '--workspace', workspace], {
        NO_COLOR: '1',
      });
      const api = await poll(() => /^API: (\S+)/m.exec(server.stdout())?.[1], 20_000, 'the API URL');
      expect(server.stdout()).toContain('Agents: recorded (no model, no API key)');
      const headers = {
        authorization: `Bearer ${readFileSync(join(workspace, 'token'), 'utf8').trim()}`,
        'content-type': 'application/json',
      };
      const started = await fetch(`${api}/orchestrate`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ task: 'Add a slugify(text) function to src/text.js', targetDir: project }),
      });
      expect(started.status).toBe(201);
      const { sessionId } = (await started.json()) as { sessionId: string };
      const state = await poll(
        async () => {
          const view = (await (await fetch(`${api}/${sessionId}/state`, { headers })).json()) as {
            state: string;
            workers: Array<{ id: string; status: string }>;
          };
          return view.state === 'completed' ? view : null;
        },
        60_000,
        'the session to complete',
      );
      expect(state.workers.filter((w) => !w.id.startsWith('r')).map((w) => [w.id, w.status])).toEqual([
        ['architect', 'completed'],
        ['implementer', 'completed'],
        ['verifier', 'completed'],
      ]);
      const launchers = /their launchers are in (\S+) until exit/.exec(server.stdout())?.[1] as string;
      expect(existsSync(join(launchers, 'bin', 'claude'))).toBe(true);
      server.child.kill('SIGTERM');
      expect((await server.exited).exitCode).toBe(0);
      expect(existsSync(launchers)).toBe(false);
    } finally {
      await stopStartedClis();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
