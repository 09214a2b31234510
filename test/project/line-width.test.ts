/**
 * No source line over 120 characters, and no file of src/ over 400 lines (issue 19). Biome formats to 120 columns but
 * cannot break a long string, comment, template literal or test title: those are folded by hand, and this test names
 * any line that is not; a module that outgrows 400 lines is split by job.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAX_WIDTH = 120;
const MAX_SRC_LINES = 400;
const FOLDERS = ['src', 'web', 'scripts', 'test', 'bench'];
const EXTENSIONS = ['.ts', '.tsx', '.mjs'];
/** Not source: dependencies, build output, and the agents' recorded transcripts (data, as every *.jsonl is). */
const SKIPPED_FOLDERS = ['node_modules', 'dist', 'test/fixtures/transcripts'];

/** The source files under `dir`, as paths from the repository root. */
function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory()) return SKIPPED_FOLDERS.includes(e.name) || SKIPPED_FOLDERS.includes(path) ? [] : sources(path);
    return EXTENSIONS.some((ext) => e.name.endsWith(ext)) ? [path] : [];
  });
}

/** `file:line (n characters)` for each line over MAX_WIDTH, counting characters as an editor does (code points). */
function longLines(path: string): string[] {
  return readFileSync(join(ROOT, path), 'utf8')
    .split('\n')
    .flatMap((line, i) => {
      const width = [...line].length;
      return width > MAX_WIDTH ? [`${path}:${i + 1} (${width} characters)`] : [];
    });
}

describe('line width', () => {
  const files = FOLDERS.flatMap(sources);

  it('finds the sources it checks, and not the transcripts', () => {
    expect(files).toEqual(expect.arrayContaining(['src/cli.ts', 'web/app.ts', 'scripts/build.mjs', 'bench/run.ts']));
    expect(files).toContain('test/project/line-width.test.ts');
    expect(files.filter((f) => f.startsWith('test/fixtures/transcripts/'))).toEqual([]);
  });

  it(`no line of src, web, scripts, test or bench is over ${MAX_WIDTH} characters`, () => {
    expect(files.flatMap(longLines)).toEqual([]);
  });

  it(`no file of src is over ${MAX_SRC_LINES} lines`, () => {
    const long = files
      .filter((f) => f.startsWith('src/'))
      .flatMap((f) => {
        const lines = readFileSync(join(ROOT, f), 'utf8').replace(/\n$/, '').split('\n').length;
        return lines > MAX_SRC_LINES ? [`${f} (${lines} lines)`] : [];
      });
    expect(long).toEqual([]);
  });
});
