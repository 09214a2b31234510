/**
 * A timer that fires at an absolute time. Machines use it instead of `after` delays because XState does not
 * persist scheduled events: a restored fromCallback actor runs again with the same input, so a deadline kept
 * in the input (not a duration) survives a restart of the orchestrator.
 */
import { fromCallback } from 'xstate';

/** setTimeout cannot wait longer than this (it would fire at once); longer waits are chained. */
const MAX_TIMEOUT_MS = 0x7fffffff;

export const deadlineTimer = fromCallback<{ type: 'noop' }, { dueAt: number }>(({ input, sendBack }) => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    const delay = input.dueAt - Date.now();
    if (delay > MAX_TIMEOUT_MS) timer = setTimeout(arm, MAX_TIMEOUT_MS);
    else timer = setTimeout(() => sendBack({ type: 'TIMER.DONE' }), Math.max(0, delay));
  };
  arm();
  return () => clearTimeout(timer);
});
