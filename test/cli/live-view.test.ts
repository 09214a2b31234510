import { describe, expect, it } from 'vitest';
import { describeNotable } from '../../src/cli/live-view.js';
import { createStyle } from '../../src/cli/style.js';
import type { OrchestratorEvent } from '../../src/domain/events.js';

const plain = createStyle(false);
const base = { seq: 1, ts: '2026-11-21T08:28:54.000Z', sessionId: 's1' } as const;

function safety(over: Partial<Extract<OrchestratorEvent, { type: 'safety' }>>): OrchestratorEvent {
  return { ...base, type: 'safety', source: { kind: 'safety', id: 's1' }, rule: 'sandbox', subject: 'auto -> bwrap', action: 'log', detail: 'agents run in bubblewrap', ...over };
}

describe('the live view of safety events', () => {
  it('the sandbox in use is information, not an alarm: what was asked, what runs, and why', () => {
    const line = describeNotable(safety({}), plain) as string;
    expect(line).toMatch(/⛨ sandbox auto → bwrap: agents run in bubblewrap$/);
    expect(line).not.toContain('⚠');
  });

  it('a sandbox fallback is a warning', () => {
    expect(describeNotable(safety({ subject: 'auto -> none', action: 'warn', detail: 'no sandbox: bwrap is not installed' }), plain)).toMatch(/⚠ sandbox auto → none: no sandbox/);
  });

  it('a rule that acted names the worker; one that only logged is marked as such', () => {
    expect(describeNotable(safety({ rule: 'protected-path', workerId: 'impl', subject: 'rm -rf .git', action: 'stop', detail: '' }), plain)).toMatch(/⚠ safety impl protected-path: stop rm -rf \.git$/);
    expect(describeNotable(safety({ rule: 'network', subject: 'curl x', action: 'log', detail: '' }), plain)).toMatch(/• safety network: log curl x$/);
  });
});
