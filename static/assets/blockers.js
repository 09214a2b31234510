// Blockers: what a person must answer. Each open blocker shows its kind, message, what to do, a button per
// option and, for `answer`, a text box. Answered blockers are listed below, folded.

import { h, icon, pill, reconcile, setText } from './util.js';

const LABELS = { retry: 'Retry', skip: 'Skip', stop: 'Stop', answer: 'Send answer' };
const ICONS = { retry: 'retry', skip: 'skip', stop: 'stop', answer: 'send' };
const HINTS = {
  retry: 'run the worker again',
  skip: 'go on without this worker',
  stop: 'stop the whole session',
  answer: 'send the text to the agent',
};

/**
 * @param openContainer where the open blockers go
 * @param doneContainer where the answered ones go
 * @param answer async (blockerId, choice, text) => void; throws ApiError
 */
export function renderBlockers(openContainer, doneContainer, state, answer) {
  const blockers = state.view?.blockers ?? [];
  const open = blockers.filter((b) => b.open);
  const done = blockers.filter((b) => !b.open).reverse();
  reconcile(openContainer, open, (b) => b.id, (b) => createBlocker(b, state, answer), (el) => updateBlocker(el, state));
  reconcile(
    doneContainer,
    done,
    (b) => b.id,
    (b) =>
      h(
        'li',
        { class: 'blocker-done', 'data-blocker': b.id },
        pill(b.kind, 'idle'),
        h('strong', {}, ` ${b.id}`),
        b.workerId ? h('span', { class: 'muted' }, ` · ${b.workerId}`) : null,
        h('span', { class: 'muted', 'data-field': 'resolution' }),
        h('details', { class: 'small' }, h('summary', {}, 'message'), h('pre', { class: 'message' }, b.message)),
      ),
    (el, b) => setText(el.querySelector('[data-field="resolution"]'), ` · answered ${b.resolution?.choice ?? ''}${b.resolution?.by ? ` by ${b.resolution.by}` : ''}${b.resolution?.text ? `: “${b.resolution.text}”` : ''}`),
  );
  return { open: open.length, done: done.length };
}

function createBlocker(b, state, answer) {
  const textId = `blocker-${b.id}-text`;
  const errorEl = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const textarea = b.options.includes('answer')
    ? h('textarea', { id: textId, name: 'text', rows: '4', placeholder: 'Guidance for the agent…', required: true })
    : null;
  const buttons = b.options.map((choice) =>
    h(
      'button',
      {
        type: 'submit',
        name: 'choice',
        value: choice,
        class: `btn ${choice === 'stop' ? 'danger' : choice === 'answer' || choice === 'retry' ? 'primary' : ''}`,
        title: HINTS[choice],
        'data-choice': choice,
      },
      icon(ICONS[choice]),
      LABELS[choice] ?? choice,
    ),
  );
  const form = h(
    'form',
    { class: 'blocker-form', 'data-blocker-form': b.id },
    textarea ? h('label', { for: textId }, 'Your answer') : null,
    textarea,
    b.options.length ? h('div', { class: 'choices' }, buttons) : h('p', { class: 'muted small' }, 'This blocker accepts no answer; the session was stopped.'),
    errorEl,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const choice = event.submitter?.value ?? (textarea ? 'answer' : b.options[0]);
    const text = textarea?.value.trim() ?? '';
    if (choice === 'answer' && !text) {
      showError(errorEl, 'Write an answer first.');
      textarea?.focus();
      return;
    }
    errorEl.hidden = true;
    for (const button of form.querySelectorAll('button')) button.disabled = true;
    form.classList.add('pending');
    try {
      await answer(b.id, choice, choice === 'answer' || text ? text : undefined);
      // The blocker closes when its event arrives; until then it stays, dimmed.
      setText(errorEl, '');
    } catch (error) {
      showError(errorEl, error?.message ?? String(error));
      for (const button of form.querySelectorAll('button')) button.disabled = !state.live;
      form.classList.remove('pending');
    }
  });
  const worker = b.workerId ? state.worker(b.workerId) : null;
  return h(
    'article',
    { class: 'blocker', 'data-blocker': b.id, 'aria-labelledby': `blocker-${b.id}-title` },
    h(
      'header',
      { class: 'blocker-head' },
      pill(b.kind, 'bad'),
      h('h3', { id: `blocker-${b.id}-title` }, `${b.id}${b.workerId ? ` · ${b.workerId}` : ''}${b.targets?.length ? ` · ${b.targets.join(', ')}` : ''}`),
      worker ? h('span', { class: `agent agent-${worker.agent}` }, worker.agent) : null,
    ),
    h('pre', { class: 'message' }, b.message),
    h('p', { class: 'action' }, h('strong', {}, 'What to do: '), b.action),
    form,
  );
}

function updateBlocker(el, state) {
  const form = el.querySelector('form');
  if (!form || form.classList.contains('pending')) return;
  for (const button of form.querySelectorAll('button')) button.disabled = !state.live;
  el.classList.toggle('not-live', !state.live);
}

function showError(el, message) {
  el.hidden = false;
  setText(el, message);
}
