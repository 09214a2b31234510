/** Finding agent binaries on this machine (the I/O half of src/agents/registry.ts resolveAgentBinary). */
import { accessSync, constants, statSync } from 'node:fs';
import { execa } from 'execa';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import type { AgentAdapter } from '../agents/types.js';
import { resolveAgentBinary } from '../agents/registry.js';

/** The first executable file named `bin` on PATH, like `which`. */
export function which(bin: string, pathVar = process.env.PATH ?? ''): string | null {
  for (const dir of pathVar.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, bin);
    if (isExecutableFile(candidate)) return candidate;
  }
  return null;
}

export function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The binary to run for an adapter, or a sentence telling a person how to make one available. The generic `acp`
 * agent runs its worker's `command`: its program is a path, or a name found on PATH.
 */
export function findAgentBinary(
  adapter: AgentAdapter,
  env: Record<string, string | undefined>,
  command?: readonly string[],
): { path: string } | { error: string } {
  if (adapter.commandFromSpec) return commandBinary(command, env);
  const found = resolveAgentBinary(adapter, env, (bin) => which(bin, env.PATH ?? ''));
  if (!found) {
    return {
      error:
        `${adapter.displayName} (\`${adapter.defaultBinary}\`) is not on PATH. ` +
        `Install it, or set ${adapter.binEnvVar} to its path.`,
    };
  }
  const path = found.from === 'env' && !isAbsolute(found.path) ? resolve(found.path) : found.path;
  if (!isExecutableFile(path)) {
    return {
      error:
        `${adapter.binEnvVar}=${found.path} is not an executable file. ` +
        `Point it at the ${adapter.displayName} binary.`,
    };
  }
  return { path };
}

function commandBinary(
  command: readonly string[] | undefined,
  env: Record<string, string | undefined>,
): { path: string } | { error: string } {
  const program = command?.[0];
  if (!program) return { error: 'an "acp" agent needs a "command": the ACP agent to run, e.g. ["opencode", "acp"]' };
  if (program.includes('/')) {
    const path = resolve(program);
    return isExecutableFile(path)
      ? { path }
      : { error: `${program} (an acp agent's command) is not an executable file.` };
  }
  const found = which(program, env.PATH ?? '');
  return found
    ? { path: found }
    : { error: `\`${program}\` (an acp agent's command) is not on PATH. Install it, or give its path.` };
}

/** The version a binary prints; `ok` false when it cannot run at all (not executable, crashes, no exit 0). */
export async function versionOf(
  bin: string,
  args: string[],
  env?: Record<string, string | undefined>,
): Promise<{ ok: boolean; text: string }> {
  const result = await execa(bin, args, {
    reject: false,
    stdin: 'ignore',
    timeout: 15_000,
    ...(env ? { env, extendEnv: false } : {}),
  });
  const text = `${String(result.stdout)}\n${String(result.stderr)}`
    .trim()
    .split('\n')
    .find((l) => /\d+\.\d+/.test(l));
  if (result.exitCode !== 0)
    return {
      ok: false,
      text:
        `--version failed ` +
        `(${result.exitCode === undefined ? (result.signal ?? result.shortMessage) : `exit ${result.exitCode}`})`,
    };
  return { ok: true, text: text?.trim().slice(0, 80) ?? 'version unknown' };
}
