/**
 * The frame every adapter's parseLine runs in (src/agents/common.ts): whatever the mapper does, a line yields
 * schema-valid payloads only, and never loses the line.
 */
import { describe, expect, it } from 'vitest';
import { parseJsonLine } from '../../src/agents/common.js';
import { AgentPayloadSchema, type AgentPayload } from '../../src/domain/events.js';

const LINE = JSON.stringify({ type: 'item.completed', item: { type: 'command_execution', command: 42 } });

describe('parseJsonLine', () => {
  it('a payload the schema refuses (a mapper bug, a CLI surprise) becomes `unknown` with the raw line, not an invalid event', () => {
    const invalid = { kind: 'command', command: 42, status: 'completed' } as unknown as AgentPayload;
    const payloads = parseJsonLine(LINE, () => [{ kind: 'message', role: 'assistant', text: 'fine' }, invalid]);
    expect(payloads).toEqual([{ kind: 'unknown', originalType: 'item.completed', raw: JSON.parse(LINE) }]);
  });

  it('valid payloads pass as they are', () => {
    const payloads = parseJsonLine(LINE, () => [{ kind: 'command', command: 'ls', status: 'completed', exitCode: 0 }]);
    expect(payloads).toEqual([{ kind: 'command', command: 'ls', status: 'completed', exitCode: 0 }]);
  });

  it('a mapper that throws or maps to nothing gives `unknown`; a non-JSON line `malformed`; a blank line nothing', () => {
    expect(parseJsonLine(LINE, () => { throw new Error('boom'); })).toMatchObject([{ kind: 'unknown', originalType: 'item.completed' }]);
    expect(parseJsonLine(LINE, () => [])).toMatchObject([{ kind: 'unknown' }]);
    expect(parseJsonLine('{not json', () => [])).toMatchObject([{ kind: 'malformed', line: '{not json' }]);
    expect(parseJsonLine('   ', () => [])).toEqual([]);
    for (const p of parseJsonLine(LINE, () => [])) expect(AgentPayloadSchema.safeParse(p).success).toBe(true);
  });
});
