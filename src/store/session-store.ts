/**
 * One session's folder, opened: its event log (src/store/event-log.ts), its agents' launch records, its lock
 * and its snapshots. What the folder holds is src/store/layout.ts; the lock and the snapshots have modules of
 * their own (lock.ts, snapshots.ts). Everything the store's users need is exported from here.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as z from 'zod';
import type { NewEvent, OrchestratorEvent } from '../domain/events.js';
import { AttemptOutputs, type OutputTracker } from '../domain/output-facts.js';
import type { SessionSpec } from '../domain/spec.js';
import type { Isolation } from '../domain/isolation.js';
import { EventLog } from './event-log.js';
import { writeFileAtomic } from '../fs/atomic.js';
import {
  agentFilesIn,
  ignoreInGit,
  listSessions,
  newSessionId,
  SESSION_ID_PATTERN,
  sessionDirOf,
  sessionsDir,
} from './layout.js';
import { type ProcRecord, ProcRecordSchema, readSessionMeta, type SessionMeta } from './meta.js';
import { acquireLock, type LockHolder, lockHolder, releaseLock } from './lock.js';
import { type PersistedSession, readSnapshot, readSnapshotFile, writeSnapshot } from './snapshots.js';

export {
  ignoreInGit,
  newSessionId,
  SESSION_ID_PATTERN,
  SessionFileError,
  SessionNotFoundError,
  sessionsDir,
  STOP_REQUEST_FILE,
} from './layout.js';
export { type ProcRecord, ProcRecordSchema, type SessionMeta, SessionMetaSchema } from './meta.js';
export { type LockHolder, SessionLockedError } from './lock.js';
export { type PersistedSession, SNAPSHOT_VERSION } from './snapshots.js';

export class SessionStore {
  readonly log: EventLog;
  /** Per worker and attempt: byte offset just past the last stdout line already turned into events. */
  private lineEnds = new Map<string, number>();
  /**
   * Per worker and attempt, the output facts folded from the events already in the log when it was opened:
   * a re-attached process actor starts from them (the snapshot may be older than the last events).
   */
  private readonly openedFacts = new AttemptOutputs();
  /** Bytes cut from a torn last line of events.jsonl when it was opened. */
  readonly repairedBytes: number;

  private constructor(
    readonly dir: string,
    readonly meta: SessionMeta,
    readOnly = false,
  ) {
    if (readOnly) {
      this.log = EventLog.openReadOnly(join(dir, 'events.jsonl'), meta.sessionId);
      this.repairedBytes = 0;
      return;
    }
    const opened = EventLog.open(join(dir, 'events.jsonl'), meta.sessionId, (event) => {
      this.noteLineEnd(event);
      this.openedFacts.add(event);
    });
    this.log = opened.log;
    this.repairedBytes = opened.repairedBytes;
  }

  /** The workspace the session folder is in (`<workspace>/sessions/<sid>`). */
  get workspace(): string {
    return resolve(this.dir, '..', '..');
  }

  /** The facts of an attempt's output already in the log when the store was opened (taken once). */
  takeOpenedFacts(workerId: string, attempt: number): OutputTracker | undefined {
    return this.openedFacts.take(workerId, attempt);
  }

  static create(
    workspace: string,
    spec: SessionSpec,
    targetDir: string,
    baseCommit: string | null,
    now = new Date(),
    isolation?: Isolation,
    /** An id given by whoever queued the session (a fleet runner); by default a new one. */
    givenId?: string,
  ): SessionStore {
    const root = sessionsDir(workspace);
    mkdirSync(root, { recursive: true });
    ignoreInGit(workspace);
    let sessionId = givenId ?? newSessionId(now);
    if (givenId !== undefined) {
      if (!SESSION_ID_PATTERN.test(givenId)) throw new Error(`"${givenId}" is not a session id`);
      if (existsSync(join(root, givenId))) throw new Error(`session ${givenId} already exists in ${root}`);
    }
    while (existsSync(join(root, sessionId))) sessionId = newSessionId(now);
    const dir = join(root, sessionId);
    mkdirSync(join(dir, 'agents'), { recursive: true });
    const meta: SessionMeta = {
      version: 1,
      sessionId,
      createdAt: now.toISOString(),
      targetDir: resolve(targetDir),
      baseCommit,
      ...(isolation ? { isolation } : {}),
      spec,
    };
    writeFileAtomic(join(dir, 'session.json'), `${JSON.stringify(meta, null, 2)}\n`);
    return new SessionStore(dir, meta);
  }

  /** Open a session to run it: the event log is repaired (torn last line cut) and appended to. */
  static open(workspace: string, sessionId: string): SessionStore {
    return new SessionStore(SessionStore.dirOf(workspace, sessionId), SessionStore.readMeta(workspace, sessionId));
  }

  /** Open a session only to read it, safe while another process runs it: nothing is repaired or written. */
  static openReadOnly(workspace: string, sessionId: string): SessionStore {
    return new SessionStore(
      SessionStore.dirOf(workspace, sessionId),
      SessionStore.readMeta(workspace, sessionId),
      true,
    );
  }

  /** The folder of a session, after checking the id cannot escape the workspace and the session exists. */
  static dirOf(workspace: string, sessionId: string): string {
    return sessionDirOf(workspace, sessionId);
  }

  /** The persisted snapshot of a session on disk, without opening its log. */
  static readSnapshotOf(workspace: string, sessionId: string): PersistedSession | null {
    return readSnapshotFile(SessionStore.dirOf(workspace, sessionId));
  }

  /** The last event seq of a session on disk, from the tail of its log. */
  static lastSeqOf(workspace: string, sessionId: string): number {
    return EventLog.lastSeqOf(join(SessionStore.dirOf(workspace, sessionId), 'events.jsonl'));
  }

  /** Session ids in the workspace, newest first. */
  static list(workspace: string): string[] {
    return listSessions(workspace);
  }

  static readMeta(workspace: string, sessionId: string): SessionMeta {
    return readSessionMeta(workspace, sessionId);
  }

  get sessionId(): string {
    return this.meta.sessionId;
  }

  append(events: readonly NewEvent[]): OrchestratorEvent[] {
    const stamped = this.log.append(events);
    for (const event of stamped) this.noteLineEnd(event);
    return stamped;
  }

  /** Where to continue reading an attempt's stdout so that no line becomes events twice. */
  lastLineEnd(workerId: string, attempt: number): number | undefined {
    return this.lineEnds.get(`${workerId}#${attempt}`);
  }

  agentFiles(workerId: string) {
    return agentFilesIn(this.dir, workerId);
  }

  /** The agent files of a worker of a session on disk (worker ids are validated by the callers). */
  static agentFilesOf(workspace: string, sessionId: string, workerId: string) {
    return agentFilesIn(SessionStore.dirOf(workspace, sessionId), workerId);
  }

  readProcRecords(workerId: string): ProcRecord[] {
    const path = this.agentFiles(workerId).procs;
    if (!existsSync(path)) return [];
    return z.array(ProcRecordSchema).parse(JSON.parse(readFileSync(path, 'utf8')));
  }

  writeProcRecord(workerId: string, record: ProcRecord): void {
    const others = this.readProcRecords(workerId).filter((r) => r.attempt !== record.attempt);
    writeFileAtomic(this.agentFiles(workerId).procs, `${JSON.stringify([...others, record], null, 2)}\n`);
  }

  /**
   * Claim the session for this process: `orchestrator.lock` names the process running it. A lock of a process
   * that is gone (killed with -9) is stale and taken over; a live one refuses, so two orchestrators never run
   * the same session (both would launch its agents).
   */
  acquireLock(info: { serverUrl?: string } = {}): void {
    acquireLock(this.dir, this.sessionId, info);
  }

  releaseLock(): void {
    releaseLock(this.dir);
  }

  /** The live process running a session folder, if any. */
  static lockHolder(sessionDir: string): LockHolder | null {
    return lockHolder(sessionDir);
  }

  /**
   * `durable: false` for context-only updates (usage, progress): still atomic (temp + rename), not fsynced;
   * a crash may lose such an update, which the next state change or the event log makes good.
   */
  writeSnapshot(snapshot: unknown, seq = this.log.lastSeq, durable = true): void {
    writeSnapshot(this.dir, snapshot, seq, durable);
  }

  readSnapshot(): PersistedSession | null {
    return readSnapshot(this.dir, this.sessionId);
  }

  close(): void {
    this.log.close();
  }

  private noteLineEnd(event: OrchestratorEvent): void {
    if (event.type !== 'agent' || !event.at) return;
    const key = `${event.workerId}#${event.at.attempt}`;
    if ((this.lineEnds.get(key) ?? -1) < event.at.end) this.lineEnds.set(key, event.at.end);
  }
}
