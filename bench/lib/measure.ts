/** CPU, memory and statistics helpers for the scenarios. */
import { readFileSync } from 'node:fs';

export interface Figure {
  metric: string;
  value: number;
  unit: string;
  reference?: { label: string; value: number; unit: string };
  /** value / reference.value (how far from the physical reference; see each scenario for the direction). */
  ratio?: number;
  /** What bounds this figure (short). */
  bound?: string;
}

export interface ScenarioResult {
  name: string;
  title: string;
  figures: Figure[];
  notes: string[];
  durationMs: number;
}

export interface ScenarioOptions {
  quick: boolean;
  /** key=value arguments (sub-runs of a scenario in their own process). */
  args?: Record<string, string>;
}

/** CPU seconds (user + system) of this process since start. */
export function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** CPU seconds of another process, from /proc/<pid>/stat (utime + stime), children not included. */
export function procCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return ticks / 100;
  } catch {
    return 0;
  }
}

export function rssMb(): number {
  return process.memoryUsage().rss / (1 << 20);
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

export function median(values: number[]): number {
  return percentile(values, 50);
}

/** Least-squares slope of y over x. */
export function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += ((xs[i] as number) - mx) * ((ys[i] as number) - my);
    den += ((xs[i] as number) - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Samples this process's CPU% and RSS every `everyMs` until stopped. */
export class Sampler {
  readonly samples: Array<{ t: number; cpu: number; rssMb: number }> = [];
  private timer: NodeJS.Timeout;
  private readonly t0 = performance.now();
  constructor(everyMs = 250) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }
  private sample(): void {
    this.samples.push({ t: (performance.now() - this.t0) / 1000, cpu: cpuSeconds(), rssMb: rssMb() });
  }
  stop(): this {
    clearInterval(this.timer);
    this.sample();
    return this;
  }
  get peakRssMb(): number {
    return Math.max(...this.samples.map((s) => s.rssMb));
  }
}
