/**
 * `orchestrate logs SID [WORKER] [--follow] [--raw] [--stderr] [--json]`: a session's events as readable lines
 * (or JSONL), or a worker's raw agent output; --follow keeps reading as the files grow, whether or not this
 * process runs the session (it reads the files, not the runtime).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { OrchestratorEvent } from '../domain/events.js';
import { describePayload } from '../domain/output-facts.js';
import { LineFollower } from '../actors/line-follower.js';
import { SessionStore } from '../store/session-store.js';
import { UsageError } from '../runtime/session-manager.js';
import { describeNotable } from './live-view.js';
import type { Style } from './style.js';

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

export async function logsCommand(options: LogsOptions): Promise<void> {
  const dir = SessionStore.dirOf(options.workspace, options.sessionId);
  if (options.raw || options.stderr) {
    if (!options.workerId) throw new UsageError('--raw and --stderr show one worker\'s agent output: name the worker');
    const files = SessionStore.agentFilesOf(options.workspace, options.sessionId, options.workerId);
    const path = options.stderr ? files.stderr : files.stdout;
    if (!existsSync(path)) throw new UsageError(`no output of worker "${options.workerId}" in session ${options.sessionId} (yet)`);
    await follow(path, options.follow, (line) => options.out.write(`${line}\n`));
    return;
  }
  const render = (event: OrchestratorEvent): string | null => {
    if (options.workerId && !belongsTo(event, options.workerId)) return null;
    if (options.json) return JSON.stringify(event);
    if (event.type === 'agent') {
      return `${options.style.dim(event.ts.slice(11, 19))} ${event.workerId} ${options.style.dim(event.kind.padEnd(11))} ${describePayload(event)}`;
    }
    return describeNotable(event, options.style) ?? `${options.style.dim(event.ts.slice(11, 19))} ${event.type}`;
  };
  await follow(join(dir, 'events.jsonl'), options.follow, (line) => {
    let event: OrchestratorEvent;
    try {
      event = JSON.parse(line) as OrchestratorEvent;
    } catch {
      return; // a line being written right now; the follower hands it over once complete
    }
    const text = render(event);
    if (text !== null) options.out.write(`${text}\n`);
  });
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
      return event.workerId === workerId;
    case 'review':
      return event.target === workerId;
    case 'decision':
      return event.target.split(',').includes(workerId);
  }
}

/** Print every complete line of a file; with `keep`, go on as it grows until Ctrl-C. */
function follow(path: string, keep: boolean, onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve) => {
    const follower = new LineFollower(path, 0, { onLines: (lines) => lines.forEach((l) => onLine(l.text)) });
    follower.start();
    if (!keep) {
      follower.finish();
      follower.stop();
      resolve();
      return;
    }
    // The watcher is unref'd (it must not hold a finished program); following holds the process instead.
    const keepAlive = setInterval(() => undefined, 1 << 30);
    const stop = () => {
      clearInterval(keepAlive);
      follower.stop();
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
