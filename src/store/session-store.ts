/**
 * The session folder: `<workspace>/sessions/<sessionId>/` holds
 *   session.json         the spec, target directory and the commit the session started from
 *   events.jsonl         the append-only event log (src/store/event-log.ts)
 *   snapshot.json        the session actor's persisted snapshot, written atomically
 *   agents/<worker>.stdout.jsonl, .stderr.log   the agent's raw output, appended across attempts
 *   agents/<worker>.proc.json                    one record per launch: pid, start time, pgid, offsets
 *   agents/<worker>.<attempt>.exit               the exit status, written by the launch wrapper
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import type { NewEvent, OrchestratorEvent } from '../domain/events.js';
import { AttemptOutputs, type OutputTracker } from '../domain/output-facts.js';
import { SessionSpecSchema, type SessionSpec } from '../domain/spec.js';
import { IsolationSchema, type Isolation } from '../domain/isolation.js';
import { EventLog } from './event-log.js';
import { writeFileAtomic } from '../fs/atomic.js';
import { isSameProcessAlive, readProcStat } from '../fs/proc.js';

export const SESSION_ID_PATTERN = /^orch_\d{8}_\d{6}_[a-z0-9]{4}$/;
export const SNAPSHOT_VERSION = 1;

export const SessionMetaSchema = z.object({
  version: z.literal(1),
  sessionId: z.string().regex(SESSION_ID_PATTERN),
  createdAt: z.string(),
  targetDir: z.string(),
  /** HEAD of the target repository when the session started (reviews diff against it); null if not a git repo. */
  baseCommit: z.string().nullable(),
  /** Where its agents work (absent in sessions from before worker checkouts existed: in place). */
  isolation: IsolationSchema.optional(),
  spec: SessionSpecSchema,
});
export type SessionMeta = z.infer<typeof SessionMetaSchema>;

export const ProcRecordSchema = z.object({
  attempt: z.number().int().positive(),
  pid: z.number().int().positive(),
  pgid: z.number().int().positive(),
  /** Field 22 of /proc/<pid>/stat (clock ticks after boot): a reused pid has a different start time. */
  startTime: z.string(),
  stdoutStart: z.number().int().nonnegative(),
  stderrStart: z.number().int().nonnegative(),
  launchedAt: z.string(),
  argv: z.array(z.string()),
});
export type ProcRecord = z.infer<typeof ProcRecordSchema>;

export interface PersistedSession {
  version: number;
  /** The last event seq the snapshot reflects. */
  seq: number;
  savedAt: string;
  snapshot: unknown;
}

export function newSessionId(now = new Date()): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const date = `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}`;
  const time = `${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const suffix = Array.from(randomBytes(4), (b) => alphabet[b % alphabet.length]).join('');
  return `orch_${date}_${time}_${suffix}`;
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
  ): SessionStore {
    const root = sessionsDir(workspace);
    mkdirSync(root, { recursive: true });
    ignoreInGit(workspace);
    let sessionId = newSessionId(now);
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

  /** The persisted snapshot of a session on disk, without opening its log. */
  static readSnapshotOf(workspace: string, sessionId: string): PersistedSession | null {
    const path = join(SessionStore.dirOf(workspace, sessionId), 'snapshot.json');
    if (!existsSync(path)) return null;
    return JSON.parse(readFileSync(path, 'utf8')) as PersistedSession;
  }

  /** The last event seq of a session on disk, from the tail of its log. */
  static lastSeqOf(workspace: string, sessionId: string): number {
    return EventLog.lastSeqOf(join(SessionStore.dirOf(workspace, sessionId), 'events.jsonl'));
  }

  /** Session ids in the workspace, newest first. */
  static list(workspace: string): string[] {
    const root = sessionsDir(workspace);
    if (!existsSync(root)) return [];
    return readdirSync(root)
      .filter((name) => SESSION_ID_PATTERN.test(name) && existsSync(join(root, name, 'session.json')))
      .sort()
      .reverse();
  }

  static readMeta(workspace: string, sessionId: string): SessionMeta {
    return SessionMetaSchema.parse(
      JSON.parse(readFileSync(join(SessionStore.dirOf(workspace, sessionId), 'session.json'), 'utf8')),
    );
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
    const path = join(this.dir, 'orchestrator.lock');
    const holder = SessionStore.lockHolder(this.dir);
    if (holder && holder.pid !== process.pid) {
      throw new SessionLockedError(this.sessionId, holder);
    }
    const startTime = readProcStat(process.pid)?.startTime ?? '';
    writeFileAtomic(path, `${JSON.stringify({ pid: process.pid, startTime, host: hostname(), ...info })}\n`);
  }

  releaseLock(): void {
    const path = join(this.dir, 'orchestrator.lock');
    const holder = SessionStore.lockHolder(this.dir);
    if (holder?.pid === process.pid) rmSync(path, { force: true });
  }

  /** The live process running a session folder, if any. */
  static lockHolder(sessionDir: string): LockHolder | null {
    const path = join(sessionDir, 'orchestrator.lock');
    if (!existsSync(path)) return null;
    try {
      const holder = JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
      // A process killed with -9 stays a zombie (same pid and start time) until its parent reaps it: gone.
      return isSameProcessAlive(holder.pid, holder.startTime) ? holder : null;
    } catch {
      return null;
    }
  }

  /**
   * `durable: false` for context-only updates (usage, progress): still atomic (temp + rename), not fsynced;
   * a crash may lose such an update, which the next state change or the event log makes good.
   */
  writeSnapshot(snapshot: unknown, seq = this.log.lastSeq, durable = true): void {
    const data: PersistedSession = { version: SNAPSHOT_VERSION, seq, savedAt: new Date().toISOString(), snapshot };
    writeFileAtomic(join(this.dir, 'snapshot.json'), JSON.stringify(data), 0o644, durable);
  }

  readSnapshot(): PersistedSession | null {
    const path = join(this.dir, 'snapshot.json');
    if (!existsSync(path)) return null;
    const data = JSON.parse(readFileSync(path, 'utf8')) as PersistedSession;
    if (data.version !== SNAPSHOT_VERSION) {
      throw new Error(
        `snapshot.json of ${this.sessionId} has version ${data.version}; this orchestrator reads version ${SNAPSHOT_VERSION}`,
      );
    }
    return data;
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

function agentFilesIn(sessionDir: string, workerId: string) {
  const base = join(sessionDir, 'agents', workerId);
  return {
    stdout: `${base}.stdout.jsonl`,
    stderr: `${base}.stderr.log`,
    procs: `${base}.proc.json`,
    exit: (attempt: number) => `${base}.${attempt}.exit`,
  };
}

export interface LockHolder {
  pid: number;
  startTime: string;
  /** The machine it runs on (locks written before this field lack it). */
  host?: string;
  serverUrl?: string;
}

export class SessionLockedError extends Error {
  constructor(
    readonly sessionId: string,
    readonly holder: LockHolder,
  ) {
    super(
      `session ${sessionId} is being run by orchestrator process ${holder.pid}${holder.serverUrl ? ` (server ${holder.serverUrl})` : ''}; control it through that process, or stop it first`,
    );
    this.name = 'SessionLockedError';
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
