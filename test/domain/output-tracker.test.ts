/**
 * What a worker's output tracker keeps for failure classification (src/domain/output-facts.ts): of the run's last
 * 200 payloads, the results, errors and unparsed lines, in order, and nothing else.
 */
import { describe, expect, it } from 'vitest';
import type { AgentPayload } from '../../src/domain/events.js';
import { OutputTracker } from '../../src/domain/output-facts.js';

const message = (text: string): AgentPayload => ({ kind: 'message', role: 'assistant', text });
const error = (message: string): AgentPayload => ({ kind: 'error', message });

describe('OutputTracker.recent', () => {
  it('holds the evidence among the last 200 payloads, in order, and no message', () => {
    const tracker = new OutputTracker();
    tracker.add([error('long ago')]);
    for (let i = 0; i < 100; i++) tracker.add([message(`m${i}`)]);
    tracker.add([
      error('within the window'),
      { kind: 'malformed', line: 'oops', reason: 'not JSON', bytes: 4, truncated: false },
    ]);
    for (let i = 0; i < 150; i++) tracker.add([message(`n${i}`)]);
    tracker.add([{ kind: 'result', ok: false, text: 'failed' }]);
    // 254 payloads: the first error is 253 back, outside the last 200.
    expect(tracker.recent()).toEqual([
      error('within the window'),
      { kind: 'malformed', line: 'oops', reason: 'not JSON', bytes: 4, truncated: false },
      { kind: 'result', ok: false, text: 'failed' },
    ]);
    expect(tracker.lineCount).toBe(254);
  });

  it('a run of errors longer than the window keeps the last 200', () => {
    const tracker = new OutputTracker();
    for (let i = 0; i < 1000; i++) tracker.add([error(`e${i}`)]);
    const recent = tracker.recent();
    expect(recent).toHaveLength(200);
    expect(recent[0]).toEqual(error('e800'));
    expect(recent.at(-1)).toEqual(error('e999'));
  });
});
