/**
 * A machine as plain data (nodes and edges), from xstate/graph's toDirectedGraph: for the statechart docs
 * (Mermaid), the browser inspector (GET /api/v1/machines) and the model-based tests' coverage check.
 */
import type { AnyStateMachine } from 'xstate';
import { toDirectedGraph } from 'xstate/graph';

export interface GraphNode {
  id: string;
  key: string;
  parent: string | null;
  type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  initial: string | null;
}

export interface GraphEdge {
  /** Stable identity of a declared transition: source|event|targets|guard. */
  key: string;
  source: string;
  target: string;
  event: string;
  guard: string | null;
  /** A transition without a target (only actions): it stays in its state. */
  targetless: boolean;
}

export interface MachineGraph {
  id: string;
  nodes: GraphNode[];
  edges: GraphEdge[];
}

interface TransitionLike {
  eventType: string;
  source: { id: string };
  target?: ReadonlyArray<{ id: string }> | undefined;
  guard?: unknown;
}

type DirectedNode = ReturnType<typeof toDirectedGraph>;

export function guardName(guard: unknown): string | null {
  if (guard === undefined || guard === null) return null;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') return guard.name && guard.name !== 'guard' ? guard.name : 'inline';
  if (typeof guard === 'object' && 'type' in guard) return String((guard as { type: unknown }).type);
  return 'inline';
}

/** The key of a transition as XState reports it in `@xstate.microstep` inspection (`_transitions`). */
export function transitionKey(t: TransitionLike): string {
  const targets = t.target && t.target.length > 0 ? t.target.map((s) => s.id).join(',') : t.source.id;
  return `${t.source.id}|${t.eventType}|${targets}|${guardName(t.guard) ?? ''}`;
}

export function machineGraph(machine: AnyStateMachine): MachineGraph {
  const root = toDirectedGraph(machine);
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const walk = (node: DirectedNode, parent: string | null) => {
    const stateNode = node.stateNode as unknown as {
      type: GraphNode['type'];
      key: string;
      initial?: { target?: ReadonlyArray<{ id: string }> };
    };
    nodes.push({
      id: node.id,
      key: stateNode.key,
      parent,
      type: stateNode.type,
      initial: stateNode.initial?.target?.[0]?.id ?? null,
    });
    const seen = new Set<string>();
    for (const edge of node.edges) {
      const transition = edge.transition as unknown as TransitionLike;
      const key = transitionKey(transition);
      // toDirectedGraph lists a multi-target transition once per target; one declared transition, one key.
      if (seen.has(`${key}>${edge.target.id}`)) continue;
      seen.add(`${key}>${edge.target.id}`);
      edges.push({
        key,
        source: edge.source.id,
        target: edge.target.id,
        event: transition.eventType,
        guard: guardName(transition.guard),
        targetless: !transition.target || transition.target.length === 0,
      });
    }
    // toDirectedGraph leaves out eventless (`always`) transitions; they decide a lot here (done, waiting).
    const always = (node.stateNode as unknown as { always?: ReadonlyArray<TransitionLike> }).always ?? [];
    for (const transition of always) {
      const key = transitionKey(transition);
      const target = transition.target?.[0]?.id ?? node.id;
      if (seen.has(`${key}>${target}`)) continue;
      seen.add(`${key}>${target}`);
      edges.push({
        key,
        source: node.id,
        target,
        event: '',
        guard: guardName(transition.guard),
        targetless: !transition.target || transition.target.length === 0,
      });
    }
    for (const child of node.children) walk(child, node.id);
  };
  walk(root, null);
  return { id: machine.id, nodes, edges };
}

/** Mermaid stateDiagram-v2 text of a machine graph (docs/statecharts/<machine>.md). */
export function toMermaid(graph: MachineGraph): string {
  const lines = ['stateDiagram-v2'];
  const name = (id: string) => id.replace(/\./g, '_');
  const childrenOf = (id: string | null) => graph.nodes.filter((n) => n.parent === id);
  const render = (node: GraphNode, indent: string) => {
    const kids = childrenOf(node.id);
    if (kids.length > 0) {
      // Mermaid composite states take an id only; the readable name goes in a description line.
      lines.push(`${indent}${name(node.id)} : ${node.key}`);
      lines.push(`${indent}state ${name(node.id)} {`);
      if (node.initial) lines.push(`${indent}  [*] --> ${name(node.initial)}`);
      for (const kid of kids) render(kid, `${indent}  `);
      lines.push(`${indent}}`);
    } else {
      lines.push(`${indent}state "${node.key}" as ${name(node.id)}`);
      if (node.type === 'final') lines.push(`${indent}${name(node.id)} --> [*]`);
    }
  };
  const root = graph.nodes.find((n) => n.parent === null);
  if (!root) return lines.join('\n');
  if (root.initial) lines.push(`  [*] --> ${name(root.initial)}`);
  for (const node of childrenOf(root.id)) render(node, '  ');
  for (const edge of graph.edges) {
    if (edge.targetless) continue;
    const label = edge.guard ? `${edge.event} [${edge.guard}]` : edge.event;
    lines.push(`  ${name(edge.source)} --> ${name(edge.target)} : ${label || '(always)'}`);
  }
  return lines.join('\n');
}
