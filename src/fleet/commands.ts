/**
 * A person's requests to a fleet session, carried through Postgres (the `commands` table, src/fleet/schema.ts):
 * an API node writes the request, the runner holding the session takes it, answers it through its own API app
 * (in process, never a port) and writes the answer back, which the API node returns. So a pause, a stop, a
 * blocker's answer or a message gets the same checks and the same answer as from a local server.
 *
 * Exactly once or never: a command is taken by the runner (`pending` -> `taken`, under its lease) or given up by
 * the API node that waited long enough (`pending` -> `expired`), whichever comes first, in one UPDATE each.
 */
import type { EventsListener, FleetStore, Lease } from './pg-store.js';
import { FLEET_SCHEMA as S } from './schema.js';
import { LeaseLostError } from './pg-store.js';

/** NOTIFY channel of new commands; the payload is the session id. */
export const COMMANDS_CHANNEL = 'orchestrator_commands';
/** NOTIFY channel of answered commands; the payload is the command id. */
export const REPLIES_CHANNEL = 'orchestrator_replies';

/** An HTTP request to a session's API, as the API node got it (path: /api/v1/<sid>/...). */
export interface CommandRequest {
  method: string;
  path: string;
  body: string | null;
}

export interface Command extends CommandRequest {
  id: number;
  sessionId: string;
}

/** The runner's answer: its API's status, the headers a client needs, and the body (bytes: a diff may be any). */
export interface CommandReply {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export type CommandOutcome = { answered: CommandReply } | { expired: true } | { taken: true };

export class FleetCommands {
  constructor(private readonly store: FleetStore) {}

  /** Queue a request for the session's runner, waking the runners listening; no runner takes it after `waitMs`. */
  async send(sessionId: string, request: CommandRequest, waitMs: number): Promise<number> {
    return this.store.transaction(async (client) => {
      const { rows } = await client.query(
        `INSERT INTO ${S}.commands (session_id, method, path, body, expires_at)
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5)) RETURNING id`,
        [sessionId, request.method, request.path, request.body, waitMs / 1000],
      );
      await client.query('SELECT pg_notify($1, $2)', [COMMANDS_CHANNEL, sessionId]);
      return Number(rows[0].id);
    });
  }

  /**
   * Take the session's oldest pending command that its API node still waits for, under the lease (null when there
   * is none, or the lease is not current). One at a time: the rest stay pending, so a node that stops waiting for
   * one behind a slow one can still expire it.
   */
  async take(lease: Lease): Promise<Command | null> {
    const { rows } = await this.store.pool.query(
      `UPDATE ${S}.commands c SET status = 'taken', runner_id = $2, lease_token = $3
        WHERE c.id = (
          SELECT id FROM ${S}.commands
           WHERE session_id = $1 AND status = 'pending' AND expires_at > now()
           ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1)
          AND EXISTS (SELECT 1 FROM ${S}.sessions s
                       WHERE s.id = $1 AND s.lease_owner = $2 AND s.lease_token = $3 AND s.status = 'running')
        RETURNING c.id, c.session_id, c.method, c.path, c.body`,
      [lease.sessionId, lease.runnerId, lease.token],
    );
    const r = rows[0];
    return r ? { id: Number(r.id), sessionId: r.session_id, method: r.method, path: r.path, body: r.body } : null;
  }

  /** Write the answer to a command this runner took, and wake the API node waiting for it. */
  async answer(lease: Lease, id: number, reply: CommandReply): Promise<void> {
    await this.store.transaction(async (client) => {
      const { rowCount } = await client.query(
        `UPDATE ${S}.commands SET status = 'answered', reply_status = $4, reply_headers = $5, reply_body = $6
          WHERE id = $1 AND status = 'taken' AND runner_id = $2 AND lease_token = $3`,
        [id, lease.runnerId, lease.token, reply.status, JSON.stringify(reply.headers), reply.body.toString('base64')],
      );
      if (rowCount !== 1) throw new LeaseLostError(lease);
      await client.query('SELECT pg_notify($1, $2)', [REPLIES_CHANNEL, String(id)]);
    });
  }

  /** The command's answer if it has one; else null. */
  async reply(id: number): Promise<CommandReply | null> {
    const { rows } = await this.store.pool.query(
      `SELECT status, reply_status, reply_headers, reply_body FROM ${S}.commands WHERE id = $1`,
      [id],
    );
    const row = rows[0];
    if (row?.status !== 'answered') return null;
    return {
      status: Number(row.reply_status),
      headers: row.reply_headers as Record<string, string>,
      body: Buffer.from(row.reply_body as string, 'base64'),
    };
  }

  /**
   * Stop waiting: a command still pending is expired (no runner will ever run it); one already taken or answered
   * says so.
   */
  async giveUp(id: number): Promise<CommandOutcome> {
    const { rowCount } = await this.store.pool.query(
      `UPDATE ${S}.commands SET status = 'expired' WHERE id = $1 AND status = 'pending'`,
      [id],
    );
    if (rowCount === 1) return { expired: true };
    const answered = await this.reply(id);
    return answered ? { answered } : { taken: true };
  }
}

/**
 * An API node's wait for answers: one LISTEN connection for every request in flight; a request is answered when
 * its runner's reply commits, or given up after `waitMs` (then it never runs, unless the runner had taken it).
 */
export class ReplyWaiter {
  private readonly commands: FleetCommands;
  /** Per request in flight: look at its row again, and give up on it (on close). */
  private readonly waiting = new Map<number, { look: () => void; giveUp: () => void }>();
  private listener: EventsListener | null = null;

  constructor(private readonly store: FleetStore) {
    this.commands = new FleetCommands(store);
  }

  async open(): Promise<void> {
    this.listener = await this.store.listenTo(
      REPLIES_CHANNEL,
      (payload) => this.waiting.get(Number(payload))?.look(),
      // Answers committed while the connection was down were not heard: every row is looked at again.
      () => {
        for (const entry of this.waiting.values()) entry.look();
      },
    );
  }

  /** Stop listening, and give up every request in flight (each answers then; none runs later). */
  async close(): Promise<void> {
    for (const entry of [...this.waiting.values()]) entry.giveUp();
    await this.listener?.close();
    this.listener = null;
  }

  /**
   * Send the request and wait for its answer. After `waitMs` it is given up: expired if no runner took it (the row
   * says so too, by the database's clock, should this node be gone by then), else reported taken.
   */
  async request(sessionId: string, request: CommandRequest, waitMs: number): Promise<CommandOutcome> {
    const id = await this.commands.send(sessionId, request, waitMs);
    return new Promise<CommandOutcome>((resolve, reject) => {
      let done = false;
      const settle = (outcome: { ok: CommandOutcome } | { error: unknown }) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.waiting.delete(id);
        if ('ok' in outcome) resolve(outcome.ok);
        else reject(outcome.error);
      };
      const look = () =>
        void this.commands.reply(id).then(
          (answered) => answered && settle({ ok: { answered } }),
          (error: unknown) => settle({ error }),
        );
      const giveUp = () =>
        void this.commands.giveUp(id).then(
          (ok) => settle({ ok }),
          (error: unknown) => settle({ error }),
        );
      const timer = setTimeout(giveUp, waitMs);
      this.waiting.set(id, { look, giveUp });
      // Answered before this node listened for it (a fast runner): the row says so.
      look();
    });
  }
}
