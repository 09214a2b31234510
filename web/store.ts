// The client state of one session, folded from GET /state, SSE snapshots and events. The views read it and
// subscribe to changes; the log view also gets each new event as it arrives. The fold itself is the domain's
// (src/domain/session-view.ts), the one the server's view is made of.

import type { OrchestratorEvent } from '../src/domain/events.js';
import { foldSessionEvent, type SessionView, type WorkerView } from '../src/domain/session-view.js';
import { PAGE_STYLE } from './util.js';

/** How many events the store keeps (the log view caps its DOM separately). */
const KEEP_EVENTS = 5000;

type EventOf<T extends OrchestratorEvent['type']> = Extract<OrchestratorEvent, { type: T }>;
type HistoryEvent = EventOf<'review' | 'decision' | 'recovery'>;
type WorkspaceEvent = EventOf<'workspace'>;
/** Who runs a session that does not run in this server. */
export interface Runner {
  pid: number;
  host: string | null;
  serverUrl: string | null;
}

export class SessionState {
  /** The SessionView (+ live) as last known, with events folded in. */
  view: SessionView | null = null;
  live = false;
  /** Who runs the session when it is not live here, or null. */
  runner: Runner | null = null;
  reviews: EventOf<'review'>[] = [];
  decisions: EventOf<'decision'>[] = [];
  recoveries: EventOf<'recovery'>[] = [];
  /** The last `workspace` apply and discard events: what the Changes view offers depends on them. */
  applied: WorkspaceEvent | null = null;
  discarded: WorkspaceEvent | null = null;
  /** Events received (seq order), for the log and for re-folding after a resync. */
  events: OrchestratorEvent[] = [];
  /** The highest seq received from the stream. */
  lastSeq = 0;
  /** Per worker: the last agent event (for "last event" on the cards). */
  lastEventOf = new Map<string, OrchestratorEvent>();
  seenHistory = new Set<number>();
  listeners = new Set<(state: SessionState) => void>();
  eventListeners = new Set<(event: OrchestratorEvent) => void>();
  resetListeners = new Set<() => void>();
  frame: number | null = null;

  constructor(readonly sessionId: string) {}

  /** listener(state) after any change (coalesced to one call per animation frame). */
  subscribe(listener: (state: SessionState) => void) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** listener(event) for each new event, in order. */
  onEvent(listener: (event: OrchestratorEvent) => void) {
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
  applyState(state: SessionView & { live?: boolean; runner?: Runner | null } & Record<string, any>) {
    const { live, runner, reviews, decisions, recoveries, ...view } = state;
    this.live = Boolean(live);
    this.runner = runner ?? null;
    for (const list of [reviews ?? [], decisions ?? [], recoveries ?? []]) for (const e of list) this.addHistory(e);
    this.setView(view);
  }

  /** A `snapshot` from the stream: the SessionView at the moment the stream (re)started. */
  applySnapshot(view: SessionView) {
    this.setView(view);
  }

  setView(view: SessionView) {
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
  applyEvent(e: OrchestratorEvent) {
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

  addHistory(e: OrchestratorEvent) {
    if (this.seenHistory.has(e.seq)) return;
    this.seenHistory.add(e.seq);
    const add = <E extends HistoryEvent>(list: E[], event: E) => {
      list.push(event);
      list.sort((x, y) => x.seq - y.seq);
    };
    if (e.type === 'review') add(this.reviews, e);
    else if (e.type === 'decision') add(this.decisions, e);
    else if (e.type === 'recovery') add(this.recoveries, e);
  }

  worker(id: string): WorkerView | undefined {
    return this.view?.workers.find((w) => w.id === id);
  }

  /** Fold one event into the view (idempotent: applying an event the view already includes is harmless). */
  fold(e: OrchestratorEvent) {
    if (e.type === 'review' || e.type === 'decision' || e.type === 'recovery') this.addHistory(e);
    // Only called with a view (applyEvent and setView check).
    foldSessionEvent(this.view!, e, PAGE_STYLE);
  }

  openBlockers() {
    return (this.view?.blockers ?? []).filter((b) => b.open);
  }
}
