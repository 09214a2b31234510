/**
 * At most one call of `fn` per `intervalMs`: the first at once, those asked for within the interval folded into one
 * at its end. How a worker hears of its agent's output facts: an agent printing a thousand lines a second would
 * otherwise put every line through the worker's and the session's machines, and what each transition allocates
 * was most of the orchestrator's garbage (and so of its GC pauses, the tail of its latency).
 */
export class Throttle {
  private lastAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly intervalMs: number,
    private readonly fn: () => void,
  ) {}

  request(): void {
    if (this.timer) return;
    const wait = this.lastAt + this.intervalMs - performance.now();
    if (wait <= 0) {
      this.run();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      this.run();
    }, wait);
    this.timer.unref();
  }

  /** A call asked for and not made yet is not made. */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private run(): void {
    this.lastAt = performance.now();
    this.fn();
  }
}
