/**
 * Files of the package the server serves or reports: the pages and assets `npm run build` put in dist/static/
 * (static/ and the bundles of web/), and the package version.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../package-root.js';

export { PACKAGE_ROOT };
export const STATIC_DIR = join(PACKAGE_ROOT, 'dist', 'static') + '/';

let version: string | null = null;

export function packageVersion(): string {
  if (version === null) {
    try {
      version = String(
        (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version?: unknown }).version ??
          '0.0.0',
      );
    } catch {
      version = '0.0.0';
    }
  }
  return version;
}
