/**
 * What a restored session does not log again: events the log holds beyond its snapshot, which the restored actor
 * records once more as it repeats a step. A recovery decision is one per worker, attempt and action; a person asked
 * about a permission is one question per worker, attempt and request (and one answer).
 */
import { describe, expect, it } from 'vitest';
import type { NewEvent, OrchestratorEvent } from '../../src/domain/events.js';
import { StateLog } from '../../src/runtime/state-log.js';

const asked = (requestId: string, attempt = 1, resolution?: { choice: 'allow' }): NewEvent => ({
  type: 'blocker',
  source: { kind: 'supervisor', id: 's' },
  blockerId: 'b1',
  kind: 'PERMISSION_REQUEST',
  workerId: 'impl',
  message: 'impl (claude) asks to run Bash: npm publish',
  action: 'allow it once, deny it, or allow-always',
  options: ['allow', 'deny', 'allow-always', 'skip', 'stop'],
  permission: { requestId, attempt, tool: 'Bash', command: 'npm publish', rule: 'Bash(npm publish)' },
  ...(resolution ? { resolution } : {}),
});
const logged = (event: NewEvent, seq: number) => ({ ...event, seq, ts: 't', sessionId: 's' }) as OrchestratorEvent;

describe('StateLog.isReplay', () => {
  it('a PERMISSION_REQUEST the log holds past the snapshot is not asked again; a new one, or its answer, is', () => {
    const log = new StateLog(() => undefined);
    log.seed('s', null, [logged(asked('r1'), 7)]);
    expect(log.isReplay(asked('r1'))).toBe(true);
    // Once: a second raise of the same question would be new.
    expect(log.isReplay(asked('r1'))).toBe(false);
    expect(log.isReplay(asked('r2'))).toBe(false);
    expect(log.isReplay(asked('r1', 2))).toBe(false);
    expect(log.isReplay(asked('r1', 1, { choice: 'allow' }))).toBe(false);
  });

  it('other blockers carry no key and are always recorded', () => {
    const log = new StateLog(() => undefined);
    const auth: NewEvent = {
      type: 'blocker',
      source: { kind: 'supervisor', id: 's' },
      blockerId: 'b1',
      kind: 'AUTH_REQUIRED',
      workerId: 'impl',
      message: 'not logged in',
      action: 'log in',
      options: ['retry', 'skip', 'stop'],
    };
    log.seed('s', null, [logged(auth, 3)]);
    expect(log.isReplay(auth)).toBe(false);
  });
});
