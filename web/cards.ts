// Worker cards: one per worker (reviewers after the workers), updated in place so progress bars glide.

import type { SessionState } from './store.js';
import { FINAL_WORKER_STATUSES } from '../src/domain/worker-status.js';
import {
  branchTail,
  fill,
  h,
  icon,
  percent,
  reconcile,
  setText,
  stateTone,
  timeEl,
  updatePill,
  updateTimeEl,
  usageText,
} from './util.js';

/**
 * @param container element that holds the cards
 * @param state SessionState
 * @param actions {pauseWorker(id), resumeWorker(id), reviewWorker(id), stopWorker(id), showChanges(id),
 *   sayToWorker(id, text)}
 */
export function renderCards(container, state: SessionState, actions) {
  const workers = [...(state.view?.workers ?? [])].sort((a, b) => rank(a) - rank(b));
  reconcile(
    container,
    workers,
    (w) => w.id,
    (w) => createCard(w, actions),
    (el, w) => updateCard(el, w, state),
  );
}

const rank = (w) => (w.kind === 'reviewer' ? 1 : 0);

function createCard(w, actions) {
  const titleId = `card-${w.id}`;
  const field = (name, tag = 'span', attrs = {}) => h(tag, { ...attrs, 'data-field': name });
  const card = h(
    'article',
    { class: `card ${w.kind === 'reviewer' ? 'reviewer' : ''}`, 'data-worker': w.id, 'aria-labelledby': titleId },
    h(
      'header',
      { class: 'card-head' },
      h(
        'h3',
        { id: titleId, class: 'card-title', title: w.id },
        w.kind === 'reviewer' ? h('span', { class: 'muted', 'aria-hidden': 'true' }, '↳ ') : null,
        w.id,
      ),
      field('state', 'span', { class: 'pill state' }),
    ),
    h(
      'div',
      { class: 'card-sub' },
      h('span', { class: `agent agent-${w.agent}` }, w.agent),
      field('role', 'span', { class: 'role' }),
      field('attempt', 'span', { class: 'attempt' }),
    ),
    h(
      'div',
      {
        class: 'progress',
        role: 'progressbar',
        'aria-valuemin': '0',
        'aria-valuemax': '100',
        'aria-label': `${w.id} progress`,
        'data-field': 'progress',
      },
      h('div', { class: 'bar' }),
    ),
    h(
      'div',
      { class: 'card-meta' },
      field('pct', 'span', { class: 'pct' }),
      field('plan', 'span', { class: 'plan' }),
      field('usage', 'span', { class: 'usage' }),
    ),
    h('p', { class: 'activity' }, field('activity', 'span', { class: 'activity-text' }), timeEl(null)),
    field('failure', 'p', { class: 'failure', hidden: true }),
    field('blocked', 'p', { class: 'blocked-note', hidden: true }),
    field('summary', 'p', { class: 'summary', hidden: true }),
    // Interactive workers take a message while they run: it reaches the agent now, as a new user turn.
    w.mode === 'interactive'
      ? h(
          'form',
          {
            class: 'say',
            'data-field': 'say',
            hidden: true,
            onsubmit: (event) => {
              event.preventDefault();
              const input = (event.currentTarget as HTMLFormElement).querySelector('input') as HTMLInputElement;
              const text = input.value.trim();
              if (text) void Promise.resolve(actions.sayToWorker(w.id, text)).then(() => (input.value = ''));
            },
          },
          h('input', {
            type: 'text',
            name: 'message',
            placeholder: `Tell ${w.id}…`,
            'aria-label': `Message to ${w.id}`,
            maxlength: '4000',
          }),
          h('button', { type: 'submit', class: 'btn small', 'data-action': 'say' }, 'Send'),
        )
      : null,
    h(
      'p',
      { class: 'branch-line', 'data-field': 'branch', hidden: true },
      h(
        'button',
        { type: 'button', class: 'branch-link', 'data-action': 'changes', onclick: () => actions.showChanges(w.id) },
        icon('branch'),
        h('span', { class: 'branch-name mono', 'data-field': 'branch-name' }),
      ),
      field('change', 'span', { class: 'counts' }),
    ),
    h(
      'footer',
      { class: 'card-actions' },
      h(
        'button',
        {
          type: 'button',
          class: 'btn small',
          'data-action': 'pause',
          onclick: () => actions.pauseWorker(w.id),
          'aria-label': `Pause ${w.id}`,
        },
        icon('pause'),
        'Pause',
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'btn small',
          'data-action': 'resume',
          onclick: () => actions.resumeWorker(w.id),
          'aria-label': `Resume ${w.id}`,
        },
        icon('play'),
        'Resume',
      ),
      w.kind === 'worker'
        ? h(
            'button',
            {
              type: 'button',
              class: 'btn small ghost',
              'data-action': 'review',
              onclick: () => actions.reviewWorker(w.id),
              'aria-label': `Review ${w.id} now`,
            },
            icon('review'),
            'Review',
          )
        : null,
      h(
        'button',
        {
          type: 'button',
          class: 'btn small ghost danger',
          'data-action': 'stop',
          title: "End this worker's agent; the session goes on without it (the worker counts as skipped)",
          onclick: () => {
            if (window.confirm(`Stop ${w.id}? Its agent is ended and the session goes on without it.`))
              actions.stopWorker(w.id);
          },
          'aria-label': `Stop ${w.id}`,
        },
        icon('stop'),
        'Stop',
      ),
    ),
  );
  return card;
}

function updateCard(card, w, state) {
  const get = (name) => card.querySelector(`[data-field="${name}"]`);
  // Reviewers of earlier rounds that are done shrink to a line or two: the current work stays in front.
  card.classList.toggle(
    'compact',
    w.kind === 'reviewer' && FINAL_WORKER_STATUSES.includes(w.status) && roundOf(w) < latestRound(state),
  );
  const tone = stateTone(w.status);
  card.dataset.status = w.status;
  card.dataset.state = w.state;
  for (const c of [...card.classList]) if (c.startsWith('tone-')) card.classList.remove(c);
  card.classList.add(`tone-${tone}`);

  const stateEl = get('state');
  updatePill(stateEl, w.status, tone);
  stateEl.title = `machine state: ${w.state}`;

  setText(get('role'), w.kind === 'reviewer' ? `reviewer${w.roundId ? ` · ${w.roundId}` : ''}` : w.role);
  setText(get('attempt'), w.attempt > 1 ? `attempt ${w.attempt}` : '');

  const progress = w.status === 'completed' ? 1 : Math.max(0, Math.min(1, w.progress ?? 0));
  const bar = get('progress');
  const value = String(Math.round(progress * 100));
  if (bar.getAttribute('aria-valuenow') !== value) {
    bar.setAttribute('aria-valuenow', value);
    bar.firstElementChild.style.width = `${progress * 100}%`;
  }
  bar.classList.toggle('indeterminate', w.status === 'running' && progress === 0);
  setText(get('pct'), percent(progress));
  setText(get('plan'), w.plan ? `plan ${w.plan.done}/${w.plan.total}` : '');
  setText(get('usage'), usageText(w.usage));

  const last = state.lastEventOf.get(w.id);
  setText(
    get('activity'),
    w.lastActivity ??
      (w.status === 'spawned' ? (w.dependsOn?.length ? `waiting for ${w.dependsOn.join(', ')}` : 'not started') : ''),
  );
  get('activity').title = w.lastActivity ?? '';
  updateTimeEl(card.querySelector('.activity time'), last?.ts ?? null);

  const failure = get('failure');
  const showFailure = Boolean(w.lastFailure) && !['completed', 'running'].includes(w.status);
  failure.hidden = !showFailure;
  if (showFailure) setText(failure, `${w.lastFailure.kind}: ${w.lastFailure.message}`);

  const blocked = get('blocked');
  blocked.hidden = !w.blockerId;
  if (w.blockerId) setText(blocked, `Waiting for your answer to blocker ${w.blockerId}`);

  const summary = get('summary');
  const verdict = w.kind === 'reviewer' ? verdictOf(w, state) : null;
  const text = verdict ? `${verdict.verdict.verdict}: ${verdict.verdict.summary}` : w.summary;
  const showSummary = Boolean(text) && (FINAL_WORKER_STATUSES.includes(w.status) || Boolean(verdict));
  summary.hidden = !showSummary;
  if (showSummary) {
    setText(summary, text);
    summary.title = text;
  }
  card.querySelector('.card-actions').hidden = FINAL_WORKER_STATUSES.includes(w.status) || !state.live;

  // Its branch (orch/<sid>/<worker>, in a session with checkouts) and what it changed there so far.
  const branchLine = get('branch');
  const change = w.kind === 'worker' ? w.change : null;
  branchLine.hidden = !change;
  if (change) {
    const name = get('branch-name');
    setText(name, `orch/…/${branchTail(change.branch)}`);
    branchLine.dataset.branch = change.branch;
    const link = card.querySelector('[data-action="changes"]');
    link.title = `${change.branch}: show its changes`;
    link.setAttribute('aria-label', `Changes of ${w.id} on ${change.branch}`);
    const key = `${change.additions}|${change.deletions}|${change.files}`;
    const counts = get('change');
    if (counts.dataset.key !== key) {
      counts.dataset.key = key;
      fill(
        counts,
        h('span', { class: 'add' }, `+${change.additions}`),
        h('span', { class: 'del' }, `−${change.deletions}`),
        h('span', { class: 'muted' }, `${change.files} ${change.files === 1 ? 'file' : 'files'}`),
      );
    }
  }

  const live = state.live;
  const say = card.querySelector('[data-field="say"]');
  if (say) say.hidden = !(live && w.status === 'running');
  const pause = card.querySelector('[data-action="pause"]');
  const resume = card.querySelector('[data-action="resume"]');
  const review = card.querySelector('[data-action="review"]');
  const canPause = live && (w.status === 'running' || w.status === 'recovering');
  const canResume = live && w.status === 'paused';
  pause.hidden = !canPause && canResume;
  pause.disabled = !canPause;
  resume.hidden = !canResume;
  resume.disabled = !canResume;
  // Stop of one worker: one that has not ended, is not ending, and is not done waiting for its review.
  const stop = card.querySelector('[data-action="stop"]');
  stop.disabled =
    !live ||
    !['spawned', 'running', 'paused', 'recovering', 'blocked'].includes(w.status) ||
    ['stopping', 'completed', 'stopped'].includes(state.view?.state);
  // The session takes REVIEW while running or waiting, of a worker somebody reviews. Finished work is reviewed at
  // once, work under way once it finishes; a worker that ended without finishing has nothing to review.
  if (review) {
    const reviewers = w.reviewers ?? [];
    const ended = ['failed', 'stopped', 'skipped'].includes(w.status);
    review.disabled = !live || !['running', 'waiting'].includes(state.view?.state) || reviewers.length === 0 || ended;
    review.title =
      reviewers.length === 0
        ? `No reviewer is configured for ${w.id}`
        : ended
          ? `${w.id} ended ${w.status}: there is no finished work to review`
          : ['completed', 'reviewing'].includes(w.status)
            ? `Ask ${reviewers.join(', ')} to review ${w.id} now`
            : `Ask ${reviewers.join(', ')} to review ${w.id} once its work is finished`;
  }
}

/** The review a reviewer card stands for: r<round>-<agent>-<target> gave a verdict in round-<round>. */
function verdictOf(w, state) {
  const m = /^r(\d+)-([a-z][a-z0-9-]*?)-(.+)$/.exec(w.id);
  if (!m) return null;
  const roundId = w.roundId ?? `round-${m[1]}`;
  return (
    state.reviews.findLast((r) => r.roundId === roundId && r.reviewer === (w.agent ?? m[2]) && r.target === m[3]) ??
    null
  );
}

function roundOf(w) {
  const m = /^r(\d+)-/.exec(w.id) ?? /(\d+)$/.exec(w.roundId ?? '');
  return m ? Number(m[1]) : 0;
}

function latestRound(state) {
  return Math.max(0, ...(state.view?.workers ?? []).filter((w) => w.kind === 'reviewer').map(roundOf));
}
