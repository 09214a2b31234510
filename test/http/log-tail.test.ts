import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readTail } from '../../src/http/log-tail.js';
import { removeTempDirs, tempDir } from './helpers.js';

const dir = tempDir('tail');
let n = 0;
const file = (content: string | Buffer) => {
  const path = join(dir, `f${n++}`);
  writeFileSync(path, content);
  return path;
};
afterAll(() => removeTempDirs());

describe('readTail', () => {
  it('reads the last lines, with or without a final newline', async () => {
    expect(await readTail(file('a\nb\nc\n'), 2)).toEqual({ lines: ['b', 'c'], truncated: true });
    expect(await readTail(file('a\nb\nc'), 2)).toEqual({ lines: ['b', 'c'], truncated: true });
    expect(await readTail(file('a\nb\nc'), 3)).toEqual({ lines: ['a', 'b', 'c'], truncated: false });
    expect(await readTail(file('a\nb\nc\n'), 10)).toEqual({ lines: ['a', 'b', 'c'], truncated: false });
    expect(await readTail(file('only'), 1)).toEqual({ lines: ['only'], truncated: false });
    expect(await readTail(file('\n'), 5)).toEqual({ lines: [''], truncated: false });
    expect(await readTail(file('a\n\nb\n'), 5)).toEqual({ lines: ['a', '', 'b'], truncated: false });
  });

  it('an empty or missing file has no lines', async () => {
    expect(await readTail(file(''), 5)).toEqual({ lines: [], truncated: false });
    expect(await readTail(join(dir, 'missing'), 5)).toEqual({ lines: [], truncated: false });
  });

  it('works across many blocks and multi-byte characters on block borders', async () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `${i} ${'é😀'.repeat(i % 37)}`);
    const path = file(`${lines.join('\n')}\n`);
    expect(await readTail(path, 1234)).toEqual({ lines: lines.slice(-1234), truncated: true });
    expect(await readTail(path, 5000)).toEqual({ lines, truncated: false });
  });

  it('reads no more than maxBytes: a huge file costs the same as a small one', async () => {
    const long = 'x'.repeat(100_000);
    const path = file(`${long}\n${long}\nshort\n`);
    expect(await readTail(path, 3, 1000)).toEqual({ lines: ['short'], truncated: true });
    expect(await readTail(path, 3, 150_000)).toEqual({ lines: [long, 'short'], truncated: true });
  });
});
