import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { groupMembers, launchDetached, readExitFile, readProcStat } from '../../src/actors/process-group.js';
import { poll } from '../support/poll.js';
import { probeBwrap } from '../../src/safety/bwrap-probe.js';
import { bwrapArgs, bwrapWrap, decideSandbox, resolveSandbox } from '../../src/safety/sandbox.js';
import { UsageError } from '../../src/runtime/session-manager.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function temp(prefix: string, base = tmpdir()): string {
  const d = mkdtempSync(join(base, prefix));
  dirs.push(d);
  return d;
}

describe('bwrap arguments', () => {
  it('read-only root, private /tmp, then writable binds and the hidden workspace, parents first', () => {
    const root = temp('sbx-args-');
    const target = join(root, 'target');
    const workspace = join(target, '.orchestrator');
    const config = join(root, 'home', '.claude');
    for (const d of [target, workspace, config]) mkdirSync(d, { recursive: true });
    const args = bwrapArgs({
      bwrapPath: '/usr/bin/bwrap',
      writable: [config, target, join(root, 'missing')],
      hidden: [workspace],
      cwd: target,
    });
    expect(args.slice(0, 9)).toEqual(['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp']);
    const at = (flag: string, path: string) => args.findIndex((a, i) => a === flag && args[i + 1] === path);
    expect(at('--bind', target)).toBeGreaterThan(at('--tmpfs', '/tmp'));
    // The workspace lies inside the target: hidden after the target's bind, or the bind would uncover it.
    expect(at('--tmpfs', workspace)).toBeGreaterThan(at('--bind', target));
    expect(args).toContain(config);
    expect(args).not.toContain(join(root, 'missing'));
    expect(args.slice(-2)).toEqual(['--chdir', target]);
    // Its own PID namespace (pkill inside sees only its processes), but never apart from our process group.
    expect(args).toContain('--unshare-pid');
    for (const flag of ['--die-with-parent', '--new-session', '--as-pid-1', '--unshare-net', '--unshare-all'])
      expect(args).not.toContain(flag);
    expect(args.join(' ')).toContain('--unsetenv ORCHESTRATOR_TOKEN');
  });

  it('a readable path that is a symlink is bound at its target; the link is recreated only where /tmp hides it', () => {
    const root = temp('sbx-link-');
    const pkg = join(root, 'pkg');
    const modules = join(root, 'real-modules');
    for (const d of [pkg, modules]) mkdirSync(d, { recursive: true });
    symlinkSync(modules, join(pkg, 'node_modules'));
    symlinkSync(pkg, join(root, 'pkg-link'));
    const args = bwrapArgs({
      bwrapPath: '/usr/bin/bwrap',
      writable: [],
      hidden: [],
      readable: [pkg, join(pkg, 'node_modules'), join(root, 'pkg-link')],
      cwd: pkg,
    });
    const at = (flag: string, path: string) => args.findIndex((a, i) => a === flag && args[i + 1] === path);
    expect(at('--ro-bind', pkg)).toBeGreaterThan(-1);
    expect(at('--ro-bind', modules)).toBeGreaterThan(-1);
    // A bind onto a symlink would mount on wherever it points: never.
    expect(at('--ro-bind', join(pkg, 'node_modules'))).toBe(-1);
    expect(at('--ro-bind', join(root, 'pkg-link'))).toBe(-1);
    // The node_modules link is inside the bound package already; the top-level link under /tmp is not.
    expect(at('--symlink', modules)).toBe(-1);
    expect(at('--symlink', pkg)).toBeGreaterThan(at('--ro-bind', pkg));
    expect(args[at('--symlink', pkg) + 2]).toBe(join(root, 'pkg-link'));
  });

  it('the agent runs inside the unchanged wrapper: bwrap is the file, the agent after --', () => {
    const target = temp('sbx-wrap-');
    const wrapped = bwrapWrap(
      {
        file: '/usr/bin/claude',
        args: ['--print', 'hi'],
        env: { A: '1' },
        cwd: target,
        stdoutPath: '/s/o',
        stderrPath: '/s/e',
        exitPath: '/s/x',
      },
      { bwrapPath: '/usr/bin/bwrap', writable: [target], hidden: [] },
    );
    expect(wrapped.file).toBe('/usr/bin/bwrap');
    expect(wrapped.args.slice(wrapped.args.indexOf('--'))).toEqual(['--', '/usr/bin/claude', '--print', 'hi']);
    expect(wrapped).toMatchObject({
      env: { A: '1' },
      cwd: target,
      stdoutPath: '/s/o',
      stderrPath: '/s/e',
      exitPath: '/s/x',
    });
  });
});

describe('the sandbox decision', () => {
  it('auto falls back to none with the reason when bwrap is not on PATH; bwrap then is a usage error', async () => {
    const emptyBin = temp('sbx-nobin-');
    const auto = await resolveSandbox('auto', { pathVar: emptyBin });
    expect(auto).toMatchObject({ mode: 'none', fellBack: true });
    expect(auto.reason).toMatch(/not installed/);
    await expect(resolveSandbox('bwrap', { pathVar: emptyBin })).rejects.toThrow(UsageError);
    await expect(resolveSandbox('bwrap', { pathVar: emptyBin })).rejects.toThrow(/apt-get install bubblewrap/);
    expect(await resolveSandbox('none', { pathVar: emptyBin })).toMatchObject({ mode: 'none', fellBack: false });
  });

  it('a bwrap that is installed but cannot create a namespace also falls back', () => {
    const decision = decideSandbox('auto', {
      available: false,
      path: '/usr/bin/bwrap',
      version: '0.8.0',
      reason:
        'bwrap is installed but cannot create a sandbox here ' +
        '(Operation not permitted); user namespaces may be disabled',
    });
    expect(decision).toMatchObject({ mode: 'none', fellBack: true });
    expect(decision.reason).toMatch(/user namespaces/);
  });
});

const probe = await probeBwrap();
describe.runIf(probe.available)('inside real bubblewrap', () => {
  it('writes land in the target only, /tmp is private, the workspace hidden, group and exit code ours', async () => {
    const root = temp('sbx-real-', '/var/tmp');
    const target = join(root, 'target');
    const workspace = join(target, '.orchestrator');
    const session = join(workspace, 'sessions', 's1');
    mkdirSync(session, { recursive: true });
    writeFileSync(join(workspace, 'token'), 'secret\n');
    const outside = join(root, 'outside.txt');
    const privateTmp = join('/tmp', `sbx-private-${process.pid}.txt`);
    const script = [
      'echo inside > inside.txt',
      `echo x > ${outside} 2>/dev/null || echo outside-refused`,
      `echo y > ${privateTmp} && echo tmp-ok`,
      `cat ${join(workspace, 'token')} 2>/dev/null || echo token-hidden`,
      'echo "token=${ORCHESTRATOR_TOKEN-unset}"',
      // Its own PID namespace: it is not pid 1 (bwrap's reaper is), and its process group lies outside.
      'echo "pid=$$"',
      'cat fifo >/dev/null',
      'exit 7',
    ].join('\n');
    const request = bwrapWrap(
      {
        file: '/bin/sh',
        args: ['-c', script],
        env: { ORCHESTRATOR_TOKEN: 'leak' },
        cwd: target,
        stdoutPath: join(session, 'out'),
        stderrPath: join(session, 'err'),
        exitPath: join(session, 'exit'),
      },
      { bwrapPath: probe.path as string, writable: [target], hidden: [workspace] },
    );
    execFileSync('mkfifo', [join(target, 'fifo')]);
    const launched = launchDetached(request);
    // Seen from outside, the agent's processes keep the wrapper's process group (pause and stop signal the
    // group): the `cat` it waits in is a member, with its host pid.
    const cat = await poll(
      () => groupMembers(launched.pid).find((m) => m.comm === 'cat'),
      10_000,
      'the sandboxed cat in the wrapper group',
    );
    expect(cat.pgrp).toBe(launched.pid);
    writeFileSync(join(target, 'fifo'), 'go\n');
    const status = await launched.exited;
    expect(status.exitCode).toBe(7);
    expect(readExitFile(join(session, 'exit'))).toEqual({ exitCode: 7, signal: null });
    const out = readFileSync(join(session, 'out'), 'utf8').trim().split('\n');
    expect(out.slice(0, 4)).toEqual(['outside-refused', 'tmp-ok', 'token-hidden', 'token=unset']);
    expect(out[4]).toBe('pid=2');
    expect(readFileSync(join(target, 'inside.txt'), 'utf8')).toBe('inside\n');
    expect(existsSync(outside)).toBe(false);
    expect(existsSync(privateTmp)).toBe(false);
    expect(readProcStat(launched.pid)).toBeNull();
  });
  it('a package under /tmp whose node_modules links elsewhere under /tmp is readable through the link', async () => {
    const root = temp('sbx-real-link-');
    const pkg = join(root, 'pkg');
    const modules = join(root, 'modules');
    const session = temp('sbx-real-link-out-', '/var/tmp');
    mkdirSync(join(modules, 'dep'), { recursive: true });
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(modules, 'dep', 'index.txt'), 'dep\n');
    symlinkSync(modules, join(pkg, 'node_modules'));
    const request = bwrapWrap(
      {
        file: '/bin/cat',
        args: [join(pkg, 'node_modules', 'dep', 'index.txt')],
        env: {},
        cwd: session,
        stdoutPath: join(session, 'out'),
        stderrPath: join(session, 'err'),
        exitPath: join(session, 'exit'),
      },
      { bwrapPath: probe.path as string, writable: [session], hidden: [], readable: [pkg, join(pkg, 'node_modules')] },
    );
    const status = await launchDetached(request).exited;
    expect(status.exitCode, readFileSync(join(session, 'err'), 'utf8')).toBe(0);
    expect(readFileSync(join(session, 'out'), 'utf8')).toBe('dep\n');
  });

  it(
    'an agent installed under /tmp starts: its package, the platform package beside it ' +
      'and the interpreter its #! names (a node under /tmp) are visible',
    async () => {
      // npm's layout: <prefix>/bin/agent -> ../lib/node_modules/@fake/agent/bin/agent.js, which loads its
      // platform package from a sibling in the same node_modules; node itself lives under /tmp too.
      const prefix = temp('sbx-agent-tmp-');
      const modules = join(prefix, 'lib', 'node_modules');
      const pkg = join(modules, '@fake', 'agent');
      const platform = join(modules, '@fake', 'agent-linux-x64');
      for (const d of [join(pkg, 'bin'), platform, join(prefix, 'bin'), join(prefix, 'node', 'bin')])
        mkdirSync(d, { recursive: true });
      writeFileSync(join(pkg, 'package.json'), '{"name":"@fake/agent","bin":{"agent":"bin/agent.js"}}\n');
      writeFileSync(join(platform, 'index.js'), "module.exports = 'platform ok';\n");
      writeFileSync(
        join(pkg, 'bin', 'agent.js'),
        `#!/usr/bin/env node\nconsole.log(require(${JSON.stringify(join(platform, 'index.js'))}));\n`,
        { mode: 0o755 },
      );
      symlinkSync(join(pkg, 'bin', 'agent.js'), join(prefix, 'bin', 'agent'));
      symlinkSync(process.execPath, join(prefix, 'node', 'bin', 'node'));
      const session = temp('sbx-agent-tmp-out-', '/var/tmp');
      const request = bwrapWrap(
        {
          file: join(prefix, 'bin', 'agent'),
          args: [],
          env: { PATH: `${join(prefix, 'node', 'bin')}:/usr/bin:/bin` },
          cwd: session,
          stdoutPath: join(session, 'out'),
          stderrPath: join(session, 'err'),
          exitPath: join(session, 'exit'),
        },
        { bwrapPath: probe.path as string, writable: [session], hidden: [] },
      );
      const status = await launchDetached({ ...request, env: { ...request.env } }).exited;
      expect(status.exitCode, readFileSync(join(session, 'err'), 'utf8')).toBe(0);
      expect(readFileSync(join(session, 'out'), 'utf8')).toBe('platform ok\n');
    },
  );
});
