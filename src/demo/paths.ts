/**
 * Where the demo's bundled assets are. This module sits in src/demo/ (vitest, tsx) or dist/demo/ (the
 * compiled package): either way the package root is two levels up.
 */
import { join, resolve } from 'node:path';
import { PACKAGE_ROOT } from '../package-root.js';

export { PACKAGE_ROOT };
/** The tiny example project the demo agents work on (copied first, never changed in place). */
export const DEMO_PROJECT_DIR = join(PACKAGE_ROOT, 'examples', 'demo-project');
/** The recorded transcripts, one `<agent>-<role>.jsonl` per agent and role. */
export const DEFAULT_TRANSCRIPTS_DIR = join(PACKAGE_ROOT, 'examples', 'demo', 'transcripts');

/** The transcripts directory: `DEMO_TRANSCRIPTS_DIR` when set, else the bundled one. */
export function transcriptsDir(env: Record<string, string | undefined>): string {
  const fromEnv = env.DEMO_TRANSCRIPTS_DIR?.trim();
  return fromEnv ? resolve(fromEnv) : DEFAULT_TRANSCRIPTS_DIR;
}
