/**
 * Browser notifications from the dashboard (Debian's Chromium, headless): with the permission granted and the
 * bell turned on, a blocker that comes up while the page is open fires one notification that names the worker
 * and the blocker; nothing fires before the bell is on, or for what the page already had when it opened.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, waitFor, type BrowserHarness } from './harness.js';

let h: BrowserHarness;

beforeAll(async () => {
  h = await startHarness({ default: { holdMs: 60_000, delayMs: 20, lines: 2 } }, 'notify');
  await h.context.grantPermissions(['notifications'], { origin: h.url });
  // Every Notification the page makes, recorded (and still made) for the test to read.
  await h.context.addInitScript(`(() => {
    const Real = window.Notification;
    const made = (window.madeNotifications = []);
    class Recorded extends Real {
      constructor(title, options = {}) {
        made.push({ title, body: options.body ?? '', tag: options.tag ?? '' });
        super(title, options);
      }
    }
    Object.defineProperty(window, 'Notification', { value: Recorded, configurable: true, writable: true });
  })()`);
});
afterAll(async () => {
  await h?.close();
});

describe('dashboard notifications', () => {
  it('the bell turns them on; a blocker then fires one notification naming the worker and the blocker', async () => {
    const runtime = await h.start({ task: 'hold on', workers: [{ id: 'w1', agent: 'claude', role: 'implementer' }] });
    const sid = runtime.sessionId;
    // A blocker the page will have when it opens: not news, never notified.
    runtime.send({
      type: 'INTERVENE',
      act: 'pause',
      blocker: { kind: 'BUDGET_EXCEEDED', message: 'over the session budget (old news)', action: 'raise it' },
    });
    await waitFor(() => runtime.supervisor().blockers.length === 1, 'the first blocker');
    const page = await h.open(`/#/sessions/${sid}`);
    await page.locator('#blockers-open [data-blocker="b1"]').waitFor();
    const bell = page.locator('#notify-toggle');
    expect(await bell.getAttribute('aria-pressed')).toBe('false');
    await bell.click();
    await waitFor(async () => (await bell.getAttribute('aria-pressed')) === 'true', 'the bell on');

    runtime.send({
      type: 'INTERVENE',
      workerId: 'w1',
      act: 'pause',
      blocker: { kind: 'RESOURCE_LIMIT', message: 'w1 uses 5000 MB of memory', action: 'look at it' },
    });
    await page.locator('#blockers-open [data-blocker="b2"]').waitFor();
    const made = await waitFor(async () => {
      const list = (await page.evaluate('window.madeNotifications')) as Array<Record<string, string>>;
      return list.length > 0 ? list : null;
    }, 'a notification');
    expect(made).toEqual([
      {
        title: 'orchestrate: w1 needs input (RESOURCE_LIMIT)',
        body: expect.stringContaining(`Session ${sid}: w1 needs input. RESOURCE_LIMIT: w1 uses 5000 MB of memory`),
        tag: 'needs-input:b2',
      },
    ]);
    await h.screenshot(page, 'notifications-bell-on');
  });
});
