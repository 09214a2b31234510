// The event log: compact rows with a type badge, filters by worker and type (agent kinds too) and text,
// auto-scroll that turns itself off when you scroll up, rows that expand to the event's JSON. The DOM is
// capped at MAX_ROWS rows (the oldest go first).

import { clockTime, describeEvent, eventSubject, h, setText } from './util.js';

export const MAX_ROWS = 2000;
const AGENT_KINDS = [
  'message',
  'reasoning',
  'tool_call',
  'tool_result',
  'command',
  'file_change',
  'plan',
  'usage',
  'error',
  'result',
  'init',
  'unknown',
  'malformed',
];
const TYPES = ['state', 'recovery', 'blocker', 'review', 'decision', 'safety', 'workspace', 'notification'];

export class EventLog {
  root: any;
  follow: any;
  filter: any;
  knownSubjects: any;
  unseen: any;
  shown: any;
  /** Where the list's own last scroll (to its end) left it; null once the person has scrolled. */
  programmaticTop: number | null;
  workerSelect: any;
  typeSelect: any;
  search: any;
  followBox: any;
  count: any;
  jump: any;
  list: any;
  openMessages: any;
  selected: any;
  detailTitle: any;
  detailJson: any;
  detail: any;
  scrollFrame: any;
  constructor(root) {
    this.root = root;
    this.follow = true;
    this.filter = { worker: '', type: '', text: '' };
    this.knownSubjects = new Set();
    this.unseen = 0;
    this.shown = 0;
    this.programmaticTop = null;

    const id = (name) => `log-${name}`;
    this.workerSelect = h('select', { id: id('worker'), 'data-filter': 'worker' }, h('option', { value: '' }, 'all'));
    this.typeSelect = h(
      'select',
      { id: id('type'), 'data-filter': 'type' },
      h('option', { value: '' }, 'all'),
      h('option', { value: 'notable' }, 'notable (no agent chatter)'),
      h(
        'optgroup',
        { label: 'orchestrator' },
        TYPES.map((t) => h('option', { value: t }, t)),
      ),
      h(
        'optgroup',
        { label: 'agent' },
        h('option', { value: 'agent' }, 'agent (all kinds)'),
        AGENT_KINDS.map((k) => h('option', { value: `agent:${k}` }, k)),
      ),
    );
    this.search = h('input', {
      id: id('search'),
      type: 'search',
      placeholder: 'filter text  ( / )',
      'data-filter': 'text',
      autocomplete: 'off',
    });
    this.followBox = h('input', { id: id('follow'), type: 'checkbox', checked: true, 'data-control': 'follow' });
    this.count = h('span', { class: 'muted log-count', 'aria-live': 'off' });
    this.jump = h(
      'button',
      { type: 'button', class: 'btn small jump', hidden: true, onclick: () => this.setFollow(true) },
      '↓ new events',
    );
    this.list = h('ol', { class: 'log', tabindex: '0', 'aria-label': 'Event log', 'data-log': '' });
    /** Per agent worker: the row of the message it is streaming (gemini deltas), until its next other event. */
    this.openMessages = new Map();
    this.selected = null;
    // The clicked event, whole, in a panel of its own below the log (not inside the log's fixed height).
    this.detailTitle = h('span', { class: 'event-detail-title' });
    this.detailJson = h('pre', { class: 'json', tabindex: '0' });
    this.detail = h(
      'section',
      {
        id: id('detail'),
        class: 'event-detail',
        hidden: true,
        'aria-label': 'Selected event',
        'data-event-detail': '',
      },
      h(
        'header',
        {},
        this.detailTitle,
        h(
          'button',
          {
            type: 'button',
            class: 'btn small ghost',
            'data-action': 'close-detail',
            onclick: () => this.closeDetail(),
          },
          'Close',
        ),
      ),
      this.detailJson,
    );

    root.replaceChildren(
      h(
        'div',
        { class: 'log-toolbar' },
        h('label', { for: id('worker') }, 'Worker ', this.workerSelect),
        h('label', { for: id('type') }, 'Type ', this.typeSelect),
        h('label', { for: id('search'), class: 'grow' }, h('span', { class: 'visually-hidden' }, 'Text'), this.search),
        h('label', { for: id('follow'), class: 'follow' }, this.followBox, ' Auto-scroll'),
        this.count,
      ),
      h('div', { class: 'log-wrap' }, this.list, this.jump),
      this.detail,
    );

    this.workerSelect.addEventListener('change', () => this.setFilter({ worker: this.workerSelect.value }));
    this.typeSelect.addEventListener('change', () => this.setFilter({ type: this.typeSelect.value }));
    this.search.addEventListener('input', () => this.setFilter({ text: this.search.value.trim().toLowerCase() }));
    this.followBox.addEventListener('change', () => this.setFollow(this.followBox.checked));
    this.list.addEventListener('scroll', () => this.onScroll(), { passive: true });
    this.list.addEventListener('click', (e) => this.onClick(e));
    this.updateCount();
  }

  reset() {
    this.list.replaceChildren();
    this.openMessages.clear();
    this.closeDetail();
    this.shown = 0;
    this.knownSubjects.clear();
    for (const option of [...this.workerSelect.options].slice(1)) option.remove();
    this.unseen = 0;
    this.updateCount();
  }

  /** Make the worker filter offer these subjects (workers, 'session', rounds). */
  offerSubjects(subjects) {
    for (const s of subjects) this.addSubject(s);
  }

  addSubject(subject) {
    if (!subject || this.knownSubjects.has(subject)) return;
    this.knownSubjects.add(subject);
    this.workerSelect.append(h('option', { value: subject }, subject));
  }

  add(e) {
    const subject = eventSubject(e);
    this.addSubject(subject);
    // Gemini streams its answer in small deltas: one row per message, not per piece, even when another worker's
    // events come in between. Anything else from the same agent ends the message. The log keeps every piece.
    const agentId = e.type === 'agent' ? e.workerId : null;
    const open = agentId ? this.openMessages.get(agentId) : undefined;
    if (e.type === 'agent' && e.kind === 'message' && e.delta && open?.isConnected) {
      open.events.push(e);
      open.message += e.text;
      setText(open.querySelector('.text'), open.message.replace(/\s+/g, ' ').trim().slice(0, 400));
      open.dataset.search = `${open.dataset.search}${e.text.toLowerCase()}`;
      if (open === this.selected) this.showDetail(open);
      this.afterAdd(open, true);
      return;
    }
    if (agentId) this.openMessages.delete(agentId);
    const row = this.row(e, subject);
    if (e.type === 'agent' && e.kind === 'message' && e.delta) {
      row.message = e.text;
      this.openMessages.set(agentId, row);
    }
    this.list.append(row);
    while (this.list.childElementCount > MAX_ROWS) {
      const first = this.list.firstElementChild;
      if (!first.hidden) this.shown--;
      first.remove();
    }
    this.afterAdd(row, false);
  }

  afterAdd(row, merged) {
    const visible = this.matches(row);
    if (merged && row.hidden !== !visible) this.shown += visible ? 1 : -1;
    else if (!merged && visible) this.shown++;
    row.hidden = !visible;
    this.updateCount();
    if (!visible) return;
    if (this.follow) this.scheduleScroll();
    else if (!merged) {
      this.unseen++;
      this.jump.hidden = false;
      setText(this.jump, `↓ ${this.unseen} new`);
    }
  }

  row(e, subject) {
    // Agent events and workspace events say what happened in their badge (kind, action); the rest their type.
    const badge = e.type === 'agent' ? e.kind : e.type === 'workspace' ? e.action : e.type;
    const text = describeEvent(e);
    const tone = badgeTone(e);
    const row = h(
      'li',
      {
        class: `ev ev-${e.type}`,
        'data-seq': e.seq,
        'data-type': e.type,
        'data-kind': e.type === 'agent' ? e.kind : e.type === 'workspace' ? e.action : '',
        'data-worker': subject,
        'data-search': `${subject} ${badge} ${text}`.toLowerCase(),
        ...(e.type === 'agent' && e.kind === 'message' && e.delta ? { 'data-delta': e.workerId } : {}),
      },
      h(
        'button',
        { type: 'button', class: 'ev-row', 'aria-controls': this.detail.id, title: 'Show this event' },
        h('time', { class: 'clock', datetime: e.ts, title: new Date(e.ts).toLocaleString() }, clockTime(e.ts)),
        h(
          'span',
          {
            class: `badge tone-${tone}`,
            title:
              e.type === 'agent'
                ? `agent ${e.kind} (${e.agent})`
                : e.type === 'workspace'
                  ? `workspace ${e.action}`
                  : e.type,
          },
          badge,
        ),
        h('span', { class: 'who', title: subject }, subject),
        h('span', { class: 'text' }, text),
      ),
    );
    row.events = [e];
    return row;
  }

  /** A click on a row shows its event (every piece, for a streamed message) in the detail panel below the log. */
  onClick(e) {
    const button = e.target instanceof Element ? e.target.closest('button.ev-row') : null;
    const row = button?.closest('li');
    if (!row) return;
    if (row === this.selected) this.closeDetail();
    else this.showDetail(row);
  }

  showDetail(row) {
    this.selected?.classList.remove('selected');
    this.selected = row;
    row.classList.add('selected');
    const [first] = row.events;
    setText(
      this.detailTitle,
      `#${first.seq} ${row.querySelector('.badge').textContent} · ${row.dataset.worker}` +
        `${row.events.length > 1 ? ` · ${row.events.length} pieces` : ''}`,
    );
    this.detailJson.textContent = row.events.map((ev) => JSON.stringify(ev, null, 2)).join('\n');
    this.detail.hidden = false;
  }

  closeDetail() {
    this.selected?.classList.remove('selected');
    this.selected = null;
    this.detail.hidden = true;
  }

  setFilter(partial) {
    Object.assign(this.filter, partial);
    this.shown = 0;
    for (const row of this.list.children) {
      row.hidden = !this.matches(row);
      if (!row.hidden) this.shown++;
    }
    this.updateCount();
    if (this.follow) this.scrollToEnd();
  }

  matches(row) {
    const { worker, type, text } = this.filter;
    if (worker && row.dataset.worker !== worker) return false;
    if (type === 'notable') {
      if (
        row.dataset.type === 'agent' &&
        !['error', 'result', 'init', 'file_change', 'command'].includes(row.dataset.kind)
      )
        return false;
    } else if (type.startsWith('agent:')) {
      if (row.dataset.type !== 'agent' || row.dataset.kind !== type.slice(6)) return false;
    } else if (type && row.dataset.type !== type) return false;
    if (text && !row.dataset.search.includes(text)) return false;
    return true;
  }

  updateCount() {
    const total = this.list.childElementCount;
    setText(this.count, this.shown === total ? `${total} events` : `${this.shown} of ${total} events`);
  }

  setFollow(on) {
    this.follow = on;
    this.followBox.checked = on;
    if (on) {
      this.unseen = 0;
      this.jump.hidden = true;
      this.scrollToEnd();
    }
  }

  toggleFollow() {
    this.setFollow(!this.follow);
  }

  focusSearch() {
    this.search.focus();
    this.search.select();
  }

  scheduleScroll() {
    if (this.scrollFrame) return;
    this.scrollFrame = requestAnimationFrame(() => {
      this.scrollFrame = null;
      this.scrollToEnd();
    });
  }

  scrollToEnd() {
    this.list.scrollTop = this.list.scrollHeight;
    // Its scroll event arrives later: it is known by where it left the list, not by a time window (a person's
    // scroll right after an automatic one must still turn auto-scroll off).
    this.programmaticTop = this.list.scrollTop;
  }

  onScroll() {
    const top = this.list.scrollTop;
    if (this.programmaticTop !== null && Math.abs(top - this.programmaticTop) <= 1) return;
    this.programmaticTop = null;
    const atEnd = top + this.list.clientHeight >= this.list.scrollHeight - 24;
    if (!atEnd && this.follow) this.setFollow(false);
    else if (atEnd && !this.follow && this.unseen > 0) {
      this.unseen = 0;
      this.jump.hidden = true;
    }
  }
}

function badgeTone(e) {
  switch (e.type) {
    case 'agent':
      if (e.kind === 'error') return e.retrying || e.warning ? 'warn' : 'bad';
      if (e.kind === 'result') return e.ok ? 'ok' : 'bad';
      if (e.kind === 'malformed') return 'warn';
      return 'idle';
    case 'state':
      return 'run';
    case 'recovery':
      return 'warn';
    case 'blocker':
      return e.resolution ? 'ok' : 'bad';
    case 'review':
      return e.verdict?.verdict === 'approve' ? 'ok' : e.verdict?.verdict === 'blocker' ? 'bad' : 'warn';
    case 'decision':
      return e.decision === 'CONTINUE' ? 'ok' : e.decision === 'STOP_AND_ESCALATE' ? 'bad' : 'warn';
    case 'safety':
      // Which sandbox runs is information; a fallback or a rule that only logged is a warning; a refusal, pause or stop
      // is bad.
      return e.action === 'log' ? (e.rule === 'sandbox' ? 'idle' : 'warn') : e.action === 'warn' ? 'warn' : 'bad';
    case 'workspace':
      // A conflict or a failed setup command needs a person; a result integrated or applied is good news.
      if (e.action === 'conflict') return 'bad';
      if (e.action === 'setup') return e.exitCode === undefined || e.exitCode === 0 ? 'idle' : 'bad';
      if (e.action === 'integrate' || e.action === 'apply') return 'ok';
      if (e.action === 'commit') return 'run';
      return e.action === 'discard' ? 'warn' : 'idle';
    case 'notification':
      return e.ok ? 'idle' : 'warn';
    case 'permission':
      return e.decision === 'allow' ? 'ok' : e.decision === 'ask' ? 'warn' : 'bad';
    default:
      return 'idle';
  }
}
