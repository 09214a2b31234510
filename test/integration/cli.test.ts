/**
 * The `orchestrate` command line (dist/cli.js) as a person uses it, against fake agents: status, logs (also
 * --follow), parse on every recorded transcript, doctor, shell completion, usage errors, control of a running
 * session through its server (pause/resume/review/stop), and Ctrl-C: a first SIGINT stops the session
 * gracefully (exit 2, summary, no process left), a second one kills every agent group at once (exit 130).
 * Also: every Claude Code slash command in .claude/commands calls an existing `orchestrate` subcommand.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { groupMembers } from '../../src/actors/process-group.js';
import { which } from '../../src/runtime/binaries.js';
import { probeBwrap } from '../../src/safety/bwrap-probe.js';
import type { OrchestratorEvent } from '../../src/domain/events.js';
import type { SessionSummary } from '../../src/runtime/session-manager.js';
import type { SessionView } from '../../src/runtime/view.js';
import { SessionStore, type ProcRecord } from '../../src/store/session-store.js';
import {
  childPidsOf,
  cleanupAfterTest,
  CLI,
  eventsOfType,
  FAKE_AGENT,
  fakeAgentEnv,
  groupStopped,
  isAlive,
  keepSandbox,
  launches,
  makeSandbox,
  poll,
  processesMentioning,
  procRecordsOf,
  readEvents,
  ROOT,
  runCli,
  sandboxWith,
  type Sandbox,
  sessionIds,
  startCli,
  testSandbox,
  TWO_WORKERS,
  waitForSession,
} from '../support/orchestrate.js';

// --- harness ------------------------------------------------------------------------------------------

afterEach(cleanupAfterTest);

/** The subcommands `orchestrate --help` lists. */
function subcommands(): string[] {
  const help = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' }).stdout;
  const section = help.slice(help.indexOf('Commands:'));
  return [...section.matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1] as string).filter((c) => c !== 'help');
}

// --- a finished session to read back --------------------------------------------------------------

describe('the installed command', () => {
  it('dist/cli.js runs as a program (npx orchestrate runs it so; a fresh clone builds it in npm ci)', () => {
    expect(statSync(CLI).mode & 0o111, 'dist/cli.js is not executable: npm run build must chmod it').toBe(0o111);
    const result = spawnSync(CLI, ['--version'], { encoding: 'utf8' });
    expect(result.error).toBeUndefined();
    expect(result.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  });
});

describe('reading sessions: status, logs', { timeout: 60_000 }, () => {
  let sandbox: Sandbox;
  let env: Record<string, string>;
  let sid: string;
  let events: OrchestratorEvent[];

  beforeAll(async () => {
    const made = sandboxWith(TWO_WORKERS, {
      claude: { lines: 4, plan: ['read', 'write'] },
      codex: { lines: 3, stderr: 'codex noise on stderr' },
    });
    // This sandbox outlives the per-test cleanup; it holds no running process once the run ended.
    keepSandbox(made.sandbox);
    sandbox = made.sandbox;
    env = made.env;
    const empty = await runCli(['status', '--workspace', sandbox.workspace], { env });
    expect(empty.exitCode).toBe(0);
    expect(empty.stdout).toContain(`No sessions in ${sandbox.workspace}`);
    const run = await runCli(
      ['run', '--spec', made.specPath, '-C', sandbox.target, '--workspace', sandbox.workspace, '--no-server'],
      { env },
    );
    expect(run.exitCode, run.stderr).toBe(0);
    // Without --json the live view and the summary go to stdout.
    expect(run.stdout).toMatch(/Session orch_\S+ completed/);
    sid = sessionIds(sandbox.workspace)[0] as string;
    events = readEvents(sandbox.workspace, sid);
    return () => rmSync(sandbox.dir, { recursive: true, force: true });
  });

  it('status lists the sessions (text and --json)', async () => {
    const text = await runCli(['status', '--workspace', sandbox.workspace], { env });
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toContain(sid);
    expect(text.stdout).toContain('completed');
    expect(text.stdout).toContain('impl:completed');
    expect(text.stdout).toContain('check:completed');

    const json = await runCli(['status', '--json', '--workspace', sandbox.workspace], { env });
    const list = JSON.parse(json.stdout) as SessionSummary[];
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      sessionId: sid,
      task: 'exercise the CLI',
      targetDir: sandbox.target,
      state: 'completed',
      outcome: 'completed',
      live: false,
      runner: null,
      openBlockers: 0,
    });
    expect(list[0]?.workers.map((w) => [w.id, w.agent, w.status, w.progress])).toEqual([
      ['impl', 'claude', 'completed', 1],
      ['check', 'codex', 'completed', 1],
    ]);
  });

  it('status SID shows one session (text and --json with the full view)', async () => {
    const text = await runCli(['status', sid, '--workspace', sandbox.workspace], { env });
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toContain(sid);
    expect(text.stdout).toContain('task:   exercise the CLI');
    expect(text.stdout).toMatch(/impl\s+claude\/implementer\s+completed/);
    expect(text.stdout).toMatch(/check\s+codex\/verifier\s+completed/);

    const json = await runCli(['status', sid, '--json', '--workspace', sandbox.workspace], { env });
    const view = JSON.parse(json.stdout) as SessionView;
    expect(view).toMatchObject({
      sessionId: sid,
      task: 'exercise the CLI',
      state: 'completed',
      outcome: 'completed',
      stopReason: null,
      blockers: [],
      rounds: [],
    });
    expect(view.lastSeq).toBe(events.length);
    expect(view.workers.map((w) => [w.id, w.status, w.attempt])).toEqual([
      ['impl', 'completed', 1],
      ['check', 'completed', 1],
    ]);
    expect(view.workers[0]?.plan).toEqual({ done: 2, total: 2 });
    expect(view.workers[0]?.agentSessionId).toMatch(/.+/);
  });

  it('logs SID prints one readable line per event; --json the events themselves', async () => {
    const text = await runCli(['logs', sid, '--workspace', sandbox.workspace], { env });
    expect(text.exitCode).toBe(0);
    const lines = text.stdout.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.length).toBeLessThanOrEqual(events.length);
    expect(text.stdout).toMatch(/\d\d:\d\d:\d\d impl\s+\S+/);
    expect(text.stdout).toMatch(/\d\d:\d\d:\d\d check\s+\S+/);

    const json = await runCli(['logs', sid, '--json', '--workspace', sandbox.workspace], { env });
    expect(
      json.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as OrchestratorEvent),
    ).toEqual(events);
  });

  it('logs SID WORKER shows only that worker; --raw and --stderr its agent output verbatim', async () => {
    const json = await runCli(['logs', sid, 'check', '--json', '--workspace', sandbox.workspace], { env });
    const mine = json.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as OrchestratorEvent);
    expect(mine.length).toBeGreaterThan(0);
    for (const e of mine) expect(e.type === 'agent' ? e.workerId : e.type === 'state' ? e.id : 'check').toBe('check');
    expect(mine.filter((e) => e.type === 'agent')).toEqual(
      events.filter((e) => e.type === 'agent' && e.workerId === 'check'),
    );

    const files = SessionStore.agentFilesOf(sandbox.workspace, sid, 'check');
    const raw = await runCli(['logs', sid, 'check', '--raw', '--workspace', sandbox.workspace], { env });
    expect(raw.stdout).toBe(readFileSync(files.stdout, 'utf8'));
    const stderr = await runCli(['logs', sid, 'check', '--stderr', '--workspace', sandbox.workspace], { env });
    expect(stderr.stdout).toContain('codex noise on stderr');

    const noWorker = await runCli(['logs', sid, '--raw', '--workspace', sandbox.workspace], { env });
    expect(noWorker.exitCode).toBe(1);
    expect(noWorker.stderr).toContain('name the worker');
    const unknownWorker = await runCli(['logs', sid, 'nobody', '--raw', '--workspace', sandbox.workspace], { env });
    expect(unknownWorker.exitCode).toBe(1);
    expect(unknownWorker.stderr).toContain('no output of worker "nobody"');
  });
});

describe('logs --follow', { timeout: 60_000 }, () => {
  it('prints new events as the session goes, each once and in order, and exits once the session ended', async () => {
    const { sandbox, specPath, env } = sandboxWith(
      { task: 'slow', workers: [{ id: 'slow', agent: 'claude', role: 'implementer' }], sandbox: 'none' },
      { claude: { lines: 30, delayMs: 60 } },
    );
    const run = startCli(
      [
        'run',
        '--in-place',
        '--spec',
        specPath,
        '-C',
        sandbox.target,
        '--workspace',
        sandbox.workspace,
        '--no-server',
        '--json',
      ],
      env,
    );
    const sid = await waitForSession(sandbox);
    const follow = startCli(['logs', sid, '--follow', '--json', '--workspace', sandbox.workspace], env);
    const seqs = () =>
      follow
        .stdout()
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as OrchestratorEvent).seq);
    const early = await poll(() => (seqs().length > 0 ? seqs().length : null), 20_000, 'first events');
    // While the agent still prints, more events arrive.
    await poll(() => seqs().length >= early + 10, 20_000, 'ten more events followed live');
    expect((await run.exited).exitCode).toBe(0);
    const all = readEvents(sandbox.workspace, sid);
    await poll(() => seqs().at(-1) === all.length, 5000, 'the last event followed');
    expect((await follow.exited).exitCode).toBe(0);
    expect(seqs()).toEqual(all.map((e) => e.seq));
  });
});

// --- parse ----------------------------------------------------------------------------------------

const TRANSCRIPTS = join(ROOT, 'test', 'fixtures', 'transcripts');

function transcriptFiles(): Array<{ agent: string; file: string }> {
  const out: Array<{ agent: string; file: string }> = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.jsonl'))
        out.push({ agent: relative(TRANSCRIPTS, path).split('/')[0] as string, file: path });
    }
  };
  walk(TRANSCRIPTS);
  return out.sort((a, b) => a.file.localeCompare(b.file));
}

describe('parse', { timeout: 90_000 }, () => {
  it('every recorded transcript parses: one or more JSON lines per non-blank input line, by input line', async () => {
    const files = transcriptFiles();
    expect(new Set(files.map((f) => f.agent))).toEqual(new Set(['claude', 'codex', 'gemini']));
    expect(files.length).toBeGreaterThan(40);
    // The adapters parse line by line with no state, so one run per agent over all its transcripts, one after
    // the other, proves each file (a process per file would cost ~50 node startups); every input line is
    // traced back to its file for the failure message.
    const failures: string[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'orch-parse-'));
    try {
      await Promise.all(
        ['claude', 'codex', 'gemini'].map(async (agent) => {
          const origin: Array<{ file: string; line: number; blank: boolean }> = [];
          const text: string[] = [];
          for (const { file } of files.filter((f) => f.agent === agent)) {
            const lines = readFileSync(file, 'utf8').replace(/\n$/, '').split(/\r?\n/);
            lines.forEach((l, i) =>
              origin.push({ file: relative(TRANSCRIPTS, file), line: i + 1, blank: l.trim() === '' }),
            );
            text.push(...lines);
          }
          const all = join(dir, `${agent}.jsonl`);
          writeFileSync(all, `${text.join('\n')}\n`);
          const result = await runCli(['parse', '--agent', agent, all]);
          if (result.exitCode !== 0) return void failures.push(`${agent}: exit ${result.exitCode}: ${result.stderr}`);
          const output = result.stdout
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as { line: number; kind: string });
          const perLine = new Map<number, number>();
          for (const o of output) {
            perLine.set(o.line, (perLine.get(o.line) ?? 0) + 1);
            if (typeof o.kind !== 'string') failures.push(`${agent}: output for input line ${o.line} has no kind`);
          }
          origin.forEach((o, i) => {
            const n = perLine.get(i + 1) ?? 0;
            if (!o.blank && n === 0) failures.push(`${o.file}:${o.line}: no output`);
            if (o.blank && n > 0) failures.push(`${o.file}:${o.line}: output for a blank line`);
          });
          expect([...perLine.keys()].every((line, i, keys) => i === 0 || line > (keys[i - 1] as number))).toBe(true);
        }),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(failures).toEqual([]);
  });

  it('reads stdin with -', async () => {
    const file = join(TRANSCRIPTS, 'codex', 'captured', 'mock-command-execution.jsonl');
    const result = spawnSync(process.execPath, [CLI, 'parse', '--agent', 'codex', '-'], {
      input: readFileSync(file),
      encoding: 'utf8',
    });
    expect(result.status).toBe(0);
    const fromFile = await runCli(['parse', '--agent', 'codex', file]);
    expect(result.stdout).toBe(fromFile.stdout);
  });

  it.concurrent.each([
    ['claude', 'claude/captured/mock-api-429-rate-limit', { type: 'failure', signal: { kind: 'rate_limit' } }],
    ['claude', 'claude/captured/mock-api-401-auth', { type: 'failure', signal: { kind: 'auth' } }],
    ['codex', 'codex/captured/mock-api-500', { type: 'failure', signal: { kind: 'server_error' } }],
    ['gemini', 'gemini/captured/mock-api-429-daily-quota-stream-json', { type: 'failure', signal: { kind: 'quota' } }],
    ['claude', 'claude/captured/mock-tool-bypass-permissions-success', { type: 'exit', ok: true }],
    ['codex', 'codex/captured/mock-command-execution', { type: 'exit', ok: true }],
    ['gemini', 'gemini/captured/mock-success-stream-json', { type: 'exit', ok: true }],
  ])('--exit-code with --stderr classifies %s %s', async (agent, base, last) => {
    const meta = JSON.parse(readFileSync(join(TRANSCRIPTS, `${base}.meta.json`), 'utf8')) as { exit_code: number };
    const args = [
      'parse',
      '--agent',
      agent,
      join(TRANSCRIPTS, `${base}.jsonl`),
      '--exit-code',
      String(meta.exit_code),
      '--stderr',
      join(TRANSCRIPTS, `${base}.stderr.txt`),
    ];
    const result = await runCli(args);
    expect(result.exitCode, result.stderr).toBe(0);
    const lines = result.stdout.split('\n').filter(Boolean);
    expect(JSON.parse(lines.at(-1) as string)).toMatchObject(last);
    if (last.type === 'exit') expect(JSON.parse(lines.at(-1) as string)).toEqual(last);
  });

  it('an unknown agent is a usage error', async () => {
    const result = await runCli([
      'parse',
      '--agent',
      'copilot',
      join(TRANSCRIPTS, 'codex', 'captured', 'mock-api-500.jsonl'),
    ]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/Unknown agent/i);
  });
});

// --- doctor and completion --------------------------------------------------------------------------

const bwrapWorks = (await probeBwrap()).available;

describe('doctor', { timeout: 60_000 }, () => {
  const BIN = join(ROOT, 'test', 'fixtures', 'bin');
  const env = () => ({
    ORCHESTRATOR_CLAUDE_BIN: join(BIN, 'claude'),
    ORCHESTRATOR_CODEX_BIN: join(BIN, 'codex'),
    ORCHESTRATOR_GEMINI_BIN: join(BIN, 'gemini'),
    NO_COLOR: '1',
  });

  it('lists each agent (the binaries from ORCHESTRATOR_*_BIN), node, git, sandbox and the workspace', async () => {
    const sandbox = testSandbox();
    const text = await runCli(['doctor', '--workspace', sandbox.workspace], { env: env() });
    expect(text.exitCode, text.stdout + text.stderr).toBe(0);
    for (const agent of ['claude', 'codex', 'gemini'])
      expect(text.stdout).toMatch(new RegExp(`^(ok  |warn) ${agent}\\s+${join(BIN, agent)}`, 'm'));
    // Each binary runs and says its version (codex's is top-level, not `codex exec`).
    expect(text.stdout).toMatch(/2\.1\.329/);
    expect(text.stdout).toMatch(/^(ok {2}|warn) codex\s+.*codex-cli 0\.169\.0/m);
    expect(text.stdout).toMatch(/^(ok {2}|warn) gemini\s+.*0\.61\.0/m);
    expect(text.stdout).not.toContain('does not run');
    // Which modes each agent's workers can have, and which one a worker that names none gets (the pinned
    // versions have interactive mode).
    const interactiveByDefault = 'modes: interactive \\(the default: it asks before each tool runs\\), exec';
    for (const agent of ['claude', 'codex', 'gemini'])
      expect(text.stdout).toMatch(new RegExp(`^(ok {2}|warn) ${agent}\\s+.*${interactiveByDefault}`, 'm'));
    expect(text.stdout).toMatch(/^(ok {2}|warn|FAIL) node\s+v\d+/m);
    expect(text.stdout).toMatch(/^(ok {2}|warn) workspace\s+/m);

    const json = await runCli(['doctor', '--json', '--workspace', sandbox.workspace], { env: env() });
    const checks = JSON.parse(json.stdout) as Array<{ name: string; level: string; detail: string }>;
    expect(checks.map((c) => c.name)).toEqual(
      expect.arrayContaining(['node', 'git', 'claude', 'codex', 'gemini', 'sandbox', 'workspace']),
    );
    for (const c of checks) expect(['ok', 'warn', 'error']).toContain(c.level);
    expect(checks.find((c) => c.name === 'claude')?.detail).toContain(join(BIN, 'claude'));
  });

  it.runIf(bwrapWorks)(
    'shows what the sandbox lets each agent read and reach: ' +
      "the hidden credentials found here, its hosts, a loopback base URL's forward",
    async () => {
      const sandbox = testSandbox();
      const home = join(sandbox.dir, 'home');
      mkdirSync(join(home, '.ssh'), { recursive: true });
      mkdirSync(join(home, '.codex'), { recursive: true });
      const result = await runCli(['doctor', '--json', '--workspace', sandbox.workspace], {
        env: {
          ...env(),
          HOME: home,
          ANTHROPIC_BASE_URL: 'http://127.0.0.1:9876',
          PATH: `${dirname(which('socat') ?? '/usr/bin/socat')}:${process.env.PATH ?? ''}`,
        },
      });
      const checks = JSON.parse(result.stdout) as Array<{ name: string; level: string; detail: string }>;
      expect(checks.find((c) => c.name === 'network')?.detail).toMatch(/only through a proxy with an allowlist/);
      const claude = checks.find((c) => c.name === 'claude sbx')?.detail ?? '';
      expect(claude).toMatch(/^hides ~\/\.ssh, ~\/\.codex;/);
      expect(claude).toContain('api.anthropic.com');
      expect(claude).toContain('127.0.0.1:9876 forwarded');
      expect(checks.find((c) => c.name === 'codex sbx')?.detail).toMatch(/^hides ~\/\.ssh;/);
    },
  );

  it.runIf(bwrapWorks)(
    'refuses before a run an agent whose #! names a program the sandbox cannot show (doctor: it does not run)',
    async () => {
      const sandbox = testSandbox();
      const broken = join(sandbox.dir, 'gemini');
      writeFileSync(broken, '#!/usr/bin/env no-such-interpreter-xyz\n', { mode: 0o755 });
      const doctor = await runCli(['doctor', '--json', '--workspace', sandbox.workspace], {
        env: { ...env(), ORCHESTRATOR_GEMINI_BIN: broken },
      });
      const checks = JSON.parse(doctor.stdout) as Array<{ name: string; level: string; detail: string }>;
      expect(checks.find((c) => c.name === 'gemini')?.detail).toContain(`${broken} does not run`);
      const run = await runCli(
        [
          'run',
          'the task',
          '-C',
          sandbox.target,
          '--agents',
          'gemini',
          '--no-server',
          '--workspace',
          sandbox.workspace,
        ],
        { env: { ...env(), ORCHESTRATOR_GEMINI_BIN: broken } },
      );
      expect([run.exitCode, run.stdout]).toEqual([1, '']);
      expect(run.stderr).toBe(
        `error: gemini (${broken}) cannot run inside the sandbox: its #! line runs "no-such-interpreter-xyz" ` +
          `from PATH, and PATH has no no-such-interpreter-xyz. Install what its #! line names (or point ` +
          `ORCHESTRATOR_<AGENT>_BIN at the real binary), or set "sandbox": "none" to run it unconfined.\n`,
      );
      expect(sessionIds(sandbox.workspace)).toEqual([]);
    },
  );

  it('says how to install an agent that cannot be found', async () => {
    const sandbox = testSandbox();
    const result = await runCli(['doctor', '--json', '--workspace', sandbox.workspace], {
      env: { ...env(), ORCHESTRATOR_CODEX_BIN: join(sandbox.dir, 'missing-codex') },
    });
    const checks = JSON.parse(result.stdout) as Array<{ name: string; level: string; detail: string }>;
    expect(checks.find((c) => c.name === 'codex')).toMatchObject({ level: 'warn' });
    expect(checks.find((c) => c.name === 'codex')?.detail).toContain('ORCHESTRATOR_CODEX_BIN');
  });
});

describe('completion', () => {
  it.concurrent.each(['bash', 'zsh', 'fish'])('%s: mentions every subcommand', async (shell) => {
    const commands = subcommands();
    expect(commands).toEqual(
      expect.arrayContaining([
        'run',
        'demo',
        'resume',
        'serve',
        'status',
        'pause',
        'stop',
        'review',
        'logs',
        'parse',
        'doctor',
        'completion',
      ]),
    );
    const result = await runCli(['completion', shell]);
    expect(result.exitCode).toBe(0);
    for (const command of commands) expect(result.stdout, command).toMatch(new RegExp(`\\b${command}\\b`));
    expect(result.stdout).toContain('orchestrate');
    if (shell === 'fish') expect(result.stdout).toContain('complete -c orchestrate');
    else expect(result.stdout).toContain('complete -F _orchestrate orchestrate');
    if (shell === 'zsh') expect(result.stdout).toContain('bashcompinit');
  });

  it('the bash script is valid bash, and completes subcommands and options', async () => {
    const script = (await runCli(['completion', 'bash'])).stdout;
    expect(spawnSync('bash', ['-n'], { input: script }).status).toBe(0);
    const complete = (words: string[]) =>
      spawnSync(
        'bash',
        [
          '-c',
          `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); ` +
            `COMP_CWORD=${words.length - 1}; _orchestrate; printf '%s\\n' "\${COMPREPLY[@]}"`,
        ],
        { encoding: 'utf8' },
      )
        .stdout.split('\n')
        .filter(Boolean);
    expect(complete(['orchestrate', 're'])).toEqual(expect.arrayContaining(['resume', 'review', 'resolve']));
    expect(complete(['orchestrate', 'logs', '--f'])).toEqual(['--follow']);
  });

  it('refuses an unknown shell', async () => {
    const result = await runCli(['completion', 'powershell']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/powershell/);
  });
});

// --- usage errors -----------------------------------------------------------------------------------

describe('usage errors: exit 1 with a message saying what to do, and no session created', { timeout: 60_000 }, () => {
  let shared: { sandbox: Sandbox; env: Record<string, string> };
  beforeAll(() => {
    const sandbox = makeSandbox({ git: true });
    writeFileSync(join(sandbox.dir, 'bad.json'), '{ not json');
    writeFileSync(join(sandbox.dir, 'invalid.json'), JSON.stringify({ task: 'x', workers: [] }));
    shared = { sandbox, env: fakeAgentEnv(sandbox, {}) };
    return () => rmSync(sandbox.dir, { recursive: true, force: true });
  });

  it.concurrent.each([
    [
      'an unknown agent in --agents',
      (s: Sandbox) => ['run', 'the task', '-C', s.target, '--agents', 'claude,copilot'],
      /--agents: unknown agent\(s\) copilot: use claude, codex, gemini/,
    ],
    [
      'no task and no spec',
      (s: Sandbox) => ['run', '-C', s.target],
      /say what to do: `orchestrate run "the task" -C DIR`/,
    ],
    [
      'a spec file that does not exist',
      (s: Sandbox) => ['run', '-C', s.target, '--spec', join(s.dir, 'nope.json')],
      /spec file .*nope\.json does not exist/,
    ],
    [
      'a spec file that is not JSON',
      (s: Sandbox) => ['run', '-C', s.target, '--spec', join(s.dir, 'bad.json')],
      /spec file .*bad\.json is not valid JSON/,
    ],
    [
      'a spec that is not a session spec',
      (s: Sandbox) => ['run', '-C', s.target, '--spec', join(s.dir, 'invalid.json')],
      /is not a valid session spec:\n\s+- workers: a session needs at least one worker/,
    ],
    [
      'a target directory that does not exist',
      (s: Sandbox) => ['run', 'the task', '-C', join(s.dir, 'missing')],
      /-C .*missing: not a directory/,
    ],
    [
      'an unknown session id',
      () => ['status', 'orch_20990101_000000_zzzz'],
      /no session orch_20990101_000000_zzzz in /,
    ],
    ['something that is not a session id', () => ['resume', '../../etc'], /"\.\.\/\.\.\/etc" is not a session id/],
    ['logs of an unknown session', () => ['logs', 'orch_20990101_000000_zzzz'], /no session orch_20990101_000000_zzzz/],
    ['stop of an unknown session', () => ['stop', 'orch_20990101_000000_zzzz'], /no session orch_20990101_000000_zzzz/],
    ['an unknown command', () => ['frobnicate'], /unknown command 'frobnicate'/],
    // The argument parser's own errors are one line too, with where the usage is.
    [
      'an unknown option',
      (s: Sandbox) => ['run', 'x', '-C', s.target, '--bogus'],
      /^error: unknown option '--bogus' \(run with --help for usage\)\n$/,
    ],
    [
      'a missing argument',
      () => ['resolve', 'orch_20990101_000000_zzzz'],
      /^error: missing required argument 'blocker' \(run with --help for usage\)\n$/,
    ],
    [
      'a bad --port',
      (s: Sandbox) => ['run', 'x', '-C', s.target, '--port', '70000'],
      /--port must be an integer from 0 to 65535/,
    ],
  ])('%s', async (_, args, message) => {
    const { sandbox, env } = shared;
    const result = await runCli([...args(sandbox), '--workspace', sandbox.workspace], { env });
    expect(result.exitCode, result.stdout + result.stderr).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at .*\.js:\d+/); // a message, not a stack trace
    expect(sessionIds(sandbox.workspace)).toEqual([]);
    expect(launches(sandbox)).toEqual([]);
  });

  it('pause of a session nobody runs says how to continue it; of one that has ended, that it has ended', async () => {
    // Waiting for a person (an auth blocker) when `run --no-server` exits: on disk, not ended.
    const { sandbox, specPath, env } = sandboxWith(
      { task: 'quick', workers: [{ id: 'w', agent: 'codex', role: 'implementer' }], sandbox: 'none' },
      { codex: { fail: 'auth', failTimes: 1, delayMs: 2 } },
    );
    expect(
      (
        await runCli(
          [
            'run',
            '--in-place',
            '--spec',
            specPath,
            '-C',
            sandbox.target,
            '--workspace',
            sandbox.workspace,
            '--no-server',
            '--json',
          ],
          { env },
        )
      ).exitCode,
    ).toBe(2);
    const waiting = sessionIds(sandbox.workspace)[0] as string;
    const result = await runCli(['pause', waiting, '--workspace', sandbox.workspace], { env });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(
      `session ${waiting} is not running; \`orchestrate resume ${waiting}\` continues it`,
    );

    const done = sandboxWith(
      { task: 'quick', workers: [{ id: 'w', agent: 'codex', role: 'implementer' }], sandbox: 'none' },
      {},
    );
    expect(
      (
        await runCli(
          [
            'run',
            '--spec',
            done.specPath,
            '-C',
            done.sandbox.target,
            '--workspace',
            done.sandbox.workspace,
            '--no-server',
            '--json',
          ],
          { env: done.env },
        )
      ).exitCode,
    ).toBe(0);
    const completed = sessionIds(done.sandbox.workspace)[0] as string;
    const ended = await runCli(['pause', completed, '--workspace', done.sandbox.workspace], { env: done.env });
    expect(ended.exitCode).toBe(1);
    expect(ended.stderr).toBe(`error: session ${completed} has already ended (completed): there is nothing to pause\n`);
  });
});

// --- controlling a running session --------------------------------------------------------------------

describe('controlling a running session from another terminal', { timeout: 60_000 }, () => {
  it('pause, resume, review and stop go through the server named in the session folder', async () => {
    const { sandbox, specPath, env } = sandboxWith(
      {
        task: 'hold',
        workers: [{ id: 'w', agent: 'claude', role: 'implementer' }],
        reviews: [{ reviewer: 'gemini', target: 'w', focus: 'correctness' }],
        review: { trigger: 'manual' },
        limits: { killGraceMs: 2000 },
        sandbox: 'none',
      },
      {
        rules: [
          {
            match: { promptIncludes: 'You are a REVIEWER' },
            scenario: { verdict: { verdict: 'approve', summary: 'fine so far' } },
          },
        ],
        claude: { lines: 2, holdMs: 120_000 },
      },
    );
    const run = startCli(
      [
        'run',
        '--in-place',
        '--spec',
        specPath,
        '-C',
        sandbox.target,
        '--workspace',
        sandbox.workspace,
        '--json',
        '--port',
        '0',
      ],
      env,
    );
    const sid = await waitForSession(sandbox);
    const server = await poll(
      () => SessionStore.lockHolder(join(sandbox.workspace, 'sessions', sid))?.serverUrl,
      20_000,
      'the server in the lock',
    );
    expect(run.stderr()).toContain('Dashboard');
    const record = await poll(() => procRecordsOf(sandbox)[0], 20_000, 'the agent launched');
    await poll(() => launches(sandbox).length === 1, 20_000, 'the fake agent started');

    const paused = await runCli(['pause', sid, '--workspace', sandbox.workspace], { env });
    expect(paused.exitCode, paused.stderr).toBe(0);
    expect(paused.stdout).toBe(`pause: sent to ${server} (session now paused)\n`);
    await poll(() => groupStopped(record.pgid), 5000, 'the agent SIGSTOPped');
    // Repeated: nothing to do, said on one line, exit 0.
    const again = await runCli(['pause', sid, '--workspace', sandbox.workspace], { env });
    expect([again.exitCode, again.stdout, again.stderr]).toEqual([
      0,
      `pause: session ${sid} is paused already (nothing to do)\n`,
      '',
    ]);

    const resumed = await runCli(['resume', sid, '--workspace', sandbox.workspace], { env });
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('session now running');
    await poll(() => groupMembers(record.pgid).every((m) => m.state !== 'T'), 5000, 'the agent continued');
    const resumedAgain = await runCli(['resume', sid, '--workspace', sandbox.workspace], { env });
    expect([resumedAgain.exitCode, resumedAgain.stdout, resumedAgain.stderr]).toEqual([
      0,
      `resume: sent to ${server} (session now running)\n`,
      '',
    ]);

    // w still works: the review is accepted and waits for its work to be finished (the round itself, once it
    // is, is test/integration/review-reviewers.test.ts's).
    const review = await runCli(['review', sid, '--workspace', sandbox.workspace], { env });
    expect([review.exitCode, review.stderr]).toEqual([0, '']);
    expect(review.stdout).toBe(
      `review: sent to ${server} (session now running)\nw has not finished its work yet: ` +
        `the round starts when it does (only finished work is reviewed)\n`,
    );
    expect(eventsOfType(readEvents(sandbox.workspace, sid), 'state').filter((e) => e.machine === 'review')).toEqual([]);

    const live = await runCli(['status', sid, '--workspace', sandbox.workspace], { env });
    expect(live.stdout).toMatch(/running/);

    const stopped = await runCli(['stop', sid, '--reason', 'enough', '--workspace', sandbox.workspace], { env });
    expect(stopped.exitCode, stopped.stderr).toBe(0);
    expect(stopped.stdout).toContain(`stop: sent to ${server}`);
    expect((await run.exited).exitCode).toBe(2);
    expect(groupMembers(record.pgid)).toEqual([]);
    expect(processesMentioning(sandbox.dir)).toEqual([]);
    expect(
      JSON.parse((await runCli(['status', sid, '--json', '--workspace', sandbox.workspace], { env })).stdout),
    ).toMatchObject({ outcome: 'stopped', stopReason: 'enough' });
  });

  it('stop --worker ends only that worker: skipped, its dependent runs, the run ends partial (exit 2)', async () => {
    const { sandbox, specPath, env } = sandboxWith(
      { ...TWO_WORKERS, limits: { killGraceMs: 2000 } },
      { claude: { lines: 2, holdMs: 120_000 }, codex: { lines: 2 } },
    );
    const run = startCli(
      [
        'run',
        '--in-place',
        '--spec',
        specPath,
        '-C',
        sandbox.target,
        '--workspace',
        sandbox.workspace,
        '--json',
        '--port',
        '0',
      ],
      env,
    );
    const sid = await waitForSession(sandbox);
    const server = await poll(
      () => SessionStore.lockHolder(join(sandbox.workspace, 'sessions', sid))?.serverUrl,
      20_000,
      'the server in the lock',
    );
    const record = await poll(() => procRecordsOf(sandbox)[0], 20_000, 'the agent launched');

    const mixed = await runCli(['stop', sid, '--worker', 'impl', '--reason', 'why', '--workspace', sandbox.workspace], {
      env,
    });
    expect(mixed.exitCode).toBe(1);
    expect(mixed.stderr).toContain('--reason is for stopping the whole session');

    // A refusal of the server reads like any usage error: one line, in its words.
    const unknown = await runCli(['stop', sid, '--worker', 'nobody', '--workspace', sandbox.workspace], { env });
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toBe(`error: session ${sid} has no worker nobody (workers: impl, check)\n`);

    const stopped = await runCli(['stop', sid, '--worker', 'impl', '--workspace', sandbox.workspace], { env });
    expect(stopped.exitCode, stopped.stderr).toBe(0);
    expect(stopped.stdout).toBe(
      `stop of worker impl: sent to ${server} (only that worker; the session stays running)\n`,
    );
    expect((await run.exited).exitCode).toBe(2);
    expect(groupMembers(record.pgid)).toEqual([]);
    const view = JSON.parse(
      (await runCli(['status', sid, '--json', '--workspace', sandbox.workspace], { env })).stdout,
    ) as { outcome: string; workers: Array<{ id: string; status: string }> };
    expect(view.outcome).toBe('partial');
    expect(view.workers.map((w) => [w.id, w.status])).toEqual([
      ['impl', 'skipped'],
      ['check', 'completed'],
    ]);
  });

  it('without a server: stop signals the orchestrator, which stops gracefully; pause says it needs one', async () => {
    const { sandbox, specPath, env } = sandboxWith(
      { task: 'hold', workers: [{ id: 'w', agent: 'claude', role: 'implementer' }], sandbox: 'none' },
      { claude: { lines: 2, holdMs: 120_000, spawnChild: true } },
    );
    const run = startCli(
      [
        'run',
        '--in-place',
        '--spec',
        specPath,
        '-C',
        sandbox.target,
        '--workspace',
        sandbox.workspace,
        '--no-server',
        '--json',
      ],
      env,
    );
    const sid = await waitForSession(sandbox);
    await poll(() => childPidsOf(sandbox).length === 1, 20_000, 'the agent and its child');
    const pause = await runCli(['pause', sid, '--workspace', sandbox.workspace], { env });
    expect(pause.exitCode).toBe(1);
    expect(pause.stderr).toContain(`is run by process ${run.child.pid} without a server; pause needs the server`);
    const stop = await runCli(['stop', sid, '--reason', 'done testing', '--workspace', sandbox.workspace], { env });
    expect(stop.exitCode, stop.stderr).toBe(0);
    expect(stop.stdout).toContain(`asked orchestrator process ${run.child.pid}`);
    expect((await run.exited).exitCode).toBe(2);
    expect(run.stderr()).toContain('SIGTERM: stopping the session');
    for (const pid of childPidsOf(sandbox)) expect(isAlive(pid)).toBe(false);
    expect(processesMentioning(sandbox.dir)).toEqual([]);
    // The reason reached it through the session folder, and was taken from there.
    expect(
      JSON.parse((await runCli(['status', sid, '--json', '--workspace', sandbox.workspace], { env })).stdout),
    ).toMatchObject({ outcome: 'stopped', stopReason: 'done testing' });
    expect(existsSync(join(sandbox.workspace, 'sessions', sid, 'stop-request.json'))).toBe(false);
  });
});

// --- Ctrl-C -------------------------------------------------------------------------------------------

describe('SIGINT of a run', { timeout: 60_000 }, () => {
  it('stops the session: agents and their children ended, summary printed, exit 2, nothing left in /proc', async () => {
    const { sandbox, specPath, env } = sandboxWith(
      {
        ...TWO_WORKERS,
        workers: [
          { id: 'a', agent: 'claude', role: 'implementer' },
          { id: 'b', agent: 'gemini', role: 'architect' },
        ],
        limits: { killGraceMs: 3000 },
      },
      { default: { lines: 2, holdMs: 120_000, spawnChild: true } },
    );
    const run = startCli(
      ['run', '--in-place', '--spec', specPath, '-C', sandbox.target, '--workspace', sandbox.workspace, '--no-server'],
      env,
    );
    const sid = await waitForSession(sandbox);
    await poll(() => childPidsOf(sandbox).length === 2, 20_000, 'both agents and their children');
    const groups = procRecordsOf(sandbox).map((r) => r.pgid);
    expect(groups).toHaveLength(2);

    run.child.kill('SIGINT');
    const { exitCode } = await run.exited;
    expect(exitCode).toBe(2);
    expect(run.stdout()).toContain('SIGINT: stopping the session');
    expect(run.stdout()).toMatch(new RegExp(`Session ${sid} stopped .*the orchestrator received SIGINT`));
    for (const pgid of groups) expect(groupMembers(pgid)).toEqual([]);
    for (const pid of childPidsOf(sandbox)) expect(isAlive(pid), `grandchild ${pid}`).toBe(false);
    expect(processesMentioning(sandbox.dir)).toEqual([]);
    expect(
      processesMentioning(FAKE_AGENT).filter((pid) =>
        readFileSync(`/proc/${pid}/environ`, 'utf8').includes(sandbox.stateDir),
      ),
    ).toEqual([]);
    const events = readEvents(sandbox.workspace, sid);
    expect(
      eventsOfType(events, 'state')
        .filter((e) => e.machine === 'session')
        .at(-1)?.to,
    ).toBe('stopped');
    expect(SessionStore.lockHolder(join(sandbox.workspace, 'sessions', sid))).toBeNull();
  });

  // Guards two things (both were product bugs found by this test): the first SIGINT must not report the session
  // stopped while an agent ignoring SIGTERM still runs (the wrapper dies first), else the CLI drops its handlers
  // and the second SIGINT kills only the CLI; and killAllGroups must look at the group, not at its dead leader.
  it('a second SIGINT kills every agent group at once (agents ignoring SIGTERM): exit 130, nothing left', async () => {
    const { sandbox, specPath, env } = sandboxWith(
      {
        task: 'stubborn',
        workers: [{ id: 'a', agent: 'claude', role: 'implementer' }],
        limits: { killGraceMs: 8000 },
        sandbox: 'none',
      },
      { claude: { lines: 2, holdMs: 120_000, spawnChild: true, ignoreSigterm: true } },
    );
    const run = startCli(
      [
        'run',
        '--in-place',
        '--spec',
        specPath,
        '-C',
        sandbox.target,
        '--workspace',
        sandbox.workspace,
        '--no-server',
        '--json',
      ],
      env,
    );
    await waitForSession(sandbox);
    await poll(() => childPidsOf(sandbox).length === 1, 20_000, 'the agent and its child');
    const [record] = procRecordsOf(sandbox);
    run.child.kill('SIGINT');
    await poll(() => run.stderr().includes('SIGINT: stopping the session'), 5000, 'the first SIGINT acknowledged');
    // The agent ignores SIGTERM, so the graceful stop would take 8 s; a person presses Ctrl-C again.
    expect(groupMembers((record as ProcRecord).pgid).length).toBeGreaterThan(0);
    const started = Date.now();
    run.child.kill('SIGINT');
    const { exitCode } = await run.exited;
    expect(exitCode).toBe(130);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(run.stderr()).toMatch(/SIGINT again: killed 1 process group\(s\)/);
    await poll(() => groupMembers((record as ProcRecord).pgid).length === 0, 5000, 'the group gone');
    for (const pid of childPidsOf(sandbox)) expect(isAlive(pid)).toBe(false);
    expect(processesMentioning(sandbox.dir)).toEqual([]);
  });
});

// --- Claude Code slash commands ----------------------------------------------------------------------

describe('.claude/commands', () => {
  const dir = join(ROOT, '.claude', 'commands');
  const expected: Record<string, string> = {
    'orchestrate.md': 'run',
    'orch-status.md': 'status',
    'orch-resume.md': 'resume',
    'orch-pause.md': 'pause',
    'orch-stop.md': 'stop',
    'orch-review.md': 'review',
  };

  it('has the six slash commands, each described, calling an existing orchestrate subcommand with $ARGUMENTS', () => {
    const commands = subcommands();
    expect(
      readdirSync(dir)
        .filter((f) => f.endsWith('.md'))
        .sort(),
    ).toEqual(Object.keys(expected).sort());
    for (const [file, main] of Object.entries(expected)) {
      const text = readFileSync(join(dir, file), 'utf8');
      expect(text, file).toMatch(/^---\ndescription: .+\n[\s\S]*?\n---\n/);
      expect(text, file).toContain('$ARGUMENTS');
      const called = [...text.matchAll(/(?<![/\w-])orchestrate ([a-z]+)\b/g)].map((m) => m[1] as string);
      expect(called, `${file} calls orchestrate ${main}`).toContain(main);
      for (const sub of called) expect(commands, `${file}: orchestrate ${sub}`).toContain(sub);
    }
  });
});
