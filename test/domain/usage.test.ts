/** Adding usage up (src/domain/output-facts.ts): across attempts, incarnations, workers and the session. */
import { describe, expect, it } from 'vitest';
import { addUsage, tokensOf } from '../../src/domain/output-facts.js';

describe('addUsage', () => {
  it('adds every field both sides give', () => {
    expect(
      addUsage(
        { inputTokens: 10, outputTokens: 5, costUsd: 0.1 },
        { inputTokens: 1, cachedInputTokens: 3, costUsd: 0.2 },
      ),
    ).toEqual({
      inputTokens: 11,
      outputTokens: 5,
      cachedInputTokens: 3,
      costUsd: 0.30000000000000004,
    });
    expect(addUsage(undefined, { inputTokens: 1 })).toEqual({ inputTokens: 1 });
    expect(addUsage({}, {})).toEqual({});
  });

  it('a total is the total of both sides, whichever gives one: gemini (a total) plus codex (input + output)', () => {
    const gemini = { inputTokens: 2000, outputTokens: 500, totalTokens: 2600 };
    const codex = { inputTokens: 2000, outputTokens: 500 };
    expect(tokensOf(addUsage(gemini, codex))).toBe(5100);
    expect(tokensOf(addUsage(codex, gemini))).toBe(5100);
    expect(tokensOf(addUsage(addUsage({}, codex), codex))).toBe(5000);
    // Without a total on either side, none is made up: input + output stay the measure.
    expect(addUsage(codex, codex).totalTokens).toBeUndefined();
  });
});
