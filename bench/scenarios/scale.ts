/**
 * 3. Scale: 10, 100 and 300 concurrent workers in one session (each N in a fresh orchestrator process).
 * The agents are bench/agents/idle-agent.sh: one real claude init line, then asleep, so that hundreds of
 * them cost the machine nothing and the figures are the orchestrator's. Measured per N:
 * - launch: orchestrator CPU to launch and take in N workers (until each has logged its init event);
 * - RSS of the orchestrator with N workers running (after a GC), and per worker above the empty baseline;
 * - active: every worker's output file grows by 10 lines/s (appended by a driver process, the orchestrator
 *   only follows files) -> orchestrator CPU per worker;
 * - idle: every worker asleep -> orchestrator CPU over a quiet window (must be ~0: no polling loops).
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { transcriptLines } from '../lib/corpus.js';
import { agentEnv, benchSpec, createSession, IDLE_AGENT, makeHarness, sleep, waitUntil } from '../lib/harness.js';
import { cpuSeconds, round, rssMb, type Figure, type ScenarioOptions, type ScenarioResult } from '../lib/measure.js';
import { BENCH_DIR } from '../lib/paths.js';
import { runScenarioInChild } from '../lib/run-child.js';

interface ScaleRun {
  n: number;
  baselineRssMb: number;
  rssMb: number;
  launchSeconds: number;
  launchCpuMs: number;
  activeCpuPct: number;
  activeLines: number;
  idleCpuPct: number;
  idleWindowS: number;
  activeWindowS: number;
}

const ACTIVE_RATE = 10;

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function one(n: number, quick: boolean): Promise<ScaleRun> {
  const initLine = transcriptLines('claude')[0] as string;
  const harness = await makeHarness({
    env: agentEnv({ BENCH_IDLE_LINE: initLine, BENCH_HOLD_SEC: '3600' }, IDLE_AGENT),
  });
  try {
    await sleep(500);
    gc();
    const baselineRssMb = rssMb();
    const cpu0 = cpuSeconds();
    const t0 = performance.now();
    const runtime = await createSession(harness, benchSpec(n, ['claude']));
    const countAgentEvents = () => {
      let agents = 0;
      for (const w of runtime.view().workers) if (w.status === 'running') agents++;
      return agents;
    };
    await waitUntil(() => countAgentEvents() === n, `${n} workers running`, 120_000, 50);
    // Each worker's init line is in the log: its file was followed.
    const expectInit = () => runtime.store.log.readAfter(0).filter((e) => e.type === 'agent').length >= n;
    await waitUntil(expectInit, `${n} init events`, 120_000, 200);
    const launchSeconds = (performance.now() - t0) / 1000;
    const launchCpuMs = (cpuSeconds() - cpu0) * 1000;
    // Let the launch settle (V8's background compilation and GC of hundreds of launches, the last throttled
    // snapshot) so the idle window measures idling, not the tail of the launch.
    await sleep(quick ? 2_000 : 5_000);
    gc();
    const rss = rssMb();

    // Idle windows: nothing is written, nobody asks anything. The median of five: once a process goes quiet,
    // V8's memory reducer runs two rounds of GC ("Mark-Compact (reduce)" in --trace-gc, 40-130 ms each) that
    // two of the windows may hold; what the median keeps is the orchestrator's own idling.
    const idleWindowS = quick ? 2 : 3;
    const windows: number[] = [];
    for (let k = 0; k < 5; k++) {
      const i0 = cpuSeconds();
      await sleep(idleWindowS * 1000);
      windows.push(((cpuSeconds() - i0) / idleWindowS) * 100);
    }
    const idleCpuPct = [...windows].sort((a, b) => a - b)[2] as number;

    // Active window: every file grows at ACTIVE_RATE lines/s.
    const activeWindowS = quick ? 5 : 10;
    const files = runtime
      .view()
      .workers.map((w) => harness.manager.get(runtime.sessionId)!.store.agentFiles(w.id).stdout);
    const line = transcriptLines('claude').find(
      (l) => l.includes('"type":"assistant"') && !l.includes('"error"'),
    ) as string;
    const driver = fork(
      join(BENCH_DIR, 'lib', 'file-driver.ts'),
      [String(ACTIVE_RATE), String(activeWindowS * 1000), line],
      {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    );
    await new Promise((r) => driver.once('message', r));
    const seq0 = runtime.store.log.lastSeq;
    const a0 = cpuSeconds();
    const t1 = performance.now();
    const done = new Promise<{ lines: number }>((r) =>
      driver.on('message', (m: { type: string; lines: number }) => m.type === 'done' && r(m)),
    );
    driver.send({ files });
    const { lines } = await done;
    const expected = seq0 + lines;
    await waitUntil(() => runtime.store.log.lastSeq >= expected, 'the driven lines to be logged', 60_000, 20);
    const activeCpuPct = ((cpuSeconds() - a0) / ((performance.now() - t1) / 1000)) * 100;
    driver.kill();
    return {
      n,
      baselineRssMb,
      rssMb: rss,
      launchSeconds,
      launchCpuMs,
      activeCpuPct,
      activeLines: lines,
      idleCpuPct,
      idleWindowS,
      activeWindowS,
    };
  } finally {
    await harness.cleanup();
  }
}

export async function run(options: ScenarioOptions): Promise<ScenarioResult | ScaleRun> {
  if (options.args?.n) return one(Number(options.args.n), options.quick);
  const started = performance.now();
  const sizes = options.quick ? [10, 50] : [10, 100, 300];
  const runs: ScaleRun[] = [];
  for (const n of sizes)
    runs.push(
      await runScenarioInChild<ScaleRun>('scale', {
        quick: options.quick,
        args: { n: String(n) },
        nodeArgs: ['--expose-gc'],
        timeoutMs: 300_000,
      }),
    );
  const figures: Figure[] = [];
  for (const r of runs) {
    figures.push(
      {
        metric: `N=${r.n}: orchestrator RSS`,
        value: round(r.rssMb, 0),
        unit: 'MB',
        reference: { label: 'same process, no session', value: round(r.baselineRssMb, 0), unit: 'MB' },
        ratio: round(r.rssMb / r.baselineRssMb, 2),
      },
      {
        metric: `N=${r.n}: RSS per worker`,
        value: round((r.rssMb - r.baselineRssMb) / r.n, 2),
        unit: 'MB',
        bound: 'xstate actor + context per worker, fs.watch, proc records',
      },
      {
        metric: `N=${r.n}: launch CPU per worker`,
        value: round(r.launchCpuMs / r.n, 1),
        unit: 'ms',
        bound: 'spawn via execa, proc.json + snapshot.json (fsync) per state change',
      },
      {
        metric: `N=${r.n}: CPU per active worker (${ACTIVE_RATE} lines/s each)`,
        value: round(r.activeCpuPct / r.n, 3),
        unit: '% of a core',
      },
      {
        metric: `N=${r.n}: CPU, every worker idle`,
        value: round(r.idleCpuPct, 3),
        unit: '% of a core',
        bound: 'must be ~0: no polling (inotify wakeups only)',
      },
    );
  }
  return {
    name: 'scale',
    title: 'Scale: concurrent workers in one session',
    durationMs: performance.now() - started,
    figures,
    notes: runs.map(
      (r) =>
        `N=${r.n}: all running and followed after ${r.launchSeconds.toFixed(1)} s ` +
        `(launch CPU ${(r.launchCpuMs / 1000).toFixed(1)} s); ` +
        `active window ${r.activeWindowS} s, ${r.activeLines} lines, ` +
        `${r.activeCpuPct.toFixed(1)}% CPU total; idle: median of 5 windows of ${r.idleWindowS} s`,
    ),
  };
}
