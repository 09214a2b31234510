/**
 * The run clock of an attempt (src/actors/run-clock.ts) on fake timers: the stall timer restarts on progress,
 * the deadline counts active time only, paused time counts for neither, and a stopped clock never fires.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RunClock, type Overrun } from '../../src/actors/run-clock.js';

let overruns: Overrun[];

beforeEach(() => {
  vi.useFakeTimers();
  overruns = [];
});

afterEach(() => {
  vi.useRealTimers();
});

function clock(stallTimeoutMs: number, timeLeftMs: number | null): RunClock {
  return new RunClock({ stallTimeoutMs, timeLeftMs }, (reason) => overruns.push(reason));
}

describe('RunClock', () => {
  it('stalls after stallTimeoutMs without progress; progress starts the stall timer again', () => {
    const c = clock(1000, null);
    c.start();
    vi.advanceTimersByTime(900);
    c.progress();
    vi.advanceTimersByTime(900);
    expect(overruns).toEqual([]);
    vi.advanceTimersByTime(100);
    expect(overruns).toEqual(['stalled']);
  });

  it('the deadline counts active time only: a pause holds it, a resume arms what is left', () => {
    const c = clock(60_000, 1000);
    c.start();
    vi.advanceTimersByTime(600);
    c.pause();
    expect(c.paused).toBe(true);
    vi.advanceTimersByTime(10_000);
    expect(overruns).toEqual([]);
    expect(c.activeMs).toBe(600);
    c.resume();
    vi.advanceTimersByTime(399);
    expect(overruns).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(overruns).toEqual(['timed_out']);
  });

  it('found paused: nothing runs, progress included, until resume', () => {
    const c = clock(100, 100);
    c.startPaused();
    c.progress();
    vi.advanceTimersByTime(1000);
    expect(overruns).toEqual([]);
    expect(c.activeMs).toBe(0);
    c.resume();
    vi.advanceTimersByTime(100);
    expect(overruns.sort()).toEqual(['stalled', 'timed_out']);
  });

  it('disarmed (a kill under way), neither timer fires but active time counts; stopped, the time is final', () => {
    const c = clock(100, 100);
    c.start();
    c.disarm();
    vi.advanceTimersByTime(500);
    expect(overruns).toEqual([]);
    c.stop();
    expect(c.activeMs).toBe(500);
    c.progress();
    vi.advanceTimersByTime(500);
    expect(overruns).toEqual([]);
    expect(c.activeMs).toBe(500);
  });
});
