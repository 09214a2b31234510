/** The session's result (a session with checkouts): what the `integrate` actor reports, recorded and acted on. */
import type { IntegrationStep } from '../isolation.js';
import { raiseBlocker } from './blockers.js';
import type { Step } from './step.js';

/** What the `integrate` actor reports (src/runtime: git in the session's integration checkout). */
export type IntegrationEvent =
  | {
      type: 'INTEGRATION.DONE';
      head: string;
      steps: IntegrationStep[];
      change: { files: number; additions: number; deletions: number };
    }
  | { type: 'INTEGRATION.CONFLICT'; worker: string; files: string[]; dir: string; message: string }
  | { type: 'INTEGRATION.FAILED'; message: string };

export function onIntegrated(s: Step, event: Extract<IntegrationEvent, { type: 'INTEGRATION.DONE' }>): void {
  s.set({ integration: { ...s.context.integration, status: 'done', head: event.head, change: event.change } });
  const how = event.steps
    .filter((step) => step.how !== 'contained')
    .map((step) => `${step.worker} ${step.how === 'merge' ? 'merged' : 'fast-forwarded'}`);
  const { files, additions, deletions } = event.change;
  const sessionId = s.context.sessionId;
  s.record({
    type: 'workspace',
    source: { kind: 'supervisor', id: sessionId },
    action: 'integrate',
    branch: `orch/${sessionId}/_result`,
    commit: event.head,
    change: event.change,
    detail:
      `the result is orch/${sessionId}/_result: ${files} ${files === 1 ? 'file' : 'files'}, ` +
      `+${additions} -${deletions}${how.length ? ` (${how.join(', ')})` : ''}`,
  });
}

export function onIntegrationConflict(
  s: Step,
  event: Extract<IntegrationEvent, { type: 'INTEGRATION.CONFLICT' }>,
): void {
  s.set({ integration: { ...s.context.integration, status: 'blocked' } });
  s.record({
    type: 'workspace',
    source: { kind: 'supervisor', id: s.context.sessionId },
    action: 'conflict',
    files: event.files,
    detail: event.message,
  });
  raiseBlocker(s, {
    kind: 'MERGE_CONFLICT',
    targets: [event.worker],
    conflict: { files: event.files, dir: event.dir, sources: ['_result', event.worker] },
    message: event.message,
    action:
      `Resolve the conflicts in ${event.dir} (edit the files, \`git add\` them), ` +
      `then answer retry; or answer agent to have an agent resolve them ` +
      `(reviewed like any worker), skip to leave ${event.worker} out of the result, or stop.`,
    options: ['retry', 'agent', 'skip', 'stop'],
  });
}

export function onIntegrationFailed(s: Step, event: Extract<IntegrationEvent, { type: 'INTEGRATION.FAILED' }>): void {
  s.set({ integration: { ...s.context.integration, status: 'blocked' } });
  raiseBlocker(s, {
    kind: 'INTEGRATION_FAILED',
    message: `the workers' branches could not be integrated: ${event.message}`,
    action: 'Fix the cause (the message says what git refused), then answer retry; or stop.',
    options: ['retry', 'stop'],
  });
}
