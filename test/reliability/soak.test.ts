/**
 * Soak: one session of 50 fake workers (test/fixtures/fake-agent.mjs) printing steadily (10 lines/s each) for
 * 10 minutes, with 5 SSE clients following it -> the orchestrator's memory stays flat. RSS and heap (after a
 * forced GC) are sampled; the slope is fitted over the last two thirds of the run (after the warm-up) and
 * reported in MB/min. What legitimately grows: the log's offset index (one number per event, ~8 bytes).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { agentEnv, benchSpec, createSession, makeHarness, sleep, type Harness } from '../../bench/lib/harness.js';
import { slope } from '../../bench/lib/measure.js';
import { FAKE_AGENT } from '../../bench/lib/paths.js';
import { SsePool } from '../../bench/lib/sse-pool.js';
import { SIZES, SMALL, report } from './sizes.js';

let harness: Harness | null = null;
let pool: SsePool | null = null;
afterAll(async () => {
  await pool?.close();
  await harness?.cleanup();
});

describe('soak', () => {
  it(`${SIZES.soakWorkers} fake workers emitting steadily for ${SIZES.soakSeconds} s: memory flat`, async () => {
    const delayMs = 100;
    const lines = Math.floor((SIZES.soakSeconds * 1000) / delayMs);
    harness = await makeHarness({
      env: agentEnv({ FAKE_AGENT_CONFIG: JSON.stringify({ default: { lines, delayMs } }) }, FAKE_AGENT),
    });
    pool = await SsePool.spawn();
    const runtime = await createSession(harness, benchSpec(SIZES.soakWorkers, ['claude']));
    await pool.open({ url: harness.eventsUrl(runtime.sessionId), token: harness.server!.token, count: 5 });
    const every = SMALL ? 1_000 : 5_000;
    const samples: Array<{ t: number; rss: number; heap: number; seq: number }> = [];
    const t0 = performance.now();
    let ended = false;
    const end = runtime.waitForEnd(true).then((e) => {
      ended = true;
      return e;
    });
    while (!ended) {
      await Promise.race([sleep(every), end]);
      if (ended) break;
      globalThis.gc?.();
      const m = process.memoryUsage();
      samples.push({
        t: (performance.now() - t0) / 60_000,
        rss: m.rss / 2 ** 20,
        heap: m.heapUsed / 2 ** 20,
        seq: runtime.store.log.lastSeq,
      });
    }
    const outcome = await end;
    const lastSeq = runtime.store.log.lastSeq;
    await pool.reach(lastSeq, 60_000);
    const clients = await pool.stats();
    const steady = samples.slice(Math.floor(samples.length / 3));
    const rssSlope = slope(
      steady.map((s) => s.t),
      steady.map((s) => s.rss),
    );
    const heapSlope = slope(
      steady.map((s) => s.t),
      steady.map((s) => s.heap),
    );
    const minutes = (performance.now() - t0) / 60_000;
    report('soak', {
      workers: SIZES.soakWorkers,
      minutes: Math.round(minutes * 10) / 10,
      outcome,
      events: lastSeq,
      eventsPerSecond: Math.round(lastSeq / (minutes * 60)),
      samples: samples.length,
      rssMb: {
        first: Math.round(samples[0]?.rss ?? 0),
        last: Math.round(samples.at(-1)?.rss ?? 0),
        max: Math.round(Math.max(...samples.map((s) => s.rss))),
      },
      heapMb: { first: Math.round(samples[0]?.heap ?? 0), last: Math.round(samples.at(-1)?.heap ?? 0) },
      rssSlopeMbPerMin: Math.round(rssSlope * 100) / 100,
      heapSlopeMbPerMin: Math.round(heapSlope * 100) / 100,
      sseGapsOrDuplicates: clients.clients.reduce((a, c) => a + c.gaps + c.duplicates, 0),
    });
    expect(outcome).toBe('completed');
    expect(clients.clients.every((c) => c.lastId === lastSeq && c.gaps + c.duplicates === 0)).toBe(true);
    if (!SMALL) {
      // Flat: well under what a leak of one object per event would show (~500 events/s).
      expect(heapSlope, 'heap slope, MB/min').toBeLessThan(2);
      expect(rssSlope, 'RSS slope, MB/min').toBeLessThan(5);
    }
  });
});
