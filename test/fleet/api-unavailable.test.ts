/**
 * A fleet API node whose database is not there (src/fleet/api.ts): what needs the database is a 503 with a JSON
 * error, never a 500 or a hang; what does not (the token check, a bad session id, the pages) is answered as usual.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { FleetFeeds } from '../../src/fleet/api-feed.js';
import { createFleetApp } from '../../src/fleet/api.js';
import { ReplyWaiter } from '../../src/fleet/commands.js';
import { FleetStore } from '../../src/fleet/pg-store.js';
import { HostPolicy } from '../../src/http/guards.js';
import { SseHub } from '../../src/http/sse.js';

// Port 1 on loopback: nothing listens there, so every connection is refused at once.
const store = FleetStore.connect('postgres://orch@127.0.0.1:1/orch');
afterAll(() => store.close());

const app = createFleetApp({
  token: 'tok',
  hosts: new HostPolicy('127.0.0.1', 7433),
  baseUrl: () => 'http://127.0.0.1:7433',
  streams: new SseHub(),
  store,
  feeds: new FleetFeeds(store),
  replies: new ReplyWaiter(store),
});
const call = (path: string, init: RequestInit = {}, token = 'tok') =>
  app.request(path, {
    ...init,
    headers: { host: '127.0.0.1:7433', authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  });

describe('a fleet API node without its database', () => {
  it('answers 503 with a JSON error for what needs the database', async () => {
    for (const [path, init] of [
      ['/api/v1/sessions', {}],
      ['/api/v1/orch_20261207_120000_ab12/state', {}],
      ['/api/v1/orch_20261207_120000_ab12/pause', { method: 'POST', body: '{}' }],
      ['/api/v1/orchestrate', { method: 'POST', body: JSON.stringify({ repo: '/r.git', task: 't' }) }],
    ] as const) {
      const response = await call(path, init);
      expect(response.status, path).toBe(503);
      expect(((await response.json()) as { error: string }).error).toMatch(/^the fleet database is not reachable now/);
    }
  });

  it('answers what needs no database as usual: a bad token, a bad session id, the dashboard page', async () => {
    expect((await call('/api/v1/sessions', {}, 'wrong')).status).toBe(401);
    expect((await call('/api/v1/not-a-session/state')).status).toBe(400);
    expect((await call('/')).status).toBe(200);
  });
});
