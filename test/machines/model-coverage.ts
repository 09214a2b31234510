/**
 * Model-based testing with xstate/graph: explore a machine's state space, then replay every explored
 * transition (shortest path to its source state + the event) on a REAL actor of the machine, checking the
 * state after each step and collecting the transitions XState reports in `@xstate.microstep` inspection.
 * The caller compares the collected keys with every declared transition (machineGraph edges).
 */
import {
  createActor,
  createMachine,
  type AnyActor,
  type AnyStateMachine,
  type EventObject,
  type InspectionEvent,
} from 'xstate';
import { createTestModel } from 'xstate/graph';
import { expect } from 'vitest';
import { transitionKey } from '../../src/machines/graph.js';

export interface WalkOptions<TEvent extends EventObject> {
  /** The model: generates the paths (no invocations; see withoutInvocations). */
  model: AnyStateMachine;
  /** The system under test: the real machine (effects provided as stubs), run for every path. */
  machine: AnyStateMachine;
  input?: unknown;
  events: (snapshot: any) => TEvent[];
  /** What makes two snapshots "the same state" for exploration: the value plus whatever guards read. */
  serializeState: (snapshot: any) => string;
  /** Build the actor to replay on (not started); defaults to createActor(machine, {input, inspect}). */
  sut?: (inspect: (event: InspectionEvent) => void) => AnyActor;
  /** Extra check after each replayed step. */
  check?: (actor: AnyActor, expected: any, event: TEvent) => void;
  limit?: number;
  /** Stop replaying once every one of these transition keys was taken (they are what the test asserts). */
  until?: readonly string[];
}

export interface WalkResult {
  covered: Set<string>;
  runs: number;
  states: number;
}

export function walkAllTransitions<TEvent extends EventObject>(options: WalkOptions<TEvent>): WalkResult {
  const model = createTestModel(options.model, {
    ...(options.input !== undefined ? { input: options.input as never } : {}),
    events: options.events as never,
    // The model would also try payload-less events derived from the machine: only ours, with their payloads.
    filterEvents: ((snapshot: unknown, event: TEvent) =>
      options.events(snapshot).some((e) => JSON.stringify(e) === JSON.stringify(event))) as never,
    serializeState: options.serializeState as never,
    ...(options.limit ? { limit: options.limit } : {}),
  });
  const adjacency = model.getAdjacencyMap();
  const pathTo = new Map<string, Array<{ event: TEvent; state: any }>>();
  for (const path of model.getShortestPaths({ allowDuplicatePaths: true })) {
    pathTo.set(options.serializeState(path.state), path.steps as never);
  }
  const covered = new Set<string>();
  let runs = 0;
  const makeActor = () => {
    let root: AnyActor | null = null;
    const inspect = (ev: InspectionEvent) => {
      if (ev.type !== '@xstate.microstep' || (root && ev.actorRef !== root)) return;
      for (const t of (ev as unknown as { _transitions: never[] })._transitions) covered.add(transitionKey(t));
    };
    const actor = options.sut
      ? options.sut(inspect)
      : createActor(options.machine, {
          ...(options.input !== undefined ? { input: options.input as never } : {}),
          inspect,
        });
    root = actor;
    return actor;
  };
  // The start alone: eventless transitions taken on the way into the initial state.
  makeActor().start().stop();
  const done = () => options.until !== undefined && options.until.every((k) => covered.has(k));
  for (const [key, vertex] of Object.entries(adjacency)) {
    if (done()) break;
    const prefix = pathTo.get(key);
    if (!prefix) continue;
    for (const { event, state: expected } of Object.values(vertex.transitions) as Array<{
      event: TEvent;
      state: { value: unknown };
    }>) {
      runs++;
      const actor = makeActor();
      actor.start();
      for (const step of prefix.slice(1)) {
        actor.send(step.event);
        expect(actor.getSnapshot().value, `after ${step.event.type}`).toEqual(step.state.value);
      }
      actor.send(event as TEvent);
      expect(
        actor.getSnapshot().value,
        `after ${JSON.stringify(prefix.slice(1).map((s) => s.event.type))} + ${(event as TEvent).type}`,
      ).toEqual(expected.value);
      options.check?.(actor, expected, event as TEvent);
      actor.stop();
    }
  }
  return { covered, runs, states: Object.keys(adjacency).length };
}

/**
 * The model for path generation: the machine without its invocations (createTestModel refuses them; the
 * invoked actors are effects of the system under test, not part of the model), same implementations.
 */
export function withoutInvocations<M extends AnyStateMachine>(
  machine: M,
  implementations: Record<string, unknown> = {},
): M {
  const strip = (node: Record<string, unknown>): Record<string, unknown> => {
    const { invoke: _invoke, states, ...rest } = node;
    void _invoke;
    return states
      ? {
          ...rest,
          states: Object.fromEntries(
            Object.entries(states as Record<string, Record<string, unknown>>).map(([k, v]) => [k, strip(v)]),
          ),
        }
      : rest;
  };
  const config = strip(machine.config as unknown as Record<string, unknown>);
  const impl = machine.implementations as unknown as Record<string, Record<string, unknown>>;
  const merged = {
    actions: { ...impl.actions, ...(implementations.actions as object) },
    guards: { ...impl.guards, ...(implementations.guards as object) },
    actors: { ...impl.actors, ...(implementations.actors as object) },
    delays: { ...impl.delays },
  };
  return createMachine(config as never, merged as never) as unknown as M;
}
