/**
 * The frame every adapter's parseLine runs in (src/agents/common.ts): whatever the mapper does, a line yields
 * schema-valid payloads only, and never loses the line.
 */
import { describe, expect, it } from 'vitest';
import { classifyClaudeFailure } from '../../src/agents/claude.js';
import { classifyCodexFailure } from '../../src/agents/codex.js';
import { parseJsonLine, stderrEvidence } from '../../src/agents/common.js';
import { classifyGeminiFailure } from '../../src/agents/gemini.js';
import { AgentPayloadSchema, type AgentPayload } from '../../src/domain/events.js';

const LINE = JSON.stringify({ type: 'item.completed', item: { type: 'command_execution', command: 42 } });

describe('parseJsonLine', () => {
  it(
    'a payload the schema refuses (a mapper bug, a CLI surprise) ' +
      'becomes `unknown` with the raw line, not an invalid event',
    () => {
      const invalid = { kind: 'command', command: 42, status: 'completed' } as unknown as AgentPayload;
      const payloads = parseJsonLine(LINE, () => [{ kind: 'message', role: 'assistant', text: 'fine' }, invalid]);
      expect(payloads).toEqual([{ kind: 'unknown', originalType: 'item.completed', raw: JSON.parse(LINE) }]);
    },
  );

  it('valid payloads pass as they are', () => {
    const payloads = parseJsonLine(LINE, () => [{ kind: 'command', command: 'ls', status: 'completed', exitCode: 0 }]);
    expect(payloads).toEqual([{ kind: 'command', command: 'ls', status: 'completed', exitCode: 0 }]);
  });

  it('a mapper that throws or maps to nothing: `unknown`; a non-JSON line `malformed`; a blank line nothing', () => {
    expect(
      parseJsonLine(LINE, () => {
        throw new Error('boom');
      }),
    ).toMatchObject([{ kind: 'unknown', originalType: 'item.completed' }]);
    expect(parseJsonLine(LINE, () => [])).toMatchObject([{ kind: 'unknown' }]);
    expect(parseJsonLine('{not json', () => [])).toMatchObject([{ kind: 'malformed', line: '{not json' }]);
    expect(parseJsonLine('   ', () => [])).toEqual([]);
    for (const p of parseJsonLine(LINE, () => [])) expect(AgentPayloadSchema.safeParse(p).success).toBe(true);
  });
});

/** What Node 20 prints when an agent's package lost a dependency (the trace issue 17 saw quoted as `crashed: }`). */
const NODE_MODULE_NOT_FOUND = `node:internal/modules/esm/resolve:873
  throw new ERR_MODULE_NOT_FOUND(packageName, fileURLToPath(base), null);
        ^

Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'undici' imported from /opt/agents/lib/cli.js
    at packageResolve (node:internal/modules/esm/resolve:873:9)
    at moduleResolve (node:internal/modules/esm/resolve:946:18)
    at ModuleJob._link (node:internal/modules/esm/module_job:168:49) {
  code: 'ERR_MODULE_NOT_FOUND'
}

Node.js v20.20.2
`;

const CAUSE = "Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'undici' imported from /opt/agents/lib/cli.js";

describe('stderrEvidence', () => {
  it("quotes a Node crash's error line first, not its version footer, the error object's braces or properties", () => {
    expect(stderrEvidence(NODE_MODULE_NOT_FOUND)[0]).toEqual({ text: CAUSE });
    expect(
      stderrEvidence(
        NODE_MODULE_NOT_FOUND.replace('v20.20.2', 'v24.21.0').replace("  code: 'ERR_MODULE_NOT_FOUND'\n", ''),
      )[0],
    ).toEqual({ text: CAUSE });
  });

  it("quotes a Rust panic's message, not the backtrace hint; a plain last line stays first", () => {
    const panic =
      "thread 'main' panicked at src/main.rs:2:5:\nexplicit panic\n" +
      'note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n';
    expect(stderrEvidence(panic).map((e) => e.text)).toEqual([
      'explicit panic',
      "thread 'main' panicked at src/main.rs:2:5:",
    ]);
    expect(stderrEvidence('starting\nError: 401 Unauthorized\n')[0]).toEqual({ text: 'Error: 401 Unauthorized' });
  });

  it.each([
    ['claude', classifyClaudeFailure],
    ['codex', classifyCodexFailure],
    ['gemini', classifyGeminiFailure],
  ] as const)('%s: a Node crash is a `crashed` failure whose message is its cause', (_agent, classify) => {
    const signal = classify({
      exitCode: 1,
      signal: null,
      stderrTail: NODE_MODULE_NOT_FOUND,
      events: [],
      now: new Date('2026-12-06T00:00:00Z'),
    });
    expect(signal).toMatchObject({ kind: 'crashed', message: CAUSE, exitCode: 1 });
  });
});
