/** Blockers: what only a person can answer, kept by the session and recorded as `blocker` events. */
import type { NewEvent } from '../events.js';
import { type BlockerRecord, nextBlockerId, type SessionContext } from './context.js';
import type { Step } from './step.js';

export function raiseBlocker(s: Step, blocker: Omit<BlockerRecord, 'id' | 'open'>): string {
  const id = nextBlockerId(s.context);
  const record: BlockerRecord = { ...blocker, id, open: true };
  s.set({ blockers: [...s.context.blockers, record] });
  s.record(blockerEvent(s.context, record));
  if (blocker.workerId) s.sendToWorker(blocker.workerId, { type: 'ESCALATED', blockerId: id });
  return id;
}

export function blockerEvent(context: Pick<SessionContext, 'sessionId'>, record: BlockerRecord): NewEvent {
  return {
    type: 'blocker',
    source: { kind: 'supervisor', id: context.sessionId },
    blockerId: record.id,
    kind: record.kind,
    ...(record.workerId ? { workerId: record.workerId } : {}),
    ...(record.roundId ? { roundId: record.roundId } : {}),
    ...(record.targets ? { targets: record.targets } : {}),
    ...(record.conflict ? { conflict: record.conflict } : {}),
    ...(record.permission ? { permission: record.permission } : {}),
    message: record.message,
    action: record.action,
    options: record.options,
    ...(record.resolution ? { resolution: record.resolution } : {}),
  };
}
