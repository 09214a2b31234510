/** Waiting on a live session: until it is final, or (with `orWaiting`) until only a person can move it. */
import type { SessionEndState } from './session-runtime.js';

export interface Waitable {
  readonly error: Error | null;
  endState(): SessionEndState | null;
  onChange(listener: () => void): () => void;
}

export function waitForEnd(session: Waitable, orWaiting: boolean): Promise<SessionEndState> {
  return new Promise((resolve, reject) => {
    // Agents, watchers and timers are unref'd on purpose (they must not keep a detached orchestrator alive);
    // whoever waits for the session keeps the process alive instead.
    const keepAlive = setInterval(() => undefined, 1 << 30);
    const finish = () => {
      clearInterval(keepAlive);
      off();
    };
    const check = () => {
      if (session.error) {
        finish();
        reject(session.error);
        return;
      }
      const end = session.endState();
      if (end && (end !== 'waiting' || orWaiting)) {
        finish();
        resolve(end);
      }
    };
    const off = session.onChange(check);
    check();
  });
}
