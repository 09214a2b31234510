/**
 * What a new user runs into with the `orchestrate` command line (dist/cli.js): output piped into a reader that
 * goes away (`| head`), paths that are missing or the wrong kind, a worker that does not exist, read-only
 * commands that must not create anything, `logs --follow` of a session that ended or ends, readable lines for
 * every state event, one usage format in status and summary, and doctor, help and completion details.
 * Every user error is one `error: ...` line and exit code 1, never a stack trace.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { NewEvent, OrchestratorEvent } from '../../src/domain/events.js';
import { defaultSpec } from '../../src/domain/spec.js';
import { SessionStore } from '../../src/store/session-store.js';
import {
  cleanupSandbox,
  CLI,
  fakeAgentEnv,
  makeSandbox,
  poll,
  readEvents,
  ROOT,
  runCli,
  type CliResult,
  type Sandbox,
  sessionIds,
  startCli,
  stopStartedClis,
  TWO_WORKERS,
  waitForSession,
} from '../support/orchestrate.js';

const sandboxes: Sandbox[] = [];
function sandbox(): Sandbox {
  const made = makeSandbox({ git: true });
  sandboxes.push(made);
  return made;
}

afterEach(async () => {
  await stopStartedClis();
});

afterAll(async () => {
  for (const made of sandboxes.splice(0)) await cleanupSandbox(made);
});

/** A user error: exit 1, one `error: ...` line naming `mention`, no stack trace, nothing on stdout. */
function expectUsageError(result: CliResult, mention: string | RegExp): void {
  expect(result.exitCode, result.stderr).toBe(1);
  expect(result.stderr).toMatch(/^error: .+\n$/);
  expect(result.stderr).toMatch(
    typeof mention === 'string' ? new RegExp(mention.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : mention,
  );
  expect(result.stderr).not.toMatch(/^\s+at /m);
  expect(result.stdout).toBe('');
}

/**
 * `orchestrate <args> | head`: the reader goes away after the first chunk of output (`afterFirstChunk`), or
 * before the CLI wrote anything. With an output larger than the pipe buffer (64 KiB) the CLI is then still
 * writing, so it meets the closed pipe for certain.
 */
function intoClosedPipe(
  args: string[],
  options: { afterFirstChunk: boolean; env?: Record<string, string> },
): Promise<CliResult & { read: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let read = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    if (options.afterFirstChunk) {
      child.stdout.once('data', (d) => {
        read += d;
        child.stdout.destroy();
      });
    } else {
      child.stdout.destroy();
    }
    child.on('close', (exitCode, signal) => resolve({ exitCode, signal, stdout: '', stderr, read }));
  });
}

/** Every file and folder under `dir` with its size and modification time: what "nothing was written" compares. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      const stat = statSync(path);
      out[path] = `${stat.isDirectory() ? 'dir' : stat.size} ${stat.mtimeMs}`;
      if (stat.isDirectory()) walk(path);
    }
  };
  walk(dir);
  return out;
}

function agentEvent(workerId: string, text: string): NewEvent {
  return {
    type: 'agent',
    source: { kind: 'worker', id: workerId },
    agent: 'claude',
    workerId,
    kind: 'message',
    role: 'assistant',
    text,
  };
}

function sessionState(sessionId: string, from: string | null, to: string, cause: string): NewEvent {
  return {
    type: 'state',
    source: { kind: 'session', id: sessionId },
    machine: 'session',
    id: sessionId,
    from,
    to,
    cause,
  };
}

// --- a finished session, run through the real pipeline with fake agents ----------------------------------

let done: Sandbox;
let env: Record<string, string>;
let sid: string;
let runOutput: string;
/** A session folder written directly with the store: thousands of events, more than a pipe buffer holds. */
let big: { workspace: string; sid: string };

beforeAll(async () => {
  done = sandbox();
  const specPath = join(done.dir, 'spec.json');
  writeFileSync(specPath, JSON.stringify(TWO_WORKERS));
  env = fakeAgentEnv(done, {
    claude: { lines: 3, usage: { inputTokens: 2000, outputTokens: 482, costUsd: 0.3184 } },
    codex: { lines: 3, usage: { inputTokens: 30000, outputTokens: 2840 }, stderr: 'codex noise on stderr' },
  });
  const run = await runCli(
    ['run', '--spec', specPath, '-C', done.target, '--workspace', done.workspace, '--no-server'],
    { env },
  );
  expect(run.exitCode, run.stderr).toBe(0);
  runOutput = run.stdout;
  sid = sessionIds(done.workspace)[0] as string;

  const bigWorkspace = join(done.dir, 'big-workspace');
  const store = SessionStore.create(bigWorkspace, defaultSpec('a long session'), done.target, null);
  const events: NewEvent[] = [sessionState(store.sessionId, null, 'created', 'create')];
  for (let i = 0; i < 3000; i++) events.push(agentEvent('implementer', `line ${i}: ${'x'.repeat(120)}`));
  events.push(sessionState(store.sessionId, 'created', 'completed', 'test'));
  store.append(events);
  store.close();
  big = { workspace: bigWorkspace, sid: store.sessionId };
}, 90_000);

// --- A. a reader that goes away ------------------------------------------------------------------------

describe('output into a pipe whose reader goes away (| head)', { timeout: 60_000 }, () => {
  const TRANSCRIPT = join(
    ROOT,
    'test',
    'fixtures',
    'transcripts',
    'gemini',
    'captured',
    'mock-success-stream-json.jsonl',
  );

  it.each([
    ['logs', () => ['logs', big.sid, '--workspace', big.workspace]],
    ['logs --json', () => ['logs', big.sid, '--json', '--workspace', big.workspace]],
    ['logs --raw', () => ['logs', sid, 'impl', '--raw', '--workspace', done.workspace]],
  ])('%s ends quietly with exit 0', async (_name, args) => {
    for (const afterFirstChunk of [true, false]) {
      const result = await intoClosedPipe(args(), { afterFirstChunk });
      expect(result.stderr, `afterFirstChunk: ${afterFirstChunk}`).toBe('');
      expect(result.exitCode).toBe(0);
    }
  });

  it('parse --agent gemini ends quietly with exit 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orch-epipe-'));
    try {
      // About 700 KB of output: the parser is mid-way when the reader goes.
      const file = join(dir, 'many.jsonl');
      const text = readFileSync(TRANSCRIPT, 'utf8');
      writeFileSync(file, text.repeat(400));
      for (const afterFirstChunk of [true, false]) {
        const result = await intoClosedPipe(['parse', '--agent', 'gemini', file], { afterFirstChunk });
        expect(result.stderr, `afterFirstChunk: ${afterFirstChunk}`).toBe('');
        expect(result.exitCode).toBe(0);
        if (afterFirstChunk) expect(result.read).toMatch(/^\{"line":1,/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('logs --follow of a live session ends quietly too', async () => {
    const { workspace, store } = liveSession();
    try {
      const result = await intoClosedPipe(['logs', store.sessionId, '--follow', '--workspace', workspace], {
        afterFirstChunk: false,
      });
      expect(result.stderr).toBe('');
      expect(result.exitCode).toBe(0);
    } finally {
      store.releaseLock();
      store.close();
    }
  });
});

// --- B. paths that are missing or the wrong kind ---------------------------------------------------------

describe('file errors are usage errors naming the path', { timeout: 60_000 }, () => {
  it('parse: a transcript that does not exist, a folder as transcript, a --stderr that does not exist', async () => {
    const missing = join(done.dir, 'does-not-exist.jsonl');
    expectUsageError(await runCli(['parse', '--agent', 'claude', missing]), `${missing}: no such file`);
    expectUsageError(await runCli(['parse', '--agent', 'claude', done.dir]), `${done.dir}: is a folder`);
    const stderrMissing = join(done.dir, 'missing.stderr');
    expectUsageError(
      await runCli(['parse', '--agent', 'claude', '--exit-code', '1', '--stderr', stderrMissing, '/dev/null']),
      `--stderr ${stderrMissing}: no such file`,
    );
  });

  it('status, logs and doctor refuse a --workspace that is a file; run says the file is in the way', async () => {
    const file = join(done.dir, 'a-file');
    writeFileSync(file, 'not a folder\n');
    expectUsageError(await runCli(['status', '--workspace', file]), `workspace ${file}: not a folder`);
    expectUsageError(
      await runCli(['status', '--workspace', join(file, 'below')]),
      `${join(file, 'below')}: not a folder`,
    );
    expectUsageError(await runCli(['logs', sid, '--workspace', file]), `workspace ${file}: not a folder`);
    expectUsageError(
      await runCli(['run', 'a task', '-C', done.target, '--workspace', file, '--no-server'], { env }),
      `${file}: a file is in the way`,
    );
    const doctor = await runCli(['doctor', '--json', '--workspace', file], { env });
    expect(doctor.exitCode).toBe(1);
    expect(
      (JSON.parse(doctor.stdout) as Array<{ name: string; level: string; detail: string }>).find(
        (c) => c.name === 'workspace',
      ),
    ).toMatchObject({ level: 'error', detail: `${file}: not a folder (sessions cannot be kept there)` });
  });

  it('doctor judges the token file and server.json as the servers do: an unusable token is replaced', async () => {
    const workspace = mkdtempSync(join(tmpdir(), 'orch-doctor-'));
    sandboxes.push({ dir: workspace, target: workspace, workspace, stateDir: workspace });
    const checks = async () =>
      JSON.parse((await runCli(['doctor', '--json', '--workspace', workspace], { env })).stdout) as Array<{
        name: string;
        level: string;
        detail: string;
      }>;
    writeFileSync(join(workspace, 'token'), `${'a'.repeat(43)}\n`, { mode: 0o644 });
    expect((await checks()).find((c) => c.name === 'token')).toMatchObject({
      level: 'warn',
      detail: expect.stringMatching(/is not used: its mode 0644 .*the next server writes a new token/),
    });
    writeFileSync(
      join(workspace, 'server.json'),
      JSON.stringify({
        pid: 999_999_999,
        procStartTime: '1',
        host: '127.0.0.1',
        port: 1,
        url: 'http://127.0.0.1:1',
        startedAt: new Date().toISOString(),
      }),
    );
    expect((await checks()).find((c) => c.name === 'server')).toMatchObject({
      level: 'ok',
      detail: expect.stringContaining('stale server.json (pid 999999999 is gone'),
    });
  });

  it('run --spec with a folder', async () => {
    expectUsageError(
      await runCli(['run', '-C', done.target, '--spec', done.dir, '--workspace', done.workspace, '--no-server'], {
        env,
      }),
      `spec file ${done.dir}: is a folder`,
    );
  });

  it('run --spec with a key that is not one: one error line naming it and the key meant; nothing created', async () => {
    const specPath = join(done.dir, 'typo.json');
    for (const [spec, said] of [
      [{ ...TWO_WORKERS, reviewz: [] }, 'unknown key "reviewz" (did you mean "reviews"?)'],
      [
        { ...TWO_WORKERS, workers: [{ id: 'w', agent: 'claude', role: 'implementer', extra: true }] },
        'unknown key "extra" in workers.0 ' +
          '(known: id, agent, role, prompt, dependsOn, model, includeDirs, mode, command)',
      ],
    ] as const) {
      writeFileSync(specPath, JSON.stringify(spec));
      const before = sessionIds(done.workspace).length;
      expectUsageError(
        await runCli(['run', '-C', done.target, '--spec', specPath, '--workspace', done.workspace, '--no-server'], {
          env,
        }),
        `error: spec file ${specPath}: ${said}\n`,
      );
      expect(sessionIds(done.workspace)).toHaveLength(before);
    }
  });
});

// --- C. a worker that does not exist -------------------------------------------------------------------

describe('logs of a worker the session does not have', { timeout: 60_000 }, () => {
  it('is an error listing the workers (events, --json, --raw and --follow alike)', async () => {
    for (const extra of [[], ['--json'], ['--follow']]) {
      const result = await runCli(['logs', sid, 'nosuchworker', ...extra, '--workspace', done.workspace]);
      expectUsageError(result, `session ${sid} has no worker "nosuchworker"; workers: impl, check`);
    }
    expectUsageError(
      await runCli(['logs', sid, 'nosuchworker', '--raw', '--workspace', done.workspace]),
      /no output of worker "nosuchworker" .*\(workers: impl, check\)/,
    );
  });
});

// --- D. read-only commands -----------------------------------------------------------------------------

describe('status, logs, doctor and parse create and write nothing', { timeout: 60_000 }, () => {
  it('a workspace that does not exist stays so: status says there is none (exit 0)', async () => {
    const missing = join(done.dir, 'no-workspace-here');
    const text = await runCli(['status', '--workspace', missing]);
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toContain(`No sessions in ${missing} (no such folder)`);
    const json = await runCli(['status', '--json', '--workspace', missing]);
    expect(json.exitCode).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([]);
    expectUsageError(
      await runCli(['status', sid, '--workspace', missing]),
      `no session ${sid} in ${missing} (no such folder)`,
    );
    expectUsageError(
      await runCli(['logs', sid, '--workspace', missing]),
      `no session ${sid} in ${missing} (no such folder)`,
    );
    expectUsageError(await runCli(['status', '../../etc', '--workspace', missing]), '"../../etc" is not a session id');
    const doctor = await runCli(['doctor', '--json', '--workspace', missing], { env });
    expect(
      (JSON.parse(doctor.stdout) as Array<{ name: string; detail: string }>).find((c) => c.name === 'workspace')
        ?.detail,
    ).toContain('no such folder yet');
    expect(
      (await runCli(['parse', '--agent', 'claude', '/dev/null'], { env: { ORCHESTRATOR_WORKSPACE: missing } }))
        .exitCode,
    ).toBe(0);
    expect(statSync(missing, { throwIfNoEntry: false })).toBeUndefined();
  });

  it('the default workspace (.orchestrator in the current directory) is not created either', async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'orch-fresh-repo-'));
    try {
      const clean = { ORCHESTRATOR_WORKSPACE: '' };
      const result = await runCli(['status'], { cwd: fresh, env: clean });
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toContain(`No sessions in ${join(fresh, '.orchestrator')} (no such folder)`);
      await runCli(['doctor'], { cwd: fresh, env: clean });
      expect(readdirSync(fresh)).toEqual([]);
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  });

  it('an existing workspace and session folder are left exactly as they were', async () => {
    const before = tree(done.workspace);
    for (const args of [
      ['status'],
      ['status', '--json'],
      ['status', sid],
      ['logs', sid],
      ['logs', sid, 'impl', '--json'],
      ['logs', sid, 'check', '--raw'],
      ['logs', sid, 'check', '--stderr'],
      ['logs', sid, '--follow'],
      ['doctor'],
    ]) {
      const result = await runCli([...args, '--workspace', done.workspace], { env });
      expect([0, 1], `${args.join(' ')}: ${result.stderr}`).toContain(result.exitCode);
    }
    expect(tree(done.workspace)).toEqual(before);
  });
});

// --- E. logs --follow ends with the session --------------------------------------------------------------

/** A session folder this test process holds the lock of, as an orchestrator running it would. */
function liveSession() {
  const workspace = mkdtempSync(join(tmpdir(), 'orch-live-'));
  sandboxes.push({ dir: workspace, target: workspace, workspace, stateDir: workspace });
  mkdirSync(join(workspace, 'target'));
  const store = SessionStore.create(workspace, defaultSpec('followed live'), join(workspace, 'target'), null);
  store.acquireLock();
  store.append([
    sessionState(store.sessionId, null, 'created', 'create'),
    sessionState(store.sessionId, 'created', 'running', 'START'),
    agentEvent('implementer', 'first'),
  ]);
  return { workspace, store };
}

describe('logs --follow', { timeout: 60_000 }, () => {
  it('of a session that has ended prints its log and exits, as without --follow (events, --json, --raw)', async () => {
    for (const extra of [[], ['--json'], ['check', '--raw']]) {
      const once = await runCli(['logs', sid, ...extra, '--workspace', done.workspace]);
      const followed = await runCli(['logs', sid, ...extra, '--follow', '--workspace', done.workspace]);
      expect(followed.exitCode, followed.stderr).toBe(0);
      expect(followed.stdout).toBe(once.stdout);
      expect(followed.stdout.length).toBeGreaterThan(0);
    }
  });

  it('of a live session ends once it ended and its orchestrator let go, with every event printed', async () => {
    const { workspace, store } = liveSession();
    const follow = startCli(['logs', store.sessionId, '--follow', '--json', '--workspace', workspace], {
      NO_COLOR: '1',
    });
    const seqs = () =>
      follow
        .stdout()
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as OrchestratorEvent).seq);
    await poll(() => seqs().length === 3 || null, 20_000, 'the first three events');
    store.append([
      agentEvent('implementer', 'second'),
      sessionState(store.sessionId, 'running', 'completed', 'ALL.DONE'),
    ]);
    await poll(() => seqs().length === 5 || null, 20_000, 'the events up to the final state');
    // The orchestrator lets go of the session: only now is it over for certain.
    store.append([agentEvent('implementer', 'written after the final state, before the lock went')]);
    store.releaseLock();
    store.close();
    const exited = await follow.exited;
    expect(exited.exitCode, exited.stderr).toBe(0);
    expect(seqs()).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('of a session `run` is running exits when the run ends, having printed every event once', async () => {
    const made = sandbox();
    const specPath = join(made.dir, 'spec.json');
    writeFileSync(
      specPath,
      JSON.stringify({
        task: 'slow',
        workers: [{ id: 'slow', agent: 'claude', role: 'implementer' }],
        sandbox: 'none',
      }),
    );
    const slowEnv = fakeAgentEnv(made, { claude: { lines: 20, delayMs: 50 } });
    const run = startCli(
      [
        'run',
        '--in-place',
        '--spec',
        specPath,
        '-C',
        made.target,
        '--workspace',
        made.workspace,
        '--no-server',
        '--json',
      ],
      slowEnv,
    );
    const live = await waitForSession(made);
    const follow = startCli(['logs', live, '--follow', '--json', '--workspace', made.workspace], slowEnv);
    expect((await run.exited).exitCode).toBe(0);
    const exited = await follow.exited;
    expect(exited.exitCode, exited.stderr).toBe(0);
    expect(
      exited.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as OrchestratorEvent).seq),
    ).toEqual(readEvents(made.workspace, live).map((e) => e.seq));
  });
});

// --- F. every state event is a readable line ---------------------------------------------------------------

describe('logs lines', { timeout: 60_000 }, () => {
  it('show the first state of each worker like the session’s (∅ → ...), never a bare "state"', async () => {
    const text = await runCli(['logs', sid, '--workspace', done.workspace], { env });
    expect(text.exitCode).toBe(0);
    expect(text.stdout).not.toMatch(/^\d\d:\d\d:\d\d state$/m);
    expect(text.stdout).toMatch(/^\d\d:\d\d:\d\d session: ∅ → created$/m);
    expect(text.stdout).toMatch(/^\d\d:\d\d:\d\d impl: ∅ → spawned$/m);
    expect(text.stdout).toMatch(/^\d\d:\d\d:\d\d check: ∅ → spawned$/m);
    const states = readEvents(done.workspace, sid).filter((e) => e.type === 'state');
    expect(text.stdout.split('\n').filter((l) => / → /.test(l) && !/ (⚖|✎|↻) /.test(l))).toHaveLength(states.length);
  });
});

// --- G. usage --------------------------------------------------------------------------------------------

describe('usage in status and in the summary', { timeout: 60_000 }, () => {
  it('reads the same for every worker, with thousands separators', async () => {
    const status = await runCli(['status', sid, '--workspace', done.workspace]);
    const usageOf = (text: string, id: string, after: RegExp) =>
      (text.split('\n').find((l) => new RegExp(`^\\s+${id}\\s`).test(l)) ?? '').replace(after, '').trim();
    expect(usageOf(status.stdout, 'impl', /.*attempt \d+/)).toBe('2,482 tokens, $0.3184');
    expect(usageOf(status.stdout, 'check', /.*attempt \d+/)).toBe('32,840 tokens');
    for (const id of ['impl', 'check'])
      expect(usageOf(runOutput, id, /.*\d+ attempts?/), id).toBe(usageOf(status.stdout, id, /.*attempt \d+/));
  });
});

// --- H. doctor, help ---------------------------------------------------------------------------------------

describe('doctor with no agent CLI at all', { timeout: 60_000 }, () => {
  it('fails (exit 1) and says how to install one', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'orch-no-agents-'));
    try {
      const noAgents = {
        PATH: empty,
        ORCHESTRATOR_CLAUDE_BIN: '',
        ORCHESTRATOR_CODEX_BIN: '',
        ORCHESTRATOR_GEMINI_BIN: '',
        NO_COLOR: '1',
      };
      const text = await runCli(['doctor', '--workspace', join(empty, 'ws')], { env: noAgents });
      expect(text.exitCode).toBe(1);
      expect(text.stdout).toMatch(/^FAIL agents\s+no agent CLI works.*npm install -g @anthropic-ai\/claude-code/m);
      const json = await runCli(['doctor', '--json', '--workspace', join(empty, 'ws')], { env: noAgents });
      expect(json.exitCode).toBe(1);
      expect(
        (JSON.parse(json.stdout) as Array<{ name: string; level: string }>).find((c) => c.name === 'agents')?.level,
      ).toBe('error');
      // One agent is enough.
      const one = await runCli(['doctor', '--json', '--workspace', join(empty, 'ws')], {
        env: {
          ...noAgents,
          PATH: process.env.PATH ?? '',
          ORCHESTRATOR_CLAUDE_BIN: join(ROOT, 'test', 'fixtures', 'bin', 'claude'),
        },
      });
      const checks = JSON.parse(one.stdout) as Array<{ name: string; level: string }>;
      expect(checks.find((c) => c.name === 'agents')).toBeUndefined();
      expect(one.exitCode, one.stdout).toBe(checks.some((c) => c.level === 'error') ? 1 : 0);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('help', () => {
  it('run --help: -C defaults to "the current directory", not the directory help was asked in', async () => {
    const result = await runCli(['run', '--help'], { cwd: tmpdir() });
    expect(result.stdout).toMatch(/-C, --dir <dir>[\s\S]*\(default: the current directory\)/);
    expect(result.stdout).not.toContain(`"${tmpdir()}"`);
  });

  it('parse --help says --agent is required', async () => {
    const result = await runCli(['parse', '--help']);
    expect(result.stdout).toMatch(/^Usage: orchestrate parse --agent <agent>/m);
    expect(result.stdout).toMatch(/--agent <agent>\s+required/);
    const missing = await runCli(['parse', '/dev/null']);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain("required option '--agent <agent>' not specified");
  });
});
