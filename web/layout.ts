// A layered (Sugiyama-style) layout for statecharts, without a library.
//
// Compound states are laid out recursively as boxes holding their children. Inside each box:
//  1. ranks: the children are ranked top to bottom along the transitions between them (a transition between
//     descendants counts for the children that hold them): cycles are broken by a DFS from the initial
//     state, then each child gets the longest path from a source;
//  2. label ranks: between two ranks of states lies a rank for edge labels. Every transition becomes a chain
//     of virtual nodes, one per rank it crosses; the one next to its source carries its label (sized like
//     the label), so labels never overlap states or each other and long edges go around states;
//  3. order: barycenter sweeps (the initial state stays first in the top rank);
//  4. x: each node wants to sit at the mean of its neighbours in the rank above (then below); a rank is
//     packed without overlaps as close to those wishes as possible (pool-adjacent-violators);
//  5. edges: smooth curves through their chain, vertical at each point, from ports spread along the
//     bottom (top for transitions that go back up) of the boxes.
// Transitions from a state into its own descendant, and back into the same state, are drawn apart.
//
// layoutMachine(graph, measure) -> {width, height, offsetX, boxes: Map(id -> box), edges: [{edge, d, label}]}
// `measure(text, kind)` returns the width in px of a text: kind 'node' | 'compound' | 'edge'.

const ATOMIC_H = 34;
const ATOMIC_MIN_W = 88;
const ATOMIC_PAD_X = 16;
const PAD = { top: 34, right: 20, bottom: 20, left: 34 };
const ROW_GAP = 16;
const NODE_GAP = 26;
const VIRTUAL_W = 10;
const LINE_H = 13;
const LABEL_PAD = 8;

export function layoutMachine(graph, measure) {
  const nodes = new Map<any, any>(graph.nodes.map((n) => [n.id, n]));
  const children = new Map<any, any>(graph.nodes.map((n) => [n.id, []]));
  for (const n of graph.nodes) if (n.parent !== null && children.has(n.parent)) children.get(n.parent).push(n.id);
  const root = graph.nodes.find((n) => n.parent === null);
  if (!root) return { width: 0, height: 0, offsetX: 0, boxes: new Map<any, any>(), edges: [] };

  const chainOf = new Map<any, any>();
  for (const n of graph.nodes) {
    const list: any[] = [];
    for (let cur = n; cur; cur = cur.parent === null ? null : nodes.get(cur.parent)) list.push(cur.id);
    chainOf.set(n.id, list); // the node first, the root last
  }
  const childToward = (parent, id) => {
    const chain = chainOf.get(id);
    const i = chain.indexOf(parent);
    return i > 0 ? chain[i - 1] : null;
  };
  const contains = (outer, inner) => outer !== inner && chainOf.get(inner).includes(outer);

  const drawn = graph.edges.filter((e) => !e.targetless && nodes.has(e.source) && nodes.has(e.target));
  const labelOf = (edge) => {
    const lines = edgeLabelLines(edge);
    return {
      lines,
      w: Math.ceil(Math.max(...lines.map((l) => measure(l.text, 'edge')))) + LABEL_PAD,
      h: lines.length * LINE_H + 4,
    };
  };

  /** Per edge: the chain of virtual nodes (relative to their compound until placed). */
  const chains = new Map<any, any>(); // edge index -> {level, reversed, virtuals: [{x, y, w, h, label}]}
  const rel = new Map<any, any>(); // state id -> {x, y, w, h} relative to the parent's inner origin
  const levelVirtuals = new Map<any, any>(); // compound id -> virtual nodes laid out in it

  const size = (id) => {
    const kids = children.get(id);
    const node = nodes.get(id);
    if (kids.length === 0) {
      return {
        w: Math.max(
          ATOMIC_MIN_W,
          Math.ceil(measure(node.key, 'node')) + ATOMIC_PAD_X * 2 + (node.type === 'final' ? 8 : 0),
        ),
        h: ATOMIC_H,
      };
    }
    for (const kid of kids) rel.set(kid, { x: 0, y: 0, ...size(kid) });
    const inner = arrange(id, kids);
    const labelW = Math.ceil(measure(node.key, 'compound')) + 28;
    return { w: Math.max(inner.w + PAD.left + PAD.right, labelW), h: inner.h + PAD.top + PAD.bottom };
  };

  const arrange = (parent, kids) => {
    const kidSet = new Set(kids);
    // Transitions between children of this box (lifted), each remembered with its edge index.
    const lifted: any[] = [];
    drawn.forEach((e, index) => {
      const s = childToward(parent, e.source);
      const t = childToward(parent, e.target);
      if (s && t && s !== t && kidSet.has(s) && kidSet.has(t)) lifted.push({ index, s, t });
    });

    // 1. ranks
    const out = new Map<any, any>(kids.map((k) => [k, []]));
    for (const l of lifted) if (!out.get(l.s).includes(l.t)) out.get(l.s).push(l.t);
    const initialId = nodes.get(parent).initial;
    const initial = initialId ? (kidSet.has(initialId) ? initialId : childToward(parent, initialId)) : null;
    const visitOrder = initial ? [initial, ...kids.filter((k) => k !== initial)] : [...kids];
    const mark = new Map<any, any>();
    const forward = new Map<any, any>(kids.map((k) => [k, []]));
    const discovery: any[] = [];
    const dfs = (v) => {
      mark.set(v, 'open');
      discovery.push(v);
      for (const t of out.get(v)) {
        if (mark.get(t) === 'open') continue; // back edge: ignored for ranking
        forward.get(v).push(t);
        if (!mark.has(t)) dfs(t);
      }
      mark.set(v, 'done');
    };
    for (const v of visitOrder) if (!mark.has(v)) dfs(v);
    const rank = new Map<any, any>(kids.map((k) => [k, 0]));
    const indegree = new Map<any, any>(kids.map((k) => [k, 0]));
    for (const ts of forward.values()) for (const t of ts) indegree.set(t, indegree.get(t) + 1);
    const queue = discovery.filter((k) => indegree.get(k) === 0);
    while (queue.length) {
      const v = queue.shift();
      for (const t of forward.get(v)) {
        rank.set(t, Math.max(rank.get(t), rank.get(v) + 1));
        indegree.set(t, indegree.get(t) - 1);
        if (indegree.get(t) === 0) queue.push(t);
      }
    }

    // 2. the layered graph: states on even rows, labels on odd rows, a virtual node per crossed row.
    const layer: any[] = []; // row -> [item]; item = {id, kind: 'state' | 'virtual', w, h, ...}
    const items = new Map<any, any>();
    const put = (row, item) => {
      (layer[row] ??= []).push(item);
      items.set(item.id, item);
    };
    for (const v of discovery)
      put(rank.get(v) * 2, { id: v, kind: 'state', w: rel.get(v).w, h: rel.get(v).h, up: [], down: [] });
    for (const l of lifted) {
      const reversed = rank.get(l.s) > rank.get(l.t);
      const top = reversed ? l.t : l.s;
      const bottom = reversed ? l.s : l.t;
      const rowTop = rank.get(top) * 2;
      const rowBottom = rank.get(bottom) * 2;
      const labelRow = reversed ? rowBottom - 1 : rowTop + 1;
      const label = labelOf(drawn[l.index]);
      const virtuals: any[] = [];
      let previous = items.get(top);
      for (let row = rowTop + 1; row < rowBottom; row++) {
        const isLabel = row === labelRow;
        const item = {
          id: `v${l.index}:${row}`,
          kind: 'virtual',
          row,
          edge: l.index,
          label: isLabel ? label : null,
          w: isLabel ? label.w + VIRTUAL_W : VIRTUAL_W,
          h: isLabel ? label.h : 0,
          up: [previous.id],
          down: [],
        };
        previous.down.push(item.id);
        put(row, item);
        virtuals.push(item);
        previous = item;
      }
      previous.down.push(bottom);
      items.get(bottom).up.push(previous.id);
      chains.set(l.index, { level: parent, reversed, virtuals });
    }
    for (let r = 0; r < layer.length; r++) layer[r] ??= [];

    // 3. order
    const position = new Map<any, any>();
    const index = () =>
      layer.forEach((row) => row.forEach((it, i) => position.set(it.id, row.length > 1 ? i / (row.length - 1) : 0.5)));
    index();
    const sweep = (r, dir) => {
      const row = layer[r];
      if (row.length < 2) return;
      const bary = new Map<any, any>(
        row.map((it) => {
          const ns = dir === 'down' ? it.up : it.down;
          return [it.id, ns.length ? ns.reduce((s, n) => s + position.get(n), 0) / ns.length : position.get(it.id)];
        }),
      );
      const pinned = r === 0 ? initial : null;
      row.sort((a, b) => (a.id === pinned ? -1 : b.id === pinned ? 1 : bary.get(a.id) - bary.get(b.id)));
      row.forEach((it, i) => position.set(it.id, i / (row.length - 1)));
    };
    for (let i = 0; i < 6; i++) {
      for (let r = 1; r < layer.length; r++) sweep(r, 'down');
      for (let r = layer.length - 2; r >= 0; r--) sweep(r, 'up');
    }

    // 4. x: start packed and centred, then a few passes pulling toward neighbours.
    const centre = new Map<any, any>();
    const widest = Math.max(0, ...layer.map((row) => rowWidth(row)));
    for (const row of layer) {
      let x = (widest - rowWidth(row)) / 2;
      for (const it of row) {
        centre.set(it.id, x + it.w / 2);
        x += it.w + NODE_GAP;
      }
    }
    const pull = (r, dir) => {
      const row = layer[r];
      const wishes = row.map((it) => {
        const ns = (dir === 'down' ? it.up : dir === 'up' ? it.down : [...it.up, ...it.down]).filter((n) =>
          centre.has(n),
        );
        return ns.length ? ns.reduce((s, n) => s + centre.get(n), 0) / ns.length : centre.get(it.id);
      });
      pack(row, wishes).forEach((c, i) => centre.set(row[i].id, c));
    };
    for (let i = 0; i < 4; i++) {
      for (let r = 1; r < layer.length; r++) pull(r, 'down');
      for (let r = layer.length - 2; r >= 0; r--) pull(r, 'up');
    }
    for (let r = 0; r < layer.length; r++) pull(r, 'both');

    // 5. y: rows stacked; shift everything so the leftmost box starts at 0.
    let minX = Infinity;
    let maxX = -Infinity;
    for (const it of items.values()) {
      minX = Math.min(minX, centre.get(it.id) - it.w / 2);
      maxX = Math.max(maxX, centre.get(it.id) + it.w / 2);
    }
    let y = 0;
    const virtualsHere: any[] = [];
    layer.forEach((row, r) => {
      const isStateRow = r % 2 === 0;
      const h = Math.max(isStateRow ? 0 : 10, ...row.map((it) => it.h));
      for (const it of row) {
        const x = centre.get(it.id) - it.w / 2 - minX;
        if (it.kind === 'state') {
          const box = rel.get(it.id);
          box.x = x;
          box.y = y + (h - box.h) / 2;
        } else {
          it.x = x;
          it.y = y;
          it.rowH = h;
          virtualsHere.push(it);
        }
      }
      y += h + ROW_GAP;
    });
    levelVirtuals.set(parent, virtualsHere);
    return { w: Number.isFinite(maxX) ? maxX - minX : 0, h: Math.max(0, y - ROW_GAP) };
  };

  const rootSize = size(root.id);
  rel.set(root.id, { x: 0, y: 0, ...rootSize });

  // Absolute boxes, top down; virtual nodes move with their compound.
  const boxes = new Map<any, any>();
  const place = (id, ox, oy, depth) => {
    const r = rel.get(id);
    const box = {
      x: ox + r.x,
      y: oy + r.y,
      w: r.w,
      h: r.h,
      node: nodes.get(id),
      depth,
      compound: children.get(id).length > 0,
    };
    boxes.set(id, box);
    const ix = box.x + PAD.left;
    const iy = box.y + PAD.top;
    for (const v of levelVirtuals.get(id) ?? []) {
      v.x += ix;
      v.y += iy;
    }
    for (const kid of children.get(id)) place(kid, ix, iy, depth + 1);
  };
  place(root.id, 0, 0, 0);

  // --- edges ---------------------------------------------------------------------------------------------------
  const routes = drawn.map((edge, index) => {
    const chain = chains.get(index);
    if (chain) {
      // The x where the line runs through each virtual node (left part; the label sits to its right).
      const via = chain.virtuals.map((v) => ({ x: v.x + VIRTUAL_W / 2, top: v.y, bottom: v.y + v.rowH, v }));
      if (chain.reversed) via.reverse();
      return { edge, index, kind: chain.reversed ? 'up' : 'down', via };
    }
    if (edge.source === edge.target) return { edge, index, kind: 'self', via: [] };
    if (contains(edge.source, edge.target)) return { edge, index, kind: 'into', via: [] };
    return { edge, index, kind: 'out', via: [] };
  });

  // Ports: spread along the side of a box the edges leave or enter, in the order of where they go.
  const ports = new Map<any, any>();
  const addPort = (id, side, route, end, towardX) => {
    const key = `${id}|${side}`;
    if (!ports.has(key)) ports.set(key, []);
    ports.get(key).push({ route, end, towardX });
  };
  const centreX = (b) => b.x + b.w / 2;
  for (const r of routes) {
    if (r.kind !== 'down' && r.kind !== 'up') continue;
    const s = boxes.get(r.edge.source);
    const t = boxes.get(r.edge.target);
    const firstX = r.via.length ? r.via[0].x : centreX(t);
    const lastX = r.via.length ? r.via[r.via.length - 1].x : centreX(s);
    addPort(r.edge.source, r.kind === 'down' ? 'bottom' : 'top', r, 'from', firstX);
    addPort(r.edge.target, r.kind === 'down' ? 'top' : 'bottom', r, 'to', lastX);
  }
  for (const [key, list] of ports) {
    const [id, side] = key.split('|');
    const b = boxes.get(id);
    list.sort((a, z) => a.towardX - z.towardX);
    const usable = Math.max(10, b.w - 24);
    const step = Math.min(16, usable / Math.max(1, list.length - 1 || 1));
    list.forEach((p, i) => {
      const offset = (i - (list.length - 1) / 2) * (list.length > 1 ? step : 0);
      // A port leans toward where its edge goes, within the box.
      const lean = Math.max(-usable / 2, Math.min(usable / 2, (p.towardX - centreX(b)) * 0.25 + offset));
      p.route[p.end] = { x: centreX(b) + lean, y: side === 'bottom' ? b.y + b.h : b.y };
    });
  }

  const edges = routes.map((r) => {
    const s = boxes.get(r.edge.source);
    const t = boxes.get(r.edge.target);
    let d: string;
    let label: any = null;
    if (r.kind === 'down' || r.kind === 'up') {
      const points = [r.from];
      for (const v of r.via) {
        // Through the middle of each virtual node: one long smooth curve rather than steps.
        points.push({ x: v.x, y: (v.top + v.bottom) / 2 });
        if (v.v.label)
          label = {
            x: v.v.x + VIRTUAL_W + 2,
            y: v.v.y + (v.v.rowH - v.v.label.h) / 2,
            w: v.v.label.w,
            h: v.v.label.h,
            anchor: 'start',
          };
      }
      points.push(r.to);
      d = smoothVertical(dedupe(points));
      if (!label) {
        // Adjacent rows never happen (a label row lies between); keep a fallback anyway.
        const l = labelOf(r.edge);
        label = {
          x: (r.from.x + r.to.x) / 2 + 4,
          y: (r.from.y + r.to.y) / 2 - l.h / 2,
          w: l.w,
          h: l.h,
          anchor: 'start',
        };
      }
    } else if (r.kind === 'into') {
      // From the parent's title strip down into the child.
      const p3 = { x: t.x + t.w - 14, y: t.y };
      const p0 = { x: Math.min(s.x + s.w - 12, p3.x + 40), y: s.y + 10 };
      d = `M${f(p0.x)},${f(p0.y)} C${f(p0.x)},${f(p0.y + 16)} ${f(p3.x)},${f(p3.y - 16)} ${f(p3.x)},${f(p3.y)}`;
      const l = labelOf(r.edge);
      label = { x: Math.max(p0.x, p3.x) + 4, y: Math.min(p0.y, p3.y - l.h) + 2, w: l.w, h: l.h, anchor: 'start' };
    } else if (r.kind === 'out') {
      const p0 = { x: s.x + s.w - 14, y: s.y + s.h };
      const p3 = { x: t.x + t.w - 10, y: t.y + t.h };
      d = `M${f(p0.x)},${f(p0.y)} C${f(p0.x)},${f(p0.y + 20)} ${f(p3.x)},${f(p3.y + 20)} ${f(p3.x)},${f(p3.y)}`;
      const l = labelOf(r.edge);
      label = { x: p0.x + 4, y: p0.y + 4, w: l.w, h: l.h, anchor: 'start' };
    } else {
      const p0 = { x: s.x + s.w, y: s.y + s.h * 0.3 };
      const p3 = { x: s.x + s.w, y: s.y + s.h * 0.7 };
      d =
        `M${f(p0.x)},${f(p0.y)} C${f(p0.x + 40)},${f(p0.y - 14)} ` +
        `${f(p3.x + 40)},${f(p3.y + 14)} ${f(p3.x)},${f(p3.y)}`;
      const l = labelOf(r.edge);
      label = { x: p0.x + 36, y: s.y + s.h / 2 - l.h / 2, w: l.w, h: l.h, anchor: 'start' };
    }
    return { edge: r.edge, kind: r.kind, d, label: { ...label, lines: edgeLabelLines(r.edge) } };
  });

  // The drawing's extent (labels of the special edges may stick out of the root box).
  const rootBox = boxes.get(root.id);
  let minX = 0;
  let maxX = rootBox.w;
  let maxY = rootBox.h;
  for (const e of edges) {
    minX = Math.min(minX, e.label.x);
    maxX = Math.max(maxX, e.label.x + e.label.w);
    maxY = Math.max(maxY, e.label.y + e.label.h);
  }
  return { width: maxX - minX, height: maxY, offsetX: -minX, boxes, edges };
}

function rowWidth(row) {
  return row.reduce((s, it) => s + it.w, 0) + NODE_GAP * Math.max(0, row.length - 1);
}

/**
 * Centres for the items of a row, in their order, no two closer than their half widths plus NODE_GAP,
 * as close as possible (least squares) to `wishes`: pool adjacent violators over blocks.
 */
function pack(row, wishes) {
  const blocks: any[] = [];
  row.forEach((it, i) => {
    let block: any = { items: [i], offsets: [0], width: it.w, sum: wishes[i] - it.w / 2, count: 1 };
    block.left = block.sum / block.count;
    while (blocks.length) {
      const prev = blocks[blocks.length - 1];
      if (prev.left + prev.width + NODE_GAP <= block.left) break;
      blocks.pop();
      const shift = prev.width + NODE_GAP;
      const merged: any = {
        items: [...prev.items, ...block.items],
        offsets: [...prev.offsets, ...block.offsets.map((o) => o + shift)],
        width: prev.width + NODE_GAP + block.width,
        sum: prev.sum + block.sum - shift * block.count,
        count: prev.count + block.count,
      };
      merged.left = merged.sum / merged.count;
      block = merged;
    }
    blocks.push(block);
  });
  const centres = new Array(row.length);
  for (const b of blocks) b.items.forEach((i, k) => (centres[i] = b.left + b.offsets[k] + row[i].w / 2));
  return centres;
}

function dedupe(points) {
  return points.filter(
    (p, i) => i === 0 || Math.abs(p.x - points[i - 1].x) > 0.01 || Math.abs(p.y - points[i - 1].y) > 0.01,
  );
}

/** A smooth path through points, leaving and reaching each one vertically. */
function smoothVertical(points) {
  let d = `M${f(points[0].x)},${f(points[0].y)}`;
  for (let i = 1; i < points.length; i++) {
    const p = points[i - 1];
    const q = points[i];
    if (Math.abs(p.x - q.x) < 0.5) {
      d += ` L${f(q.x)},${f(q.y)}`;
      continue;
    }
    const dy = (q.y - p.y) / 2;
    d += ` C${f(p.x)},${f(p.y + dy)} ${f(q.x)},${f(q.y - dy)} ${f(q.x)},${f(q.y)}`;
  }
  return d;
}

const f = (n) => (Math.round(n * 10) / 10).toString();

/** One or two lines: the event, then the guard. Eventless transitions say `always`. */
export function edgeLabelLines(edge) {
  const lines = [{ text: edge.event || 'always', cls: edge.event ? 'event' : 'eventless' }];
  if (edge.guard) lines.push({ text: `[${edge.guard}]`, cls: 'guard' });
  return lines;
}

/**
 * Which declared transition explains a change `from` -> `to` (dotted state paths, as in the `state` events)
 * caused by `cause`: edges from the old state or one of its ancestors into the new state or one of its
 * ancestors; the event name wins, then eventless ones; the most specific pair first.
 */
export function findTransition(graph, machineId, from, to, cause) {
  if (!from || !to) return null;
  const ids = new Set(graph.nodes.map((n) => n.id));
  const chain = (value) => {
    const list: any[] = [];
    for (const leaf of String(value).split(',')) {
      const parts = leaf.split('.');
      for (let i = parts.length; i >= 1; i--) {
        const id = `${machineId}.${parts.slice(0, i).join('.')}`;
        if (ids.has(id)) list.push(id);
      }
    }
    return list;
  };
  const sources = chain(from);
  const targets = chain(to);
  if (sources.length === 0 || targets.length === 0) return null;
  const candidates = graph.edges.filter(
    (e) => !e.targetless && e.source !== e.target && sources.includes(e.source) && targets.includes(e.target),
  );
  const score = (e) =>
    (e.event === cause ? 0 : e.event === '' ? 100 : 200) + sources.indexOf(e.source) + targets.indexOf(e.target);
  candidates.sort((a, b) => score(a) - score(b));
  return candidates[0] ?? null;
}

/** The node ids a state value lights: each leaf, and every ancestor of one. */
export function activeNodeIds(graph, machineId, value) {
  const ids = new Set(graph.nodes.map((n) => n.id));
  const leaves: any[] = [];
  const all = new Set();
  for (const leaf of String(value ?? '').split(',')) {
    if (!leaf) continue;
    const parts = leaf.split('.');
    const id = `${machineId}.${leaf}`;
    if (ids.has(id)) leaves.push(id);
    for (let i = parts.length; i >= 1; i--) {
      const a = `${machineId}.${parts.slice(0, i).join('.')}`;
      if (ids.has(a)) all.add(a);
    }
  }
  return { leaves, all };
}
