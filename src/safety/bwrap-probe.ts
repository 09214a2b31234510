/**
 * Whether bubblewrap works here. Installed is not enough: user namespaces may be disabled (sysctl, containers),
 * so probe it for real, once per process: run `true` inside a minimal sandbox.
 */
import { execa } from 'execa';
import { which } from '../runtime/binaries.js';

export interface BwrapProbe {
  available: boolean;
  path: string | null;
  version: string | null;
  /** Why not, in words a person can act on. */
  reason: string | null;
}

let cached: Promise<BwrapProbe> | null = null;

export function probeBwrap(pathVar = process.env.PATH ?? ''): Promise<BwrapProbe> {
  if (pathVar !== (process.env.PATH ?? '')) return runProbe(pathVar);
  cached ??= runProbe(pathVar);
  return cached;
}

async function runProbe(pathVar: string): Promise<BwrapProbe> {
  const path = which('bwrap', pathVar);
  if (!path)
    return {
      available: false,
      path: null,
      version: null,
      reason: 'bubblewrap (bwrap) is not installed: apt-get install bubblewrap',
    };
  const version = await execa(path, ['--version'], { reject: false, stdin: 'ignore', timeout: 5_000 });
  const run = await execa(
    path,
    ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--unshare-ipc', '--', 'true'],
    {
      reject: false,
      stdin: 'ignore',
      timeout: 10_000,
    },
  );
  if (run.exitCode !== 0) {
    const why =
      String(run.stderr || run.shortMessage)
        .trim()
        .split('\n')
        .pop() ?? '';
    return {
      available: false,
      path,
      version: String(version.stdout).trim() || null,
      reason: `bwrap is installed but cannot create a sandbox here (${why}); user namespaces may be disabled`,
    };
  }
  return { available: true, path, version: String(version.stdout).trim() || null, reason: null };
}
