/** The default mode of a worker by its CLI's version (src/agents/modes.ts). */
import { describe, expect, it } from 'vitest';
import { defaultMode, parseVersion, versionAtLeast } from '../../src/agents/modes.js';
import { getAdapter } from '../../src/agents/registry.js';
import type { AgentAdapter } from '../../src/agents/types.js';

describe('parseVersion', () => {
  it('reads what each CLI prints for --version', () => {
    expect(parseVersion('2.1.329 (Claude Code)')).toEqual([2, 1, 329]);
    expect(parseVersion('codex-cli 0.169.0')).toEqual([0, 169, 0]);
    expect(parseVersion('0.61.0')).toEqual([0, 61, 0]);
    expect(parseVersion('v1.2')).toEqual([1, 2, 0]);
    expect(parseVersion('gemini 0.62.0-nightly.20261201')).toEqual([0, 62, 0]);
  });

  it('is null when there is no version to read', () => {
    expect(parseVersion('fake-agent (test/fixtures/fake-agent.mjs)')).toBeNull();
    expect(parseVersion('')).toBeNull();
    expect(parseVersion(null)).toBeNull();
  });
});

describe('versionAtLeast', () => {
  it('compares component by component', () => {
    expect(versionAtLeast([2, 1, 329], [2, 1, 329])).toBe(true);
    expect(versionAtLeast([2, 2, 0], [2, 1, 329])).toBe(true);
    expect(versionAtLeast([2, 1, 328], [2, 1, 329])).toBe(false);
    expect(versionAtLeast([0, 170, 0], [0, 169, 0])).toBe(true);
    expect(versionAtLeast([0, 9, 99], [0, 61, 0])).toBe(false);
  });
});

describe('defaultMode', () => {
  it('is interactive from the version the mode is tested with, for each agent', () => {
    expect(defaultMode(getAdapter('claude'), '2.1.329 (Claude Code)')).toMatchObject({
      mode: 'interactive',
      version: '2.1.329',
    });
    expect(defaultMode(getAdapter('codex'), 'codex-cli 0.171.0').mode).toBe('interactive');
    expect(defaultMode(getAdapter('gemini'), '0.61.0').mode).toBe('interactive');
  });

  it('is exec for an older CLI, saying why', () => {
    expect(defaultMode(getAdapter('codex'), 'codex-cli 0.120.3')).toEqual({
      mode: 'exec',
      version: '0.120.3',
      reason: 'Codex CLI 0.120.3 is older than 0.169.0, the first version interactive mode is tested with',
    });
  });

  it('is exec when the version cannot be read, or the agent has no interactive mode', () => {
    expect(defaultMode(getAdapter('gemini'), null)).toMatchObject({ mode: 'exec' });
    expect(defaultMode(getAdapter('gemini'), 'fake-agent (…)').reason).toMatch(/could not be read/);
    const execOnly = { ...getAdapter('claude'), interactive: undefined } as AgentAdapter;
    expect(defaultMode(execOnly, '9.9.9')).toEqual({
      mode: 'exec',
      reason: 'Claude Code has no interactive mode here yet',
    });
  });
});
