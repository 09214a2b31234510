/** Path helpers of the sandbox's mount plan. */
import { realpathSync } from 'node:fs';

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
