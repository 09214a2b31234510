/**
 * The session view's fold (src/domain/session-view.ts): what each event says about a view, as the dashboard
 * applies it to the events after its last view, and the worker statuses every reader takes from the domain.
 */
import { describe, expect, it } from 'vitest';
import type { OrchestratorEvent } from '../../src/domain/events.js';
import { PLAIN_STYLE } from '../../src/domain/output-facts.js';
import {
  foldSessionEvent,
  placeholderWorker,
  type SessionView,
  stateValueString,
} from '../../src/domain/session-view.js';
import { planProgress, workerStatusOf } from '../../src/domain/worker-status.js';

const base = { sessionId: 's', ts: '2026-12-06T00:00:00.000Z', source: { kind: 'worker' as const, id: 'w1' } };
let seq = 0;
const event = (fields: Record<string, unknown>) => ({ ...base, seq: ++seq, ...fields }) as OrchestratorEvent;

function view(): SessionView {
  return {
    sessionId: 's',
    createdAt: base.ts,
    task: 't',
    targetDir: '/t',
    baseCommit: null,
    workspace: {
      mode: 'checkouts',
      base: { commit: 'b', summary: 'main @ b' },
      checkouts: '/c',
      result: { branch: 'orch/s/_result', status: 'pending', head: null, change: null, excluded: [] },
    },
    state: 'running',
    outcome: null,
    stopReason: null,
    workers: [{ ...placeholderWorker('w1'), agent: 'claude', pid: 42, state: 'running.active', status: 'running' }],
    blockers: [],
    rounds: [],
    usage: {},
    limits: { session: {} },
    lastSeq: 0,
  };
}

describe('workerStatusOf', () => {
  it.each([
    ['completed', 'completed'],
    [{ running: 'active' }, 'running'],
    [{ running: 'paused' }, 'paused'],
    [{ recovering: 'paused' }, 'paused'],
    [{ running: 'stopping' }, 'stopping'],
    ['running.active', 'running'],
    ['running.paused', 'paused'],
    ['running.stopping', 'stopping'],
    ['recovering.waiting,other.x', 'recovering'],
    [undefined, 'spawned'],
    [null, 'spawned'],
  ])('%j -> %s', (value, status) => {
    expect(workerStatusOf(value)).toBe(status);
  });

  it('a plan all done is not the end: progress stays below 1', () => {
    expect(planProgress({ done: 3, total: 3 })).toBe(0.99);
    expect(planProgress({ done: 1, total: 4 })).toBe(0.25);
    expect(planProgress({ done: 0, total: 0 })).toBe(0);
  });

  it('state values read as state events write them', () => {
    expect(stateValueString({ running: 'paused' })).toBe('running.paused');
    expect(stateValueString({ a: { b: 'c' }, d: 'e' })).toBe('a.b.c,d.e');
    expect(stateValueString('done')).toBe('done');
  });
});

describe('foldSessionEvent', () => {
  it('moves a worker with its state events; an ended one has no pid, a completed one full progress', () => {
    const v = view();
    foldSessionEvent(
      v,
      event({
        type: 'state',
        machine: 'worker',
        id: 'w1',
        from: 'running.active',
        to: 'running.paused',
        cause: 'PAUSE',
      }),
    );
    expect(v.workers[0]).toMatchObject({ state: 'running.paused', status: 'paused', pid: 42 });
    foldSessionEvent(
      v,
      event({ type: 'state', machine: 'worker', id: 'w1', from: 'running.paused', to: 'completed', cause: 'x' }),
    );
    expect(v.workers[0]).toMatchObject({ status: 'completed', progress: 1, pid: null, blockerId: null });
    foldSessionEvent(
      v,
      event({ type: 'state', machine: 'session', id: 's', from: 'running', to: 'completed', cause: 'x' }),
    );
    expect(v.state).toBe('completed');
  });

  it('adds a reviewer it did not know from its id', () => {
    const v = view();
    foldSessionEvent(
      v,
      event({ type: 'state', machine: 'worker', id: 'r2-codex-w1', from: null, to: 'spawned', cause: 'x' }),
    );
    expect(v.workers[1]).toMatchObject({ id: 'r2-codex-w1', agent: 'codex', kind: 'reviewer', roundId: 'round-2' });
  });

  it("takes a worker's activity, plan and summary from its agent events, in the given style", () => {
    const v = view();
    const agent = { type: 'agent', agent: 'claude', workerId: 'w1' };
    foldSessionEvent(v, event({ ...agent, kind: 'command', command: 'npm test', status: 'completed', exitCode: 0 }));
    expect(v.workers[0]?.lastActivity).toBe('$ npm test -> 0');
    foldSessionEvent(v, event({ ...agent, kind: 'command', command: 'ls', status: 'completed', exitCode: 2 }), {
      ...PLAIN_STYLE,
      arrow: '→',
    });
    expect(v.workers[0]?.lastActivity).toBe('$ ls → 2');
    foldSessionEvent(v, event({ ...agent, kind: 'usage', usage: { inputTokens: 5 }, cumulative: true }));
    expect(v.workers[0]?.lastActivity).toBe('$ ls → 2');
    const items = [
      { text: 'a', done: true },
      { text: 'b', done: true },
    ];
    foldSessionEvent(v, event({ ...agent, kind: 'plan', items }));
    expect(v.workers[0]).toMatchObject({ plan: { done: 2, total: 2 }, progress: 0.99 });
    foldSessionEvent(v, event({ ...agent, kind: 'result', ok: true, text: 'All done.' }));
    expect(v.workers[0]?.summary).toBe('All done.');
  });

  it('opens and answers blockers, records decisions, failures, commits and the integrated result', () => {
    const v = view();
    const blocker = {
      type: 'blocker',
      blockerId: 'b1',
      kind: 'AUTH_REQUIRED',
      workerId: 'w1',
      message: 'log in',
      action: 'run claude login',
      options: ['retry', 'stop'],
    };
    foldSessionEvent(v, event(blocker));
    foldSessionEvent(v, event(blocker));
    expect(v.blockers).toHaveLength(1);
    expect(v.workers[0]?.blockerId).toBe('b1');
    foldSessionEvent(v, event({ ...blocker, resolution: { choice: 'retry' } }));
    expect(v.blockers[0]).toMatchObject({ open: false, resolution: { choice: 'retry' } });

    foldSessionEvent(
      v,
      event({
        type: 'decision',
        roundId: 'round-1',
        target: 'w1,w2',
        decision: 'CONTINUE',
        counts: { approve: 2, concern: 0, blocker: 0 },
        action: 'go on',
      }),
    );
    expect(v.rounds).toEqual([{ roundId: 'round-1', targets: ['w1', 'w2'], reason: '', decision: 'CONTINUE' }]);

    const signal = { kind: 'network', retryable: true, detail: 'ECONNRESET' };
    foldSessionEvent(
      v,
      event({ type: 'recovery', workerId: 'w1', signal, action: 'give_up', attempt: 1, detail: 'no more' }),
    );
    expect(v.workers[0]?.lastFailure).toEqual(signal);

    const change = { files: 2, additions: 10, deletions: 1 };
    foldSessionEvent(
      v,
      event({
        type: 'workspace',
        action: 'commit',
        workerId: 'w1',
        branch: 'orch/s/w1',
        commit: 'c1',
        change,
        detail: 'x',
      }),
    );
    expect(v.workers[0]?.change).toEqual({ branch: 'orch/s/w1', start: null, head: 'c1', ...change });
    foldSessionEvent(v, event({ type: 'workspace', action: 'integrate', commit: 'r1', change, detail: 'x' }));
    expect(v.workspace).toMatchObject({ result: { status: 'done', head: 'r1', change } });
  });
});
