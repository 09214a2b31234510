/**
 * SSE chaos: clients connect and drop at random (mid-frame too) while a real agent writes steadily, each
 * coming back with the id of its last complete frame (Last-Event-ID header, or ?lastEventId= as a first
 * EventSource connection would) -> every client's sequence has no gap and no duplicate, and ends at the
 * session's last seq. Plus: an event larger than the SSE byte bound must still reach a client.
 */
import http from 'node:http';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claudeTextLine, successLine, transcriptLines } from '../../bench/lib/corpus.js';
import {
  agentEnv,
  benchSpec,
  createSession,
  makeHarness,
  sleep,
  tempDir,
  type Harness,
} from '../../bench/lib/harness.js';
import type { SessionRuntime } from '../../src/runtime/session-runtime.js';
import { SIZES, SMALL, report } from './sizes.js';

interface ChaosClient {
  lastId: number;
  frames: number;
  gaps: string[];
  connects: number;
  midFrameCuts: number;
}

/** One connection: read frames until `stopAfterMs` (then cut, maybe mid-frame) or `until()` holds. */
function connectOnce(
  url: string,
  token: string,
  client: ChaosClient,
  mode: 'header' | 'query' | 'both',
  stopAfterMs: number,
  until?: () => boolean,
): Promise<void> {
  return new Promise((resolve) => {
    client.connects++;
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    let target = url;
    if (mode !== 'query') headers['last-event-id'] = String(client.lastId);
    // With both, the query names an older id: the header (the newer word) must win.
    if (mode !== 'header') target += `?lastEventId=${mode === 'both' ? Math.max(0, client.lastId - 7) : client.lastId}`;
    let pending = '';
    let finished = false;
    const done = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      if (pending.length > 0) client.midFrameCuts++;
      req.destroy();
      resolve();
    };
    const timer = setTimeout(done, stopAfterMs);
    const req = http.get(target, { headers, agent: false }, (res) => {
      if (res.statusCode !== 200) {
        client.gaps.push(`status ${res.statusCode}`);
        res.resume();
        done();
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        pending += chunk;
        let end: number;
        while ((end = pending.indexOf('\n\n')) !== -1) {
          const block = pending.slice(0, end);
          pending = pending.slice(end + 2);
          if (!block.startsWith('id: ')) continue; // snapshot, heartbeat
          const nl = block.indexOf('\n');
          const id = Number(block.slice(4, nl));
          const data = block.slice(block.indexOf('\ndata: ') + 7);
          if (!data.startsWith(`{"seq":${id},`))
            client.gaps.push(`frame ${id} carries another event: ${data.slice(0, 40)}`);
          if (id !== client.lastId + 1) client.gaps.push(`${id} after ${client.lastId}`);
          client.lastId = Math.max(client.lastId, id);
          client.frames++;
        }
        if (until?.()) done();
      });
      res.on('end', done);
      res.on('close', done);
      res.on('error', done);
    });
    req.on('error', done);
  });
}

describe('SSE chaos', () => {
  let harness: Harness;
  let runtime: SessionRuntime;
  const rate = 200;

  beforeAll(async () => {
    harness = await makeHarness({
      env: agentEnv({
        BENCH_AGENT_MODE: 'rate',
        BENCH_RATE: String(rate),
        BENCH_DURATION_MS: String((SIZES.chaosSeconds + 3) * 1000),
        BENCH_TEMPLATE: claudeTextLine('x'),
        BENCH_FINAL_LINE: successLine('claude'),
      }),
    });
    runtime = await createSession(harness, benchSpec(1, ['claude']));
  });
  afterAll(async () => {
    await harness?.cleanup();
  });

  it(`${SIZES.chaosClients} clients come and go at random, ${SIZES.chaosSeconds} s: no gap or duplicate`, async () => {
    const url = harness.eventsUrl(runtime.sessionId);
    const token = harness.server!.token;
    const clients: ChaosClient[] = Array.from({ length: SIZES.chaosClients }, () => ({
      lastId: 0,
      frames: 0,
      gaps: [],
      connects: 0,
      midFrameCuts: 0,
    }));
    const deadline = Date.now() + SIZES.chaosSeconds * 1000;
    const modes = ['header', 'header', 'query', 'both'] as const;
    await Promise.all(
      clients.map(async (client, i) => {
        await sleep(Math.random() * 500);
        while (Date.now() < deadline) {
          await connectOnce(
            url,
            token,
            client,
            modes[(i + client.connects) % modes.length] as (typeof modes)[number],
            20 + Math.random() * 1500,
          );
          await sleep(Math.random() * 200);
        }
      }),
    );
    await runtime.waitForEnd();
    const lastSeq = runtime.store.log.lastSeq;
    // A last connection each, until the end of the log.
    await Promise.all(
      clients.map((client) => connectOnce(url, token, client, 'header', 60_000, () => client.lastId >= lastSeq)),
    );
    const totalConnects = clients.reduce((a, c) => a + c.connects, 0);
    report('sse chaos', {
      clients: clients.length,
      seconds: SIZES.chaosSeconds,
      lastSeq,
      connects: totalConnects,
      midFrameCuts: clients.reduce((a, c) => a + c.midFrameCuts, 0),
      framesReceived: clients.reduce((a, c) => a + c.frames, 0),
      problems: clients.flatMap((c) => c.gaps).slice(0, 10),
    });
    for (const [i, client] of clients.entries()) {
      expect(client.gaps, `client ${i}`).toEqual([]);
      expect(client.lastId, `client ${i} reached the end`).toBe(lastSeq);
      expect(client.frames, `client ${i} got every event exactly once`).toBe(lastSeq);
    }
    expect(totalConnects).toBeGreaterThan(clients.length * 3);
  });
});

describe('SSE and very large events', () => {
  it('an event under the line limit (8 MiB) but over the per-client bound still reaches a reading client', async () => {
    const dir = tempDir('big-event');
    const corpus = join(dir, 'claude.jsonl');
    // A well-formed line of a type the adapter does not know: it becomes an `unknown` event that keeps the
    // value. The line fits the follower's 8 MiB limit; its event frame is a few hundred bytes longer.
    const pad = 8 * 1024 * 1024 - 400;
    const big = JSON.stringify({ type: 'x_future_event', pad: 'p'.repeat(pad) });
    const first = transcriptLines('claude')[0] as string;
    writeFileSync(corpus, `${first}\n${big}\n${successLine('claude')}\n`);
    const harness = await makeHarness({ env: agentEnv({ BENCH_AGENT_MODE: 'bulk', BENCH_CORPUS: corpus }) });
    try {
      const runtime = await createSession(harness, benchSpec(1, ['claude']));
      await runtime.waitForEnd();
      const lastSeq = runtime.store.log.lastSeq;
      const bigEvent = runtime.store.log
        .readAfter(0)
        .find((e) => e.type === 'agent' && e.kind === 'unknown' && e.originalType === 'x_future_event');
      expect(bigEvent, 'the big line became an event').toBeDefined();
      const client: ChaosClient = { lastId: 0, frames: 0, gaps: [], connects: 0, midFrameCuts: 0 };
      const t0 = Date.now();
      while (client.lastId < lastSeq && Date.now() - t0 < (SMALL ? 6_000 : 15_000)) {
        await connectOnce(
          harness.eventsUrl(runtime.sessionId),
          harness.server!.token,
          client,
          'header',
          5_000,
          () => client.lastId >= lastSeq,
        );
      }
      report('big event', {
        lineBytes: big.length,
        eventSeq: bigEvent?.seq,
        lastSeq,
        clientReached: client.lastId,
        connects: client.connects,
      });
      expect(client.lastId, `client stuck before event ${bigEvent?.seq} after ${client.connects} connections`).toBe(
        lastSeq,
      );
    } finally {
      await harness.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
