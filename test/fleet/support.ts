/**
 * What the fleet tests share: a throwaway cluster for the file (test/support/postgres.ts; null, said loudly, where
 * Postgres cannot start), the fleet store migrated on it with an admin connection beside it, and the database
 * clock's part (a lease past its expiry) played by moving the expiry into the past.
 */
import { request } from 'node:http';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { FleetStore } from '../../src/fleet/pg-store.js';
import { type StartedCli, startCli } from '../support/orchestrate.js';
import { poll } from '../support/poll.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';

/** A cluster for this test file, or null (the tests skip) with a SKIPPED line saying why. */
export async function fleetCluster(what: string): Promise<TestPostgres | null> {
  const cluster = await startPostgres();
  if (!('unavailable' in cluster)) return cluster;
  console.warn(`SKIPPED: ${what} need Postgres: ${cluster.unavailable}`);
  return null;
}

export interface Fleet {
  store: FleetStore;
  admin: pg.Client;
}

/** The migrated store and an admin connection, made before the file's tests; closed, with the cluster, after. */
export function useFleet(server: TestPostgres | null, max = 8): Fleet {
  const fleet = {} as Fleet;
  beforeAll(async () => {
    if (!server) return;
    fleet.store = FleetStore.connect(server.url, { max });
    await fleet.store.migrate();
    fleet.admin = new pg.Client({ connectionString: server.url });
    await fleet.admin.connect();
  });
  afterAll(async () => {
    if (!server) return;
    await fleet.store.close();
    await fleet.admin.end();
    await server.stop();
  });
  return fleet;
}

/** What the database clock does after leaseSec without a renewal: the session's lease is in the past. */
export function expireLease(admin: pg.Client, sessionId: string): Promise<unknown> {
  return admin.query(`UPDATE orchestrator.sessions SET lease_expires = now() - interval '1 second' WHERE id = $1`, [
    sessionId,
  ]);
}

/** The token the tests' API nodes take (ORCHESTRATOR_TOKEN). */
export const TOKEN = 'fleet-api-node-test-token';

export interface Frame {
  id: number | null;
  event: string;
  data: string;
}

/** An SSE client of the API node: the frames so far, until closed. */
export function sse(base: string, path: string, lastEventId?: number) {
  const frames: Frame[] = [];
  let buffer = '';
  const url = new URL(path, base);
  const req = request(url, {
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(lastEventId !== undefined ? { 'last-event-id': String(lastEventId) } : {}),
    },
  });
  req.on('response', (res) => {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffer += chunk;
      for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (block.startsWith(':')) continue;
        const field = (name: string) =>
          block
            .split('\n')
            .find((l) => l.startsWith(`${name}: `))
            ?.slice(name.length + 2);
        frames.push({
          id: field('id') ? Number(field('id')) : null,
          event: field('event') ?? '',
          data: field('data') ?? '',
        });
      }
    });
  });
  req.on('error', () => undefined);
  req.end();
  return { frames, close: () => req.destroy() };
}

export async function api(base: string, method: string, path: string, body?: unknown) {
  const response = await fetch(new URL(`/api/v1${path}`, base), {
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, any>) : {} };
}

/** Relayed requests wait this long for the runner: far more than a loaded machine needs, so no test races it. */
export const REPLY_WAIT_MS = 120_000;

/** `orchestrate serve --store` (dist/cli.js) on the cluster, and its base URL once it listens. */
export async function startApiNode(url: string, workspace: string): Promise<{ node: StartedCli; base: string }> {
  const node = startCli(
    [
      ...['serve', '--store', url, '--port', '0', '--workspace', workspace],
      ...['--reply-wait-sec', String(REPLY_WAIT_MS / 1000)],
    ],
    { ORCHESTRATOR_TOKEN: TOKEN },
  );
  const base = await poll(
    () => /Dashboard: (http:\/\/[^/]+)\//.exec(node.stdout())?.[1],
    30_000,
    () => node.transcript(),
  );
  return { node, base };
}
