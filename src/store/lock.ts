/**
 * A session folder's `orchestrator.lock`: it names the process running the session. A lock of a process that is
 * gone (killed with -9) is stale and taken over; a live one refuses, so two orchestrators never run the same
 * session (both would launch its agents).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/atomic.js';
import { isSameProcessAlive, readProcStat } from '../fs/proc.js';

const LOCK_FILE = 'orchestrator.lock';

export interface LockHolder {
  pid: number;
  startTime: string;
  /** The machine it runs on (locks written before this field lack it). */
  host?: string;
  serverUrl?: string;
}

/** Claim the session of `sessionDir` for this process. */
export function acquireLock(sessionDir: string, sessionId: string, info: { serverUrl?: string } = {}): void {
  const holder = lockHolder(sessionDir);
  if (holder && holder.pid !== process.pid) {
    throw new SessionLockedError(sessionId, holder);
  }
  const startTime = readProcStat(process.pid)?.startTime ?? '';
  writeFileAtomic(
    join(sessionDir, LOCK_FILE),
    `${JSON.stringify({ pid: process.pid, startTime, host: hostname(), ...info })}\n`,
  );
}

/** Let go of the session, if this process holds it. */
export function releaseLock(sessionDir: string): void {
  const holder = lockHolder(sessionDir);
  if (holder?.pid === process.pid) rmSync(join(sessionDir, LOCK_FILE), { force: true });
}

/** The live process running a session folder, if any. */
export function lockHolder(sessionDir: string): LockHolder | null {
  const path = join(sessionDir, LOCK_FILE);
  if (!existsSync(path)) return null;
  try {
    const holder = JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
    // A process killed with -9 stays a zombie (same pid and start time) until its parent reaps it: gone.
    return isSameProcessAlive(holder.pid, holder.startTime) ? holder : null;
  } catch {
    return null;
  }
}

export class SessionLockedError extends Error {
  constructor(
    readonly sessionId: string,
    readonly holder: LockHolder,
  ) {
    super(
      `session ${sessionId} is being run by orchestrator process ${holder.pid}` +
        `${holder.serverUrl ? ` (server ${holder.serverUrl})` : ''}; ` +
        `control it through that process, or stop it first`,
    );
    this.name = 'SessionLockedError';
  }
}
