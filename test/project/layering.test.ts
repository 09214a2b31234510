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

/** Every module that loading `files` loads (static value imports of relative paths), with the bare specifiers. */
function valueClosure(files: string[]): { modules: Set<string>; bare: string[] } {
  const modules = new Set<string>();
  const bare: string[] = [];
  const visit = (file: string) => {
    if (modules.has(file)) return;
    modules.add(file);
    for (const match of readFileSync(file, 'utf8').matchAll(VALUE_IMPORT)) {
      const specifier = match[1] as string;
      if (specifier.startsWith('.')) visit(join(file, '..', specifier.replace(/\.js$/, '.ts')));
      else bare.push(`${relative(join(SRC, '..'), file)} -> ${specifier}`);
    }
  };
  for (const file of files) visit(file);
  return { modules, bare };
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
    const { modules, bare } = valueClosure(sources(WEB));
    const inSrc = [...modules].map((file) => relative(SRC, file)).filter((file) => !file.startsWith('..'));
    expect(inSrc.some((file) => file.startsWith('domain/'))).toBe(true);
    expect(inSrc.filter((file) => !file.startsWith('domain/'))).toEqual([]);
    expect(bare.filter((b) => b.includes('-> node:'))).toEqual([]);
  });

  it('orchestrate status loads no machine, process actor, agent adapter, server or sandbox', () => {
    // What src/cli/actions.ts status() imports when it runs.
    const { modules, bare } = valueClosure(
      ['cli/status-command.ts', 'cli/workspace.ts', 'runtime/view.ts'].map((file) => join(SRC, file)),
    );
    const folders = new Set([...modules].map((file) => relative(SRC, file).split('/')[0]));
    for (const heavy of ['machines', 'actors', 'agents', 'http', 'safety', 'workspace'])
      expect(folders.has(heavy), heavy).toBe(false);
    expect(bare.filter((b) => b.includes('-> xstate'))).toEqual([]);
  });

  it('a listing of sessions (orchestrate status) loads no schema (zod) and no node:crypto', () => {
    // What cli.ts, then src/cli/actions.ts status() without a session id, imports: most of a cold start was zod
    // building the spec's schemas and node:crypto's modules. test/cli/status-modules.test.ts checks what the
    // built CLI really loads.
    const { modules, bare } = valueClosure(
      ['cli.ts', 'cli/actions.ts', 'cli/status-command.ts', 'cli/workspace.ts', 'runtime/summary.ts'].map((file) =>
        join(SRC, file),
      ),
    );
    expect(modules.has(join(SRC, 'domain/spec.ts'))).toBe(false);
    expect(bare.filter((b) => /-> (zod(\/.*)?|(node:)?crypto)$/.test(b))).toEqual([]);
  });
});
