/**
 * What an API node shows of a fleet session, from the database alone: its row, and its view built as everywhere
 * else (src/domain/session-view.ts) from the folder its runner saved last (meta and snapshot) plus the events
 * logged since (`foldSessionEvent`). A session no runner has started yet is its spec, `queued`.
 */
import type { OrchestratorEvent } from '../domain/events.js';
import {
  foldSessionEvent,
  type SessionOutcome,
  type SessionSummary,
  type SessionView,
} from '../domain/session-view.js';
import { SessionSpecSchema } from '../domain/spec.js';
import { buildSessionView, summaryOf } from '../runtime/view.js';
import type { SessionMeta } from '../store/meta.js';
import type { SessionFolder } from './folder.js';
import type { FleetStore } from './pg-store.js';
import { FLEET_SCHEMA as S } from './schema.js';

/** A session's row, as an API node reads it. */
export interface FleetRow {
  id: string;
  status: 'queued' | 'running' | 'ended';
  outcome: string | null;
  createdAt: string;
  repo: string;
  base: string;
  agents: string[];
  labels: string[];
  /** The runner holding its lease now (null: queued, deferred, ended, or its runner let go). */
  owner: string | null;
  /** Its lease is current (a runner renews it); false once it expired, until another runner claims it. */
  leased: boolean;
  notBefore: string | null;
  lastSeq: number;
  spec: unknown;
  folder: SessionFolder | null;
  folderSeq: number;
}

/** What the fleet adds to a session's view and summary: where it runs and from what. */
export interface FleetPart {
  status: FleetRow['status'];
  runner: string | null;
  repo: string;
  base: string;
  labels: string[];
  notBefore: string | null;
}

const COLUMNS = `id, status, outcome, created_at, repo, base, agents, labels, lease_owner,
  (lease_expires IS NOT NULL AND lease_expires > now()) AS leased, not_before, last_seq, spec, folder, folder_seq`;

function rowOf(r: Record<string, unknown>): FleetRow {
  return {
    id: r.id as string,
    status: r.status as FleetRow['status'],
    outcome: (r.outcome as string | null) ?? null,
    createdAt: new Date(r.created_at as string).toISOString(),
    repo: r.repo as string,
    base: r.base as string,
    agents: r.agents as string[],
    labels: r.labels as string[],
    owner: (r.lease_owner as string | null) ?? null,
    leased: r.leased === true,
    notBefore: r.not_before ? new Date(r.not_before as string).toISOString() : null,
    lastSeq: Number(r.last_seq),
    spec: r.spec,
    folder: (r.folder as SessionFolder | null) ?? null,
    folderSeq: Number(r.folder_seq),
  };
}

export async function fleetRow(store: FleetStore, sessionId: string): Promise<FleetRow | null> {
  const { rows } = await store.pool.query(`SELECT ${COLUMNS} FROM ${S}.sessions WHERE id = $1`, [sessionId]);
  return rows[0] ? rowOf(rows[0]) : null;
}

/** The newest sessions first, at most `limit`. */
export async function fleetRows(store: FleetStore, limit: number): Promise<FleetRow[]> {
  const { rows } = await store.pool.query(
    `SELECT ${COLUMNS} FROM ${S}.sessions ORDER BY created_at DESC, id DESC LIMIT $1`,
    [limit],
  );
  return rows.map(rowOf);
}

export function fleetPart(row: FleetRow): FleetPart {
  return {
    status: row.status,
    runner: row.owner,
    repo: row.repo,
    base: row.base,
    labels: row.labels,
    notBefore: row.notBefore,
  };
}

/** The session's view: its last saved folder moved forward with the events logged since (all read from the table). */
export async function fleetView(store: FleetStore, row: FleetRow): Promise<SessionView> {
  const files = row.folder?.files ?? {};
  const meta: SessionMeta = files['session.json']
    ? (JSON.parse(files['session.json']) as SessionMeta)
    : {
        version: 1,
        sessionId: row.id,
        createdAt: row.createdAt,
        targetDir: row.repo,
        baseCommit: null,
        spec: SessionSpecSchema.parse(row.spec),
      };
  const snapshot = files['snapshot.json']
    ? (JSON.parse(files['snapshot.json']) as { snapshot: unknown }).snapshot
    : null;
  const from = files['snapshot.json'] ? row.folderSeq : 0;
  const view = buildSessionView(meta, snapshot, from);
  // Where the agents work is the runner's business; what a person needs is the repository and its base.
  view.targetDir = `${row.repo} (${row.base})`;
  for (let after = from; after < row.lastSeq; ) {
    const lines = await store.readAfter(row.id, after, 5_000);
    if (lines.length === 0) break;
    for (const line of lines) foldSessionEvent(view, JSON.parse(line.line) as OrchestratorEvent);
    after = (lines.at(-1) as { seq: number }).seq;
    view.lastSeq = after;
  }
  if (row.status === 'queued' && view.state === 'created') view.state = 'queued';
  // The outcome is the snapshot's, which its runner may not have saved after the end: the row has it then.
  if (row.status === 'ended' && view.outcome === null) view.outcome = row.outcome as SessionOutcome;
  return view;
}

/** A runner holds the session now (its lease is current): requests about it reach that runner. */
export function fleetLive(row: FleetRow): boolean {
  return row.status === 'running' && row.leased;
}

export function fleetSummary(row: FleetRow, view: SessionView): SessionSummary & { fleet: FleetPart } {
  return { ...summaryOf(view, fleetLive(row), null), fleet: fleetPart(row) };
}

/** The parts of GET /state only the log knows (reviews, decisions, recoveries), read by type from the table. */
export async function fleetHistory(store: FleetStore, sessionId: string) {
  const { rows } = await store.pool.query(
    `SELECT type, line FROM ${S}.events WHERE session_id = $1 AND type = ANY($2::text[]) ORDER BY seq`,
    [sessionId, ['review', 'decision', 'recovery']],
  );
  const of = (type: string) => rows.filter((r) => r.type === type).map((r) => JSON.parse(r.line) as OrchestratorEvent);
  return { reviews: of('review'), decisions: of('decision'), recoveries: of('recovery') };
}
