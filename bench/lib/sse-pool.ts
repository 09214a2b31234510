/** Parent side of sse-clients.ts: a child process of SSE clients, and promises over its IPC messages. */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { BENCH_DIR } from './paths.js';
import type { FrameStats } from './sse-frames.js';

export type ClientStats = FrameStats & { slow: boolean; ended: boolean; connects: number; statuses: number[] };

export class SsePool {
  private constructor(private readonly child: ChildProcess) {}

  /** The client process, ready to open clients (start it before the session: it takes a few hundred ms). */
  static async spawn(): Promise<SsePool> {
    const child = fork(join(BENCH_DIR, 'lib', 'sse-clients.ts'), [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const pool = new SsePool(child);
    await pool.next('ready');
    return pool;
  }

  /** Open `count` clients on an events URL; the first `slow` of them never read. */
  async open(options: {
    url: string;
    token: string;
    count: number;
    slow?: number;
    measureLatency?: boolean;
    lastEventId?: number;
  }): Promise<void> {
    this.child.send({ type: 'open', slow: 0, measureLatency: false, lastEventId: 0, ...options });
    await this.next('opened');
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Resolves with the (epoch ms) time at which every fast client had received `seq`. */
  reach(seq: number, timeoutMs: number): Promise<number> {
    const done = this.next('reached', timeoutMs).then((m) => m.at as number);
    this.child.send({ type: 'target', seq });
    return done;
  }

  async stats(): Promise<{ clients: ClientStats[]; latencies: number[] }> {
    const reply = this.next('stats');
    this.child.send({ type: 'stats' });
    const m = await reply;
    return { clients: m.clients as ClientStats[], latencies: m.latencies as number[] };
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.send({ type: 'close' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  }

  private next(type: string, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.child.off('message', on);
        reject(new Error(`SSE client process: no "${type}" within ${timeoutMs} ms`));
      }, timeoutMs);
      const on = (m: Record<string, unknown>) => {
        if (m.type !== type) return;
        clearTimeout(timer);
        this.child.off('message', on);
        resolve(m);
      };
      this.child.on('message', on);
    });
  }
}
