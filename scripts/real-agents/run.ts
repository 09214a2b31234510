/**
 * `npm run test:real-agents`: the end-to-end suite against the real agent CLIs, offline, with a loopback
 * fake model server (test/real-agents/). Opt-in: it installs about 900 MB of CLIs once.
 *
 *   ORCHESTRATOR_REAL_AGENTS=1 npm run test:real-agents [-- vitest args, e.g. -t codex]
 *
 * 1. exits 0 with "skipped" unless ORCHESTRATOR_REAL_AGENTS=1;
 * 2. installs the pinned CLIs into the cache folder (outside the repository) when they are missing;
 * 3. builds the project when dist/ is older than src/ (the orchestrate-level tests run dist/cli.js);
 * 4. runs vitest with test/real-agents/vitest.config.ts, passing on any extra arguments.
 *
 * Environment: ORCHESTRATOR_REAL_AGENTS_CACHE (install folder), ORCHESTRATOR_REAL_AGENTS_WORKDIR (homes,
 * targets, workspaces; default /var/tmp/meta-orchestrator-real-agents), ORCHESTRATOR_REAL_AGENTS_KEEP=1
 * (keep every run folder), ORCHESTRATOR_REAL_AGENTS_CLI (test another build's cli.js).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureInstalled, installDir, installedVersions, PINNED, REAL_AGENTS } from '../../test/real-agents/support/install.js';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const log = (line: string) => process.stderr.write(`[real-agents] ${line}\n`);

function main(): number {
  if (process.env.ORCHESTRATOR_REAL_AGENTS !== '1') {
    console.log('real-agents: skipped: set ORCHESTRATOR_REAL_AGENTS=1 to run the end-to-end suite against the real agent CLIs (installs about 900 MB once).');
    return 0;
  }
  const pins = REAL_AGENTS.map((agent) => `${PINNED[agent].pkg}@${PINNED[agent].version}`).join(', ');
  log(`pinned: ${pins}`);
  try {
    ensureInstalled(log);
  } catch (error) {
    log((error as Error).message);
    return 1;
  }
  const versions = installedVersions();
  log(`installed in ${installDir()}: ${REAL_AGENTS.map((a) => `${a} ${versions[a]}`).join(', ')}`);

  if (distIsStale()) {
    log('dist/ is older than src/: npm run build');
    const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
    if (build.status !== 0) {
      log('the build failed; the orchestrate-level tests need dist/cli.js');
      return build.status ?? 1;
    }
  }

  const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
  const args = [vitest, 'run', '--config', 'test/real-agents/vitest.config.ts', ...process.argv.slice(2)];
  const started = Date.now();
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env: process.env });
  log(`vitest finished in ${Math.round((Date.now() - started) / 1000)}s with exit code ${result.status ?? result.signal}`);
  return result.status ?? 1;
}

/** True when some file under src/ is newer than the newest file under dist/ (or dist/cli.js is missing). */
function distIsStale(): boolean {
  const cli = join(root, 'dist', 'cli.js');
  if (!existsSync(cli)) return true;
  return newest(join(root, 'src'), /\.ts$/) > newest(join(root, 'dist'), /\.js$/);
}

function newest(dir: string, pattern: RegExp): number {
  let latest = 0;
  if (!existsSync(dir)) return latest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) latest = Math.max(latest, newest(path, pattern));
    else if (pattern.test(entry.name)) latest = Math.max(latest, statSync(path).mtimeMs);
  }
  return latest;
}

process.exitCode = main();
