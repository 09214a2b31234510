/**
 * The package's root folder (package.json, dist/ with the pages in dist/static/, examples/), wherever this code
 * runs from: src/ under vitest or tsx, or a bundle in dist/ (`npm run build`). Found by walking up to the
 * nearest package.json named meta-orchestrator, so no module depends on how deep it sits: a bundle holds modules
 * from every depth.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const NAME = 'meta-orchestrator';

export function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === NAME) return dir;
      } catch {
        // Not JSON: not ours; keep walking.
      }
    }
    if (dirname(dir) === dir) throw new Error(`${NAME}: no package.json named ${NAME} above ${from}`);
  }
}

export const PACKAGE_ROOT = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

/**
 * A file of the built package (dist/...): the entry points other processes run (the network proxy, the demo's agents).
 */
export const distFile = (...parts: string[]) => join(PACKAGE_ROOT, 'dist', ...parts);
