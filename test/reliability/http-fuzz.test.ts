/**
 * HTTP fuzzing of every route the server documents (read from its own /api/v1/openapi.json, so a new route
 * is fuzzed too): random path parameters, query strings, headers, methods and bodies against a real server
 * with a live session and a session only on disk -> never a 5xx, never a hang (every answer within 10 s).
 */
import http from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentEnv, benchSpec, createSession, makeHarness, waitUntil, type Harness } from '../../bench/lib/harness.js';
import { FAKE_AGENT } from '../../bench/lib/paths.js';
import { SIZES, report } from './sizes.js';

let harness: Harness;
let liveSid = '';
let diskSid = '';
const ANSWER_TIMEOUT_MS = 10_000;

beforeAll(async () => {
  harness = await makeHarness({
    env: agentEnv({ FAKE_AGENT_CONFIG: JSON.stringify({ default: { holdMs: 600_000 } }) }, FAKE_AGENT),
  });
  // A session that ends at once (left on disk, detached), and one that stays live (its agent holds).
  const done = await createSession(harness, { ...benchSpec(1, ['claude']), limits: { maxRestarts: 0 } });
  diskSid = done.sessionId;
  done.send({ type: 'STOP', reason: 'on disk for the fuzzer' });
  await done.waitForEnd();
  harness.manager.detach(diskSid);
  const live = await createSession(harness, benchSpec(2, ['claude', 'gemini']));
  liveSid = live.sessionId;
  await waitUntil(() => live.view().workers.every((w) => w.status === 'running'), 'the live workers', 30_000);
}, 60_000);
afterAll(async () => {
  await harness?.cleanup();
});

interface Answer {
  status: number;
  ms: number;
  body: string;
}

/** `whole`: keep the whole body (the OpenAPI document); else its first 2000 characters are enough. */
function send(
  method: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer | null,
  stream: boolean,
  whole = false,
): Promise<Answer> {
  const url = new URL(harness.server!.url);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer within ${ANSWER_TIMEOUT_MS} ms: ${method} ${path}`));
    }, ANSWER_TIMEOUT_MS);
    const req = http.request({ host: url.hostname, port: url.port, method, path, headers, agent: false }, (res) => {
      const status = res.statusCode ?? 0;
      if (stream && (res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        // An open stream: the answer is its headers; hang up.
        clearTimeout(timer);
        res.destroy();
        resolve({ status, ms: performance.now() - t0, body: '' });
        return;
      }
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (whole || text.length < 2000) text += c;
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status, ms: performance.now() - t0, body: text });
      });
      res.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    if (body) req.end(body);
    else req.end();
  });
}

const junk = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom(
    '',
    '..',
    '../..',
    '%2e%2e',
    '%00',
    '\u0000',
    'orch_20261121_093000_ab12',
    'orch_99999999_999999_zzzz',
    'a'.repeat(5000),
    '-1',
    '0',
    '1e309',
    'NaN',
    '__proto__',
    'constructor',
    'index.html',
    'app.js',
    '.hidden',
    'w001',
    'claude',
    'b1',
    'b999',
  ),
  fc.integer().map(String),
);

/** null most of the time, else a value of `arb`. */
const rarely = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> =>
  fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arb });

function pathValue(name: string): fc.Arbitrary<string> {
  const known =
    name === 'sid'
      ? [liveSid, diskSid]
      : name === 'agent'
        ? ['w001', 'w002', 'claude', 'gemini', 'codex']
        : name === 'id'
          ? ['b1', 'b2']
          : ['index.js', 'style.css'];
  return fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...known) }, { weight: 2, arbitrary: junk });
}

/**
 * Encode a value for a URL path or query: mostly properly, sometimes raw (printable ASCII only, as a client could
 * send).
 */
const encode = (value: string, raw: boolean) =>
  raw ? value.replace(/[^\x21-\x7e]/g, '_').replace(/[?#]/g, '_') : encodeURIComponent(value);

const bodyArb = fc.oneof(
  fc.constant(null),
  fc.jsonValue({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify(v))),
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  fc
    .record(
      {
        targetDir: fc.oneof(junk, fc.constant('/nonexistent/dir')),
        task: junk,
        agents: fc.array(junk, { maxLength: 3 }),
        spec: fc.oneof(
          fc.jsonValue({ maxDepth: 3 }),
          fc.record({
            task: junk,
            workers: fc.array(fc.record({ id: junk, agent: junk, role: junk }), { maxLength: 2 }),
          }),
        ),
        workerId: pathValue('agent'),
        reason: junk,
        target: pathValue('agent'),
        choice: fc.constantFrom('retry', 'skip', 'stop', 'answer', 'x', ''),
        text: junk,
      },
      { requiredKeys: [] },
    )
    .map((v) => Buffer.from(JSON.stringify(v))),
  fc.constant(Buffer.alloc(1024 * 1024 + 10, 0x7b)), // over the body limit
  fc.constant(Buffer.from('{"a":')), // truncated JSON
);

describe('HTTP fuzzing of every route', () => {
  it(`${SIZES.httpRequests} random requests: never a 5xx, never a hang`, async () => {
    const openapi = JSON.parse(
      (
        await send(
          'GET',
          '/api/v1/openapi.json',
          { authorization: `Bearer ${harness.server!.token}`, host: new URL(harness.server!.url).host },
          null,
          false,
          true,
        )
      ).body,
    ) as {
      paths: Record<string, Record<string, { parameters?: Array<{ in: string; name: string }> }>>;
    };
    const routes = Object.entries(openapi.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({
        path,
        method: method.toUpperCase(),
        params: op.parameters ?? [],
      })),
    );
    expect(routes.length).toBeGreaterThan(10);
    const host = new URL(harness.server!.url).host;
    const requestArb = fc.record({
      route: fc.constantFrom(...routes),
      method: rarely(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS')),
      values: fc.record({
        sid: pathValue('sid'),
        agent: pathValue('agent'),
        id: pathValue('id'),
        path: pathValue('path'),
      }),
      rawPath: fc.boolean(),
      query: fc.oneof(
        fc.constant<Array<[string, string]>>([]),
        fc.array<[string, string]>(
          fc.tuple(
            fc.constantFrom('lines', 'stream', 'lastEventId', 'tail', 'token', 'x', 'lines'),
            fc.oneof(junk, fc.constantFrom('stdout', 'stderr', '10', '0', '10001', '-5', '1.5')),
          ),
          { maxLength: 3 },
        ),
      ),
      body: bodyArb,
      contentType: fc.constantFrom(
        undefined,
        'application/json',
        'text/plain',
        'multipart/form-data; boundary=x',
        'application/json; charset=latin1',
      ),
      auth: fc.constantFrom('good', 'good', 'good', 'good', 'good', 'good', 'none', 'bad', 'query'),
      lastEventId: rarely(fc.oneof(junk, fc.constantFrom('0', '3', '100000'))),
      origin: rarely(fc.constantFrom('http://evil.example', 'null', `http://${host}`)),
      badHost: fc.boolean().map((b) => b && Math.random() < 0.05),
    });
    const statuses = new Map<string, Map<number, number>>();
    let slowest = 0;
    const failures: string[] = [];
    await fc.assert(
      fc.asyncProperty(requestArb, async (r) => {
        let path = r.route.path.replace(/\{(\w+)\}/g, (_, name: string) =>
          encode((r.values as Record<string, string>)[name] ?? '', r.rawPath),
        );
        const query = [
          ...r.query.map(([k, v]) => `${k}=${encode(v, r.rawPath)}`),
          ...(r.auth === 'query' ? [`token=${harness.server!.token}`] : []),
        ];
        if (query.length > 0) path += `?${query.join('&')}`;
        const headers: Record<string, string> = { host: r.badHost ? 'evil.example' : host };
        if (r.auth === 'good') headers.authorization = `Bearer ${harness.server!.token}`;
        if (r.auth === 'bad') headers.authorization = 'Bearer nope';
        if (r.contentType) headers['content-type'] = r.contentType;
        if (r.lastEventId !== null) headers['last-event-id'] = r.lastEventId.replace(/[^\x20-\x7e]/g, '_');
        if (r.origin !== null) headers.origin = r.origin;
        const method = r.method ?? r.route.method;
        const body = method === 'GET' || method === 'HEAD' ? null : r.body;
        let answer: Answer;
        try {
          answer = await send(method, path, headers, body, true);
        } catch (error) {
          failures.push(`${method} ${path}: ${(error as Error).message}`);
          throw error;
        }
        slowest = Math.max(slowest, answer.ms);
        const key = `${r.route.method} ${r.route.path}`;
        const m = statuses.get(key) ?? new Map<number, number>();
        m.set(answer.status, (m.get(answer.status) ?? 0) + 1);
        statuses.set(key, m);
        if (answer.status >= 500) failures.push(`${method} ${path} -> ${answer.status}: ${answer.body.slice(0, 300)}`);
        expect(
          answer.status,
          `${method} ${path} body=${body?.subarray(0, 200).toString()} -> ${answer.body.slice(0, 300)}`,
        ).toBeLessThan(500);
      }),
      { numRuns: SIZES.httpRequests },
    );
    report('http fuzz', {
      requests: SIZES.httpRequests,
      slowestMs: Math.round(slowest),
      statuses: Object.fromEntries([...statuses].map(([k, m]) => [k, Object.fromEntries(m)])),
      failures: failures.slice(0, 5),
    });
  });
});
