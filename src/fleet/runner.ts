/**
 * A fleet runner (issue 16; docs/fleet.md): claims sessions from the Postgres store up to its slots, runs each
 * exactly as `run` does (a SessionManager of its own, each worker in its checkout), replicates each session's
 * events to the store under its lease, renews the lease, pushes the session's branches to the remote, and
 * marks the session ended.
 *
 * The session's own log (`events.jsonl` in the runner's workspace) stays the source the runtime writes to;
 * replication reads it in seq order and appends to the store what the store does not have yet, so a slow or
 * briefly unreachable database costs memory nothing and loses nothing. A runner that loses a lease (LeaseLostError
 * from a renewal or an append) stops that session's agents at once: whatever it still tries to write is refused.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SessionSpecSchema } from '../domain/spec.js';
import type { SessionManager } from '../runtime/session-manager.js';
import type { SessionRuntime } from '../runtime/session-runtime.js';
import { git } from '../workspace/git.js';
import { type FleetStore, type Lease, LeaseLostError, SeqGapError } from './pg-store.js';

/** Events appended to the store per transaction, at most. */
const REPLICATE_BATCH = 1000;

export type RunnerEvent =
  | { type: 'claimed'; sessionId: string; token: number }
  | { type: 'ended'; sessionId: string; outcome: string }
  | { type: 'lost'; sessionId: string }
  | { type: 'error'; sessionId: string; message: string };

export interface RunnerOptions {
  store: FleetStore;
  /** Runs the sessions: `run`'s manager (the safety layer wired in), on the runner's own workspace. */
  manager: SessionManager;
  id: string;
  agents: readonly string[];
  labels?: readonly string[];
  slots: number;
  leaseSec: number;
  /** Where the runner clones each session's repository (one folder per session). */
  workDir: string;
  /** How often to renew its leases and look for work (ms); by default a third of the lease. */
  tickMs?: number;
  onEvent?: (event: RunnerEvent) => void;
}

interface Running {
  lease: Lease;
  runtime: SessionRuntime | null;
  replicated: number;
  /** The replication in flight, if any; `again` when more arrived meanwhile. */
  replicating: Promise<void> | null;
  again: boolean;
  lost: boolean;
  /** When the lease was last taken or renewed (this process's clock): past leaseSec it may be someone else's. */
  renewedAt: number;
  /** The database could not be reached at the last try (told once per outage). */
  unreachable: boolean;
}

export class Runner {
  private readonly running = new Map<string, Running>();
  private readonly runs = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private claiming = false;
  private claimFailing = false;

  constructor(private readonly options: RunnerOptions) {}

  /** Sessions this runner runs now. */
  get sessions(): string[] {
    return [...this.running.keys()];
  }

  private get tickMs(): number {
    return this.options.tickMs ?? Math.max(100, (this.options.leaseSec * 1000) / 3);
  }

  start(): this {
    this.timer = setInterval(() => void this.tick(), this.tickMs);
    void this.tick();
    return this;
  }

  /** Claim no more; the sessions running go on until the process ends (their leases then expire). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Claim no more, and stop every session running here (each ends `stopped` in the store); resolves when done. */
  async shutdown(reason = 'the runner was stopped'): Promise<void> {
    this.stop();
    for (const entry of this.running.values()) this.stopSession(entry, reason);
    await this.idle();
  }

  private stopSession(entry: Running, reason: string): void {
    const runtime = entry.runtime;
    if (runtime && !runtime.hasEnded()) runtime.send({ type: 'STOP', reason });
  }

  /** Resolves once every session this runner runs now is over (ended, stopped or lost). */
  async idle(): Promise<void> {
    while (this.runs.size > 0) await Promise.all([...this.runs]);
  }

  /** Renew every lease, then claim sessions while slots are free. */
  async tick(): Promise<void> {
    for (const entry of this.running.values()) {
      if (entry.lost) continue;
      try {
        await this.options.store.heartbeat(entry.lease, this.options.leaseSec);
        entry.renewedAt = performance.now();
        entry.unreachable = false;
        // What could not be replicated while the database was away goes now.
        void this.replicate(entry);
      } catch (error) {
        this.trouble(entry, error);
      }
    }
    if (this.stopped || this.claiming) return;
    this.claiming = true;
    try {
      while (!this.stopped && this.running.size < this.options.slots) {
        const lease = await this.options.store.claim({
          id: this.options.id,
          agents: this.options.agents,
          labels: this.options.labels ?? [],
          leaseSec: this.options.leaseSec,
        });
        if (!lease) break;
        const entry: Running = {
          lease,
          runtime: null,
          replicated: 0,
          replicating: null,
          again: false,
          lost: false,
          renewedAt: performance.now(),
          unreachable: false,
        };
        this.running.set(lease.sessionId, entry);
        this.options.onEvent?.({ type: 'claimed', sessionId: lease.sessionId, token: lease.token });
        const run = this.run(entry);
        this.runs.add(run);
        void run.finally(() => this.runs.delete(run));
      }
      this.claimFailing = false;
    } catch (error) {
      // Said once per outage, not every tick.
      if (!this.claimFailing) {
        this.options.onEvent?.({ type: 'error', sessionId: '', message: (error as Error).message });
      }
      this.claimFailing = true;
    } finally {
      this.claiming = false;
    }
  }

  private async run(entry: Running): Promise<void> {
    const { lease } = entry;
    try {
      if (lease.lastSeq > 0) {
        // Started by a runner that went away. Resuming its workers here (their branches fetched, each agent's
        // native resume) is the next step of issue 16; until then the session ends, saying so, instead of
        // starting over under the same id.
        const message =
          `${lease.sessionId} was started by another runner that stopped renewing its lease, and resuming a ` +
          'session on another runner is not built yet: it ends as stopped';
        this.options.onEvent?.({ type: 'error', sessionId: lease.sessionId, message });
        await this.options.store.finish(lease, 'stopped');
        this.options.onEvent?.({ type: 'ended', sessionId: lease.sessionId, outcome: 'stopped' });
        return;
      }
      const spec = SessionSpecSchema.parse(lease.spec);
      const dir = await this.checkout(lease);
      const runtime = await this.options.manager.create(spec, dir, { sessionId: lease.sessionId });
      entry.runtime = runtime;
      runtime.subscribe(() => this.replicate(entry));
      this.replicate(entry);
      // Shut down while this one was being set up: it stops like the others.
      if (this.stopped && !this.timer) this.stopSession(entry, 'the runner was stopped');
      const end = await runtime.waitForEnd();
      // The whole log in the database, the branches on the remote, the session ended there: each tried again
      // while the database (or the remote) is away, for as long as the lease may still be ours.
      await this.untilDone(entry, async () => {
        await this.replicate(entry);
        if (entry.replicated < runtime.lastSeq) throw new Error('the log is not all in the database yet');
        await this.push(dir, lease.sessionId);
        await this.options.store.finish(lease, end);
      });
      if (entry.lost) return;
      this.options.onEvent?.({ type: 'ended', sessionId: lease.sessionId, outcome: end });
    } catch (error) {
      this.fail(entry, error);
    } finally {
      this.running.delete(lease.sessionId);
    }
  }

  /** Run `step` until it succeeds or the session is lost, a tick apart. */
  private async untilDone(entry: Running, step: () => Promise<void>): Promise<void> {
    for (;;) {
      if (entry.lost) return;
      try {
        await step();
        return;
      } catch (error) {
        this.trouble(entry, error);
      }
      await new Promise((resolve) => setTimeout(resolve, this.tickMs));
    }
  }

  /** Append to the store what the local log has beyond what the store has (one run at a time, in seq order). */
  private replicate(entry: Running): Promise<void> {
    if (entry.replicating) {
      entry.again = true;
      return entry.replicating;
    }
    entry.replicating = (async () => {
      do {
        entry.again = false;
        const runtime = entry.runtime;
        while (runtime && !entry.lost && entry.replicated < runtime.lastSeq) {
          const lines = runtime.readLinesAfter(entry.replicated, REPLICATE_BATCH);
          if (lines.length === 0) break;
          await this.options.store.append(entry.lease, lines);
          entry.replicated = (lines.at(-1) as { seq: number }).seq;
        }
      } while (entry.again && !entry.lost);
    })()
      .catch((error) => this.trouble(entry, error))
      .finally(() => {
        entry.replicating = null;
      });
    return entry.replicating;
  }

  /**
   * A write that failed. Refused by the database (the lease is gone, or the log does not continue): the session
   * is lost. Not done at all (the database unreachable, a connection dropped): said once, and tried again at the
   * next tick, until the lease could have expired by now, when the session is given up as lost too.
   */
  private trouble(entry: Running, error: unknown): void {
    if (error instanceof LeaseLostError || error instanceof SeqGapError) {
      this.fail(entry, error);
      return;
    }
    if (performance.now() - entry.renewedAt > this.options.leaseSec * 1000) {
      this.fail(entry, new LeaseLostError(entry.lease));
      return;
    }
    if (entry.unreachable) return;
    entry.unreachable = true;
    const message = `the fleet database failed (${(error as Error).message}); trying again until the lease runs out`;
    this.options.onEvent?.({ type: 'error', sessionId: entry.lease.sessionId, message });
  }

  /** A lost lease stops the session's agents at once; any other failure is reported and stops it too. */
  private fail(entry: Running, error: unknown): void {
    if (entry.lost) return;
    entry.lost = true;
    const sessionId = entry.lease.sessionId;
    if (error instanceof LeaseLostError) this.options.onEvent?.({ type: 'lost', sessionId });
    else this.options.onEvent?.({ type: 'error', sessionId, message: (error as Error).message });
    this.stopSession(entry, 'the runner lost its lease');
  }

  /** A clone of the session's repository at its base, in a folder of its own. */
  private async checkout(lease: Lease): Promise<string> {
    const dir = join(this.options.workDir, lease.sessionId);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(this.options.workDir, { recursive: true });
    await git(this.options.workDir, ['clone', '--quiet', '--no-checkout', lease.repo, dir]);
    const base = await git(dir, ['rev-parse', '--verify', '--quiet', `${lease.base}^{commit}`], { ok: [0, 1] });
    const commit = base.code === 0 ? lease.base : `origin/${lease.base}`;
    await git(dir, ['checkout', '--quiet', '--detach', commit]);
    return dir;
  }

  /** The session's branches (orch/<sid>/<worker>, orch/<sid>/_result) to the remote it came from. */
  private async push(dir: string, sessionId: string): Promise<void> {
    const refs = await git(dir, ['for-each-ref', '--format=%(refname)', `refs/heads/orch/${sessionId}/`]);
    const names = refs.stdout.split('\n').filter(Boolean);
    if (names.length === 0) return;
    await git(dir, ['push', '--quiet', '--force', 'origin', ...names.map((ref) => `${ref}:${ref}`)]);
  }
}
