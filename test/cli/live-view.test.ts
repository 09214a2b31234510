import { describe, expect, it } from 'vitest';
import { describeNotable, workerLine } from '../../src/cli/live-view.js';
import { createStyle, visibleLength } from '../../src/cli/style.js';
import type { OrchestratorEvent } from '../../src/domain/events.js';
import type { WorkerView } from '../../src/runtime/view.js';

const plain = createStyle(false);
const base = { seq: 1, ts: '2026-11-21T08:28:54.000Z', sessionId: 's1' } as const;

function safety(over: Partial<Extract<OrchestratorEvent, { type: 'safety' }>>): OrchestratorEvent {
  return {
    ...base,
    type: 'safety',
    source: { kind: 'safety', id: 's1' },
    rule: 'sandbox',
    subject: 'auto -> bwrap',
    action: 'log',
    detail: 'agents run in bubblewrap',
    ...over,
  };
}

describe('the live view of safety events', () => {
  it('the sandbox in use is information, not an alarm: what was asked, what runs, and why', () => {
    const line = describeNotable(safety({}), plain) as string;
    expect(line).toMatch(/⛨ sandbox auto → bwrap: agents run in bubblewrap$/);
    expect(line).not.toContain('⚠');
  });

  it('a sandbox fallback is a warning', () => {
    expect(
      describeNotable(
        safety({ subject: 'auto -> none', action: 'warn', detail: 'no sandbox: bwrap is not installed' }),
        plain,
      ),
    ).toMatch(/⚠ sandbox auto → none: no sandbox/);
  });

  it('a rule that acted names the worker; one that only logged is marked as such', () => {
    expect(
      describeNotable(
        safety({ rule: 'protected-path', workerId: 'impl', subject: 'rm -rf .git', action: 'stop', detail: '' }),
        plain,
      ),
    ).toMatch(/⚠ safety impl protected-path: stop rm -rf \.git$/);
    expect(describeNotable(safety({ rule: 'network', subject: 'curl x', action: 'log', detail: '' }), plain)).toMatch(
      /• safety network: log curl x$/,
    );
  });
});

describe('worker rows by terminal width', () => {
  const worker = (over: Partial<WorkerView> = {}): WorkerView => ({
    id: 'implementer',
    agent: 'claude',
    role: 'implementer',
    kind: 'worker',
    roundId: null,
    status: 'running',
    state: 'running.active',
    progress: 0.42,
    plan: { done: 2, total: 5 },
    attempt: 1,
    pid: 4242,
    agentSessionId: null,
    dependsOn: [],
    usage: {},
    lastActivity: 'tool Edit src/text.js: add slugify() and its tests, then run npm test',
    summary: null,
    lastFailure: null,
    blockerId: null,
    reason: null,
    fixes: {},
    filesChanged: [],
    change: null,
    reviewers: [],
    mode: 'exec',
    retryAt: null,
    ...over,
  });
  const color = createStyle(true);

  it.each([80, 120, 200])(
    'at %i columns: id, state, percentage and the start of the activity, within the width',
    (columns) => {
      const width = columns - 1;
      for (const style of [plain, color]) {
        const line = workerLine(worker(), style, width);
        expect(visibleLength(line), line).toBeLessThanOrEqual(width);
        const text = line.replace(/\u001b\[[0-9;]*m/g, '');
        expect(text).toMatch(/^implementer +(claude(\/implementer)? +)?running +/);
        expect(text).toContain(' 42%');
        expect(text).toContain('tool Edit src/text.js');
      }
    },
  );

  it('80 columns: no bar, agent or role, so the activity gets room; 120: the full row; 200: the whole activity', () => {
    const at80 = workerLine(worker(), plain, 79);
    expect(at80).toBe('implementer      running      42% tool Edit src/text.js: add slugify() and its…');
    const at120 = workerLine(worker(), plain, 119);
    expect(at120).toMatch(/^implementer {16}claude\/implementer {3}running {5}\[#{6}\.{8}\] {2}42% tool Edit/);
    expect(workerLine(worker(), plain, 199)).toMatch(/then run npm test$/);
    // A long id is cut, not pushed into the state column; a retry and a blocker's cause still show.
    const long = workerLine(
      worker({
        id: 'a-very-long-worker-identifier',
        attempt: 3,
        status: 'blocked',
        lastFailure: { kind: 'auth', message: 'Not logged in' },
      }),
      plain,
      79,
    );
    expect(long).toBe('a-very-long-wor… blocked      42% #3 auth: Not logged in');
  });
});
