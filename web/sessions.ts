// The session list (#/): every session of the workspace, newest first, refreshed every few seconds.

import type { SessionSummary } from '../src/domain/session-view.js';
import { fill, h, percent, reconcile, setText, stateTone, timeEl, updatePill, updateTimeEl } from './util.js';

export function renderSessions(container, sessions: SessionSummary[]) {
  if (sessions.length === 0) {
    fill(
      container,
      h(
        'div',
        { class: 'empty big' },
        h('p', {}, 'No session in this workspace yet.'),
        h(
          'p',
          { class: 'muted' },
          'Start one with ',
          h('code', {}, 'orchestrate run "<task>"'),
          ' or ',
          h('code', {}, 'POST /api/v1/orchestrate'),
          '.',
        ),
      ),
    );
    return;
  }
  if (container.querySelector('.empty')) container.replaceChildren();
  reconcile(container, sessions, (s) => s.sessionId, createRow, updateRow);
}

function createRow(s) {
  const href = `#/sessions/${encodeURIComponent(s.sessionId)}`;
  return h(
    'li',
    { class: 'session-row', 'data-session': s.sessionId },
    h(
      'a',
      { class: 'session-link', href },
      h(
        'div',
        { class: 'session-main' },
        h('span', { class: 'session-task', 'data-field': 'task' }),
        h('span', { class: 'session-id mono muted' }, s.sessionId),
      ),
      h('div', { class: 'session-workers', 'data-field': 'workers' }),
      h(
        'div',
        { class: 'session-side' },
        h('span', { 'data-field': 'state', class: 'pill' }),
        h('span', { 'data-field': 'blockers', class: 'pill tone-bad', hidden: true }),
        h('span', { 'data-field': 'live', class: 'live-dot', hidden: true, title: 'running in this server' }, 'live'),
        timeEl(s.createdAt),
      ),
    ),
  );
}

function updateRow(el, s) {
  const get = (name) => el.querySelector(`[data-field="${name}"]`);
  const task = get('task');
  setText(task, s.task.split('\n')[0]);
  task.title = s.task;
  const label = s.outcome && s.outcome !== s.state ? `${s.state} · ${s.outcome}` : s.state;
  updatePill(get('state'), label, stateTone(s.outcome === 'escalated' ? 'escalated' : s.state));
  const blockers = get('blockers');
  blockers.hidden = s.openBlockers === 0;
  setText(blockers, `${s.openBlockers} blocker${s.openBlockers === 1 ? '' : 's'}`);
  get('live').hidden = !s.live;
  el.classList.toggle('is-live', s.live);
  updateTimeEl(el.querySelector('time'), s.createdAt);
  reconcile(
    get('workers'),
    s.workers,
    (w) => w.id,
    (w) =>
      h(
        'span',
        { class: 'mini-worker', 'data-worker': w.id },
        h('span', { class: 'mini-name' }, w.id),
        h('span', { class: 'mini-bar' }, h('span', { class: 'bar' })),
      ),
    (node, w) => {
      node.className = `mini-worker tone-${stateTone(w.status)}`;
      node.title = `${w.id} (${w.agent}): ${w.status} ${percent(w.progress)}`;
      node.querySelector('.bar').style.width = `${Math.round((w.status === 'completed' ? 1 : w.progress) * 100)}%`;
    },
  );
}
