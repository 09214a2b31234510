import { describe, expect, it } from 'vitest';
import type { ProcStat } from '../../src/actors/process-group.js';
import {
  cpuPercent,
  describeCrossing,
  exceededBudgets,
  groupSample,
  ResourceTracker,
} from '../../src/safety/limits.js';

const proc = (pid: number, ticks: number, rssPages: number): ProcStat => ({
  pid,
  comm: 'x',
  state: 'S',
  ppid: 1,
  pgrp: 100,
  utimeTicks: ticks,
  stimeTicks: 0,
  startTime: '1',
  rssPages,
});

describe('budgets', () => {
  const limits = { maxCostUsd: 1, maxTokens: 1000, session: { maxCostUsd: 1.5, maxTokens: 1500 } };

  it('per worker and for the session (the sum), tokens = total or input + output', () => {
    expect(exceededBudgets({ a: { costUsd: 0.5, inputTokens: 400, outputTokens: 100 } }, limits)).toEqual([]);
    const crossings = exceededBudgets(
      { a: { costUsd: 1.2, totalTokens: 900 }, b: { costUsd: 0.4, inputTokens: 500, outputTokens: 200 } },
      limits,
    );
    // a gives a total (900, as gemini does), b only input + output (700, as claude and codex do): 1600 in all.
    expect(crossings.map((c) => c.key)).toEqual(['maxCostUsd@a', 'maxCostUsd@session', 'maxTokens@session']);
    expect(crossings[1]).toMatchObject({ value: 1.6, max: 1.5 });
    expect(crossings[2]).toMatchObject({ value: 1600, max: 1500 });
    expect(exceededBudgets({ a: { inputTokens: 800 }, b: { inputTokens: 800 } }, limits).map((c) => c.key)).toEqual([
      'maxTokens@session',
    ]);
  });

  it('a session of a worker that reports a total and one that reports input + output counts both', () => {
    // The trial that found it: codex + gemini, 2,500 tokens each, session maxTokens 3,000.
    const crossings = exceededBudgets(
      { c: { inputTokens: 2000, outputTokens: 500 }, g: { inputTokens: 2000, outputTokens: 500, totalTokens: 2500 } },
      { session: { maxTokens: 3000 } },
    );
    expect(crossings).toEqual([expect.objectContaining({ key: 'maxTokens@session', value: 5000 })]);
  });

  it('no limits, no crossings', () => {
    expect(exceededBudgets({ a: { costUsd: 100, totalTokens: 1e9 } }, { session: {} })).toEqual([]);
  });

  it('are described for people', () => {
    expect(describeCrossing({ key: 'maxCostUsd@a', limit: 'maxCostUsd', workerId: 'a', value: 1.23456, max: 1 })).toBe(
      'worker a has cost $1.2346, over its maxCostUsd of $1',
    );
    expect(describeCrossing({ key: 'maxTokens@session', limit: 'maxTokens', value: 2000, max: 1500 })).toBe(
      'the session has used 2000 tokens, over its maxTokens of 1500',
    );
  });
});

describe('resources', () => {
  it("CPU is the group's tick delta over the wall time, new processes counted whole", () => {
    const a = groupSample([proc(1, 100, 0), proc(2, 50, 0)], 0, 4096);
    const b = groupSample([proc(1, 200, 0), proc(2, 50, 0), proc(3, 100, 0)], 2000, 4096);
    // (100 + 0 + 100) ticks / 100 per s / 2 s = 100%
    expect(cpuPercent(a, b, 100)).toBe(100);
  });

  it('RSS crosses on one sample and once until it goes back under', () => {
    const t = new ResourceTracker('w', { maxRssMb: 100 }, 100);
    const mb = (n: number) => groupSample([proc(1, 0, (n * 1024 * 1024) / 4096)], Date.now(), 4096);
    expect(t.add(mb(50))).toEqual([]);
    expect(t.add(mb(150)).map((c) => [c.key, Math.round(c.value)])).toEqual([['maxRssMb@w', 150]]);
    expect(t.add(mb(160))).toEqual([]);
    expect(t.add(mb(80))).toEqual([]);
    expect(t.add(mb(120)).map((c) => c.key)).toEqual(['maxRssMb@w']);
  });

  it('CPU must stay over for two samples in a row', () => {
    const t = new ResourceTracker('w', { maxCpuPercent: 50 }, 100);
    let ticks = 0;
    const at = (ms: number, add: number) => groupSample([proc(1, (ticks += add), 0)], ms, 4096);
    expect(t.add(at(0, 0))).toEqual([]);
    expect(t.add(at(1000, 90))).toEqual([]); // 90%: first sample over
    expect(t.add(at(2000, 10))).toEqual([]); // back under: the run restarts
    expect(t.add(at(3000, 90))).toEqual([]);
    expect(t.add(at(4000, 95)).map((c) => [c.key, Math.round(c.value)])).toEqual([['maxCpuPercent@w', 95]]);
  });

  it('a limit already crossed before a restart is not reported again until it goes under', () => {
    const t = new ResourceTracker('w', { maxRssMb: 100 }, 100, ['maxRssMb']);
    expect(t.add(groupSample([proc(1, 0, 50_000)], 0, 4096))).toEqual([]);
  });
});
