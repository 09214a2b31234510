/** The `safety` event every part of the safety layer records (policy, budgets, resources, refusals, launches). */
import type { NewEvent } from '../domain/events.js';
import type { SafetyAction, SafetyRuleId } from '../domain/spec.js';

const SUBJECT_LIMIT = 500;

/** A `safety` event; its source is the worker, else the session. */
export function safetyEvent(
  rule: SafetyRuleId | 'sandbox' | 'launch-validation' | 'network-refused' | 'budget-warning',
  subject: string,
  action: SafetyAction | 'refuse' | 'warn',
  detail: string,
  workerId?: string,
  sessionId = 'session',
): NewEvent {
  return {
    type: 'safety',
    source: { kind: 'safety', id: workerId ?? sessionId },
    ...(workerId ? { workerId } : {}),
    rule,
    subject: subject.length > SUBJECT_LIMIT ? `${subject.slice(0, SUBJECT_LIMIT - 1)}…` : subject,
    action,
    detail,
  };
}
