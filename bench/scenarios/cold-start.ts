/**
 * 6. CLI cold start: wall time of `orchestrate --help`, `orchestrate status` (the listing) and `orchestrate status
 * SID` (one session's view) (dist/cli.js, as installed), median of several rounds that run each in turn, against
 * `node -e 0` (the runtime's own start, the physical reference).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { existsSync, rmSync } from 'node:fs';
import { agentEnv, benchSpec, BENCH_AGENT, createSession, makeHarness, tempDir } from '../lib/harness.js';
import { writeCorpus } from '../lib/corpus.js';
import { median, round, type ScenarioOptions, type ScenarioResult } from '../lib/measure.js';
import { CLI } from '../lib/paths.js';

/**
 * The median wall time of each command, run in turns (one of each per round, after a warm-up round that fills the
 * page cache): a machine that speeds up or slows down during the scenario moves every command alike, not only the
 * ones timed last.
 */
function timeRuns<K extends string>(
  commands: Record<K, string[]>,
  runs: number,
  env: Record<string, string | undefined>,
): Record<K, { ms: number; status: number | null }> {
  const names = Object.keys(commands) as K[];
  const times = new Map<K, number[]>(names.map((name) => [name, []]));
  const statuses = new Map<K, number | null>();
  for (let i = 0; i < runs + 1; i++) {
    for (const name of names) {
      const t0 = performance.now();
      const r = spawnSync(process.execPath, commands[name], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      const ms = performance.now() - t0;
      statuses.set(name, r.status);
      if (i > 0) times.get(name)?.push(ms);
    }
  }
  const result = {} as Record<K, { ms: number; status: number | null }>;
  for (const name of names) result[name] = { ms: median(times.get(name) ?? []), status: statuses.get(name) ?? null };
  return result;
}

/** A command's median wall time as a figure, against `node -e 0`'s. */
function against(bareMs: number, metric: string, ms: number, bound: string): ScenarioResult['figures'][number] {
  return {
    metric,
    value: round(ms, 0),
    unit: 'ms',
    reference: { label: 'node -e 0', value: round(bareMs, 0), unit: 'ms' },
    ratio: round(ms / bareMs, 2),
    bound,
  };
}

export async function run(options: ScenarioOptions): Promise<ScenarioResult> {
  const started = performance.now();
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm run bench does)`);
  const runs = options.quick ? 5 : 15;
  // A workspace with a few finished sessions, for `status`.
  const dir = tempDir('cold');
  const corpus = join(dir, 'claude.jsonl');
  writeCorpus(corpus, 'claude', 200);
  const harness = await makeHarness({
    env: agentEnv({ BENCH_AGENT_MODE: 'bulk', BENCH_CORPUS: corpus }, BENCH_AGENT),
    server: false,
  });
  try {
    const sessionIds: string[] = [];
    for (let i = 0; i < 3; i++) {
      const session = await createSession(harness, benchSpec(2, ['claude']));
      await session.waitForEnd();
      sessionIds.push(session.sessionId);
    }
    harness.manager.detachAll();
    const env = { ...process.env, NO_COLOR: '1' };
    const { bare, help, status, one } = timeRuns(
      {
        bare: ['-e', '0'],
        help: [CLI, '--help'],
        status: [CLI, 'status', '--workspace', harness.workspace],
        one: [CLI, 'status', sessionIds[0] as string, '--workspace', harness.workspace],
      },
      runs,
      env,
    );
    // src/cli.ts loads src/cli/actions.ts only when a command runs, and each action imports only its own modules.
    const helpBound = 'module loading: node start + commander and the command definitions; no command module is loaded';
    const statusBound =
      "module loading: node start + commander, then the listing's own modules (snapshots and the header of each " +
      'session.json); not the schemas (zod), the machines (xstate), the HTTP server, the sandbox or the demo';
    const oneBound =
      'module loading as the listing, plus the session store and the spec schemas (zod), which validate the ' +
      'whole session.json whose defaults the view shows (limits, review pairs)';
    return {
      name: 'cold-start',
      title: 'CLI cold start (dist/cli.js)',
      durationMs: performance.now() - started,
      figures: [
        against(bare.ms, 'orchestrate --help', help.ms, helpBound),
        against(bare.ms, 'orchestrate status (3 sessions)', status.ms, statusBound),
        against(bare.ms, 'orchestrate status SID (one view)', one.ms, oneBound),
      ],
      notes: [
        `median of ${runs} rounds of the four commands in turn, after one warm-up round; ` +
          `exit codes: --help ${help.status}, status ${status.status}, status SID ${one.status}`,
      ],
    };
  } finally {
    await harness.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}
