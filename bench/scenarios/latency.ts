/**
 * 2. Latency: a claude-persona agent writes 1,000 lines/s, each carrying the epoch time (µs precision) taken
 * just before its write; an SSE client (one of 10) compares its arrival time. Same machine clock in both
 * processes (performance.timeOrigin + performance.now()). Reference: the same writer and client through a
 * bare fs.watch -> read -> SSE relay (bench/lib/bare-relay.ts).
 */
import { closeSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { claudeTextLine, successLine } from '../lib/corpus.js';
import { agentEnv, benchSpec, BENCH_AGENT, createSession, makeHarness, sleep, tempDir } from '../lib/harness.js';
import { cpuSeconds, percentile, round, type ScenarioOptions, type ScenarioResult } from '../lib/measure.js';
import { startBareRelay } from '../lib/bare-relay.js';
import { SsePool } from '../lib/sse-pool.js';

const RATE = 1000;
const CLIENTS = 10;
const WARMUP_MS = 1000;

export async function run(options: ScenarioOptions): Promise<ScenarioResult> {
  const started = performance.now();
  const durationMs = options.quick ? 4_000 : 12_000;
  const warmupLines = (WARMUP_MS * RATE) / 1000;
  const writerEnv = {
    BENCH_AGENT_MODE: 'rate',
    BENCH_RATE: String(RATE),
    BENCH_DURATION_MS: String(durationMs),
    BENCH_TEMPLATE: claudeTextLine('x'),
    BENCH_FINAL_LINE: successLine('claude'),
  };

  // --- reference: the bare relay -------------------------------------------------------------------------
  const dir = tempDir('latency');
  const refFile = join(dir, 'ref.jsonl');
  writeFileSync(refFile, '');
  const relay = await startBareRelay(refFile);
  const refPool = await SsePool.spawn();
  let refLatencies: number[];
  try {
    await refPool.open({ url: relay.url, token: 'none', count: CLIENTS, measureLatency: true });
    const out = openSync(refFile, 'a');
    const writer = spawn(BENCH_AGENT, ['--print'], {
      env: { ...process.env, ...writerEnv },
      stdio: ['ignore', out, 'inherit'],
    });
    await new Promise((r) => writer.on('exit', r));
    closeSync(out);
    await sleep(300);
    refLatencies = (await refPool.stats()).latencies.slice(warmupLines);
  } finally {
    await refPool.close();
    await relay.close();
  }

  // --- the orchestrator --------------------------------------------------------------------------------
  const harness = await makeHarness({ env: agentEnv(writerEnv) });
  const pool = await SsePool.spawn();
  try {
    const runtime = await createSession(harness, benchSpec(1, ['claude']));
    await pool.open({
      url: harness.eventsUrl(runtime.sessionId),
      token: harness.server!.token,
      count: CLIENTS,
      measureLatency: true,
    });
    const cpu0 = cpuSeconds();
    await runtime.waitForEnd();
    const cpu = cpuSeconds() - cpu0;
    await pool.reach(runtime.store.log.lastSeq, 60_000);
    const stats = await pool.stats();
    const latencies = stats.latencies.slice(warmupLines);
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    const max = Math.max(...latencies);
    const r50 = percentile(refLatencies, 50);
    const r99 = percentile(refLatencies, 99);
    const rmax = Math.max(...refLatencies);
    const bound = 'fs.watch (inotify) wakeup + setImmediate + parse/append/writeSync + the socket write';
    return {
      name: 'latency',
      title: `Latency agent write -> SSE client at ${RATE} lines/s (${CLIENTS} clients)`,
      durationMs: performance.now() - started,
      figures: [
        {
          metric: 'p50',
          value: round(p50, 2),
          unit: 'ms',
          reference: { label: 'bare fs.watch -> SSE relay', value: round(r50, 2), unit: 'ms' },
          ratio: round(p50 / r50, 2),
          bound,
        },
        {
          metric: 'p99',
          value: round(p99, 2),
          unit: 'ms',
          reference: { label: 'bare fs.watch -> SSE relay', value: round(r99, 2), unit: 'ms' },
          ratio: round(p99 / r99, 2),
          bound,
        },
        {
          metric: 'max',
          value: round(max, 2),
          unit: 'ms',
          reference: { label: 'bare fs.watch -> SSE relay', value: round(rmax, 2), unit: 'ms' },
          ratio: round(max / rmax, 2),
          bound: 'scheduling noise: GC pauses, other processes on 2 cores',
        },
        {
          metric: 'orchestrator CPU at 1,000 lines/s',
          value: round((cpu / (durationMs / 1000)) * 100, 1),
          unit: '% of a core',
        },
      ],
      notes: [
        `${latencies.length} probes measured after a ${WARMUP_MS} ms warm-up ` +
          `(reference: ${refLatencies.length}); gaps+duplicates at the clients: ` +
          `${stats.clients.reduce((a, c) => a + c.gaps + c.duplicates, 0)}`,
      ],
    };
  } finally {
    await pool.close();
    await harness.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}
