import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AgentPayloadSchema, type AgentPayload } from '../../src/domain/events.js';
import type { LaunchOptions } from '../../src/agents/types.js';
import { buildCodexCommand, classifyCodexFailure, codexAdapter, parseCodexLine } from '../../src/agents/codex.js';

const fixture = (path: string) =>
  readFileSync(fileURLToPath(new URL(`../fixtures/transcripts/codex/${path}`, import.meta.url)), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '');
const one = (value: unknown) => parseCodexLine(JSON.stringify(value));
const item = (type: string, fields: Record<string, unknown>, event = 'item.completed') =>
  one({ type: event, item: { id: 'item_7', type, ...fields } });

const base: LaunchOptions = { prompt: 'fix the bug', targetDir: '/repo', includeDirs: [], fixes: {} };

describe('buildCodexCommand', () => {
  it('builds a fresh run', () => {
    expect(buildCodexCommand(base)).toEqual({
      args: ['exec', '--json', '--dangerously-bypass-approvals-and-sandbox', '-C', '/repo', 'fix the bug'],
      env: {},
    });
  });

  it('adds --skip-git-repo-check, include dirs and the model', () => {
    expect(
      buildCodexCommand({
        ...base,
        includeDirs: ['/extra', '/more'],
        model: 'gpt-5.5',
        fixes: { skipGitRepoCheck: true },
      }).args,
    ).toEqual([
      'exec',
      '--json',
      '--dangerously-bypass-approvals-and-sandbox',
      '--skip-git-repo-check',
      '-C',
      '/repo',
      '--add-dir',
      '/extra',
      '--add-dir',
      '/more',
      '-m',
      'gpt-5.5',
      'fix the bug',
    ]);
  });

  it('readOnly uses the read-only sandbox instead of the bypass', () => {
    const { args } = buildCodexCommand({ ...base, readOnly: true });
    expect(args).toEqual(['exec', '--json', '--sandbox', 'read-only', '-C', '/repo', 'fix the bug']);
  });

  it('resumes with every flag before `resume <id> <prompt>`', () => {
    const options: LaunchOptions = {
      ...base,
      includeDirs: ['/extra'],
      model: 'gpt-5.5',
      fixes: { skipGitRepoCheck: true },
    };
    const { args } = codexAdapter.resumeCommand(options, 'thread-9');
    expect(args.slice(-3)).toEqual(['resume', 'thread-9', 'fix the bug']);
    const resumeAt = args.indexOf('resume');
    for (const flag of args.filter((arg) => arg.startsWith('-'))) expect(args.indexOf(flag)).toBeLessThan(resumeAt);
    expect(args).toEqual(buildCodexCommand({ ...options, resume: { agentSessionId: 'thread-9' } }).args);
  });

  it('keeps the prompt one argv element and ends options before a leading "-"', () => {
    const prompt = 'multi\nline "prompt" with $VARS';
    expect(buildCodexCommand({ ...base, prompt }).args.at(-1)).toBe(prompt);
    expect(buildCodexCommand({ ...base, prompt: '-x' }).args.slice(-2)).toEqual(['--', '-x']);
  });
});

describe('parseCodexLine', () => {
  it('maps thread and turn events', () => {
    expect(one({ type: 'thread.started', thread_id: 't-1' })).toEqual([{ kind: 'init', agentSessionId: 't-1' }]);
    expect(one({ type: 'turn.started' })).toEqual([{ kind: 'message', role: 'system', text: 'turn started' }]);
  });

  it('maps turn.completed to cumulative usage, then a successful result', () => {
    const completed = fixture('captured/mock-command-execution.jsonl').at(-1) ?? '';
    expect(parseCodexLine(completed)).toEqual([
      {
        kind: 'usage',
        cumulative: true,
        usage: { inputTokens: 2400, cachedInputTokens: 400, outputTokens: 68, reasoningTokens: 16 },
      },
      { kind: 'result', ok: true },
    ]);
  });

  it('maps turn.failed to a failed result', () => {
    expect(one({ type: 'turn.failed', error: { message: 'Quota exceeded.' } })).toEqual([
      { kind: 'result', ok: false, text: 'Quota exceeded.', errors: ['Quota exceeded.'] },
    ]);
  });

  it('marks top-level errors that are retry notices', () => {
    expect(one({ type: 'error', message: 'Reconnecting... 1/5 (stream disconnected)' })).toEqual([
      { kind: 'error', message: 'Reconnecting... 1/5 (stream disconnected)', retrying: true },
    ]);
    expect(one({ type: 'error', message: 'Quota exceeded.' })).toEqual([
      { kind: 'error', message: 'Quota exceeded.', retrying: false },
    ]);
  });

  it('maps agent messages and reasoning', () => {
    expect(item('agent_message', { text: 'Done.' })).toEqual([
      { kind: 'message', role: 'assistant', text: 'Done.', messageId: 'item_7' },
    ]);
    expect(item('reasoning', { text: '**Thinking**' })).toEqual([{ kind: 'reasoning', text: '**Thinking**' }]);
  });

  it('maps command executions through their statuses', () => {
    const [started, completed] = fixture('captured/mock-command-execution.jsonl').slice(2, 4).map(parseCodexLine);
    expect(started).toEqual([
      {
        kind: 'command',
        toolId: 'item_0',
        command: "/bin/bash -lc 'echo hello-from-tool'",
        status: 'started',
        exitCode: null,
      },
    ]);
    expect(completed).toEqual([
      {
        kind: 'command',
        toolId: 'item_0',
        command: "/bin/bash -lc 'echo hello-from-tool'",
        status: 'completed',
        exitCode: 0,
        output: 'hello-from-tool\n',
      },
    ]);
    expect(
      item('command_execution', { command: 'false', aggregated_output: '', exit_code: 1, status: 'failed' }),
    ).toEqual([{ kind: 'command', toolId: 'item_7', command: 'false', status: 'failed', exitCode: 1 }]);
    expect(item('command_execution', { command: 'x', status: 'constructor' }, 'item.started')).toEqual([
      { kind: 'command', toolId: 'item_7', command: 'x', status: 'started' },
    ]);
    expect(
      item('command_execution', { command: 'rm -rf /', aggregated_output: '', exit_code: null, status: 'declined' }),
    ).toEqual([{ kind: 'command', toolId: 'item_7', command: 'rm -rf /', status: 'declined', exitCode: null }]);
  });

  it('maps file changes', () => {
    const changes = [
      { path: '/repo/a.ts', kind: 'add' },
      { path: '/repo/b.ts', kind: 'update' },
      { path: '/repo/c.ts', kind: 'delete' },
    ];
    expect(item('file_change', { changes, status: 'completed' })).toEqual([
      { kind: 'file_change', toolId: 'item_7', changes, status: 'completed' },
    ]);
    expect(item('file_change', { changes: [{ path: '/repo/a.ts', kind: 'add' }], status: 'failed' })).toEqual([
      { kind: 'file_change', toolId: 'item_7', changes: [{ path: '/repo/a.ts', kind: 'add' }], status: 'failed' },
    ]);
  });

  it('maps MCP tool calls: the call when it starts, the result when it completes', () => {
    expect(
      item(
        'mcp_tool_call',
        { server: 'docs', tool: 'search', arguments: { q: 'x' }, status: 'in_progress' },
        'item.started',
      ),
    ).toEqual([{ kind: 'tool_call', toolId: 'item_7', name: 'docs.search', input: { q: 'x' } }]);
    expect(
      item('mcp_tool_call', {
        server: 'docs',
        tool: 'search',
        arguments: { q: 'x' },
        result: { content: [{ type: 'text', text: 'found it' }], structured_content: null },
        error: null,
        status: 'completed',
      }),
    ).toEqual([{ kind: 'tool_result', toolId: 'item_7', ok: true, output: 'found it' }]);
    expect(
      item('mcp_tool_call', {
        server: 'docs',
        tool: 'search',
        arguments: {},
        result: null,
        error: { message: 'timed out' },
        status: 'failed',
      }),
    ).toEqual([{ kind: 'tool_result', toolId: 'item_7', ok: false, output: 'timed out' }]);
  });

  it('maps web searches, todo lists and error items', () => {
    expect(item('web_search', { query: 'vitest 4' })).toEqual([
      { kind: 'tool_call', toolId: 'item_7', name: 'web_search', input: { query: 'vitest 4' } },
    ]);
    expect(
      item(
        'todo_list',
        {
          items: [
            { text: 'read', completed: true },
            { text: 'write', completed: false },
          ],
        },
        'item.updated',
      ),
    ).toEqual([
      {
        kind: 'plan',
        items: [
          { text: 'read', done: true },
          { text: 'write', done: false },
        ],
      },
    ]);
    expect(item('error', { message: 'Falling back from WebSockets to HTTPS transport.' })).toEqual([
      { kind: 'error', message: 'Falling back from WebSockets to HTTPS transport.', warning: true },
    ]);
  });

  it('keeps unknown item types and unknown events as unknown', () => {
    const value = { type: 'item.completed', item: { id: 'i', type: 'collab_tool_call' } };
    expect(one(value)).toEqual([{ kind: 'unknown', originalType: 'item.collab_tool_call', raw: value }]);
    const itemless = { type: 'item.started' };
    expect(one(itemless)).toEqual([{ kind: 'unknown', originalType: 'item.started', raw: itemless }]);
    const event = { type: 'thread.archived', thread_id: 't' };
    expect(one(event)).toEqual([{ kind: 'unknown', originalType: 'thread.archived', raw: event }]);
  });

  it('keeps non-JSON lines as malformed and survives hostile input', () => {
    expect(parseCodexLine('Reading additional input from stdin...')).toEqual([
      {
        kind: 'malformed',
        line: 'Reading additional input from stdin...',
        truncated: false,
        bytes: 38,
        reason: 'not a JSON object',
      },
    ]);
    const truncated = parseCodexLine(`{"type":"item.completed","item":${'['.repeat(3000)}`);
    expect(truncated).toEqual([expect.objectContaining({ kind: 'malformed', truncated: true, bytes: 3032 })]);
    const huge = JSON.stringify({
      type: 'item.completed',
      item: {
        id: 'i',
        type: 'command_execution',
        command: 'cat',
        aggregated_output: 'x'.repeat(10 * 1024 * 1024),
        exit_code: 0,
        status: 'completed',
      },
    });
    expect(parseCodexLine(huge)[0]).toMatchObject({ kind: 'command', status: 'completed' });
    for (const weird of [
      '\u0000\u0000',
      '{"type":"error","message":"\ud800"}',
      Buffer.from([0xc3, 0x28, 0x7b]).toString('utf8'),
    ]) {
      for (const payload of parseCodexLine(weird)) AgentPayloadSchema.parse(payload);
    }
    expect(parseCodexLine(' ')).toEqual([]);
  });
});

describe('classifyCodexFailure', () => {
  const classify = (events: AgentPayload[], more: Partial<Parameters<typeof classifyCodexFailure>[0]> = {}) =>
    classifyCodexFailure({
      exitCode: 1,
      signal: null,
      stderrTail: '',
      events,
      now: new Date(2026, 10, 21, 10, 0),
      ...more,
    });
  const failed = (message: string) => [
    ...one({ type: 'error', message }),
    ...one({ type: 'turn.failed', error: { message } }),
  ];

  it('returns null for exit 0, retry notices or not', () => {
    const events = fixture('captured/mock-success-ws-fallback-default-provider.jsonl').flatMap(parseCodexLine);
    expect(classify(events, { exitCode: 0 })).toBeNull();
  });

  it('reads the usage-limit retry time as the next such local time after now', () => {
    const message =
      "You've hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro) or try again at 9:24 AM.";
    expect(classify(failed(message))).toEqual({
      kind: 'rate_limit',
      message,
      exitCode: 1,
      signal: null,
      retryAt: new Date(2026, 10, 22, 9, 24).toISOString(),
    });
    const later = classify(failed("You've hit your usage limit. Try again at 11:05 AM."));
    expect(later?.retryAt).toBe(new Date(2026, 10, 21, 11, 5).toISOString());
    const dated = classify(
      failed("You've hit your usage limit. Visit the usage page or try again at Nov 24th, 2026 9:24 AM."),
    );
    expect(dated?.retryAt).toBe(new Date(2026, 10, 24, 9, 24).toISOString());
    const relative = classify(
      failed(
        "You've hit your usage limit. To get more access now, send a request to your admin " +
          'or try again in 3 days 6 hours 57 minutes.',
      ),
    );
    expect(relative?.retryAt).toBe(new Date(2026, 10, 24, 16, 57).toISOString());
  });

  it('recognises the usage limit as codex 0.169 really prints it (with a typographic apostrophe)', () => {
    const message =
      'You\u2019ve hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro) or try again at 11:30 AM.';
    expect(classify(failed(message))).toMatchObject({
      kind: 'rate_limit',
      retryAt: new Date(2026, 10, 21, 11, 30).toISOString(),
    });
  });

  it('classifies a run killed by a signal while "waiting for network" as network', () => {
    const events = fixture('captured/offline-no-network-killed-by-timeout60.jsonl').flatMap(parseCodexLine);
    const stderrTail = readFileSync(
      fileURLToPath(
        new URL(
          '../fixtures/transcripts/codex/captured/offline-no-network-killed-by-timeout60.stderr.txt',
          import.meta.url,
        ),
      ),
      'utf8',
    );
    expect(classify(events, { exitCode: null, signal: 'SIGTERM', stderrTail })).toEqual({
      kind: 'network',
      message: 'Reconnecting... waiting for network (Connection failed: error sending request)',
      exitCode: null,
      signal: 'SIGTERM',
    });
  });

  it('lets the final error outrank earlier retry notices', () => {
    const events = [
      ...one({ type: 'error', message: 'Reconnecting... 1/5 (stream disconnected before completion)' }),
      ...failed('unexpected status 500 Internal Server Error'),
    ];
    expect(classify(events)).toMatchObject({ kind: 'server_error', httpStatus: 500 });
  });

  it('classifies clap errors and unknown failures', () => {
    expect(
      classify([], {
        stderrTail: "error: unexpected argument '--frob' found\n\nUsage: codex exec [OPTIONS] [PROMPT]\n",
      }),
    ).toMatchObject({
      kind: 'invalid_args',
      message: "error: unexpected argument '--frob' found",
    });
    expect(classify(failed('shared rollout token budget exhausted'))).toMatchObject({
      kind: 'crashed',
      message: 'shared rollout token budget exhausted',
    });
    expect(classify([], { exitCode: null, signal: 'SIGKILL' })).toEqual({
      kind: 'crashed',
      message: 'killed by signal SIGKILL',
      exitCode: null,
      signal: 'SIGKILL',
    });
    expect(classify([], { exitCode: 3 })?.message).toBe('exited with code 3');
  });
});

describe('codex: hopeless retries', () => {
  it('reconnecting after a 401 cannot help; reconnecting after a 429 or for the network can', async () => {
    const { isHopelessCodexRetry, parseCodexLine: parse } = await import('../../src/agents/codex.js');
    const notice = (message: string) => parse(JSON.stringify({ type: 'error', message }))[0]!;
    expect(
      isHopelessCodexRetry(
        notice('Reconnecting... 1/5 (unexpected status 401 Unauthorized: Incorrect API key provided: dummy.)'),
      ),
    ).toBe(true);
    expect(
      isHopelessCodexRetry(notice('Reconnecting... 1/1 (exceeded retry limit, last status: 429 Too Many Requests)')),
    ).toBe(false);
    expect(
      isHopelessCodexRetry(notice('Reconnecting... waiting for network (Connection failed: error sending request)')),
    ).toBe(false);
    expect(isHopelessCodexRetry(notice('unexpected status 401 Unauthorized: final'))).toBe(false);
  });
});
