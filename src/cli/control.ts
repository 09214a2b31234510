/**
 * Controlling a session from another terminal (pause, resume, stop, review, resolve, say): through the server of
 * the orchestrator process that runs it, found from the session folder's lock and the workspace's token.
 * Without a server: `stop` signals that process (it stops the session gracefully); with no process at all,
 * `stop` restores the session, stops it and ends its agents.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/atomic.js';
import { SessionStore, STOP_REQUEST_FILE, type LockHolder } from '../store/session-store.js';
import { UsageError, type SessionManager } from '../runtime/session-manager.js';

export interface Reachable {
  url: string;
  token: string;
}

/** Who runs the session: a server we can call, a process without a server, or nobody. */
export type Runner =
  | { kind: 'server'; server: Reachable; holder: LockHolder }
  | { kind: 'process'; holder: LockHolder }
  | { kind: 'none' };

export function findRunner(workspace: string, sessionId: string): Runner {
  const holder = SessionStore.lockHolder(SessionStore.dirOf(workspace, sessionId));
  if (!holder) return { kind: 'none' };
  if (!holder.serverUrl) return { kind: 'process', holder };
  const tokenPath = join(workspace, 'token');
  const token =
    process.env.ORCHESTRATOR_TOKEN?.trim() || (existsSync(tokenPath) ? readFileSync(tokenPath, 'utf8').trim() : '');
  if (!token)
    throw new UsageError(
      `session ${sessionId} runs in the server ${holder.serverUrl}, but there is no token: set ORCHESTRATOR_TOKEN`,
    );
  return { kind: 'server', server: { url: holder.serverUrl, token }, holder };
}

export async function callServer(
  server: Reachable,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${server.token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (error) {
    // fetch says only "fetch failed"; the cause says why (ECONNREFUSED, ECONNRESET, a timeout...).
    const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
    const why = cause ? ` (${cause.code ?? cause.message})` : '';
    throw new ServerUnreachable(
      `cannot reach the orchestrator server at ${server.url}: ${(error as Error).message}${why}`,
    );
  }
  const text = await response.text();
  const json = text ? (JSON.parse(text) as { error?: string }) : {};
  // The server's refusal of a request (unknown worker, a command the session does not take now) is the person's
  // error, said in the server's words; anything else keeps the request and status, for a bug report.
  if (!response.ok)
    throw new ServerRefusal(
      response.status < 500 && json.error ? json.error : `${method} ${path}: ${response.status} ${json.error ?? text}`,
      response.status,
      (json as { details?: unknown }).details,
    );
  return json;
}

/** No answer at all from the server (nothing listens, the connection was cut): a usage error. */
export class ServerUnreachable extends UsageError {}

/**
 * callServer on the server that runs the session, which the lock named. A session that ends lets go of its lock
 * and then closes its server: a command that read the lock just before reaches no server. Then the lock says
 * so (nobody holds it any more), and so does the error, instead of "cannot reach".
 */
async function callRunner(
  workspace: string,
  sessionId: string,
  runner: Extract<Runner, { kind: 'server' }>,
  path: string,
  body: unknown,
  what: string,
): Promise<unknown> {
  try {
    return await callServer(runner.server, 'POST', path, body);
  } catch (error) {
    if (!(error instanceof ServerUnreachable) || findRunner(workspace, sessionId).kind !== 'none') throw error;
    throw new UsageError(
      `session ${sessionId} is no longer running: orchestrator process ` +
        `${runner.holder.pid} let go of it while ${what} was on its way to ${runner.server.url}; ` +
        `\`orchestrate status ${sessionId}\` shows where it stands`,
    );
  }
}

/** The server's refusal of a request: a usage error, with its status and details (the state it was refused in). */
export class ServerRefusal extends UsageError {
  constructor(
    message: string,
    readonly status: number,
    readonly details: unknown,
  ) {
    super(message);
  }
}

/**
 * A pause of what is paused already, or a resume of a worker that runs already: nothing to do, and no mistake either
 * (a person repeating a command, two people at once). The note that says so, or null for a real refusal.
 */
function alreadyDone(
  action: ControlAction,
  body: Record<string, string>,
  refusal: ServerRefusal,
  sessionId: string,
): string | null {
  if (refusal.status !== 409 || (action !== 'pause' && action !== 'resume')) return null;
  const details = (refusal.details ?? {}) as { state?: string; status?: string };
  if (body.workerId) {
    if (action === 'pause' && details.status === 'paused')
      return `pause of worker ${body.workerId}: it is paused already (nothing to do)`;
    if (action === 'resume' && (details.status === 'running' || details.status === 'recovering'))
      return `resume of worker ${body.workerId}: it is ${details.status} already (nothing to do)`;
    return null;
  }
  // (A session that runs takes a resume: the server accepts it.)
  if (action === 'pause' && details.state === 'paused')
    return `pause: session ${sessionId} is paused already (nothing to do)`;
  return null;
}

export type ControlAction = 'pause' | 'resume' | 'stop' | 'review';

/** pause | resume | stop | review a session that some orchestrator process runs. */
export async function controlSession(
  workspace: string,
  sessionId: string,
  action: ControlAction,
  body: Record<string, string>,
): Promise<string> {
  const runner = findRunner(workspace, sessionId);
  if (runner.kind === 'server') {
    let result: { state?: string; waitsFor?: string[] };
    try {
      result = (await callRunner(
        workspace,
        sessionId,
        runner,
        `/api/v1/${sessionId}/${action}`,
        body,
        action,
      )) as typeof result;
    } catch (error) {
      const note = error instanceof ServerRefusal ? alreadyDone(action, body, error, sessionId) : null;
      if (note) return note;
      throw error;
    }
    // A worker's pause or stop leaves the session as it was: say so, not "session now running".
    if (body.workerId)
      return (
        `${action} of worker ${body.workerId}: sent to ${runner.server.url} (only that worker; ` +
        `the session stays ${result.state ?? 'as it was'})`
      );
    const sent = `${action}: sent to ${runner.server.url} (session now ${result.state ?? 'updated'})`;
    const waiting = result.waitsFor ?? [];
    if (waiting.length === 0) return sent;
    return (
      `${sent}\n${waiting.join(', ')} ${waiting.length === 1 ? 'has' : 'have'} not finished ` +
      `${waiting.length === 1 ? 'its' : 'their'} work yet: the round starts when ` +
      `${waiting.length === 1 ? 'it does' : 'they do'} (only finished work is reviewed)`
    );
  }
  if (runner.kind === 'process') {
    if (action === 'stop' && body.workerId === undefined) {
      // That orchestrator stops the session on SIGTERM exactly as on Ctrl-C, agents included; the reason waits
      // for it in the session folder (src/cli/follow.ts).
      if (body.reason) {
        writeFileAtomic(
          join(SessionStore.dirOf(workspace, sessionId), STOP_REQUEST_FILE),
          JSON.stringify({ pid: runner.holder.pid, reason: body.reason }),
        );
      }
      process.kill(runner.holder.pid, 'SIGTERM');
      return `stop: asked orchestrator process ${runner.holder.pid} (it runs the session without a server) to stop it`;
    }
    throw new UsageError(
      `session ${sessionId} is run by process ${runner.holder.pid} without a server; ` +
        `${action} needs the server (run without --no-server), or stop it`,
    );
  }
  throw new UsageError(`session ${sessionId} is not running; \`orchestrate resume ${sessionId}\` continues it`);
}

/** Answer a blocker of a session that runs in a server. */
export async function resolveBlocker(
  workspace: string,
  sessionId: string,
  blockerId: string,
  choice: string,
  text?: string,
  agent?: string,
): Promise<string> {
  const runner = findRunner(workspace, sessionId);
  if (runner.kind !== 'server') {
    throw new UsageError(
      runner.kind === 'process'
        ? `session ${sessionId} is run by process ${runner.holder.pid} without a server, ` +
            `so nobody can answer its blockers; stop it and \`orchestrate resume ${sessionId}\` (with a server)`
        : `session ${sessionId} is not running; \`orchestrate resume ${sessionId}\` first, ` +
            `then answer (here, or in the dashboard)`,
    );
  }
  await callRunner(
    workspace,
    sessionId,
    runner,
    `/api/v1/${sessionId}/blockers/${blockerId}`,
    { choice, ...(text ? { text } : {}), ...(agent ? { agent } : {}), by: 'cli' },
    `the answer to ${blockerId}`,
  );
  return `${blockerId}: answered ${choice}${agent ? ` (${agent} resolves it)` : ''}`;
}

/** A message into an interactive worker's running agent, through the server of the session's orchestrator. */
export async function sayToWorker(workspace: string, sessionId: string, workerId: string, text: string) {
  const runner = findRunner(workspace, sessionId);
  if (runner.kind !== 'server')
    throw new UsageError(
      runner.kind === 'process'
        ? `session ${sessionId} is run by process ${runner.holder.pid} without a server, ` +
            `so nothing can reach its agents; run it with a server (without --no-server)`
        : `session ${sessionId} is not running: a message needs a running agent ` +
            `(\`orchestrate resume ${sessionId}\` first)`,
    );
  await callRunner(
    workspace,
    sessionId,
    runner,
    `/api/v1/${sessionId}/workers/${workerId}/messages`,
    { text, by: 'cli' },
    'the message',
  );
  return `message to ${workerId}: sent to ${runner.server.url} (its agent reads it now)`;
}

/** Stop a session nobody runs: restore it (re-attaching to agents still alive), stop it, wait until all ended. */
export async function stopOffline(manager: SessionManager, sessionId: string): Promise<string> {
  const runtime = manager.resume(sessionId);
  if (runtime.endState() && runtime.endState() !== 'waiting') {
    runtime.detach();
    return `session ${sessionId} had already ended`;
  }
  runtime.send({ type: 'STOP', reason: 'orchestrate stop' });
  const end = await runtime.waitForEnd();
  runtime.detach();
  return `session ${sessionId} ${end}; no agent of it is left running`;
}
