/**
 * 1. Pipeline throughput: three agents (claude, codex, gemini personas of the bench agent) write N lines of
 * real transcript lines, cycled, to their stdout files as fast as the kernel takes them; the orchestrator
 * follows the files, parses, normalizes, appends to events.jsonl and fans out to 10 SSE clients (real
 * sockets, in another process). Measured: lines/s from the first write to the last seq at all 10 clients.
 * Reference: the same bytes through a bare read + split('\n') + JSON.parse loop in one process.
 */
import { closeSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_AGENTS, writeCorpus } from '../lib/corpus.js';
import { agentEnv, benchSpec, createSession, makeHarness, tempDir } from '../lib/harness.js';
import {
  cpuSeconds,
  procCpuSeconds,
  round,
  Sampler,
  type ScenarioOptions,
  type ScenarioResult,
} from '../lib/measure.js';
import { SsePool } from '../lib/sse-pool.js';

const CLIENTS = 10;

/** Bare reference: read the files, split lines, JSON.parse each. Returns lines/s. */
export function bareParse(files: string[]): { lines: number; seconds: number } {
  const t0 = performance.now();
  let lines = 0;
  const chunk = Buffer.alloc(1 << 20);
  for (const file of files) {
    const fd = openSync(file, 'r');
    let rest = '';
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      const parts = (rest + chunk.toString('utf8', 0, n)).split('\n');
      rest = parts.pop() ?? '';
      for (const line of parts) {
        if (line.length === 0) continue;
        JSON.parse(line);
        lines++;
      }
    }
    if (rest) {
      JSON.parse(rest);
      lines++;
    }
    closeSync(fd);
  }
  return { lines, seconds: (performance.now() - t0) / 1000 };
}

export async function run(options: ScenarioOptions): Promise<ScenarioResult> {
  const started = performance.now();
  const total = options.quick ? 150_000 : Number(process.env.BENCH_THROUGHPUT_LINES ?? 1_000_000);
  const perAgent = Math.floor(total / BENCH_AGENTS.length);
  const corpusDir = tempDir('corpus');
  const files: Record<string, string> = {};
  let bytes = 0;
  for (const agent of BENCH_AGENTS) {
    files[agent] = join(corpusDir, `${agent}.jsonl`);
    bytes += writeCorpus(files[agent], agent, perAgent);
  }
  const lines = perAgent * BENCH_AGENTS.length;

  // The physical reference, twice (the first warms the page cache and the JIT); the better one counts.
  const refs = [bareParse(Object.values(files)), bareParse(Object.values(files))];
  const ref = refs.reduce((a, b) => (a.seconds < b.seconds ? a : b));
  const refRate = ref.lines / ref.seconds;

  const harness = await makeHarness({
    env: agentEnv({
      BENCH_AGENT_MODE: 'bulk',
      BENCH_CORPUS_CLAUDE: files.claude as string,
      BENCH_CORPUS_CODEX: files.codex as string,
      BENCH_CORPUS_GEMINI: files.gemini as string,
    }),
  });
  const pool = await SsePool.spawn();
  try {
    const sampler = new Sampler(500);
    const cpu0 = cpuSeconds();
    const t0 = performance.timeOrigin + performance.now();
    const runtime = await createSession(harness, benchSpec(3, BENCH_AGENTS));
    await pool.open({ url: harness.eventsUrl(runtime.sessionId), token: harness.server!.token, count: CLIENTS });
    const end = await runtime.waitForEnd();
    const persistedAt = performance.timeOrigin + performance.now();
    const lastSeq = runtime.store.log.lastSeq;
    const deliveredAt = await pool.reach(lastSeq, 600_000);
    const cpu = cpuSeconds() - cpu0;
    sampler.stop();
    const wall = (deliveredAt - t0) / 1000;
    const stats = await pool.stats();
    const gaps = stats.clients.reduce((a, c) => a + c.gaps + c.duplicates, 0);
    const eventsFile = statSync(join(runtime.store.dir, 'events.jsonl')).size;
    const rate = lines / wall;
    return {
      name: 'throughput',
      title: `Pipeline throughput (${(lines / 1e6).toFixed(2)} M lines -> events.jsonl -> ${CLIENTS} SSE clients)`,
      durationMs: performance.now() - started,
      figures: [
        {
          metric: 'lines/s, agent files to 10 SSE clients',
          value: round(rate, 0),
          unit: 'lines/s',
          reference: { label: 'bare read + split + JSON.parse, same bytes', value: round(refRate, 0), unit: 'lines/s' },
          ratio: round(rate / refRate, 3),
          bound: 'one core: parse + normalize + JSON.stringify per event + SSE frames (see profile)',
        },
        { metric: 'events/s persisted and delivered', value: round(lastSeq / wall, 0), unit: 'events/s' },
        {
          metric: 'lines/s, agent files to events.jsonl (persisted)',
          value: round(lines / ((persistedAt - t0) / 1000), 0),
          unit: 'lines/s',
        },
        { metric: 'orchestrator CPU per line', value: round((cpu / lines) * 1e6, 2), unit: 'µs/line' },
        { metric: 'orchestrator peak RSS', value: round(sampler.peakRssMb, 0), unit: 'MB' },
      ],
      notes: [
        `${lines} lines (${(bytes / 1e6).toFixed(0)} MB of agent output) became ${lastSeq} events ` +
          `(${(eventsFile / 1e6).toFixed(0)} MB events.jsonl); session ended ${end}`,
        `${CLIENTS} clients each received ${stats.clients.map((c) => c.events).join('/')} events; ` +
          `gaps+duplicates: ${gaps}; connections (1 + reconnects after a drop) ` +
          `${stats.clients.map((c) => c.connects).join('/')}`,
        `SSE client process CPU ${procCpuSeconds(pool.pid).toFixed(1)} s`,
        `wall ${wall.toFixed(2)} s; orchestrator CPU ${cpu.toFixed(1)} s ` +
          `(${((cpu / wall) * 100).toFixed(0)}% of one core); reference ${ref.seconds.toFixed(2)} s`,
      ],
    };
  } finally {
    await pool.close();
    await harness.cleanup();
    rmSync(corpusDir, { recursive: true, force: true });
  }
}
