import { describe, expect, it } from 'vitest';
import type { NewEvent, OrchestratorEvent, Usage } from '../../src/domain/events.js';
import { SessionSpecSchema } from '../../src/domain/spec.js';
import type { BlockerRecord } from '../../src/domain/supervisor/context.js';
import type { SessionRuntime } from '../../src/runtime/session-runtime.js';
import { SafetyMonitor } from '../../src/safety/monitor.js';

/** Just what the monitor uses of a runtime: the log, the session context, send, record, onChange. */
function fakeRuntime(log: Partial<OrchestratorEvent>[], usage: Record<string, Usage>) {
  const sent: Array<{ type: string } & Record<string, unknown>> = [];
  const recorded: NewEvent[] = [];
  const listeners = new Set<() => void>();
  const blockers: BlockerRecord[] = [];
  let mode = 'running';
  const workers = Object.fromEntries(
    Object.entries(usage).map(([id, u]) => [id, { id, incarnation: 1, status: 'running', usage: u, attempt: 1 }]),
  );
  const runtime = {
    detached: false,
    // The session's door (SessionRuntime): the monitor reaches nothing else of it.
    dir: '/nonexistent/session',
    readAfter: () => log,
    procRecords: () => [],
    supervisor: () => ({ workers, blockers, mode }),
    view: () => ({ workers: Object.values(workers).map((w) => ({ id: w.id, status: w.status })) }),
    onChange: (l: () => void) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    record: (events: NewEvent[]) => recorded.push(...events),
    send: (event: { type: string } & Record<string, unknown>) => {
      sent.push(event);
      if (event.type === 'PAUSE') mode = 'paused';
      if (event.type === 'RESUME') mode = 'running';
      if (event.type === 'INTERVENE')
        blockers.push({
          id: `b${blockers.length + 1}`,
          open: true,
          options: ['retry', 'skip', 'stop'],
          ...(event.blocker as object),
          ...(event.workerId ? { workerId: event.workerId as string } : {}),
        } as BlockerRecord);
    },
  };
  const change = async () => {
    for (const l of listeners) l();
    await new Promise((r) => setTimeout(r, 0));
  };
  return { runtime: runtime as unknown as SessionRuntime, sent, recorded, blockers, change, workers };
}

const spec = (limits: object) =>
  SessionSpecSchema.parse({ task: 't', workers: [{ id: 'w1', agent: 'claude', role: 'implementer' }], limits });
const policyContext = () => ({ cwd: '/r', allowedRoots: ['/r'], home: '/h', protectedBranches: [] });

describe('the safety monitor', () => {
  it('a worker over budget: one safety event and one INTERVENE pause, however often usage changes', async () => {
    const fake = fakeRuntime([], { w1: { costUsd: 2 } });
    const monitor = new SafetyMonitor({ spec: spec({ maxCostUsd: 1 }), policyContext });
    monitor.attach(fake.runtime);
    await fake.change();
    await fake.change();
    expect(fake.recorded).toMatchObject([
      { type: 'safety', rule: 'budget-exceeded', subject: 'maxCostUsd@w1', action: 'pause', workerId: 'w1' },
    ]);
    expect(fake.sent).toMatchObject([
      { type: 'INTERVENE', workerId: 'w1', act: 'pause', blocker: { kind: 'BUDGET_EXCEEDED' } },
    ]);
    monitor.close();
  });

  it('a budget at 80%: one budget-warning (for a notice), nothing paused; at 100% the crossing as ever', async () => {
    const fake = fakeRuntime([], { w1: { costUsd: 0.5 } });
    const monitor = new SafetyMonitor({ spec: spec({ maxCostUsd: 1, session: { maxTokens: 1000 } }), policyContext });
    monitor.attach(fake.runtime);
    await fake.change();
    expect(fake.recorded).toEqual([]);
    fake.workers.w1!.usage = { costUsd: 0.85, inputTokens: 100 };
    await fake.change();
    await fake.change();
    expect(fake.recorded).toMatchObject([
      {
        type: 'safety',
        rule: 'budget-warning',
        subject: 'maxCostUsd@w1',
        action: 'warn',
        workerId: 'w1',
        detail: 'worker w1 has spent $0.85 of its maxCostUsd of $1 (85%)',
      },
    ]);
    expect(fake.sent).toEqual([]);
    // Past 80% and past 100% in one step: only the crossing (it says more).
    fake.workers.w1!.usage = { costUsd: 1.2, inputTokens: 1200 };
    await fake.change();
    expect(fake.recorded.map((e) => e.type === 'safety' && [e.rule, e.subject])).toEqual([
      ['budget-warning', 'maxCostUsd@w1'],
      ['budget-exceeded', 'maxCostUsd@w1'],
      ['budget-exceeded', 'maxTokens@session'],
    ]);
    monitor.close();
  });

  it('after a restart, a budget warning already in the log is not given again', async () => {
    const fake = fakeRuntime([{ type: 'safety', rule: 'budget-warning', subject: 'maxCostUsd@w1', action: 'warn' }], {
      w1: { costUsd: 0.9 },
    });
    const monitor = new SafetyMonitor({ spec: spec({ maxCostUsd: 1 }), policyContext });
    monitor.attach(fake.runtime);
    await fake.change();
    expect(fake.recorded).toEqual([]);
    monitor.close();
  });

  it('after a restart, a crossing already in the log is not acted on again', async () => {
    const fake = fakeRuntime([{ type: 'safety', rule: 'budget-exceeded', subject: 'maxCostUsd@w1', action: 'pause' }], {
      w1: { costUsd: 2 },
    });
    const monitor = new SafetyMonitor({ spec: spec({ maxCostUsd: 1 }), policyContext });
    monitor.attach(fake.runtime);
    await fake.change();
    expect(fake.sent).toEqual([]);
    expect(fake.recorded).toEqual([]);
    monitor.close();
  });

  it('the session over budget pauses the session; answering retry resumes it', async () => {
    const fake = fakeRuntime([], { w1: { inputTokens: 900, outputTokens: 200 } });
    const monitor = new SafetyMonitor({ spec: spec({ session: { maxTokens: 1000 } }), policyContext });
    monitor.attach(fake.runtime);
    await fake.change();
    expect(fake.sent.map((e) => e.type)).toEqual(['PAUSE', 'INTERVENE']);
    expect(fake.sent[1]).toMatchObject({
      act: 'pause',
      blocker: { kind: 'BUDGET_EXCEEDED', message: 'The session has used 1100 tokens, over its maxTokens of 1000' },
    });
    expect(fake.sent[1]).not.toHaveProperty('workerId');
    const blocker = fake.blockers[0] as BlockerRecord;
    blocker.open = false;
    blocker.resolution = { choice: 'retry' };
    await fake.change();
    expect(fake.sent.map((e) => e.type)).toEqual(['PAUSE', 'INTERVENE', 'RESUME']);
    monitor.close();
  });

  it('the usage of a retried incarnation adds to the earlier one', async () => {
    const fake = fakeRuntime([], { w1: { costUsd: 0.6 } });
    const monitor = new SafetyMonitor({ spec: spec({ maxCostUsd: 1 }), policyContext });
    monitor.attach(fake.runtime);
    await fake.change();
    expect(fake.sent).toEqual([]);
    Object.assign(fake.workers.w1 as object, { incarnation: 2, usage: { costUsd: 0.5 } });
    await fake.change();
    expect(fake.recorded).toMatchObject([
      { subject: 'maxCostUsd@w1', detail: 'worker w1 has cost $1.1000, over its maxCostUsd of $1' },
    ]);
    monitor.close();
  });
});
