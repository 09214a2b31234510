/**
 * The fake agent (test/fixtures/fake-agent.mjs) is itself a fixture the integration tests trust, so every
 * behaviour is proven here against a real process: spawned with an argv array, stdin ignored, no shell.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { poll } from '../support/poll.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const SCRIPT = path.join(FIXTURES, 'fake-agent.mjs');
const BIN = path.join(FIXTURES, 'bin');

// Parsed JSON lines of the agents' own formats: the tests look into them field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  lines: Json[];
}

interface StartOptions {
  /** Scenario config: an object (passed inline) or a path to a JSON file. */
  config?: object | string;
  env?: Record<string, string>;
  cwd?: string;
  /** Run `command` from test/fixtures/bin through PATH instead of `node fake-agent.mjs`. */
  viaPath?: string;
  stateDir?: string | null;
}

const CLAUDE = [
  '--print',
  '--dangerously-skip-permissions',
  '--strict-mcp-config',
  '--output-format',
  'stream-json',
  '--verbose',
];
const CODEX = ['exec', '--json', '--dangerously-bypass-approvals-and-sandbox', '--skip-git-repo-check'];
const GEMINI = ['--yolo', '--skip-trust', '--output-format', 'stream-json'];
const claudeArgs = (prompt = 'hello', ...extra: string[]) => [...CLAUDE, ...extra, prompt];
const codexArgs = (prompt = 'hello', ...extra: string[]) => [...CODEX, ...extra, prompt];
const geminiArgs = (prompt = 'hello', ...extra: string[]) => [...GEMINI, ...extra, '-p', prompt];
const argsFor = { claude: claudeArgs, codex: codexArgs, gemini: geminiArgs } as const;
type Persona = keyof typeof argsFor;
const PERSONAS: Persona[] = ['claude', 'codex', 'gemini'];

const UNTRUSTED =
  '\u001b[31mGemini CLI is not running in a trusted directory. To proceed, either use `--skip-trust`, set the ' +
  '`GEMINI_CLI_TRUST_WORKSPACE=true` environment variable, or trust this directory in interactive mode. For more ' +
  'details, see https://geminicli.com/docs/cli/trusted-folders/#headless-and-automated-environments\u001b[0m\n';
const YOLO = 'YOLO mode is enabled. All tool calls will be automatically approved.\n';
const NOT_TRUSTED_DIR = 'Not inside a trusted directory and --skip-git-repo-check was not specified.\n';
const READING_STDIN = 'Reading additional input from stdin...\n';

let tmp: string;
let workdir: string;
const spawned = new Set<ChildProcess>();
const extraPids: number[] = [];

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-agent-test-'));
  workdir = path.join(tmp, 'work');
  fs.mkdirSync(workdir);
});

afterEach(() => {
  for (const child of spawned) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  spawned.clear();
  for (const pid of extraPids.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

function start(args: string[], options: StartOptions = {}): ChildProcess {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? tmp };
  if (options.stateDir !== null) env.FAKE_AGENT_STATE_DIR = options.stateDir ?? path.join(tmp, 'state');
  if (options.config !== undefined) {
    env.FAKE_AGENT_CONFIG = typeof options.config === 'string' ? options.config : JSON.stringify(options.config);
  }
  Object.assign(env, options.env);
  if (options.viaPath) env.PATH = `${BIN}${path.delimiter}${env.PATH}`;
  const child = options.viaPath
    ? spawn(options.viaPath, args, { cwd: options.cwd ?? workdir, env, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, [SCRIPT, ...args], {
        cwd: options.cwd ?? workdir,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
  spawned.add(child);
  return child;
}

function collect(child: ChildProcess): { stdout: () => string; stderr: () => string; chunks: string[] } {
  let stdout = '';
  let stderr = '';
  const chunks: string[] = [];
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    chunks.push(d);
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return { stdout: () => stdout, stderr: () => stderr, chunks };
}

function parseLines(stdout: string): Json[] {
  return stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Json);
}

function finished(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
}

async function run(args: string[], options: StartOptions = {}): Promise<Result> {
  const child = start(args, options);
  const out = collect(child);
  const { code, signal } = await finished(child);
  const stdout = out.stdout();
  let lines: Json[] = [];
  try {
    lines = parseLines(stdout);
  } catch {
    lines = [];
  }
  return { code, signal, stdout, stderr: out.stderr(), lines };
}

/** Resolves once stdout holds at least `count` lines. */
async function waitForLines(out: { stdout: () => string }, count: number, timeoutMs = 3000): Promise<void> {
  await poll(
    () => out.stdout().split('\n').filter(Boolean).length >= count,
    timeoutMs,
    () => `${count} lines; got:\n${out.stdout()}`,
    10,
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Running (a zombie nobody has reaped yet counts as gone: containers often lack a reaping init). */
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};
const types = (lines: Json[]) => lines.map((l) => (l.subtype ? `${l.type}/${l.subtype}` : l.type));
const scenario = (s: object) => ({ default: { delayMs: 1, ...s } });
const launches = (stateDir = path.join(tmp, 'state')): Json[] =>
  parseLines(fs.readFileSync(path.join(stateDir, 'launches.jsonl'), 'utf8'));
/** The text a run ends with: claude result.result, codex last agent_message, gemini concatenated deltas. */
function finalText(persona: Persona, lines: Json[]): string {
  if (persona === 'claude') return lines.at(-1).result;
  if (persona === 'codex') return lines.filter((l) => l.item?.type === 'agent_message').at(-1).item.text;
  return lines
    .filter((l) => l.type === 'message' && l.role === 'assistant')
    .map((l) => l.content)
    .join('');
}
function sessionOf(persona: Persona, lines: Json[]): string {
  return persona === 'codex' ? lines[0].thread_id : lines[0].session_id;
}

describe('persona detection', () => {
  it('tells the persona from the argv shape', async () => {
    const claude = await run(claudeArgs());
    const codex = await run(codexArgs());
    const gemini = await run(geminiArgs());
    expect(claude.lines[0]).toMatchObject({ type: 'system', subtype: 'init', claude_code_version: '2.1.329' });
    expect(codex.lines[0].type).toBe('thread.started');
    expect(gemini.lines[0].type).toBe('init');
  });

  it('is found on PATH under each CLI name (test/fixtures/bin) and trusts the name over the argv', async () => {
    const claude = await run(claudeArgs(), { viaPath: 'claude' });
    expect(claude.code).toBe(0);
    expect(claude.lines[0].subtype).toBe('init');
    // `gemini "hello"` has no -p: only the name says gemini (a positional query is a headless prompt without a TTY).
    const gemini = await run(['--output-format', 'stream-json', 'hello'], { viaPath: 'gemini' });
    expect(gemini.code).toBe(0);
    expect(gemini.lines.map((l) => l.type)).toEqual(['init', 'message', 'message', 'message', 'message', 'result']);
    const codex = await run(codexArgs(), { viaPath: 'codex' });
    expect(codex.lines[0].type).toBe('thread.started');
  });

  it('lets FAKE_AGENT_PERSONA override, and then parses argv as that CLI would', async () => {
    const result = await run(claudeArgs(), { env: { FAKE_AGENT_PERSONA: 'gemini' } });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(
        '^Unknown arguments: print, dangerously-skip-permissions, dangerouslySkipPermissions, ' +
          String.raw`strict-mcp-config, strictMcpConfig, verbose\nUsage: gemini \[options\] \[command\]\n`,
      ),
    );
  });

  it('refuses argv it cannot attribute, naming the fix', async () => {
    const result = await run(['hello']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^fake-agent: cannot tell which agent CLI to impersonate .* set FAKE_AGENT_PERSONA\n$/,
    );
  });
});

describe('default success', () => {
  it('claude: init, one line per assistant block, result; exit 0', async () => {
    const { code, lines, stderr } = await run(['--add-dir', tmp, ...claudeArgs()]);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(types(lines)).toEqual(['system/init', 'assistant', 'assistant', 'assistant', 'result/success']);
    const [init, , , , result] = lines;
    expect(init).toMatchObject({
      cwd: workdir,
      model: 'claude-opus-5-5',
      permissionMode: 'bypassPermissions',
      apiKeySource: 'none',
      claude_code_version: '2.1.329',
      additional_directories: [tmp],
    });
    expect(init.session_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(init.tools).toContain('Bash');
    expect(lines[1].message).toMatchObject({ role: 'assistant', content: [{ type: 'text' }] });
    expect(result).toMatchObject({
      type: 'result',
      subtype: 'success',
      is_error: false,
      result: 'Done. The task is complete.',
      session_id: init.session_id,
      num_turns: 1,
      terminal_reason: 'completed',
      api_error_status: null,
    });
    expect(result.total_cost_usd).toBeGreaterThan(0);
    expect(result.usage).toMatchObject({ input_tokens: 12, output_tokens: 9 });
    expect(result.duration_ms).toBeGreaterThanOrEqual(0);
  });

  it('claude: --output-format json prints only the result object, text only its text', async () => {
    const json = await run(['--print', '--output-format', 'json', 'hello']);
    expect(json.code).toBe(0);
    expect(json.lines).toHaveLength(1);
    expect(json.lines[0]).toMatchObject({ type: 'result', is_error: false, result: 'Done. The task is complete.' });
    const text = await run(['--print', 'hello']);
    expect(text.stdout).toBe('Done. The task is complete.\n');
  });

  it('codex: thread.started, turn.started, items, final agent_message, turn.completed; exit 0', async () => {
    const { code, lines, stderr } = await run(codexArgs('hello', '-C', workdir, '-m', 'gpt-5.5'), { cwd: tmp });
    expect(code).toBe(0);
    expect(stderr).toBe(READING_STDIN);
    expect(types(lines)).toEqual([
      'thread.started',
      'turn.started',
      'item.completed',
      'item.completed',
      'item.completed',
      'item.completed',
      'turn.completed',
    ]);
    expect(lines[0].thread_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(lines[2].item).toMatchObject({ id: 'item_0', type: 'reasoning' });
    expect(lines[5].item).toEqual({ id: 'item_3', type: 'agent_message', text: 'Done. The task is complete.' });
    expect(lines[6].usage).toEqual({
      input_tokens: 1200,
      cached_input_tokens: 200,
      cache_write_input_tokens: 0,
      output_tokens: 34,
      reasoning_output_tokens: 8,
    });
  });

  it('gemini: init, user message, assistant deltas, result; YOLO notice twice on stderr; exit 0', async () => {
    const { code, lines, stderr } = await run(geminiArgs('hello', '--include-directories', `${tmp},/x`));
    expect(code).toBe(0);
    expect(stderr).toBe(YOLO + YOLO);
    expect(lines.map((l) => l.type)).toEqual(['init', 'message', 'message', 'message', 'message', 'result']);
    expect(lines[0]).toMatchObject({ session_id: expect.any(String), model: 'auto', timestamp: expect.any(String) });
    expect(lines[1]).toMatchObject({ role: 'user', content: 'hello' });
    expect(lines[2]).toMatchObject({ role: 'assistant', delta: true });
    expect(finalText('gemini', lines)).toBe('Done. The task is complete.');
    expect(lines[5]).toMatchObject({
      status: 'success',
      stats: { total_tokens: 1269, input_tokens: 1250, output_tokens: 19, cached: 200, input: 1050, tool_calls: 0 },
    });
  });

  it('gemini: json prints one pretty object at the end, text only the answer', async () => {
    const json = await run(['--skip-trust', '-o', 'json', '-p', 'hi']);
    expect(json.stdout.startsWith('{\n  "session_id": ')).toBe(true);
    expect(JSON.parse(json.stdout)).toMatchObject({
      response: 'Done. The task is complete.',
      stats: { tools: { totalCalls: 0 } },
    });
    const text = await run(['--skip-trust', '-p', 'hi']);
    expect(text.stdout).toBe('Done. The task is complete.\n');
    expect(text.stderr).toBe('');
  });

  it('writes each line whole with one write, spread over time', async () => {
    const child = start(codexArgs(), { config: { default: { delayMs: 40, lines: 3 } } });
    const out = collect(child);
    await finished(child);
    expect(out.chunks.length).toBeGreaterThan(3);
    for (const chunk of out.chunks) expect(chunk.endsWith('\n')).toBe(true);
  });
});

describe('argv rejected like the real CLIs', () => {
  it('claude: stream-json without --verbose', async () => {
    const result = await run(['--print', '--output-format', 'stream-json', 'hello']);
    expect(result).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'Error: When using --print, --output-format=stream-json requires --verbose\n',
    });
  });

  it('claude: unknown options, bad choices, missing values (commander)', async () => {
    expect(await run(claudeArgs('hi', '--bogus'))).toMatchObject({
      code: 1,
      stdout: '',
      stderr: "error: unknown option '--bogus'\n",
    });
    expect((await run(claudeArgs('hi', '--verbos'))).stderr).toBe(
      "error: unknown option '--verbos'\n(Did you mean --verbose?)\n",
    );
    expect((await run(['--print', '--output-format', 'xml', 'hi'])).stderr).toBe(
      "error: option '--output-format <format>' argument 'xml' is invalid. " +
        'Allowed choices are text, json, stream-json.\n',
    );
    expect((await run(['--print', 'hi', '--model'])).stderr).toBe("error: option '--model <model>' argument missing\n");
  });

  it('claude: --add-dir is variadic, so a prompt right after it is taken for a directory', async () => {
    const ok = await run([...CLAUDE, '--add-dir=/a', '--add-dir', '/b', '/c', '--model', 'opus', 'hi']);
    expect(ok.code).toBe(0);
    expect(ok.lines[0]).toMatchObject({ additional_directories: ['/a', '/b', '/c'], model: 'opus' });
    const swallowed = await run([...CLAUDE, '--add-dir', '/a', 'hi']);
    expect(swallowed).toMatchObject({
      code: 1,
      stderr: 'Error: Input must be provided either through stdin or as a prompt argument when using --print\n',
    });
  });

  it('codex: unknown flags are clap errors, exit 2', async () => {
    const result = await run(codexArgs('hi', '--bogus'));
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      "error: unexpected argument '--bogus' found\n\n  tip: to pass '--bogus' as a value, use '-- --bogus'\n\n" +
        'Usage: codex exec --json --dangerously-bypass-approvals-and-sandbox --skip-git-repo-check [PROMPT]\n\n' +
        "For more information, try '--help'.\n",
    );
    // Nothing recognised before it: the full usage.
    expect((await run(['exec', '--bogus', 'hi'])).stderr).toContain(
      'Usage: codex exec [OPTIONS] [PROMPT]\n       codex exec [OPTIONS] <COMMAND> [ARGS]\n',
    );
    expect((await run(['exec', '--jsn', 'hi'])).stderr).toContain("tip: a similar argument exists: '--json'");
    expect((await run([...CODEX, '--json', 'hi'])).stderr).toMatch(
      /^error: the argument '--json' cannot be used multiple times\n/,
    );
    expect((await run([...CODEX, '-s', 'everything', 'hi'])).stderr).toMatch(
      /^error: invalid value 'everything' for '--sandbox <SANDBOX_MODE>'\n/,
    );
  });

  it('codex: flags after `resume` that resume does not take (-C, --cd, --add-dir) are rejected', async () => {
    const id = '01a1fc97-eab6-7170-953d-daff501f8b9c';
    const short = await run([...CODEX, 'resume', id, 'again', '-C', workdir]);
    expect(short).toMatchObject({ code: 2, stdout: '' });
    expect(short.stderr).toBe(
      "error: unexpected argument '-C' found\n\n  tip: to pass '-C' as a value, use '-- -C'\n\n" +
        "Usage: codex exec resume [OPTIONS] [SESSION_ID] [PROMPT]\n\nFor more information, try '--help'.\n",
    );
    const long = await run(['exec', 'resume', '--json', '--cd', workdir, id, 'again']);
    expect(long.code).toBe(2);
    expect(long.stderr).toMatch(
      new RegExp(
        String.raw`^error: unexpected argument '--cd' found\n\n {2}tip: to pass '--cd' as a value, use '-- --cd'\n\n` +
          String.raw`Usage: codex exec resume --json \[SESSION_ID\] \[PROMPT\]\n`,
      ),
    );
    expect((await run([...CODEX, 'resume', '--add-dir', '/x', id, 'again'])).code).toBe(2);
  });

  it('gemini: unknown arguments (yargs strict), with the help after the message', async () => {
    const result = await run(geminiArgs('hi', '--bogus'));
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^Unknown argument: bogus\nUsage: gemini \[options\] \[command\]\n\nGemini CLI - /);
    expect((await run(geminiArgs('hi', '--output-fmt', 'json'))).stderr).toMatch(
      /^Unknown arguments: output-fmt, outputFmt\n/,
    );
    expect((await run(['-p', 'hi', '-o', 'xml'])).stderr).toMatch(
      /^Invalid values:\n {2}Argument: output-format, Given: "xml", Choices: "text", "json", "stream-json"\n/,
    );
  });
});

describe('scripted failures', () => {
  it('claude auth: the offline not-logged-in transcript, exit 1', async () => {
    const { code, lines, stderr } = await run(claudeArgs(), { config: scenario({ fail: 'auth' }) });
    expect(code).toBe(1);
    expect(stderr).toBe('');
    expect(types(lines)).toEqual(['system/init', 'assistant', 'result/success']);
    expect(lines[0].apiKeySource).toBe('none');
    expect(lines[1]).toMatchObject({
      error: 'authentication_failed',
      is_api_error_message: true,
      message: { model: '<synthetic>', content: [{ type: 'text', text: 'Not logged in · Please run /login' }] },
    });
    expect(lines[2]).toMatchObject({
      is_error: true,
      subtype: 'success',
      terminal_reason: 'api_error',
      api_error_status: null,
      result: 'Not logged in · Please run /login',
      num_turns: 1,
      total_cost_usd: 0,
    });
  });

  it('claude auth with an API key: retries, then the 401 invalid-key result', async () => {
    const { code, lines } = await run(claudeArgs(), {
      config: scenario({ fail: 'auth' }),
      env: { ANTHROPIC_API_KEY: 'dummy' },
    });
    expect(code).toBe(1);
    expect(types(lines)).toEqual([
      'system/init',
      'system/api_retry',
      'system/api_retry',
      'assistant',
      'result/success',
    ]);
    expect(lines[1]).toMatchObject({ attempt: 1, max_retries: 2, error_status: 401, error: 'authentication_failed' });
    expect(lines[4]).toMatchObject({
      is_error: true,
      api_error_status: 401,
      result: 'Invalid API key · Fix external API key',
    });
  });

  it('claude rate_limit: api_retry lines then the 429 result', async () => {
    const { code, lines } = await run(claudeArgs(), { config: scenario({ fail: 'rate_limit' }) });
    expect(code).toBe(1);
    expect(types(lines)).toEqual([
      'system/init',
      'system/api_retry',
      'system/api_retry',
      'assistant',
      'result/success',
    ]);
    expect(lines[3]).toMatchObject({ error: 'rate_limit', api_error_status: 429 });
    expect(lines[4]).toMatchObject({
      is_error: true,
      api_error_status: 429,
      api_error_type: 'rate_limit_error',
      terminal_reason: 'api_error',
    });
    expect(lines[4].result).toMatch(/^API Error: Request rejected \(429\) · /);
  });

  it('claude rate_limit_reset: a rejected rate_limit_event with resetsAt before the 429 result', async () => {
    const before = Math.floor(Date.now() / 1000);
    const { code, lines } = await run(claudeArgs(), {
      config: scenario({ fail: 'rate_limit_reset', retryAfterSec: 30 }),
    });
    expect(code).toBe(1);
    expect(types(lines)).toEqual(['system/init', 'rate_limit_event', 'assistant', 'result/success']);
    expect(lines[1].rate_limit_info.status).toBe('rejected');
    expect(lines[1].rate_limit_info.resetsAt).toBeGreaterThanOrEqual(before + 30);
    expect(lines[1].rate_limit_info.resetsAt).toBeLessThanOrEqual(before + 32);
    expect(lines[3].api_error_status).toBe(429);
  });

  it.each([
    ['quota', 'billing_error', 400, /^Credit balance is too low$/],
    ['network', 'unknown', null, /Connection error/],
    ['server_error', 'server_error', 500, /^API Error: 500 \{"type":"error","error":\{"type":"api_error"/],
  ])('claude %s: synthetic assistant error and is_error result, exit 1', async (fail, error, status, text) => {
    const { code, lines } = await run(claudeArgs(), { config: scenario({ fail }) });
    expect(code).toBe(1);
    expect(lines.at(-2)).toMatchObject({ type: 'assistant', error, message: { model: '<synthetic>' } });
    expect(lines.at(-1)).toMatchObject({
      type: 'result',
      is_error: true,
      api_error_status: status,
      terminal_reason: 'api_error',
    });
    expect(lines.at(-1).result).toMatch(text);
  });

  it('claude max_turns: error_max_turns after --max-turns tool turns, exit 1', async () => {
    const { code, lines } = await run(claudeArgs('loop', '--max-turns', '3'), {
      config: scenario({ fail: 'max_turns' }),
    });
    expect(code).toBe(1);
    expect(types(lines)).toEqual([
      'system/init',
      ...Array(3).fill(['assistant', 'user']).flat(),
      'result/error_max_turns',
    ]);
    expect(lines.at(-1)).toMatchObject({
      is_error: true,
      num_turns: 4,
      terminal_reason: 'max_turns',
      errors: ['Reached maximum number of turns (3)'],
    });
  });

  it.each([
    [
      'auth',
      ['thread.started', 'turn.started', 'error', 'error', 'turn.failed'],
      /^unexpected status 401 Unauthorized: /,
    ],
    [
      'rate_limit',
      ['thread.started', 'turn.started', 'error', 'error', 'turn.failed'],
      /^exceeded retry limit, last status: 429 Too Many Requests$/,
    ],
    [
      'quota',
      ['thread.started', 'turn.started', 'error', 'turn.failed'],
      /^Quota exceeded\. Check your plan and billing details\.$/,
    ],
    [
      'server_error',
      ['thread.started', 'turn.started', 'error', 'error', 'turn.failed'],
      /^We’re currently experiencing high demand/,
    ],
  ])('codex %s: error lines then turn.failed, exit 1', async (fail, expected, message) => {
    const { code, lines, stderr } = await run(codexArgs(), { config: scenario({ fail }) });
    expect(code).toBe(1);
    expect(stderr).toBe(READING_STDIN);
    expect(types(lines)).toEqual(expected);
    expect(lines.at(-1).error.message).toMatch(message);
    if (expected.length === 5) expect(lines[2].message).toMatch(/^Reconnecting\.\.\. 1\/1 \(/);
  });

  it('codex rate_limit_reset: the usage-limit message with a local clock time retryAfterSec ahead', async () => {
    const clock = (d: Date) =>
      `${d.getHours() % 12 || 12}:${String(d.getMinutes()).padStart(2, '0')} ${d.getHours() < 12 ? 'AM' : 'PM'}`;
    const before = clock(new Date(Date.now() + 90_000));
    const { code, lines } = await run(codexArgs(), {
      config: scenario({ fail: 'rate_limit_reset', retryAfterSec: 90 }),
    });
    const after = clock(new Date(Date.now() + 90_000));
    expect(code).toBe(1);
    expect(types(lines)).toEqual(['thread.started', 'turn.started', 'error', 'turn.failed']);
    const message: string = lines.at(-1).error.message;
    expect(message).toMatch(
      new RegExp(
        String.raw`^You've hit your usage limit\. Upgrade to Pro \(https:\/\/openai\.com\/chatgpt\/pricing\) ` +
          String.raw`or try again at \d{1,2}:\d{2} (AM|PM)\.$`,
      ),
    );
    expect([before, after]).toContain(message.match(/at (.*)\.$/)?.[1]);
  });

  it('codex network: "waiting for network" forever, until killed', async () => {
    const child = start(codexArgs(), { config: scenario({ fail: 'network', intervalMs: 20 }) });
    const out = collect(child);
    await waitForLines(out, 12);
    expect(child.exitCode).toBeNull();
    const lines = parseLines(out.stdout());
    expect(lines.slice(0, 2).map((l) => l.type)).toEqual(['thread.started', 'turn.started']);
    expect(lines[6].item).toMatchObject({
      type: 'error',
      message: expect.stringMatching(/^Falling back from WebSockets/),
    });
    expect(
      lines
        .slice(7)
        .every((l) => l.message === 'Reconnecting... waiting for network (Connection failed: error sending request)'),
    ).toBe(true);
    expect(lines.some((l) => l.type === 'turn.failed')).toBe(false);
    child.kill('SIGKILL');
    expect((await finished(child)).signal).toBe('SIGKILL');
  });

  it('gemini auth: plain stderr, nothing on stdout, exit 41 (json mode: the error as pretty JSON)', async () => {
    const stream = await run(geminiArgs(), { config: scenario({ fail: 'auth' }) });
    expect(stream).toMatchObject({ code: 41, stdout: '' });
    expect(stream.stderr).toBe(
      `${YOLO}Please set an Auth method in your ${os.homedir()}/.gemini/settings.json ` +
        'or specify one of the following environment variables before running: ' +
        'GEMINI_API_KEY, GOOGLE_GENAI_USE_VERTEXAI, GOOGLE_GENAI_USE_GCA\n',
    );
    const json = await run(['--skip-trust', '-o', 'json', '-p', 'hi'], { config: scenario({ fail: 'auth' }) });
    expect(json.code).toBe(41);
    expect(JSON.parse(json.stderr)).toMatchObject({ error: { type: 'Error', code: 41 } });
  });

  it.each([
    [
      'rate_limit',
      173,
      /^\[API Error: Resource has been exhausted \(e\.g\. check quota\)\.\]\nPlease wait and try again later\./,
    ],
    ['quota', 173, /^\[API Error: You have exhausted your daily quota on this model\.\]/],
    ['server_error', 244, /^\[API Error: \{"error":\{"code":500,/],
    ['network', 1, /^\[API Error: exception TypeError: fetch failed sending request\]$/],
  ])('gemini %s: error result, exit %i', async (fail, exit, message) => {
    const { code, lines } = await run(geminiArgs(), { config: scenario({ fail }) });
    expect(code).toBe(exit);
    expect(lines.map((l) => l.type)).toEqual(['init', 'message', 'result']);
    expect(lines[2]).toMatchObject({ status: 'error', error: { type: 'unknown' }, stats: { total_tokens: 0 } });
    expect(lines[2].error.message).toMatch(message);
  });

  it('gemini max_turns: FatalTurnLimitedError result, exit 53', async () => {
    const { code, lines } = await run(geminiArgs(), { config: scenario({ fail: 'max_turns' }) });
    expect(code).toBe(53);
    expect(lines.map((l) => l.type)).toEqual([
      'init',
      'message',
      'tool_use',
      'tool_result',
      'tool_use',
      'tool_result',
      'result',
    ]);
    expect(lines.at(-1)).toMatchObject({
      status: 'error',
      error: { type: 'FatalTurnLimitedError' },
      stats: { tool_calls: 2 },
    });
  });

  it.each(PERSONAS)('%s invalid_args: the CLI rejecting an unknown flag', async (persona) => {
    const result = await run(argsFor[persona](), { config: scenario({ fail: 'invalid_args' }) });
    const expected = {
      claude: [1, "error: unknown option '--bogus'\n"],
      codex: [2, "error: unexpected argument '--bogus' found\n"],
      gemini: [1, 'Unknown argument: bogus\n'],
    }[persona];
    expect(result.code).toBe(expected[0]);
    expect(result.stdout).toBe('');
    expect(result.stderr.startsWith(expected[1] as string)).toBe(true);
  });

  it.each(PERSONAS)('%s crash: a normal line or two, then a stack trace, exit 1', async (persona) => {
    const result = await run(argsFor[persona](), { config: scenario({ fail: 'crash' }) });
    expect(result.code).toBe(1);
    expect(result.lines.length).toBeGreaterThanOrEqual(2);
    expect(result.stderr).toMatch(
      persona === 'codex'
        ? /thread 'main' panicked at /
        : /TypeError: Cannot read properties of undefined[\s\S]*\n {4}at /,
    );
  });

  it('crash with a signal dies of that signal', async () => {
    const result = await run(claudeArgs(), { config: scenario({ fail: 'crash', signal: 'SIGSEGV' }) });
    expect(result.signal).toBe('SIGSEGV');
    expect(result.lines.length).toBe(2);
  });

  it.each(PERSONAS)('%s killed: SIGKILLs itself after its first lines', async (persona) => {
    const result = await run(argsFor[persona](), { config: scenario({ fail: 'killed' }) });
    expect(result).toMatchObject({ code: null, signal: 'SIGKILL' });
    expect(result.lines.length).toBeGreaterThanOrEqual(1);
  });

  it.each(PERSONAS)('%s stall: its first lines, then nothing at all', async (persona) => {
    const child = start(argsFor[persona](), { config: scenario({ fail: 'stall' }) });
    const out = collect(child);
    await waitForLines(out, persona === 'claude' ? 1 : 2);
    const seen = out.stdout();
    await sleep(300);
    expect(out.stdout()).toBe(seen);
    expect(child.exitCode).toBeNull();
    child.kill('SIGKILL');
    await finished(child);
  });

  it('failTimes: the first launches fail, later ones succeed (counted in the state dir)', async () => {
    const config = scenario({ fail: 'rate_limit', failTimes: 1 });
    const first = await run(codexArgs(), { config });
    const second = await run(codexArgs(), { config });
    expect(first.code).toBe(1);
    expect(first.lines.at(-1).type).toBe('turn.failed');
    expect(second.code).toBe(0);
    expect(second.lines.at(-1).type).toBe('turn.completed');
    expect(JSON.parse(fs.readFileSync(path.join(tmp, 'state', 'counters.json'), 'utf8'))).toEqual({
      'codex:default': 2,
    });
  });

  it('a failure the persona does not have never happens to it', async () => {
    const result = await run(claudeArgs(), { config: scenario({ fail: 'untrusted_folder' }) });
    expect(result.code).toBe(0);
    expect(launches()[0]).toMatchObject({ fail: 'untrusted_folder', failApplied: null });
  });
});

describe('conditional failures and their fixes', () => {
  it('codex outside a git repository needs --skip-git-repo-check (or the bypass flag)', async () => {
    // Nothing above tmp is looked at: a stray .git there (an empty /tmp/.git) would put workdir in a repository.
    const env = { FAKE_AGENT_GIT_CEILING: tmp };
    const bare = await run(['exec', '--json', 'hi'], { env });
    expect(bare).toMatchObject({ code: 1, stdout: '', stderr: READING_STDIN + NOT_TRUSTED_DIR });
    expect((await run(['exec', '--json', '--skip-git-repo-check', 'hi'], { env })).code).toBe(0);
    expect((await run(['exec', '--json', '--dangerously-bypass-approvals-and-sandbox', 'hi'], { env })).code).toBe(0);
    fs.mkdirSync(path.join(workdir, '.git'));
    fs.mkdirSync(path.join(workdir, 'sub'));
    expect((await run(['exec', '--json', '-C', path.join(workdir, 'sub'), 'hi'], { cwd: tmp, env })).code).toBe(0);
  });

  it(
    'codex counts any .git above the work dir, even an empty folder or a file, as codex does; ' +
      'not above FAKE_AGENT_GIT_CEILING',
    async () => {
      const sub = path.join(workdir, 'a', 'b');
      fs.mkdirSync(sub, { recursive: true });
      fs.mkdirSync(path.join(tmp, '.git')); // empty: git itself would not call it a repository
      const args = ['exec', '--json', '-C', sub, 'hi'];
      expect((await run(args)).code).toBe(0);
      const below = await run(args, { env: { FAKE_AGENT_GIT_CEILING: tmp } });
      expect(below).toMatchObject({ code: 1, stderr: READING_STDIN + NOT_TRUSTED_DIR });
      // The work dir itself is always looked at, even when it is the ceiling; a `.git` file counts too.
      fs.writeFileSync(path.join(sub, '.git'), 'gitdir: /elsewhere\n');
      expect((await run(args, { env: { FAKE_AGENT_GIT_CEILING: sub } })).code).toBe(0);
    },
  );

  it('codex fail not_git_repo (or assumeNotGit) treats even a repository as outside git', async () => {
    fs.mkdirSync(path.join(workdir, '.git'));
    for (const s of [{ fail: 'not_git_repo' }, { assumeNotGit: true }]) {
      const refused = await run(['exec', '--json', 'hi'], { config: scenario(s) });
      expect(refused).toMatchObject({ code: 1, stderr: READING_STDIN + NOT_TRUSTED_DIR });
      expect((await run(['exec', '--json', '--skip-git-repo-check', 'hi'], { config: scenario(s) })).code).toBe(0);
    }
  });

  it('gemini in an untrusted folder: exit 55, the real message; --skip-trust or the env variable fix it', async () => {
    for (const s of [{ untrusted: true }, { fail: 'untrusted_folder' }]) {
      const refused = await run(['--yolo', '--include-directories', tmp, '--output-format', 'json', '-p', 'hi'], {
        config: scenario(s),
      });
      expect(refused.code).toBe(55);
      expect(refused.stdout).toBe('');
      const overridden = 'Approval mode overridden to "default" because the current folder is not trusted.\n';
      expect(refused.stderr).toBe(YOLO + overridden + YOLO + overridden + UNTRUSTED);
      expect(
        (await run(['--yolo', '--skip-trust', '-o', 'stream-json', '-p', 'hi'], { config: scenario(s) })).code,
      ).toBe(0);
      const byEnv = await run(['--yolo', '-o', 'stream-json', '-p', 'hi'], {
        config: scenario(s),
        env: { GEMINI_CLI_TRUST_WORKSPACE: 'true' },
      });
      expect(byEnv.code).toBe(0);
    }
  });

  it('claude refuses the bypass flags as root unless IS_SANDBOX=1 (only when the scenario enforces it)', async () => {
    const refusal = '--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons\n';
    const config = scenario({ fail: 'root_bypass_refused' });
    expect(await run(claudeArgs(), { config })).toMatchObject({ code: 1, stdout: '', stderr: refusal });
    const byMode = await run(
      ['--print', '--permission-mode', 'bypassPermissions', '--output-format', 'stream-json', '--verbose', 'hi'],
      { config },
    );
    expect(byMode).toMatchObject({ code: 1, stderr: refusal });
    expect((await run(claudeArgs(), { config, env: { IS_SANDBOX: '1' } })).code).toBe(0);
    expect((await run(['--print', '--output-format', 'stream-json', '--verbose', 'hi'], { config })).code).toBe(0);
    const startup = await run(claudeArgs(), { config, env: { CLAUDE_CODE_STARTUP_FAILURE_RESULTS: '1' } });
    expect(startup.lines[0]).toMatchObject({ type: 'result', is_error: true, startup_failure_reason: 'bypass_root' });
    // enforceRoot applies the real uid check; by default the fake never refuses.
    expect((await run(claudeArgs())).code).toBe(0);
    const enforced = await run(claudeArgs(), { config: scenario({ enforceRoot: true }) });
    if (process.getuid?.() === 0) expect(enforced).toMatchObject({ code: 1, stderr: refusal });
    else expect(enforced.code).toBe(0);
  });
});

describe('resume', () => {
  it.each(PERSONAS)('%s: resuming an issued session keeps its id', async (persona) => {
    const first = await run(argsFor[persona]('remember kiwi'));
    const id = sessionOf(persona, first.lines);
    const resumeArgs = {
      claude: [...CLAUDE, '--resume', id, 'what was the word'],
      codex: [...CODEX, 'resume', id, 'what was the word'],
      gemini: [...GEMINI, '--resume', id, '-p', 'what was the word'],
    }[persona];
    const second = await run(resumeArgs);
    expect(second.code).toBe(0);
    expect(sessionOf(persona, second.lines)).toBe(id);
    if (persona === 'claude') {
      expect(second.lines.at(-1).session_id).toBe(id);
      expect(second.lines.at(-1).total_cost_usd).toBeCloseTo(2 * first.lines.at(-1).total_cost_usd, 9);
    }
    if (persona === 'codex') {
      expect(second.stderr).toBe('');
      expect(second.lines.at(-1).usage.input_tokens).toBe(2400);
    }
  });

  it('unknown ids fail with each CLI’s own message', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    expect(await run([...CLAUDE, '--resume', id, 'again'])).toMatchObject({
      code: 1,
      stdout: '',
      stderr: `No conversation found with session ID: ${id}\n`,
    });
    expect(await run([...CODEX, 'resume', id, 'again'])).toMatchObject({
      code: 1,
      stdout: '',
      stderr: `Error: thread/resume: thread/resume failed: no rollout found for thread id ${id} (code -32600)\n`,
    });
    expect(await run([...GEMINI, '--resume', id, '-p', 'again'])).toMatchObject({
      code: 42,
      stdout: '',
      stderr:
        `Error resuming session: Invalid session identifier "${id}".\n` +
        `  Searched for sessions in ${os.homedir()}/.gemini${workdir}/chats.\n` +
        '  Use --list-sessions to see available sessions, ' +
        'then use --resume {number}, --resume {uuid}, or --resume latest.\n',
    });
  });

  it('gemini sessions are scoped to the working directory; "latest" picks the newest', async () => {
    const first = await run(geminiArgs());
    const id = first.lines[0].session_id;
    expect((await run([...GEMINI, '--resume', id, '-p', 'again'], { cwd: tmp })).code).toBe(42);
    const latest = await run([...GEMINI, '--resume', 'latest', '-p', 'again']);
    expect(latest.lines[0].session_id).toBe(id);
  });

  it('resume_not_found refuses even a known id; verdictOnResume and match.resume steer resumed launches', async () => {
    const first = await run(codexArgs());
    const id = first.lines[0].thread_id;
    const refused = await run([...CODEX, 'resume', id, 'again'], { config: scenario({ fail: 'resume_not_found' }) });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`no rollout found for thread id ${id}`);
    const config = {
      rules: [
        {
          match: { agent: 'codex', resume: true },
          scenario: {
            delayMs: 1,
            verdict: { verdict: 'approve' },
            verdictOnResume: { verdict: 'blocker' },
            verdictStyle: 'bare',
          },
        },
      ],
    };
    const resumed = await run([...CODEX, 'resume', id, 'again'], { config });
    expect(JSON.parse(finalText('codex', resumed.lines))).toEqual({ verdict: 'blocker' });
    const fresh = await run(codexArgs(), { config });
    expect(finalText('codex', fresh.lines)).toBe('Done. The task is complete.');
  });
});

describe('what a successful run does', () => {
  it.each(PERSONAS)('%s writeFiles: really writes the files and reports them', async (persona) => {
    fs.writeFileSync(path.join(workdir, 'blocker'), 'a regular file');
    const config = scenario({
      writeFiles: [
        { path: 'src/new.txt', content: 'hello\n' },
        { path: path.join(workdir, 'blocker', 'cannot.txt'), content: 'x' },
      ],
    });
    const { code, lines } = await run(argsFor[persona](), { config });
    expect(code).toBe(0);
    expect(fs.readFileSync(path.join(workdir, 'src', 'new.txt'), 'utf8')).toBe('hello\n');
    const target = path.join(workdir, 'src', 'new.txt');
    if (persona === 'claude') {
      const uses = lines.filter((l) => l.message?.content?.[0]?.type === 'tool_use');
      expect(uses.map((l) => l.message.content[0].input.file_path)).toEqual([
        target,
        path.join(workdir, 'blocker', 'cannot.txt'),
      ]);
      const results = lines.filter((l) => l.type === 'user').map((l) => l.message.content[0]);
      expect(results[0]).toMatchObject({
        type: 'tool_result',
        is_error: false,
        content: `File created successfully at: ${target}`,
      });
      expect(results[1]).toMatchObject({
        is_error: true,
        content: expect.stringMatching(/^<tool_use_error>ENOTDIR: not a directory/),
      });
      expect(lines.at(-1).num_turns).toBe(3);
    } else if (persona === 'codex') {
      const changes = lines.filter((l) => l.item?.type === 'file_change').map((l) => l.item);
      expect(changes).toEqual([
        { id: 'item_0', type: 'file_change', changes: [{ path: target, kind: 'add' }], status: 'completed' },
        {
          id: 'item_1',
          type: 'file_change',
          changes: [{ path: path.join(workdir, 'blocker', 'cannot.txt'), kind: 'add' }],
          status: 'failed',
        },
      ]);
    } else {
      expect(lines.filter((l) => l.type === 'tool_use').map((l) => l.tool_name)).toEqual(['write_file', 'write_file']);
      const results = lines.filter((l) => l.type === 'tool_result');
      expect(results[0]).toMatchObject({
        status: 'success',
        output: `Successfully created and wrote to new file: ${target}.`,
      });
      expect(results[1]).toMatchObject({ status: 'error', error: { type: 'file_write_failure' } });
      expect(lines.at(-1).stats.tool_calls).toBe(2);
    }
  });

  it.each(PERSONAS)('%s commands: reported as run, never executed', async (persona) => {
    const marker = path.join(tmp, 'must-not-exist');
    const { code, lines } = await run(argsFor[persona](), { config: scenario({ commands: [`touch ${marker}`] }) });
    expect(code).toBe(0);
    expect(fs.existsSync(marker)).toBe(false);
    if (persona === 'claude') {
      const use = lines.find((l) => l.message?.content?.[0]?.type === 'tool_use').message.content[0];
      expect(use).toMatchObject({ name: 'Bash', input: { command: `touch ${marker}` } });
      expect(lines.find((l) => l.type === 'user').message.content[0]).toMatchObject({
        is_error: false,
        content: '(Bash completed with no output)',
      });
    } else if (persona === 'codex') {
      const items = lines.filter((l) => l.item?.type === 'command_execution');
      expect(items.map((l) => [l.type, l.item.status, l.item.exit_code])).toEqual([
        ['item.started', 'in_progress', null],
        ['item.completed', 'completed', 0],
      ]);
      expect(items[0].item.command).toBe(`/bin/bash -lc 'touch ${marker}'`);
    } else {
      expect(lines.find((l) => l.type === 'tool_use')).toMatchObject({
        tool_name: 'run_shell_command',
        parameters: { command: `touch ${marker}` },
      });
      expect(lines.find((l) => l.type === 'tool_result')).toMatchObject({ status: 'success' });
    }
  });

  it.each(PERSONAS)('%s plan: the todo list, one item completed at a time', async (persona) => {
    const { lines } = await run(argsFor[persona](), { config: scenario({ plan: ['read', 'fix', 'test'] }) });
    if (persona === 'claude') {
      const todos = lines
        .filter((l) => l.message?.content?.[0]?.name === 'TodoWrite')
        .map((l) => l.message.content[0].input.todos);
      expect(todos.map((t: Json[]) => t.map((i) => i.status))).toEqual([
        ['in_progress', 'pending', 'pending'],
        ['completed', 'in_progress', 'pending'],
        ['completed', 'completed', 'in_progress'],
        ['completed', 'completed', 'completed'],
      ]);
    } else if (persona === 'codex') {
      const todo = lines.filter((l) => l.item?.type === 'todo_list');
      expect(todo.map((l) => l.type)).toEqual(['item.started', 'item.updated', 'item.updated', 'item.completed']);
      expect(todo.map((l) => l.item.items.filter((i: Json) => i.completed).length)).toEqual([0, 1, 2, 3]);
      expect(todo[0].item.items[0]).toEqual({ text: 'read', completed: false });
    } else {
      const uses = lines.filter((l) => l.tool_name === 'write_todos');
      expect(uses).toHaveLength(4);
      expect(uses[1].parameters.todos).toEqual([
        { description: 'read', status: 'completed' },
        { description: 'fix', status: 'in_progress' },
        { description: 'test', status: 'pending' },
      ]);
    }
  });

  describe('verdict styles', () => {
    const verdict = {
      verdict: 'blocker',
      summary: 'The migration drops a column.',
      issues: [{ file: 'db.sql', line: 3 }],
    };
    const fenced = (text: string) => text.match(/```json\n([\s\S]*?)\n```/)?.[1];

    it.each(PERSONAS)('%s: fenced (default), bare, prose, broken, none', async (persona) => {
      const textFor = async (verdictStyle?: string) =>
        finalText(
          persona,
          (await run(argsFor[persona](), { config: scenario({ verdict, verdictStyle, finalText: 'Reviewed.' }) }))
            .lines,
        );
      const fencedText = await textFor(undefined);
      expect(fencedText.startsWith('Reviewed.')).toBe(true);
      expect(JSON.parse(fenced(fencedText) ?? '')).toEqual(verdict);
      expect(JSON.parse(await textFor('bare'))).toEqual(verdict);
      const prose = await textFor('prose');
      expect(prose).toMatch(/^Reviewed\. .+ and I stand by it\.$/);
      expect(prose).toContain(JSON.stringify(verdict));
      const broken = fenced(await textFor('broken'));
      expect(broken).toContain('"verdict": "blocker"');
      expect(() => JSON.parse(broken ?? '')).toThrow();
      const none = await textFor('none');
      expect(none).toBe('Reviewed. Verdict: blocker. The migration drops a column.');
    });
  });

  it('usage lands in each persona’s own usage shape', async () => {
    const usage = { inputTokens: 1000, outputTokens: 200, costUsd: 0.5 };
    const claude = await run(claudeArgs(), { config: scenario({ usage }) });
    expect(claude.lines.at(-1)).toMatchObject({
      total_cost_usd: 0.5,
      usage: { input_tokens: 1000, output_tokens: 200 },
    });
    const codex = await run(codexArgs(), { config: scenario({ usage }) });
    expect(codex.lines.at(-1).usage).toMatchObject({ input_tokens: 1000, output_tokens: 200 });
    const gemini = await run(geminiArgs(), { config: scenario({ usage }) });
    expect(gemini.lines.at(-1).stats).toMatchObject({ input_tokens: 1000, output_tokens: 200, total_tokens: 1200 });
  });

  it('usageSteps: claude shows them progressively; every persona totals them at the end', async () => {
    const usageSteps = [
      { inputTokens: 100, outputTokens: 10 },
      { inputTokens: 150, outputTokens: 20 },
      { inputTokens: 50, outputTokens: 5 },
    ];
    const claude = await run(claudeArgs(), { config: scenario({ usageSteps, lines: 0 }) });
    const perMessage = claude.lines
      .filter((l) => l.type === 'assistant')
      .slice(0, 3)
      .map((l) => l.message.usage.input_tokens);
    expect(perMessage).toEqual([100, 150, 50]);
    expect(claude.lines.at(-1).usage).toMatchObject({ input_tokens: 300, output_tokens: 35 });
    const codex = await run(codexArgs(), { config: scenario({ usageSteps }) });
    expect(codex.lines.filter((l) => l.type === 'turn.completed')).toHaveLength(1);
    expect(codex.lines.at(-1).usage).toMatchObject({ input_tokens: 300, output_tokens: 35 });
    const gemini = await run(geminiArgs(), { config: scenario({ usageSteps }) });
    expect(gemini.lines.at(-1).stats).toMatchObject({ input_tokens: 300, output_tokens: 35 });
  });

  it('lines: extra progress messages (claude, codex) or extra answer chunks (gemini)', async () => {
    const claude = await run(claudeArgs(), { config: scenario({ lines: 5 }) });
    expect(claude.lines.filter((l) => l.type === 'assistant')).toHaveLength(6);
    const codex = await run(codexArgs(), { config: scenario({ lines: 0 }) });
    expect(codex.lines.filter((l) => l.item?.type === 'agent_message')).toHaveLength(1);
    const gemini = await run(geminiArgs(), {
      config: scenario({ lines: 4, finalText: 'one two three four five six seven' }),
    });
    const deltas = gemini.lines.filter((l) => l.role === 'assistant');
    expect(deltas).toHaveLength(5);
    expect(finalText('gemini', gemini.lines)).toBe('one two three four five six seven');
  });

  it('exitCode and stderr override what the run ends with', async () => {
    const result = await run(claudeArgs(), { config: scenario({ exitCode: 3, stderr: 'warning: something odd' }) });
    expect(result.code).toBe(3);
    expect(result.stderr).toBe('warning: something odd\n');
    expect(result.lines.at(-1).is_error).toBe(false);
  });

  it(
    'transcript: replays a recorded file verbatim, with its stderr and exit code ' +
      '(paths relative to the config file)',
    async () => {
      const lines = ['{"type":"thread.started","thread_id":"t-1"}', '{"type":"turn.started"}', 'not json at all'];
      fs.writeFileSync(path.join(tmp, 'run.jsonl'), `${lines.join('\n')}\n`);
      fs.writeFileSync(path.join(tmp, 'run.stderr.txt'), 'boom\n');
      const configPath = path.join(tmp, 'fake.json');
      fs.writeFileSync(
        configPath,
        JSON.stringify({ codex: { transcript: 'run.jsonl', stderrFile: 'run.stderr.txt', exitCode: 7, delayMs: 1 } }),
      );
      const result = await run(codexArgs(), { config: configPath, stateDir: null });
      expect(result.code).toBe(7);
      expect(result.stdout).toBe(`${lines.join('\n')}\n`);
      expect(result.stderr).toBe(`${READING_STDIN}boom\n`);
      // Without FAKE_AGENT_STATE_DIR the state lives beside the config file.
      expect(launches(path.join(tmp, '.fake-agent-state'))).toHaveLength(1);
    },
  );
});

describe('rules and launch records', () => {
  it('the first rule whose every match field holds wins, else the persona, else default', async () => {
    const config = {
      rules: [
        { match: { agent: 'codex', promptIncludes: 'REVIEW' }, scenario: { delayMs: 1, finalText: 'reviewer' } },
        { match: { cwdIncludes: 'other' }, scenario: { delayMs: 1, finalText: 'other dir' } },
      ],
      claude: { delayMs: 1, finalText: 'claude persona' },
      default: { delayMs: 1, finalText: 'default' },
    };
    const other = path.join(tmp, 'other');
    fs.mkdirSync(other);
    expect(finalText('codex', (await run(codexArgs('please REVIEW this'), { config })).lines)).toBe('reviewer');
    expect(finalText('codex', (await run(codexArgs('implement'), { config })).lines)).toBe('default');
    expect(finalText('codex', (await run(codexArgs('implement', '-C', other), { config })).lines)).toBe('other dir');
    expect(finalText('claude', (await run(claudeArgs('REVIEW'), { config })).lines)).toBe('claude persona');
    expect(finalText('gemini', (await run(geminiArgs('x'), { config, cwd: other })).lines)).toBe('other dir');
    expect(launches().map((l) => l.key)).toEqual(['codex:0', 'codex:default', 'codex:1', 'claude:persona', 'gemini:1']);
  });

  it('launches.jsonl records how and how often each agent was launched', async () => {
    const config = scenario({ key: 'impl' });
    await run(codexArgs('one'), { config });
    await run(codexArgs('two'), { config, env: { IS_SANDBOX: '1' } });
    await run(codexArgs('three', '--bogus'), { config });
    const records = launches();
    expect(records).toHaveLength(3);
    expect(records[0]).toMatchObject({
      persona: 'codex',
      argv: codexArgs('one'),
      cwd: workdir,
      workdir,
      launch: 1,
      key: 'impl',
      resume: null,
      env: { IS_SANDBOX: null, GEMINI_CLI_TRUST_WORKSPACE: null },
    });
    expect(records[0].pid).toEqual(expect.any(Number));
    expect(records[1]).toMatchObject({ launch: 2, env: { IS_SANDBOX: '1' } });
    expect(records[2]).toMatchObject({ launch: null, rejected: { exitCode: 2 } });
  });

  it('a broken config is the fake’s own error (exit 2, prefixed fake-agent:)', async () => {
    const result = await run(claudeArgs(), { config: { default: { fail: 'meltdown' } } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^fake-agent: config\.default\.fail "meltdown" is not one of auth, /);
  });
});

describe('process behaviour', () => {
  it('SIGTERM ends it promptly (death by SIGTERM, 143 in a shell)', async () => {
    const child = start(claudeArgs(), { config: scenario({ fail: 'stall' }) });
    const out = collect(child);
    await waitForLines(out, 1);
    const t0 = Date.now();
    child.kill('SIGTERM');
    expect((await finished(child)).signal).toBe('SIGTERM');
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('ignoreSigterm: only SIGKILL ends it', async () => {
    const child = start(geminiArgs(), { config: scenario({ fail: 'stall', ignoreSigterm: true }) });
    const out = collect(child);
    await waitForLines(out, 2);
    child.kill('SIGTERM');
    await sleep(200);
    expect(child.exitCode).toBeNull();
    expect(child.signalCode).toBeNull();
    child.kill('SIGKILL');
    expect((await finished(child)).signal).toBe('SIGKILL');
  });

  it(
    'spawnChild: a child in the same process group, recorded, ' + 'gone when the fake ends, orphaned by a SIGKILL',
    async () => {
      const config = scenario({ fail: 'stall', spawnChild: true });
      const childrenOf = () => parseLines(fs.readFileSync(path.join(tmp, 'state', 'children.jsonl'), 'utf8'));
      const first = start(codexArgs(), { config });
      await waitForLines(collect(first), 2);
      const [record] = childrenOf();
      extraPids.push(record.pid);
      expect(record.parentPid).toBe(first.pid);
      expect(alive(record.pid)).toBe(true);
      const pgid = (pid: number) => fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[2];
      expect(pgid(record.pid)).toBe(pgid(first.pid as number));
      first.kill('SIGTERM');
      await finished(first);
      await sleep(100);
      expect(alive(record.pid)).toBe(false);

      const second = start(codexArgs(), { config });
      await waitForLines(collect(second), 2);
      const orphan = childrenOf()[1].pid;
      extraPids.push(orphan);
      second.kill('SIGKILL');
      await finished(second);
      await sleep(100);
      expect(alive(orphan)).toBe(true);
    },
  );

  it('memoryMb: really holds that much memory for holdMs', async () => {
    const child = start(claudeArgs(), { config: scenario({ memoryMb: 64, holdMs: 2000, lines: 0 }) });
    const out = collect(child);
    await waitForLines(out, 1);
    await sleep(150);
    const rssKb = Number(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)?.[1]);
    expect(rssKb).toBeGreaterThan(64 * 1024);
    expect(parseLines(out.stdout())).toHaveLength(1);
    child.kill('SIGKILL');
    await finished(child);
  });

  it('holdUntil: no final answer until the file exists (relative to the work dir), whatever the persona', async () => {
    for (const persona of PERSONAS) {
      const release = `release-${persona}`;
      const child = start(argsFor[persona](), { config: scenario({ holdUntil: release, lines: 0 }) });
      const out = collect(child);
      const done = finished(child);
      await waitForLines(out, 1, 20_000);
      // Held: still running well after its last line (the release is this test's word, not a duration).
      await sleep(500);
      expect([child.exitCode, child.signalCode]).toEqual([null, null]);
      const held = out.stdout();
      fs.writeFileSync(path.join(workdir, release), '');
      expect((await done).code).toBe(0);
      expect(out.stdout().length).toBeGreaterThan(held.length);
      expect(finalText(persona, parseLines(out.stdout()))).toBe('Done. The task is complete.');
    }
  });

  it('heartbeatMs: a held agent prints a progress line that often until released', async () => {
    for (const persona of PERSONAS) {
      const release = `release-${persona}`;
      const config = scenario({ holdUntil: release, heartbeatMs: 50, lines: 0 });
      const child = start(argsFor[persona](), { config });
      const out = collect(child);
      const done = finished(child);
      await waitForLines(out, 1, 20_000);
      const first = out.stdout().split('\n').filter(Boolean).length;
      await waitForLines(out, first + 3, 20_000);
      fs.writeFileSync(path.join(workdir, release), '');
      expect((await done).code).toBe(0);
      expect(finalText(persona, parseLines(out.stdout()))).toBe('Done. The task is complete.');
    }
  });

  it('holdUntil gives up after holdUntilMaxMs and finishes as if released; a non-string one is refused', async () => {
    const given = await run(codexArgs(), { config: scenario({ holdUntil: 'never', holdUntilMaxMs: 200 }) });
    expect(given.code).toBe(0);
    expect(given.lines.at(-1).type).toBe('turn.completed');
    const bad = await run(codexArgs(), { config: scenario({ holdUntil: 5 }) });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('holdUntil must be a path');
  });
});

describe('codex app-server (interactive mode)', () => {
  /** `codex app-server` with a pipe on stdin: `send` a message, `next` the next line matching, `lines` so far. */
  function appServer(config: object) {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: tmp,
      FAKE_AGENT_STATE_DIR: path.join(tmp, 'state'),
      FAKE_AGENT_CONFIG: JSON.stringify(config),
    };
    const child = spawn(path.join(BIN, 'codex'), ['app-server', '--disable', 'plugins'], {
      cwd: workdir,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    spawned.add(child);
    const out = collect(child);
    const lines = () => parseLines(out.stdout());
    return {
      child,
      lines,
      send: (value: object) => child.stdin?.write(`${JSON.stringify(value)}\n`),
      next: async (match: (line: Json) => boolean, what: string) => {
        await poll(
          () => lines().some(match),
          10_000,
          () => `${what}; got:\n${out.stdout()}${out.stderr()}`,
          10,
        );
        return lines().find(match);
      },
    };
  }
  const hello = { id: 'i', method: 'initialize', params: { clientInfo: { name: 't', version: '1' } } };
  const input = (text: string) => [{ type: 'text', text, text_elements: [] }];

  it(
    'asks before each command under "untrusted": a declined one never runs, an accepted one does; ' +
      'stdin end exits 0',
    async () => {
      const s = appServer({
        codex: {
          delayMs: 1,
          commands: [
            { command: 'touch no.txt', creates: 'no.txt' },
            { command: 'touch yes.txt', creates: 'yes.txt' },
          ],
        },
      });
      s.send(hello);
      s.send({ method: 'initialized' });
      s.send({ id: 't', method: 'thread/start', params: { cwd: workdir, approvalPolicy: 'untrusted' } });
      const thread = (await s.next((l) => l.id === 't', 'the thread')).result.thread.id;
      s.send({ id: 'p', method: 'turn/start', params: { threadId: thread, input: input('go') } });
      const first = await s.next((l) => l.method === 'item/commandExecution/requestApproval', 'the first request');
      expect(first).toMatchObject({ id: 0, params: { command: "/bin/bash -lc 'touch no.txt'", threadId: thread } });
      s.send({ id: 0, result: { decision: 'decline' } });
      await s.next((l) => l.id === 1 && l.method !== undefined, 'the second request');
      s.send({ id: 1, result: { decision: 'accept' } });
      const done = await s.next((l) => l.method === 'turn/completed', 'the turn');
      expect(done.params.turn).toMatchObject({ status: 'completed', items: [{ text: 'Done. The task is complete.' }] });
      const commands = s
        .lines()
        .filter((l) => l.method === 'item/completed' && l.params.item.type === 'commandExecution');
      expect(commands.map((l) => l.params.item.status)).toEqual(['declined', 'completed']);
      expect(fs.existsSync(path.join(workdir, 'no.txt'))).toBe(false);
      expect(fs.existsSync(path.join(workdir, 'yes.txt'))).toBe(true);
      s.child.stdin?.end();
      expect(await finished(s.child)).toEqual({ code: 0, signal: null });
    },
  );

  it('a resume of a thread it never had is an error; a steer with no turn running is one too', async () => {
    const s = appServer({});
    s.send({ id: 'x', method: 'thread/start', params: {} });
    expect(await s.next((l) => l.id === 'x', 'the refusal')).toEqual({
      error: { code: -32600, message: 'Not initialized' },
      id: 'x',
    });
    s.send(hello);
    s.send({ id: 'r', method: 'thread/resume', params: { threadId: 'nope' } });
    expect((await s.next((l) => l.id === 'r', 'the resume')).error.message).toBe('no rollout found for thread id nope');
    s.send({ id: 's', method: 'turn/steer', params: { threadId: 'nope', expectedTurnId: 'x', input: input('hi') } });
    expect((await s.next((l) => l.id === 's', 'the steer')).error.message).toBe('no active turn to steer');
    s.child.stdin?.end();
    expect((await finished(s.child)).code).toBe(0);
  });
});

describe('gemini --acp (interactive mode)', () => {
  it('asks before each command in the default mode: a rejected one never runs; stdin end exits 0', async () => {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: tmp,
      FAKE_AGENT_STATE_DIR: path.join(tmp, 'state'),
      FAKE_AGENT_CONFIG: JSON.stringify({
        gemini: {
          delayMs: 1,
          commands: [
            { command: 'touch no.txt', creates: 'no.txt' },
            { command: 'touch yes.txt', creates: 'yes.txt' },
          ],
        },
      }),
    };
    const child = spawn(path.join(BIN, 'gemini'), ['--acp'], { cwd: workdir, env, stdio: ['pipe', 'pipe', 'pipe'] });
    spawned.add(child);
    const out = collect(child);
    const lines = () => parseLines(out.stdout());
    const send = (value: object) => child.stdin?.write(`${JSON.stringify({ jsonrpc: '2.0', ...value })}\n`);
    const next = async (match: (line: Json) => boolean, what: string) => {
      await poll(
        () => lines().some(match),
        10_000,
        () => `${what}; got:\n${out.stdout()}${out.stderr()}`,
        10,
      );
      return lines().find(match);
    };
    send({ id: 'i', method: 'initialize', params: { protocolVersion: 1, clientCapabilities: {} } });
    send({ id: 's', method: 'session/new', params: { cwd: workdir, mcpServers: [] } });
    const sid = (await next((l) => l.id === 's', 'the session')).result.sessionId;
    send({ id: 'p', method: 'session/prompt', params: { sessionId: sid, prompt: [{ type: 'text', text: 'go' }] } });
    const first = await next((l) => l.method === 'session/request_permission', 'the first request');
    expect(first).toMatchObject({ id: 0, params: { toolCall: { kind: 'execute', title: 'touch no.txt' } } });
    send({ id: 0, result: { outcome: { outcome: 'selected', optionId: 'cancel' } } });
    await next((l) => l.id === 1 && l.method !== undefined, 'the second request');
    send({ id: 1, result: { outcome: { outcome: 'selected', optionId: 'proceed_once' } } });
    expect((await next((l) => l.id === 'p', 'the prompt end')).result.stopReason).toBe('end_turn');
    expect(fs.existsSync(path.join(workdir, 'no.txt'))).toBe(false);
    expect(fs.existsSync(path.join(workdir, 'yes.txt'))).toBe(true);
    child.stdin?.end();
    expect(await finished(child)).toEqual({ code: 0, signal: null });
  });
});
