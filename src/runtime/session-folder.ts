/**
 * The read-only door to a session folder that no process here runs (a session only on disk): its log, its
 * agents' output files, where it is. http/ and safety/ go through this and SessionRuntime, never store/.
 */
import { SessionStore } from '../store/session-store.js';

export { SESSION_ID_PATTERN, SessionNotFoundError } from '../store/session-store.js';
/** What an append wrote (its live SSE frames), and replay frames read from the file. */
export type { Appended, FrameChunk } from '../store/event-log.js';
/** The start of an event's SSE frame (src/store/frame-pages.ts). */
export { frameHead } from '../store/frame-pages.js';

/** A session's log read from disk: what the SSE replay and the history index need; `close` when done. */
export interface SessionLogReader {
  readonly lastSeq: number;
  readAfter: SessionStore['log']['readAfter'];
  readFrameChunk: SessionStore['log']['readFrameChunk'];
  close(): void;
}

/** Open a session's log read-only (throws SessionNotFoundError for an unknown or malformed id). */
export function openSessionLog(workspace: string, sessionId: string): SessionLogReader {
  const store = SessionStore.openReadOnly(workspace, sessionId);
  return {
    get lastSeq() {
      return store.log.lastSeq;
    },
    readAfter: (seq, limit) => store.log.readAfter(seq, limit),
    readFrameChunk: (seq, limit) => store.log.readFrameChunk(seq, limit),
    close: () => store.close(),
  };
}

/** The folder of a session (checked: the id cannot escape the workspace, and the session exists). */
export function sessionDirOf(workspace: string, sessionId: string): string {
  return SessionStore.dirOf(workspace, sessionId);
}

/** A worker's agent output files in a session folder (stdout, stderr, launch records). */
export function agentFilesOf(workspace: string, sessionId: string, workerId: string) {
  return SessionStore.agentFilesOf(workspace, sessionId, workerId);
}
