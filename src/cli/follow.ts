/**
 * Follow a live session in the terminal until it ends (run, resume, demo): the live view or JSONL events,
 * SIGINT/SIGTERM handling (first: stop gracefully; second: kill every process group at once), the summary,
 * and the exit code (0 completed, 2 it ended needing a person).
 */
import type { SessionRuntime } from '../runtime/session-runtime.js';
import type { SessionManager } from '../runtime/session-manager.js';
import { SessionStore, STOP_REQUEST_FILE } from '../store/session-store.js';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { groupMembers, signalGroup } from '../actors/process-group.js';
import { LiveView } from './live-view.js';
import { renderSummary, resolveCommand } from './summary.js';
import type { Style } from './style.js';

export interface FollowOptions {
  json: boolean;
  /** With no server nobody can answer a blocker: stop following as soon as only a person can move it. */
  noServer: boolean;
  out: NodeJS.WriteStream;
  err: NodeJS.WriteStream;
  style: Style;
  /** Printed when the session waits for a person and a server is there to answer through. */
  answerHint?: string;
}

export const EXIT_COMPLETED = 0;
export const EXIT_USAGE = 1;
export const EXIT_NEEDS_PERSON = 2;
export const EXIT_INTERRUPTED = 130;

export async function followSession(runtime: SessionRuntime, options: FollowOptions): Promise<number> {
  const { out, err, style } = options;
  const tty = !options.json && out.isTTY === true;
  const view = options.json ? null : new LiveView(runtime, out, style, tty);
  let offJson: (() => void) | null = null;
  if (options.json) {
    for (const event of runtime.store.log.readAfter(0)) out.write(`${JSON.stringify(event)}\n`);
    offJson = runtime.store.log.subscribe((events) => {
      for (const event of events) out.write(`${JSON.stringify(event)}\n`);
    });
  } else {
    view?.start(0);
  }

  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts++;
    if (interrupts === 1) {
      const note =
        `${signal}: stopping the session (agents get SIGTERM, ` +
        `then SIGKILL after the grace period). Press Ctrl-C again to kill them now.`;
      if (view) view.print(style.yellow(note));
      else err.write(`${note}\n`);
      try {
        runtime.send({
          type: 'STOP',
          reason: takeStopRequest(runtime.store.dir) ?? `the orchestrator received ${signal}`,
        });
      } catch {
        // Already ended: nothing to stop.
      }
      return;
    }
    const killed = killAllGroups(runtime);
    err.write(`${signal} again: killed ${killed} process group(s).\n`);
    runtime.detach();
    process.exit(EXIT_INTERRUPTED);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let end: Awaited<ReturnType<SessionRuntime['waitForEnd']>>;
  try {
    for (;;) {
      end = await runtime.waitForEnd(true);
      if (end !== 'waiting' || options.noServer) break;
      const hint = options.answerHint ? ` ${options.answerHint}` : '';
      // The exact commands, as the summary prints them: session, blocker and choices filled in.
      const commands = runtime
        .view()
        .blockers.filter((b) => b.open && b.options.length)
        .map(
          (b) =>
            `  ${b.kind} ${b.id}${b.workerId ? ` (${b.workerId})` : ''}: ` +
            `${resolveCommand(runtime.sessionId, b, runtime.store.dir)}`,
        );
      const note = [`The session waits for a person: answer its blockers.${hint}`, ...commands].join('\n');
      if (view) view.print(style.yellow(note));
      else err.write(`${note}\n`);
      await waitUntilNotWaiting(runtime);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    offJson?.();
    view?.stop();
  }

  const finalView = runtime.view();
  const summary = renderSummary(
    finalView,
    runtime.store.log.readAfter(0).filter((e) => e.type !== 'agent'),
    runtime.store.dir,
    options.json ? noStyle(style) : style,
  );
  (options.json ? err : out).write(`${summary}\n`);
  // Waiting for a person with nobody to answer here: a paused agent is left as it is, stopped, for later.
  const paused = end === 'waiting' ? finalView.workers.filter((w) => w.status === 'paused' && w.pid) : [];
  if (paused.length) {
    err.write(
      `${style.yellow('note:')} the agent of ${paused.map((w) => w.id).join(', ')} stays paused ` +
        `(SIGSTOP, no CPU) until \`orchestrate resolve\` or \`orchestrate resume ${runtime.sessionId}\` ` +
        `continues it, or \`orchestrate stop ${runtime.sessionId}\` ends it.\n`,
    );
  }
  runtime.detach();
  return end === 'completed' ? EXIT_COMPLETED : EXIT_NEEDS_PERSON;
}

/** `resume` of a session that has ended: its summary from disk, and the exit code it ended with; nothing written. */
export function printEnded(manager: SessionManager, sessionId: string, options: FollowOptions): number {
  const view = manager.view(sessionId);
  const style = options.json ? noStyle(options.style) : options.style;
  const events = manager.readEvents(sessionId, 0).filter((e) => e.type !== 'agent');
  const out = options.json ? options.err : options.out;
  out.write(`${options.style.bold(`session ${sessionId} has already ended (${view.outcome})`)}: nothing to resume.\n`);
  out.write(`${renderSummary(view, events, SessionStore.dirOf(manager.workspace, sessionId), style)}\n`);
  return view.outcome === 'completed' ? EXIT_COMPLETED : EXIT_NEEDS_PERSON;
}

function waitUntilNotWaiting(runtime: SessionRuntime): Promise<void> {
  return new Promise((resolve) => {
    const keepAlive = setInterval(() => undefined, 1 << 30);
    const off = runtime.onChange(() => {
      if (runtime.endState() !== 'waiting') {
        off();
        clearInterval(keepAlive);
        resolve();
      }
    });
  });
}

/** SIGKILL every agent process group of the session that is still alive (second Ctrl-C). */
export function killAllGroups(runtime: SessionRuntime): number {
  let killed = 0;
  for (const worker of runtime.view().workers) {
    for (const record of runtime.store.readProcRecords(worker.id)) {
      // Not the leader's liveness: the wrapper (the leader) dies of the first SIGTERM, the agent may not.
      if (groupMembers(record.pgid).length > 0 && signalGroup(record.pgid, 'SIGKILL')) killed++;
    }
  }
  return killed;
}

function noStyle(style: Style): Style {
  void style;
  const id = (s: string) => s;
  return { bold: id, dim: id, red: id, green: id, yellow: id, blue: id, cyan: id, magenta: id };
}

/** The reason a `stop` from another terminal left for this process (read once, then removed), or null. */
function takeStopRequest(sessionDir: string): string | null {
  const path = join(sessionDir, STOP_REQUEST_FILE);
  try {
    const request = JSON.parse(readFileSync(path, 'utf8')) as { reason?: unknown; pid?: unknown };
    rmSync(path, { force: true });
    return request.pid === process.pid && typeof request.reason === 'string' && request.reason ? request.reason : null;
  } catch {
    return null;
  }
}
