/**
 * The one-line description of an agent event (the CLI's logs, a worker's activity, the dashboard's event rows):
 * a tool call names what it is about, a tool result says what came back. The dashboard (web/util.ts) calls the
 * same describePayload with a style of its own, which draws only a command's arrow and a usage report.
 */
import { describe, expect, it } from 'vitest';
import { type DescribeStyle, describePayload, PLAIN_STYLE } from '../../src/domain/output-facts.js';
import type { AgentPayload } from '../../src/domain/events.js';

/** A style like the dashboard's: another arrow, another usage text. */
const PAGE_LIKE: DescribeStyle = { arrow: '→', usage: (u) => `usage ${u.inputTokens ?? 0}+${u.outputTokens ?? 0}` };

const cases: Array<[string, AgentPayload, string]> = [
  [
    'claude Read',
    { kind: 'tool_call', name: 'Read', toolId: 't1', input: { file_path: '/repo/src/text.js' } },
    'tool Read /repo/src/text.js',
  ],
  [
    'claude Bash',
    { kind: 'tool_call', name: 'Bash', input: { command: 'npm test', description: 'Run the tests' } },
    'tool Bash npm test',
  ],
  ['claude Grep', { kind: 'tool_call', name: 'Grep', input: { pattern: 'slugify', path: 'src' } }, 'tool Grep slugify'],
  [
    'gemini read_file',
    { kind: 'tool_call', name: 'read_file', input: { absolute_path: '/repo/README.md' } },
    'tool read_file /repo/README.md',
  ],
  [
    'codex JSON-string arguments',
    { kind: 'tool_call', name: 'web_search', input: '{"query":"zod 4 strictObject"}' },
    'tool web_search zod 4 strictObject',
  ],
  ['a tool without a known argument', { kind: 'tool_call', name: 'TodoWrite', input: { todos: [] } }, 'tool TodoWrite'],
  [
    'a result of several lines',
    { kind: 'tool_result', ok: true, output: 'line one\nline two\n\nline three\n' },
    'tool result: line one (+2 lines)',
  ],
  ['an empty result', { kind: 'tool_result', ok: true }, 'tool result: no output'],
  [
    'a failed result',
    { kind: 'tool_result', ok: false, output: 'ENOENT: no such file' },
    'tool result (error): ENOENT: no such file',
  ],
];

describe('describePayload', () => {
  it.each(cases)('%s', (_what, payload, expected) => {
    expect(describePayload(payload)).toBe(expected);
  });

  it.each(cases)('the dashboard says the same: %s', (_what, payload, expected) => {
    expect(describePayload(payload, PAGE_LIKE)).toBe(expected);
  });

  it("a command's exit code and a usage report are drawn by the style; the plain one is ASCII", () => {
    const command: AgentPayload = { kind: 'command', command: 'npm test', status: 'completed', exitCode: 1 };
    const usage: AgentPayload = {
      kind: 'usage',
      usage: { inputTokens: 1200, outputTokens: 34, costUsd: 0.012 },
      cumulative: false,
    };
    expect(describePayload(command)).toBe('$ npm test -> 1');
    expect(describePayload(command, PLAIN_STYLE)).toBe('$ npm test -> 1');
    expect(describePayload(command, PAGE_LIKE)).toBe('$ npm test → 1');
    expect(describePayload({ kind: 'command', command: 'ls', status: 'started' }, PAGE_LIKE)).toBe('$ ls');
    expect(describePayload(usage)).toBe('usage 1200 in / 34 out $0.0120');
    expect(describePayload(usage, PAGE_LIKE)).toBe('usage 1200+34');
  });
});
