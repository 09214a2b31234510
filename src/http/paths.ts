/**
 * Files of the package, found from this module's own location: src/http (vitest, tsx) and dist/http (after
 * `npm run build`) are both two levels below the package root.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const STATIC_DIR = fileURLToPath(new URL('../../static/', import.meta.url));

let version: string | null = null;

export function packageVersion(): string {
  if (version === null) {
    try {
      version = String((JSON.parse(readFileSync(`${PACKAGE_ROOT}package.json`, 'utf8')) as { version?: unknown }).version ?? '0.0.0');
    } catch {
      version = '0.0.0';
    }
  }
  return version;
}
