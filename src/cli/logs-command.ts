/**
 * `orchestrate logs SID [WORKER] [--follow] [--raw] [--stderr] [--json]`: a session's events as readable lines
 * (or JSONL), or a worker's raw agent output; --follow keeps reading as the files grow, whether or not this
 * process runs the session (it reads the files, not the runtime), and ends once the session has ended.
 * Read-only: it never creates or writes anything.
 */
import { existsSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import type { OrchestratorEvent } from '../domain/events.js';
import { describePayload } from '../domain/output-facts.js';
import { UsageError } from '../domain/usage-error.js';
import { LineFollower } from '../actors/line-follower.js';
import { buildSessionView } from '../runtime/view.js';
import { SESSION_ID_PATTERN, SessionStore } from '../store/session-store.js';
import { describeNotable, describeState, time } from './live-view.js';
import type { Style } from './style.js';
import { workspaceExists } from './workspace.js';

export interface LogsOptions {
  workspace: string;
  sessionId: string;
  workerId?: string;
  follow: boolean;
  raw: boolean;
  stderr: boolean;
  json: boolean;
  out: NodeJS.WritableStream;
  style: Style;
}

/** States of the session machine it never leaves. */
const FINAL_SESSION_STATES = new Set(['completed', 'stopped', 'failed']);

export async function logsCommand(options: LogsOptions): Promise<void> {
  const { workspace, sessionId, workerId } = options;
  // Not a folder: a usage error. Missing: no session in it (an invalid id is refused as such by dirOf).
  if (!workspaceExists(workspace) && SESSION_ID_PATTERN.test(sessionId))
    throw new UsageError(`no session ${sessionId} in ${workspace} (no such folder)`);
  const dir = SessionStore.dirOf(workspace, sessionId);
  const eventsPath = join(dir, 'events.jsonl');
  const end = new SessionEnd(dir);
  if (options.raw || options.stderr) {
    if (!workerId) throw new UsageError("--raw and --stderr show one worker's agent output: name the worker");
    const workers = workersOf(workspace, sessionId);
    if (!workers.includes(workerId)) {
      throw new UsageError(
        `no output of worker "${workerId}" in session ${sessionId}: ` +
          `it has no such worker (workers: ${workers.join(', ') || 'none yet'})`,
      );
    }
    const files = SessionStore.agentFilesOf(workspace, sessionId, workerId);
    const path = options.stderr ? files.stderr : files.stdout;
    if (!existsSync(path)) throw new UsageError(`no output of worker "${workerId}" in session ${sessionId} (yet)`);
    const sources: Source[] = [{ path, onLine: (line) => options.out.write(`${line}\n`) }];
    // The events only tell when the session has ended.
    if (options.follow) sources.push({ path: eventsPath, onLine: (line) => end.note(parseEvent(line)) });
    await follow(sources, options.follow ? end : null);
    return;
  }
  if (workerId) {
    const workers = workersOf(workspace, sessionId);
    if (!workers.includes(workerId))
      throw new UsageError(
        `session ${sessionId} has no worker "${workerId}"; workers: ${workers.join(', ') || 'none yet'}`,
      );
  }
  await follow(
    [
      {
        path: eventsPath,
        onLine: (line) => {
          const event = parseEvent(line);
          if (!event) return;
          end.note(event);
          if (workerId && !belongsTo(event, workerId)) return;
          options.out.write(`${options.json ? JSON.stringify(event) : formatLogLine(event, options.style)}\n`);
        },
      },
    ],
    options.follow ? end : null,
  );
}

/** One readable line for any event (`logs` shows every event; the live view only the notable ones). */
export function formatLogLine(event: OrchestratorEvent, s: Style): string {
  if (event.type === 'agent')
    return `${s.dim(time(event.ts))} ${event.workerId} ${s.dim(event.kind.padEnd(11))} ${describePayload(event)}`;
  if (event.type === 'state') return describeNotable(event, s) ?? describeState(event, s);
  return describeNotable(event, s) ?? `${s.dim(time(event.ts))} ${(event as OrchestratorEvent).type}`;
}

function parseEvent(line: string): OrchestratorEvent | null {
  try {
    return JSON.parse(line) as OrchestratorEvent;
  } catch {
    return null; // a line being written right now; the follower hands it over once complete
  }
}

/** The session's workers: those of its spec, and the reviewers its review rounds started so far. */
function workersOf(workspace: string, sessionId: string): string[] {
  const meta = SessionStore.readMeta(workspace, sessionId);
  const snapshot = SessionStore.readSnapshotOf(workspace, sessionId)?.snapshot ?? null;
  return [
    ...new Set([
      ...meta.spec.workers.map((w) => w.id),
      ...buildSessionView(meta, snapshot, 0).workers.map((w) => w.id),
    ]),
  ];
}

function belongsTo(event: OrchestratorEvent, workerId: string): boolean {
  switch (event.type) {
    case 'agent':
    case 'recovery':
      return event.workerId === workerId;
    case 'state':
      return event.id === workerId;
    case 'blocker':
    case 'safety':
    case 'workspace':
    case 'notification':
    case 'permission':
      return event.workerId === workerId;
    case 'review':
      return event.target === workerId;
    case 'decision':
      return event.target.split(',').includes(workerId);
  }
}

/**
 * Whether a session has ended, from its events as they are read: its last `state` event of the session machine
 * went to a final state, and no orchestrator holds it any more (its lock is gone or stale). A server keeps the
 * sessions it ran, ended ones too, until it stops: a session whose lock names a server counts as ended once its
 * final state is in the log (nothing is logged after it).
 */
class SessionEnd {
  private finalState = false;

  constructor(readonly dir: string) {}

  note(event: OrchestratorEvent | null): void {
    if (event?.type === 'state' && event.machine === 'session') this.finalState = FINAL_SESSION_STATES.has(event.to);
  }

  get ended(): boolean {
    if (!this.finalState) return false;
    const holder = SessionStore.lockHolder(this.dir);
    return holder === null || holder.serverUrl !== undefined;
  }
}

interface Source {
  path: string;
  onLine: (line: string) => void;
}

/**
 * Print every complete line of the files. With `end`, go on as they grow until the session has ended (then
 * print what is left and return) or Ctrl-C.
 */
function follow(sources: Source[], end: SessionEnd | null): Promise<void> {
  return new Promise((resolve, reject) => {
    let finished = false;
    let checking = false;
    // Whether the session has ended is checked after the lines at hand were handled, never inside a follower's
    // callback.
    const checkSoon = () => {
      if (!end || checking || finished) return;
      checking = true;
      setImmediate(() => {
        checking = false;
        if (!finished && end.ended) done();
      });
    };
    const followers = sources.map(
      (source) =>
        new LineFollower(source.path, 0, {
          onLines: (lines) => {
            for (const line of lines) source.onLine(line.text);
            checkSoon();
          },
          onError: (error) => done(error),
        }),
    );
    let watcher: FSWatcher | null = null;
    let keepAlive: NodeJS.Timeout | null = null;
    const interrupted = () => done(undefined, false);
    function done(error?: Error, readRest = true): void {
      if (finished) return;
      finished = true;
      if (keepAlive) clearInterval(keepAlive);
      watcher?.close();
      process.off('SIGINT', interrupted);
      process.off('SIGTERM', interrupted);
      void readTheRest(!error && readRest).then(
        () => (error ? reject(error) : resolve()),
        (finishError: Error) => reject(error ?? finishError),
      );
    }
    /** The rest of what was written up to now, a last line without its newline included, file after file. */
    async function readTheRest(read: boolean): Promise<void> {
      try {
        for (const follower of followers) {
          if (read) await follower.finish();
          // Done with it: nothing it prints may follow the next file's rest.
          follower.stop();
        }
      } finally {
        for (const follower of followers) follower.stop();
      }
    }
    /** Read what is there (and, following, watch for more); false when a file could not be read (then done). */
    const startAll = (): boolean => {
      try {
        for (const follower of followers) follower.start();
        return true;
      } catch (error) {
        done(error as Error, false);
        return false;
      }
    };
    if (!end) {
      if (startAll()) done();
      return;
    }
    // The lock going away (the orchestrator let go of the ended session) shows as a change in the folder.
    watcher = watch(end.dir, { persistent: false }, checkSoon);
    watcher.on('error', () => undefined);
    // The watchers are unref'd (they must not hold a finished program); following holds the process instead.
    keepAlive = setInterval(() => undefined, 1 << 30);
    process.on('SIGINT', interrupted);
    process.on('SIGTERM', interrupted);
    if (startAll()) checkSoon();
  });
}
