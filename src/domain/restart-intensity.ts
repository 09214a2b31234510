/**
 * Restart intensity, as in Erlang/OTP supervisors: a child restarted more than `maxRestarts` times within
 * `windowSec` is not restarted again; the supervisor gives up on it (and raises a blocker) instead of
 * looping. Pure over the list of past restart times.
 */

/** Restart times (ms) still inside the window ending at `now`. */
export function restartsInWindow(times: readonly number[], now: number, windowSec: number): number[] {
  const since = now - windowSec * 1000;
  return times.filter((t) => t > since && t <= now);
}

/** True when one more restart now would exceed the intensity. */
export function exceedsIntensity(
  times: readonly number[],
  now: number,
  maxRestarts: number,
  windowSec: number,
): boolean {
  return restartsInWindow(times, now, windowSec).length + 1 > maxRestarts;
}
