/** Where each agent keeps its state in the sandbox (src/safety/agent-files.ts). */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { agentStateDirs, ensureAgentState } from '../../src/safety/agent-files.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function temp(prefix: string, base = tmpdir()): string {
  const d = mkdtempSync(join(base, prefix));
  dirs.push(d);
  return d;
}

describe('agent state directories', () => {
  it('are created before launch (the home is read-only inside); claude gets a ~/.claude.json', () => {
    const home = temp('sbx-home-');
    const state = agentStateDirs('claude', home, {});
    ensureAgentState(state);
    expect(existsSync(join(home, '.claude'))).toBe(true);
    expect(readFileSync(join(home, '.claude.json'), 'utf8')).toBe('{}\n');
    writeFileSync(join(home, '.claude.json'), '{"kept":true}');
    ensureAgentState(state);
    expect(readFileSync(join(home, '.claude.json'), 'utf8')).toBe('{"kept":true}');
    expect(agentStateDirs('codex', home, { CODEX_HOME: '/x/codex' }).bind).toContain('/x/codex');
    expect(agentStateDirs('gemini', home, {}).bind).toEqual([join(home, '.gemini'), join(home, '.npm')]);
  });
});
