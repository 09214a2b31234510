/**
 * 6. CLI cold start: wall time of `orchestrate --help`, `orchestrate status` (the listing) and `orchestrate status
 * SID` (one session's view) (dist/cli.js, as installed), median of several runs, against `node -e 0` (the runtime's
 * own start, the physical reference).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { existsSync, rmSync } from 'node:fs';
import { agentEnv, benchSpec, BENCH_AGENT, createSession, makeHarness, tempDir } from '../lib/harness.js';
import { writeCorpus } from '../lib/corpus.js';
import { median, round, type ScenarioOptions, type ScenarioResult } from '../lib/measure.js';
import { CLI } from '../lib/paths.js';

function timeRuns(
  args: string[],
  runs: number,
  env: Record<string, string | undefined> = process.env,
): { ms: number; status: number | null } {
  const times: number[] = [];
  let status: number | null = 0;
  for (let i = 0; i < runs + 1; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const ms = performance.now() - t0;
    status = r.status;
    if (i > 0) times.push(ms); // the first run warms the page cache
  }
  return { ms: median(times), status };
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
    const bare = timeRuns(['-e', '0'], runs);
    const help = timeRuns([CLI, '--help'], runs);
    const status = timeRuns([CLI, 'status', '--workspace', harness.workspace], runs, env);
    const one = timeRuns([CLI, 'status', sessionIds[0] as string, '--workspace', harness.workspace], runs, env);
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
        {
          metric: 'orchestrate --help',
          value: round(help.ms, 0),
          unit: 'ms',
          reference: { label: 'node -e 0', value: round(bare.ms, 0), unit: 'ms' },
          ratio: round(help.ms / bare.ms, 2),
          bound: helpBound,
        },
        {
          metric: 'orchestrate status (3 sessions)',
          value: round(status.ms, 0),
          unit: 'ms',
          reference: { label: 'node -e 0', value: round(bare.ms, 0), unit: 'ms' },
          ratio: round(status.ms / bare.ms, 2),
          bound: statusBound,
        },
        {
          metric: 'orchestrate status SID (one view)',
          value: round(one.ms, 0),
          unit: 'ms',
          reference: { label: 'node -e 0', value: round(bare.ms, 0), unit: 'ms' },
          ratio: round(one.ms / bare.ms, 2),
          bound: oneBound,
        },
      ],
      notes: [
        `median of ${runs} runs after one warm-up run; exit codes: --help ${help.status}, status ${status.status}, ` +
          `status SID ${one.status}`,
      ],
    };
  } finally {
    await harness.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}
