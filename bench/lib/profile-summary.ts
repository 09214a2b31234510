/**
 * Summarize a V8 .cpuprofile (node --cpu-prof): self time and total (inclusive) time per function, top N.
 * Usage: node --import tsx bench/lib/profile-summary.ts <file.cpuprofile> [top=30]
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { ROOT } from './paths.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileRow {
  fn: string;
  selfMs: number;
  selfPct: number;
  totalMs: number;
  totalPct: number;
}

export function summarize(path: string, top = 30): { totalMs: number; bySelf: ProfileRow[]; byTotal: ProfileRow[] } {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (n: ProfileNode) => {
    const url = n.callFrame.url.replace(/^file:\/\//, '');
    const where = url
      ? `${url.startsWith(ROOT) ? relative(ROOT, url) : url.replace(/^.*node_modules\//, '')}:` +
        `${n.callFrame.lineNumber + 1}`
      : '';
    return `${n.callFrame.functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
  };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let sum = 0;
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    sum += dt;
    const node = byId.get(id);
    if (!node) return;
    const key = label(node);
    self.set(key, (self.get(key) ?? 0) + dt);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = label(byId.get(cur) as ProfileNode);
      if (seen.has(k)) continue;
      seen.add(k);
      total.set(k, (total.get(k) ?? 0) + dt);
    }
  });
  const rows = (m: Map<string, number>, other: Map<string, number>, selfFirst: boolean): ProfileRow[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([fn, ms]) => {
        const s = selfFirst ? ms : (other.get(fn) ?? 0);
        const t = selfFirst ? (other.get(fn) ?? 0) : ms;
        return {
          fn,
          selfMs: Math.round(s),
          selfPct: Math.round((s / sum) * 1000) / 10,
          totalMs: Math.round(t),
          totalPct: Math.round((t / sum) * 1000) / 10,
        };
      });
  return { totalMs: Math.round(sum), bySelf: rows(self, total, true), byTotal: rows(total, self, false) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, topArg] = process.argv.slice(2);
  if (!file) throw new Error('usage: profile-summary.ts <file.cpuprofile> [top]');
  const { totalMs, bySelf, byTotal } = summarize(file, Number(topArg ?? 30));
  const print = (title: string, rows: ProfileRow[]) => {
    process.stdout.write(`\n${title} (of ${totalMs} ms sampled)\n  self ms  self%  total%  function\n`);
    for (const r of rows)
      process.stdout.write(
        `  ${String(r.selfMs).padStart(7)}  ${r.selfPct.toFixed(1).padStart(5)}  ` +
          `${r.totalPct.toFixed(1).padStart(6)}  ${r.fn}\n`,
      );
  };
  print('by self time', bySelf);
  print('by total time', byTotal);
}
