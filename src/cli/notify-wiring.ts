/**
 * `--notify URL|desktop` (repeatable) and a spec's `notify` list: each session this process runs (created or
 * resumed) gets a notifier (src/notify), whose notices are recorded in the session's log. At the end of the
 * command, what is still on its way gets a bounded wait.
 */
import { channelsFor, Notifier } from '../notify/notifier.js';
import type { SessionManager } from '../runtime/session-manager.js';
import { resolveCommand } from './summary.js';
import type { Style } from './style.js';

/** How long the end of a command waits for notices still on their way (a failing webhook's retries). */
const FLUSH_MS = 6000;

/** Give every session of `manager` its notifier; returns what to run at the end of the command. */
export function attachNotifications(
  manager: SessionManager,
  flags: string[] | undefined,
  style: Style,
  env: Record<string, string | undefined> = process.env,
  tuning: { retryDelaysMs?: readonly number[] } = {},
): () => Promise<void> {
  const notifiers: Notifier[] = [];
  const noted = new Set<string>();
  manager.onCreated((runtime) => {
    const { channels, notes } = channelsFor([...(flags ?? []), ...(runtime.spec.notify ?? [])], env);
    for (const note of notes.filter((n) => !noted.has(n))) {
      noted.add(note);
      process.stderr.write(`${style.yellow('note:')} ${note}\n`);
    }
    if (channels.length === 0) return;
    const sessionId = runtime.sessionId;
    const notifier = new Notifier(channels, { record: (events) => manager.recordEvents(sessionId, events), ...tuning });
    notifiers.push(notifier);
    const stop = notifier.watch({
      sessionId,
      subscribe: (listener) => runtime.subscribe(listener),
      context: {
        answerCommand: (blocker) => resolveCommand(sessionId, blocker, runtime.dir),
        outcome: () => {
          const end = runtime.endState();
          return end && end !== 'waiting' ? { outcome: end, reason: runtime.supervisor().stopReason } : null;
        },
      },
    });
    runtime.onDetach(() => {
      stop();
      // Let go of while it waits for a person (`run --no-server`): nobody here will answer.
      if (runtime.endState() === 'waiting')
        notifier.endedWaiting(sessionId, runtime.supervisor().blockers.filter((b) => b.open).length);
    });
  });
  return async () => {
    await Promise.all(notifiers.map((n) => n.flush(FLUSH_MS)));
  };
}
