/** When a fleet session is given back to the queue (src/fleet/defer.ts): pure, on plain views. */
import { describe, expect, it } from 'vitest';
import { deferUntil } from '../../src/fleet/defer.js';
import type { SessionView, WorkerView } from '../../src/domain/session-view.js';

const NOW = Date.parse('2026-12-07T10:00:00Z');
const at = (sec: number) => new Date(NOW + sec * 1000).toISOString();
const worker = (over: Partial<WorkerView>): WorkerView =>
  ({ status: 'running', retryAt: null, pid: 1, ...over }) as WorkerView;
const view = (workers: WorkerView[], over: Partial<SessionView> = {}): SessionView =>
  ({ state: 'running', outcome: null, blockers: [], workers, ...over }) as SessionView;

describe('deferUntil', () => {
  it('the first retry time, when every unfinished worker waits for one long enough', () => {
    const workers = [
      worker({ status: 'recovering', retryAt: at(300) }),
      worker({ status: 'recovering', retryAt: at(120) }),
      worker({ status: 'completed' }),
      // Not started yet (its dependencies wait): it does not keep the session here.
      worker({ status: 'spawned', pid: null }),
    ];
    expect(deferUntil(view(workers), NOW, 60_000)).toEqual(new Date(at(120)));
    expect(deferUntil(view(workers), NOW, 150_000)).toBeNull();
  });

  it('nothing while any worker runs, a person is asked, or the session is paused or over', () => {
    const waiting = worker({ status: 'recovering', retryAt: at(300) });
    expect(deferUntil(view([waiting, worker({ status: 'running' })]), NOW, 1)).toBeNull();
    expect(deferUntil(view([waiting, worker({ status: 'recovering', retryAt: null })]), NOW, 1)).toBeNull();
    expect(deferUntil(view([waiting, worker({ status: 'blocked' })]), NOW, 1)).toBeNull();
    const open = { open: true } as SessionView['blockers'][number];
    expect(deferUntil(view([waiting], { blockers: [open] }), NOW, 1)).toBeNull();
    expect(deferUntil(view([waiting], { state: 'paused' }), NOW, 1)).toBeNull();
    expect(deferUntil(view([waiting], { outcome: 'completed' }), NOW, 1)).toBeNull();
    expect(deferUntil(view([worker({ status: 'completed' })]), NOW, 1)).toBeNull();
  });
});
