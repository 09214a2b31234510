/**
 * An interactive worker's card takes a message (Debian's Chromium, headless): typed and sent, it reaches the running
 * agent through POST /api/v1/{sid}/workers/{w}/messages and is recorded as the user's message of its conversation.
 * An exec worker's card has no message box.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserHarness, startHarness, waitFor } from './harness.js';

let h: BrowserHarness;

beforeAll(async () => {
  h = await startHarness({ default: { holdMs: 60_000, delayMs: 20, lines: 2 } }, 'messages');
});
afterAll(async () => {
  await h?.close();
});

describe('dashboard messages', () => {
  it("an interactive worker's card sends a message into its running agent; an exec worker's has none", async () => {
    const runtime = await h.start({
      task: 'hold on',
      workers: [
        { id: 'talk', agent: 'claude', role: 'implementer', mode: 'interactive' },
        { id: 'quiet', agent: 'claude', role: 'verifier' },
      ],
    });
    const page = await h.open(`/#/sessions/${runtime.sessionId}`);
    const form = page.locator('[data-worker="talk"] [data-field="say"]');
    await form.waitFor({ state: 'visible' });
    expect(await page.locator('[data-worker="quiet"] [data-field="say"]').count()).toBe(0);
    await form.locator('input').fill('Please also add a test.');
    await form.locator('[data-action="say"]').click();
    await waitFor(
      () =>
        runtime
          .readAfter(0)
          .some(
            (e) =>
              e.type === 'agent' && e.kind === 'message' && e.role === 'user' && e.text === 'Please also add a test.',
          ),
      'the message in the log',
    );
    // Sent: the box is empty again for the next one.
    await waitFor(async () => (await form.locator('input').inputValue()) === '', 'the box emptied');
    runtime.send({ type: 'STOP', reason: 'test done' });
  });
});
