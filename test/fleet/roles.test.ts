/**
 * The least-privilege roles of docs/fleet.md, run as they are written there (the two ```sql blocks of its
 * "Roles" section), in a database `orch` of a throwaway cluster: a runner can claim, renew, append and finish and
 * cannot change or delete an event or create anything; an API node can queue and read and cannot claim or write
 * an event. Skipped loudly where Postgres cannot start.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetCommands } from '../../src/fleet/commands.js';
import { FleetStore, type Lease } from '../../src/fleet/pg-store.js';
import { fleetCluster } from './support.js';

const cluster = await fleetCluster('the fleet roles tests');
const available = cluster !== null;
const server = cluster as NonNullable<typeof cluster>;

/** The ```sql blocks of docs/fleet.md's "Roles" section, in order. */
function documentedSql(): string[] {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'fleet.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Roles'), doc.indexOf('\n## ', doc.indexOf('## Roles') + 1));
  return [...section.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1] as string);
}

async function as(user: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: server.urlFor({ user, database: 'orch' }) });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

const stores: FleetStore[] = [];
const storeAs = (user: string) => {
  const store = FleetStore.connect(server.urlFor({ user, database: 'orch' }));
  stores.push(store);
  return store;
};

beforeAll(async () => {
  if (!available) return;
  const [before, after] = documentedSql();
  if (!before || !after) throw new Error('docs/fleet.md has lost its two ```sql blocks of roles');
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query('CREATE DATABASE orch');
  await admin.end();
  await as('postgres', before);
  await storeAs('orch_owner').migrate();
  await as('orch_owner', after);
});
afterAll(async () => {
  if (!available) return;
  for (const store of stores) await store.close();
  await server.stop();
});

describe.skipIf(!available)('the documented fleet roles', () => {
  it('an API node queues and reads; a runner claims, renews, appends and finishes', async () => {
    const api = storeAs('orch_api');
    const runner = storeAs('orch_runner');
    await api.enqueue({ id: 'orch_20261207_140000_role', spec: {}, repo: 'r', base: 'main', agents: ['claude'] });
    const lease = (await runner.claim({ id: 'r1', agents: ['claude'], leaseSec: 60 })) as Lease;
    expect(lease.sessionId).toBe('orch_20261207_140000_role');
    await runner.heartbeat(lease, 60);
    await runner.append(lease, [{ seq: 1, type: 'state', line: '{"seq":1}' }]);
    const listener = await api.listen(() => undefined);
    await listener.close();
    expect(await api.readAfter(lease.sessionId, 0)).toEqual([{ seq: 1, type: 'state', line: '{"seq":1}' }]);
    // A person's request: the API node writes it, the runner takes it and answers; one given up expires.
    const apiCommands = new FleetCommands(api);
    const id = await apiCommands.send(lease.sessionId, { method: 'POST', path: '/pause', body: '{}' }, 60_000);
    const runnerCommands = new FleetCommands(runner);
    expect((await runnerCommands.take(lease))?.id).toBe(id);
    const reply = { status: 202, headers: { 'content-type': 'application/json' }, body: Buffer.from('{}') };
    await runnerCommands.answer(lease, id, reply);
    expect(await apiCommands.giveUp(id)).toEqual({ answered: reply });
    const unanswered = await apiCommands.send(lease.sessionId, { method: 'POST', path: '/stop', body: null }, 60_000);
    expect(await apiCommands.giveUp(unanswered)).toEqual({ expired: true });
    expect(await runnerCommands.take(lease)).toBeNull();
    await runner.finish(lease, 'completed');
    expect((await api.session(lease.sessionId)).status).toBe('ended');
  });

  it('a runner cannot change or delete an event, or create anything', async () => {
    for (const sql of [
      'DELETE FROM orchestrator.events',
      "UPDATE orchestrator.events SET line = '{}'",
      'CREATE TABLE orchestrator.mine (x int)',
      'CREATE TABLE public.mine (x int)',
      'DELETE FROM orchestrator.sessions',
      "UPDATE orchestrator.commands SET path = '/stop'",
      "INSERT INTO orchestrator.commands (session_id, method, path) VALUES ('x', 'POST', '/stop')",
    ])
      await expect(as('orch_runner', sql), sql).rejects.toThrow(/permission denied/);
  });

  it('an API node cannot claim a session or write an event', async () => {
    const api = storeAs('orch_api');
    await api.enqueue({ id: 'orch_20261207_140000_rol2', spec: {}, repo: 'r', base: 'main', agents: ['claude'] });
    await expect(api.claim({ id: 'api', agents: ['claude'], leaseSec: 60 })).rejects.toThrow(/permission denied/);
    await expect(
      as('orch_api', `INSERT INTO orchestrator.events VALUES ('orch_20261207_140000_rol2', 1, 's', '{}', 1, 'x')`),
    ).rejects.toThrow(/permission denied/);
    await expect(
      as('orch_api', "UPDATE orchestrator.commands SET reply_status = 200, status = 'answered'"),
    ).rejects.toThrow(/permission denied/);
  });

  it('nobody but the listed roles can connect to the database', async () => {
    await as('postgres', 'CREATE ROLE stranger LOGIN');
    await expect(as('stranger', 'SELECT 1')).rejects.toThrow(/permission denied for database/);
  });
});
