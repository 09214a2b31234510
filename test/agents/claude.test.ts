import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AgentPayloadSchema, MALFORMED_LINE_LIMIT, type AgentPayload } from '../../src/domain/events.js';
import type { LaunchOptions } from '../../src/agents/types.js';
import { buildClaudeCommand, claudeAdapter, classifyClaudeFailure, parseClaudeLine } from '../../src/agents/claude.js';

const fixture = (path: string) =>
  readFileSync(fileURLToPath(new URL(`../fixtures/transcripts/claude/${path}`, import.meta.url)), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '');
const line = (value: unknown) => JSON.stringify(value);
const one = (value: unknown) => parseClaudeLine(line(value));

const base: LaunchOptions = { prompt: 'fix the bug', targetDir: '/repo', includeDirs: [], fixes: {} };
const NOW = new Date('2026-11-21T12:00:00Z');

describe('buildClaudeCommand', () => {
  it('builds a fresh run: bypass, one --add-dir= per directory, stream-json, prompt last', () => {
    expect(buildClaudeCommand({ ...base, includeDirs: ['/extra', '/more dirs'] })).toEqual({
      args: [
        '--print',
        '--dangerously-skip-permissions',
        '--strict-mcp-config',
        '--add-dir=/repo',
        '--add-dir=/extra',
        '--add-dir=/more dirs',
        '--output-format',
        'stream-json',
        '--verbose',
        'fix the bug',
      ],
      env: {},
    });
  });

  it('adds the model and the resume id before the prompt', () => {
    const { args } = buildClaudeCommand({ ...base, model: 'claude-opus-5-5', resume: { agentSessionId: 'sess-1' } });
    expect(args.slice(-5)).toEqual(['--model', 'claude-opus-5-5', '--resume', 'sess-1', 'fix the bug']);
  });

  it('resumeCommand is buildCommand with resume set', () => {
    expect(claudeAdapter.resumeCommand(base, 'sess-2')).toEqual(
      buildClaudeCommand({ ...base, resume: { agentSessionId: 'sess-2' } }),
    );
    expect(claudeAdapter.resumeCommand(base, 'sess-2').args).toContain('--resume');
  });

  it('readOnly asks for plan mode instead of bypassing permissions', () => {
    const { args } = buildClaudeCommand({ ...base, readOnly: true });
    expect(args).not.toContain('--dangerously-skip-permissions');
    expect(args.slice(0, 3)).toEqual(['--print', '--permission-mode', 'plan']);
  });

  it('fixes.isSandbox sets IS_SANDBOX=1 and nothing else', () => {
    expect(buildClaudeCommand({ ...base, fixes: { isSandbox: true } }).env).toEqual({ IS_SANDBOX: '1' });
    expect(buildClaudeCommand(base).env).toEqual({});
  });

  it('keeps a multi-line, quoted prompt as one argv element', () => {
    const prompt = 'line one\n"quoted" $(rm -rf /) `x`\nline three';
    const { args } = buildClaudeCommand({ ...base, prompt });
    expect(args.at(-1)).toBe(prompt);
    expect(args.filter((arg) => arg.includes('line one'))).toHaveLength(1);
  });

  it('ends the options before a prompt that starts with "-"', () => {
    expect(buildClaudeCommand({ ...base, prompt: '--help me' }).args.slice(-2)).toEqual(['--', '--help me']);
  });
});

describe('parseClaudeLine', () => {
  it('maps system/init', () => {
    expect(
      one({ type: 'system', subtype: 'init', session_id: 's1', model: 'claude-opus-5-5', cwd: '/repo', tools: [] }),
    ).toEqual([{ kind: 'init', agentSessionId: 's1', model: 'claude-opus-5-5', cwd: '/repo' }]);
  });

  it('maps system/api_retry to a retrying error', () => {
    const retry = fixture('captured/mock-api-429-rate-limit.jsonl')[1] ?? '';
    expect(parseClaudeLine(retry)).toEqual([
      {
        kind: 'error',
        message: 'API retry 1/2 after 1246 ms: 429 rate_limit',
        retrying: true,
        httpStatus: 429,
        code: 'rate_limit',
      },
    ]);
  });

  it('maps system/permission_denied to a warning naming the tool', () => {
    expect(
      one({
        type: 'system',
        subtype: 'permission_denied',
        tool_name: 'Bash',
        tool_use_id: 't1',
        decision_reason: 'Matched a deny rule',
      }),
    ).toEqual([
      {
        kind: 'error',
        warning: true,
        code: 'permission_denied',
        message: 'permission denied for Bash: Matched a deny rule',
      },
    ]);
  });

  it('keeps other system subtypes as unknown', () => {
    const value = { type: 'system', subtype: 'compact_boundary', compact_metadata: { trigger: 'auto' } };
    expect(one(value)).toEqual([{ kind: 'unknown', originalType: 'system/compact_boundary', raw: value }]);
  });

  it('maps assistant text, thinking and tool_use blocks, one payload each', () => {
    const payloads = one({
      type: 'assistant',
      message: {
        id: 'msg_1',
        content: [
          { type: 'thinking', thinking: 'Let me look.', signature: 'x' },
          { type: 'text', text: 'Running it.' },
          { type: 'tool_use', id: 'tu_1', name: 'Bash', input: { command: 'npm test', description: 'tests' } },
          { type: 'tool_use', id: 'tu_2', name: 'Write', input: { file_path: '/repo/a.ts', content: 'x' } },
          {
            type: 'tool_use',
            id: 'tu_3',
            name: 'Edit',
            input: { file_path: '/repo/b.ts', old_string: 'a', new_string: 'b' },
          },
          {
            type: 'tool_use',
            id: 'tu_4',
            name: 'NotebookEdit',
            input: { notebook_path: '/repo/n.ipynb', new_source: '' },
          },
          {
            type: 'tool_use',
            id: 'tu_5',
            name: 'TodoWrite',
            input: {
              todos: [
                { content: 'write tests', status: 'completed' },
                { content: 'fix', status: 'in_progress' },
              ],
            },
          },
          { type: 'tool_use', id: 'tu_6', name: 'Read', input: { file_path: '/repo/c.ts' } },
        ],
      },
    });
    expect(payloads).toEqual([
      { kind: 'reasoning', text: 'Let me look.' },
      { kind: 'message', role: 'assistant', text: 'Running it.', messageId: 'msg_1' },
      { kind: 'command', status: 'started', command: 'npm test', toolId: 'tu_1' },
      { kind: 'file_change', status: 'proposed', toolId: 'tu_2', changes: [{ path: '/repo/a.ts', kind: 'add' }] },
      { kind: 'file_change', status: 'proposed', toolId: 'tu_3', changes: [{ path: '/repo/b.ts', kind: 'update' }] },
      { kind: 'file_change', status: 'proposed', toolId: 'tu_4', changes: [{ path: '/repo/n.ipynb', kind: 'update' }] },
      {
        kind: 'plan',
        items: [
          { text: 'write tests', done: true },
          { text: 'fix', done: false },
        ],
      },
      { kind: 'tool_call', toolId: 'tu_6', name: 'Read', input: { file_path: '/repo/c.ts' } },
    ]);
  });

  it('turns a synthetic API-error assistant message into one error', () => {
    const synthetic = fixture('captured/mock-api-401-auth.jsonl')[3] ?? '';
    expect(parseClaudeLine(synthetic)).toEqual([
      {
        kind: 'error',
        message: 'Invalid API key · Fix external API key',
        httpStatus: 401,
        code: 'authentication_failed',
      },
    ]);
  });

  it('keeps an assistant line without content blocks as unknown', () => {
    const value = { type: 'assistant', message: { id: 'm', content: [] } };
    expect(one(value)).toEqual([{ kind: 'unknown', originalType: 'assistant', raw: value }]);
  });

  it('maps user tool results and text', () => {
    expect(
      one({
        type: 'user',
        message: {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'tu_1', content: 'ok\n', is_error: false },
            { type: 'tool_result', tool_use_id: 'tu_2', content: [{ type: 'text', text: 'denied' }], is_error: true },
            { type: 'tool_result', tool_use_id: 'tu_3', content: 'no flag means success' },
            { type: 'text', text: 'and also' },
          ],
        },
      }),
    ).toEqual([
      { kind: 'tool_result', toolId: 'tu_1', ok: true, output: 'ok\n' },
      { kind: 'tool_result', toolId: 'tu_2', ok: false, output: 'denied' },
      { kind: 'tool_result', toolId: 'tu_3', ok: true, output: 'no flag means success' },
      { kind: 'message', role: 'user', text: 'and also' },
    ]);
  });

  it('maps a result to cumulative usage, then the result', () => {
    const result = fixture('captured/mock-error-max-turns.jsonl').at(-1) ?? '';
    expect(parseClaudeLine(result)).toEqual([
      {
        kind: 'usage',
        cumulative: true,
        usage: { inputTokens: 24, outputTokens: 40, cachedInputTokens: 0, costUsd: 0.0008960000000000001 },
      },
      {
        kind: 'result',
        ok: false,
        reason: 'max_turns',
        errors: ['Reached maximum number of turns (2)'],
        numTurns: 3,
        durationMs: 236,
      },
    ]);
  });

  it('reads is_error, not subtype: a failed API call ends with subtype "success"', () => {
    const result = fixture('captured/mock-api-429-rate-limit.jsonl').at(-1) ?? '';
    expect(parseClaudeLine(result)[1]).toMatchObject({
      kind: 'result',
      ok: false,
      reason: 'api_error',
      httpStatus: 429,
    });
  });

  it('names the startup failure of a result that has no terminal reason', () => {
    const result = fixture('captured/offline-root-refused-with-STARTUP_FAILURE_RESULTS.jsonl')[0] ?? '';
    expect(parseClaudeLine(result)[1]).toMatchObject({ kind: 'result', ok: false, reason: 'bypass_root', numTurns: 0 });
  });

  it('drops numbers the schema cannot hold instead of emitting an invalid payload', () => {
    const payloads = one({
      type: 'result',
      is_error: true,
      api_error_status: 1e300,
      num_turns: 2 ** 53 + 2,
      total_cost_usd: -1,
      usage: { input_tokens: -5 },
    });
    expect(payloads).toEqual([
      { kind: 'usage', cumulative: true, usage: {} },
      { kind: 'result', ok: false },
    ]);
  });

  it('maps rate_limit_event: rejected is an error, allowed a warning', () => {
    const event = (status: string) => ({ type: 'rate_limit_event', rate_limit_info: { status, resetsAt: 1795266000 } });
    expect(one(event('rejected'))).toEqual([
      {
        kind: 'error',
        code: 'rate_limit',
        warning: false,
        message: 'rate limit rejected, resets at 2026-11-21T13:00:00.000Z',
      },
    ]);
    expect(one(event('allowed'))).toEqual([
      {
        kind: 'error',
        code: 'rate_limit',
        warning: true,
        message: 'rate limit allowed, resets at 2026-11-21T13:00:00.000Z',
      },
    ]);
  });

  it('keeps stream_event, unknown and typeless lines as unknown', () => {
    for (const [value, originalType] of [
      [{ type: 'stream_event', event: { type: 'message_stop' } }, 'stream_event'],
      [{ type: 'brand_new', x: 1 }, 'brand_new'],
      [{ no: 'type' }, '(no type)'],
    ] as const) {
      expect(one(value)).toEqual([{ kind: 'unknown', originalType, raw: value }]);
    }
  });

  it('returns nothing for blank lines', () => {
    expect(parseClaudeLine('')).toEqual([]);
    expect(parseClaudeLine('  \t \r')).toEqual([]);
  });

  it('keeps non-JSON lines as malformed, cut to 2 KiB', () => {
    expect(parseClaudeLine('Not logged in · Please run /login')).toEqual([
      {
        kind: 'malformed',
        line: 'Not logged in · Please run /login',
        truncated: false,
        bytes: 34,
        reason: 'not a JSON object',
      },
    ]);
    const long = `{"type":"assistant",${'x'.repeat(5000)}`;
    const [payload] = parseClaudeLine(long);
    expect(payload).toMatchObject({ kind: 'malformed', truncated: true, bytes: 5020 });
    expect(payload?.kind === 'malformed' && payload.line).toBe(long.slice(0, MALFORMED_LINE_LIMIT));
    expect(parseClaudeLine('[1,2]')).toEqual([
      expect.objectContaining({ kind: 'malformed', reason: 'not a JSON object' }),
    ]);
  });

  it('survives a 10 MB line, invalid UTF-8 and NUL bytes', () => {
    const huge = line({
      type: 'assistant',
      message: { id: 'm', content: [{ type: 'text', text: 'a'.repeat(10 * 1024 * 1024) }] },
    });
    const [message] = parseClaudeLine(huge);
    expect(message?.kind).toBe('message');
    expect(message?.kind === 'message' && message.text.length).toBeLessThan(20_000);
    const broken = Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x00, 0x22, 0x3a, 0x31]).toString('utf8');
    for (const weird of [broken, 'abc\u0000def', '{"type":"user\u0000"}', '\ud800{"a":1}', `${huge.slice(0, -3)}`]) {
      const payloads = parseClaudeLine(weird);
      expect(payloads.length).toBeGreaterThanOrEqual(1);
      for (const payload of payloads) AgentPayloadSchema.parse(payload);
    }
  });
});

describe('classifyClaudeFailure', () => {
  const run = (events: AgentPayload[], more: Partial<Parameters<typeof classifyClaudeFailure>[0]> = {}) =>
    classifyClaudeFailure({ exitCode: 1, signal: null, stderrTail: '', events, now: NOW, ...more });

  it('returns null for exit 0 without a failed result, even after a permission denial', () => {
    const events = [
      ...one({ type: 'system', subtype: 'permission_denied', tool_name: 'Bash' }),
      ...fixture('captured/mock-success-text.jsonl').flatMap(parseClaudeLine),
    ];
    expect(run(events, { exitCode: 0 })).toBeNull();
  });

  it("uses the result's api_error_type if its text names no cause (terminal_reason api_error: any API error)", () => {
    const result = (type: string) =>
      one({
        type: 'result',
        subtype: 'success',
        is_error: true,
        result: 'API Error: the request failed',
        terminal_reason: 'api_error',
        api_error_type: type,
      });
    expect(
      one({
        type: 'result',
        subtype: 'success',
        is_error: true,
        result: 'x',
        terminal_reason: 'api_error',
        api_error_type: 'rate_limit_error',
      }),
    ).toContainEqual(
      expect.objectContaining({ kind: 'result', ok: false, reason: 'api_error', errorType: 'rate_limit_error' }),
    );
    expect(run(result('rate_limit_error'))).toMatchObject({
      kind: 'rate_limit',
      message: 'API Error: the request failed',
    });
    expect(run(result('authentication_error'))).toMatchObject({ kind: 'auth' });
    expect(run(result('overloaded_error'))).toMatchObject({ kind: 'server_error' });
    expect(run(result('invalid_request_error'))).toMatchObject({ kind: 'crashed' });
  });

  it('does not trust exit 0 when the last result failed', () => {
    expect(run(fixture('captured/mock-error-max-turns.jsonl').flatMap(parseClaudeLine), { exitCode: 0 })).toMatchObject(
      {
        kind: 'max_turns',
      },
    );
  });

  it('reads retryAt from a rejected rate_limit_event', () => {
    const events = [
      ...one({ type: 'rate_limit_event', rate_limit_info: { status: 'rejected', resetsAt: 1795266000 } }),
      ...fixture('captured/mock-api-429-rate-limit.jsonl').slice(3).flatMap(parseClaudeLine),
    ];
    expect(run(events)).toEqual({
      kind: 'rate_limit',
      message: expect.stringContaining('Request rejected (429)'),
      exitCode: 1,
      signal: null,
      httpStatus: 429,
      retryAt: '2026-11-21T13:00:00.000Z',
    });
  });

  it('reads retryAt from a subscription usage-limit message', () => {
    const events = one({
      type: 'result',
      is_error: true,
      subtype: 'success',
      result: 'Claude AI usage limit reached|1795266000',
    });
    expect(run(events)).toMatchObject({ kind: 'rate_limit', retryAt: '2026-11-21T13:00:00.000Z' });
  });

  it('does not call an allowed rate-limit warning the cause of a crash', () => {
    const events = one({
      type: 'rate_limit_event',
      rate_limit_info: { status: 'allowed_warning', resetsAt: 1795266000 },
    });
    expect(run(events, { exitCode: null, signal: 'SIGKILL' })).toEqual({
      kind: 'crashed',
      message: 'killed by signal SIGKILL',
      exitCode: null,
      signal: 'SIGKILL',
    });
  });

  it('falls back on retry notices when the run was killed while retrying', () => {
    const retries = fixture('captured/mock-api-401-auth.jsonl').slice(1, 3).flatMap(parseClaudeLine);
    expect(run(retries, { exitCode: null, signal: 'SIGTERM' })).toMatchObject({ kind: 'auth', httpStatus: 401 });
  });

  it('classifies from stderr, ANSI stripped', () => {
    const cases = [
      ['No conversation found with session ID: abc-123', 'resume_not_found'],
      ["\u001b[31merror: unknown option '--frobnicate'\u001b[0m", 'invalid_args'],
      ['Unable to connect to API (ECONNREFUSED)', 'network'],
      ['Segmentation fault', 'crashed'],
    ] as const;
    for (const [stderr, kind] of cases) {
      const signal = run([], { stderrTail: `some noise\n${stderr}\n` });
      expect(signal?.kind, stderr).toBe(kind);
      expect(signal?.message).not.toContain('\u001b');
    }
    expect(run([], { stderrTail: "\u001b[31merror: unknown option '--frobnicate'\u001b[0m" })?.message).toBe(
      "error: unknown option '--frobnicate'",
    );
  });

  it('maps synthetic error codes: overloaded, billing, model not found', () => {
    const synthetic = (error: string, status?: number) =>
      one({
        type: 'assistant',
        error,
        api_error_status: status,
        message: { model: '<synthetic>', content: [{ type: 'text', text: `API Error: ${error}` }] },
      });
    expect(run(synthetic('overloaded', 529))).toMatchObject({ kind: 'server_error', httpStatus: 529 });
    expect(run(synthetic('billing_error', 400))).toMatchObject({ kind: 'quota' });
    expect(run(synthetic('model_not_found', 404))).toMatchObject({ kind: 'invalid_args', httpStatus: 404 });
  });
});

describe('claude: hopeless retries', () => {
  it('a retry notice for a rejected key or billing ends the run at once; a 429 or 529 retry does not', async () => {
    const { isHopelessClaudeRetry, parseClaudeLine: parse } = await import('../../src/agents/claude.js');
    const retry = (status: number, error: string) =>
      parse(
        JSON.stringify({
          type: 'system',
          subtype: 'api_retry',
          attempt: 1,
          max_retries: 10,
          retry_delay_ms: 600,
          error_status: status,
          error,
          session_id: 's',
        }),
      )[0]!;
    expect(isHopelessClaudeRetry(retry(401, 'authentication_failed'))).toBe(true);
    expect(isHopelessClaudeRetry(retry(402, 'billing_error'))).toBe(true);
    expect(isHopelessClaudeRetry(retry(429, 'rate_limit'))).toBe(false);
    expect(isHopelessClaudeRetry(retry(529, 'overloaded'))).toBe(false);
  });
});
