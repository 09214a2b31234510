/**
 * What the fleet tests share: a throwaway cluster for the file (test/support/postgres.ts; null, said loudly, where
 * Postgres cannot start), the fleet store migrated on it with an admin connection beside it, and the database
 * clock's part (a lease past its expiry) played by moving the expiry into the past.
 */
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { FleetStore } from '../../src/fleet/pg-store.js';
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
