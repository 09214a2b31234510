/**
 * The mode of each worker that names none, decided when its session is created (src/agents/modes.ts) from the
 * installed version of its agent's CLI, and written into the session's spec: a resumed session keeps the modes
 * it started with, whatever was installed since.
 *
 * The version is read from the package.json of the npm package the binary belongs to (no process), else from
 * `<binary> --version`; both are cached per binary (the path it is run by, the file it resolves to, its size and
 * modification time) for the process.
 */
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { defaultMode, type ModeDecision, parseVersion } from '../agents/modes.js';
import { agentRegistry, getAdapter } from '../agents/registry.js';
import type { AgentAdapter } from '../agents/types.js';
import type { NewEvent } from '../domain/events.js';
import type { SessionSpec } from '../domain/spec.js';
import { findAgentBinary, versionOf } from './binaries.js';

const versions = new Map<string, Promise<string | null>>();

/** The version text of an agent's CLI at `bin`; null when it cannot be told. */
export function agentVersion(
  adapter: AgentAdapter,
  bin: string,
  env: Record<string, string | undefined>,
): Promise<string | null> {
  let key: string;
  try {
    const stat = statSync(bin);
    // The name it is run by counts too: a CLI may tell by it what it is (a symlink to a shared binary).
    key = [adapter.name, bin, realpathSync(bin), stat.size, stat.mtimeMs].join('\0');
  } catch {
    return Promise.resolve(null);
  }
  let version = versions.get(key);
  if (!version) {
    version = readVersion(adapter, bin, env);
    versions.set(key, version);
  }
  return version;
}

async function readVersion(
  adapter: AgentAdapter,
  bin: string,
  env: Record<string, string | undefined>,
): Promise<string | null> {
  const fromPackage = packageVersion(adapter.npmPackage, bin);
  if (fromPackage) return fromPackage;
  const printed = await versionOf(bin, ['--version'], env).catch(() => null);
  return printed?.ok ? versionIn(printed.text) : null;
}

/** The version text `--version` printed, when it holds one. */
function versionIn(printed: string): string | null {
  return parseVersion(printed) ? printed : null;
}

/**
 * The default mode of an agent whose binary has printed `printed` for --version already (doctor, which ran it to
 * see that it works): the same decision as a session's, without running it again.
 */
export function defaultModeOf(adapter: AgentAdapter, bin: string, printed: string): ModeDecision {
  return defaultMode(adapter, packageVersion(adapter.npmPackage, bin) ?? versionIn(printed));
}

/** The version in the package.json of `name` that the (resolved) binary lives in, if it does. */
function packageVersion(name: string, bin: string): string | null {
  let dir: string;
  try {
    dir = dirname(realpathSync(bin));
  } catch {
    return null;
  }
  for (;;) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      if (manifest.name === name && typeof manifest.version === 'string') return manifest.version;
    } catch {
      // no package.json here, or not JSON: look further up
    }
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/** The decision for one agent as this machine has it (doctor, and sessions being created). */
async function agentDefaultMode(agent: string, env: Record<string, string | undefined>): Promise<ModeDecision> {
  const adapter = getAdapter(agent);
  const bin = findAgentBinary(adapter, env);
  if ('error' in bin) return defaultMode(adapter, null);
  return defaultMode(adapter, await agentVersion(adapter, bin.path, env));
}

/**
 * The spec with a mode for every worker: its own, else `fallback` when given (recorded agents play exec-mode
 * transcripts only), else the agent's default. `notes` log each agent whose workers fall back to exec although
 * its version could be read (an older CLI: they act without asking).
 */
export async function withModes(
  spec: SessionSpec,
  env: Record<string, string | undefined>,
  fallback?: 'exec',
): Promise<{ spec: SessionSpec; notes: NewEvent[] }> {
  // Reviewers run in exec mode unless their agent has no other (it speaks only ACP).
  const reviews = spec.reviews.map((r) =>
    r.mode === undefined && Object.hasOwn(agentRegistry, r.reviewer) && getAdapter(r.reviewer).interactiveOnly
      ? { ...r, mode: 'interactive' as const }
      : r,
  );
  if (reviews.some((r, i) => r !== spec.reviews[i])) spec = { ...spec, reviews };
  const undecided = [...new Set(spec.workers.filter((w) => w.mode === undefined).map((w) => w.agent))];
  if (undecided.length === 0) return { spec, notes: [] };
  const decisions = new Map<string, ModeDecision>();
  if (fallback)
    for (const agent of undecided) {
      const adapter = getAdapter(agent);
      decisions.set(
        agent,
        adapter.interactiveOnly ? defaultMode(adapter, null) : { mode: fallback, reason: 'recorded agents' },
      );
    }
  else await Promise.all(undecided.map(async (a) => decisions.set(a, await agentDefaultMode(a, env))));
  const notes: NewEvent[] = [];
  for (const [agent, decision] of decisions) {
    if (decision.mode !== 'exec' || !decision.version) continue;
    notes.push({
      type: 'safety',
      source: { kind: 'safety', id: 'modes' },
      rule: 'exec-mode',
      subject: `${agent} ${decision.version}`,
      action: 'warn',
      detail: `${decision.reason}: its workers run in exec mode, acting without asking (docs/permissions.md)`,
    });
  }
  const workers = spec.workers.map((w) =>
    w.mode === undefined ? { ...w, mode: decisions.get(w.agent)?.mode ?? 'exec' } : w,
  );
  return { spec: { ...spec, workers }, notes };
}
