/**
 * The dependency rules of docs/architecture.md, checked on the sources: a module may import only types across
 * these lines (`import type`), which leave nothing behind at run time.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const WEB = fileURLToPath(new URL('../../web/', import.meta.url));
const VALUE_IMPORT = /^(?:import|export)(?!\s+type\b)[^;]*?from\s+'([^']+)'/gm;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Value imports (and re-exports) of `from` folders in the modules of `folder`: `file -> specifier`. */
function valueImports(folder: string, from: string[]): string[] {
  const found: string[] = [];
  for (const file of sources(join(SRC, folder))) {
    for (const match of readFileSync(file, 'utf8').matchAll(VALUE_IMPORT)) {
      const target = join(file, '..', match[1] as string);
      const top = relative(SRC, target).split('/')[0] ?? '';
      if (from.includes(top)) found.push(`${relative(SRC, file)} -> ${match[1]}`);
    }
  }
  return found;
}

describe('layering', () => {
  it.each([
    ['http', ['store', 'actors']],
    ['safety', ['store', 'actors']],
    ['domain', ['agents', 'actors', 'machines', 'runtime', 'store', 'http', 'cli']],
    ['machines', ['actors', 'runtime', 'store', 'http', 'cli']],
  ])('%s/ imports nothing but types from %j', (folder, forbidden) => {
    expect(valueImports(folder, forbidden)).toEqual([]);
  });

  it('web/ (the dashboard, bundled for the browser) takes values from src/domain only, and no node: built-in', () => {
    const found: string[] = [];
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const match of readFileSync(file, 'utf8').matchAll(VALUE_IMPORT)) {
        const specifier = match[1] as string;
        const from = relative(join(SRC, '..'), file);
        if (specifier.startsWith('node:')) found.push(`${from} -> ${specifier}`);
        if (!specifier.startsWith('.')) continue;
        const target = join(file, '..', specifier.replace(/\.js$/, '.ts'));
        const inSrc = relative(SRC, target);
        if (!inSrc.startsWith('..') && inSrc.split('/')[0] !== 'domain') found.push(`${from} -> ${specifier}`);
        visit(target);
      }
    };
    for (const file of sources(WEB)) visit(file);
    expect([...seen].some((file) => file.startsWith(join(SRC, 'domain')))).toBe(true);
    expect(found).toEqual([]);
  });
});
