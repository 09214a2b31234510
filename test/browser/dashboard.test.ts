/**
 * The dashboard in a real browser (Debian's Chromium, headless) against a real server and sessions of fake
 * agents: the session list, worker cards that update live, pause and resume (the agent process is really
 * stopped), a blocker answered through its form, and the connection banner across a server restart.
 * Screenshots: test-results/browser/*.png.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionRuntime } from '../../src/runtime/session-runtime.js';
import { procState, startHarness, TOKEN, waitFor, type BrowserHarness } from './harness.js';

const FAKE_CONFIG = {
  rules: [
    {
      match: { promptIncludes: 'You are a REVIEWER' },
      scenario: {
        delayMs: 60,
        lines: 1,
        verdict: {
          verdict: 'approve',
          summary: 'Clean change, tests included.',
          issues: [{ severity: 'nit', file: 'src/cli.ts', line: 12, message: 'rename opts to options' }],
        },
      },
    },
    { match: { promptIncludes: 'You are the VERIFIER' }, scenario: { delayMs: 60, lines: 1, plan: ['check'] } },
    {
      match: { promptIncludes: 'SCENARIO-HOLD' },
      scenario: { holdMs: 60_000, delayMs: 40, lines: 2, plan: ['read', 'change'] },
    },
    { match: { promptIncludes: 'SCENARIO-AUTH' }, scenario: { fail: 'auth', failTimes: 1, key: 'scenario-auth' } },
  ],
  // Plan steps 400 ms apart: the page must see a value between 0 and 100 even on a loaded machine.
  default: {
    holdMs: 700,
    delayMs: 400,
    lines: 3,
    plan: ['read the code', 'add the flag', 'test it'],
    usage: { inputTokens: 12_000, outputTokens: 3_400, costUsd: 0.0421 },
  },
};

/** The little of the DOM the page callbacks below use (tsconfig has no DOM lib; these run in the page). */
interface PageElement {
  dataset: Record<string, string | undefined>;
  value: string;
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageElement | null;
}
declare const document: { querySelector(selector: string): PageElement | null };

/** Runs in the page: record every value the implementer's progress bar shows (window.progressSeen). */
const RECORD_PROGRESS = `(() => {
  const bar = document.querySelector('[data-worker="implementer"].card [role="progressbar"]');
  window.progressSeen = [Number(bar.getAttribute('aria-valuenow'))];
  new MutationObserver(() => window.progressSeen.push(Number(bar.getAttribute('aria-valuenow')))).observe(bar, {
    attributes: true,
    attributeFilter: ['aria-valuenow'],
  });
})()`;

let h: BrowserHarness;
beforeAll(async () => {
  h = await startHarness(FAKE_CONFIG, 'dashboard');
}, 30_000);
afterAll(async () => {
  await h?.close();
}, 30_000);

/** expect.poll with a timeout that suits a browser (its default is one second). */
const poll = <T>(fn: () => T | Promise<T>, options: { timeout?: number } = {}) =>
  expect.poll(fn, { timeout: options.timeout ?? 10_000, interval: 50 });
const card = (page: Page, workerId: string) => page.locator(`[data-worker="${workerId}"].card`);
const cardState = (page: Page, workerId: string) => card(page, workerId).locator('[data-field="state"]');
const sessionState = (page: Page) => page.locator('#s-state');

async function workerPid(sid: string, workerId: string): Promise<number> {
  return waitFor(async () => {
    const state = await h.api<{ workers: Array<{ id: string; pid: number | null; status: string }> }>(`/${sid}/state`);
    const w = state.workers.find((x) => x.id === workerId);
    return w?.status === 'running' && w.pid ? w.pid : null;
  }, `a pid for ${workerId}`);
}

async function stopSession(runtime: SessionRuntime): Promise<void> {
  if (!runtime.endState() || runtime.endState() === 'waiting') {
    try {
      runtime.send({ type: 'STOP', reason: 'test done' });
    } catch {
      // already over
    }
  }
  await runtime.waitForEnd();
}

describe('dashboard', () => {
  it('lists the sessions, opens one, and its worker cards update live until completed', async () => {
    const runtime = await h.start({
      task: 'Add a --json flag to the status command',
      workers: [
        { id: 'implementer', agent: 'claude', role: 'implementer' },
        { id: 'verifier', agent: 'codex', role: 'verifier', dependsOn: ['implementer'] },
      ],
      reviews: [{ reviewer: 'gemini', target: 'implementer', focus: 'implementation' }],
      review: { maxRounds: 1 },
      limits: { session: { maxCostUsd: 5 } },
    });
    const sid = runtime.sessionId;
    // Hold the implementer still (SIGSTOP) until the page watches, whatever the machine's load.
    await waitFor(
      () => runtime.view().workers.find((w) => w.id === 'implementer' && w.state === 'running.active' && w.pid),
      'the implementer running',
    );
    await h.api(`/${sid}/pause`, { body: { workerId: 'implementer' } });
    const page = await h.open('/');

    // The token left the address bar; the list shows the session.
    const row = page.locator(`[data-session="${sid}"]`);
    await row.waitFor();
    expect(page.url()).not.toContain(TOKEN);
    await poll(() => row.locator('.session-task').textContent()).toContain('Add a --json flag');
    await page.locator('#conn[data-state="live"]').waitFor();
    await h.screenshot(page, 'sessions');

    await row.locator('a').click();
    await page.waitForURL(`**/#/sessions/${sid}`);
    await card(page, 'implementer').waitFor();
    expect(await card(page, 'implementer').locator('.agent').textContent()).toBe('claude');
    expect(await card(page, 'verifier').locator('.role').textContent()).toBe('verifier');

    // Resumed from its card, it runs: the card says so and its progress grows as plan items complete.
    await poll(() => cardState(page, 'implementer').textContent()).toBe('paused');
    await page.evaluate(RECORD_PROGRESS);
    await card(page, 'implementer').locator('[data-action="resume"]').click();
    await poll(() => cardState(page, 'implementer').textContent()).toBe('running');
    await poll(() => card(page, 'implementer').locator('[data-field="plan"]').textContent()).toMatch(/^plan [1-3]\/3$/);
    // The implementer has a reviewer: its Review asks for a round once its work is finished; the verifier has none.
    expect(await card(page, 'implementer').locator('[data-action="review"]').getAttribute('title')).toBe(
      'Ask gemini to review implementer once its work is finished',
    );
    expect(await card(page, 'verifier').locator('[data-action="review"]').isDisabled()).toBe(true);
    expect(await page.locator('[data-control="review"]').isDisabled()).toBe(false);
    // The verifier waits for the implementer.
    expect(await cardState(page, 'verifier').textContent()).toBe('spawned');
    await poll(() => card(page, 'verifier').locator('[data-field="activity"]').textContent()).toBe(
      'waiting for implementer',
    );

    // Then everything completes: review, verdict, the verifier, the session.
    await page.waitForFunction(
      () => document.querySelector('#s-state')?.getAttribute('data-state') === 'completed',
      null,
      { timeout: 25_000 },
    );
    for (const id of ['implementer', 'verifier']) {
      await poll(() => cardState(page, id).textContent()).toBe('completed');
      expect(await card(page, id).locator('[role="progressbar"]').getAttribute('aria-valuenow')).toBe('100');
    }
    await poll(() => card(page, 'implementer').locator('[data-field="usage"]').textContent()).toContain('$0.04');
    // The session's usage beside its budget.
    await poll(() => page.locator('#s-usage').textContent()).toMatch(/\$0\.0\d.*\(limit \$5\.00\)/);
    const seen = (await page.evaluate('window.progressSeen')) as number[];
    expect(
      seen.some((v) => v > 0 && v < 100),
      `progress values seen: ${seen.join(', ')}`,
    ).toBe(true);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(seen.at(-1)).toBe(100);
    expect(await card(page, 'r1-gemini-implementer').count()).toBe(1);

    // The review panel: the reviewer's verdict with its issue, and the round's decision.
    const review = page.locator('[data-round="round-1"] [data-reviewer="gemini"]');
    await review.waitFor();
    expect(await review.getAttribute('data-verdict')).toBe('approve');
    expect(await review.locator('.issue').textContent()).toContain('src/cli.ts:12');
    await poll(() => page.locator('[data-round="round-1"] .decision-action').getAttribute('data-decision')).toBe(
      'CONTINUE',
    );

    // The event log: rows with badges; the filters hide what does not match.
    const log = page.locator('[data-log] > li');
    expect(await log.count()).toBeGreaterThan(10);
    await page.selectOption('[data-filter="type"]', 'state');
    const types = await page
      .locator('[data-log] > li:not([hidden])')
      .evaluateAll((rows) => (rows as PageElement[]).map((r) => r.dataset.type));
    expect(types.length).toBeGreaterThan(3);
    expect(new Set(types)).toEqual(new Set(['state']));
    await page.selectOption('[data-filter="worker"]', 'verifier');
    const subjects = await page
      .locator('[data-log] > li:not([hidden])')
      .evaluateAll((rows) => (rows as PageElement[]).map((r) => r.dataset.worker));
    expect(subjects.length).toBeGreaterThan(0);
    expect(new Set(subjects)).toEqual(new Set(['verifier']));
    await page.selectOption('[data-filter="type"]', 'agent:plan');
    await page.selectOption('[data-filter="worker"]', '');
    expect(await page.locator('[data-log] > li:not([hidden])').first().getAttribute('data-kind')).toBe('plan');
    // A clicked row shows the event's JSON whole, in a panel of its own below the log; a second click closes it.
    const firstPlan = page.locator('[data-log] > li:not([hidden]) button.ev-row').first();
    await firstPlan.click();
    const detail = page.locator('[data-event-detail]');
    await detail.waitFor();
    const json = detail.locator('pre.json');
    await poll(() => json.textContent()).toMatch(/^\{/);
    expect(JSON.parse((await json.textContent()) ?? '')).toMatchObject({ type: 'agent', kind: 'plan' });
    expect(await detail.evaluate((el) => el.closest('[data-log]'))).toBeNull();
    const shown = await json.evaluate((el) => ({
      height: el.clientHeight,
      lines: (el.textContent ?? '').split('\n').length,
    }));
    expect(shown.height, `${shown.lines} lines of JSON in ${shown.height}px`).toBeGreaterThan(100);
    await firstPlan.click();
    expect(await detail.isHidden()).toBe(true);
    await page.selectOption('[data-filter="type"]', '');
    await h.screenshot(page, 'dashboard');

    // Auto-scroll: on from its checkbox (the log jumps to the end), off as soon as you scroll up.
    await page.locator('[data-control="follow"]').check();
    await poll(() => page.locator('[data-log]').evaluate((el) => el.scrollTop > 0)).toBe(true);
    await page.locator('[data-log]').evaluate((el) => el.scrollTo({ top: 0 }));
    await poll(() => page.locator('[data-control="follow"]').isChecked()).toBe(false);
    await page.close();
  }, 45_000);

  it('pauses and resumes the session and one worker; the agent process really stops; stop asks first', async () => {
    const runtime = await h.start({
      task: 'SCENARIO-HOLD keep running until told',
      workers: [{ id: 'w1', agent: 'claude', role: 'implementer' }],
    });
    const sid = runtime.sessionId;
    const page = await h.open(`/#/sessions/${sid}`);
    await poll(() => cardState(page, 'w1').textContent()).toBe('running');
    const pid = await workerPid(sid, 'w1');
    expect(procState(pid)).not.toBe('T');
    // Nobody reviews anything in this session: Review now is disabled and says why (no click to find out).
    const reviewNow = page.locator('[data-control="review"]');
    expect(await reviewNow.isDisabled()).toBe(true);
    expect(await reviewNow.getAttribute('title')).toBe(
      'No worker of this session has reviewers: the spec\'s "reviews" are empty',
    );
    expect(await card(page, 'w1').locator('[data-action="review"]').getAttribute('title')).toBe(
      'No reviewer is configured for w1',
    );

    // The whole session.
    await page.locator('[data-control="pause"]').click();
    await poll(() => sessionState(page).getAttribute('data-state')).toBe('paused');
    await poll(() => cardState(page, 'w1').textContent()).toBe('paused');
    await poll(() => procState(pid)).toBe('T');
    expect(await page.locator('[data-control="resume"]').isVisible()).toBe(true);
    await h.screenshot(page, 'paused');
    await page.locator('[data-control="resume"]').click();
    await poll(() => sessionState(page).getAttribute('data-state')).toBe('running');
    await poll(() => cardState(page, 'w1').textContent()).toBe('running');
    await poll(() => procState(pid)).not.toBe('T');

    // One worker, from its card: the session keeps running.
    await card(page, 'w1').locator('[data-action="pause"]').click();
    await poll(() => cardState(page, 'w1').textContent()).toBe('paused');
    await poll(() => procState(pid)).toBe('T');
    expect(await sessionState(page).getAttribute('data-state')).toBe('running');
    await card(page, 'w1').locator('[data-action="resume"]').click();
    await poll(() => cardState(page, 'w1').textContent()).toBe('running');
    await poll(() => procState(pid)).not.toBe('T');

    // Stop asks in a dialog; Cancel does nothing, confirming stops.
    await page.locator('[data-control="stop"]').click();
    const dialog = page.locator('#stop-dialog');
    await dialog.waitFor({ state: 'visible' });
    await dialog.locator('button[value="cancel"]').click();
    await dialog.waitFor({ state: 'hidden' });
    expect(runtime.endState()).toBeNull();
    await page.locator('[data-control="stop"]').click();
    await dialog.locator('#stop-reason').fill('enough for today');
    await dialog.locator('[data-confirm="stop"]').click();
    await poll(() => sessionState(page).getAttribute('data-state'), { timeout: 15_000 }).toBe('stopped');
    await poll(() => cardState(page, 'w1').textContent()).toBe('stopped');
    await poll(() => page.locator('#s-stop-reason').textContent()).toContain('enough for today');
    expect(await page.locator('[data-control="stop"]').isDisabled()).toBe(true);
    await runtime.waitForEnd();
    await page.close();
  }, 40_000);

  it('stops one worker from its card, after asking: it is skipped and the worker waiting for it runs', async () => {
    const runtime = await h.start({
      task: 'SCENARIO-HOLD until stopped',
      workers: [
        { id: 'w1', agent: 'claude', role: 'implementer' },
        { id: 'w2', agent: 'codex', role: 'verifier', dependsOn: ['w1'] },
      ],
    });
    const sid = runtime.sessionId;
    const page = await h.open(`/#/sessions/${sid}`);
    await poll(() => cardState(page, 'w1').textContent()).toBe('running');
    const pid = await workerPid(sid, 'w1');

    // Cancelled: nothing happens.
    let asked = '';
    page.once('dialog', (dialog) => {
      asked = dialog.message();
      void dialog.dismiss();
    });
    await card(page, 'w1').locator('[data-action="stop"]').click();
    await poll(() => asked).toContain('Stop w1?');
    expect(runtime.view().workers.find((w) => w.id === 'w1')?.status).toBe('running');
    // Confirmed: its agent ends, it is skipped, w2 runs and the session completes.
    page.once('dialog', (dialog) => void dialog.accept());
    await card(page, 'w1').locator('[data-action="stop"]').click();
    await poll(() => cardState(page, 'w1').textContent(), { timeout: 15_000 }).toBe('skipped');
    await poll(() => sessionState(page).getAttribute('data-state'), { timeout: 20_000 }).toBe('completed');
    expect(await cardState(page, 'w2').textContent()).toBe('completed');
    expect(() => process.kill(pid, 0)).toThrow();
    await runtime.waitForEnd();
    await page.close();
  }, 40_000);

  it('shows a blocker, shows an error inline, and answers it through its form; the session goes on', async () => {
    const runtime = await h.start({
      task: 'SCENARIO-AUTH needs a login first',
      workers: [{ id: 'w1', agent: 'claude', role: 'implementer' }],
    });
    const sid = runtime.sessionId;
    const page = await h.open(`/#/sessions/${sid}`);

    const blocker = page.locator('#blockers-open [data-blocker="b1"]');
    await blocker.waitFor();
    expect(await blocker.locator('.pill').first().textContent()).toBe('AUTH_REQUIRED');
    expect(await blocker.locator('.message').textContent()).toContain('Not logged in');
    expect(await blocker.locator('.action').textContent()).toContain('retry');
    expect(
      await blocker.locator('button[data-choice]').evaluateAll((bs) => (bs as PageElement[]).map((b) => b.value)),
    ).toEqual(['retry', 'skip', 'stop']);
    await poll(() => cardState(page, 'w1').textContent()).toBe('blocked');
    expect(await card(page, 'w1').locator('[data-field="blocked"]').textContent()).toContain('b1');
    expect(await sessionState(page).getAttribute('data-state')).toBe('waiting');
    await h.screenshot(page, 'blocker');

    // A refused answer (here: the server says someone else answered first) shows inline and keeps the form.
    await page.route(`**/api/v1/${sid}/blockers/b1`, (route) =>
      route.fulfill({
        status: 409,
        contentType: 'application/json',
        body: JSON.stringify({ error: 'blocker b1 was already answered (skip by api)' }),
      }),
    );
    await blocker.locator('[data-choice="skip"]').click();
    await poll(() => blocker.locator('.form-error').textContent()).toBe(
      'blocker b1 was already answered (skip by api)',
    );
    expect(await blocker.locator('[data-choice="retry"]').isEnabled()).toBe(true);
    await page.unroute(`**/api/v1/${sid}/blockers/b1`);

    // Retry: the fake agent fails only once, so the worker runs again and completes.
    await blocker.locator('[data-choice="retry"]').click();
    await page.locator('#blockers-open [data-blocker="b1"]').waitFor({ state: 'detached' });
    expect(await page.locator('#blockers-panel').isHidden()).toBe(true);
    await poll(() =>
      page.locator('#blockers-done [data-blocker="b1"] [data-field="resolution"]').textContent(),
    ).toContain('retry by dashboard');
    await poll(() => sessionState(page).getAttribute('data-state'), { timeout: 20_000 }).toBe('completed');
    expect(await cardState(page, 'w1').textContent()).toBe('completed');
    expect(await card(page, 'w1').locator('[data-field="attempt"]').textContent()).toBe('attempt 2');
    expect(await page.locator('#recoveries [data-worker="w1"]').count()).toBeGreaterThan(0);
    await runtime.waitForEnd();
    await page.close();
  }, 40_000);

  it('shows "reconnecting" when the server goes away and recovers when it is back, missing nothing', async () => {
    const runtime = await h.start({
      task: 'SCENARIO-HOLD keep running while the server restarts',
      workers: [{ id: 'w1', agent: 'claude', role: 'implementer' }],
    });
    const sid = runtime.sessionId;
    const page = await h.open(`/#/sessions/${sid}`);
    await poll(() => cardState(page, 'w1').textContent()).toBe('running');
    await page.locator('#conn[data-state="live"]').waitFor();
    const banner = page.locator('#conn');
    expect(await banner.getAttribute('role')).toBe('status');

    await h.stopServer();
    await page.locator('#conn[data-state="reconnecting"]').waitFor();
    expect(await banner.textContent()).toContain('reconnecting');
    // Something happens while the page is cut off: it must show up after the reconnect.
    runtime.send({ type: 'PAUSE', workerId: 'w1' });
    await h.screenshot(page, 'reconnecting');
    expect(await cardState(page, 'w1').textContent()).toBe('running');

    await h.startServerAgain();
    await page.locator('#conn[data-state="live"]').waitFor({ timeout: 15_000 });
    await poll(() => cardState(page, 'w1').textContent()).toBe('paused');
    // The stream goes on live after the reconnect.
    await h.api(`/${sid}/resume`, { body: { workerId: 'w1' } });
    await poll(() => cardState(page, 'w1').textContent()).toBe('running');
    // Each event is in the log once.
    const seqs = await page
      .locator('[data-log] > li')
      .evaluateAll((rows) => (rows as PageElement[]).map((r) => Number(r.dataset.seq)));
    expect(new Set(seqs).size).toBe(seqs.length);
    await stopSession(runtime);
    await page.close();
  }, 40_000);

  it(
    'the event log: a streamed message is one row from its first word, ' +
      "even with another worker's events between its pieces; tool calls name their argument",
    async () => {
      const page = await h.context.newPage();
      await page.goto(`${h.url}/`);
      // A string, not a function: vitest would rewrite the function's import() for Node.
      const rows = (await page.evaluate(`(async () => {
      const { EventLog } = await import('/assets/events-log.js');
      const root = document.createElement('div');
      document.body.append(root);
      const log = new EventLog(root);
      const base = { sessionId: 's', ts: new Date().toISOString(), source: { kind: 'worker', id: 'x' }, type: 'agent' };
      let seq = 0;
      const add = (fields) => log.add({ ...base, seq: ++seq, ...fields });
      const arch = { workerId: 'arch', agent: 'gemini' };
      add({ ...arch, kind: 'message', role: 'assistant', text: 'The plan has', delta: true });
      add({ workerId: 'impl', agent: 'claude', kind: 'tool_call', name: 'Read', input: { file_path: 'src/text.js' } });
      add({ ...arch, kind: 'message', role: 'assistant', text: ' three steps.', delta: true });
      add({ ...arch, kind: 'tool_result', ok: true, output: 'a\\nb\\nc' });
      add({ ...arch, kind: 'message', role: 'assistant', text: 'Next message', delta: true });
      const items = [...root.querySelectorAll('[data-log] > li')];
      return items.map((li) => [li.dataset.worker, li.querySelector('.text')?.textContent]);
    })()`)) as string[][];
      expect(rows).toEqual([
        ['arch', 'The plan has three steps.'],
        ['impl', 'tool Read src/text.js'],
        ['arch', 'tool result: a (+2 lines)'],
        ['arch', 'Next message'],
      ]);
      await page.close();
    },
  );

  it('an ended session is not badged "not running in this server" (it ran here; nothing left to control)', async () => {
    const done = await h.start({ task: 'quick', workers: [{ id: 'w1', agent: 'gemini', role: 'architect' }] });
    await done.waitForEnd();
    // As `orchestrate run` and the demo do once their session ended (their server still shows it).
    h.manager.detach(done.sessionId);
    const page = await h.open(`/#/sessions/${done.sessionId}`);
    await poll(() => sessionState(page).getAttribute('data-state')).toBe('completed');
    expect(await page.locator('#s-live').isHidden()).toBe(true);
    await page.close();
  });

  it('without a token it asks for one; a wrong token gets the same form with an error', async () => {
    const page = await h.context.newPage();
    await page.goto(`${h.url}/`);
    await page.locator('#auth-form').waitFor();
    await page.fill('#auth-token', 'not-the-token');
    await page.locator('#auth-form button[type="submit"]').click();
    await poll(() => page.locator('#auth-error').textContent()).toContain('refused');
    // Pasting the whole dashboard address works.
    await page.fill('#auth-token', `${h.url}/#token=${TOKEN}`);
    await page.locator('#auth-form button[type="submit"]').click();
    await page.locator('#sessions-list [data-session]').first().waitFor();
    await page.close();
  });
});
