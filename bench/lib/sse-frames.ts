/**
 * A cheap SSE reader for the benchmarks: counts event frames and checks their ids (seq) run +1 with no gap
 * and no duplicate, without JSON-parsing the data (a client must not be the bottleneck it measures). It reads the
 * bytes as they come: decoding 10 clients' UTF-8 into strings took most of a core, as much as the server spent.
 */
export interface FrameStats {
  events: number;
  lastId: number;
  gaps: number;
  duplicates: number;
  bytes: number;
  /** Latencies (ms) of frames carrying a `bench-t=<epoch ms>` probe, when asked to measure them. */
  latencies: number[];
}

export class FrameCounter {
  readonly stats: FrameStats = { events: 0, lastId: 0, gaps: 0, duplicates: 0, bytes: 0, latencies: [] };
  /** The start of a frame cut by the end of the last chunk. */
  private pending: Buffer = EMPTY;

  constructor(
    startAfter: number,
    private readonly measureLatency = false,
    private readonly onEvent?: (id: number) => void,
  ) {
    this.stats.lastId = startAfter;
  }

  /** A new connection: a frame cut by the old one's end is incomplete and does not count (as in a browser). */
  newConnection(): void {
    this.pending = EMPTY;
  }

  push(chunk: Buffer): void {
    const now = this.measureLatency ? performance.timeOrigin + performance.now() : 0;
    this.stats.bytes += chunk.length;
    const data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    let from = 0;
    for (;;) {
      const end = data.indexOf(FRAME_END, from);
      if (end === -1) break;
      if (data.compare(ID, 0, ID.length, from, from + ID.length) === 0) {
        let id = 0;
        let at = from + ID.length;
        for (let digit = data[at] as number; digit >= 0x30 && digit <= 0x39; digit = data[++at] as number)
          id = id * 10 + digit - 0x30;
        if (id === this.stats.lastId + 1) this.stats.events++;
        else if (id <= this.stats.lastId) this.stats.duplicates++;
        else {
          this.stats.gaps++;
          this.stats.events++;
        }
        if (id > this.stats.lastId) this.stats.lastId = id;
        if (this.measureLatency) {
          const probe = data.indexOf(PROBE, at);
          if (probe !== -1 && probe < end) {
            const sent = Number.parseFloat(data.toString('latin1', probe + PROBE.length, probe + PROBE.length + 22));
            this.stats.latencies.push(now - sent);
          }
        }
        this.onEvent?.(id);
      }
      from = end + 2;
    }
    // Copied: the chunk's memory is the socket's to reuse.
    this.pending = from >= data.length ? EMPTY : Buffer.from(data.subarray(from));
  }
}

const EMPTY = Buffer.alloc(0);
const FRAME_END = Buffer.from('\n\n');
const ID = Buffer.from('id: ');
const PROBE = Buffer.from('bench-t=');
