/**
 * The fleet's store in Postgres (src/fleet/schema.ts): queue a session, claim it under a lease, keep the lease,
 * append its events fenced by the lease's token, read them back.
 *
 * Every write of a runner names its lease: (session, runner, token). A write whose lease is no longer current
 * (claimed since by another runner, which bumped the token, or given back) changes nothing and throws
 * LeaseLostError; the runner must then stop that session's agents. The database's clock decides expiry, and expiry
 * decides only when another runner may claim: until one does, nobody else can have written, so the runner whose
 * renewal came late (a loaded machine, a slow network) still holds the session and goes on. The token, not the
 * clock, keeps two runners from writing one session.
 */
import pg from 'pg';
import type { LogLine } from '../store/event-log.js';
import { FLEET_DDL, FLEET_SCHEMA as S, FLEET_SCHEMA_VERSION } from './schema.js';

export interface QueuedSession {
  id: string;
  spec: unknown;
  /** A git URL every runner can fetch. */
  repo: string;
  /** The ref the session starts from. */
  base: string;
  /** The agents its workers and reviewers run: a runner claims it only if it has them all. */
  agents: string[];
  /** A runner claims it only if it has all these labels. */
  labels?: string[];
}

export interface Lease {
  sessionId: string;
  runnerId: string;
  /** The fencing token: bumped by every claim, carried by every write. */
  token: number;
  /** The last seq in the database when the lease was taken (the runner continues from there). */
  lastSeq: number;
  spec: unknown;
  repo: string;
  base: string;
}

export interface RunnerIdentity {
  id: string;
  agents: readonly string[];
  labels?: readonly string[];
  leaseSec: number;
}

/** A line of the session's log: its seq, type and exact JSON text (as events.jsonl has it). */
export type { LogLine } from '../store/event-log.js';

/** The NOTIFY channel of appended events; the payload is `<sessionId> <lastSeq>`. */
export const EVENTS_CHANNEL = 'orchestrator_events';

/** A live subscription to appended events (one connection of its own, LISTENing). */
export interface EventsListener {
  close(): Promise<void>;
}

export class LeaseLostError extends Error {
  constructor(readonly lease: Pick<Lease, 'sessionId' | 'runnerId' | 'token'>) {
    super(
      `runner ${lease.runnerId} no longer holds session ${lease.sessionId} (token ${lease.token}): ` +
        'its lease expired or another runner claimed it',
    );
    this.name = 'LeaseLostError';
  }
}

export class SeqGapError extends Error {
  constructor(sessionId: string, expected: number, got: number) {
    super(`session ${sessionId}: the next event is seq ${expected}, not ${got} (seq must stay gap-free)`);
    this.name = 'SeqGapError';
  }
}

export class FleetStore {
  /** The pool, for the fleet's other tables (src/fleet/commands.ts, src/fleet/api-reads.ts). */
  private constructor(readonly pool: pg.Pool) {}

  /** A pool on `url` (postgres://...); `max` connections at most. */
  static connect(url: string, options: { max?: number; applicationName?: string } = {}): FleetStore {
    const pool = new pg.Pool({
      connectionString: url,
      max: options.max ?? 4,
      // A database that drops packets is an error in seconds, not a hang of the OS's TCP timeout.
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
      application_name: options.applicationName ?? 'orchestrate',
    });
    // An idle client that loses its connection emits here; without a listener the process would crash.
    pool.on('error', () => undefined);
    return new FleetStore(pool);
  }

  /** Create the schema and tables if missing (idempotent; serialized by an advisory lock). */
  async migrate(): Promise<void> {
    await this.transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`${S}.migrate`]);
      const schema = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [S]);
      if (schema.rowCount === 0) await client.query(`CREATE SCHEMA ${S}`);
      await client.query(FLEET_DDL);
      await client.query(
        `INSERT INTO ${S}.meta (key, value) VALUES ('schema_version', $1)
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
        [String(FLEET_SCHEMA_VERSION)],
      );
    });
  }

  async enqueue(session: QueuedSession): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${S}.sessions (id, spec, repo, base, agents, labels) VALUES ($1, $2, $3, $4, $5, $6)`,
      [session.id, JSON.stringify(session.spec), session.repo, session.base, session.agents, session.labels ?? []],
    );
  }

  /**
   * Claim the oldest session this runner can serve whose lease is free or expired, bumping its token; null when
   * there is none. Runners claiming at once skip each other's rows (FOR UPDATE SKIP LOCKED). `except`: sessions the
   * runner still winds down (one it lost and is stopping is not its to claim again until that is over).
   */
  async claim(runner: RunnerIdentity, except: readonly string[] = []): Promise<Lease | null> {
    const { rows } = await this.pool.query(
      `UPDATE ${S}.sessions s
          SET lease_owner = $1, lease_token = s.lease_token + 1, status = 'running',
              lease_expires = now() + make_interval(secs => $2)
        WHERE s.id = (
          SELECT id FROM ${S}.sessions
           WHERE status <> 'ended' AND (lease_expires IS NULL OR lease_expires <= now())
             AND (not_before IS NULL OR not_before <= now())
             AND agents <@ $3::text[] AND labels <@ $4::text[] AND NOT (id = ANY($5::text[]))
           ORDER BY created_at, id
           FOR UPDATE SKIP LOCKED
           LIMIT 1)
        RETURNING id, lease_token, last_seq, spec, repo, base`,
      [runner.id, runner.leaseSec, [...runner.agents], [...(runner.labels ?? [])], [...except]],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      sessionId: row.id,
      runnerId: runner.id,
      token: Number(row.lease_token),
      lastSeq: Number(row.last_seq),
      spec: row.spec,
      repo: row.repo,
      base: row.base,
    };
  }

  /** Extend the lease by `leaseSec` from now; throws LeaseLostError if it is no longer this runner's. */
  async heartbeat(lease: Lease, leaseSec: number): Promise<void> {
    const { rowCount } = await this.pool.query(
      `UPDATE ${S}.sessions SET lease_expires = now() + make_interval(secs => $4)
        WHERE id = $1 AND lease_owner = $2 AND lease_token = $3 AND status = 'running'`,
      [lease.sessionId, lease.runnerId, lease.token, leaseSec],
    );
    if (rowCount !== 1) throw new LeaseLostError(lease);
  }

  /**
   * Append lines that continue the session's log (the first is last_seq + 1, the rest consecutive), in one
   * transaction, only under the current lease. Throws LeaseLostError (nothing written) when the lease is gone,
   * SeqGapError when the lines do not continue the log.
   */
  async append(lease: Lease, lines: readonly LogLine[]): Promise<void> {
    if (lines.length === 0) return;
    const first = lines[0] as LogLine;
    for (const [i, line] of lines.entries()) {
      if (line.seq !== first.seq + i) throw new SeqGapError(lease.sessionId, first.seq + i, line.seq);
    }
    const last = first.seq + lines.length - 1;
    await this.transaction(async (client) => {
      const moved = await client.query(
        `UPDATE ${S}.sessions SET last_seq = $5
          WHERE id = $1 AND lease_owner = $2 AND lease_token = $3 AND last_seq = $4`,
        [lease.sessionId, lease.runnerId, lease.token, first.seq - 1, last],
      );
      if (moved.rowCount !== 1) {
        const held = await this.holds(client, lease);
        if (!held.holds) throw new LeaseLostError(lease);
        throw new SeqGapError(lease.sessionId, held.lastSeq + 1, first.seq);
      }
      // Delivered at commit, to every node listening (src/fleet/pg-store.ts listen): SSE from any API node.
      await client.query('SELECT pg_notify($1, $2)', [EVENTS_CHANNEL, `${lease.sessionId} ${last}`]);
      await client.query(
        `INSERT INTO ${S}.events (session_id, seq, type, line, lease_token, runner_id)
         SELECT $1, seq, type, line, $2, $3 FROM unnest($4::bigint[], $5::text[], $6::text[]) AS t(seq, type, line)`,
        [
          lease.sessionId,
          lease.token,
          lease.runnerId,
          lines.map((l) => l.seq),
          lines.map((l) => l.type),
          lines.map((l) => l.line),
        ],
      );
    });
  }

  /** End the session (its outcome recorded) and free its lease; throws LeaseLostError if not held. */
  async finish(lease: Lease, outcome: string): Promise<void> {
    const { rowCount } = await this.pool.query(
      `UPDATE ${S}.sessions SET status = 'ended', outcome = $4, lease_owner = NULL, lease_expires = NULL
        WHERE id = $1 AND lease_owner = $2 AND lease_token = $3`,
      [lease.sessionId, lease.runnerId, lease.token, outcome],
    );
    if (rowCount !== 1) throw new LeaseLostError(lease);
  }

  /**
   * Keep what the session's folder holds besides its log (src/fleet/folder.ts), under the lease; `seq` is the last
   * seq it reflects, which the log in the database must already hold. Throws LeaseLostError if not held.
   */
  async saveFolder(lease: Lease, folder: unknown, seq: number): Promise<void> {
    const { rowCount } = await this.pool.query(
      `UPDATE ${S}.sessions SET folder = $4, folder_seq = $5
        WHERE id = $1 AND lease_owner = $2 AND lease_token = $3 AND last_seq >= $5`,
      [lease.sessionId, lease.runnerId, lease.token, JSON.stringify(folder), seq],
    );
    if (rowCount !== 1) throw new LeaseLostError(lease);
  }

  /** The folder a runner saved last (null before the first save). */
  async folder(sessionId: string): Promise<unknown> {
    const { rows } = await this.pool.query(`SELECT folder FROM ${S}.sessions WHERE id = $1`, [sessionId]);
    return rows[0]?.folder ?? null;
  }

  /** Lines with seq > afterSeq, at most `limit`, in order. */
  async readAfter(sessionId: string, afterSeq: number, limit = 10_000): Promise<LogLine[]> {
    const { rows } = await this.pool.query(
      `SELECT seq, type, line FROM ${S}.events WHERE session_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      [sessionId, afterSeq, limit],
    );
    return rows.map((r) => ({ seq: Number(r.seq), type: r.type, line: r.line }));
  }

  /**
   * Call `onAppended(sessionId, lastSeq)` after every committed append of any session, on a connection of its
   * own. The payload only wakes a reader: what was appended is read from the table (readAfter), so a missed
   * notification (a reconnect) loses nothing as long as the reader reads from its own last seq.
   */
  async listen(onAppended: (sessionId: string, lastSeq: number) => void): Promise<EventsListener> {
    return this.listenTo(EVENTS_CHANNEL, (payload) => {
      const space = payload.lastIndexOf(' ');
      onAppended(payload.slice(0, space), Number(payload.slice(space + 1)));
    });
  }

  /**
   * Call `onPayload` for every notification on `channel` (one of ours: a constant, never input), on a connection of
   * its own outside the pool: a listener held for the life of a runner or an API node takes no slot of its writes.
   * A connection that drops is made again (a second later, then every second until it is back); the readers' own
   * ticks read the tables meanwhile, so a notification missed then only delays.
   */
  async listenTo(
    channel: string,
    onPayload: (payload: string) => void,
    onReconnect?: () => void,
  ): Promise<EventsListener> {
    let closed = false;
    let client: pg.Client | null = null;
    let retry: NodeJS.Timeout | null = null;
    const connect = async (): Promise<void> => {
      // Keepalive: a connection the network dropped without a word is noticed, and made again.
      const next = new pg.Client({ ...(this.pool.options as pg.ClientConfig), keepAlive: true });
      next.on('notification', (message) => {
        if (message.channel === channel && message.payload) onPayload(message.payload);
      });
      const again = () => {
        if (closed || client !== next) return;
        client = null;
        void next.end().catch(() => undefined);
        retry ??= setTimeout(reconnect, 1_000);
      };
      next.on('error', again);
      next.on('end', again);
      try {
        await next.connect();
        await next.query(`LISTEN ${channel}`);
      } catch (error) {
        await next.end().catch(() => undefined);
        throw error;
      }
      if (closed) await next.end().catch(() => undefined);
      else client = next;
    };
    const reconnect = () => {
      retry = null;
      if (closed) return;
      connect().then(
        () => onReconnect?.(),
        () => {
          retry ??= setTimeout(reconnect, 1_000);
        },
      );
    };
    await connect();
    return {
      async close() {
        closed = true;
        if (retry) clearTimeout(retry);
        await client?.end().catch(() => undefined);
        client = null;
      },
    };
  }

  /**
   * Give the session back to the queue until `notBefore` (a rate-limited agent said when to retry): the lease is
   * freed, so the runner's slot is too, and no runner claims it before then. Throws LeaseLostError if not held.
   */
  async defer(lease: Lease, notBefore: Date): Promise<void> {
    const { rowCount } = await this.pool.query(
      `UPDATE ${S}.sessions SET not_before = $4, lease_owner = NULL, lease_expires = NULL
        WHERE id = $1 AND lease_owner = $2 AND lease_token = $3`,
      [lease.sessionId, lease.runnerId, lease.token, notBefore],
    );
    if (rowCount !== 1) throw new LeaseLostError(lease);
  }

  /** Who wrote each event of a session (seq, runner, token): what the fencing tests check. */
  async writers(sessionId: string): Promise<Array<{ seq: number; runnerId: string; token: number }>> {
    const { rows } = await this.pool.query(
      `SELECT seq, runner_id, lease_token FROM ${S}.events WHERE session_id = $1 ORDER BY seq`,
      [sessionId],
    );
    return rows.map((r) => ({ seq: Number(r.seq), runnerId: r.runner_id, token: Number(r.lease_token) }));
  }

  /** A session's row as the queue sees it. */
  async session(sessionId: string): Promise<{ status: string; lastSeq: number; token: number; owner: string | null }> {
    const { rows } = await this.pool.query(
      `SELECT status, last_seq, lease_token, lease_owner FROM ${S}.sessions WHERE id = $1`,
      [sessionId],
    );
    const row = rows[0];
    if (!row) throw new Error(`no session ${sessionId} in the fleet store`);
    return {
      status: row.status,
      lastSeq: Number(row.last_seq),
      token: Number(row.lease_token),
      owner: row.lease_owner,
    };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async holds(client: pg.PoolClient, lease: Lease): Promise<{ holds: boolean; lastSeq: number }> {
    const { rows } = await client.query(
      `SELECT (lease_owner = $2 AND lease_token = $3) AS holds, last_seq
         FROM ${S}.sessions WHERE id = $1`,
      [lease.sessionId, lease.runnerId, lease.token],
    );
    return { holds: rows[0]?.holds === true, lastSeq: Number(rows[0]?.last_seq ?? 0) };
  }

  /** `body` in one transaction (rolled back if it throws); also for the fleet's other tables (./commands.ts). */
  async transaction<T>(body: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await body(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}
