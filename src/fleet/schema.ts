/**
 * The fleet's tables in Postgres (docs/fleet.md): sessions with their lease, and their events.
 *
 * - `sessions` is the queue and the lease table at once. A runner claims a session whose lease is free or
 *   expired (the database's clock decides, never a runner's), which bumps `lease_token`: the fencing token
 *   every later write of that runner must carry.
 * - `sessions.folder` is what a runner needs besides the log to resume the session elsewhere (src/fleet/folder.ts):
 *   its meta, its actor's snapshot, its launch records and checkout bookkeeping, written under the lease, with
 *   `folder_seq` the last seq the snapshot reflects (never past `last_seq`).
 * - `events` holds each session's log, one row per event with the log line's exact JSON text. The primary key
 *   (session_id, seq) refuses a duplicate seq, and `sessions.last_seq` refuses a gap: an append moves it from
 *   first - 1 to last in the same transaction, under the row lock of the session, and only with the current
 *   token. Each row keeps the token and the runner that wrote it, so a test (or a person) can check that no two
 *   runners ever wrote one session at once.
 * - `commands` carries a person's requests from an API node to the runner holding the session (pause, stop, a
 *   blocker's answer, a message; src/fleet/commands.ts): the runner never needs an inbound port. A command is
 *   `pending` until the runner takes it (under its lease) or the API node gives up waiting (`expired`), whichever
 *   comes first, so it runs once or never; the runner's answer (status and body) is written back to the row.
 */

/** Our schema's name: every table is qualified with it. */
export const FLEET_SCHEMA = 'orchestrator';

/** Bumped when the tables change; `migrate` records it in `orchestrator.meta`. */
export const FLEET_SCHEMA_VERSION = 3;

/**
 * The tables, in a schema that exists: `migrate` creates the schema first only where it is missing, since
 * `CREATE SCHEMA IF NOT EXISTS` needs the CREATE privilege on the database even when the schema is there (the
 * owner of a schema made for it by a superuser, docs/fleet.md, has no such privilege).
 */
export const FLEET_DDL = `
CREATE TABLE IF NOT EXISTS ${FLEET_SCHEMA}.meta (
  key text PRIMARY KEY,
  value text NOT NULL
);

CREATE TABLE IF NOT EXISTS ${FLEET_SCHEMA}.sessions (
  id text PRIMARY KEY,
  spec jsonb NOT NULL,
  repo text NOT NULL,
  base text NOT NULL,
  agents text[] NOT NULL,
  labels text[] NOT NULL DEFAULT '{}',
  status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'ended')),
  outcome text,
  created_at timestamptz NOT NULL DEFAULT now(),
  not_before timestamptz,
  lease_owner text,
  lease_token bigint NOT NULL DEFAULT 0,
  lease_expires timestamptz,
  last_seq bigint NOT NULL DEFAULT 0
);

CREATE INDEX IF NOT EXISTS sessions_claimable ON ${FLEET_SCHEMA}.sessions (created_at)
  WHERE status <> 'ended';

-- version 2: what a runner resumes a session from (src/fleet/folder.ts)
ALTER TABLE ${FLEET_SCHEMA}.sessions ADD COLUMN IF NOT EXISTS folder jsonb;
ALTER TABLE ${FLEET_SCHEMA}.sessions ADD COLUMN IF NOT EXISTS folder_seq bigint NOT NULL DEFAULT 0;

CREATE TABLE IF NOT EXISTS ${FLEET_SCHEMA}.events (
  session_id text NOT NULL REFERENCES ${FLEET_SCHEMA}.sessions (id) ON DELETE CASCADE,
  seq bigint NOT NULL CHECK (seq > 0),
  type text NOT NULL,
  line text NOT NULL,
  lease_token bigint NOT NULL,
  runner_id text NOT NULL,
  PRIMARY KEY (session_id, seq)
);

-- version 3: a person's requests to the runner holding a session (src/fleet/commands.ts)
CREATE TABLE IF NOT EXISTS ${FLEET_SCHEMA}.commands (
  id bigserial PRIMARY KEY,
  session_id text NOT NULL REFERENCES ${FLEET_SCHEMA}.sessions (id) ON DELETE CASCADE,
  method text NOT NULL,
  path text NOT NULL,
  body text,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'taken', 'answered', 'expired')),
  created_at timestamptz NOT NULL DEFAULT now(),
  -- past this (the database's clock) no runner takes it: its API node has stopped waiting, whatever became of it
  expires_at timestamptz NOT NULL,
  runner_id text,
  lease_token bigint,
  reply_status integer,
  -- the headers a client needs (content-type, allow, x-orchestrate-note) and the body, base64: a diff is bytes
  reply_headers jsonb,
  reply_body text
);

CREATE INDEX IF NOT EXISTS commands_pending ON ${FLEET_SCHEMA}.commands (session_id, id) WHERE status = 'pending';
`;
