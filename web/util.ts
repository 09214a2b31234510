// Small DOM and formatting helpers shared by the dashboard and the inspector. No framework: `h()` builds
// elements (text is always set as text, never parsed as HTML), `reconcile()` keeps keyed lists in place so
// inputs keep their content and CSS transitions (progress bars) run.

import type { AgentPayload, OrchestratorEvent, Usage } from '../src/domain/events.js';
import { type DescribeStyle, describePayload } from '../src/domain/output-facts.js';
import { describePermissionEvent } from '../src/domain/permission-rules.js';
import type { SessionView } from '../src/domain/session-view.js';

export type AnyElement = HTMLElement & Record<string, any>;

/**
 * h('div', {class: 'x', dataset: {id: 'a'}, onclick: fn, hidden: true}, 'text', child, [more, children])
 * Attributes whose value is null/undefined/false are left out; `true` sets an empty attribute. Typed as an HTML
 * element of any kind (an input's value, a button's disabled; an `svg:` one has the dataset, style and listeners
 * used here too), which views may also give properties of their own.
 */
export function h(tag: string, attrs: Record<string, any> = {}, ...children: any[]): AnyElement {
  const el = (
    tag.startsWith('svg:')
      ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
      : document.createElement(tag)
  ) as AnyElement;
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'style' && typeof value === 'object') Object.assign(el.style, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'value' && 'value' in el) el.value = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

export const svg = (tag, attrs, ...children) => h(`svg:${tag}`, attrs, ...children);

const ICONS = {
  pause: [
    ['rect', { x: 3, y: 2, width: 3.5, height: 12, rx: 1 }],
    ['rect', { x: 9.5, y: 2, width: 3.5, height: 12, rx: 1 }],
  ],
  play: [['path', { d: 'M4 2.2v11.6a.6.6 0 0 0 .9.5l9.3-5.8a.6.6 0 0 0 0-1L4.9 1.7a.6.6 0 0 0-.9.5z' }]],
  stop: [['rect', { x: 2.5, y: 2.5, width: 11, height: 11, rx: 1.5 }]],
  review: [['path', { d: 'M2 3h12v1.8H2zM2 7.1h8v1.8H2zM2 11.2h12V13H2z' }]],
  retry: [
    [
      'path',
      {
        d:
          'M8 2.5a5.5 5.5 0 1 0 5.4 6.6h-1.9A3.7 3.7 0 1 1 8 4.3c1 ' +
          '0 1.9.4 2.6 1.1L8.8 7.2H14V2l-2.1 2.1A5.5 5.5 0 0 0 8 2.5z',
      },
    ],
  ],
  skip: [['path', { d: 'M2.5 2.5v11l7-5.5zM11 2.5h2.5v11H11z' }]],
  send: [['path', { d: 'M1.5 2.2 14.5 8l-13 5.8 1.8-5zM3.3 7.1l5.3.9-5.3.9z' }]],
  arrow: [['path', { d: 'M2 7.1h8.6L7.2 3.7l1.3-1.3L14.1 8l-5.6 5.6-1.3-1.3 3.4-3.4H2z' }]],
  apply: [['path', { d: 'M7.1 1.5h1.8v7.3l2.6-2.6 1.3 1.3L8 12.3 3.2 7.5l1.3-1.3 2.6 2.6zM2 12.7h12v1.8H2z' }]],
  trash: [
    [
      'path',
      {
        d:
          'M5.6 1.5h4.8l.6 1.3H14v1.7H2V2.8h3zM3.2 5.4h9.6l-.8 8.3a1 1 ' +
          '0 0 1-1 .8H5a1 1 0 0 1-1-.8zm3 1.6v5.8h1.3V7zm2.3 0v5.8h1.3V7z',
      },
    ],
  ],
  branch: [
    [
      'path',
      {
        d:
          'M4.5 1.8a1.9 1.9 0 0 1 .9 3.6v2.1c.6-.4 1.4-.6 2.3-.6h1c1.1 0 1.9-.7 2-1.7a1.9 1.9 0 1 1 1.8.1C12.3 ' +
          '7.1 10.9 8.6 8.7 8.6h-1c-1.2 0-2.1.7-2.3 1.8v.3a1.9 1.9 0 1 1-1.8 0V5.4a1.9 1.9 0 0 1 .9-3.6z',
      },
    ],
  ],
  agent: [
    ['path', { d: 'M8 1.5a2.6 2.6 0 1 1 0 5.2 2.6 2.6 0 0 1 0-5.2zM3 13.2c0-2.7 2.2-4.6 5-4.6s5 1.9 5 4.6v1.3H3z' }],
  ],
};

/** A 16x16 icon (inline SVG, currentColor), hidden from screen readers: the button text says it. */
export function icon(name) {
  return svg(
    'svg',
    { class: 'icon', viewBox: '0 0 16 16', width: 14, height: 14, 'aria-hidden': 'true', focusable: 'false' },
    (ICONS[name] ?? []).map(([tag, attrs]) => svg(tag, { ...attrs, fill: 'currentColor' })),
  );
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** Replace the children of `el` with `children`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/**
 * Make `container`'s children match `items` (in order), keyed by `key(item)` (stored in data-key).
 * `create(item)` makes a new element, `update(el, item)` refreshes an existing one (also called after create).
 */
export function reconcile(container, items, key, create, update?) {
  const existing = new Map();
  for (const child of [...container.children])
    if (child.dataset.key !== undefined) existing.set(child.dataset.key, child);
  let previous: Element | null = null;
  const keep = new Set();
  for (const item of items) {
    const k = String(key(item));
    keep.add(k);
    let el = existing.get(k);
    if (!el) {
      el = create(item);
      el.dataset.key = k;
    }
    update?.(el, item);
    const expected = previous ? previous.nextElementSibling : container.firstElementChild;
    if (expected !== el) container.insertBefore(el, expected);
    previous = el;
  }
  for (const [k, el] of existing) if (!keep.has(k)) el.remove();
}

/** Set text only when it changed (avoids needless layout and keeps screen readers quiet). */
export function setText(el, text) {
  const value = text === null || text === undefined ? '' : String(text);
  if (el.textContent !== value) el.textContent = value;
}

// --- time ---------------------------------------------------------------------------------------------------

export function relativeTime(ts: string | number, now = Date.now()) {
  const t = typeof ts === 'number' ? ts : Date.parse(ts);
  if (!Number.isFinite(t)) return '';
  const s = Math.round((now - t) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s}s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ago`;
  const hrs = Math.floor(m / 60);
  if (hrs < 24) return `${hrs}h ${m % 60}m ago`;
  const d = Math.floor(hrs / 24);
  return `${d}d ago`;
}

export function clockTime(ts: string | number) {
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

/** A <time> element whose relative text is refreshed by startClock(). */
export function timeEl(ts, cls = 'rel') {
  return h(
    'time',
    { class: cls, datetime: ts, title: ts ? new Date(ts).toLocaleString() : '' },
    ts ? relativeTime(ts) : '',
  );
}

export function updateTimeEl(el, ts) {
  if (el.getAttribute('datetime') !== ts) {
    el.setAttribute('datetime', ts ?? '');
    el.title = ts ? new Date(ts).toLocaleString() : '';
  }
  setText(el, ts ? relativeTime(ts) : '');
}

let clock: number | null = null;
/** Refresh every time.rel in the document every few seconds. */
export function startClock(root = document) {
  if (clock) return;
  clock = setInterval(() => {
    const now = Date.now();
    for (const el of root.querySelectorAll('time.rel[datetime]')) {
      const ts = el.getAttribute('datetime');
      if (ts) setText(el, relativeTime(ts, now));
    }
  }, 5000);
}

export function duration(ms: number) {
  if (!Number.isFinite(ms)) return '';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

// --- numbers ------------------------------------------------------------------------------------------------

export function compact(n: number | null | undefined) {
  if (n === undefined || n === null || !Number.isFinite(n)) return '0';
  if (n < 1000) return String(Math.round(n));
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}k`;
  return `${(n / 1_000_000).toFixed(n < 10_000_000 ? 2 : 1)}M`;
}

export function money(usd: number | null | undefined) {
  if (usd === undefined || usd === null) return null;
  if (usd === 0) return '$0';
  if (usd < 0.01) return `$${usd.toFixed(4)}`;
  return `$${usd.toFixed(2)}`;
}

/** "1.2k in · 340 out · $0.012" (parts that are unknown are left out). */
/** The session's budget limits (view.limits.session), as the usage line shows them: 'limit $5.00 · 1M tokens'. */
export function limitsText(limits: Partial<SessionView['limits']> | null | undefined) {
  const session = limits?.session ?? {};
  const parts: Array<string | null> = [];
  if (session.maxCostUsd !== undefined) parts.push(money(session.maxCostUsd));
  if (session.maxTokens !== undefined) parts.push(`${compact(session.maxTokens)} tokens`);
  return parts.length ? `limit ${parts.join(' · ')}` : '';
}

export function usageText(usage: Usage | null | undefined) {
  if (!usage) return '';
  const parts: Array<string | null> = [];
  if (usage.inputTokens !== undefined || usage.outputTokens !== undefined) {
    parts.push(`${compact(usage.inputTokens ?? 0)} in`, `${compact(usage.outputTokens ?? 0)} out`);
  } else if (usage.totalTokens !== undefined) {
    parts.push(`${compact(usage.totalTokens)} tokens`);
  }
  const cost = money(usage.costUsd);
  if (cost) parts.push(cost);
  return parts.join(' · ');
}

export function percent(p: number | null | undefined) {
  return `${Math.round(Math.max(0, Math.min(1, p ?? 0)) * 100)}%`;
}

// --- states -------------------------------------------------------------------------------------------------

/** The colour family of a state, as in the CLI: running cyan, completed green, trouble red, waiting amber. */
export function stateTone(state: unknown) {
  const s = String(state ?? '');
  if (s.startsWith('completed') || s === 'done' || s === 'approve' || s === 'CONTINUE') return 'ok';
  if (
    s.startsWith('running') ||
    s.startsWith('integrating') ||
    s === 'created' ||
    s === 'collecting' ||
    s === 'requesting' ||
    s === 'deciding'
  )
    return 'run';
  if (
    ['blocked', 'failed', 'stopped', 'stopping', 'waiting', 'escalated', 'blocker', 'STOP_AND_ESCALATE'].some((x) =>
      s.startsWith(x),
    )
  )
    return 'bad';
  if (['recovering', 'paused', 'reviewing', 'concern', 'PAUSE_AND_CLARIFY', 'LOG_WARNING'].some((x) => s.startsWith(x)))
    return 'warn';
  return 'idle';
}

/** A state pill: <span class="pill tone-run">running</span>. */
export function pill(text, tone = stateTone(text), extra = '') {
  return h('span', { class: `pill tone-${tone} ${extra}`.trim() }, text);
}

export function updatePill(el, text, tone = stateTone(text)) {
  setText(el, text);
  const cls = [...el.classList].find((c) => c.startsWith('tone-'));
  if (cls !== `tone-${tone}`) {
    if (cls) el.classList.remove(cls);
    el.classList.add(`tone-${tone}`);
  }
}

/** How the page draws a command's exit code and a usage report in describePayload's lines. */
export const PAGE_STYLE: DescribeStyle = { arrow: '→', usage: (usage) => `usage ${usageText(usage)}` };

/** One line describing an agent event: the domain's describePayload, drawn for the page. */
export function describeAgent(e: AgentPayload) {
  // A kind this build does not know (a newer server) is shown by its name.
  return describePayload(e, PAGE_STYLE) ?? e.kind ?? '';
}

/** The text of one event row in the log. */
export function describeEvent(e: OrchestratorEvent) {
  switch (e.type) {
    case 'agent':
      return describeAgent(e);
    case 'state':
      return `${e.from ?? '∅'} → ${e.to}${e.cause && e.cause !== 'xstate.init' ? `  (${e.cause})` : ''}`;
    case 'recovery':
      return `${e.signal?.kind}: ${e.action}${e.backoffMs ? ` in ${duration(e.backoffMs)}` : ''} — ${e.detail}`;
    case 'blocker':
      return e.resolution
        ? `${e.blockerId} ${e.kind} answered: ${e.resolution.choice}` +
            `${e.resolution.by ? ` (by ${e.resolution.by})` : ''}`
        : `${e.blockerId} ${e.kind}: ${e.message.split('\n')[0]}`;
    case 'review':
      return `${e.reviewer} on ${e.target} (${e.focus}): ${e.verdict?.verdict} — ${e.verdict?.summary}`;
    case 'decision':
      return `${e.roundId} ${e.decision}: ${e.action}`;
    case 'safety':
      if (e.rule === 'sandbox') return `sandbox ${String(e.subject).replace(' -> ', ' → ')}: ${e.detail}`;
      return `${e.rule} ${e.action}: ${e.subject} — ${e.detail}`;
    case 'workspace':
      return describeWorkspace(e);
    case 'permission':
      return `${e.workerId} ${describePermissionEvent(e)}`;
    case 'notification':
      return e.ok
        ? `${e.kind} sent via ${e.channel} (${e.target})`
        : `${e.kind} not sent via ${e.channel} (${e.target}): ${e.error ?? 'failed'} after ${e.attempts} tries`;
    default:
      return '';
  }
}

/**
 * One line for a `workspace` event (checkouts, commits, integration, apply, discard). Its `detail` is already a
 * sentence; what it leaves out is added: the files of a conflict, a setup command's exit code and last output line.
 */
export function describeWorkspace(e: Extract<OrchestratorEvent, { type: 'workspace' }>) {
  const parts = [e.detail];
  if (e.action === 'conflict' && e.files?.length && !e.files.every((f) => e.detail.includes(f)))
    parts.push(`(${e.files.join(', ')})`);
  if (e.action === 'setup' && e.output) {
    const last = e.output.trim().split('\n').filter(Boolean).pop();
    if (last) parts.push(`— ${last.length > 120 ? `${last.slice(0, 119)}…` : last}`);
  }
  return parts.join(' ');
}

/** "+12 −3 · 2 files" for a change ({files, additions, deletions}); '' without one. */
export function changeText(change: { files: number; additions: number; deletions: number } | null | undefined) {
  if (!change) return '';
  return `+${change.additions} −${change.deletions} · ${change.files} ${change.files === 1 ? 'file' : 'files'}`;
}

/** A session branch as a person reads it: orch/<sid>/implementer → implementer (the sid is on the page already). */
export function branchTail(branch: string | null | undefined) {
  const m = /^orch\/[^/]+\/(.+)$/.exec(branch ?? '');
  return m ? m[1] : (branch ?? '');
}

/** Who an event is about: a worker id, the session, a round. */
export function eventSubject(e: OrchestratorEvent) {
  const { workerId } = e as { workerId?: string };
  if (workerId) return workerId;
  if (e.source?.kind === 'session' || (e.source && e.source.id === e.sessionId)) return 'session';
  if (e.type === 'state') return e.machine === 'session' ? 'session' : e.id;
  if (e.type === 'review' || e.type === 'decision') return e.roundId;
  return e.source?.id ?? '';
}

export function debounce(fn, ms) {
  let timer: number | undefined;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** Call fn at most once per `ms` (leading and trailing). */
export function throttle(fn, ms) {
  let last = 0;
  let timer: number | null = null;
  return () => {
    const now = Date.now();
    const wait = last + ms - now;
    if (wait <= 0) {
      last = now;
      fn();
    } else if (!timer) {
      timer = setTimeout(() => {
        timer = null;
        last = Date.now();
        fn();
      }, wait);
    }
  };
}
