import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AgentPayloadSchema, type AgentPayload } from '../../src/domain/events.js';
import type { LaunchOptions } from '../../src/agents/types.js';
import {
  buildGeminiCommand,
  classifyGeminiFailure,
  geminiAdapter,
  httpStatusFromGeminiExit,
  parseGeminiLine,
} from '../../src/agents/gemini.js';

const fixture = (path: string) =>
  readFileSync(fileURLToPath(new URL(`../fixtures/transcripts/gemini/${path}`, import.meta.url)), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '');
const one = (value: unknown) => parseGeminiLine(JSON.stringify(value));
const toolUse = (tool_name: string, parameters: unknown) =>
  one({ type: 'tool_use', timestamp: 't', tool_name, tool_id: 'tool-1', parameters });

const base: LaunchOptions = { prompt: 'fix the bug', targetDir: '/repo', includeDirs: [], fixes: {} };

describe('buildGeminiCommand', () => {
  it('builds a fresh run', () => {
    expect(buildGeminiCommand({ ...base, includeDirs: ['/extra', '/more'] })).toEqual({
      args: [
        '-p',
        'fix the bug',
        '--yolo',
        '--include-directories',
        '/repo,/extra,/more',
        '--output-format',
        'stream-json',
      ],
      env: {},
    });
  });

  it('adds --skip-trust, the model and the resume id', () => {
    expect(
      buildGeminiCommand({
        ...base,
        model: 'gemini-3.5-pro',
        fixes: { skipTrust: true },
        resume: { agentSessionId: 'sess-1' },
      }).args,
    ).toEqual([
      '-p',
      'fix the bug',
      '--yolo',
      '--include-directories',
      '/repo',
      '--output-format',
      'stream-json',
      '--skip-trust',
      '-m',
      'gemini-3.5-pro',
      '--resume',
      'sess-1',
    ]);
  });

  it('readOnly uses plan approval mode instead of --yolo', () => {
    const { args } = buildGeminiCommand({ ...base, readOnly: true });
    expect(args).not.toContain('--yolo');
    expect(args.slice(2, 4)).toEqual(['--approval-mode', 'plan']);
  });

  it('resumeCommand is buildCommand with resume set', () => {
    expect(geminiAdapter.resumeCommand(base, 'sess-2')).toEqual(
      buildGeminiCommand({ ...base, resume: { agentSessionId: 'sess-2' } }),
    );
  });

  it('keeps the prompt one argv element, even when it starts with "-"', () => {
    const prompt = 'two\nlines "and quotes"';
    expect(buildGeminiCommand({ ...base, prompt }).args.slice(0, 2)).toEqual(['-p', prompt]);
    expect(buildGeminiCommand({ ...base, prompt: '-v please' }).args[0]).toBe('--prompt=-v please');
  });
});

describe('parseGeminiLine', () => {
  it('maps init and messages, keeping the delta flag', () => {
    const [init, user, delta] = fixture('captured/mock-success-stream-json.jsonl').map(parseGeminiLine);
    expect(init).toEqual([{ kind: 'init', agentSessionId: '4da88259-13ef-4275-a0bc-4457e38a24a2', model: 'auto' }]);
    expect(user).toEqual([{ kind: 'message', role: 'user', text: 'hello' }]);
    expect(delta).toEqual([{ kind: 'message', role: 'assistant', text: 'Hello! ', delta: true }]);
  });

  it('maps tool_use by tool', () => {
    expect(toolUse('run_shell_command', { command: 'ls', description: 'list' })).toEqual([
      { kind: 'command', status: 'started', command: 'ls', toolId: 'tool-1' },
    ]);
    expect(toolUse('write_file', { file_path: '/repo/a.ts', content: 'x' })).toEqual([
      { kind: 'file_change', status: 'proposed', toolId: 'tool-1', changes: [{ path: '/repo/a.ts', kind: 'add' }] },
    ]);
    expect(toolUse('replace', { file_path: '/repo/b.ts', old_string: 'a', new_string: 'b' })).toEqual([
      { kind: 'file_change', status: 'proposed', toolId: 'tool-1', changes: [{ path: '/repo/b.ts', kind: 'update' }] },
    ]);
    expect(
      toolUse('write_todos', {
        todos: [
          { description: 'plan', status: 'completed' },
          { description: 'do', status: 'pending' },
        ],
      }),
    ).toEqual([
      {
        kind: 'plan',
        items: [
          { text: 'plan', done: true },
          { text: 'do', done: false },
        ],
      },
    ]);
    expect(toolUse('read_file', { absolute_path: '/repo/c.ts' })).toEqual([
      { kind: 'tool_call', toolId: 'tool-1', name: 'read_file', input: { absolute_path: '/repo/c.ts' } },
    ]);
  });

  it('maps tool results: status, output or the error message', () => {
    const lines = fixture('captured/mock-tool-not-registered-error.jsonl');
    expect(parseGeminiLine(lines[3] ?? '')).toEqual([
      {
        kind: 'tool_result',
        toolId: 'run_shell_command__run_shell_command_1795239217547_0',
        ok: false,
        output:
          'Tool "run_shell_command" not found. Did you mean one of: "update_topic", "grep_search", "invoke_agent"?',
      },
    ]);
    expect(one({ type: 'tool_result', tool_id: 't', status: 'error', error: { type: 'x', message: 'boom' } })).toEqual([
      { kind: 'tool_result', toolId: 't', ok: false, output: 'boom' },
    ]);
  });

  it('maps error events by severity', () => {
    expect(one({ type: 'error', severity: 'warning', message: 'Loop detected' })).toEqual([
      { kind: 'error', message: 'Loop detected', warning: true },
    ]);
    expect(one({ type: 'error', severity: 'error', message: 'Maximum session turns exceeded' })).toEqual([
      { kind: 'error', message: 'Maximum session turns exceeded', warning: false },
    ]);
  });

  it('maps result to cumulative usage, then the result', () => {
    expect(parseGeminiLine(fixture('captured/mock-success-stream-json.jsonl').at(-1) ?? '')).toEqual([
      {
        kind: 'usage',
        cumulative: true,
        usage: { inputTokens: 1250, outputTokens: 19, cachedInputTokens: 200, totalTokens: 1269 },
      },
      { kind: 'result', ok: true, durationMs: 101 },
    ]);
    expect(parseGeminiLine(fixture('captured/mock-max-session-turns-stream-json.jsonl').at(-1) ?? '')[1]).toEqual({
      kind: 'result',
      ok: false,
      text:
        'Reached max session turns for this session. ' +
        'Increase the number of turns by specifying maxSessionTurns in settings.json.',
      reason: 'FatalTurnLimitedError',
      durationMs: 0,
    });
  });

  it('keeps unknown types, unknown roles and typeless lines as unknown', () => {
    for (const [value, originalType] of [
      [{ type: 'thought', content: 'hmm' }, 'thought'],
      [{ type: 'message', role: 'narrator', content: 'x' }, 'message'],
      [{ type: 'message', role: 'constructor', content: 'x' }, 'message'],
      [{ content: 'x' }, '(no type)'],
    ] as const) {
      expect(one(value)).toEqual([{ kind: 'unknown', originalType, raw: value }]);
    }
  });

  it('turns json-mode pretty JSON into malformed lines, one per line', () => {
    expect(parseGeminiLine('{')).toEqual([
      expect.objectContaining({ kind: 'malformed', line: '{', truncated: false, bytes: 1 }),
    ]);
    expect(parseGeminiLine('  "response": "Hello!",')).toEqual([
      expect.objectContaining({ kind: 'malformed', reason: 'not a JSON object' }),
    ]);
  });

  it('survives a 10 MB line, invalid UTF-8 and NUL bytes', () => {
    const huge = JSON.stringify({
      type: 'tool_result',
      tool_id: 't',
      status: 'success',
      output: 'y'.repeat(10 * 1024 * 1024),
    });
    expect(parseGeminiLine(huge)[0]).toMatchObject({ kind: 'tool_result', ok: true });
    const cut = parseGeminiLine(huge.slice(0, 5_000_000));
    expect(cut).toEqual([expect.objectContaining({ kind: 'malformed', truncated: true, bytes: 5_000_000 })]);
    for (const weird of [
      '\u0000',
      Buffer.from([0xf0, 0x28, 0x8c, 0x28]).toString('utf8'),
      '{"type":"message","role":"user","content":"\u0000"}',
    ]) {
      const payloads = parseGeminiLine(weird);
      expect(payloads.length).toBe(1);
      AgentPayloadSchema.parse(payloads[0]);
    }
  });
});

describe('classifyGeminiFailure', () => {
  const NOW = new Date('2026-11-21T12:00:00Z');
  const classify = (
    exitCode: number | null,
    stderrTail = '',
    events: AgentPayload[] = [],
    signal: string | null = null,
  ) => classifyGeminiFailure({ exitCode, signal, stderrTail, events, now: NOW });

  it('maps an API exit code back to its HTTP status', () => {
    expect([144, 147, 173, 244, 248, 1, 41, 130].map(httpStatusFromGeminiExit)).toEqual([
      400,
      403,
      429,
      500,
      504,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('returns null for exit 0 unless the result failed', () => {
    expect(classify(0)).toBeNull();
    expect(
      classify(
        0,
        '',
        one({
          type: 'result',
          status: 'error',
          error: { type: 'FatalTurnLimitedError', message: 'Reached max session turns' },
        }),
      ),
    ).toMatchObject({
      kind: 'max_turns',
    });
  });

  it('decides by exit code when stderr says nothing useful', () => {
    expect(classify(55)).toMatchObject({ kind: 'untrusted_folder', message: 'exited with code 55' });
    expect(classify(41, 'YOLO mode is enabled.')).toMatchObject({ kind: 'auth', message: 'YOLO mode is enabled.' });
    expect(classify(42, 'Unknown arguments: frob')).toMatchObject({ kind: 'invalid_args' });
    expect(classify(52)).toMatchObject({ kind: 'invalid_args' });
    expect(classify(53)).toMatchObject({ kind: 'max_turns' });
    expect(classify(173)).toMatchObject({ kind: 'rate_limit', httpStatus: 429 });
    expect(classify(247)).toMatchObject({ kind: 'server_error', httpStatus: 503 });
    expect(classify(145)).toMatchObject({ kind: 'auth', httpStatus: 401 });
    expect(classify(1)).toMatchObject({ kind: 'crashed', message: 'exited with code 1' });
    expect(classify(null, '', [], 'SIGKILL')).toMatchObject({ kind: 'crashed', message: 'killed by signal SIGKILL' });
  });

  it('strips ANSI colours from the quoted line', () => {
    const stderr =
      '\u001b[31mGemini CLI is not running in a trusted directory. To proceed, either use `--skip-trust`.\u001b[0m\n';
    expect(classify(55, stderr)?.message).toBe(
      'Gemini CLI is not running in a trusted directory. To proceed, either use `--skip-trust`.',
    );
  });

  it('reads retryAt from "Please retry in ..."', () => {
    const stderr =
      'Attempt 3 failed with status 429. Retrying with backoff... _ApiError: ' +
      '{"error":{"code":429,"message":"Quota exceeded for metric. Please retry in 23.5s.",' +
      '"status":"RESOURCE_EXHAUSTED"}}\n';
    expect(classify(173, stderr)).toMatchObject({
      kind: 'rate_limit',
      httpStatus: 429,
      retryAt: '2026-11-21T12:00:23.500Z',
    });
  });

  it('does not read quota for a per-minute 429 that mentions "check quota"', () => {
    const events = fixture('captured/mock-api-429-retryable-stream-json.jsonl').flatMap(parseGeminiLine);
    expect(classify(173, '', events)?.kind).toBe('rate_limit');
  });

  it('classifies network failures from the result or from stderr', () => {
    expect(classify(1, 'Error: getaddrinfo ENOTFOUND generativelanguage.googleapis.com')).toMatchObject({
      kind: 'network',
    });
    const events = fixture('captured/offline-network-failure-killed-by-timeout60.jsonl').flatMap(parseGeminiLine);
    expect(
      classify(
        null,
        'Attempt 1 failed. Retrying with backoff... Error: exception TypeError: fetch failed sending request',
        events,
        'SIGTERM',
      ),
    ).toMatchObject({
      kind: 'network',
      signal: 'SIGTERM',
      exitCode: null,
    });
  });
});
