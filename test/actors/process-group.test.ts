/**
 * Launching an agent so it can outlive the orchestrator, and acting on its whole process group
 * (src/actors/process-group.ts), with real processes: tiny scripts in test/actors/fixtures and the fake agent.
 * Every group a test starts is SIGKILLed in afterEach, and nothing of it may be left in /proc.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  decodeExitCode,
  groupMembers,
  isSameProcessAlive,
  launchDetached,
  readExitFile,
  readProcStat,
  signalGroup,
  terminateGroup,
  type LaunchRequest,
} from '../../src/actors/process-group.js';
import { poll } from '../support/poll.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const REPORT = join(FIXTURES, 'report-and-exit.mjs');
const FOREVER = join(FIXTURES, 'forever.mjs');
const FAKE_AGENT = fileURLToPath(new URL('../fixtures/fake-agent.mjs', import.meta.url));
const CLAUDE_ARGS = [
  '--print',
  '--dangerously-skip-permissions',
  '--output-format',
  'stream-json',
  '--verbose',
  'work',
];

let dir: string;
const groups = new Set<number>();

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'orch-pgroup-'));
});

afterEach(async () => {
  for (const pgid of groups) signalGroup(pgid, 'SIGKILL');
  for (const pgid of groups) await poll(() => groupMembers(pgid).length === 0, 5000, `group ${pgid} gone`);
  groups.clear();
  rmSync(dir, { recursive: true, force: true });
});

function request(file: string, args: string[], env: Record<string, string> = {}): LaunchRequest {
  return {
    file,
    args,
    env,
    cwd: dir,
    stdoutPath: join(dir, 'out.jsonl'),
    stderrPath: join(dir, 'err.log'),
    exitPath: join(dir, 'agent.1.exit'),
  };
}

function launch(req: LaunchRequest) {
  const launched = launchDetached(req);
  expect(launched.pid).toBeGreaterThan(1);
  groups.add(launched.pid);
  return launched;
}

/** The fake agent (claude persona) with a scenario, in its own group under the wrapper. */
function launchFake(scenario: object) {
  const state = join(dir, 'state');
  return {
    ...launch(
      request(FAKE_AGENT, CLAUDE_ARGS, {
        FAKE_AGENT_CONFIG: JSON.stringify({ claude: scenario }),
        FAKE_AGENT_STATE_DIR: state,
      }),
    ),
    childPid: () => {
      const path = join(state, 'children.jsonl');
      const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
      // Only a complete line: the fake may be writing it right now.
      return text.includes('\n') ? (JSON.parse(text.slice(0, text.indexOf('\n'))) as { pid: number }).pid : null;
    },
  };
}

function sessionIdOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
}

describe('launchDetached: the /bin/sh wrapper', () => {
  it('argv as given (no shell parsing), stdin /dev/null, output appended to the files, exit code written', async () => {
    writeFileSync(join(dir, 'out.jsonl'), '{"earlier":"attempt"}\n');
    const tricky = ['$(touch pwned)', '; rm -rf /', '"quoted" \'single\'', '*', 'two\nlines', '', '--flag=a b'];
    const launched = launch(request(REPORT, ['3', ...tricky], { REPORT_ENV: 'from the request' }));
    expect(launched.argv.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(await launched.exited).toEqual({ exitCode: 3, signal: null });

    expect(readFileSync(join(dir, 'agent.1.exit'), 'utf8')).toBe('3\n');
    expect(readExitFile(join(dir, 'agent.1.exit'))).toEqual({ exitCode: 3, signal: null });
    const [earlier, line] = readFileSync(join(dir, 'out.jsonl'), 'utf8').split('\n');
    expect(earlier).toBe('{"earlier":"attempt"}');
    const report = JSON.parse(line as string) as {
      argv: string[];
      stdin: string;
      fd0: string;
      fd1: string;
      fd2: string;
      env: string;
    };
    expect(report.argv).toEqual(tricky);
    expect(existsSync(join(dir, 'pwned'))).toBe(false);
    expect(report.stdin).toBe('');
    expect(report.fd0).toBe('/dev/null');
    expect(report.fd1).toBe(join(dir, 'out.jsonl'));
    expect(report.fd2).toBe(join(dir, 'err.log'));
    expect(report.env).toBe('from the request');
    expect(readFileSync(join(dir, 'err.log'), 'utf8')).toBe('to stderr\n');
  });

  it('exit 0 is written as 0', async () => {
    const launched = launch(request(REPORT, ['0']));
    expect(await launched.exited).toEqual({ exitCode: 0, signal: null });
    expect(readExitFile(join(dir, 'agent.1.exit'))).toEqual({ exitCode: 0, signal: null });
  });

  it.each([
    ['SIGTERM', 143],
    ['SIGKILL', 137],
    ['SIGSEGV', 139],
  ])('an agent killed by %s is written as 128+n and read back as that signal', async (signal, code) => {
    const launched = launch(request(REPORT, [signal]));
    // The wrapper survives its agent and exits with the agent's status.
    expect((await launched.exited).exitCode).toBe(code);
    expect(readFileSync(join(dir, 'agent.1.exit'), 'utf8')).toBe(`${code}\n`);
    expect(readExitFile(join(dir, 'agent.1.exit'))).toEqual({ exitCode: null, signal });
  });

  it('makes the wrapper the leader of a new session and process group holding the agent', async () => {
    const launched = launch(request(FOREVER, []));
    const agentPid = await poll(
      () => {
        const line = existsSync(join(dir, 'out.jsonl'))
          ? readFileSync(join(dir, 'out.jsonl'), 'utf8').split('\n')[0]
          : '';
        return line ? (JSON.parse(line) as { pid: number }).pid : null;
      },
      5000,
      'the agent printed its pid',
    );
    const wrapper = readProcStat(launched.pid);
    expect(wrapper?.pgrp).toBe(launched.pid);
    expect(sessionIdOf(launched.pid)).toBe(launched.pid);
    expect(readProcStat(agentPid)?.pgrp).toBe(launched.pid);
    expect(readProcStat(agentPid)?.ppid).toBe(launched.pid);
    expect(
      groupMembers(launched.pid)
        .map((m) => m.pid)
        .sort(),
    ).toEqual([launched.pid, agentPid].sort());
    expect(readExitFile(join(dir, 'agent.1.exit'))).toBeNull();
  });

  it('a binary that does not exist ends with 127 in the exit file (the shell could not run it)', async () => {
    const launched = launch(request(join(dir, 'no-such-agent'), []));
    expect((await launched.exited).exitCode).toBe(127);
    expect(readExitFile(join(dir, 'agent.1.exit'))).toEqual({ exitCode: 127, signal: null });
    expect(readFileSync(join(dir, 'err.log'), 'utf8')).toMatch(/not found|No such file/);
  });
});

describe('launchDetached: the gate', () => {
  it('the agent starts only after the launch is recorded: nothing runs while the record is being written', async () => {
    // /bin/echo writes at once when let run; the record takes 500 ms, and the output file stays empty meanwhile.
    const out = join(dir, 'out.jsonl');
    const outputNow = () => (existsSync(out) ? readFileSync(out, 'utf8') : '');
    let outputWhileRecording = '';
    const launched = launchDetached(request('/bin/echo', ['ran']), (pid) => {
      groups.add(pid);
      for (let i = 0; i < 50 && outputWhileRecording === ''; i++) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        outputWhileRecording = outputNow();
      }
    });
    expect(await launched.exited).toEqual({ exitCode: 0, signal: null });
    expect(outputWhileRecording).toBe('');
    expect(outputNow()).toBe('ran\n');
  });

  it('a record that throws closes the gate: the error goes on, the agent never runs, no exit file', async () => {
    let pid = 0;
    expect(() =>
      launchDetached(request(REPORT, ['0']), (p) => {
        pid = p;
        groups.add(p);
        throw new Error('disk full');
      }),
    ).toThrow('disk full');
    await poll(() => !isSameProcessAlive(pid, readProcStat(pid)?.startTime ?? ''), 10_000, 'the wrapper gone');
    expect(existsSync(join(dir, 'out.jsonl')) ? readFileSync(join(dir, 'out.jsonl'), 'utf8') : '').toBe('');
    expect(existsSync(join(dir, 'agent.1.exit'))).toBe(false);
  });

  it('an orchestrator killed -9 between the spawn and its launch record: the agent never runs, none left', async () => {
    const pidFile = join(dir, 'wrapper.pid');
    const orchestrator = spawn(
      process.execPath,
      ['--import', 'tsx', join(FIXTURES, 'launch-then-hang.ts'), JSON.stringify(request(REPORT, ['0'])), pidFile],
      { stdio: 'ignore' },
    );
    const exited = new Promise((resolve) => orchestrator.on('exit', resolve));
    const wrapper = await poll(
      () => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) || null : null),
      20_000,
      'the wrapper spawned and its pid recorded',
    );
    groups.add(wrapper);
    orchestrator.kill('SIGKILL');
    await exited;
    await poll(() => groupMembers(wrapper).length === 0, 10_000, 'the gated wrapper gone with its orchestrator');
    expect(existsSync(join(dir, 'out.jsonl')) ? readFileSync(join(dir, 'out.jsonl'), 'utf8') : '').toBe('');
    expect(existsSync(join(dir, 'agent.1.exit'))).toBe(false);
  });
});

describe('exit status', () => {
  it('decodeExitCode: 129..143 are signals 1..15; other codes stay codes (gemini exits with HTTP status & 255)', () => {
    expect(decodeExitCode(0)).toEqual({ exitCode: 0, signal: null });
    expect(decodeExitCode(1)).toEqual({ exitCode: 1, signal: null });
    expect(decodeExitCode(128)).toEqual({ exitCode: 128, signal: null });
    expect(decodeExitCode(129)).toEqual({ exitCode: null, signal: 'SIGHUP' });
    expect(decodeExitCode(130)).toEqual({ exitCode: null, signal: 'SIGINT' });
    expect(decodeExitCode(137)).toEqual({ exitCode: null, signal: 'SIGKILL' });
    expect(decodeExitCode(139)).toEqual({ exitCode: null, signal: 'SIGSEGV' });
    expect(decodeExitCode(143)).toEqual({ exitCode: null, signal: 'SIGTERM' });
    // gemini: 400 & 255 = 144, 429 & 255 = 173, 500 & 255 = 244; its own codes 41, 42, 53, 55.
    for (const code of [144, 173, 244, 41, 42, 53, 55, 255])
      expect(decodeExitCode(code)).toEqual({ exitCode: code, signal: null });
  });

  it('readExitFile: null while missing, half-written (no newline) or garbage', () => {
    const path = join(dir, 'x.exit');
    expect(readExitFile(path)).toBeNull();
    writeFileSync(path, '1');
    expect(readExitFile(path)).toBeNull();
    writeFileSync(path, 'abc\n');
    expect(readExitFile(path)).toBeNull();
    writeFileSync(path, '173\n');
    expect(readExitFile(path)).toEqual({ exitCode: 173, signal: null });
  });
});

describe('process identity', () => {
  it('isSameProcessAlive needs the pid AND its start time: a reused pid (other start time) is not our agent', () => {
    const self = readProcStat(process.pid);
    expect(self?.startTime).toMatch(/^\d+$/);
    expect(isSameProcessAlive(process.pid, self?.startTime ?? '')).toBe(true);
    expect(isSameProcessAlive(process.pid, String(Number(self?.startTime) + 1))).toBe(false);
    expect(isSameProcessAlive(process.pid, '')).toBe(false);
    expect(readProcStat(0x3fffffff)).toBeNull();
    expect(isSameProcessAlive(0x3fffffff, self?.startTime ?? '')).toBe(false);
  });

  it('a process that exited is not alive, nor is a zombie with the right start time', async () => {
    const child = spawn('/bin/sh', ['-c', 'true & exec sleep 30'], { stdio: 'ignore', detached: true });
    groups.add(child.pid as number);
    // `true` runs in the background and ends; its parent (now `sleep`) never reaps it: a zombie.
    const zombie = await poll(
      () => {
        const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8')
          .trim()
          .split(' ')
          .filter(Boolean)
          .map(Number);
        return children.map((pid) => readProcStat(pid)).find((s) => s?.state === 'Z') ?? null;
      },
      5000,
      'a zombie child',
    );
    expect(isSameProcessAlive(zombie.pid, zombie.startTime)).toBe(false);
    expect(groupMembers(child.pid as number).map((m) => m.pid)).not.toContain(zombie.pid);

    const exited = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    const startTime = await poll(() => readProcStat(exited.pid as number)?.startTime ?? null, 5000, 'child started');
    await new Promise((resolve) => exited.on('exit', resolve));
    expect(isSameProcessAlive(exited.pid as number, startTime)).toBe(false);
  });

  it('readProcStat reads a comm with spaces and parentheses', async () => {
    const child = spawn(process.execPath, ['-e', "process.title = 'a) (b c'; setInterval(() => {}, 1 << 30)"], {
      stdio: 'ignore',
      detached: true,
    });
    groups.add(child.pid as number);
    const stat = await poll(
      () => {
        const s = readProcStat(child.pid as number);
        return s?.comm === 'a) (b c' ? s : null;
      },
      5000,
      'the renamed process',
    );
    expect(stat.pgrp).toBe(child.pid);
    expect(stat.ppid).toBe(process.pid);
    expect(stat.state).toMatch(/[SR]/);
  });
});

describe('signals to the whole group', () => {
  it('signalGroup refuses pgid 0/1/negative/non-integer and reports a group that is gone', () => {
    for (const pgid of [0, 1, -5, 1.5, Number.NaN]) expect(signalGroup(pgid, 'SIGTERM')).toBe(false);
    expect(signalGroup(0x3fffff00, 'SIGTERM')).toBe(false);
  });

  it('pause: SIGSTOP puts every member (wrapper, agent, its child) in state T; SIGCONT lets them run', async () => {
    const fake = launchFake({ holdMs: 60_000, spawnChild: true });
    const grandchild = await poll(() => fake.childPid(), 10_000, 'the fake agent spawned its child');
    await poll(() => groupMembers(fake.pid).length === 3, 5000, 'three members: wrapper, agent, child');
    expect(groupMembers(fake.pid).map((m) => m.pid)).toContain(grandchild);

    expect(signalGroup(fake.pid, 'SIGSTOP')).toBe(true);
    await poll(() => groupMembers(fake.pid).every((m) => m.state === 'T'), 5000, 'every member stopped (T)');
    expect(groupMembers(fake.pid)).toHaveLength(3);

    expect(signalGroup(fake.pid, 'SIGCONT')).toBe(true);
    await poll(() => groupMembers(fake.pid).every((m) => m.state !== 'T'), 5000, 'no member stopped');
    expect(groupMembers(fake.pid)).toHaveLength(3);
  });

  it('terminateGroup: SIGTERM ends the agent and its grandchild; nothing of the group is left in /proc', async () => {
    const fake = launchFake({ holdMs: 60_000, spawnChild: true });
    const grandchild = await poll(() => fake.childPid(), 10_000, 'the fake agent spawned its child');
    const grandchildStart = readProcStat(grandchild)?.startTime as string;
    const started = Date.now();
    expect(await terminateGroup(fake.pid, 5000)).toBe('terminated');
    expect(Date.now() - started).toBeLessThan(4000);
    expect(groupMembers(fake.pid)).toEqual([]);
    expect(isSameProcessAlive(grandchild, grandchildStart)).toBe(false);
    // The wrapper got the group's SIGTERM too: a terminated agent leaves no exit status (the actor reports it).
    expect(readExitFile(join(dir, 'agent.1.exit'))).toBeNull();
  });

  it('terminateGroup: SIGKILL after the grace for an agent ignoring SIGTERM; its child died of SIGTERM', async () => {
    const fake = launchFake({ holdMs: 60_000, spawnChild: true, ignoreSigterm: true });
    const grandchild = await poll(() => fake.childPid(), 10_000, 'the fake agent spawned its child');
    const grandchildStart = readProcStat(grandchild)?.startTime as string;
    const agentPid = groupMembers(fake.pid).find((m) => m.pid !== fake.pid && m.pid !== grandchild)?.pid as number;
    const agentStart = readProcStat(agentPid)?.startTime as string;
    const started = Date.now();
    const terminating = terminateGroup(fake.pid, 800);
    // During the grace period the agent still lives, but the grandchild already got the group's SIGTERM.
    await poll(() => !isSameProcessAlive(grandchild, grandchildStart), 700, 'the grandchild ended by SIGTERM');
    expect(isSameProcessAlive(agentPid, agentStart)).toBe(true);
    expect(await terminating).toBe('killed');
    expect(Date.now() - started).toBeGreaterThanOrEqual(800);
    expect(groupMembers(fake.pid)).toEqual([]);
    expect(isSameProcessAlive(agentPid, agentStart)).toBe(false);
    // The wrapper died with its group: no exit status for a killed agent.
    expect(readExitFile(join(dir, 'agent.1.exit'))).toBeNull();
  });

  it('terminateGroup continues a stopped (paused) group so SIGTERM can act', async () => {
    const launched = launch(request(FOREVER, []));
    // Stop it once the agent really runs (printed its pid): a group stopped between the wrapper's vfork and the
    // agent's exec holds the wrapper in D (uninterruptible) instead of T.
    await poll(
      () => existsSync(join(dir, 'out.jsonl')) && readFileSync(join(dir, 'out.jsonl'), 'utf8').includes('\n'),
      5000,
      'the agent runs',
    );
    signalGroup(launched.pid, 'SIGSTOP');
    await poll(
      () => groupMembers(launched.pid).length === 2 && groupMembers(launched.pid).every((m) => m.state === 'T'),
      5000,
      'stopped',
    );
    expect(await terminateGroup(launched.pid, 5000)).toBe('terminated');
    expect(groupMembers(launched.pid)).toEqual([]);
  });

  it('terminateGroup of a group that no longer exists says gone', async () => {
    const launched = launch(request(REPORT, ['0']));
    await launched.exited;
    await poll(() => groupMembers(launched.pid).length === 0, 5000, 'group gone');
    expect(await terminateGroup(launched.pid, 100)).toBe('gone');
  });
});
