/**
 * What a session's log says of its interactive agents' permission requests, and the decision when no safety layer
 * gives one (src/safety/permission-policy.ts is the real one: shell parsing, built-in rules).
 */
import type { AgentProcessInput } from '../actors/agent-process.js';
import type { PermissionRecord } from '../actors/interactive-link.js';
import type { AskedPermission } from '../agents/conversation.js';
import type { OrchestratorEvent } from '../domain/events.js';
import { type Decided, decidePermission } from '../domain/permission-rules.js';
import type { SessionSpec } from '../domain/spec.js';

/**
 * Per request of one worker's attempt: the decision its log records (a `permission` event, or a person's answer to
 * its PERMISSION_REQUEST blocker), or that a person was asked and has not answered.
 */
export function permissionHistoryOf(
  events: readonly OrchestratorEvent[],
  workerId: string,
  attempt: number,
): Map<string, PermissionRecord> {
  const history = new Map<string, PermissionRecord>();
  for (const e of events) {
    if (e.type === 'permission' && e.workerId === workerId && e.attempt === attempt) {
      if (e.decision === 'ask') history.set(e.requestId, { ...history.get(e.requestId), asked: true });
      else
        history.set(e.requestId, {
          decision: e.decision,
          recorded: true,
          ...(e.reason ? { reason: e.reason } : {}),
          // A person's allow-always names the rule it added.
          ...(e.by === 'person' && e.rule ? { rule: e.rule } : {}),
        });
    } else if (
      e.type === 'blocker' &&
      e.kind === 'PERMISSION_REQUEST' &&
      e.workerId === workerId &&
      e.permission?.attempt === attempt &&
      e.resolution &&
      !history.get(e.permission.requestId)?.decision
    ) {
      const choice = e.resolution.choice;
      const rule = choice === 'allow-always' ? { rule: e.permission.rule } : {};
      if (choice === 'allow' || choice === 'allow-always')
        history.set(e.permission.requestId, { decision: 'allow', ...rule });
      else if (choice === 'deny') history.set(e.permission.requestId, { decision: 'deny' });
    }
  }
  return history;
}

/** The spec's own rules and a person's allow-always ones, without a safety layer (tests, embedders). */
export function specDecision(
  spec: SessionSpec,
  added: readonly string[],
  input: AgentProcessInput,
  asked: AskedPermission,
): Decided {
  const rules = spec.permissions ?? { allow: [], deny: [], ask: [], default: 'allow' as const };
  const { requestId: _, ...request } = asked;
  const dir = input.launch.targetDir;
  return decidePermission(
    { ...rules, always: added },
    { ...request, agent: input.agent, workerId: input.workerId },
    { cwd: dir, root: dir, home: process.env.HOME ?? '/' },
  );
}
