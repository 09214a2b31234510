/**
 * SSE frames straight from events.jsonl's bytes, for the replay: `id: <seq>\nevent: <type>\ndata: <line>\n\n`
 * per event, the line copied as it is (no UTF-8 decode, no JSON.parse or JSON.stringify), into one buffer.
 *
 * The replay reads in pages of FRAME_PAGE events aligned on seq (a chunk never crosses a page boundary), and a
 * complete page is kept in a small byte-bounded cache: the lines of an append-only log never change, so every
 * client replaying the same events shares one buffer (200 clients reconnecting after a restart read and frame
 * each page once, not 200 times).
 */

/** Events in one replay page. */
export const FRAME_PAGE = 256;

/** Bytes of cached pages per log, at most (the least recently used go first). */
const PAGE_CACHE_BYTES = 8 * 1024 * 1024;

/** The start of an event's SSE frame; its JSON line and a blank line follow. The one place the format is written. */
export function frameHead(seq: number, type: string): string {
  return `id: ${seq}\nevent: ${type}\ndata: `;
}

/** The frames of seq first .. last, in one buffer shared by every reader: never write into `data`. */
export interface FrameChunk {
  first: number;
  last: number;
  data: Buffer;
}

/**
 * Frame the complete lines in `lines[0, length)`, the first being seq `first`; `types[seq - 1]` is each
 * event's type (ASCII: our own names). Returns null when there is no complete line.
 */
export function framesOf(lines: Buffer, length: number, first: number, types: readonly string[]): FrameChunk | null {
  const heads: string[] = [];
  const ends: number[] = [];
  let size = 0;
  for (let from = 0; from < length; ) {
    const nl = lines.indexOf(0x0a, from);
    if (nl === -1 || nl >= length) break;
    const head = frameHead(first + heads.length, types[first + heads.length - 1] as string);
    heads.push(head);
    ends.push(nl);
    size += head.length + (nl - from) + 2;
    from = nl + 1;
  }
  if (heads.length === 0) return null;
  const data = Buffer.allocUnsafe(size);
  let at = 0;
  let from = 0;
  for (const [i, head] of heads.entries()) {
    const end = ends[i] as number;
    at += data.write(head, at, 'latin1');
    at += lines.copy(data, at, from, end);
    data[at++] = 0x0a;
    data[at++] = 0x0a;
    from = end + 1;
  }
  return { first, last: first + heads.length - 1, data };
}

/** Complete pages of frames by their first seq, the least recently used evicted past `maxBytes`. */
export class FramePageCache {
  private pages = new Map<number, Buffer>();
  private bytes = 0;

  constructor(private readonly maxBytes = PAGE_CACHE_BYTES) {}

  get(first: number): Buffer | undefined {
    const page = this.pages.get(first);
    if (page) {
      // Map order is insertion order: re-insert to mark it the most recently used.
      this.pages.delete(first);
      this.pages.set(first, page);
    }
    return page;
  }

  set(first: number, page: Buffer): void {
    if (page.length > this.maxBytes || this.pages.has(first)) return;
    this.pages.set(first, page);
    this.bytes += page.length;
    for (const [key, old] of this.pages) {
      if (this.bytes <= this.maxBytes) break;
      this.pages.delete(key);
      this.bytes -= old.length;
    }
  }
}
