// The statechart inspector (GET /inspect/<sid>): the session, worker and review machines drawn from their
// definitions (GET /api/v1/machines, laid out by layout.js), the active state of each actor lit from the
// `state` events of the session's stream, the last transition highlighted with the event that caused it.

import {
  ApiError,
  adoptTokenFromFragment,
  api,
  getToken,
  onUnauthorized,
  openStream,
  setToken,
  tokenFromInput,
} from './api.js';
import { activeNodeIds, edgeLabelLines, findTransition, layoutMachine } from './layout.js';
import {
  clockTime,
  fill,
  h,
  relativeTime,
  setText,
  startClock,
  stateTone,
  svg,
  timeEl,
  updatePill,
  updateTimeEl,
} from './util.js';

const $ = (selector) => document.querySelector(selector);
const sessionId = decodeURIComponent(location.pathname.split('/').filter(Boolean)[1] ?? '');
const HISTORY_LIMIT = 200;

const banner = $('#conn');
function setBanner(state) {
  const text =
    {
      connecting: 'Connecting…',
      live: 'Live',
      reconnecting: 'Connection lost — reconnecting…',
      closed: 'Disconnected',
    }[state] ?? state;
  banner.hidden = false;
  banner.dataset.state = state;
  setText(banner.querySelector('.conn-text'), text);
  const trouble = state === 'reconnecting' || state === 'closed';
  document.body.classList.toggle('conn-trouble', trouble);
  const strip = $('#conn-strip');
  strip.hidden = !trouble;
  strip.classList.toggle('bad', state === 'closed');
  setText(
    strip,
    trouble
      ? state === 'closed'
        ? 'Disconnected from the server.'
        : 'The live connection to the server was lost. Reconnecting… the states catch up when it is back.'
      : '',
  );
}

// --- measuring text for the layout ----------------------------------------------------------------------------

const canvas = document.createElement('canvas').getContext('2d')!;
const fontFamily = getComputedStyle(document.body).fontFamily || 'system-ui, sans-serif';
function measure(text, kind) {
  canvas.font =
    kind === 'node'
      ? `600 13px ${fontFamily}`
      : kind === 'compound'
        ? `600 12px ${fontFamily}`
        : `700 12px ${fontFamily}`;
  const w = canvas.measureText(text).width;
  return kind === 'compound' ? w * 1.12 : w; // uppercase with letter spacing
}

// --- actors --------------------------------------------------------------------------------------------------

/** machine -> graph; machine -> layout (computed once). */
let graphs: any = null;
const layouts = new Map();
/** key `machine:id` -> {machine, id, label, kind, state, last, history[]} */
const actors = new Map();
let selected: string | null = null;
let lastSeq = 0;

function actorKey(machine, id) {
  return `${machine}:${id}`;
}

function ensureActor(machine, id, extra = {}) {
  const key = actorKey(machine, id);
  let actor = actors.get(key);
  if (!actor) {
    actor = {
      key,
      machine,
      id,
      label: machine === 'session' ? 'session' : id,
      kind: machine,
      state: null,
      last: null,
      history: [],
      ...extra,
    };
    actors.set(key, actor);
  } else Object.assign(actor, extra);
  return actor;
}

function applyView(view) {
  ensureActor('session', view.sessionId, { state: view.state });
  for (const w of view.workers)
    ensureActor('worker', w.id, { state: w.state, kind: w.kind, agent: w.agent, role: w.role });
  for (const r of view.rounds ?? []) {
    const actor = ensureActor('review', r.roundId, { targets: r.targets });
    if (!actor.state && r.decision) actor.state = 'done';
  }
}

function applyStateEvent(e) {
  const actor = ensureActor(e.machine, e.machine === 'session' ? sessionId : e.id);
  actor.state = e.to;
  actor.last = e;
  actor.history.push(e);
  if (actor.history.length > HISTORY_LIMIT) actor.history.splice(0, actor.history.length - HISTORY_LIMIT);
  return actor;
}

// --- drawing -------------------------------------------------------------------------------------------------

function layoutOf(machine) {
  if (!layouts.has(machine)) layouts.set(machine, layoutMachine(graphs[machine], measure));
  return layouts.get(machine);
}

/** An SVG of one machine, with data-node-id on each state and data-edge-key on each transition. */
function drawMachine(machine, title) {
  const layout = layoutOf(machine);
  const margin = 16;
  const uid = `${machine}-${Math.random().toString(36).slice(2, 8)}`;
  const root = svg('svg', {
    viewBox: `${-layout.offsetX - margin} ${-margin} ${layout.width + margin * 2} ${layout.height + margin * 2}`,
    width: Math.round(layout.width + margin * 2),
    height: Math.round(layout.height + margin * 2),
    role: 'img',
    'aria-label': title,
    'data-machine': machine,
  });
  root.append(
    svg(
      'defs',
      {},
      svg(
        'marker',
        {
          id: `${uid}-arrow`,
          viewBox: '0 0 10 10',
          refX: 9,
          refY: 5,
          markerWidth: 7,
          markerHeight: 7,
          orient: 'auto-start-reverse',
        },
        svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'sc-arrow' }),
      ),
      svg(
        'marker',
        {
          id: `${uid}-arrow-last`,
          viewBox: '0 0 10 10',
          refX: 9,
          refY: 5,
          markerWidth: 6,
          markerHeight: 6,
          orient: 'auto-start-reverse',
        },
        svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'sc-arrow-last' }),
      ),
    ),
  );
  const compounds = svg('g', { class: 'sc-compounds' });
  const edgePaths = svg('g', { class: 'sc-edges' });
  const atomics = svg('g', { class: 'sc-atomics' });
  const labels = svg('g', { class: 'sc-labels' });
  const boxes = [...layout.boxes.values()].sort((a, b) => a.depth - b.depth);
  for (const box of boxes) {
    const n = box.node;
    const cls = [
      'sc-node',
      box.compound ? 'compound' : 'atomic',
      n.type,
      box.depth === 0 ? 'root' : '',
      `tone-${nodeTone(n)}`,
    ]
      .filter(Boolean)
      .join(' ');
    const g = svg('g', { class: cls, 'data-node-id': n.id });
    g.append(svg('title', {}, `${n.id} (${n.type})`));
    g.append(svg('rect', { class: 'box', x: box.x, y: box.y, width: box.w, height: box.h, rx: box.compound ? 12 : 9 }));
    if (n.type === 'final')
      g.append(
        svg('rect', { class: 'inner', x: box.x + 3.5, y: box.y + 3.5, width: box.w - 7, height: box.h - 7, rx: 6 }),
      );
    if (box.compound) {
      if (box.depth > 0) g.append(svg('text', { class: 'label', x: box.x + 12, y: box.y + 19 }, n.key));
      compounds.append(g);
    } else {
      g.append(
        svg(
          'text',
          { class: 'label', x: box.x + box.w / 2, y: box.y + box.h / 2 + 4.5, 'text-anchor': 'middle' },
          n.key,
        ),
      );
      atomics.append(g);
    }
    // The initial state of a compound: a dot with an arrow into it, on its left.
    if (box.compound && n.initial && layout.boxes.has(n.initial)) {
      const target = layout.boxes.get(n.initial);
      const y = target.y + Math.min(target.h / 2, 17);
      compounds.append(
        svg(
          'g',
          { class: 'sc-initial-mark' },
          svg('circle', { class: 'sc-initial', cx: target.x - 20, cy: y, r: 4.5 }),
          svg('path', {
            class: 'sc-initial-line',
            d: `M${target.x - 15},${y} L${target.x - 2},${y}`,
            'marker-end': `url(#${uid}-arrow)`,
          }),
        ),
      );
    }
  }
  for (const e of layout.edges) {
    const edge = e.edge;
    const g = svg('g', {
      class: `sc-edge ${edge.event ? '' : 'eventless'} kind-${e.kind}`,
      'data-edge-key': edge.key,
      'data-event': edge.event,
    });
    g.append(
      svg(
        'title',
        {},
        `${edge.source} → ${edge.target} on ${edge.event || '(always)'}${edge.guard ? ` [${edge.guard}]` : ''}`,
      ),
    );
    g.append(svg('path', { d: e.d, 'marker-end': `url(#${uid}-arrow)` }));
    edgePaths.append(g);
    const label = svg('g', {
      class: `sc-edge sc-edge-label ${edge.event ? '' : 'eventless'}`,
      'data-edge-key': edge.key,
      'data-event': edge.event,
    });
    const text = svg('text', { x: e.label.x + 2, y: e.label.y + 11, 'text-anchor': 'start' });
    edgeLabelLines(edge).forEach((line, i) =>
      text.append(svg('tspan', { x: e.label.x + 2, dy: i === 0 ? 0 : 13, class: line.cls }, line.text)),
    );
    label.append(text);
    labels.append(label);
  }
  root.append(compounds, edgePaths, atomics, labels);
  root.uid = uid;
  return root;
}

function nodeTone(n) {
  if (n.type === 'compound' && n.parent === null) return 'idle';
  return stateTone(n.key);
}

/** Light the actor's active states and its last transition in an SVG made by drawMachine. */
function highlight(svgEl, actor) {
  const machine = actor.machine;
  const graph = graphs[machine];
  const { leaves, all } = activeNodeIds(graph, machine, actor.state);
  const previous = actor.last?.from ? activeNodeIds(graph, machine, actor.last.from).leaves : [];
  for (const g of svgEl.querySelectorAll('.sc-node')) {
    const id = g.dataset.nodeId;
    const active = all.has(id);
    g.classList.toggle('active', active);
    g.classList.toggle('active-leaf', leaves.includes(id));
    g.classList.toggle('previous', !active && previous.includes(id));
    if (active) g.setAttribute('aria-current', 'step');
    else g.removeAttribute('aria-current');
  }
  const transition = actor.last
    ? findTransition(graph, machine, actor.last.from, actor.last.to, actor.last.cause)
    : null;
  for (const g of svgEl.querySelectorAll('.sc-edge')) {
    const last = transition !== null && g.dataset.edgeKey === transition.key;
    g.classList.toggle('last', last);
    const path = g.querySelector('path');
    if (path) path.setAttribute('marker-end', `url(#${svgEl.uid}-arrow${last ? '-last' : ''})`);
  }
  // Keep the highlighted path above the others.
  const lastPath = svgEl.querySelector('.sc-edges .sc-edge.last');
  if (lastPath) lastPath.parentNode.append(lastPath);
  svgEl.dataset.active = leaves.join(',');
  svgEl.dataset.lastEdge = transition?.key ?? '';
}

// --- panels --------------------------------------------------------------------------------------------------

const charts: { session: Element | null; actor: Element | null; actorKey: string | null } = {
  session: null,
  actor: null,
  actorKey: null,
};

function renderSessionChart() {
  const actor = actors.get(actorKey('session', sessionId));
  if (!actor) return;
  if (!charts.session) {
    charts.session = drawMachine('session', 'The session machine');
    fill($('#session-chart .chart'), charts.session);
  }
  highlight(charts.session, actor);
  renderCaption($('#session-chart'), actor);
}

function renderActorChart() {
  const actor = selected ? actors.get(selected) : null;
  const panel = $('#actor-chart');
  panel.hidden = !actor;
  if (!actor) return;
  if (charts.actorKey !== actor.key) {
    charts.actorKey = actor.key;
    charts.actor = drawMachine(actor.machine, `The ${actor.machine} machine of ${actor.id}`);
    fill(panel.querySelector('.chart'), charts.actor);
    setText(panel.querySelector('[data-field="title"]'), actor.id);
    setText(
      panel.querySelector('[data-field="machine"]'),
      `${actor.machine} machine${actor.kind === 'reviewer' ? ' · reviewer' : ''}` +
        `${actor.agent ? ` · ${actor.agent}` : ''}`,
    );
    panel.dataset.actor = actor.id;
    panel.dataset.machine = actor.machine;
  }
  highlight(charts.actor, actor);
  renderCaption(panel, actor);
  renderHistory(panel.querySelector('.history'), actor);
}

function renderCaption(panel, actor) {
  updatePill(panel.querySelector('[data-field="state"]'), actor.state ?? 'unknown', stateTone(actor.state ?? ''));
  panel.querySelector('[data-field="state"]').dataset.state = actor.state ?? '';
  const caption = panel.querySelector('[data-field="last"]');
  const last = actor.last;
  if (!last) {
    fill(caption, h('span', { class: 'muted' }, 'No transition seen yet in this window of the log.'));
    return;
  }
  const key = `${last.seq}`;
  if (caption.dataset.seq === key) {
    updateTimeEl(caption.querySelector('time'), last.ts);
    return;
  }
  caption.dataset.seq = key;
  fill(
    caption,
    h('span', { class: 'muted' }, 'Last transition:'),
    h('code', {}, last.from ?? '∅'),
    '→',
    h('code', {}, last.to),
    h('span', { class: 'muted' }, 'on'),
    h('span', { class: 'ev-name', 'data-field': 'last-event' }, last.cause || '(always)'),
    timeEl(last.ts),
  );
}

function renderHistory(list, actor) {
  const items = actor.history.slice(-50).reverse();
  fill(
    list,
    items.length === 0
      ? h('li', { class: 'muted' }, 'No transition yet.')
      : items.map((e) =>
          h(
            'li',
            { 'data-seq': e.seq },
            h(
              'time',
              { class: 'clock', datetime: e.ts, title: `${relativeTime(e.ts)} · seq ${e.seq}` },
              clockTime(e.ts),
            ),
            h('span', {}, `${e.from ?? '∅'} → `, h('strong', {}, e.to)),
            h('span', { class: 'ev-name' }, e.cause || '(always)'),
          ),
        ),
  );
}

function renderActors(changedKey: string | null = null) {
  const groups: Array<[string, any[]]> = [
    ['Session', [...actors.values()].filter((a) => a.machine === 'session')],
    ['Workers', [...actors.values()].filter((a) => a.machine === 'worker' && a.kind !== 'reviewer')],
    ['Reviewers', [...actors.values()].filter((a) => a.machine === 'worker' && a.kind === 'reviewer')],
    ['Review rounds', [...actors.values()].filter((a) => a.machine === 'review')],
  ];
  const container = $('#actors');
  const existing = new Map([...container.querySelectorAll('.actor-btn')].map((b) => [b.dataset.key, b]));
  // Rebuild the list only when actors come or go: a re-inserted button would lose the keyboard focus.
  const signature = groups.map(([title, list]) => `${title}:${list.map((a) => a.key).join(',')}`).join('|');
  const rebuild = container.dataset.signature !== signature;
  container.dataset.signature = signature;
  const children: any[] = [];
  for (const [title, list] of groups) {
    if (list.length === 0) continue;
    if (rebuild) children.push(h('li', { class: 'actor-group', role: 'presentation' }, title));
    for (const actor of list) {
      let button = existing.get(actor.key);
      if (!button) {
        button = h(
          'button',
          {
            type: 'button',
            class: 'actor-btn',
            'data-key': actor.key,
            'data-actor': actor.id,
            'data-machine': actor.machine,
            onclick: () => select(actor.key),
          },
          h('span', { class: 'actor-name' }, actor.label),
          h('span', { class: 'pill', 'data-field': 'tone' }),
          h('span', { class: 'actor-state' }),
        );
      }
      const pillEl = button.querySelector('[data-field="tone"]');
      updatePill(pillEl, shortState(actor.state), stateTone(actor.state ?? ''));
      setText(button.querySelector('.actor-state'), actor.state ?? '?');
      button.setAttribute('aria-pressed', String(actor.key === selected));
      if (actor.key === changedKey) {
        button.classList.remove('flash');
        void button.offsetWidth; // restart the animation
        button.classList.add('flash');
      }
      // (Wrapping a button that is in the list moves it out: only when the list is rebuilt.)
      if (rebuild) children.push(h('li', {}, button));
    }
  }
  if (rebuild) container.replaceChildren(...children);
}

function shortState(state) {
  if (!state) return '?';
  const top = state.split(',')[0].split('.');
  return top[1] === 'paused' ? 'paused' : top[0];
}

function select(key) {
  selected = key;
  const actor = actors.get(key);
  if (actor) history.replaceState(null, '', `#actor=${encodeURIComponent(`${actor.machine}:${actor.id}`)}`);
  renderActors();
  renderActorChart();
}

function defaultSelection() {
  const wanted = /actor=([^&]+)/.exec(location.hash);
  if (wanted) {
    const key = decodeURIComponent(wanted[1]!);
    if (actors.has(key)) return key;
  }
  const workers = [...actors.values()].filter((a) => a.machine === 'worker');
  const running = workers.find(
    (a) => a.kind !== 'reviewer' && !/^(completed|failed|stopped|skipped)/.test(a.state ?? ''),
  );
  return (running ?? workers[0] ?? actors.values().next().value)?.key ?? null;
}

let frame: number | null = null;
let changedKey: string | null = null;
function scheduleRender(key?) {
  if (key) changedKey = key;
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = null;
    if (!selected || !actors.has(selected)) selected = defaultSelection();
    renderActors(changedKey);
    changedKey = null;
    renderSessionChart();
    renderActorChart();
  });
}

// --- start ---------------------------------------------------------------------------------------------------

function showTokenForm(message) {
  $('#inspector-main').hidden = true;
  $('#auth-view').hidden = false;
  const error = $('#auth-error');
  error.hidden = !message;
  setText(error, message ?? '');
}

$('#auth-form').addEventListener('submit', (event) => {
  event.preventDefault();
  // A pasted dashboard URL works too: its token= part is taken.
  const value = tokenFromInput($('#auth-token').value);
  if (!value) return;
  setToken(value);
  location.reload();
});

onUnauthorized((message) => {
  setToken(null);
  showTokenForm(message ? `The server refused the token (${message}).` : null);
});

async function start() {
  adoptTokenFromFragment();
  setText($('#sid'), sessionId);
  $('#back').href = `/#/sessions/${encodeURIComponent(sessionId)}`;
  document.title = `inspector — ${sessionId}`;
  if (!getToken()) {
    showTokenForm(null);
    return;
  }
  setBanner('connecting');
  let view: any;
  try {
    [graphs, view] = await Promise.all([api('/machines'), api(`/${encodeURIComponent(sessionId)}/state`)]);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    const el = $('#load-error');
    el.hidden = false;
    setText(
      el,
      error instanceof ApiError && error.status === 404
        ? `No session ${sessionId} in this workspace.`
        : `Could not load: ${(error as Error).message}`,
    );
    setBanner('closed');
    return;
  }
  applyView(view);
  selected = defaultSelection();
  scheduleRender();
  openStream(sessionId, {
    tail: 2000,
    lastSeq: () => lastSeq,
    onSnapshot: (snapshot) => {
      applyView(snapshot);
      scheduleRender();
    },
    onEvent: (e) => {
      if (typeof e.seq === 'number') {
        if (e.seq <= lastSeq) return;
        lastSeq = e.seq;
      }
      if (e.type === 'state') scheduleRender(applyStateEvent(e).key);
      else if (e.type === 'decision' && e.roundId !== 'none') {
        const actor = ensureActor('review', e.roundId);
        actor.decision = e.decision;
      }
    },
    onStatus: setBanner,
  });
}

startClock();
void start();
