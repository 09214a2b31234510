/**
 * 4. Resume: a session folder with 100k events and 50 live workers (a real session of 50 fake agents,
 * test/fixtures/fake-agent.mjs, each printing 2,000 lines and then holding), detached; then a fresh
 * SessionManager times `resume`: read the snapshot, index events.jsonl, restore the actor, start it (every
 * process actor re-attaches to its live agent: proc record, /proc start time, follow from its offset).
 * Reference: a bare read + split + JSON.parse of the same events.jsonl.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { bareParse } from './throughput.js';
import { agentEnv, benchSpec, createSession, makeHarness, sleep, waitUntil } from '../lib/harness.js';
import { round, rssMb, type ScenarioOptions, type ScenarioResult } from '../lib/measure.js';
import { FAKE_AGENT } from '../lib/paths.js';
import { SessionManager } from '../../src/runtime/session-manager.js';
import { SessionStore } from '../../src/store/session-store.js';

export async function run(options: ScenarioOptions): Promise<ScenarioResult> {
  const started = performance.now();
  const workers = options.quick ? 20 : 50;
  const linesEach = options.quick ? 500 : 2000;
  const env = agentEnv(
    { FAKE_AGENT_CONFIG: JSON.stringify({ default: { lines: linesEach, delayMs: 0, holdMs: 900_000 } }) },
    FAKE_AGENT,
  );
  const harness = await makeHarness({ env, server: false });
  let second: SessionManager | null = null;
  try {
    const t0 = performance.now();
    const runtime = await createSession(harness, benchSpec(workers, ['claude']));
    const sid = runtime.sessionId;
    // Every fake agent prints its lines, then holds: the log stops growing.
    let last = -1;
    let stableSince = performance.now();
    await waitUntil(
      () => {
        const seq = runtime.store.log.lastSeq;
        if (seq !== last) {
          last = seq;
          stableSince = performance.now();
        }
        if (process.env.BENCH_DEBUG) process.stderr.write(`seq ${seq}\n`);
        return seq >= workers * linesEach && performance.now() - stableSince > 1500;
      },
      'the agents to print their lines',
      300_000,
      100,
    );
    const buildSeconds = (performance.now() - t0) / 1000;
    runtime.detach();
    harness.manager.detachAll();
    const eventsPath = join(harness.workspace, 'sessions', sid, 'events.jsonl');
    const events = SessionStore.lastSeqOf(harness.workspace, sid);
    const bytes = statSync(eventsPath).size;
    await sleep(500);

    const ref = [bareParse([eventsPath]), bareParse([eventsPath])].reduce((a, b) => (a.seconds < b.seconds ? a : b));
    const i0 = performance.now();
    const readOnly = SessionStore.openReadOnly(harness.workspace, sid);
    const indexMs = performance.now() - i0;
    readOnly.close();

    second = new SessionManager({ workspace: harness.workspace, env });
    const rss0 = rssMb();
    const r0 = performance.now();
    const resumed = second.resume(sid);
    const resumeMs = performance.now() - r0;
    const rssAfter = rssMb();
    const view = resumed.view();
    const running = view.workers.filter((w) => w.status === 'running').length;
    return {
      name: 'resume',
      title: `Resume a session of ${events} events and ${workers} live workers`,
      durationMs: performance.now() - started,
      figures: [
        {
          metric: 'SessionManager.resume (restore + index + re-attach, actor started)',
          value: round(resumeMs, 0),
          unit: 'ms',
          reference: {
            label: 'bare read + split + JSON.parse of events.jsonl',
            value: round(ref.seconds * 1000, 0),
            unit: 'ms',
          },
          ratio: round(resumeMs / (ref.seconds * 1000), 2),
          bound: 'the index: JSON.parse of every log line (the physical reference) + Buffer.concat per line',
        },
        { metric: 'index of events.jsonl alone (read-only open)', value: round(indexMs, 0), unit: 'ms' },
        { metric: 'resume per 100k events', value: round((resumeMs / events) * 100_000, 0), unit: 'ms' },
      ],
      notes: [
        `${events} events, ${(bytes / 1e6).toFixed(1)} MB events.jsonl, ` +
          `built in ${buildSeconds.toFixed(1)} s by ${workers} fake agents x ${linesEach} lines`,
        `after resume: ${running}/${workers} workers running ` +
          `(re-attached to their live agents); RSS +${(rssAfter - rss0).toFixed(0)} MB`,
      ],
    };
  } finally {
    if (second) await import('../lib/harness.js').then((h) => h.stopAll(second as SessionManager));
    await harness.cleanup();
  }
}
