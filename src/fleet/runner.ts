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
import { SessionSpecSchema } from '../domain/spec.js';
import type { SessionManager } from '../runtime/session-manager.js';
import type { SessionRuntime } from '../runtime/session-runtime.js';
import { captureFolder, restoreSession, type SessionFolder } from './folder.js';
import { CommandDesk } from './command-desk.js';
import { deferUntil } from './defer.js';
import { newRunning, type Running } from './running.js';
import { cloneAt, fetchSessionRefs, pushSessionRefs } from './remote.js';
import { type FleetStore, LeaseLostError, SeqGapError } from './pg-store.js';

/** Events appended to the store per transaction, at most. */
const REPLICATE_BATCH = 1000;

export type RunnerEvent =
  | { type: 'claimed'; sessionId: string; token: number }
  | { type: 'ended'; sessionId: string; outcome: string }
  | { type: 'lost'; sessionId: string }
  /** A session another runner started, taken over here from its `lastSeq`. */
  | { type: 'resumed'; sessionId: string; lastSeq: number; target: string }
  /** Given back to the queue until its workers' retry time; its slot here is free. */
  | { type: 'deferred'; sessionId: string; until: string }
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
  /**
   * A session whose every unfinished worker waits at least this long to be retried goes back to the queue until
   * then, freeing its slot (./defer.ts); 60 s by default.
   */
  deferAfterMs?: number;
  onEvent?: (event: RunnerEvent) => void;
}

export class Runner {
  private readonly running = new Map<string, Running>();
  private readonly runs = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private claiming = false;
  private claimFailing = false;
  /** Answers a person's requests (pause, stop, a blocker's answer) that API nodes queue for its sessions. */
  private readonly desk: CommandDesk;

  constructor(private readonly options: RunnerOptions) {
    this.desk = new CommandDesk({
      store: options.store,
      manager: options.manager,
      leaseOf: (sessionId) => {
        const entry = this.running.get(sessionId);
        // Being given back to the queue (parking): its runtime is let go of; the next runner answers.
        return entry?.runtime && !entry.lost && !entry.parking ? entry.lease : null;
      },
      onError: (sessionId, message) => options.onEvent?.({ type: 'error', sessionId, message }),
    });
  }

  /** Sessions this runner runs now. */
  get sessions(): string[] {
    return [...this.running.keys()];
  }

  private get deferAfter(): number {
    return this.options.deferAfterMs ?? 60_000;
  }

  private get tickMs(): number {
    return this.options.tickMs ?? Math.max(100, (this.options.leaseSec * 1000) / 3);
  }

  start(): this {
    this.timer = setInterval(() => void this.tick(), this.tickMs);
    void this.desk.open();
    void this.tick();
    return this;
  }

  /**
   * Claim no more and take no more requests; the sessions running go on until the process ends (their leases then
   * expire).
   */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    void this.desk.close();
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
        // Requests whose notification was missed (a dropped LISTEN connection) are found here, a tick late.
        if (!this.stopped) this.desk.serve(entry.lease.sessionId);
        // What could not be replicated while the database was away goes now, then the branches and the folder.
        void this.replicate(entry).then(() => this.sync(entry));
        const until =
          entry.runtime && !entry.parking ? deferUntil(entry.runtime.view(), Date.now(), this.deferAfter) : null;
        if (until) void this.park(entry, until);
      } catch (error) {
        this.trouble(entry, error);
      }
    }
    if (this.stopped || this.claiming) return;
    this.claiming = true;
    try {
      while (!this.stopped && this.running.size < this.options.slots) {
        const lease = await this.options.store.claim(
          {
            id: this.options.id,
            agents: this.options.agents,
            labels: this.options.labels ?? [],
            leaseSec: this.options.leaseSec,
          },
          [...this.running.keys()],
        );
        if (!lease) break;
        const entry = newRunning(lease);
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
      const runtime = lease.lastSeq > 0 ? await this.takeOver(entry) : await this.begin(entry);
      if (!runtime) return;
      const dir = entry.dir as string;
      entry.runtime = runtime;
      runtime.subscribe(() => this.replicate(entry));
      void this.replicate(entry).then(() => this.sync(entry));
      // Shut down while this one was being set up: it stops like the others.
      if (this.stopped && !this.timer) this.stopSession(entry, 'the runner was stopped');
      const end = await Promise.race([runtime.waitForEnd(), entry.parked]);
      if (end === null) return;
      // The whole log in the database, the branches on the remote, the session ended there: each tried again
      // while the database (or the remote) is away, for as long as the lease may still be ours.
      await this.untilDone(entry, async () => {
        await this.replicate(entry);
        if (entry.replicated < runtime.lastSeq) throw new Error('the log is not all in the database yet');
        // The refs, and the last snapshot: what API nodes show of the ended session is its end (blockers closed).
        await entry.syncing;
        await this.saveFolder(entry, dir);
        entry.finishing = true;
        await this.options.store.finish(lease, end);
      });
      if (entry.lost) return;
      this.options.onEvent?.({ type: 'ended', sessionId: lease.sessionId, outcome: end });
    } catch (error) {
      this.fail(entry, error);
    } finally {
      // Over here (ended, or lost and stopped): the manager lets go of it, so a later claim of it starts anew.
      if (entry.runtime) this.options.manager.detach(lease.sessionId);
      this.running.delete(lease.sessionId);
    }
  }

  /** A new session: its clone at the base, created as `run` creates one; its meta saved before any event. */
  private async begin(entry: Running): Promise<SessionRuntime> {
    const { lease } = entry;
    const spec = SessionSpecSchema.parse(lease.spec);
    entry.dir = await cloneAt(this.options.workDir, lease);
    const runtime = await this.options.manager.create(spec, entry.dir, { sessionId: lease.sessionId });
    // Whoever takes the session over needs at least its meta (the snapshot follows once its seq is replicated).
    const folder = captureFolder(this.options.manager.workspace, lease.sessionId);
    await this.options.store.saveFolder(
      lease,
      { ...folder, files: { 'session.json': folder.files['session.json'] }, seq: 0 },
      0,
    );
    return runtime;
  }

  /**
   * A session another runner started and stopped renewing: its clone at the base with the session's branches and
   * refs fetched from the remote, its folder and its log written back from the store, then resumed as `resume` does
   * after a crash (each worker that was running is lost, and recovers with a new attempt: native resume where its
   * agent still has the session, else afresh). null when the store has no folder of it (nothing to resume from).
   */
  private async takeOver(entry: Running): Promise<SessionRuntime | null> {
    const { lease } = entry;
    const { store, manager } = this.options;
    const folder = (await store.folder(lease.sessionId)) as SessionFolder | null;
    if (!folder) {
      const message = `${lease.sessionId} was started by a runner that saved nothing to resume from: it ends stopped`;
      this.options.onEvent?.({ type: 'error', sessionId: lease.sessionId, message });
      await store.finish(lease, 'stopped');
      this.options.onEvent?.({ type: 'ended', sessionId: lease.sessionId, outcome: 'stopped' });
      return null;
    }
    const dir = await cloneAt(this.options.workDir, lease);
    entry.dir = dir;
    const sid = lease.sessionId;
    await fetchSessionRefs(dir, sid);
    const meta = await restoreSession(store, lease, folder, manager.workspace, dir);
    entry.replicated = lease.lastSeq;
    entry.savedFolder = JSON.stringify(folder);
    this.options.onEvent?.({ type: 'resumed', sessionId: sid, lastSeq: lease.lastSeq, target: meta.targetDir });
    return manager.resume(sid);
  }

  /** saveFolder as the session runs: one at a time, each tick, its failures seen by `trouble`. */
  private sync(entry: Running): Promise<void> {
    if (entry.syncing || !entry.runtime || !entry.dir || entry.lost || entry.parking)
      return entry.syncing ?? Promise.resolve();
    entry.syncing = this.saveFolder(entry, entry.dir)
      .catch((error) => this.trouble(entry, error))
      .finally(() => {
        entry.syncing = null;
      });
    return entry.syncing;
  }

  /**
   * Save the session's folder, what another runner resumes from, with its refs pushed after it was read: the refs
   * are then at least as new as the state its snapshot reflects (a worker it calls completed has its commit on the
   * remote), since branches only move on. The folder is saved once the log in the store holds what its snapshot
   * reflects (events are appended before it is written), and only when it changed.
   */
  private async saveFolder(entry: Running, dir: string): Promise<void> {
    const folder = captureFolder(this.options.manager.workspace, entry.lease.sessionId);
    entry.pushedRefs = await pushSessionRefs(dir, entry.lease.sessionId, entry.pushedRefs);
    const text = JSON.stringify(folder);
    if (text === entry.savedFolder) return;
    if (entry.replicated < folder.seq) {
      void this.replicate(entry);
      await new Promise<void>((done) => entry.waiting.push({ seq: folder.seq, done }));
    }
    await this.options.store.saveFolder(entry.lease, folder, folder.seq);
    entry.savedFolder = text;
  }

  /**
   * Give the session back to the queue until `until`: its log all in the store, the session let go of here (its last
   * snapshot written; nothing of it runs), its refs and folder saved, then its row deferred. Whichever runner claims
   * it then resumes it (takeOver), and its workers are relaunched when their time comes.
   */
  private async park(entry: Running, until: Date): Promise<void> {
    const runtime = entry.runtime;
    if (!runtime || entry.parking || !entry.dir) return;
    entry.parking = true;
    await this.replicate(entry);
    // Something happened meanwhile (a person, a timer): it stays here.
    if (entry.lost || entry.replicated < runtime.lastSeq || !deferUntil(runtime.view(), Date.now(), 0)) {
      entry.parking = false;
      return;
    }
    runtime.detach();
    const dir = entry.dir;
    await this.untilDone(entry, async () => {
      await this.saveFolder(entry, dir);
      await this.options.store.defer(entry.lease, until);
    });
    if (!entry.lost)
      this.options.onEvent?.({ type: 'deferred', sessionId: entry.lease.sessionId, until: until.toISOString() });
    entry.unpark();
  }

  /** Those who wait for a seq the store's log has reached now (all of them once the session is lost). */
  private wake(entry: Running): void {
    const ready = entry.waiting.filter((w) => entry.lost || w.seq <= entry.replicated);
    entry.waiting = entry.waiting.filter((w) => !ready.includes(w));
    for (const w of ready) w.done();
  }

  /** Run `step` until it succeeds or the session is lost, a tick apart. */
  private async untilDone(entry: Running, step: () => Promise<void>): Promise<void> {
    for (;;) {
      if (entry.lost) return;
      try {
        await step();
        return;
      } catch (error) {
        this.trouble(entry, error, true);
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
        while (runtime && !entry.lost && !runtime.detached && entry.replicated < runtime.lastSeq) {
          const lines = runtime.readLinesAfter(entry.replicated, REPLICATE_BATCH);
          if (lines.length === 0) break;
          await this.options.store.append(entry.lease, lines);
          entry.replicated = (lines.at(-1) as { seq: number }).seq;
          this.wake(entry);
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
  private trouble(entry: Running, error: unknown, endStep = false): void {
    // A session being marked ended: a renewal, a sync or a replication its end outran fails, and that is no loss;
    // the end step's own write decides (it fails too if the lease is really gone).
    if (entry.finishing && !endStep) return;
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
    const what = (error as Error).message;
    const message = what.startsWith('pushing')
      ? `${what}; trying again`
      : `the fleet database failed (${what}); trying again until the lease runs out`;
    this.options.onEvent?.({ type: 'error', sessionId: entry.lease.sessionId, message });
  }

  /** A lost lease stops the session's agents at once; any other failure is reported and stops it too. */
  private fail(entry: Running, error: unknown): void {
    if (entry.lost) return;
    entry.lost = true;
    this.wake(entry);
    const sessionId = entry.lease.sessionId;
    if (error instanceof LeaseLostError) this.options.onEvent?.({ type: 'lost', sessionId });
    else this.options.onEvent?.({ type: 'error', sessionId, message: (error as Error).message });
    this.stopSession(entry, 'the runner lost its lease');
  }
}
