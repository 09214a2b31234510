/**
 * `npm ci`, the README's first command, prints no install-scripts warning: every dependency with an install
 * script (the lock file marks them) is reviewed in package.json's allowScripts (npm 11.16+; npm 12 blocks the
 * unreviewed ones).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('npm ci', () => {
  it('every dependency with an install script is named in allowScripts', () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { hasInstallScript?: boolean; version?: string }>;
    };
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      allowScripts?: Record<string, boolean>;
    };
    const withScripts = Object.entries(lock.packages)
      .filter(([path, p]) => path !== '' && p.hasInstallScript)
      .map(([path, p]) => ({
        name: path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length),
        version: p.version,
      }));
    expect(withScripts.length).toBeGreaterThan(0);
    const reviewed = pkg.allowScripts ?? {};
    const unreviewed = withScripts.filter(
      (p) => reviewed[p.name] === undefined && reviewed[`${p.name}@${p.version}`] === undefined,
    );
    expect(unreviewed).toEqual([]);
  });
});
