// Session controls: pause / resume / review / stop (stop asks first, in a <dialog>). Errors show inline.

import type { SessionState } from './store.js';
import { h, icon, setText } from './util.js';

/**
 * @param root element for the buttons
 * @param dialog the <dialog> asking whether to stop (a form with method=dialog, an input name=reason)
 * @param commands {pause(), resume(), review(), stop(reason)}: promises; errors are shown next to the buttons
 */
export function createControls(root, dialog, commands) {
  const notice = h('p', { class: 'form-error controls-error', role: 'alert', hidden: true });
  const run = async (button, fn) => {
    notice.hidden = true;
    button.disabled = true;
    button.classList.add('busy');
    try {
      await fn();
    } catch (error) {
      notice.hidden = false;
      setText(notice, (error as Error)?.message ?? String(error));
    } finally {
      button.classList.remove('busy');
      // updateControls decides again from the state.
      button.disabled = false;
      root.dispatchEvent(new CustomEvent('controls-done'));
    }
  };
  const button = (action, glyph, label, cls, onclick, keys?) =>
    h(
      'button',
      {
        type: 'button',
        class: `btn ${cls}`,
        'data-control': action,
        'aria-keyshortcuts': keys,
        onclick: (e) => onclick(e.currentTarget),
      },
      icon(glyph),
      label,
    );
  const pause = button('pause', 'pause', 'Pause', '', (b) => run(b, commands.pause), 'p');
  const resume = button('resume', 'play', 'Resume', 'primary', (b) => run(b, commands.resume), 'p');
  const review = button('review', 'review', 'Review now', '', (b) => run(b, commands.review), 'r');
  const stop = button('stop', 'stop', 'Stop…', 'danger', () => openStopDialog());
  root.replaceChildren(h('div', { class: 'controls-buttons' }, pause, resume, review, stop), notice);

  const reason = dialog.querySelector('[name="reason"]');
  const openStopDialog = () => {
    if (reason) reason.value = '';
    dialog.returnValue = '';
    dialog.showModal();
  };
  dialog.addEventListener('close', () => {
    if (dialog.returnValue !== 'stop') return;
    const text = reason?.value.trim();
    void run(stop, () => commands.stop(text || undefined));
  });

  return {
    pause: () => !pause.disabled && !pause.hidden && pause.click(),
    resume: () => !resume.disabled && !resume.hidden && resume.click(),
    togglePause: () => {
      if (!resume.hidden && !resume.disabled) resume.click();
      else if (!pause.hidden && !pause.disabled) pause.click();
    },
    review: () => !review.disabled && review.click(),
  };
}

/** Enable what the session state allows (PAUSE only in running, RESUME in paused, STOP until final). */
export function updateControls(root, state: SessionState) {
  const s = state.view?.state ?? '';
  const live = state.live;
  const final = s === 'completed' || s === 'stopped' || s === 'stopping';
  const get = (name) => root.querySelector(`[data-control="${name}"]`);
  const pause = get('pause');
  const resume = get('resume');
  const review = get('review');
  const stop = get('stop');
  if (!pause) return;
  const busy = (b) => b.classList.contains('busy');
  resume.hidden = s !== 'paused';
  pause.hidden = s === 'paused';
  if (!busy(pause)) pause.disabled = !live || s !== 'running';
  if (!busy(resume)) resume.disabled = !live || s !== 'paused';
  // Review now asks for a round of every reviewed worker: none without reviewers (the server would refuse it).
  const reviewed = (state.view?.workers ?? []).some((w) => w.reviewers?.length > 0);
  if (!busy(review)) review.disabled = !live || !(s === 'running' || s === 'waiting') || !reviewed;
  review.title = reviewed
    ? 'Review the finished work now (work still under way is reviewed once it finishes)'
    : 'No worker of this session has reviewers: the spec\'s "reviews" are empty';
  if (!busy(stop)) stop.disabled = !live || final;
  // A session that ended has nothing left to control.
  root.querySelector('.controls-buttons').hidden = s === 'completed' || s === 'stopped';
  root.title = live ? '' : 'This session does not run in this server: `orchestrate resume <sid>` first to control it.';
}
