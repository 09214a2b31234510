/**
 * The run clock of one attempt: the stall timer (no progress for `stallTimeoutMs`), the deadline (the worker's
 * active time left) and the active time itself. Paused time does not count: a pause stops all three and a resume
 * starts them again, the deadline with what is left of it. Nor does time an interactive agent waits for a person's
 * answer to a permission: each open question holds the clock, as a pause does. The clock does not end the run: it
 * says which limit was overrun and the run ends it.
 */

export type Overrun = 'stalled' | 'timed_out';

export interface ClockLimits {
  stallTimeoutMs: number;
  /** Active time left for the worker; null = unbounded. */
  timeLeftMs: number | null;
}

export class RunClock {
  private stallTimer: NodeJS.Timeout | null = null;
  private deadlineTimer: NodeJS.Timeout | null = null;
  private activeSince: number | null = null;
  private active = 0;
  private isPaused = false;
  /** Questions to a person the agent waits on. */
  private holds = 0;
  private stopped = false;

  constructor(
    private readonly limits: ClockLimits,
    private readonly overrun: (reason: Overrun) => void,
  ) {}

  /** Active time so far (the time it ran, paused time left out). */
  get activeMs(): number {
    return this.active;
  }

  get paused(): boolean {
    return this.isPaused;
  }

  /** The agent is running: count active time and arm both timers. */
  start(): void {
    if (this.counting) this.run();
  }

  /**
   * Found paused (a re-attached group left SIGSTOPped): stand still until `resume`, which starts the clock.
   */
  startPaused(): void {
    this.isPaused = true;
  }

  pause(): void {
    if (this.counting) this.standStill();
    this.isPaused = true;
  }

  resume(): void {
    this.isPaused = false;
    if (this.counting) this.run();
  }

  /** The agent waits for a person: the clock stands still until as many `release`s. */
  hold(): void {
    if (this.counting) this.standStill();
    this.holds++;
  }

  release(): void {
    if (this.holds === 0) return;
    this.holds--;
    if (this.counting) this.run();
  }

  /** The agent made progress: the stall timer starts again (nothing while paused, held or stopped). */
  progress(): void {
    if (!this.counting) return;
    if (this.stallTimer) {
      this.stallTimer.refresh();
      return;
    }
    this.stallTimer = setTimeout(() => this.overrun('stalled'), this.limits.stallTimeoutMs);
    this.stallTimer.unref();
  }

  /** The run is being ended (a kill under way): neither timer may fire meanwhile; the active time still counts. */
  disarm(): void {
    if (this.stallTimer) clearTimeout(this.stallTimer);
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.stallTimer = this.deadlineTimer = null;
  }

  /** The run ended (or the actor let go): the active time is final and no timer fires again. */
  stop(): void {
    this.stopped = true;
    this.stopCounting();
    this.disarm();
  }

  private get counting(): boolean {
    return !this.isPaused && this.holds === 0 && !this.stopped;
  }

  private standStill(): void {
    this.stopCounting();
    this.disarm();
  }

  private run(): void {
    this.activeSince = Date.now();
    this.progress();
    if (this.limits.timeLeftMs !== null) {
      this.deadlineTimer = setTimeout(
        () => this.overrun('timed_out'),
        Math.max(0, this.limits.timeLeftMs - this.active),
      );
      this.deadlineTimer.unref();
    }
  }

  private stopCounting(): void {
    if (this.activeSince !== null) this.active += Date.now() - this.activeSince;
    this.activeSince = null;
  }
}
