/**
 * How the CLI words things: every state event of `orchestrate logs` as a line (the first state of a worker or
 * review round too, as `∅ → <state>`), and a worker's usage the same way in `status` and in the end-of-run
 * summary.
 */
import { describe, expect, it } from 'vitest';
import { formatLogLine } from '../../src/cli/logs-command.js';
import { formatLimits, formatUsage, grouped } from '../../src/cli/live-view.js';
import { statusCommand } from '../../src/cli/status-command.js';
import { createStyle } from '../../src/cli/style.js';
import { renderSummary } from '../../src/cli/summary.js';
import type { OrchestratorEvent, Usage } from '../../src/domain/events.js';
import type { SessionView, WorkerView } from '../../src/runtime/view.js';

const plain = createStyle(false);
const base = { seq: 1, ts: '2026-11-21T08:28:54.000Z', sessionId: 'orch_20261121_082854_abcd' } as const;

function state(
  machine: 'session' | 'worker' | 'review',
  id: string,
  from: string | null,
  to: string,
  cause: string,
): OrchestratorEvent {
  return { ...base, type: 'state', source: { kind: machine, id }, machine, id, from, to, cause };
}

const clock = /^\d\d:\d\d:\d\d /;

describe('logs: one readable line per state event', () => {
  it.each([
    ['a worker', state('worker', 'impl', null, 'spawned', 'xstate.init'), 'impl: ∅ → spawned'],
    ['a review round', state('review', 'round-1', null, 'requesting', 'xstate.init'), 'round-1: ∅ → requesting'],
    ['the session', state('session', base.sessionId, null, 'created', 'create'), 'session: ∅ → created'],
  ])('the first state of %s reads like the session’s: ∅ → <state>', (_what, event, text) => {
    const line = formatLogLine(event, plain);
    expect(line).toMatch(clock);
    expect(line.replace(clock, '')).toBe(text);
  });

  it('later changes of a worker or a review round name their cause', () => {
    expect(formatLogLine(state('worker', 'impl', 'spawned', 'running.active', 'START'), plain).replace(clock, '')).toBe(
      'impl: spawned → running.active (START)',
    );
    expect(
      formatLogLine(state('review', 'round-1', 'requesting', 'collecting', 'ROUND.LAUNCHED'), plain).replace(clock, ''),
    ).toBe('round-1: requesting → collecting (ROUND.LAUNCHED)');
  });

  it('no state event is shown as a bare "state"', () => {
    for (const machine of ['session', 'worker', 'review'] as const) {
      for (const from of [null, 'a']) {
        const line = formatLogLine(state(machine, 'x', from, 'b', from ? 'EV' : 'xstate.init'), plain);
        expect(line).not.toMatch(/^\d\d:\d\d:\d\d state$/);
        expect(line).toContain('→ b');
      }
    }
  });
});

function worker(id: string, agent: string, usage: Usage, kind: 'worker' | 'reviewer' = 'worker'): WorkerView {
  return {
    id,
    agent,
    role: kind === 'reviewer' ? 'reviewer' : 'implementer',
    kind,
    roundId: null,
    status: 'completed',
    state: 'completed',
    progress: 1,
    plan: null,
    attempt: 1,
    pid: null,
    agentSessionId: null,
    dependsOn: [],
    usage,
    lastActivity: null,
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
  };
}

const WORKERS = [
  worker('architect', 'gemini', { inputTokens: 18000, outputTokens: 744 }),
  worker('implementer', 'claude', { totalTokens: 2482, costUsd: 0.31835 }),
  worker('verifier', 'codex', { totalTokens: 32840, inputTokens: 30000, outputTokens: 2840 }),
  worker('priced', 'claude', { costUsd: 0.01 }),
  worker('silent', 'codex', {}),
  worker('r1-codex-architect', 'codex', { totalTokens: 1234567 }, 'reviewer'),
];

const VIEW = {
  sessionId: base.sessionId,
  createdAt: base.ts,
  task: 'the task',
  targetDir: '/tmp/t',
  baseCommit: null,
  workspace: { mode: 'in-place', reason: 'not a git repository' },
  state: 'completed',
  outcome: 'completed',
  stopReason: null,
  workers: WORKERS,
  blockers: [],
  rounds: [],
  usage: {},
  limits: {},
  lastSeq: 1,
} as unknown as SessionView;

/** The text after the worker's name on its line, from `status SID` and from the summary. */
function usageColumns(): Map<string, { status: string; summary: string }> {
  let status = '';
  statusCommand({ workspace: '/tmp/w', list: () => [], view: () => VIEW }, '/tmp/w', base.sessionId, {
    json: false,
    out: { write: (s: string) => ((status += s), true) } as NodeJS.WritableStream,
    style: plain,
  });
  const summary = renderSummary(VIEW, [], '/tmp/w/sessions/x', plain);
  const columns = new Map<string, { status: string; summary: string }>();
  for (const w of WORKERS) {
    const line = (text: string) => text.split('\n').find((l) => new RegExp(`^\\s+(↳ )?${w.id}\\s`).test(l)) ?? '';
    columns.set(w.id, {
      status: line(status)
        .replace(/.*attempt \d+/, '')
        .trim(),
      summary: line(summary)
        .replace(/.*\d+ attempts?/, '')
        .trim(),
    });
  }
  return columns;
}

describe('usage: one format in status and in the summary', () => {
  it('formatUsage: tokens with thousands separators (the total, else input + output), then the cost', () => {
    expect(formatUsage({ totalTokens: 2482, costUsd: 0.31835 })).toBe('2,482 tokens, $0.3184');
    expect(formatUsage({ inputTokens: 18000, outputTokens: 744 })).toBe('18,744 tokens');
    expect(formatUsage({ costUsd: 0.01 })).toBe('$0.0100');
    expect(formatUsage({})).toBe('');
  });

  it('grouped prints numbers as toLocaleString("en-US") does, without loading ICU', () => {
    const numbers = [0, 7, 999, 1000, -1000, 12345, 1234567, -987654321, 2 ** 53 - 1, 1e21, 1.5, 1234.5678, -0.25];
    for (let digits = 1; digits <= 16; digits++) numbers.push(Math.floor(10 ** digits * 0.7316), -(10 ** digits));
    for (const n of numbers) expect(grouped(n), String(n)).toBe(n.toLocaleString('en-US'));
  });

  it('status SID shows exactly what the summary shows, for every worker', () => {
    const columns = usageColumns();
    expect(Object.fromEntries([...columns].map(([id, c]) => [id, c.status]))).toEqual({
      architect: '18,744 tokens',
      implementer: '2,482 tokens, $0.3184',
      verifier: '32,840 tokens',
      priced: '$0.0100',
      silent: '',
      'r1-codex-architect': '1,234,567 tokens',
    });
    for (const [id, c] of columns) expect(c.summary, id).toBe(c.status);
  });
});

describe('summary: how long the session took', () => {
  it('an ended session runs to its last state change, however much later the summary is printed', () => {
    const ended = { ts: new Date(Date.parse(base.ts) + 95_000).toISOString() };
    const events = [{ ...state('session', base.sessionId, 'running', 'completed', 'ALL_DONE'), seq: 9, ts: ended.ts }];
    expect(renderSummary(VIEW, events, '/tmp/w/sessions/x', plain)).toContain('completed after 1m 35s');
  });
});

describe('status: the session usage beside its limits', () => {
  it('formatLimits names the session budget, the per-worker budget and resources', () => {
    expect(
      formatLimits({
        session: { maxCostUsd: 5, maxTokens: 1_000_000 },
        maxCostUsd: 1,
        maxRssMb: 2048,
        maxCpuPercent: 150,
      }),
    ).toBe('session $5.00, 1,000,000 tokens; per worker $1.00; per worker 2,048 MB RSS, 150% CPU');
    expect(formatLimits({ session: {} })).toBe('');
  });

  it('status SID prints one usage line with the limits', () => {
    let text = '';
    const view = {
      ...VIEW,
      usage: { totalTokens: 2482, costUsd: 0.31835 },
      limits: { session: { maxCostUsd: 5 } },
    } as SessionView;
    statusCommand({ workspace: '/tmp/w', list: () => [], view: () => view }, '/tmp/w', base.sessionId, {
      json: false,
      out: { write: (s: string) => ((text += s), true) } as NodeJS.WritableStream,
      style: plain,
    });
    expect(text).toContain('  usage:  2,482 tokens, $0.3184  (limits: session $5.00)\n');
  });
});
