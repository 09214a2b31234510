import { afterAll, describe, expect, it } from 'vitest';
import { machineGraphs } from '../../../src/http/routes/machines.js';
import { MachinesResponseSchema } from '../../../src/http/schemas.js';
import { call, json, makeHarness, removeTempDirs, testApp } from '../helpers.js';

const harness = makeHarness();
const app = testApp(harness);
afterAll(() => removeTempDirs());

describe('GET /api/v1/machines', () => {
  it('gives the session, worker and review machines as graphs', async () => {
    const res = await call(app, '/api/v1/machines');
    expect(res.status).toBe(200);
    const body = MachinesResponseSchema.parse(await json(res));
    expect(body).toEqual(JSON.parse(JSON.stringify(machineGraphs())));
    expect(body.session.id).toBe('session');
    expect(body.session.nodes.map((n) => n.key)).toEqual(
      expect.arrayContaining(['running', 'paused', 'waiting', 'stopping', 'completed', 'stopped']),
    );
    expect(body.worker.edges.some((e) => e.event === 'PAUSE')).toBe(true);
    expect(body.review.id).toBe('review');
  });
});
