/**
 * A session folder's `snapshot.json`: the session actor's persisted snapshot and the last event seq it reflects,
 * written atomically (temp + rename).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/atomic.js';

export const SNAPSHOT_VERSION = 1;

export interface PersistedSession {
  version: number;
  /** The last event seq the snapshot reflects. */
  seq: number;
  savedAt: string;
  snapshot: unknown;
}

/**
 * `durable: false` for context-only updates (usage, progress): still atomic (temp + rename), not fsynced;
 * a crash may lose such an update, which the next state change or the event log makes good.
 */
export function writeSnapshot(sessionDir: string, snapshot: unknown, seq: number, durable = true): void {
  const data: PersistedSession = { version: SNAPSHOT_VERSION, seq, savedAt: new Date().toISOString(), snapshot };
  writeFileAtomic(join(sessionDir, 'snapshot.json'), JSON.stringify(data), 0o644, durable);
}

/** The snapshot of a session folder as it is on disk (any version), or null before the first one. */
export function readSnapshotFile(sessionDir: string): PersistedSession | null {
  const path = join(sessionDir, 'snapshot.json');
  if (!existsSync(path)) return null;
  return JSON.parse(readFileSync(path, 'utf8')) as PersistedSession;
}

/** The snapshot of a session folder to restore from: one of another version is refused. */
export function readSnapshot(sessionDir: string, sessionId: string): PersistedSession | null {
  const data = readSnapshotFile(sessionDir);
  if (data && data.version !== SNAPSHOT_VERSION) {
    throw new Error(
      `snapshot.json of ${sessionId} has version ${data.version}; this orchestrator reads version ${SNAPSHOT_VERSION}`,
    );
  }
  return data;
}
