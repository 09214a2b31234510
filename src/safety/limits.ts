/**
 * Budgets and resource limits, pure: which limits a worker (or the session) has crossed, once per crossing.
 *
 * Budgets come from the agents' usage reports (folded by the worker machine: totals per attempt, summed per
 * worker). Resources come from /proc samples of a worker's whole process group: RSS (one sample over is enough:
 * memory does not come back by waiting) and CPU (a rate between two samples, so it must stay over for two
 * samples in a row).
 */
import type { Usage } from '../domain/events.js';
import type { Limits } from '../domain/spec.js';
import { addUsage, tokensOf } from '../domain/output-facts.js';
import type { ProcStat } from '../fs/proc.js';

export type BudgetLimit = 'maxCostUsd' | 'maxTokens';
export type ResourceLimit = 'maxRssMb' | 'maxCpuPercent';

export interface Crossing {
  /** Stable identity of the limit: `maxCostUsd@w1`, `maxTokens@session`, `maxRssMb@w1`. */
  key: string;
  limit: BudgetLimit | ResourceLimit;
  workerId?: string;
  value: number;
  max: number;
}

export function crossingKey(limit: string, workerId: string | undefined): string {
  return `${limit}@${workerId ?? 'session'}`;
}

/** A budget this far spent is told to a person (src/notify), before it is exceeded. */
export const BUDGET_WARNING_FRACTION = 0.8;

/**
 * Every budget currently exceeded, per worker and for the session (reviewers count towards the session); with a
 * `fraction`, every budget spent beyond that part of it (`max` is still the whole budget).
 */
export function exceededBudgets(
  usageByWorker: Record<string, Usage>,
  limits: Pick<Limits, 'maxCostUsd' | 'maxTokens' | 'session'>,
  fraction = 1,
): Crossing[] {
  const out: Crossing[] = [];
  const check = (
    usage: Usage,
    workerId: string | undefined,
    budget: { maxCostUsd?: number | undefined; maxTokens?: number | undefined },
  ) => {
    const cost = usage.costUsd ?? 0;
    const tokens = tokensOf(usage);
    if (budget.maxCostUsd !== undefined && cost > budget.maxCostUsd * fraction)
      out.push({
        key: crossingKey('maxCostUsd', workerId),
        limit: 'maxCostUsd',
        ...(workerId ? { workerId } : {}),
        value: cost,
        max: budget.maxCostUsd,
      });
    if (budget.maxTokens !== undefined && tokens > budget.maxTokens * fraction)
      out.push({
        key: crossingKey('maxTokens', workerId),
        limit: 'maxTokens',
        ...(workerId ? { workerId } : {}),
        value: tokens,
        max: budget.maxTokens,
      });
  };
  let total: Usage = {};
  for (const [workerId, usage] of Object.entries(usageByWorker)) {
    check(usage, workerId, limits);
    total = addUsage(total, usage);
  }
  check(total, undefined, limits.session ?? {});
  return out;
}

/** A budget nearly spent, for the person who may want to raise it (or stop). */
export function describeBudgetWarning(c: Crossing): string {
  const who = c.workerId ? `worker ${c.workerId}` : 'the session';
  const part = Math.floor((c.value / c.max) * 100);
  return c.limit === 'maxCostUsd'
    ? `${who} has spent $${c.value.toFixed(2)} of its maxCostUsd of $${c.max} (${part}%)`
    : `${who} has used ${Math.round(c.value)} of its maxTokens of ${c.max} (${part}%)`;
}

export function describeCrossing(c: Crossing): string {
  const who = c.workerId ? `worker ${c.workerId}` : 'the session';
  const rounded = Math.round(c.value);
  switch (c.limit) {
    case 'maxCostUsd':
      return `${who} has cost $${c.value.toFixed(4)}, over its maxCostUsd of $${c.max}`;
    case 'maxTokens':
      return `${who} has used ${rounded} tokens, over its maxTokens of ${c.max}`;
    case 'maxRssMb':
      return `${who} uses ${rounded} MB of memory (RSS of its process group), over its maxRssMb of ${c.max}`;
    case 'maxCpuPercent':
      return `${who} uses ${rounded}% CPU (its process group, sustained), over its maxCpuPercent of ${c.max}`;
  }
}

export interface GroupSample {
  /** ms */
  at: number;
  rssBytes: number;
  /** utime + stime per pid, in clock ticks. */
  ticks: Map<number, number>;
}

export function groupSample(members: readonly ProcStat[], at: number, pageSize: number): GroupSample {
  const ticks = new Map<number, number>();
  let rssPages = 0;
  for (const m of members) {
    ticks.set(m.pid, m.utimeTicks + m.stimeTicks);
    rssPages += Number.isFinite(m.rssPages) ? m.rssPages : 0;
  }
  return { at, rssBytes: rssPages * pageSize, ticks };
}

/** CPU use of the group between two samples, in percent of one core (200 = two cores busy). */
export function cpuPercent(previous: GroupSample, current: GroupSample, clockTicksPerSec: number): number {
  const seconds = (current.at - previous.at) / 1000;
  if (seconds <= 0) return 0;
  let ticks = 0;
  // A process that appeared since the last sample counts with all its time (it ran within the interval).
  for (const [pid, now] of current.ticks) ticks += Math.max(0, now - (previous.ticks.get(pid) ?? 0));
  return (ticks / clockTicksPerSec / seconds) * 100;
}

/** One worker's resource limits over its samples: a crossing is reported once, until it goes back under. */
export class ResourceTracker {
  private previous: GroupSample | null = null;
  private cpuOver = 0;
  private readonly above = new Set<ResourceLimit>();

  constructor(
    private readonly workerId: string,
    private readonly limits: { maxRssMb?: number | undefined; maxCpuPercent?: number | undefined },
    private readonly clockTicksPerSec: number,
    /** Limits already crossed before (a restarted orchestrator): not reported again until under. */
    alreadyAbove: readonly ResourceLimit[] = [],
  ) {
    for (const limit of alreadyAbove) this.above.add(limit);
  }

  /** Forget the last sample (the worker was paused or relaunched: a CPU rate across that gap means nothing). */
  reset(): void {
    this.previous = null;
    this.cpuOver = 0;
  }

  add(sample: GroupSample): Crossing[] {
    const out: Crossing[] = [];
    const { maxRssMb, maxCpuPercent } = this.limits;
    if (maxRssMb !== undefined) {
      const mb = sample.rssBytes / (1024 * 1024);
      this.judge('maxRssMb', mb > maxRssMb, mb, maxRssMb, out);
    }
    if (maxCpuPercent !== undefined && this.previous) {
      const cpu = cpuPercent(this.previous, sample, this.clockTicksPerSec);
      this.cpuOver = cpu > maxCpuPercent ? this.cpuOver + 1 : 0;
      this.judge('maxCpuPercent', this.cpuOver >= 2, cpu, maxCpuPercent, out, cpu <= maxCpuPercent);
    }
    this.previous = sample;
    return out;
  }

  private judge(limit: ResourceLimit, over: boolean, value: number, max: number, out: Crossing[], under = !over): void {
    if (over && !this.above.has(limit)) {
      this.above.add(limit);
      out.push({ key: crossingKey(limit, this.workerId), limit, workerId: this.workerId, value, max });
    } else if (under) this.above.delete(limit);
  }
}
