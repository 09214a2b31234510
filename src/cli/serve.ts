/**
 * The HTTP server as the CLI runs it: beside a session (`run`, `demo`, `resume`), or alone (`serve`).
 * Prints the dashboard URL (token in the fragment, which browsers never send) and where the token is.
 */
import { dashboardUrl, startServer } from '../http/server.js';
import { isLoopbackHost } from '../http/guards.js';
import type { SessionManager } from '../runtime/session-manager.js';
import { SessionLockedError } from '../store/session-store.js';
import { EXIT_COMPLETED, EXIT_INTERRUPTED, killAllGroups } from './follow.js';
import type { Style } from './style.js';

export interface CliServer {
  url: string;
  /** How to answer blockers, for the "needs a person" line. */
  hint: string;
  close(): Promise<void>;
}

export async function startCliServer(
  manager: SessionManager,
  opts: { server: boolean; port: number; host: string; json?: boolean },
  style: Style,
): Promise<CliServer | null> {
  if (!opts.server) return null;
  const out = opts.json ? process.stderr : process.stdout;
  const server = await startServer({
    manager,
    workspace: manager.workspace,
    host: opts.host,
    port: opts.port,
    logger: { warn: (message) => process.stderr.write(`${style.yellow('warning:')} ${message}\n`) },
  });
  manager.serverUrl = server.url;
  out.write(`${style.bold('Dashboard')}: ${dashboardUrl(server.url, server.token)}\n`);
  out.write(style.dim(`API: ${server.url}/api/v1 (Authorization: Bearer <token>; the token is in ${manager.workspace}/token)\n`));
  if (!isLoopbackHost(opts.host)) out.write(`${style.yellow('warning:')} listening on ${opts.host}: reachable from the network\n`);
  return { url: server.url, hint: `Answer in the dashboard (${server.url}) or with \`orchestrate resolve <session> <blocker> <choice>\`.`, close: server.close };
}

export interface ServeOptions {
  port: number;
  host: string;
  resumeAll?: boolean;
  json?: boolean;
}

/** `orchestrate serve`: run until SIGINT/SIGTERM, then stop the sessions this process runs (second signal: kill). */
export async function serveCommand(manager: SessionManager, opts: ServeOptions, style: Style): Promise<number> {
  const server = await startCliServer(manager, { ...opts, server: true }, style);
  if (!server) return EXIT_COMPLETED;
  if (opts.resumeAll) {
    for (const sessionId of manager.unfinished()) {
      try {
        manager.resume(sessionId);
        process.stdout.write(`resumed ${sessionId}\n`);
      } catch (error) {
        const why = error instanceof SessionLockedError ? error.message : `could not resume: ${(error as Error).message}`;
        process.stderr.write(`${style.yellow('skipped')} ${sessionId}: ${why}\n`);
      }
    }
  }
  process.stdout.write(style.dim('Serving; Ctrl-C stops the sessions this server runs and exits.\n'));
  return new Promise((resolve) => {
    const keepAlive = setInterval(() => undefined, 1 << 30);
    let signals = 0;
    const onSignal = async (signal: NodeJS.Signals) => {
      signals++;
      const live = manager.liveSessions;
      if (signals > 1) {
        let killed = 0;
        for (const runtime of live) killed += killAllGroups(runtime);
        process.stderr.write(`${signal} again: killed ${killed} process group(s).\n`);
        manager.detachAll();
        process.exit(EXIT_INTERRUPTED);
      }
      process.stderr.write(`${signal}: stopping ${live.length} session(s) (again to kill their agents now)...\n`);
      await manager.stopAll(`the server received ${signal}`);
      await server.close();
      clearInterval(keepAlive);
      resolve(EXIT_COMPLETED);
    };
    process.on('SIGINT', (s) => void onSignal(s));
    process.on('SIGTERM', (s) => void onSignal(s));
  });
}
