/**
 * The `state` events of a session: one each time an actor (the session, a worker, a round) changes state,
 * derived from XState's inspection. After a restore, what is known already is not logged again: the states
 * of the snapshot, and what the log recorded beyond it (a crash between a state event and its snapshot leaves
 * the snapshot one change behind; the restored actor then makes that change again, and it is logged once).
 * Machine-recorded events the log holds beyond the snapshot (a recovery decision) are recorded once too.
 */
import type { NewEvent, OrchestratorEvent } from '../domain/events.js';
import { stateValueString } from '../domain/session-view.js';

export type ActorMachine = 'session' | 'worker' | 'review';

export class StateLog {
  private readonly lastValues = new Map<string, string>();
  /** State values the log holds beyond the restored snapshot, per actor. */
  private readonly loggedAhead = new Map<string, string>();
  /** Machine-recorded events the log holds beyond the restored snapshot, by replayKey: not recorded again. */
  private readonly eventsAhead = new Map<string, number>();

  constructor(private readonly record: (events: NewEvent[]) => void) {}

  /**
   * Log a `state` event when an actor's state differs from the last one known; true when it changed (also
   * when the change was logged already, before a restore).
   */
  change(machine: ActorMachine, id: string, value: string, cause: string, progress?: number): boolean {
    const key = `${machine}:${id}`;
    let previous = this.lastValues.get(key) ?? null;
    if (previous === value) return false;
    this.lastValues.set(key, value);
    // The first change since a restore whose snapshot was behind the log: already logged when it is the same
    // one; else it goes on from what the log says.
    const ahead = this.loggedAhead.get(key);
    this.loggedAhead.delete(key);
    if (ahead !== undefined) previous = ahead;
    if (ahead !== value) {
      this.record([
        {
          type: 'state',
          source: { kind: machine, id },
          machine,
          id,
          from: previous,
          to: value,
          cause,
          ...(progress !== undefined ? { progress } : {}),
        },
      ]);
    }
    return true;
  }

  /** True for an event the log holds already, which a restored actor records again as it repeats its step. */
  isReplay(event: NewEvent): boolean {
    const key = replayKey(event);
    const logged = key ? (this.eventsAhead.get(key) ?? 0) : 0;
    if (!key || logged === 0) return false;
    this.eventsAhead.set(key, logged - 1);
    return true;
  }

  /** What a restore knows: the states of the snapshot (null when there is none) and the log's events after it. */
  seed(sessionId: string, persisted: unknown | null, after: Iterable<OrchestratorEvent>): void {
    const walk = (
      node: { value?: unknown; machine?: unknown; children?: Record<string, { snapshot: unknown; src?: unknown }> },
      machineId: string,
      id: string,
    ) => {
      if (node.value !== undefined) this.lastValues.set(`${machineId}:${id}`, stateValueToString(node.value));
      for (const [childId, child] of Object.entries(node.children ?? {})) {
        const src = String(child.src ?? '');
        const childMachine = src === 'worker' ? 'worker' : src === 'reviewRound' ? 'review' : null;
        if (childMachine) walk(child.snapshot as never, childMachine, childId);
      }
    };
    if (persisted) walk(persisted as never, 'session', sessionId);
    for (const event of after) {
      if (event.type === 'state') this.loggedAhead.set(`${event.machine}:${event.id}`, event.to);
      const key = replayKey(event);
      if (key) this.eventsAhead.set(key, (this.eventsAhead.get(key) ?? 0) + 1);
    }
  }
}

/** A state value as text (`running.active`): the domain's one spelling, which the log and the view share. */
export const stateValueToString = stateValueString;

/**
 * What makes a machine-recorded event the same one when a restored actor repeats the step that recorded it: a
 * recovery decision is one per worker, attempt and action. null for events that are not repeated that way.
 */
function replayKey(event: NewEvent | OrchestratorEvent): string | null {
  if (event.type === 'recovery') return `recovery|${event.workerId}|${event.attempt}|${event.action}`;
  // A person asked about one request of one attempt: the same question however often the restored session asks it.
  if (event.type === 'blocker' && event.kind === 'PERMISSION_REQUEST' && event.permission)
    return (
      `permission|${event.workerId}|${event.permission.attempt}|` +
      `${event.permission.requestId}|${event.resolution?.choice ?? 'open'}`
    );
  return null;
}
