/**
 * The fleet store (src/fleet/pg-store.ts) against a real Postgres cluster started by this file in a temp folder
 * (test/support/postgres.ts; skipped loudly where Postgres cannot start). Time never passes by itself here: a
 * lease expires because the test moves its expiry into the past, as the database clock would.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { LeaseLostError, type Lease, type LogLine, SeqGapError } from '../../src/fleet/pg-store.js';
import { FLEET_SCHEMA_VERSION } from '../../src/fleet/schema.js';
import { poll } from '../support/poll.js';
import { expireLease, fleetCluster, useFleet } from './support.js';

const server = await fleetCluster('the fleet store tests');
const available = server !== null;
const fleet = useFleet(server);
let n = 0;

beforeEach(async () => {
  if (available) await fleet.admin.query('DELETE FROM orchestrator.sessions');
});

const runner = (id: string, agents = ['claude', 'codex', 'gemini'], labels: string[] = []) => ({
  id,
  agents,
  labels,
  leaseSec: 60,
});
async function queue(agents = ['claude'], labels: string[] = []): Promise<string> {
  const id = `orch_20261207_000000_${String(++n).padStart(4, '0')}`;
  await fleet.store.enqueue({ id, spec: { task: 't' }, repo: 'file:///repo.git', base: 'main', agents, labels });
  return id;
}
const lines = (from: number, count: number): LogLine[] =>
  Array.from({ length: count }, (_, i) => ({ seq: from + i, type: 'state', line: `{"seq":${from + i}}` }));
const expire = (sessionId: string) => expireLease(fleet.admin, sessionId);

describe.skipIf(!available)('the fleet store in Postgres', () => {
  it('migrates idempotently, also from several nodes at once', async () => {
    await Promise.all([fleet.store.migrate(), fleet.store.migrate(), fleet.store.migrate()]);
    const { rows } = await fleet.admin.query(`SELECT value FROM orchestrator.meta WHERE key = 'schema_version'`);
    expect(rows).toEqual([{ value: String(FLEET_SCHEMA_VERSION) }]);
  });

  it('a runner claims only sessions whose agents and labels it has, oldest first', async () => {
    const gemini = await queue(['gemini']);
    const gpu = await queue(['claude'], ['gpu']);
    const plain = await queue(['claude', 'codex']);
    expect(await fleet.store.claim(runner('r1', ['claude']))).toBeNull();
    expect((await fleet.store.claim(runner('r1', ['claude', 'codex'])))?.sessionId).toBe(plain);
    expect((await fleet.store.claim(runner('r2', ['claude'], ['gpu', 'big'])))?.sessionId).toBe(gpu);
    const lease = await fleet.store.claim(runner('r3', ['gemini']));
    expect(lease).toMatchObject({ sessionId: gemini, runnerId: 'r3', token: 1, lastSeq: 0, base: 'main' });
    expect(await fleet.store.claim(runner('r4'))).toBeNull();
  });

  it('runners claiming at once never get the same session', async () => {
    const ids = await Promise.all(Array.from({ length: 12 }, () => queue()));
    const claims = await Promise.all(Array.from({ length: 16 }, (_, i) => fleet.store.claim(runner(`r${i}`))));
    const got = claims.flatMap((c) => (c ? [c.sessionId] : []));
    expect(got.sort()).toEqual([...ids].sort());
  });

  it('appends gap-free: the next line must be last_seq + 1, a duplicate or a gap writes nothing', async () => {
    await queue();
    const lease = (await fleet.store.claim(runner('r1'))) as Lease;
    await fleet.store.append(lease, lines(1, 3));
    await expect(fleet.store.append(lease, lines(5, 1))).rejects.toBeInstanceOf(SeqGapError);
    await expect(fleet.store.append(lease, lines(3, 2))).rejects.toThrow(/next event is seq 4, not 3/);
    await expect(fleet.store.append(lease, [...lines(4, 1), ...lines(6, 1)])).rejects.toBeInstanceOf(SeqGapError);
    await fleet.store.append(lease, lines(4, 2));
    expect((await fleet.store.readAfter(lease.sessionId, 0)).map((l) => l.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(await fleet.store.readAfter(lease.sessionId, 3, 1)).toEqual([{ seq: 4, type: 'state', line: '{"seq":4}' }]);
    expect((await fleet.store.session(lease.sessionId)).lastSeq).toBe(5);
  });

  it('the database refuses a duplicate seq even past the store (primary key session_id, seq)', async () => {
    const id = await queue();
    const insert = (runnerId: string) =>
      fleet.admin.query(
        `INSERT INTO orchestrator.events (session_id, seq, type, line, lease_token, runner_id)
         VALUES ($1, 1, 's', '{}', 1, $2)`,
        [id, runnerId],
      );
    await insert('x');
    await expect(insert('y')).rejects.toThrow(/duplicate key/);
  });

  it('a runner whose lease expired and was claimed by another writes nothing: fenced by the token', async () => {
    const id = await queue();
    const stale = (await fleet.store.claim(runner('a'))) as Lease;
    await fleet.store.append(stale, lines(1, 2));
    // a stops heartbeating; after leaseSec another runner claims the session and continues from last_seq.
    await expire(id);
    const fresh = (await fleet.store.claim(runner('b'))) as Lease;
    expect(fresh).toMatchObject({ sessionId: id, token: stale.token + 1, lastSeq: 2 });
    // a comes back: every write it tries is refused, and nothing of it lands.
    await expect(fleet.store.append(stale, lines(3, 1))).rejects.toBeInstanceOf(LeaseLostError);
    await expect(fleet.store.heartbeat(stale, 60)).rejects.toBeInstanceOf(LeaseLostError);
    await expect(fleet.store.finish(stale, 'completed')).rejects.toBeInstanceOf(LeaseLostError);
    await fleet.store.append(fresh, lines(3, 2));
    await fleet.store.heartbeat(fresh, 60);
    expect(await fleet.store.writers(id)).toEqual([
      { seq: 1, runnerId: 'a', token: 1 },
      { seq: 2, runnerId: 'a', token: 1 },
      { seq: 3, runnerId: 'b', token: 2 },
      { seq: 4, runnerId: 'b', token: 2 },
    ]);
    await fleet.store.finish(fresh, 'completed');
    expect(await fleet.store.session(id)).toMatchObject({ status: 'ended', lastSeq: 4, owner: null });
    expect(await fleet.store.claim(runner('c'))).toBeNull();
  });

  it("an expired lease nobody claimed is still its runner's: a late renewal keeps it, a claim ends it", async () => {
    const id = await queue();
    const lease = (await fleet.store.claim(runner('a'))) as Lease;
    await expire(id);
    // Nobody else can have written (the token is the same): the late runner renews and goes on.
    await fleet.store.append(lease, lines(1, 1));
    await fleet.store.heartbeat(lease, 60);
    expect(await fleet.store.claim(runner('b'))).toBeNull();
    // Once another runner claimed it, the token moved on: the first can write nothing, renew nothing.
    await expire(id);
    const taken = (await fleet.store.claim(runner('b'))) as Lease;
    expect(taken.token).toBe(lease.token + 1);
    await expect(fleet.store.append(lease, lines(2, 2))).rejects.toBeInstanceOf(LeaseLostError);
    await expect(fleet.store.heartbeat(lease, 60)).rejects.toBeInstanceOf(LeaseLostError);
    expect((await fleet.store.readAfter(id, 0)).map((l) => l.seq)).toEqual([1]);
  });

  it('a heartbeat keeps the lease: nobody else can claim the session meanwhile', async () => {
    await queue();
    const lease = (await fleet.store.claim(runner('a'))) as Lease;
    await fleet.store.heartbeat(lease, 60);
    expect(await fleet.store.claim(runner('b'))).toBeNull();
  });

  it('tells every listener of each committed append, and of nothing a refused append tried', async () => {
    const id = await queue();
    const lease = (await fleet.store.claim(runner('a'))) as Lease;
    const heard: string[] = [];
    let wake: () => void = () => undefined;
    const listener = await fleet.store.listen((sid, last) => {
      heard.push(`${sid === id ? 'sid' : sid} ${last}`);
      wake();
    });
    try {
      const next = () => new Promise<void>((resolve) => (wake = resolve));
      let heardOne = next();
      await fleet.store.append(lease, lines(1, 2));
      await heardOne;
      await expect(fleet.store.append(lease, lines(9, 1))).rejects.toBeInstanceOf(SeqGapError);
      heardOne = next();
      await fleet.store.append(lease, lines(3, 1));
      await heardOne;
      // The refused append rolled back its NOTIFY with everything else.
      expect(heard).toEqual(['sid 2', 'sid 3']);
    } finally {
      await listener.close();
    }
  });

  it('a listener whose connection is cut connects again and hears what comes after', async () => {
    const heard: string[] = [];
    const listener = await fleet.store.listenTo('orchestrator_test_channel', (payload) => heard.push(payload));
    try {
      await fleet.admin.query(`SELECT pg_notify('orchestrator_test_channel', 'before')`);
      await poll(() => heard.includes('before'), 10_000, 'the first notification');
      // The database ends the listener's backend (as a restart or a network cut would).
      const { rowCount } = await fleet.admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'LISTEN orchestrator_test_channel'`,
      );
      expect(rowCount).toBe(1);
      // Notified until it hears one: a notification sent while it was away is not promised, the next ones are.
      await poll(
        async () => {
          await fleet.admin.query(`SELECT pg_notify('orchestrator_test_channel', 'after')`);
          return heard.includes('after');
        },
        30_000,
        'a notification after the reconnect',
        200,
      );
    } finally {
      await listener.close();
    }
  });

  it('a deferred session frees its runner and is claimable again only from its not-before time', async () => {
    const id = await queue();
    const lease = (await fleet.store.claim(runner('a'))) as Lease;
    await fleet.store.append(lease, lines(1, 1));
    await fleet.store.defer(lease, new Date(Date.now() + 3_600_000));
    expect(await fleet.store.claim(runner('b'))).toBeNull();
    await expect(fleet.store.append(lease, lines(2, 1))).rejects.toBeInstanceOf(LeaseLostError);
    // The database clock reaches the retry time.
    await fleet.admin.query(`UPDATE orchestrator.sessions SET not_before = now() - interval '1 second' WHERE id = $1`, [
      id,
    ]);
    expect(await fleet.store.claim(runner('b'))).toMatchObject({ sessionId: id, token: 2, lastSeq: 1 });
  });
});
