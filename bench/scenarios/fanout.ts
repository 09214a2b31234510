/**
 * 5. SSE fan-out on one session with 200 clients:
 * - replay: E events already in the log, 200 clients connect with Last-Event-ID 0 and take them all as fast
 *   as they can -> events/s delivered (sum over clients). Reference: a bare node:http server writing the same
 *   frames (pre-built) to 200 clients.
 * - live: an agent writes 1,000 lines/s; 200 clients follow live -> delivered events/s, drops.
 * - slow clients: the same live run with 20 of the 200 clients never reading -> orchestrator RSS against the
 *   live run without them (bounded per client by 10,000 events / 8 MiB; past that a client is dropped).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { claudeTextLine, successLine, writeCorpus } from '../lib/corpus.js';
import { agentEnv, benchSpec, createSession, makeHarness, sleep, tempDir } from '../lib/harness.js';
import { round, Sampler, type ScenarioOptions, type ScenarioResult } from '../lib/measure.js';
import { runScenarioInChild } from '../lib/run-child.js';
import { SsePool } from '../lib/sse-pool.js';
import { bareFanout } from '../lib/bare-fanout.js';
import { eventFrame } from '../../src/http/sse.js';

const CLIENTS = 200;
const SLOW = 20;

interface LiveRun {
  slow: number;
  produced: number;
  deliveredPerS: number;
  peakRssMb: number;
  baseRssMb: number;
  drops: number;
  gaps: number;
  seconds: number;
}

async function live(slow: number, quick: boolean): Promise<LiveRun> {
  const durationMs = quick ? 4_000 : 12_000;
  const drops: string[] = [];
  const harness = await makeHarness({
    env: agentEnv({
      BENCH_AGENT_MODE: 'rate',
      BENCH_RATE: '1000',
      BENCH_DURATION_MS: String(durationMs),
      BENCH_TEMPLATE: claudeTextLine('x'),
      BENCH_FINAL_LINE: successLine('claude'),
    }),
    logger: { warn: (m) => drops.push(m) },
  });
  const pool = await SsePool.spawn();
  try {
    const sampler = new Sampler(200);
    const baseRssMb = sampler.samples[0]!.rssMb;
    const runtime = await createSession(harness, benchSpec(1, ['claude']));
    const t0 = performance.timeOrigin + performance.now();
    await pool.open({ url: harness.eventsUrl(runtime.sessionId), token: harness.server!.token, count: CLIENTS, slow });
    await runtime.waitForEnd();
    const lastSeq = runtime.store.log.lastSeq;
    const at = await pool.reach(lastSeq, 120_000);
    await sleep(500);
    sampler.stop();
    const stats = await pool.stats();
    const fast = stats.clients.filter((c) => !c.slow);
    const delivered = fast.reduce((a, c) => a + c.events, 0);
    return {
      slow,
      produced: lastSeq,
      deliveredPerS: delivered / ((at - t0) / 1000),
      peakRssMb: sampler.peakRssMb,
      baseRssMb,
      drops: drops.length,
      gaps: fast.reduce((a, c) => a + c.gaps + c.duplicates, 0),
      seconds: (at - t0) / 1000,
    };
  } finally {
    await pool.close();
    await harness.cleanup();
  }
}

async function replay(quick: boolean): Promise<{ ours: number; bare: number; bareConnected: number; events: number }> {
  const events = quick ? 3_000 : 10_000;
  const dir = tempDir('fanout');
  const corpus = join(dir, 'claude.jsonl');
  writeCorpus(corpus, 'claude', events);
  const harness = await makeHarness({ env: agentEnv({ BENCH_AGENT_MODE: 'bulk', BENCH_CORPUS: corpus }) });
  const pool = await SsePool.spawn();
  const refPool = await SsePool.spawn();
  try {
    const runtime = await createSession(harness, benchSpec(1, ['claude']));
    await runtime.waitForEnd();
    const lastSeq = runtime.store.log.lastSeq;
    const frames = runtime.store.log.readAfter(0).map(eventFrame);
    const t0 = performance.timeOrigin + performance.now();
    const reached = pool.reach(lastSeq, 300_000);
    await pool.open({ url: harness.eventsUrl(runtime.sessionId), token: harness.server!.token, count: CLIENTS });
    const at = await reached;
    const ours = (lastSeq * CLIENTS) / ((at - t0) / 1000);
    const bare = await bareFanout(frames, CLIENTS, refPool, { withConnections: true });
    const refPool2 = await SsePool.spawn();
    try {
      const bareConnected = await bareFanout(frames, CLIENTS, refPool2);
      return { ours, bare, bareConnected, events: lastSeq };
    } finally {
      await refPool2.close();
    }
  } finally {
    await pool.close();
    await refPool.close();
    await harness.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(
  options: ScenarioOptions,
): Promise<ScenarioResult | LiveRun | Awaited<ReturnType<typeof replay>>> {
  if (options.args?.part === 'live') return live(Number(options.args.slow ?? 0), options.quick);
  if (options.args?.part === 'replay') return replay(options.quick);
  const started = performance.now();
  const child = <T>(args: Record<string, string>) =>
    runScenarioInChild<T>('fanout', { quick: options.quick, args, timeoutMs: 300_000 });
  const rep = await child<Awaited<ReturnType<typeof replay>>>({ part: 'replay' });
  const fast = await child<LiveRun>({ part: 'live', slow: '0' });
  const slow = await child<LiveRun>({ part: 'live', slow: String(SLOW) });
  return {
    name: 'fanout',
    title: `SSE fan-out: ${CLIENTS} clients on one session`,
    durationMs: performance.now() - started,
    figures: [
      {
        metric: `replay of ${rep.events} events to ${CLIENTS} clients`,
        value: round(rep.ours, 0),
        unit: 'events/s',
        reference: {
          label: 'bare node:http writing the same frames, connections included',
          value: round(rep.bare, 0),
          unit: 'events/s',
        },
        ratio: round(rep.ours / rep.bare, 3),
        bound:
          'the socket writes: pages of 256 frames built once from the file (no JSON.parse or JSON.stringify) ' +
          'and shared by every client (EventLog.readFrameChunk), written to each socket as far as it takes them',
      },
      {
        metric: `live, 1,000 lines/s to ${CLIENTS} clients`,
        value: round(fast.deliveredPerS, 0),
        unit: 'events/s',
        bound:
          "one frame per event, built once from the log's JSON line and shared by all clients; " +
          'per client a queue push and the socket write',
      },
      { metric: `peak RSS, ${CLIENTS} clients live`, value: round(fast.peakRssMb, 0), unit: 'MB' },
      {
        metric: `peak RSS, ${CLIENTS} clients live, ${SLOW} of them never reading`,
        value: round(slow.peakRssMb, 0),
        unit: 'MB',
        reference: { label: 'same without slow clients', value: round(fast.peakRssMb, 0), unit: 'MB' },
        ratio: round(slow.peakRssMb / fast.peakRssMb, 2),
        bound:
          `per slow client at most 10,000 events / 8 MiB queued, ` +
          `then dropped (bound ${SLOW} x 8 MiB = ${SLOW * 8} MiB + socket buffers)`,
      },
    ],
    notes: [
      `replay: bare node:http timed from when all ${CLIENTS} clients are connected (the reference before ` +
        `2026-12-07): ${round(rep.bareConnected, 0)} events/s, ratio ${round(rep.ours / rep.bareConnected, 3)}`,
      `live: ${fast.produced} events in ${fast.seconds.toFixed(1)} s, ` +
        `drops ${fast.drops}, gaps+duplicates ${fast.gaps}`,
      `live with ${SLOW} slow: ${slow.produced} events in ${slow.seconds.toFixed(1)} s, ` +
        `slow-client drops ${slow.drops}, gaps+duplicates at the fast clients ${slow.gaps}; ` +
        `RSS at start ${slow.baseRssMb.toFixed(0)} MB`,
    ],
  };
}
