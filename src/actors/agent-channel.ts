/**
 * The orchestrator's end of an interactive agent's stdin: envelopes written into the FIFO its relay reads
 * (./stdin-relay.ts). The FIFO is made before the launch and opened for reading and writing without blocking, so
 * writes never wait for the relay (the kernel keeps them until it reads) and an orchestrator that came back after
 * a crash opens the same pipe. Each envelope has an id: the relay forwards an id once, so sending again what may
 * not have arrived is always safe, and the sent log says what did arrive.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, constants, existsSync, lstatSync, openSync, writeSync } from 'node:fs';
import { distFile } from '../package-root.js';
import type { Envelope } from './relay-envelopes.js';

export { deliveredIds } from './relay-envelopes.js';

export const STDIN_RELAY_SCRIPT = distFile('actors', 'stdin-relay.js');

/** Make the FIFO (mkfifo, with no shell) unless it is there. */
export function makeFifo(path: string): void {
  if (existsSync(path)) {
    if (lstatSync(path).isFIFO()) return;
    throw new Error(`${path} exists and is not a FIFO`);
  }
  execFileSync('mkfifo', ['-m', '600', path], { stdio: 'ignore' });
}

/** Retry a full pipe this often (the relay drains it as the agent reads). */
const FULL_PIPE_RETRY_MS = 20;

export class AgentChannel {
  private fd: number | null;
  private queue: Buffer[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(readonly fifo: string) {
    this.fd = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
  }

  send(envelope: Envelope): void {
    if (this.fd === null) return;
    this.queue.push(Buffer.from(`${JSON.stringify(envelope)}\n`));
    this.flush();
  }

  /** A bare newline: it ends whatever half line a writer that died left in the pipe (the relay skips empty lines). */
  newline(): void {
    if (this.fd === null) return;
    this.queue.push(Buffer.from('\n'));
    this.flush();
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private flush(): void {
    if (this.timer || this.fd === null) return;
    while (this.queue.length > 0) {
      const head = this.queue[0] as Buffer;
      let written: number;
      try {
        written = writeSync(this.fd, head);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
        written = 0;
      }
      if (written < head.length) {
        this.queue[0] = head.subarray(written);
        this.timer = setTimeout(() => {
          this.timer = null;
          this.flush();
        }, FULL_PIPE_RETRY_MS);
        this.timer.unref();
        return;
      }
      this.queue.shift();
    }
  }
}
