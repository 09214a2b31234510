// The client state of one session, folded from GET /state, SSE snapshots and events. The views read it and
// subscribe to changes; the log view also gets each new event as it arrives.

import { isFinalWorkerStatus, PLAN_PROGRESS_CAP, workerStatusOf } from '../src/domain/worker-status.js';
import { describeAgent } from './util.js';

/** How many events the store keeps (the log view caps its DOM separately). */
const KEEP_EVENTS = 5000;

export class SessionState {
  sessionId: any;
  view: any;
  live: any;
  runner: any;
  reviews: any;
  decisions: any;
  recoveries: any;
  applied: any;
  discarded: any;
  events: any;
  lastSeq: any;
  lastEventOf: any;
  seenHistory: any;
  listeners: any;
  eventListeners: any;
  resetListeners: any;
  frame: any;
  constructor(sessionId) {
    this.sessionId = sessionId;
    /** The SessionView (+ live) as last known, with events folded in. */
    this.view = null;
    this.live = false;
    /** Who runs the session when it is not live here: {pid, host, serverUrl}, or null. */
    this.runner = null;
    this.reviews = [];
    this.decisions = [];
    this.recoveries = [];
    /** The last `workspace` apply and discard events: what the Changes view offers depends on them. */
    this.applied = null;
    this.discarded = null;
    /** Events received (seq order), for the log and for re-folding after a resync. */
    this.events = [];
    /** The highest seq received from the stream. */
    this.lastSeq = 0;
    /** Per worker: the last agent event (for "last event" on the cards). */
    this.lastEventOf = new Map();
    this.seenHistory = new Set();
    this.listeners = new Set();
    this.eventListeners = new Set();
    this.resetListeners = new Set();
  }

  /** listener(state) after any change (coalesced to one call per animation frame). */
  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** listener(event) for each new event, in order. */
  onEvent(listener) {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  changed() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = null;
      for (const listener of this.listeners) listener(this);
    });
  }

  /** The answer of GET /api/v1/{sid}/state. */
  applyState(state) {
    const { live, runner, reviews, decisions, recoveries, ...view } = state;
    this.live = Boolean(live);
    this.runner = runner ?? null;
    for (const list of [reviews ?? [], decisions ?? [], recoveries ?? []]) for (const e of list) this.addHistory(e);
    this.setView(view);
  }

  /** A `snapshot` from the stream: the SessionView at the moment the stream (re)started. */
  applySnapshot(view) {
    this.setView(view);
  }

  setView(view) {
    // Keep what only events told us (last agent event per worker); replace the rest.
    this.view = {
      ...view,
      workers: view.workers.map((w) => ({ ...w })),
      blockers: view.blockers.map((b) => ({ ...b })),
    };
    // Events newer than the view were already received: fold them again on top of it.
    for (const e of this.events) if (e.seq > view.lastSeq) this.fold(e);
    this.changed();
  }

  /** One event from the stream. Returns false for a seq already seen. */
  applyEvent(e) {
    if (typeof e.seq === 'number') {
      if (e.seq <= this.lastSeq) return false;
      this.lastSeq = e.seq;
    }
    this.events.push(e);
    if (this.events.length > KEEP_EVENTS + 500) this.events.splice(0, this.events.length - KEEP_EVENTS);
    // An event the view already includes (the replay reaches back before it) only feeds the history lists.
    if (this.view && e.seq > this.view.lastSeq) this.fold(e);
    else if (e.type === 'review' || e.type === 'decision' || e.type === 'recovery') this.addHistory(e);
    if (e.type === 'agent') this.lastEventOf.set(e.workerId, e);
    // Replayed or live alike: an apply or discard long before the view still counts.
    if (e.type === 'workspace' && e.action === 'apply') this.applied = e;
    if (e.type === 'workspace' && e.action === 'discard') this.discarded = e;
    for (const listener of this.eventListeners) listener(e);
    this.changed();
    return true;
  }

  addHistory(e) {
    if (this.seenHistory.has(e.seq)) return;
    this.seenHistory.add(e.seq);
    const list =
      e.type === 'review'
        ? this.reviews
        : e.type === 'decision'
          ? this.decisions
          : e.type === 'recovery'
            ? this.recoveries
            : null;
    if (!list) return;
    list.push(e);
    list.sort((a, b) => a.seq - b.seq);
  }

  worker(id) {
    return this.view?.workers.find((w) => w.id === id);
  }

  /** Fold one event into the view (idempotent: applying an event the view already includes is harmless). */
  fold(e) {
    const view = this.view;
    switch (e.type) {
      case 'state': {
        if (e.machine === 'session') {
          view.state = e.to;
        } else if (e.machine === 'worker') {
          let w = this.worker(e.id);
          if (!w) {
            w = placeholderWorker(e.id);
            view.workers.push(w);
          }
          w.state = e.to;
          w.status = w.status === 'skipped' ? 'skipped' : workerStatusOf(e.to);
          if (typeof e.progress === 'number') w.progress = e.progress;
          if (w.status === 'completed') w.progress = 1;
          if (w.status !== 'blocked') w.blockerId = null;
          if (isFinalWorkerStatus(w.status)) w.pid = null;
        } else if (e.machine === 'review') {
          const round = view.rounds.find((r) => r.roundId === e.id);
          if (!round) view.rounds.push({ roundId: e.id, targets: [], reason: '', decision: null });
        }
        break;
      }
      case 'agent': {
        const w = this.worker(e.workerId);
        if (!w) break;
        if (e.kind !== 'usage' && e.kind !== 'unknown') w.lastActivity = describeAgent(e);
        if (e.kind === 'plan' && Array.isArray(e.items) && e.items.length > 0) {
          const done = e.items.filter((i) => i.done).length;
          w.plan = { done, total: e.items.length };
          w.progress = Math.max(w.progress ?? 0, Math.min(PLAN_PROGRESS_CAP, done / e.items.length));
        }
        if (e.kind === 'result' && e.ok && e.text) w.summary = e.text;
        break;
      }
      case 'blocker': {
        const existing = view.blockers.find((b) => b.id === e.blockerId);
        if (e.resolution) {
          if (existing) {
            existing.open = false;
            existing.resolution = e.resolution;
          }
        } else if (!existing) {
          view.blockers.push({
            id: e.blockerId,
            kind: e.kind,
            ...(e.workerId ? { workerId: e.workerId } : {}),
            ...(e.roundId ? { roundId: e.roundId } : {}),
            ...(e.targets ? { targets: e.targets } : {}),
            ...(e.conflict ? { conflict: e.conflict } : {}),
            message: e.message,
            action: e.action,
            options: e.options,
            open: true,
          });
          const w = e.workerId && this.worker(e.workerId);
          if (w) w.blockerId = e.blockerId;
        }
        break;
      }
      case 'review':
      case 'decision':
      case 'recovery':
        this.addHistory(e);
        if (e.type === 'decision' && e.roundId !== 'none') {
          const round = view.rounds.find((r) => r.roundId === e.roundId);
          if (round) round.decision = e.decision;
          else view.rounds.push({ roundId: e.roundId, targets: e.target.split(','), reason: '', decision: e.decision });
        }
        if (e.type === 'recovery') {
          const w = this.worker(e.workerId);
          if (w) w.lastFailure = e.signal;
        }
        break;
      case 'workspace': {
        // GET /state brings the rest; these make a card's +/- and the result move with the event itself.
        if (e.action === 'commit' && e.workerId && e.change) {
          const w = this.worker(e.workerId);
          if (w)
            w.change = {
              branch: e.branch ?? w.change?.branch ?? '',
              start: w.change?.start ?? null,
              head: e.commit ?? w.change?.head ?? null,
              ...e.change,
            };
        } else if (e.action === 'integrate' && view.workspace?.mode === 'checkouts') {
          view.workspace = {
            ...view.workspace,
            result: {
              ...view.workspace.result,
              status: 'done',
              head: e.commit ?? view.workspace.result.head,
              change: e.change ?? view.workspace.result.change,
            },
          };
        }
        break;
      }
      default:
        break;
    }
  }

  openBlockers() {
    return (this.view?.blockers ?? []).filter((b) => b.open);
  }
}

/** A worker the view does not know yet (a reviewer launched since): r<round>-<agent>-<target>. */
function placeholderWorker(id) {
  const m = /^r(\d+)-([a-z][a-z0-9-]*?)-(.+)$/.exec(id);
  return {
    id,
    agent: m ? m[2] : '?',
    role: m ? 'reviewer' : 'worker',
    kind: m ? 'reviewer' : 'worker',
    roundId: m ? `round-${m[1]}` : null,
    status: 'spawned',
    state: 'spawned',
    progress: 0,
    plan: null,
    attempt: 1,
    pid: null,
    agentSessionId: null,
    dependsOn: [],
    usage: {},
    lastActivity: null,
    summary: null,
    lastFailure: null,
    blockerId: null,
    reason: null,
    fixes: {},
    filesChanged: [],
    change: null,
  };
}
