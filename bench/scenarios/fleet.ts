/**
 * 8. The fleet (issue 16), on a throwaway Postgres cluster this scenario starts (test/support/postgres.ts):
 * - events appended per second to the Postgres store (fenced, gap-free, one transaction per batch) against the
 *   session folder's events.jsonl (EventLog.append), the same events in the same batches, in one run;
 * - sessions per minute run by 1 and by 3 runners (src/fleet/runner.ts, 2 slots each, in this process) from one
 *   queue: each session a clone of a bare git remote and one fake-agent worker, its log replicated to Postgres
 *   and its branches pushed. Reference: the same sessions run by one SessionManager on a local folder, no
 *   database, no clone, 2 at a time (what `run` costs).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NewEvent } from '../../src/domain/events.js';
import { SessionSpecSchema } from '../../src/domain/spec.js';
import { FleetStore, type Lease } from '../../src/fleet/pg-store.js';
import { Runner } from '../../src/fleet/runner.js';
import { SessionManager } from '../../src/runtime/session-manager.js';
import { EventLog } from '../../src/store/event-log.js';
import { startPostgres } from '../../test/support/postgres.js';
import { tempDir } from '../lib/harness.js';
import { round, type ScenarioOptions, type ScenarioResult } from '../lib/measure.js';
import { FAKE_AGENT } from '../lib/paths.js';

const BATCH = 100;

function event(n: number): NewEvent {
  return {
    type: 'safety',
    source: { kind: 'safety', id: 'bench' },
    rule: 'bench',
    subject: `event ${n}`,
    action: 'log',
    detail: 'x'.repeat(200),
  };
}

async function appends(store: FleetStore, count: number, dir: string): Promise<{ pg: number; file: number }> {
  const log = EventLog.open(join(dir, 'events.jsonl'), 'orch_20261207_000000_bnch').log;
  const batches: NewEvent[][] = [];
  for (let i = 0; i < count; i += BATCH) batches.push(Array.from({ length: BATCH }, (_, j) => event(i + j)));
  const f0 = performance.now();
  for (const batch of batches) log.append(batch);
  const fileSeconds = (performance.now() - f0) / 1000;
  const lines = log.readLinesAfter(0);
  log.close();
  const id = 'orch_20261207_000000_bnch';
  await store.enqueue({ id, spec: {}, repo: 'none', base: 'main', agents: [] });
  const lease = (await store.claim({ id: 'bench', agents: [], leaseSec: 600 })) as Lease;
  const p0 = performance.now();
  for (let i = 0; i < lines.length; i += BATCH) await store.append(lease, lines.slice(i, i + BATCH));
  const pgSeconds = (performance.now() - p0) / 1000;
  return { pg: count / pgSeconds, file: count / fileSeconds };
}

function bareRemote(dir: string): string {
  const work = join(dir, 'seed');
  mkdirSync(work, { recursive: true });
  writeFileSync(join(work, 'README.md'), '# bench\n');
  const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, stdio: 'ignore' });
  git(work, 'init', '--quiet', '-b', 'main');
  git(work, '-c', 'user.name=b', '-c', 'user.email=b@b', 'commit', '--quiet', '--allow-empty', '-m', 'seed');
  git(work, 'add', '.');
  git(work, '-c', 'user.name=b', '-c', 'user.email=b@b', 'commit', '--quiet', '-m', 'readme');
  const remote = join(dir, 'remote.git');
  git(dir, 'clone', '--quiet', '--bare', work, remote);
  return remote;
}

const spec = { task: 'bench', workers: [{ id: 'impl', agent: 'claude', role: 'implementer' }] };
const env = () => ({
  ...process.env,
  ORCHESTRATOR_CLAUDE_BIN: FAKE_AGENT,
  FAKE_AGENT_CONFIG: JSON.stringify({ default: { lines: 20, delayMs: 0 } }),
});

/** Sessions per minute through the queue with `runners` runners of 2 slots. */
async function fleetRate(url: string, sessions: number, runners: number, dir: string, round_: number) {
  const store = FleetStore.connect(url, { max: 4 * runners });
  const remote = bareRemote(join(dir, `remote-${round_}`));
  // Session ids look like orch_YYYYMMDD_HHMMSS_xxxx: the round in the time, the session in the suffix.
  const ids = Array.from(
    { length: sessions },
    (_, i) => `orch_20261207_${String(round_).padStart(6, '0')}_b${String(i).padStart(3, '0')}`,
  );
  for (const id of ids) {
    await store.enqueue({ id, spec, repo: remote, base: 'main', agents: ['claude'] });
  }
  let ended = 0;
  let done: () => void = () => undefined;
  const all = new Promise<void>((resolve) => (done = resolve));
  const started = performance.now();
  const fleet = Array.from({ length: runners }, (_, r) => {
    const home = join(dir, `runner-${round_}-${r}`);
    return new Runner({
      store,
      manager: new SessionManager({ workspace: join(home, 'workspace'), env: env(), defaultMode: 'exec' }),
      id: `r${r}`,
      agents: ['claude'],
      slots: 2,
      leaseSec: 60,
      workDir: join(home, 'work'),
      tickMs: 100,
      onEvent: (e) => {
        if (e.type === 'ended' && ++ended === sessions) done();
        if (e.type === 'error') process.stderr.write(`fleet bench: ${e.message}\n`);
      },
    }).start();
  });
  await all;
  const seconds = (performance.now() - started) / 1000;
  for (const runner of fleet) runner.stop();
  await store.close();
  return (sessions / seconds) * 60;
}

/** The same sessions without the fleet: one manager, a local folder, 2 at a time. */
async function localRate(sessions: number, dir: string): Promise<number> {
  const target = join(dir, 'local-target');
  mkdirSync(target, { recursive: true });
  execFileSync('git', ['init', '--quiet', '-b', 'main'], { cwd: target });
  execFileSync('git', ['-c', 'user.name=b', '-c', 'user.email=b@b', 'commit', '--quiet', '--allow-empty', '-m', 's'], {
    cwd: target,
  });
  const manager = new SessionManager({ workspace: join(dir, 'local-ws'), env: env(), defaultMode: 'exec' });
  const parsed = SessionSpecSchema.parse(spec);
  const started = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < sessions) {
      next++;
      const runtime = await manager.create(parsed, target);
      await runtime.waitForEnd();
    }
  };
  await Promise.all([lane(), lane()]);
  const seconds = (performance.now() - started) / 1000;
  manager.detachAll();
  return (sessions / seconds) * 60;
}

export async function run(options: ScenarioOptions): Promise<ScenarioResult> {
  const started = performance.now();
  const cluster = await startPostgres();
  if ('unavailable' in cluster) throw new Error(`the fleet bench needs Postgres: ${cluster.unavailable}`);
  const dir = tempDir('fleet');
  try {
    const store = FleetStore.connect(cluster.url);
    await store.migrate();
    const events = options.quick ? 20_000 : 100_000;
    const rate = await appends(store, events, dir);
    await store.close();
    const sessions = options.quick ? 6 : 20;
    const local = await localRate(sessions, dir);
    const one = await fleetRate(cluster.url, sessions, 1, dir, 1);
    const three = await fleetRate(cluster.url, sessions, 3, dir, 2);
    return {
      name: 'fleet',
      title: 'The fleet on Postgres (issue 16)',
      durationMs: performance.now() - started,
      figures: [
        {
          metric: `events appended, Postgres store (fenced, ${BATCH} a transaction)`,
          value: round(rate.pg, 0),
          unit: 'events/s',
          reference: { label: 'events.jsonl, EventLog.append', value: round(rate.file, 0), unit: 'events/s' },
          ratio: round(rate.pg / rate.file, 3),
          bound: 'one round trip per batch, the row lock of the session and the index of (session_id, seq)',
        },
        {
          metric: 'sessions per minute, 1 runner (2 slots)',
          value: round(one, 1),
          unit: 'sessions/min',
          reference: { label: 'one local manager, 2 at a time', value: round(local, 1), unit: 'sessions/min' },
          ratio: round(one / local, 2),
          bound: 'per session a git clone, checkouts, replication to Postgres and a push',
        },
        {
          metric: 'sessions per minute, 3 runners (2 slots each)',
          value: round(three, 1),
          unit: 'sessions/min',
          reference: { label: 'one local manager, 2 at a time', value: round(local, 1), unit: 'sessions/min' },
          ratio: round(three / local, 2),
          bound: 'this machine: 2 cores shared by the runners, their agents, git and Postgres',
        },
      ],
      notes: [`${events} events of ~300 bytes; ${sessions} sessions of one fake-agent worker each, on one machine`],
    };
  } finally {
    await cluster.stop();
  }
}
