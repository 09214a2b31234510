/**
 * A person's requests to a fleet session through the `commands` table (src/fleet/commands.ts), on a throwaway
 * cluster: taken one at a time under the lease, never once its API node stopped waiting (by the database's clock),
 * answered with the runner's bytes and headers as they were, and waited for by an API node's ReplyWaiter, which
 * gives up what is in flight when it closes. Skipped loudly where Postgres cannot start.
 */
import { describe, expect, it } from 'vitest';
import { FleetCommands, ReplyWaiter } from '../../src/fleet/commands.js';
import type { Lease } from '../../src/fleet/pg-store.js';
import { poll } from '../support/poll.js';
import { fleetCluster, useFleet } from './support.js';

const cluster = await fleetCluster('the fleet commands tests');
const available = cluster !== null;
const fleet = useFleet(cluster);

let n = 0;
async function heldSession(): Promise<Lease> {
  const id = `orch_20261207_150000_c${String(n++).padStart(3, '0')}`;
  await fleet.store.enqueue({ id, spec: { task: 't' }, repo: 'r', base: 'main', agents: ['claude'] });
  const lease = await fleet.store.claim({ id: `runner-${id}`, agents: ['claude'], leaseSec: 600 }, []);
  if (lease?.sessionId !== id) throw new Error(`claimed ${lease?.sessionId} instead of ${id}`);
  return lease;
}
const pause = { method: 'POST', path: '/api/v1/x/pause', body: '{}' };

describe.skipIf(!available)('requests to the runner holding a session', () => {
  it('are taken one at a time, oldest first, only by the lease holder', async () => {
    const lease = await heldSession();
    const commands = new FleetCommands(fleet.store);
    const first = await commands.send(lease.sessionId, pause, 60_000);
    const second = await commands.send(lease.sessionId, { ...pause, path: '/api/v1/x/resume' }, 60_000);
    expect(await commands.take({ ...lease, token: lease.token + 1 })).toBeNull();
    expect((await commands.take(lease))?.id).toBe(first);
    // The second stays pending (its node could still expire it) until the first is answered and the next taken.
    expect(await commands.giveUp(second)).toEqual({ expired: true });
    expect(await commands.take(lease)).toBeNull();
  });

  it("past its node's wait (the database's clock) a request is never taken, though nobody expired it", async () => {
    const lease = await heldSession();
    const commands = new FleetCommands(fleet.store);
    const id = await commands.send(lease.sessionId, pause, 1);
    await poll(
      async () =>
        (await fleet.admin.query('SELECT expires_at < now() AS past FROM orchestrator.commands WHERE id = $1', [id]))
          .rows[0].past,
      10_000,
      'the deadline passed',
    );
    expect(await commands.take(lease)).toBeNull();
  });

  it('an answer comes back byte for byte, with its headers', async () => {
    const lease = await heldSession();
    const commands = new FleetCommands(fleet.store);
    const id = await commands.send(lease.sessionId, pause, 60_000);
    await commands.take(lease);
    // Latin-1 bytes in a diff: not UTF-8, and must not be turned into it.
    const body = Buffer.from([0x2b, 0xe9, 0xe8, 0x0a, 0xff]);
    const headers = { 'content-type': 'text/x-diff', 'x-orchestrate-note': 'big%20file' };
    await commands.answer(lease, id, { status: 200, headers, body });
    expect(await commands.reply(id)).toEqual({ status: 200, headers, body });
  });

  it("an API node's waiter gets the answer as it commits, and gives up what is in flight when it closes", async () => {
    const lease = await heldSession();
    const waiter = new ReplyWaiter(fleet.store);
    await waiter.open();
    const runner = new FleetCommands(fleet.store);
    const answered = waiter.request(lease.sessionId, pause, 600_000);
    const taken = await poll(() => runner.take(lease), 10_000, 'the request to be there');
    const reply = { status: 202, headers: { 'content-type': 'application/json' }, body: Buffer.from('{"ok":true}') };
    await runner.answer(lease, taken.id, reply);
    expect(await answered).toEqual({ answered: reply });

    const inFlight = waiter.request(lease.sessionId, pause, 600_000);
    await poll(
      async () =>
        Number(
          (
            await fleet.admin.query(
              `SELECT count(*) AS n FROM orchestrator.commands WHERE session_id = $1 AND status = 'pending'`,
              [lease.sessionId],
            )
          ).rows[0].n,
        ) === 1,
      10_000,
      'the second request written',
    );
    await waiter.close();
    expect(await inFlight).toEqual({ expired: true });
    expect(await runner.take(lease)).toBeNull();
  });
});
