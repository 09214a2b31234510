/**
 * A cheap SSE reader for the benchmarks: counts event frames and checks their ids (seq) run +1 with no gap
 * and no duplicate, without JSON-parsing the data (a client must not be the bottleneck it measures).
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
  private pending = '';

  constructor(
    startAfter: number,
    private readonly measureLatency = false,
    private readonly onEvent?: (id: number) => void,
  ) {
    this.stats.lastId = startAfter;
  }

  /** A new connection: a frame cut by the old one's end is incomplete and does not count (as in a browser). */
  newConnection(): void {
    this.pending = '';
  }

  push(chunk: string): void {
    const now = this.measureLatency ? performance.timeOrigin + performance.now() : 0;
    this.stats.bytes += chunk.length;
    let text = this.pending.length > 0 ? this.pending + chunk : chunk;
    let from = 0;
    for (;;) {
      const end = text.indexOf('\n\n', from);
      if (end === -1) break;
      if (text.startsWith('id: ', from)) {
        const nl = text.indexOf('\n', from + 4);
        const id = Number(text.slice(from + 4, nl));
        if (id === this.stats.lastId + 1) this.stats.events++;
        else if (id <= this.stats.lastId) this.stats.duplicates++;
        else {
          this.stats.gaps++;
          this.stats.events++;
        }
        if (id > this.stats.lastId) this.stats.lastId = id;
        if (this.measureLatency) {
          const at = text.indexOf('bench-t=', nl);
          if (at !== -1 && at < end) this.stats.latencies.push(now - Number.parseFloat(text.slice(at + 8, at + 30)));
        }
        this.onEvent?.(id);
      }
      from = end + 2;
    }
    this.pending = from === 0 ? text : text.slice(from);
    text = '';
  }
}
