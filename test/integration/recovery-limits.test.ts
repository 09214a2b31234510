/**
 * The supervisor's limits, end to end through `orchestrate run` with the fake agent: restart intensity
 * (Erlang/OTP style, per worker, the other workers keep running), stall detection (no progress for
 * stallTimeoutSec: kill the process group, then classify `stalled`), and workerTimeoutSec.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { OrchestratorEvent } from '../../src/domain/events.js';
import { cleanupAfterTest, eventsOfType, readEvents, testSandbox } from '../support/orchestrate.js';
import { procRecords } from '../support/session-folder.js';
import {
  FAST_LIMITS,
  isAlive,
  launchesOf,
  leftovers,
  NOTHING_LEFT,
  oneWorkerSpec,
  runSession,
  startRun,
  waitFor,
  writeSpec,
} from './support-recovery.js';

afterEach(cleanupAfterTest);

const box = () => testSandbox({ git: true });

function finalState(events: OrchestratorEvent[], workerId: string): string | undefined {
  return eventsOfType(events, 'state')
    .filter((e) => e.machine === 'worker' && e.id === workerId)
    .at(-1)?.to;
}

describe('restart intensity', () => {
  it(
    'more than maxRestarts within restartWindowSec: ' +
      'the worker fails with a RESTART_INTENSITY blocker, the independent worker completes',
    async () => {
      const s = box();
      const spec = writeSpec(
        s,
        [
          { id: 'bad', agent: 'codex', role: 'implementer' },
          { id: 'good', agent: 'gemini', role: 'architect' },
        ],
        { maxRestarts: 2, restartWindowSec: 60 },
      );
      // `good` takes longer than all of bad's attempts together: it is still running when bad is given up.
      const config = { codex: { fail: 'crash', delayMs: 2 }, gemini: { delayMs: 2, lines: 4, holdMs: 4_000 } };
      const result = await runSession(s, config, spec);
      expect(result.exitCode, result.stderr).toBe(2);

      const events = readEvents(s.workspace);
      const recoveries = eventsOfType(events, 'recovery');
      expect(recoveries.map((r) => [r.workerId, r.signal.kind, r.action, r.attempt])).toEqual([
        ['bad', 'crashed', 'backoff_and_relaunch', 1],
        ['bad', 'crashed', 'backoff_and_relaunch', 2],
        ['bad', 'crashed', 'give_up', 3],
      ]);
      expect(recoveries[0]!.backoffMs).toBeLessThanOrEqual(FAST_LIMITS.backoffBaseMs);
      expect(recoveries[1]!.backoffMs).toBeGreaterThanOrEqual(FAST_LIMITS.backoffBaseMs);
      expect(recoveries[1]!.backoffMs).toBeLessThanOrEqual(FAST_LIMITS.backoffBaseMs * 2);
      expect(recoveries[2]!.detail).toMatch(/bad failed 3 times within 60s \(at most 2 restarts allowed\)/);

      const blockers = eventsOfType(events, 'blocker');
      expect(blockers).toHaveLength(1);
      expect(blockers[0]).toMatchObject({
        kind: 'RESTART_INTENSITY',
        workerId: 'bad',
        options: ['retry', 'skip', 'stop'],
      });
      expect(blockers[0]!.action).toMatch(/orchestrate logs/);

      expect(launchesOf(s, 'codex')).toHaveLength(3);
      expect(finalState(events, 'bad')).toBe('failed');
      // The session kept the other worker running: it completed after bad had been given up.
      expect(finalState(events, 'good')).toBe('completed');
      const seqOf = (pred: (e: OrchestratorEvent) => boolean) => events.find(pred)?.seq ?? -1;
      const gaveUp = seqOf((e) => e.type === 'recovery' && e.action === 'give_up');
      const goodDone = seqOf(
        (e) => e.type === 'state' && e.machine === 'worker' && e.id === 'good' && e.to === 'completed',
      );
      expect(goodDone).toBeGreaterThan(gaveUp);
      expect(launchesOf(s, 'gemini')).toHaveLength(1);
    },
  );
});

describe('stall detection', () => {
  it(
    'codex without network retries forever: ' +
      'after stallTimeoutSec without progress its group is killed, classified stalled, relaunched with resume',
    async () => {
      const s = box();
      // "Reconnecting... waiting for network" every 100 ms: output, but not progress. (2 s rather than 1: the
      // relaunched agent must print its first line within it even on a loaded machine.)
      const config = { codex: { fail: 'network', failTimes: 1, intervalMs: 100, delayMs: 2, spawnChild: true } };
      const run = startRun(s, config, oneWorkerSpec(s, 'codex', { stallTimeoutSec: 2 }), ['--no-server']);
      // While the second launch runs, nothing of the first one may be left.
      const first = await waitFor('the first codex launch', () => launchesOf(s, 'codex')[0]);
      const exit = await run.exited;
      expect(exit.exitCode, run.stderr()).toBe(0);

      const events = readEvents(s.workspace);
      const recoveries = eventsOfType(events, 'recovery');
      expect(recoveries).toHaveLength(1);
      expect(recoveries[0]).toMatchObject({
        workerId: 'w',
        signal: { kind: 'stalled' },
        action: 'backoff_and_relaunch',
        attempt: 1,
      });
      expect(recoveries[0]!.signal.message).toMatch(/no progress for 2s, so its process group was killed/);
      expect(recoveries[0]!.signal.message).toContain('waiting for network');
      // The retry notices were recorded as agent errors marked retrying, and did not hold the stall off.
      const notices = eventsOfType(events, 'agent').filter(
        (e) => e.kind === 'error' && e.at?.attempt === 1 && /waiting for network/.test(JSON.stringify(e)),
      );
      expect(notices.length).toBeGreaterThan(5);
      expect(finalState(events, 'w')).toBe('completed');

      const codex = launchesOf(s, 'codex');
      expect(codex).toHaveLength(2);
      expect(codex[1]!.resume).not.toBeNull();
      expect(codex[1]!.argv).toContain('resume');
      expect(isAlive(first.pid)).toBe(false);
      expect(leftovers(s)).toEqual(NOTHING_LEFT);
    },
  );

  it('stall kill: the relaunch waits until the stalled group is gone (agent ignoring SIGTERM)', async () => {
    const s = box();
    const config = { codex: { fail: 'stall', failTimes: 1, delayMs: 2, ignoreSigterm: true } };
    const run = startRun(s, config, oneWorkerSpec(s, 'codex', { stallTimeoutSec: 2, killGraceMs: 2_000 }), [
      '--no-server',
    ]);
    let overlap = false;
    const watch = (async () => {
      const first = await waitFor('the first codex launch', () => launchesOf(s, 'codex')[0]);
      await waitFor('the second codex launch', () => launchesOf(s, 'codex').length >= 2, 20_000, 10);
      overlap = isAlive(first.pid);
    })();
    const exit = await run.exited;
    await watch;
    expect(exit.exitCode, run.stderr()).toBe(0);
    expect(eventsOfType(readEvents(s.workspace), 'recovery')[0]).toMatchObject({
      signal: { kind: 'stalled' },
      action: 'backoff_and_relaunch',
    });
    expect(overlap, 'the stalled agent was still alive when its replacement started').toBe(false);
  });
});

describe('workerTimeoutSec', () => {
  it("bounds the worker's run: past it, the group killed, WORKER_TIMEOUT blocker, worker failed, exit 2", async () => {
    const s = box();
    const config = { claude: { holdMs: 20_000, delayMs: 2, spawnChild: true } };
    const started = Date.now();
    const result = await runSession(s, config, oneWorkerSpec(s, 'claude', { workerTimeoutSec: 1, killGraceMs: 300 }));
    expect(result.exitCode, result.stderr).toBe(2);
    expect(Date.now() - started).toBeLessThan(15_000);

    const events = readEvents(s.workspace);
    expect(eventsOfType(events, 'recovery')).toHaveLength(0);
    const blockers = eventsOfType(events, 'blocker');
    expect(blockers).toHaveLength(1);
    expect(blockers[0]).toMatchObject({ kind: 'WORKER_TIMEOUT', workerId: 'w', options: ['retry', 'skip', 'stop'] });
    expect(blockers[0]!.message).toMatch(/past its workerTimeoutSec; its process group was killed/);
    expect(blockers[0]!.action).toMatch(/retry/);
    expect(finalState(events, 'w')).toBe('failed');
    // Launched once and not again: the orchestrator's launch records say so. The agent itself may not have
    // recorded its start before its second was up: on a loaded machine a node process takes that long to start.
    expect(procRecords(s, events[0]!.sessionId, 'w').map((r) => r.attempt)).toEqual([1]);
    expect(launchesOf(s, 'claude').length).toBeLessThanOrEqual(1);
    expect(leftovers(s)).toEqual(NOTHING_LEFT);
  });
});
