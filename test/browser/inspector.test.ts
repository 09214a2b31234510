/**
 * The statechart inspector in a real browser: the machines drawn from their definitions, the active state
 * of an actor lit live from the session's stream, the last transition highlighted with its event.
 * Screenshot: test-results/browser/inspector.png.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, waitFor, type BrowserHarness } from './harness.js';
import { machineGraph } from '../../src/machines/graph.js';
import { workerMachine } from '../../src/machines/worker.machine.js';

/** The claude worker of the first test gives its final answer only once this file exists (the test writes it). */
const RELEASE_DIR = mkdtempSync(join(tmpdir(), 'orch-browser-inspector-release-'));
const RELEASE = join(RELEASE_DIR, 'release');
const WORK = { delayMs: 40, lines: 2, plan: ['one', 'two'] };
const FAKE_CONFIG = { default: { holdMs: 1_500, ...WORK }, claude: { ...WORK, holdUntil: RELEASE } };

let h: BrowserHarness;
beforeAll(async () => {
  h = await startHarness(FAKE_CONFIG, 'inspector');
}, 30_000);
afterAll(async () => {
  writeFileSync(RELEASE, ''); // whatever the first test reached, its agent may end
  await h?.close();
  rmSync(RELEASE_DIR, { recursive: true, force: true });
}, 30_000);

const poll = <T>(fn: () => T | Promise<T>, timeout = 10_000) => expect.poll(fn, { timeout, interval: 50 });
/** The ids of the lit leaf states of a chart. */
const active = (page: Page, chart: string) => page.locator(`${chart} svg`).getAttribute('data-active');
const lastEvent = (page: Page, chart: string) => page.locator(`${chart} [data-field="last-event"]`).textContent();
const lastEdge = (page: Page, chart: string) =>
  page.locator(`${chart} .sc-edges .sc-edge.last`).getAttribute('data-event');

describe('statechart inspector', () => {
  it('draws the machines and follows the active state of a worker as the session runs', async () => {
    const runtime = await h.start({
      task: 'Inspect me',
      workers: [{ id: 'w1', agent: 'claude', role: 'implementer' }],
    });
    const sid = runtime.sessionId;
    // Hold the worker still (SIGSTOP) so the page opens on a known state whatever the machine's speed. The agent
    // cannot finish before the test writes RELEASE either: it is still at work when resumed, however late.
    await waitFor(
      () => runtime.view().workers[0]?.state === 'running.active' && runtime.view().workers[0]?.pid,
      'w1 running',
    );
    await h.api(`/${sid}/pause`, { body: { workerId: 'w1' } });

    const page = await h.open(`/inspect/${sid}`);
    expect(page.url()).not.toContain('token=');
    await page.locator('#actor-chart svg').waitFor();
    // Every state of the worker machine is drawn, compound states hold their children, finals are marked.
    for (const id of [
      'worker.spawned',
      'worker.running',
      'worker.running.active',
      'worker.running.paused',
      'worker.blocked',
      'worker.recovering.waiting',
      'worker.reviewing',
      'worker.completed',
      'worker.failed',
      'worker.stopped',
      'worker.skipped',
    ]) {
      expect(await page.locator(`#actor-chart [data-node-id="${id}"]`).count(), id).toBe(1);
    }
    expect(await page.locator('#actor-chart [data-node-id="worker.running"]').getAttribute('class')).toContain(
      'compound',
    );
    expect(await page.locator('#actor-chart [data-node-id="worker.completed"] rect.inner').count()).toBe(1);
    const exitEdges = machineGraph(workerMachine).edges.filter(
      (e) => e.event === 'PROCESS.EXITED' && !e.targetless,
    ).length;
    expect(await page.locator('#actor-chart .sc-edge[data-event="PROCESS.EXITED"] path').count()).toBe(exitEdges);
    for (const id of [
      'session.created',
      'session.running',
      'session.waiting',
      'session.paused',
      'session.stopping',
      'session.completed',
      'session.stopped',
    ]) {
      expect(await page.locator(`#session-chart [data-node-id="${id}"]`).count(), id).toBe(1);
    }

    // Paused: running.paused is lit (inside running, also lit), the PAUSE transition highlighted.
    await poll(() => active(page, '#actor-chart')).toBe('worker.running.paused');
    expect(await page.locator('#actor-chart [data-node-id="worker.running"]').getAttribute('class')).toContain(
      'active',
    );
    await poll(() => lastEvent(page, '#actor-chart')).toBe('PAUSE');
    expect(await lastEdge(page, '#actor-chart')).toBe('PAUSE');
    expect(await active(page, '#session-chart')).toBe('session.running');
    expect(await page.locator('#actors [data-actor="w1"] .actor-state').textContent()).toBe('running.paused');

    // Resumed: back to running.active through RESUME (and it stays there: the agent waits for RELEASE).
    await h.api(`/${sid}/resume`, { body: { workerId: 'w1' } });
    await poll(() => active(page, '#actor-chart')).toBe('worker.running.active');
    await poll(() => lastEvent(page, '#actor-chart')).toBe('RESUME');
    expect(await lastEdge(page, '#actor-chart')).toBe('RESUME');
    expect(await page.locator('#actor-chart [data-node-id="worker.running.paused"]').getAttribute('class')).toContain(
      'previous',
    );

    // The agent finishes: completed through PROCESS.EXITED; the session completes too.
    writeFileSync(RELEASE, '');
    await poll(() => active(page, '#actor-chart'), 15_000).toBe('worker.completed');
    await poll(() => lastEvent(page, '#actor-chart')).toBe('PROCESS.EXITED');
    expect(await lastEdge(page, '#actor-chart')).toBe('PROCESS.EXITED');
    await poll(() => active(page, '#session-chart')).toBe('session.completed');
    const history = await page.locator('#actor-chart .history li .ev-name').allTextContents();
    expect(history.slice(0, 4)).toEqual(['PROCESS.EXITED', 'RESUME', 'PAUSE', 'START']);
    await h.screenshot(page, 'inspector');

    // The picker: the session actor shows the session machine in the main chart.
    await page.locator('#actors [data-machine="session"]').click();
    await poll(() => page.locator('#actor-chart').getAttribute('data-machine')).toBe('session');
    expect(await active(page, '#actor-chart')).toBe('session.completed');
    expect(page.url()).toContain(`#actor=${encodeURIComponent(`session:${sid}`)}`);
    await runtime.waitForEnd();
    await page.close();
  }, 60_000);

  it('is linked from the dashboard, which hands it the token', async () => {
    const runtime = await h.start({ task: 'Link me', workers: [{ id: 'w1', agent: 'codex', role: 'verifier' }] });
    const page = await h.open(`/#/sessions/${runtime.sessionId}`);
    await page.locator('[data-worker="w1"].card').waitFor();
    await page.locator('#s-inspect').click();
    await page.waitForURL(`**/inspect/${runtime.sessionId}**`);
    await page.locator('#actor-chart svg').waitFor();
    await poll(() => page.locator('#actors [data-actor="w1"]').count()).toBe(1);
    await runtime.waitForEnd();
    await poll(() => active(page, '#actor-chart'), 15_000).toBe('worker.completed');
    await page.close();
  }, 30_000);
});
