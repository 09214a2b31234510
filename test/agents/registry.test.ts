import { describe, expect, it } from 'vitest';
import { AgentNameSchema } from '../../src/domain/events.js';
import { agentRegistry, getAdapter, knownAgents, resolveAgentBinary } from '../../src/agents/registry.js';

describe('agent registry', () => {
  it('knows claude, codex and gemini, each under its own name, and the generic acp agent', () => {
    expect(knownAgents()).toEqual(['claude', 'codex', 'gemini', 'opencode', 'qwen', 'acp']);
    expect(getAdapter('acp')).toMatchObject({ name: 'acp', commandFromSpec: true, interactiveOnly: true });
    for (const name of knownAgents().filter((a) => a !== 'acp')) {
      const adapter = getAdapter(name);
      expect(adapter.name).toBe(name);
      expect(AgentNameSchema.parse(adapter.name)).toBe(name);
      expect(adapter.defaultBinary).toBe(name);
      expect(adapter.binEnvVar).toBe(`ORCHESTRATOR_${name.toUpperCase()}_BIN`);
      expect(adapter.displayName.length).toBeGreaterThan(0);
    }
    expect(agentRegistry.codex).toBe(getAdapter('codex'));
  });

  it('names the known agents when asked for an unknown one', () => {
    expect(() => getAdapter('cursor')).toThrow(
      'Unknown agent "cursor": use one of claude, codex, gemini, opencode, qwen, acp.',
    );
    expect(() => getAdapter('toString')).toThrow(/Unknown agent/);
  });
});

describe('resolveAgentBinary', () => {
  const which = (found: Record<string, string>) => (bin: string) => found[bin] ?? null;

  it('prefers the environment variable, run as a path', () => {
    const env = { ORCHESTRATOR_CLAUDE_BIN: '/opt/fake-claude.mjs', PATH: '/usr/bin' };
    expect(resolveAgentBinary(getAdapter('claude'), env, which({ claude: '/usr/bin/claude' }))).toEqual({
      path: '/opt/fake-claude.mjs',
      from: 'env',
    });
  });

  it('falls back on PATH when the variable is unset or blank', () => {
    const onPath = which({ codex: '/usr/local/bin/codex' });
    expect(resolveAgentBinary(getAdapter('codex'), {}, onPath)).toEqual({ path: '/usr/local/bin/codex', from: 'path' });
    expect(resolveAgentBinary(getAdapter('codex'), { ORCHESTRATOR_CODEX_BIN: '  ' }, onPath)).toEqual({
      path: '/usr/local/bin/codex',
      from: 'path',
    });
  });

  it('looks up the adapter default binary and returns null when it is nowhere', () => {
    const asked: string[] = [];
    const result = resolveAgentBinary(getAdapter('gemini'), { ORCHESTRATOR_CLAUDE_BIN: '/x' }, (bin) => {
      asked.push(bin);
      return null;
    });
    expect(result).toBeNull();
    expect(asked).toEqual(['gemini']);
  });
});
