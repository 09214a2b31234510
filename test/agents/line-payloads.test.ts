/**
 * One stdout line to payloads (src/agents/line-payloads.ts): a parser that throws or finds nothing, and a line cut
 * for its size, still leave the line; the agent's own timestamp is taken when it prints one.
 */
import { describe, expect, it } from 'vitest';
import { agentTimestamp, linePayloads, safeParse } from '../../src/agents/line-payloads.js';
import { getAdapter } from '../../src/agents/registry.js';
import type { AgentAdapter } from '../../src/agents/types.js';

const claude = getAdapter('claude');

function withParser(parseLine: AgentAdapter['parseLine']): AgentAdapter {
  return { ...claude, parseLine };
}

describe('line payloads', () => {
  it('a parser that throws or returns nothing leaves a malformed payload with the line', () => {
    const thrown = safeParse(
      withParser(() => {
        throw new Error('boom');
      }),
      'x',
    );
    expect(thrown).toMatchObject([{ kind: 'malformed', line: 'x', reason: 'claude parser failed: boom' }]);
    expect(
      safeParse(
        withParser(() => []),
        'y',
      ),
    ).toMatchObject([{ kind: 'malformed', line: 'y', reason: 'claude parser returned nothing for this line' }]);
  });

  it('a line cut for its size is not parsed: a malformed payload with its real size', () => {
    expect(linePayloads(claude, '{"type":"assis', 5_000_000)).toMatchObject([
      {
        kind: 'malformed',
        bytes: 5_000_000,
        truncated: true,
        reason: 'line of 5000000 bytes is longer than the limit; cut',
      },
    ]);
  });

  it("the agent's timestamp, normalized; none when absent, too long or not a date", () => {
    expect(agentTimestamp('{"timestamp":"2026-01-02T03:04:05Z","type":"x"}')).toBe('2026-01-02T03:04:05.000Z');
    // Already in toISOString() form: kept as it is. A day past the month's end rolls over, as Date does.
    expect(agentTimestamp('{"timestamp":"2026-01-02T03:04:05.678Z"}')).toBe('2026-01-02T03:04:05.678Z');
    expect(agentTimestamp('{"timestamp":"2026-02-30T00:00:00.000Z"}')).toBe('2026-03-02T00:00:00.000Z');
    expect(agentTimestamp('{"timestamp":"2026-02-28T24:00:00.000Z"}')).toBe('2026-03-01T00:00:00.000Z');
    expect(agentTimestamp('{"timestamp":"2026-01-05T10:00:00.123+02:00"}')).toBe('2026-01-05T08:00:00.123Z');
    expect(agentTimestamp('{"type":"x"}')).toBeUndefined();
    expect(agentTimestamp('{"timestamp":"not a date"}')).toBeUndefined();
    expect(agentTimestamp(`{"timestamp":"${'9'.repeat(41)}"}`)).toBeUndefined();
  });
});
