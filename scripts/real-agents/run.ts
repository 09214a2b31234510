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
 * 5. appends a row to the run log of docs/compatibility.md: the versions, Node, the counts, the duration.
 *
 * Environment: ORCHESTRATOR_REAL_AGENTS_VERSIONS (`claude@latest,codex@0.171.0`: other versions than the pins),
 * ORCHESTRATOR_REAL_AGENTS_CACHE (install folder), ORCHESTRATOR_REAL_AGENTS_WORKDIR (homes,
 * targets, workspaces; default /var/tmp/meta-orchestrator-real-agents), ORCHESTRATOR_REAL_AGENTS_KEEP=1
 * (keep every run folder), ORCHESTRATOR_REAL_AGENTS_CLI (test another build's cli.js).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ensureInstalled,
  installDir,
  installedVersions,
  PINNED,
  REAL_AGENTS,
  requestedVersions,
  resolveVersions,
  versionsVar,
} from '../../test/real-agents/support/install.js';
import { isRoot, TEST_USER, testUserExists } from '../../test/real-agents/support/test-user.js';
import { appendRunRecord, runRecord } from './record.js';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const log = (line: string) => process.stderr.write(`[real-agents] ${line}\n`);

function main(): number {
  if (process.env.ORCHESTRATOR_REAL_AGENTS !== '1') {
    console.log(
      'real-agents: skipped: set ORCHESTRATOR_REAL_AGENTS=1 to run the ' +
        'end-to-end suite against the real agent CLIs (installs about 900 MB once).',
    );
    return 0;
  }
  try {
    // Tags (`latest`) resolve once here; the test processes get the exact versions (and so the same cache folder).
    const exact = resolveVersions(requestedVersions());
    process.env.ORCHESTRATOR_REAL_AGENTS_VERSIONS = versionsVar(exact);
    const versions = REAL_AGENTS.map(
      (agent) => `${PINNED[agent].pkg}@${exact[agent]}${exact[agent] === PINNED[agent].version ? ' (pinned)' : ''}`,
    );
    log(`versions: ${versions.join(', ')}`);
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
  const report = join(mkdtempSync(join(tmpdir(), 'real-agents-report-')), 'report.json');
  const extra = process.argv.slice(2);
  const args = [
    vitest,
    'run',
    '--config',
    'test/real-agents/vitest.config.ts',
    '--reporter=verbose',
    '--reporter=json',
    `--outputFile.json=${report}`,
    ...extra,
  ];
  // As root the tests create an unprivileged user to run claude as (it refuses to bypass permissions as root).
  // A test suite must not leave the host's accounts changed: the user is removed afterwards, and that is said.
  const userBefore = testUserExists();
  if (isRoot() && !userBefore)
    log(`running as root: the tests create the system user ${TEST_USER} to run claude as; it is removed when they end`);
  const started = Date.now();
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env: process.env });
  const seconds = Math.round((Date.now() - started) / 1000);
  if (isRoot() && !userBefore && testUserExists()) {
    const removed = spawnSync('userdel', [TEST_USER], { encoding: 'utf8' });
    log(
      removed.status === 0
        ? `removed the system user ${TEST_USER} the tests created`
        : `WARNING: could not remove the system user ${TEST_USER} the tests created: ` +
            `${removed.stderr.trim()}; remove it with: userdel ${TEST_USER}`,
    );
  }
  log(`vitest finished in ${seconds}s with exit code ${result.status ?? result.signal}`);
  const counts = existsSync(report)
    ? (JSON.parse(readFileSync(report, 'utf8')) as {
        numPassedTests: number;
        numFailedTests: number;
        numPendingTests: number;
      })
    : null;
  const record = runRecord({
    date: new Date(),
    versions,
    node: process.version,
    root: process.getuid?.() === 0,
    counts,
    seconds,
    exitCode: result.status,
    subset: extra.length > 0,
  });
  appendRunRecord(join(root, 'docs', 'compatibility.md'), record);
  log(`recorded in docs/compatibility.md: ${record}`);
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
