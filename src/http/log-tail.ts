/** The last lines of a file, read backwards from its end: an agent log can be gigabytes, a request is not. */
import { open } from 'node:fs/promises';

export interface Tail {
  lines: string[];
  /** The file holds more before these lines (or a line was too long to return whole). */
  truncated: boolean;
}

const BLOCK = 64 * 1024;
/** Bytes read for one request at most, whatever `lines` asks for. */
export const TAIL_MAX_BYTES = 8 * 1024 * 1024;

export async function readTail(path: string, lines: number, maxBytes = TAIL_MAX_BYTES): Promise<Tail> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { lines: [], truncated: false };
    throw error;
  }
  try {
    const size = (await handle.stat()).size;
    if (size === 0) return { lines: [], truncated: false };
    const blocks: Buffer[] = [];
    let position = size;
    let newlines = 0;
    let endsWithNewline: boolean | null = null;
    // `lines` complete lines need `lines` newlines before them (plus the file's final one), or the file start.
    while (position > 0 && size - position < maxBytes) {
      const length = Math.min(BLOCK, position, maxBytes - (size - position));
      position -= length;
      const block = Buffer.alloc(length);
      let read = 0;
      while (read < length) {
        const { bytesRead } = await handle.read(block, read, length - read, position + read);
        if (bytesRead === 0) break;
        read += bytesRead;
      }
      blocks.unshift(block);
      if (endsWithNewline === null) endsWithNewline = block[length - 1] === 0x0a;
      for (let i = 0; i < length; i++) if (block[i] === 0x0a) newlines++;
      if (newlines - (endsWithNewline ? 1 : 0) >= lines) break;
    }
    const parts = Buffer.concat(blocks).toString('utf8').split('\n');
    if (endsWithNewline) parts.pop();
    let truncated = false;
    // Unless we reached the start of the file, the first piece is the end of a line we did not read whole.
    if (position > 0) {
      parts.shift();
      truncated = true;
    }
    if (parts.length > lines) {
      truncated = true;
      parts.splice(0, parts.length - lines);
    }
    return { lines: parts, truncated };
  } finally {
    await handle.close();
  }
}
