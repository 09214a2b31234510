import { afterAll, describe, expect, it } from 'vitest';
import { call, json, makeHarness, removeTempDirs, testApp } from '../helpers.js';

const harness = makeHarness();
const app = testApp(harness);
afterAll(() => removeTempDirs());

type Doc = {
  openapi: string;
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: Array<{ name: string; in: string }>;
        requestBody?: unknown;
        responses: Record<string, unknown>;
        security?: unknown[];
      }
    >
  >;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
};

describe('GET /api/v1/openapi.json', () => {
  it('documents every route of the app, and nothing else', async () => {
    const doc = await json<Doc>(await call(app, '/api/v1/openapi.json'));
    expect(doc.openapi).toBe('3.1.0');
    const routes = app.routes
      .filter((r) => r.method === 'GET' || r.method === 'POST')
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, '{$1}').replace(/\*$/, '{path}')}`);
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
    expect(new Set(documented)).toEqual(new Set(routes));
    expect(routes).toHaveLength(20);
  });

  it('has the parameters, bodies, errors and security of each route', async () => {
    const doc = await json<Doc>(await call(app, '/api/v1/openapi.json'));
    const logs = doc.paths['/api/v1/{sid}/logs/{agent}']!.get!;
    expect(logs.parameters!.map((p) => `${p.in}:${p.name}`)).toEqual([
      'path:sid',
      'path:agent',
      'query:lines',
      'query:stream',
    ]);
    const events = doc.paths['/api/v1/{sid}/events']!.get!;
    expect(events.parameters!.map((p) => `${p.in}:${p.name}`)).toEqual([
      'path:sid',
      'query:lastEventId',
      'query:tail',
      'query:token',
      'header:Last-Event-ID',
    ]);
    expect(events.security).toEqual([{ bearerAuth: [] }, { tokenQuery: [] }]);
    expect(doc.paths['/']!.get!.security).toEqual([]);
    expect(Object.keys(doc.paths['/api/v1/{sid}/blockers/{id}']!.post!.responses)).toEqual([
      '202',
      '400',
      '401',
      '403',
      '404',
      '409',
      '413',
      '415',
    ]);
    expect(doc.components.securitySchemes.bearerAuth).toEqual({ type: 'http', scheme: 'bearer' });
    const spec = doc.components.schemas.SessionSpec as { properties: Record<string, unknown>; required: string[] };
    // A request body is an input: fields with defaults are optional.
    expect(spec.required).toEqual(['task', 'workers']);
    const resolve = doc.components.schemas.ResolveBody as { properties: { choice: { enum: string[] } } };
    expect(resolve.properties.choice.enum).toEqual([
      'retry',
      'skip',
      'stop',
      'answer',
      'agent',
      'allow',
      'deny',
      'allow-always',
    ]);
  });

  it('every $ref resolves', async () => {
    const doc = await json<Doc>(await call(app, '/api/v1/openapi.json'));
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(20);
    for (const ref of refs) {
      expect(ref.startsWith('#/components/schemas/'), ref).toBe(true);
      expect(doc.components.schemas[ref.slice('#/components/schemas/'.length)], ref).toBeDefined();
    }
  });
});
