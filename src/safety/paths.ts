/** Path helpers of the safety layer: the policy's roots and the sandbox's mount plan. */
import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';

/** The real path, or the path itself when it cannot be resolved (absent). */
export function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

export function unique(paths: string[]): string[] {
  return [...new Set(paths)];
}

/** Absolute and normalized (`..` and `.` resolved); `~` is the home directory; relative to `cwd`. */
export function resolvePath(path: string, cwd: string, home: string): string {
  if (path === '~' || path.startsWith('~/')) return resolve(home, path.slice(2));
  return resolve(cwd, path);
}

export function isInside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}
