/** At most one call per interval (src/actors/throttle.ts), on a fake clock: the first at once, the rest folded. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Throttle } from '../../src/actors/throttle.js';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('Throttle', () => {
  it('calls at once, folds what is asked within the interval into one call at its end', () => {
    const calls: number[] = [];
    const throttle = new Throttle(50, () => calls.push(performance.now()));
    const t0 = performance.now();
    throttle.request();
    expect(calls).toEqual([t0]);
    vi.advanceTimersByTime(10);
    throttle.request();
    throttle.request();
    vi.advanceTimersByTime(20);
    throttle.request();
    expect(calls).toHaveLength(1);
    vi.advanceTimersByTime(20);
    expect(calls).toEqual([t0, t0 + 50]);
    // Quiet for longer than the interval: the next one goes at once again.
    vi.advanceTimersByTime(200);
    throttle.request();
    expect(calls).toEqual([t0, t0 + 50, t0 + 250]);
  });

  it('cancel() drops the call that was waiting; later requests work as before', () => {
    const calls: number[] = [];
    const throttle = new Throttle(50, () => calls.push(performance.now()));
    throttle.request();
    throttle.request();
    throttle.cancel();
    vi.advanceTimersByTime(100);
    expect(calls).toHaveLength(1);
    throttle.request();
    expect(calls).toHaveLength(2);
  });
});
