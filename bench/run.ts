/**
 * `npm run bench`: every scenario in its own Node process, one after the other; a table on stdout (or, with
 * --json, one JSON object), and the run saved to bench/results/<date>.json.
 *
 *   --quick          small sizes (CI, a minute or two)
 *   --json           print one JSON object instead of the table
 *   --only a,b       only these scenarios (throughput, latency, scale, resume, fanout, cold-start, checkouts, fleet)
 *   --profile        write a V8 CPU profile of each scenario's orchestrator process to bench/results/profiles/
 *   --no-save        do not write bench/results/<date>.json
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { BENCH_DIR, ROOT } from './lib/paths.js';
import { runScenarioInChild } from './lib/run-child.js';
import type { Figure, ScenarioResult } from './lib/measure.js';

export const SCENARIOS = [
  'throughput',
  'latency',
  'scale',
  'resume',
  'fanout',
  'cold-start',
  'checkouts',
  'fleet',
] as const;

interface Flags {
  quick: boolean;
  json: boolean;
  only: string[] | null;
  profile: boolean;
  save: boolean;
}

function parseFlags(argv: string[]): Flags {
  const only =
    argv.find((a) => a.startsWith('--only='))?.slice(7) ??
    (argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : undefined);
  const flags: Flags = {
    quick: argv.includes('--quick'),
    json: argv.includes('--json'),
    only: only ? only.split(',') : null,
    profile: argv.includes('--profile'),
    save: !argv.includes('--no-save'),
  };
  for (const name of flags.only ?? [])
    if (!(SCENARIOS as readonly string[]).includes(name))
      throw new Error(`unknown scenario ${name}: use ${SCENARIOS.join(', ')}`);
  return flags;
}

export function machineInfo() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
  let kernel = '';
  try {
    kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    // not Linux
  }
  return {
    cpu: model,
    cores: cpus().length,
    ramGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    kernel,
    loadavgAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

function formatValue(value: number, unit: string): string {
  const v = Math.abs(value) >= 1000 ? Math.round(value).toLocaleString('en-US') : String(value);
  return `${v} ${unit}`;
}

export function table(results: ScenarioResult[]): string {
  const rows: string[][] = [['figure', 'value', 'reference', 'ratio']];
  const out: string[] = [];
  for (const r of results) {
    rows.push([`## ${r.title}`, '', '', '']);
    for (const f of r.figures as Figure[]) {
      rows.push([
        `  ${f.metric}`,
        formatValue(f.value, f.unit),
        f.reference ? `${formatValue(f.reference.value, f.reference.unit)} (${f.reference.label})` : '',
        f.ratio !== undefined ? `${f.ratio}` : '',
      ]);
    }
  }
  const widths = [0, 1, 2].map((i) =>
    Math.max(...rows.filter((r) => !r[0]!.startsWith('## ')).map((r) => r[i]!.length)),
  );
  for (const row of rows) {
    if (row[0]!.startsWith('## ')) out.push(`\n${row[0]!.slice(3)}`);
    else
      out.push(
        (
          `${row[0]!.padEnd(widths[0]!)}  ${row[1]!.padStart(widths[1]!)}  ` +
          `${row[2]!.padEnd(widths[2]!)}  ${row[3]}`
        ).trimEnd(),
      );
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const started = new Date();
  const stamp = started.toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const machine = machineInfo();
  const log = (m: string) => (flags.json ? process.stderr : process.stdout).write(m);
  log(
    `meta-orchestrator bench${flags.quick ? ' (--quick)' : ''}: ${machine.cpu}, ${machine.cores} cores, ` +
      `${machine.ramGiB} GiB, Node ${machine.node}, load ${machine.loadavgAtStart.join(' ')}\n`,
  );
  const results: ScenarioResult[] = [];
  const failures: Array<{ name: string; error: string }> = [];
  const profileDir = join(BENCH_DIR, 'results', 'profiles', stamp);
  for (const name of SCENARIOS) {
    if (flags.only && !flags.only.includes(name)) continue;
    log(`- ${name} ... `);
    const t0 = performance.now();
    try {
      const nodeArgs = flags.profile
        ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, name)}`]
        : (process.env.BENCH_NODE_ARGS?.split(' ') ?? []);
      const result = await runScenarioInChild<ScenarioResult>(name, {
        quick: flags.quick,
        nodeArgs,
        timeoutMs: 600_000,
      });
      results.push({
        ...result,
        notes: [
          ...result.notes,
          `load average after: ${loadavg()
            .map((l) => l.toFixed(2))
            .join(' ')}`,
        ],
      });
      log(`${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    } catch (error) {
      failures.push({ name, error: (error as Error).message });
      log(`FAILED (${(error as Error).message.split('\n')[0]})\n`);
    }
  }
  const report = {
    date: started.toISOString(),
    quick: flags.quick,
    machine: { ...machine, loadavgAtEnd: loadavg().map((l) => Math.round(l * 100) / 100) },
    totalSeconds: Math.round((Date.now() - started.getTime()) / 100) / 10,
    results,
    failures,
  };
  if (flags.save) {
    mkdirSync(join(BENCH_DIR, 'results'), { recursive: true });
    const file = join(BENCH_DIR, 'results', `${stamp}${flags.quick ? '-quick' : ''}.json`);
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    log(`saved ${file.slice(ROOT.length)}\n`);
  }
  if (flags.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else {
    process.stdout.write(`${table(results)}\n`);
    for (const r of results) for (const n of r.notes) process.stdout.write(`  [${r.name}] ${n}\n`);
    process.stdout.write(`\ntotal ${report.totalSeconds} s\n`);
  }
  if (failures.length > 0) {
    for (const f of failures) process.stderr.write(`\n${f.name} failed:\n${f.error}\n`);
    process.exitCode = 1;
  }
}

await main();
