/** A byte-level SSE client for the tests: node:http, no pooling, every frame parsed as the browser would. */
import http from 'node:http';
import { poll } from '../support/poll.js';

export interface Frame {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
  raw: string;
}

export class SseClient {
  raw = '';
  frames: Frame[] = [];
  status = 0;
  headers: http.IncomingHttpHeaders = {};
  ended = false;
  readonly done: Promise<void>;
  private pending = '';
  private request!: http.ClientRequest;
  private response: http.IncomingMessage | null = null;
  private resolveDone!: () => void;

  private constructor() {
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
  }

  /** Resolves once the response headers are in. */
  static open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const client = new SseClient();
    return new Promise((resolve, reject) => {
      client.request = http.get(url, { headers, agent: false }, (res) => {
        client.response = res;
        client.status = res.statusCode ?? 0;
        client.headers = res.headers;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => client.onData(chunk));
        const end = () => {
          client.ended = true;
          client.resolveDone();
        };
        res.on('end', end);
        res.on('close', end);
        res.on('error', end);
        resolve(client);
      });
      client.request.on('error', (error) => {
        client.ended = true;
        client.resolveDone();
        if (!client.response) reject(error);
      });
    });
  }

  /** Frames with an id: the events (the snapshot has none). */
  get events(): Frame[] {
    return this.frames.filter((f) => f.id !== undefined);
  }

  get seqs(): number[] {
    return this.events.map((f) => Number(f.id));
  }

  get lastId(): number | undefined {
    const events = this.events;
    return events.length ? Number(events[events.length - 1]!.id) : undefined;
  }

  async waitFor(predicate: (client: SseClient) => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    await poll(
      () => predicate(this),
      timeoutMs,
      () => `${what}; got ${this.frames.length} frames, ended=${this.ended}`,
      5,
    );
  }

  pause(): void {
    this.response?.pause();
  }

  resume(): void {
    this.response?.resume();
  }

  /** Hang up (mid-frame, perhaps). */
  close(): void {
    this.request.destroy();
  }

  private onData(chunk: string): void {
    this.raw += chunk;
    this.pending += chunk;
    let end: number;
    while ((end = this.pending.indexOf('\n\n')) !== -1) {
      const block = this.pending.slice(0, end);
      this.pending = this.pending.slice(end + 2);
      this.frames.push(parseFrame(block));
    }
  }
}

export function parseFrame(block: string): Frame {
  const frame: Frame = { raw: `${block}\n\n` };
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) frame.comment = line.slice(1).trim();
    else if (line.startsWith('id: ')) frame.id = line.slice(4);
    else if (line.startsWith('event: ')) frame.event = line.slice(7);
    else if (line.startsWith('data: '))
      frame.data = frame.data === undefined ? line.slice(6) : `${frame.data}\n${line.slice(6)}`;
    else throw new Error(`unexpected SSE line: ${JSON.stringify(line)}`);
  }
  return frame;
}
