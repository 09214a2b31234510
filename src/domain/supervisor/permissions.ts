/**
 * Permission requests a person is asked about: an interactive agent waits before a tool runs, the permission rules
 * said `ask`, and the session opens a PERMISSION_REQUEST blocker that names exactly what it would run or write.
 * The answer goes back to the worker (which hands it to its agent): allow, deny, or allow-always, which also adds
 * the request's rule to the session's own allow list for the rest of the session.
 */
import { describeRequest, ruleFor } from '../permission-rules.js';
import type { BlockerRecord } from './context.js';
import { blockerEvent, raiseBlocker } from './blockers.js';
import type { Step } from './step.js';

/** What a worker reports when its agent asks and a person must answer. */
export interface PermissionAsk {
  workerId: string;
  attempt: number;
  requestId: string;
  request: { tool: string; command?: string; paths?: string[]; url?: string };
  /** Not a question: it needs nobody any more (decided before a restart, or withdrawn by the agent). */
  settled?: 'allow' | 'deny' | 'allow-always' | 'withdrawn';
  rule?: string;
}

/** Open a blocker for the request, once: an orchestrator that came back asks again what its log left open. */
export function permissionAsked(s: Step, event: PermissionAsk): void {
  const worker = s.worker(event.workerId);
  if (!worker) return;
  if (event.settled) {
    if (event.settled === 'allow-always' && event.rule && !s.context.permissionRules?.includes(event.rule))
      s.set({ permissionRules: [...(s.context.permissionRules ?? []), event.rule] });
    permissionSettled(s, { ...event, choice: event.settled });
    return;
  }
  const same = s.context.blockers.find(
    (b) =>
      b.kind === 'PERMISSION_REQUEST' &&
      b.workerId === event.workerId &&
      b.permission?.requestId === event.requestId &&
      b.permission.attempt === event.attempt,
  );
  if (same) return;
  const request = { ...event.request, agent: worker.agent, workerId: worker.id };
  const rule = ruleFor(request);
  raiseBlocker(s, {
    kind: 'PERMISSION_REQUEST',
    workerId: event.workerId,
    message: `${event.workerId} (${worker.agent}) asks to run ${describeRequest(request)}`,
    action:
      `allow it once, deny it (the agent is told and carries on), ` +
      `or allow-always: ${rule} for the rest of the session`,
    options: ['allow', 'deny', 'allow-always', 'skip', 'stop'],
    permission: { requestId: event.requestId, attempt: event.attempt, ...event.request, rule },
  });
}

/** A person answered a PERMISSION_REQUEST (the blocker is already closed and recorded by the caller). */
export function answerPermission(s: Step, blocker: BlockerRecord, choice: string, by?: string): void {
  const permission = blocker.permission;
  if (!permission || !blocker.workerId) return;
  if (choice !== 'allow' && choice !== 'deny' && choice !== 'allow-always') return;
  if (choice === 'allow-always' && !s.context.permissionRules?.includes(permission.rule))
    s.set({ permissionRules: [...(s.context.permissionRules ?? []), permission.rule] });
  s.sendToWorker(blocker.workerId, {
    type: 'PERMISSION.ANSWER',
    attempt: permission.attempt,
    requestId: permission.requestId,
    decision: choice === 'deny' ? 'deny' : 'allow',
    blockerId: blocker.id,
    ...(choice === 'allow-always' ? { rule: permission.rule } : {}),
    ...(by ? { by } : {}),
  });
}

/**
 * The request was settled without the person (its attempt ended, the agent took it back): its blocker closes, so
 * nobody answers what no agent waits for.
 */
export function permissionSettled(
  s: Step,
  event: {
    workerId: string;
    attempt?: number;
    requestId?: string;
    choice?: 'allow' | 'deny' | 'allow-always' | 'withdrawn';
  },
): void {
  const choice = event.choice === undefined || event.choice === 'withdrawn' ? 'deny' : event.choice;
  const by =
    event.choice === undefined
      ? 'the agent ended'
      : event.choice === 'withdrawn'
        ? 'the agent withdrew it'
        : 'recorded before a restart';
  for (const b of s.context.blockers) {
    if (!b.open || b.kind !== 'PERMISSION_REQUEST' || b.workerId !== event.workerId) continue;
    if (event.attempt !== undefined && b.permission?.attempt !== event.attempt) continue;
    if (event.requestId !== undefined && b.permission?.requestId !== event.requestId) continue;
    const closed: BlockerRecord = { ...b, open: false, resolution: { choice, by } };
    s.set({ blockers: s.context.blockers.map((x) => (x.id === b.id ? closed : x)) });
    s.record(blockerEvent(s.context, closed));
  }
}
