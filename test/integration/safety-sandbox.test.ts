/**
 * The sandbox with real processes: fake agents inside real bubblewrap (skipped where bwrap cannot run), and
 * `orchestrate run` falling back to no sandbox when bwrap is not on PATH.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { probeBwrap } from '../../src/safety/bwrap-probe.js';
import { which } from '../../src/runtime/binaries.js';
import { SessionManager, UsageError } from '../../src/runtime/session-manager.js';
import { createSafetyFactory } from '../../src/safety/index.js';
import {
  cleanupAfterTest,
  eventsOfType,
  fakeAgentEnv,
  launches,
  makeSandbox,
  processesMentioning,
  readEvents,
  runCli,
  testSandbox,
} from '../support/orchestrate.js';
import {
  answer,
  FAKE_AGENT,
  makeSafetyHarness,
  ofType,
  openBlocker,
  waitFor,
  workerStatus,
  type SafetyHarness,
} from '../safety/support.js';

const probe = await probeBwrap();
let harness: SafetyHarness | null = null;
afterEach(async () => {
  await harness?.cleanup();
  harness = null;
});

describe.runIf(probe.available)('agents inside bubblewrap', () => {
  it('a write outside the target fails and is reported; inside succeeds; /tmp is private', async () => {
    const outsideDir = mkdtempSync('/var/tmp/orch-outside-');
    const outside = join(outsideDir, 'evil.txt');
    const privateTmp = join('/tmp', `orch-private-${process.pid}-${Date.now()}.txt`);
    try {
      harness = await makeSafetyHarness({
        claude: {
          writeFiles: [
            { path: 'src/inside.txt', content: 'inside' },
            { path: privateTmp, content: 'only mine' },
            { path: outside, content: 'escaped' },
          ],
          holdMs: 3000,
        },
      });
      const runtime = await harness.start({
        task: 't',
        sandbox: 'bwrap',
        workers: [{ id: 'w1', agent: 'claude', role: 'implementer' }],
      });
      expect(ofType(runtime, 'safety').find((e) => e.rule === 'sandbox')).toMatchObject({
        subject: 'bwrap',
        action: 'log',
      });

      const blocker = await waitFor(() => openBlocker(runtime, 'SAFETY_VIOLATION'), 'the SAFETY_VIOLATION blocker');
      expect(blocker.message).toContain(outside);
      expect(blocker.workerId).toBe('w1');
      await waitFor(() => workerStatus(runtime, 'w1') === 'paused', 'w1 paused');
      const violation = ofType(runtime, 'safety').find((e) => e.rule === 'write-outside-target');
      expect(violation).toMatchObject({ workerId: 'w1', subject: outside, action: 'pause' });
      // /tmp is the agent's own inside the sandbox: no violation for it.
      expect(ofType(runtime, 'safety').filter((e) => e.rule === 'write-outside-target')).toHaveLength(1);

      answer(runtime, blocker.id, 'retry');
      expect(await runtime.waitForEnd()).toBe('completed');
      // The agent itself saw its write fail (read-only filesystem) and said so.
      const failed = ofType(runtime, 'agent').find((e) => e.kind === 'tool_result' && !e.ok);
      expect(failed && 'output' in failed ? failed.output : '').toMatch(/EROFS|read-only/i);
      expect(existsSync(outside)).toBe(false);
      expect(existsSync(privateTmp)).toBe(false);
      // Inside is the worker's own checkout: the write is on its branch, and the user's checkout is untouched.
      expect(existsSync(join(harness.target, 'src', 'inside.txt'))).toBe(false);
      expect(
        execFileSync('git', ['show', `orch/${runtime.sessionId}/w1:src/inside.txt`], {
          cwd: harness.target,
          encoding: 'utf8',
        }),
      ).toBe('inside');
      // The fake's state dir was bound writable (like the demo's): its launch record is outside the sandbox.
      expect(harness.launches()).toHaveLength(1);
      // The agent's own config dir was created before launch (the home is read-only inside).
      expect(existsSync(join(harness.home, '.claude'))).toBe(true);
    } finally {
      rmSync(outsideDir, { recursive: true, force: true });
      rmSync(privateTmp, { force: true });
    }
  });

  it(
    'an agent writes its own checkout only: ' +
      "not the user's files, refs or objects; git it plants in its checkout runs confined",
    async () => {
      // The checkout is <root>/workspace/checkouts/<sid>/w1: four levels up is <root>, where the user's target is.
      const up = '../../../..';
      const evilConfig = [
        '[core]',
        '\trepositoryformatversion = 0',
        '\tbare = false',
        '\tfsmonitor = "sh -c \'touch ../../../../FSMONITOR_RAN\'"',
        '[filter "evil"]',
        `\tclean = "sh -c 'touch ${up}/FILTER_RAN; cat'"`,
        '',
      ].join('\n');
      harness = await makeSafetyHarness({
        claude: {
          writeFiles: [
            { path: 'mine.txt', content: 'mine' },
            { path: `${up}/target/user-file.txt`, content: 'into the user checkout' },
            { path: `${up}/target/.git/refs/heads/main`, content: '0000000000000000000000000000000000000000\n' },
            { path: `${up}/target/.git/objects/evil`, content: 'x' },
            { path: '.gitattributes', content: '* filter=evil\n' },
            { path: '.git/config', content: evilConfig },
          ],
        },
      });
      const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: harness.target, encoding: 'utf8' }).trim();
      const runtime = await harness.start({
        task: 't',
        sandbox: 'bwrap',
        workers: [{ id: 'w1', agent: 'claude', role: 'implementer' }],
        safety: { rules: { 'write-outside-target': 'log' } },
      });
      expect(await runtime.waitForEnd()).toBe('completed');
      const failed = ofType(runtime, 'agent').filter((e) => e.kind === 'tool_result' && !e.ok);
      // The user's object store is visible read-only (the checkout reads it); the rest of the user's checkout, under
      // /tmp here, is not there at all (the agent wrote into its private /tmp).
      expect(failed.map((f) => ('output' in f ? f.output : ''))).toEqual([
        expect.stringMatching(/EROFS: read-only file system, open '.*\/target\/\.git\/objects\/evil'/),
      ]);
      expect(existsSync(join(harness.target, 'user-file.txt'))).toBe(false);
      expect(existsSync(join(harness.target, '.git', 'objects', 'evil'))).toBe(false);
      expect(execFileSync('git', ['rev-parse', 'main'], { cwd: harness.target, encoding: 'utf8' }).trim()).toBe(head);
      // Its own work is on its branch; what its planted config would run, ran (if at all) inside the sandbox only.
      expect(
        execFileSync('git', ['show', `orch/${runtime.sessionId}/w1:mine.txt`], {
          cwd: harness.target,
          encoding: 'utf8',
        }),
      ).toBe('mine');
      expect(existsSync(join(harness.root, 'FILTER_RAN'))).toBe(false);
      expect(existsSync(join(harness.root, 'FSMONITOR_RAN'))).toBe(false);
    },
  );

  it('claude refusing to bypass permissions as root is relaunched with IS_SANDBOX=1 (true inside)', async () => {
    const asRoot = process.getuid?.() === 0;
    harness = await makeSafetyHarness({ claude: asRoot ? { enforceRoot: true } : { fail: 'root_bypass_refused' } });
    const runtime = await harness.start({
      task: 't',
      sandbox: 'bwrap',
      workers: [{ id: 'w1', agent: 'claude', role: 'implementer' }],
    });
    expect(await runtime.waitForEnd()).toBe('completed');
    const launches = harness.launches();
    // The first launch had no IS_SANDBOX=1 (this machine may set IS_SANDBOX to something else) and was refused.
    expect(launches).toHaveLength(2);
    expect(launches[0]?.env.IS_SANDBOX).not.toBe('1');
    expect(launches[1]?.env.IS_SANDBOX).toBe('1');
    expect(ofType(runtime, 'recovery')[0]).toMatchObject({ action: 'relaunch_with_env', change: 'set IS_SANDBOX=1' });
  });

  it('the agent binary is validated before launch: a shell is refused, nothing runs', async () => {
    harness = await makeSafetyHarness({}, { env: { ORCHESTRATOR_CLAUDE_BIN: '/bin/sh' } });
    const runtime = await harness.start({
      task: 't',
      sandbox: 'bwrap',
      workers: [{ id: 'w1', agent: 'claude', role: 'implementer' }],
    });
    const refused = await waitFor(() => ofType(runtime, 'safety').find((e) => e.action === 'refuse'), 'the refusal');
    expect(refused).toMatchObject({ rule: 'launch-validation', workerId: 'w1' });
    expect(refused.detail).toMatch(/\/bin\/sh is a shell or launcher/);
    // A refusal is not a crash: retrying cannot help, so it is an INVALID_ARGS blocker at once, no restart.
    const blocker = await waitFor(() => runtime.view().blockers.find((b) => b.open), 'a blocker');
    expect(blocker.kind).toBe('INVALID_ARGS');
    expect(ofType(runtime, 'recovery').map((r) => r.action)).toEqual(['escalate']);
    expect(blocker.message).toMatch(/refused to launch/);
    expect(harness.launches()).toEqual([]);
  });
});

const asRoot = process.getuid?.() === 0;

// The recovery row "claude refuses --dangerously-skip-permissions as root -> inside our sandbox relaunch with
// IS_SANDBOX=1", through the real CLI: `orchestrate run` decides the sandbox itself (no insideSandbox option).
// Only meaningful as root: the fake claude applies claude's real getuid() check (enforceRoot).
describe.runIf(probe.available && asRoot)('orchestrate run with "sandbox": "bwrap", as root', () => {
  afterEach(cleanupAfterTest);

  it('claude refusing to bypass permissions as root is relaunched with IS_SANDBOX=1 and the run exits 0', {
    timeout: 30_000,
  }, async () => {
    const sandbox = testSandbox({ git: true });
    const home = join(sandbox.dir, 'home');
    mkdirSync(home);
    const specFile = join(sandbox.dir, 'spec.json');
    writeFileSync(
      specFile,
      JSON.stringify({
        task: 'fix it',
        sandbox: 'bwrap',
        limits: { backoffBaseMs: 50, backoffMaxMs: 200 },
        workers: [{ id: 'w1', agent: 'claude', role: 'implementer' }],
      }),
    );
    // IS_SANDBOX blanked: the machine running the tests may set it, and then the first launch would not be refused.
    const env = {
      ...fakeAgentEnv(sandbox, { claude: { enforceRoot: true, delayMs: 2 } }),
      HOME: home,
      IS_SANDBOX: '',
      ORCHESTRATOR_TOKEN: '',
    };
    const result = await runCli(
      ['run', '-C', sandbox.target, '--spec', specFile, '--workspace', sandbox.workspace, '--no-server', '--json'],
      { env, timeoutMs: 25_000 },
    );
    expect(result.exitCode, result.stderr).toBe(0);

    const events = readEvents(sandbox.workspace);
    expect(eventsOfType(events, 'safety').find((e) => e.rule === 'sandbox')).toMatchObject({
      subject: 'bwrap',
      action: 'log',
    });
    expect(eventsOfType(events, 'recovery')).toEqual([
      expect.objectContaining({
        workerId: 'w1',
        signal: expect.objectContaining({
          kind: 'root_bypass_refused',
          message: expect.stringContaining('root/sudo privileges'),
        }),
        action: 'relaunch_with_env',
        attempt: 1,
        change: 'set IS_SANDBOX=1',
      }),
    ]);
    expect(eventsOfType(events, 'blocker')).toEqual([]);
    expect(
      eventsOfType(events, 'state')
        .filter((e) => e.machine === 'worker' && e.id === 'w1')
        .at(-1)?.to,
    ).toBe('completed');
    expect(
      eventsOfType(events, 'state')
        .filter((e) => e.machine === 'session')
        .at(-1)?.to,
    ).toBe('completed');

    // Both launches ran inside bubblewrap (the fake's state dir is bound writable, so it recorded them).
    const claude = launches(sandbox);
    expect(claude).toHaveLength(2);
    expect(claude[0]!.argv).toContain('--dangerously-skip-permissions');
    expect(claude[0]!.env.IS_SANDBOX).not.toBe('1');
    expect(claude[1]!.argv).toContain('--dangerously-skip-permissions');
    expect(claude[1]!.env.IS_SANDBOX).toBe('1');
    const records = JSON.parse(
      readFileSync(join(sandbox.workspace, 'sessions', events[0]!.sessionId, 'agents', 'w1.proc.json'), 'utf8'),
    ) as Array<{ argv: string[] }>;
    expect(records).toHaveLength(2);
    // bwrap itself, or the agent's network proxy running bwrap (with socat installed).
    for (const r of records)
      expect(
        basename(r.argv[0] ?? '') === 'bwrap' ||
          (r.argv[1]?.endsWith('net-proxy.js') && r.argv.includes('--unshare-net')),
      ).toBe(true);
    expect(processesMentioning(sandbox.dir)).toEqual([]);
  });
});

describe('resume', () => {
  it('decides the sandbox again from session.json (a new orchestrator re-attaches with its safety)', async () => {
    harness = await makeSafetyHarness({ claude: { holdMs: 1500, commands: ['rm -rf ~'] } });
    const first = await harness.start({
      task: 't',
      sandbox: 'auto',
      safety: { rules: { 'rm-rf-home': 'log' } },
      workers: [{ id: 'w1', agent: 'claude', role: 'implementer' }],
    });
    const sessionId = first.sessionId;
    await waitFor(() => ofType(first, 'safety').some((e) => e.rule === 'rm-rf-home'), 'the rule logged');
    harness.manager.detach(sessionId);
    const safetyFor = await createSafetyFactory({
      env: { ...process.env, HOME: harness.home },
      extraWritable: [harness.stateDir],
    });
    const again = new SessionManager({
      workspace: harness.workspace,
      env: { ...process.env, HOME: harness.home, ORCHESTRATOR_CLAUDE_BIN: FAKE_AGENT },
      safetyFor,
    });
    const runtime = again.resume(sessionId);
    try {
      expect(await runtime.waitForEnd()).toBe('completed');
      // The sandbox (and its network, where it is a sandbox) decided at create and again at resume.
      const decisions = ofType(runtime, 'safety').filter(
        (e) => e.rule === 'sandbox' && !e.subject.startsWith('network'),
      );
      expect(decisions).toHaveLength(2);
      expect(decisions[1]?.subject).toBe(decisions[0]?.subject);
      const networks = ofType(runtime, 'safety').filter((e) => e.rule === 'sandbox' && e.subject.startsWith('network'));
      expect(networks).toHaveLength(decisions[0]?.subject === 'auto -> bwrap' ? 2 : 0);
    } finally {
      again.detachAll();
    }
  });
});

describe('sessions the safety layer refuses', () => {
  it('a target or include dir that hands over too much is a usage error before anything starts', async () => {
    harness = await makeSafetyHarness({});
    await expect(
      harness.start({ task: 't', workers: [{ id: 'w1', agent: 'claude', role: 'implementer', includeDirs: ['/'] }] }),
    ).rejects.toThrow(UsageError);
    await expect(
      harness.start({
        task: 't',
        workers: [{ id: 'w1', agent: 'claude', role: 'implementer', includeDirs: [harness.home] }],
      }),
    ).rejects.toThrow(/home directory/);
    await expect(
      harness.start({ task: 't', workers: [{ id: 'w1', agent: 'claude', role: 'implementer', model: '--add-dir=/' }] }),
    ).rejects.toThrow(/looks like a flag/);
    expect(harness.manager.list()).toEqual([]);
  });
});

describe('sandbox auto without bubblewrap', () => {
  it('falls back to none: a warning line from the CLI and a safety `warn` event; the session still runs', async () => {
    const sandbox = makeSandbox({ git: true });
    const bin = join(sandbox.dir, 'bin');
    mkdirSync(bin);
    // A PATH with node (the fake agent's #!) and git, without bwrap.
    symlinkSync(process.execPath, join(bin, 'node'));
    const git = which('git');
    if (git) symlinkSync(git, join(bin, 'git'));
    const specFile = join(sandbox.dir, 'spec.json');
    writeFileSync(
      specFile,
      JSON.stringify({
        task: 'fix it',
        sandbox: 'auto',
        workers: [{ id: 'w1', agent: 'claude', role: 'implementer' }],
      }),
    );
    try {
      const result = await runCli(
        ['run', '-C', sandbox.target, '--spec', specFile, '--workspace', sandbox.workspace, '--no-server', '--json'],
        {
          env: { ...fakeAgentEnv(sandbox), PATH: bin },
        },
      );
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stderr).toMatch(
        /warning: no sandbox: bubblewrap \(bwrap\) is not installed.*"sandbox": "auto" fell back to none/,
      );
      const warn = eventsOfType(readEvents(sandbox.workspace), 'safety').find((e) => e.rule === 'sandbox');
      expect(warn).toMatchObject({ action: 'warn', subject: 'auto -> none' });
      // Asking for bwrap explicitly is a usage error (exit 1) that says how to fix it.
      writeFileSync(
        specFile,
        JSON.stringify({
          task: 'fix it',
          sandbox: 'bwrap',
          workers: [{ id: 'w1', agent: 'claude', role: 'implementer' }],
        }),
      );
      const strict = await runCli(
        ['run', '-C', sandbox.target, '--spec', specFile, '--workspace', sandbox.workspace, '--no-server'],
        { env: { ...fakeAgentEnv(sandbox), PATH: bin } },
      );
      expect(strict.exitCode).toBe(1);
      expect(strict.stderr).toMatch(/"sandbox": "bwrap".*apt-get install bubblewrap/);
    } finally {
      rmSync(sandbox.dir, { recursive: true, force: true });
    }
  });
});
