/**
 * The real agent CLIs, pinned, installed once into a cache folder outside the repository (they are about
 * 900 MB together, so they are not devDependencies). The versions are the ones the fixtures in
 * shared/fixtures were captured with; docs/compatibility.md says which versions the suite last passed with.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const PINNED = {
  claude: { pkg: '@anthropic-ai/claude-code', version: '2.1.329', bin: 'claude' },
  codex: { pkg: '@openai/codex', version: '0.169.0', bin: 'codex' },
  gemini: { pkg: '@google/gemini-cli', version: '0.61.0', bin: 'gemini' },
  opencode: { pkg: 'opencode-ai', version: '1.18.33', bin: 'opencode' },
  qwen: { pkg: '@qwen-code/qwen-code', version: '0.24.4', bin: 'qwen' },
} as const;

export type RealAgent = keyof typeof PINNED;
export const REAL_AGENTS: readonly RealAgent[] = ['claude', 'codex', 'gemini', 'opencode', 'qwen'];

const EXACT_VERSION = /^\d+\.\d+\.\d+(?:[-+][\w.-]+)?$/;
const DIST_TAG = /^[a-z][\w-]*$/;
const VERSIONS_VAR = 'ORCHESTRATOR_REAL_AGENTS_VERSIONS';

/**
 * The versions to test: the pins, overridden by ORCHESTRATOR_REAL_AGENTS_VERSIONS (`claude@latest,codex@0.171.0`:
 * an exact version or an npm dist-tag per agent; agents it does not name keep their pin).
 */
export function requestedVersions(env: NodeJS.ProcessEnv = process.env): Record<RealAgent, string> {
  const versions = Object.fromEntries(REAL_AGENTS.map((agent) => [agent, PINNED[agent].version])) as Record<
    RealAgent,
    string
  >;
  for (const item of (env[VERSIONS_VAR] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const at = item.lastIndexOf('@');
    const agent = item.slice(0, at) as RealAgent;
    const version = item.slice(at + 1);
    if (at <= 0) throw new Error(`${VERSIONS_VAR}: "${item}" is not AGENT@VERSION (e.g. claude@latest,codex@0.171.0)`);
    if (!REAL_AGENTS.includes(agent))
      throw new Error(`${VERSIONS_VAR}: unknown agent "${agent}" (use ${REAL_AGENTS.join(', ')})`);
    if (!EXACT_VERSION.test(version) && !DIST_TAG.test(version))
      throw new Error(`${VERSIONS_VAR}: "${version}" for ${agent} is neither a version nor an npm dist-tag`);
    versions[agent] = version;
  }
  return versions;
}

/** The requested versions with every dist-tag (`latest`...) resolved to the version it names now (`npm view`). */
export function resolveVersions(
  versions: Record<RealAgent, string>,
  view: (spec: string) => string = npmView,
): Record<RealAgent, string> {
  const out = { ...versions };
  for (const agent of REAL_AGENTS)
    if (!EXACT_VERSION.test(out[agent])) out[agent] = view(`${PINNED[agent].pkg}@${out[agent]}`);
  return out;
}

/** The list ORCHESTRATOR_REAL_AGENTS_VERSIONS takes, for exact versions (what run.ts hands the test processes). */
export const versionsVar = (versions: Record<RealAgent, string>) =>
  REAL_AGENTS.map((agent) => `${agent}@${versions[agent]}`).join(',');

function npmView(spec: string): string {
  const result = spawnSync('npm', ['view', spec, 'version'], {
    encoding: 'utf8',
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
  const version = result.stdout?.trim().split('\n').pop()?.trim() ?? '';
  if (result.status !== 0 || !EXACT_VERSION.test(version))
    throw new Error(`npm view ${spec} version failed: ${(result.stderr || version || String(result.error)).trim()}`);
  return version;
}

/** The exact versions of this run (tags must have been resolved: run.ts does it before anything else). */
function exactVersions(env: NodeJS.ProcessEnv): Record<RealAgent, string> {
  const versions = requestedVersions(env);
  for (const agent of REAL_AGENTS) {
    if (!EXACT_VERSION.test(versions[agent]))
      throw new Error(
        `${VERSIONS_VAR}: ${agent}@${versions[agent]} is a dist-tag; ` +
          `run the suite through npm run test:real-agents, which resolves it`,
      );
  }
  return versions;
}

/**
 * Where the CLIs are installed, never inside the repository: ORCHESTRATOR_REAL_AGENTS_CACHE, else
 * ~/.cache/meta-orchestrator/real-agents, except for root, whose home is usually closed to other users:
 * there /var/cache/meta-orchestrator/real-agents, so the unprivileged user the orchestrate-level tests run
 * claude as (it refuses to bypass permissions as root) can execute the binaries too.
 */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env.ORCHESTRATOR_REAL_AGENTS_CACHE?.trim();
  if (explicit) return explicit;
  if (process.getuid?.() === 0) return '/var/cache/meta-orchestrator/real-agents';
  const xdg = env.XDG_CACHE_HOME?.trim() || join(homedir(), '.cache');
  return join(xdg, 'meta-orchestrator', 'real-agents');
}

/** One folder per combination of versions, so bumping a pin installs beside the old one. */
export function installDir(env: NodeJS.ProcessEnv = process.env): string {
  const versions = exactVersions(env);
  const name = REAL_AGENTS.map((agent) => `${agent}-${versions[agent]}`).join('_');
  return join(cacheRoot(env), name);
}

export function binaryPath(agent: RealAgent, env: NodeJS.ProcessEnv = process.env): string {
  return join(installDir(env), 'node_modules', '.bin', PINNED[agent].bin);
}

const MARKER = 'installed.json';

export function isInstalled(env: NodeJS.ProcessEnv = process.env): boolean {
  const marker = join(installDir(env), MARKER);
  if (!existsSync(marker)) return false;
  return REAL_AGENTS.every((agent) => existsSync(binaryPath(agent, env)));
}

/**
 * Install the pinned CLIs unless they are there. Atomic: npm installs into a temporary sibling folder,
 * which is renamed into place only when npm succeeded, so an interrupted install never looks finished.
 */
export function ensureInstalled(
  log: (line: string) => void = () => undefined,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const dir = installDir(env);
  if (isInstalled(env)) return dir;
  mkdirSync(cacheRoot(env), { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  // A package.json of its own, so npm does not walk up and treat some parent folder as the project.
  writeFileSync(join(tmp, 'package.json'), JSON.stringify({ name: 'real-agents-cache', private: true }, null, 2));
  const versions = exactVersions(env);
  const specs = REAL_AGENTS.map((agent) => `${PINNED[agent].pkg}@${versions[agent]}`);
  log(`installing ${specs.join(' ')} into ${dir} (about 900 MB, once)`);
  const started = Date.now();
  const result = spawnSync(
    'npm',
    ['install', '--prefix', tmp, '--no-audit', '--no-fund', '--loglevel=error', ...specs],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...env, npm_config_update_notifier: 'false' },
    },
  );
  if (result.status !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(
      `npm install of ${specs.join(' ')} failed (exit ${result.status ?? result.signal}); see the npm output above`,
    );
  }
  const marker = {
    installedAt: new Date().toISOString(),
    packages: specs,
    seconds: Math.round((Date.now() - started) / 1000),
  };
  writeFileSync(join(tmp, MARKER), `${JSON.stringify(marker, null, 2)}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  log(`installed in ${Math.round((Date.now() - started) / 1000)}s`);
  return dir;
}

export function installedVersions(env: NodeJS.ProcessEnv = process.env): Record<RealAgent, string> {
  const out = {} as Record<RealAgent, string>;
  for (const agent of REAL_AGENTS) {
    const pkgJson = join(installDir(env), 'node_modules', ...PINNED[agent].pkg.split('/'), 'package.json');
    out[agent] = (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string }).version;
  }
  return out;
}
