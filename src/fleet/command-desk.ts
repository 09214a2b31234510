/**
 * The runner's side of a person's requests (src/fleet/commands.ts): woken by NOTIFY (and at every tick, so a
 * notification missed while the database connection was down is only late), it takes the pending commands of
 * the sessions it holds and answers each through the runner's own API app, in process: the same routes, checks
 * and answers as `orchestrate serve` gives, with no port open on the runner.
 */
import { randomBytes } from 'node:crypto';
import type { Hono } from 'hono';
import { createApp } from '../http/app.js';
import type { AppEnv } from '../http/context.js';
import { HostPolicy } from '../http/guards.js';
import type { SessionManager } from '../runtime/session-manager.js';
import { COMMANDS_CHANNEL, type Command, type CommandReply, FleetCommands } from './commands.js';
import type { EventsListener, FleetStore, Lease } from './pg-store.js';

/** The in-process app's address: never listened on, only named in the Host header its guard checks. */
const LOCAL_HOST = '127.0.0.1:1';

/** The headers of an answer a client needs; the rest (security headers and the like) are the API node's own. */
const PASSED_HEADERS = ['content-type', 'allow', 'location', 'x-orchestrate-note'];

/** Larger answers (a huge diff) are refused: the database row and the API node's memory stay bounded. */
const MAX_REPLY_BYTES = 8 * 1024 * 1024;

export interface DeskOptions {
  store: FleetStore;
  manager: SessionManager;
  /** The lease of a session this runner holds and runs now, else null. */
  leaseOf: (sessionId: string) => Lease | null;
  onError: (sessionId: string, message: string) => void;
}

export class CommandDesk {
  private readonly commands: FleetCommands;
  private readonly app: Hono<AppEnv>;
  private readonly token = randomBytes(24).toString('base64url');
  private listener: EventsListener | null = null;
  private opening: Promise<EventsListener | null> | null = null;
  private closed = false;
  private readonly busy = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();

  constructor(private readonly options: DeskOptions) {
    this.commands = new FleetCommands(options.store);
    this.app = createApp({ manager: options.manager, token: this.token, hosts: new HostPolicy('127.0.0.1', 1) });
  }

  /** Listen for new commands; a listener that cannot start leaves the ticks to find them. */
  async open(): Promise<void> {
    const opening = this.options.store.listenTo(COMMANDS_CHANNEL, (sessionId) => this.serve(sessionId));
    this.opening = opening.catch(() => null);
    const listener = await this.opening;
    // Closed while it connected: let go of it at once (an open connection would keep the process alive).
    if (this.closed) await listener?.close();
    else this.listener = listener;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.opening;
    await this.listener?.close();
    this.listener = null;
    await Promise.all([...this.busy.values()]);
  }

  /** Answer the session's pending commands, if this runner holds it (one pass at a time per session). */
  serve(sessionId: string): void {
    if (this.closed) return;
    if (this.busy.has(sessionId)) {
      this.again.add(sessionId);
      return;
    }
    const lease = this.options.leaseOf(sessionId);
    if (!lease) return;
    const pass = this.pass(lease)
      .catch((error: unknown) => this.options.onError(sessionId, `a command: ${(error as Error).message}`))
      .finally(() => {
        this.busy.delete(sessionId);
        if (this.again.delete(sessionId)) this.serve(sessionId);
      });
    this.busy.set(sessionId, pass);
  }

  /** Take and answer one command at a time: the ones behind a slow one stay pending, for their node to expire. */
  private async pass(lease: Lease): Promise<void> {
    for (let command = await this.commands.take(lease); command; command = await this.commands.take(lease)) {
      await this.commands.answer(lease, command.id, await this.answer(command));
    }
  }

  /** The runner's API answer to the request, as a local server would give it. */
  private async answer(command: Command): Promise<CommandReply> {
    const sent: Record<string, string> = { host: LOCAL_HOST, authorization: `Bearer ${this.token}` };
    if (command.body !== null) sent['content-type'] = 'application/json';
    const response = await this.app.request(`http://${LOCAL_HOST}${command.path}`, {
      method: command.method,
      headers: sent,
      ...(command.body !== null ? { body: command.body } : {}),
    });
    const body = Buffer.from(await response.arrayBuffer());
    if (body.length > MAX_REPLY_BYTES) {
      const error = { error: `the runner's answer is over ${MAX_REPLY_BYTES} bytes; ask it for less` };
      return { status: 502, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(error)) };
    }
    const headers: Record<string, string> = {};
    for (const name of PASSED_HEADERS) {
      const value = response.headers.get(name);
      if (value !== null) headers[name] = value;
    }
    return { status: response.status, headers, body };
  }
}
