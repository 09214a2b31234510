/**
 * The session folder: `<workspace>/sessions/<sessionId>/` holds
 *   session.json         the spec, target directory and the commit the session started from (SessionMeta)
 *   events.jsonl         the append-only event log (src/store/event-log.ts)
 *   snapshot.json        the session actor's persisted snapshot, written atomically (src/store/snapshots.ts)
 *   orchestrator.lock    the process running the session (src/store/lock.ts)
 *   stop-request.json    a stop's reason, left for the process that runs the session without a server
 *   agents/<worker>.stdout.jsonl, .stderr.log   the agent's raw output, appended across attempts
 *   agents/<worker>.proc.json                    one record per launch: pid, start time, pgid, offsets
 *   agents/<worker>.<attempt>.exit               the exit status, written by the launch wrapper
 * This module names those files; it opens no log and loads no schema, so a listing of sessions needs no zod.
 * What session.json and the launch records hold, and their schemas, are in src/store/meta.ts.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../fs/atomic.js';

export const SESSION_ID_PATTERN = /^orch_\d{8}_\d{6}_[a-z0-9]{4}$/;

export function newSessionId(now = new Date()): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const date = `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}`;
  const time = `${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  // Web Crypto, loaded when first used: `node:crypto` would cost every command that reads a session folder.
  const suffix = Array.from(globalThis.crypto.getRandomValues(new Uint8Array(4)), (b) => alphabet[b % alphabet.length]);
  return `orch_${date}_${time}_${suffix.join('')}`;
}

export function sessionsDir(workspace: string): string {
  return join(resolve(workspace), 'sessions');
}

/**
 * `orchestrate stop SID --reason ...` of a session that a process runs without a server leaves the reason in this
 * file of the session folder (`{pid, reason}`), then sends that process SIGTERM, which records it as the stop
 * reason (src/cli/follow.ts).
 */
export const STOP_REQUEST_FILE = 'stop-request.json';

/** The folder of a session, after checking the id cannot escape the workspace and the session exists. */
export function sessionDirOf(workspace: string, sessionId: string): string {
  if (!SESSION_ID_PATTERN.test(sessionId)) {
    throw new SessionNotFoundError(
      sessionId,
      `"${sessionId}" is not a session id (they look like orch_20261121_093000_ab12)`,
    );
  }
  const dir = join(sessionsDir(workspace), sessionId);
  if (!existsSync(join(dir, 'session.json')))
    throw new SessionNotFoundError(sessionId, `no session ${sessionId} in ${sessionsDir(workspace)}`);
  return dir;
}

/** Session ids in the workspace, newest first. */
export function listSessions(workspace: string): string[] {
  const root = sessionsDir(workspace);
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((name) => SESSION_ID_PATTERN.test(name) && existsSync(join(root, name, 'session.json')))
    .sort()
    .reverse();
}

/** What a listing of sessions shows of a session.json: read without the spec's schema (src/store/meta.ts has it). */
export interface SessionHeader {
  sessionId: string;
  createdAt: string;
  targetDir: string;
  task: string;
}

/**
 * The header of a session's session.json. A listing shows these four fields and nothing the schema's defaults
 * fill in, so it does not validate the whole spec (zod and the spec's schemas are most of a cold `status`);
 * everything that uses the spec reads it through readSessionMeta, which does.
 */
export function readSessionHeader(workspace: string, sessionId: string): SessionHeader {
  const { path, data: parsed } = readSessionJson(workspace, sessionId);
  const data = (parsed ?? {}) as {
    version?: unknown;
    sessionId?: unknown;
    createdAt?: unknown;
    targetDir?: unknown;
    spec?: { task?: unknown };
  };
  const { version, createdAt, targetDir } = data;
  const id = data.sessionId;
  const task = data.spec?.task;
  // What SessionMetaSchema checks of these fields, no more: the view of the session reads the same file.
  if (version !== 1 || typeof id !== 'string' || !SESSION_ID_PATTERN.test(id)) {
    throw new SessionFileError(`${path} is not a version 1 session file with a session id`);
  }
  if (typeof createdAt !== 'string' || typeof targetDir !== 'string' || typeof task !== 'string') {
    throw new SessionFileError(`${path} lacks its createdAt, targetDir or spec.task`);
  }
  return { sessionId: id, createdAt, targetDir, task };
}

/**
 * A session's session.json, parsed but not checked (readSessionHeader and readSessionMeta check it). A file that
 * cannot be read keeps its error and its code, which the CLI turns into one line; one that is not JSON is a
 * SessionFileError.
 */
export function readSessionJson(workspace: string, sessionId: string): { path: string; data: unknown } {
  const path = join(sessionDirOf(workspace, sessionId), 'session.json');
  const text = readFileSync(path, 'utf8');
  try {
    return { path, data: JSON.parse(text) };
  } catch (error) {
    throw new SessionFileError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
}

/** The files of one worker's agent in a session folder (worker ids are validated by the callers). */
export function agentFilesIn(sessionDir: string, workerId: string) {
  const base = join(sessionDir, 'agents', workerId);
  return {
    stdout: `${base}.stdout.jsonl`,
    stderr: `${base}.stderr.log`,
    procs: `${base}.proc.json`,
    exit: (attempt: number) => `${base}.${attempt}.exit`,
    /**
     * Interactive mode: the FIFO the agent's stdin relay reads, and the ids it forwarded
     * (src/actors/stdin-relay.ts).
     */
    stdin: (attempt: number) => `${base}.${attempt}.stdin`,
    sent: (attempt: number) => `${base}.${attempt}.sent.jsonl`,
  };
}

/** A file of a session folder that is not what this orchestrator wrote there: its message is one line naming it. */
export class SessionFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SessionFileError';
  }
}

export class SessionNotFoundError extends Error {
  constructor(
    readonly sessionId: string,
    message: string,
  ) {
    super(message);
    this.name = 'SessionNotFoundError';
  }
}

/**
 * The workspace usually sits in the project (`.orchestrator/`): sessions, agent output and the API token must
 * never be committed by accident, so it ignores itself, as virtualenvs and caches do. An existing file is kept.
 */
export function ignoreInGit(workspace: string): void {
  const path = join(workspace, '.gitignore');
  if (existsSync(path)) return;
  try {
    writeFileAtomic(path, "# meta-orchestrator's sessions, agent output and API token: not part of the project\n*\n");
  } catch {
    // a read-only or odd workspace: not worth failing a session over
  }
}
