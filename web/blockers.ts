// Blockers: what a person must answer. Each open blocker shows its kind, message, what to do, a button per
// option and, for `answer`, a text box; for `agent` (a merge conflict), which agent resolves it. A conflict
// shows its files and the checkout where a person can resolve it. Answered blockers are listed below, folded.

import type { SessionState } from './store.js';
import { h, icon, pill, reconcile, setText } from './util.js';

const LABELS = { retry: 'Retry', skip: 'Skip', stop: 'Stop', answer: 'Send answer', agent: 'Let an agent resolve it' };
const ICONS = { retry: 'retry', skip: 'skip', stop: 'stop', answer: 'send', agent: 'agent' };
const HINTS = {
  retry: 'run the worker again (after you resolved what blocked it)',
  skip: 'go on without this worker',
  stop: 'stop the whole session',
  answer: 'send the text to the agent',
  agent: 'a new worker of the chosen agent resolves the conflict, and is reviewed like any worker',
};
/** The agents that can be asked to resolve a conflict. */
const AGENTS = ['claude', 'codex', 'gemini', 'opencode', 'qwen'];

/**
 * @param openContainer where the open blockers go
 * @param doneContainer where the answered ones go
 * @param answer async (blockerId, choice, {text, agent}) => void; throws ApiError
 */
export function renderBlockers(openContainer, doneContainer, state: SessionState, answer) {
  const blockers = state.view?.blockers ?? [];
  const open = blockers.filter((b) => b.open);
  const done = blockers.filter((b) => !b.open).reverse();
  reconcile(
    openContainer,
    open,
    (b) => b.id,
    (b) => createBlocker(b, state, answer),
    (el) => updateBlocker(el, state),
  );
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
        b.conflict
          ? h(
              'span',
              { class: 'muted' },
              ` · ${b.conflict.files.length} conflicting ${b.conflict.files.length === 1 ? 'file' : 'files'}`,
            )
          : null,
        h('details', { class: 'small' }, h('summary', {}, 'message'), h('pre', { class: 'message' }, b.message)),
      ),
    (el, b) =>
      setText(
        el.querySelector('[data-field="resolution"]'),
        ` · answered ${b.resolution?.choice ?? ''}${b.resolution?.agent ? ` (${b.resolution.agent})` : ''}` +
          `${b.resolution?.by ? ` by ${b.resolution.by}` : ''}` +
          `${b.resolution?.text ? `: “${b.resolution.text}”` : ''}`,
      ),
  );
  return { open: open.length, done: done.length };
}

function createBlocker(b, state, answer) {
  const textId = `blocker-${b.id}-text`;
  const errorEl = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const textarea = b.options.includes('answer')
    ? h('textarea', { id: textId, name: 'text', rows: '4', placeholder: 'Guidance for the agent…', required: true })
    : null;
  const worker = b.workerId
    ? state.worker(b.workerId)
    : ((b.targets ?? []).map((id) => state.worker(id)).find(Boolean) ?? null);
  const agentId = `blocker-${b.id}-agent`;
  const agentSelect = b.options.includes('agent')
    ? h(
        'select',
        { id: agentId, name: 'agent', 'data-field': 'agent' },
        AGENTS.map((agent) =>
          h(
            'option',
            { value: agent, selected: agent === worker?.agent },
            agent === worker?.agent ? `${agent} (its own)` : agent,
          ),
        ),
      )
    : null;
  const buttons = b.options.map((choice) => {
    const button = h(
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
    );
    // The agent picker sits with its button: one choice, two controls.
    return choice === 'agent'
      ? h(
          'span',
          { class: 'choice-group' },
          button,
          h('label', { for: agentId, class: 'visually-hidden' }, 'Agent that resolves the conflict'),
          agentSelect,
        )
      : button;
  });
  const form = h(
    'form',
    { class: 'blocker-form', 'data-blocker-form': b.id },
    textarea ? h('label', { for: textId }, 'Your answer') : null,
    textarea,
    b.options.length
      ? h('div', { class: 'choices' }, buttons)
      : h('p', { class: 'muted small' }, 'This blocker accepts no answer; the session was stopped.'),
    errorEl,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const choice = (event.submitter as HTMLButtonElement | null)?.value ?? (textarea ? 'answer' : b.options[0]);
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
      await answer(b.id, choice, {
        text: choice === 'answer' || text ? text : undefined,
        agent: choice === 'agent' ? agentSelect?.value : undefined,
      });
      // The blocker closes when its event arrives; until then it stays, dimmed.
      setText(errorEl, '');
    } catch (error) {
      showError(errorEl, (error as Error)?.message ?? String(error));
      for (const button of form.querySelectorAll('button')) button.disabled = !state.live;
      form.classList.remove('pending');
    }
  });
  return h(
    'article',
    { class: 'blocker', 'data-blocker': b.id, 'aria-labelledby': `blocker-${b.id}-title` },
    h(
      'header',
      { class: 'blocker-head' },
      pill(b.kind, 'bad'),
      h(
        'h3',
        { id: `blocker-${b.id}-title` },
        `${b.id}${b.workerId ? ` · ${b.workerId}` : ''}${b.targets?.length ? ` · ${b.targets.join(', ')}` : ''}`,
      ),
      worker ? h('span', { class: `agent agent-${worker.agent}` }, worker.agent) : null,
    ),
    h('pre', { class: 'message' }, b.message),
    b.conflict ? conflictBox(b.conflict) : null,
    h('p', { class: 'action' }, h('strong', {}, 'What to do: '), b.action),
    form,
  );
}

/** A merge conflict: the files, what was being merged, and the checkout where a person resolves it. */
function conflictBox(conflict) {
  const dir = h('code', { class: 'conflict-dir', 'data-field': 'conflict-dir' }, conflict.dir);
  const copied = h('span', { class: 'muted small', role: 'status' });
  const copy = h(
    'button',
    {
      type: 'button',
      class: 'btn small ghost',
      onclick: async () => {
        try {
          await navigator.clipboard.writeText(conflict.dir);
          setText(copied, 'copied');
        } catch {
          // No clipboard (an insecure origin, a refusal): select the path for a manual copy.
          getSelection()?.selectAllChildren(dir);
          setText(copied, 'selected: copy it with Ctrl+C');
        }
      },
    },
    'Copy path',
  );
  const sources = conflict.sources.map((s) => (s === '_result' ? 'the result' : s));
  return h(
    'div',
    { class: 'conflict', 'data-field': 'conflict' },
    h(
      'p',
      {},
      h('strong', {}, `${conflict.files.length} conflicting ${conflict.files.length === 1 ? 'file' : 'files'}`),
      sources.length ? h('span', { class: 'muted' }, ` merging ${sources.join(' + ')}`) : null,
    ),
    h(
      'ul',
      { class: 'conflict-files', 'data-field': 'conflict-files' },
      conflict.files.map((f) => h('li', {}, h('code', {}, f))),
    ),
    h('p', { class: 'conflict-where' }, 'Resolve them in ', dir, ' ', copy, ' ', copied),
  );
}

function updateBlocker(el, state) {
  const form = el.querySelector('form');
  if (!form || form.classList.contains('pending')) return;
  for (const control of form.querySelectorAll('button, select')) control.disabled = !state.live;
  el.classList.toggle('not-live', !state.live);
}

function showError(el, message) {
  el.hidden = false;
  setText(el, message);
}
