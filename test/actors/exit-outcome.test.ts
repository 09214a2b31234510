/**
 * The PROCESS.EXITED event of an attempt (src/actors/exit-outcome.ts): a stop wins over the timers, the stall says
 * its last line, the wrapper's status file wins over what the run saw, and an agent gone without a status while
 * nobody watched is `crashed`. The real process paths are test/actors/agent-process.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exitedEvent, notRunEvent, type EndedRun } from '../../src/actors/exit-outcome.js';
import { getAdapter } from '../../src/agents/registry.js';
import { OutputTracker } from '../../src/domain/output-facts.js';
import type { AgentProcessInput } from '../../src/machines/agent-process-protocol.js';

const dir = mkdtempSync(join(tmpdir(), 'orch-exit-outcome-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const input = {
  sessionId: 's',
  workerId: 'w',
  attempt: 2,
  agent: 'claude',
  stallTimeoutMs: 90_000,
  timeLeftMs: null,
  killGraceMs: 1000,
} as unknown as AgentProcessInput;

function ended(over: Partial<EndedRun> = {}): EndedRun {
  const stderrPath = join(dir, 'stderr');
  writeFileSync(stderrPath, '');
  return {
    input,
    adapter: getAdapter('claude'),
    record: null,
    cause: null,
    seen: { exitCode: 0, signal: null },
    fromFile: null,
    finished: null,
    activeMs: 1234,
    tracker: new OutputTracker(),
    lastLine: '',
    stderrPath,
    now: () => new Date('2026-01-01T00:00:00Z'),
    ...over,
  };
}

describe('exitedEvent', () => {
  it('a clean exit is ok, with the active time and the status the wrapper wrote', () => {
    const event = exitedEvent(
      ended({ seen: { exitCode: null, signal: 'SIGTERM' }, fromFile: { exitCode: 0, signal: null } }),
    );
    expect(event).toMatchObject({ type: 'PROCESS.EXITED', attempt: 2, outcome: 'ok', exitCode: 0, signal: null });
    expect(event.failure).toBeNull();
    expect(event.activeMs).toBe(1234);
    expect(event).not.toHaveProperty('change');
  });

  it('stopped and timed out are outcomes, not failures; the stall names the last line', () => {
    const killed = { seen: { exitCode: null, signal: 'SIGTERM' } };
    expect(exitedEvent(ended({ ...killed, cause: 'stopped' }))).toMatchObject({ outcome: 'stopped', failure: null });
    expect(exitedEvent(ended({ ...killed, cause: 'timed_out' }))).toMatchObject({
      outcome: 'timed_out',
      failure: null,
    });
    const stalled = exitedEvent(ended({ ...killed, cause: 'stalled', lastLine: '{"type":"system"}' }));
    expect(stalled.outcome).toBe('failed');
    expect(stalled.failure).toEqual({
      kind: 'stalled',
      message: 'no progress for 90s, so its process group was killed; its last line: {"type":"system"}',
      exitCode: null,
      signal: 'SIGTERM',
    });
  });

  it('gone without a status while nobody watched is crashed; with a status file it is judged by it', () => {
    const lost = exitedEvent(ended({ seen: { exitCode: null, signal: null, lost: true } }));
    expect(lost.failure?.kind).toBe('crashed');
    expect(lost.failure?.message).toContain('ended while the orchestrator was not running');
    const found = exitedEvent(
      ended({ seen: { exitCode: null, signal: null, lost: true }, fromFile: { exitCode: 0, signal: null } }),
    );
    expect(found.outcome).toBe('ok');
  });

  it("exit 127 with no output is invalid_args; the checkout's failure counts when the exit says nothing", () => {
    writeFileSync(join(dir, 'stderr127'), 'sh: claude: not found\n');
    const missing = exitedEvent(ended({ seen: { exitCode: 127, signal: null }, stderrPath: join(dir, 'stderr127') }));
    expect(missing.failure).toMatchObject({ kind: 'invalid_args', exitCode: 127 });
    expect(missing.failure?.message).toContain('sh: claude: not found');
    const change = { branch: 'b', start: null, head: null, files: 0, additions: 0, deletions: 0 };
    const unresolved = exitedEvent(
      ended({ finished: { change, failure: { kind: 'merge_conflict', message: 'left conflicts' } } }),
    );
    expect(unresolved).toMatchObject({ outcome: 'failed', failure: { kind: 'merge_conflict' }, change });
  });
});

describe('notRunEvent', () => {
  it('an agent that never ran: no exit code, no active time', () => {
    const failure = { kind: 'agent_not_found' as const, message: 'no claude' };
    expect(notRunEvent(input, new OutputTracker(), { outcome: 'failed', failure })).toMatchObject({
      type: 'PROCESS.EXITED',
      attempt: 2,
      outcome: 'failed',
      exitCode: null,
      signal: null,
      failure,
      activeMs: 0,
    });
  });
});
