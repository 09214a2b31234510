/**
 * Limits with real processes: memory (the fake agent holds memoryMb) over maxRssMb, CPU (a burner) over
 * maxCpuPercent, usage reports over maxCostUsd / maxTokens per worker and per session. Each pauses (worker or
 * session) with a blocker, and `retry` lets it go on.
 */
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  answer,
  FIXTURES,
  makeSafetyHarness,
  ofType,
  openBlocker,
  waitFor,
  workerStatus,
  type SafetyHarness,
} from '../safety/support.js';

let harness: SafetyHarness | null = null;
afterEach(async () => {
  await harness?.cleanup();
  harness = null;
});

const CLAUDE_COST = join(FIXTURES, 'claude-cost-midrun.jsonl');
const CODEX_TOKENS = join(FIXTURES, 'codex-tokens-midrun.jsonl');

describe('resource limits', () => {
  it('maxRssMb: a worker over it is paused with RESOURCE_LIMIT; retry resumes it (not paused again)', async () => {
    harness = await makeSafetyHarness({ claude: { memoryMb: 160, holdMs: 3000 } }, { sampleMs: 300 });
    const runtime = await harness.start({
      task: 't',
      sandbox: 'none',
      limits: { maxRssMb: 120 },
      workers: [{ id: 'w1', agent: 'claude', role: 'implementer' }],
    });
    const blocker = await waitFor(() => openBlocker(runtime, 'RESOURCE_LIMIT'), 'the RESOURCE_LIMIT blocker');
    expect(blocker).toMatchObject({ workerId: 'w1' });
    expect(blocker.message).toMatch(/Worker w1 uses \d+ MB of memory .* over its maxRssMb of 120/);
    await waitFor(() => workerStatus(runtime, 'w1') === 'paused', 'w1 paused');
    expect(ofType(runtime, 'safety').find((e) => e.rule === 'resource-limit')).toMatchObject({
      subject: 'maxRssMb@w1',
      action: 'pause',
      workerId: 'w1',
    });
    answer(runtime, blocker.id, 'retry');
    expect(await runtime.waitForEnd()).toBe('completed');
    expect(ofType(runtime, 'blocker').filter((b) => b.kind === 'RESOURCE_LIMIT' && !b.resolution)).toHaveLength(1);
  });

  it('maxCpuPercent: a process group busy over the limit for two samples in a row is paused', async () => {
    const burner = join(FIXTURES, 'cpu-burner.mjs');
    chmodSync(burner, 0o755);
    // It burns until stopped; a low limit leaves room for a loaded test machine (the burner wants a whole core).
    harness = await makeSafetyHarness({}, { sampleMs: 300, env: { ORCHESTRATOR_CODEX_BIN: burner, BURN_MS: '60000' } });
    const runtime = await harness.start({
      task: 't',
      sandbox: 'none',
      limits: { maxCpuPercent: 20 },
      workers: [{ id: 'w1', agent: 'codex', role: 'implementer' }],
    });
    const blocker = await waitFor(() => openBlocker(runtime, 'RESOURCE_LIMIT'), 'the RESOURCE_LIMIT blocker');
    expect(blocker.message).toMatch(/uses \d+% CPU .* over its maxCpuPercent of 20/);
    await waitFor(() => workerStatus(runtime, 'w1') === 'paused', 'w1 paused');
    expect(ofType(runtime, 'safety').find((e) => e.rule === 'resource-limit')).toMatchObject({
      subject: 'maxCpuPercent@w1',
      action: 'pause',
    });
    answer(runtime, blocker.id, 'stop');
    expect(await runtime.waitForEnd()).toBe('stopped');
  });
});

describe('budgets from usage reports', () => {
  it.each([
    [
      'claude',
      CLAUDE_COST,
      { maxCostUsd: 0.5 },
      'maxCostUsd@w1',
      /cost \$0\.8000, over its maxCostUsd of \$0\.5/,
      { costUsd: 0.9 },
    ],
    [
      'codex',
      CODEX_TOKENS,
      { maxTokens: 2000 },
      'maxTokens@w1',
      /used 5100 tokens, over its maxTokens of 2000/,
      { inputTokens: 5200, outputTokens: 150 },
    ],
  ] as const)(
    'per worker (%s): BUDGET_EXCEEDED, the worker paused; retry resumes it',
    async (agent, transcript, limits, key, message, finalUsage) => {
      harness = await makeSafetyHarness({ [agent]: { transcript, delayMs: 250 } });
      const runtime = await harness.start({
        task: 't',
        sandbox: 'none',
        limits,
        workers: [{ id: 'w1', agent, role: 'implementer' }],
      });
      const blocker = await waitFor(() => openBlocker(runtime, 'BUDGET_EXCEEDED'), 'the BUDGET_EXCEEDED blocker');
      expect(blocker.workerId).toBe('w1');
      expect(blocker.message).toMatch(message);
      await waitFor(() => workerStatus(runtime, 'w1') === 'paused', 'w1 paused');
      expect(ofType(runtime, 'safety').find((e) => e.rule === 'budget-exceeded')).toMatchObject({
        subject: key,
        action: 'pause',
      });
      answer(runtime, blocker.id, 'retry');
      expect(await runtime.waitForEnd()).toBe('completed');
      // The worker went on past its budget once a person said so: no second blocker for the same limit.
      expect(ofType(runtime, 'safety').filter((e) => e.rule === 'budget-exceeded')).toHaveLength(1);
      // The usage the budget was judged on is what status, the API and the dashboard show (GET /state = the view).
      expect(runtime.view().workers[0]?.usage).toMatchObject(finalUsage);
    },
  );

  it.each([
    ['claude', CLAUDE_COST, { session: { maxCostUsd: 0.5 } }, 'maxCostUsd@session'],
    ['codex', CODEX_TOKENS, { session: { maxTokens: 2000 } }, 'maxTokens@session'],
  ] as const)(
    'per session (%s): the session pauses before the next worker starts; retry resumes it',
    async (agent, transcript, limits, key) => {
      harness = await makeSafetyHarness({
        rules: [{ match: { promptIncludes: 'first' }, scenario: { transcript, delayMs: 250 } }],
      });
      const runtime = await harness.start({
        task: 't',
        sandbox: 'none',
        limits,
        workers: [
          { id: 'a', agent, role: 'implementer', prompt: 'first part' },
          { id: 'b', agent: 'claude', role: 'verifier', prompt: 'second part', dependsOn: ['a'] },
        ],
      });
      const blocker = await waitFor(() => openBlocker(runtime, 'BUDGET_EXCEEDED'), 'the BUDGET_EXCEEDED blocker');
      expect(blocker.workerId).toBeUndefined();
      expect(blocker.message).toMatch(/^The session has/);
      expect(runtime.view().state).toBe('paused');
      await waitFor(() => workerStatus(runtime, 'a') === 'paused', 'a paused with the session');
      expect(ofType(runtime, 'safety').find((e) => e.rule === 'budget-exceeded')).toMatchObject({
        subject: key,
        action: 'pause',
      });
      expect(harness.launches()).toHaveLength(1);
      answer(runtime, blocker.id, 'retry');
      expect(await runtime.waitForEnd()).toBe('completed');
      expect(harness.launches()).toHaveLength(2);
      expect(runtime.view().workers.map((w) => w.status)).toEqual(['completed', 'completed']);
    },
  );
});
