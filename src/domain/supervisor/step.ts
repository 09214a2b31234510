/**
 * One step of the supervisor, as data: the context it leaves and the commands it gives. Every decision of
 * src/domain/supervisor is a pure function `(context, event) -> Decision`, written against a `Step` that
 * changes its context at once (what a later line reads is what an earlier one left) and lists its commands in
 * order. The session machine applies a Decision: it assigns the context and turns each command into the XState
 * action of the same name (record, sendTo, raise, spawnChild, stopChild).
 */
import type { NewEvent } from '../events.js';
import type { ReviewRoundInput } from '../../machines/review.machine.js';
import type { WorkerInput } from '../../machines/worker.machine.js';
import type { SessionContext, WorkerEntry } from './context.js';

/** An event for a child actor (a worker, a review round): the worker's and the round's own event types. */
export type ChildEvent = { type: string } & Record<string, unknown>;

/** What the session raises to itself: the chart's own PAUSE / RESUME / STOP. */
export type RaisedEvent = { type: 'PAUSE' } | { type: 'RESUME' } | { type: 'STOP'; reason: string };

export type Command =
  /** Append an event to the session's log. */
  | { kind: 'record'; event: NewEvent }
  | { kind: 'send'; to: string; event: ChildEvent }
  | { kind: 'raise'; event: RaisedEvent }
  | { kind: 'spawnWorker'; id: string; systemId?: string; input: WorkerInput }
  | { kind: 'spawnRound'; id: string; input: ReviewRoundInput }
  | { kind: 'stopChild'; id: string };

export interface Decision {
  context: SessionContext;
  commands: Command[];
}

export class Step {
  readonly commands: Command[] = [];

  constructor(public context: SessionContext) {}

  /** The decision this step came to. */
  get decision(): Decision {
    return { context: this.context, commands: this.commands };
  }

  set(patch: Partial<SessionContext>): void {
    this.context = { ...this.context, ...patch };
  }

  worker(workerId: string): WorkerEntry | undefined {
    return this.context.workers[workerId];
  }

  /** Change one worker entry. */
  patchWorker(workerId: string, patch: Partial<WorkerEntry>): void {
    const current = this.context.workers[workerId];
    if (current) this.set({ workers: { ...this.context.workers, [workerId]: { ...current, ...patch } } });
  }

  record(event: NewEvent): void {
    this.commands.push({ kind: 'record', event });
  }

  send(to: string, event: ChildEvent): void {
    this.commands.push({ kind: 'send', to, event });
  }

  raise(event: RaisedEvent): void {
    this.commands.push({ kind: 'raise', event });
  }

  spawnWorker(id: string, input: WorkerInput, systemId?: string): void {
    this.commands.push({ kind: 'spawnWorker', id, input, ...(systemId ? { systemId } : {}) });
  }

  spawnRound(id: string, input: ReviewRoundInput): void {
    this.commands.push({ kind: 'spawnRound', id, input });
  }

  stopChild(id: string): void {
    this.commands.push({ kind: 'stopChild', id });
  }

  /**
   * Send a worker a command and mark it pending until the worker reports back: until then the session counts
   * as busy (never `waiting` because of a state the worker is about to leave).
   */
  command(workerId: string, event: ChildEvent): void {
    const worker = this.context.workers[workerId];
    if (!worker) return;
    this.send(worker.actorId, event);
    this.patchWorker(workerId, { pending: true });
  }

  /** Send without marking pending: for events the worker may ignore in its current state (PAUSE, STOP...). */
  sendToWorker(workerId: string, event: ChildEvent): void {
    const worker = this.context.workers[workerId];
    if (worker) this.send(worker.actorId, event);
  }
}

/** A decision as a function of the context alone: what a handler written against a Step comes to. */
export function decide(context: SessionContext, handler: (step: Step) => void): Decision {
  const step = new Step(context);
  handler(step);
  return step.decision;
}
