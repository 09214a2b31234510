// Browser notifications (the Notification API), opt-in from the bell in the top bar: for what needs a person
// and for a session's end, as `--notify` tells them (the notices of src/domain/notices.ts). Only news: what
// the page learned before the bell was on, or replayed when it opened, is not notified again.

import type { OrchestratorEvent } from '../src/domain/events.js';
import { type NoticeContext, noticeFor } from '../src/domain/notices.js';

const PREF_KEY = 'orchestrator.notify';

const supported = () => typeof Notification !== 'undefined';

/** On when the person asked for it (the bell) and the browser allows it. */
export function notificationsOn(): boolean {
  return supported() && Notification.permission === 'granted' && localStorage.getItem(PREF_KEY) === '1';
}

/** The bell: hidden where the browser has no notifications; a click asks for the permission, or turns them off. */
export function setupBell(button: HTMLButtonElement): void {
  if (!supported()) return;
  button.hidden = false;
  const show = () => {
    const on = notificationsOn();
    button.setAttribute('aria-pressed', String(on));
    button.title =
      Notification.permission === 'denied'
        ? 'Notifications are blocked for this page (the browser’s site settings can allow them)'
        : on
          ? 'Notifications on: a worker needing input, a session ending. Click to turn them off'
          : 'Notify me when a worker needs input or a session ends';
  };
  button.addEventListener('click', async () => {
    if (notificationsOn()) localStorage.removeItem(PREF_KEY);
    else if ((await Notification.requestPermission()) === 'granted') localStorage.setItem(PREF_KEY, '1');
    show();
  });
  show();
}

/** One session's notifications: each notice once, and only for events after those the page had when it opened. */
export class SessionNotifier {
  private readonly told = new Set<string>();
  private after: number | null = null;

  constructor(private readonly context: NoticeContext) {}

  /** The seq the page had when it opened (its first snapshot): what came before is not news. */
  startAfter(seq: number): void {
    this.after ??= seq;
  }

  onEvent(event: OrchestratorEvent): void {
    if (this.after === null || event.seq <= this.after || !notificationsOn()) return;
    const notice = noticeFor(event, this.context);
    if (!notice || this.told.has(notice.key)) return;
    this.told.add(notice.key);
    const options = { body: notice.text, tag: notice.key };
    try {
      new Notification(`orchestrate: ${notice.title}`, options);
    } catch {
      // A browser that only shows notifications from a service worker: nothing shows, nothing breaks.
    }
  }
}
