/**
 * What the agents' proxies refused, into the session's log: each line of a worker's `refused.jsonl` in its net
 * folder (src/safety/network.ts netDirFor, src/safety/net-proxy.ts) becomes one `safety` event, once, also across
 * an orchestrator restart (the lines already recorded are counted from the log).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { NewEvent, OrchestratorEvent } from '../domain/events.js';
import type { SessionContext } from '../domain/supervisor/context.js';
import type { SessionRuntime } from '../runtime/session-runtime.js';
import { netDirFor, netRootOf, type Refusal } from './network.js';
import { safetyEvent } from './safety-event.js';

/** What the reader needs of its monitor: the session (null once let go), and where events go. */
export interface RefusalSession {
  runtime(): SessionRuntime | null;
  context(): SessionContext | null;
  record(events: NewEvent[]): void;
}

export class RefusalReader {
  private timer: NodeJS.Timeout | null = null;
  /** Lines of each worker's refused.jsonl already recorded (counted from the log: one event per line). */
  private readonly read = new Map<string, number>();
  /** Size of each refusals file when last read: unchanged files are not read again. */
  private readonly sizes = new Map<string, number>();
  /** The workers' statuses when refusals were last read on a change (null: not watching). */
  private statuses: string | null = null;

  constructor(private readonly session: RefusalSession) {}

  /** A refusal already in the log (read at attach). */
  count(event: OrchestratorEvent): void {
    if (event.type === 'safety' && event.rule === 'network-refused' && event.workerId)
      this.read.set(event.workerId, (this.read.get(event.workerId) ?? 0) + 1);
  }

  /**
   * Read when a worker's status changes (its exit is one: what its proxy refused is on record before its end
   * is), and every `everyMs` for an agent that prints nothing meanwhile.
   */
  watch(everyMs: number): void {
    this.statuses = '';
    this.timer = setInterval(() => this.readAll(), everyMs);
    this.timer.unref();
    this.readAll();
  }

  /** The session changed: read again if some worker's status moved (not on every output batch: a hot path). */
  onChange(context: SessionContext): void {
    if (this.statuses === null) return;
    const statuses = Object.values(context.workers)
      .map((w) => `${w.id}:${w.status}`)
      .join(' ');
    if (statuses === this.statuses) return;
    this.statuses = statuses;
    this.readAll();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private readAll(): void {
    const runtime = this.session.runtime();
    if (!runtime || runtime.detached) return;
    const sessionDir = runtime.dir;
    const netRoot = netRootOf(sessionDir);
    const workers = new Set([
      ...Object.keys(this.session.context()?.workers ?? {}),
      ...(existsSync(netRoot) ? readdirSync(netRoot) : []),
    ]);
    for (const workerId of workers) {
      const file = join(netDirFor(sessionDir, workerId), 'refused.jsonl');
      let size: number;
      try {
        size = statSync(file).size;
      } catch {
        continue;
      }
      if (this.sizes.get(file) === size) continue;
      this.sizes.set(file, size);
      let lines: string[];
      try {
        // Complete lines only: the last one may still be being written.
        lines = readFileSync(file, 'utf8').split('\n').slice(0, -1);
      } catch {
        continue;
      }
      const done = this.read.get(workerId) ?? 0;
      if (lines.length <= done) continue;
      this.read.set(workerId, lines.length);
      this.session.record(lines.slice(done).map((line) => refusalEvent(line, workerId)));
    }
  }
}

function refusalEvent(line: string, workerId: string): NewEvent {
  let r: Partial<Refusal> = {};
  try {
    r = JSON.parse(line) as Refusal;
  } catch {
    // A torn line still counts as a refusal.
  }
  const subject = `${r.host ?? '?'}:${r.port ?? '?'}`;
  return safetyEvent(
    'network-refused',
    subject,
    'refuse',
    `${r.method ?? 'a request'} to ${subject} refused by the sandbox's proxy: ` +
      `not on this agent's allowlist (add it to sandbox.allowHosts to allow it)`,
    workerId,
  );
}
