/** GET /api/v1/machines: the three machine definitions as graphs, for the statechart inspector. */
import { Hono } from 'hono';
import { machineGraph, type MachineGraph } from '../../machines/graph.js';
import { reviewMachine } from '../../machines/review.machine.js';
import { sessionMachine } from '../../machines/session.machine.js';
import { workerMachine } from '../../machines/worker.machine.js';
import type { AppEnv } from '../context.js';

let graphs: { session: MachineGraph; worker: MachineGraph; review: MachineGraph } | null = null;

export function machineGraphs() {
  graphs ??= {
    session: machineGraph(sessionMachine),
    worker: machineGraph(workerMachine),
    review: machineGraph(reviewMachine),
  };
  return graphs;
}

export function machineRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/machines', (c) => c.json(machineGraphs()));
  return app;
}
