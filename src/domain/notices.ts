/**
 * What a person is told, derived from a session's events: one notice when a blocker needs them (`needs-input`),
 * one when the session ends (`done`), one when a budget is nearly spent (`budget`). Never one per event: each
 * notice has a key, and a key is told once (a blocker by its id, the end by the session, a budget by its limit).
 * Pure: the notifier (src/notify/notifier.ts) sends them, and the dashboard (web/notifications.ts) shows them.
 */
import type { NotificationKind, OrchestratorEvent } from './events.js';

export interface Notice {
  key: string;
  kind: NotificationKind;
  sessionId: string;
  /** A short headline (a desktop notification's title). */
  title: string;
  /** The whole message, one paragraph: what happened and what to run. */
  text: string;
  workerId?: string;
  blockerId?: string;
  /** The exact command that answers it. */
  command?: string;
  /** `done`: how the session ended. */
  outcome?: string;
}

export interface NoticeContext {
  /** The command that answers a blocker, filled in (src/cli/summary.ts resolveCommand). */
  answerCommand(blocker: { id: string; options: readonly string[] }): string;
  /** How the session ended, once it has: completed, partial, stopped, escalated; and why, when it says. */
  outcome(): { outcome: string; reason: string | null } | null;
}

const firstLine = (text: string) => text.split('\n')[0]?.trim() ?? '';

/** The notice an event calls for, or null. */
export function noticeFor(event: OrchestratorEvent, context: NoticeContext): Notice | null {
  const sessionId = event.sessionId;
  if (event.type === 'blocker' && !event.resolution && event.options.length > 0) {
    const who = event.workerId ?? (event.targets?.length ? event.targets.join(', ') : 'the session');
    const command = context.answerCommand({ id: event.blockerId, options: event.options });
    return {
      key: `needs-input:${event.blockerId}`,
      kind: 'needs-input',
      sessionId,
      title: `${who} needs input (${event.kind})`,
      text:
        `Session ${sessionId}: ${who} needs input. ${event.kind}: ` +
        `${firstLine(event.message)} Answer with: ${command}`,
      ...(event.workerId ? { workerId: event.workerId } : {}),
      blockerId: event.blockerId,
      command,
    };
  }
  if (event.type === 'state' && event.machine === 'session' && (event.to === 'completed' || event.to === 'stopped')) {
    const end = context.outcome() ?? { outcome: event.to, reason: null };
    const command = `orchestrate status ${sessionId}`;
    return {
      key: `done:${sessionId}`,
      kind: 'done',
      sessionId,
      title: `session ${end.outcome}`,
      text:
        `Session ${sessionId} ended: ${end.outcome}` +
        `${end.reason ? ` (${firstLine(end.reason)})` : ''}. See: ${command}`,
      command,
      outcome: end.outcome,
    };
  }
  if (event.type === 'safety' && event.rule === 'budget-warning') {
    return {
      key: `budget:${event.subject}`,
      kind: 'budget',
      sessionId,
      title: 'budget at 80%',
      text: `Session ${sessionId}: ${event.detail}`,
      ...(event.workerId ? { workerId: event.workerId } : {}),
    };
  }
  return null;
}

/**
 * A session that ends waiting for a person, with nobody left to answer here (`orchestrate run --no-server`):
 * `done`, needing a person.
 */
export function endedWaiting(sessionId: string, openBlockers: number): Notice {
  const command = `orchestrate status ${sessionId}`;
  return {
    key: `done:${sessionId}`,
    kind: 'done',
    sessionId,
    title: 'session waits for a person',
    text:
      `Session ${sessionId} ended needing a person: ${openBlockers} open ` +
      `${openBlockers === 1 ? 'blocker' : 'blockers'}. See: ${command}`,
    command,
    outcome: 'waiting',
  };
}
