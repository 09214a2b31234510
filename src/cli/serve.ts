/**
 * The HTTP server as the CLI runs it: beside a session (`run`, `demo`, `resume`), or alone (`serve`).
 * Prints the dashboard URL (token in the fragment, which browsers never send) and where the token is.
 */
import { dashboardUrl, startServer, type RunningServer } from '../http/server.js';
import { hostForUrl, isLoopbackHost } from '../http/guards.js';
import { UsageError } from '../domain/usage-error.js';
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
  let server: RunningServer;
  try {
    server = await startServer({
      manager,
      workspace: manager.workspace,
      host: opts.host,
      port: opts.port,
      logger: { warn: (message) => process.stderr.write(`${style.yellow('warning:')} ${message}\n`) },
    });
  } catch (error) {
    const message = listenFailure(error, opts.host, opts.port);
    if (message === null) throw error;
    throw new UsageError(message);
  }
  manager.serverUrl = server.url;
  out.write(`${style.bold('Dashboard')}: ${dashboardUrl(server.url, server.token)}\n`);
  const where = server.tokenFile ? `the token is in ${server.tokenFile}` : 'the token is ORCHESTRATOR_TOKEN';
  out.write(style.dim(`API: ${server.url}/api/v1 (Authorization: Bearer <token>; ${where})\n`));
  if (server.sharedWith) {
    out.write(
      style.dim(
        `Another server of this workspace runs at ${server.sharedWith.url} (pid ${server.sharedWith.pid}): ` +
          `${manager.workspace}/server.json names it${server.tokenFile ? '; both accept the same token' : ''}.\n`,
      ),
    );
  }
  if (!isLoopbackHost(opts.host))
    out.write(`${style.yellow('warning:')} listening on ${opts.host}: reachable from the network\n`);
  return { url: server.url, hint: `Answer in the dashboard (${server.url}) or with:`, close: server.close };
}

/**
 * Why the server could not listen, as one line that says what to do; null for an error that is not about
 * listening (a bug: let it through). `--port 7420` in use, a --host that does not resolve or is not an address of
 * this machine, a privileged port.
 */
export function listenFailure(error: unknown, host: string, port: number): string | null {
  if (!(error instanceof Error)) return null;
  const { code, syscall } = error as NodeJS.ErrnoException;
  const address = `${hostForUrl(host)}:${port}`;
  const otherPort = 'choose another --port, or --port 0 for any free port';
  const otherHost = 'pass an address of this machine to --host (default 127.0.0.1)';
  switch (code) {
    case 'EADDRINUSE':
      return `${address} is in use (another orchestrate serve?); ${otherPort}`;
    case 'EACCES':
      return (
        `cannot listen on ${address}: permission denied` +
        `${port > 0 && port < 1024 ? ' (ports below 1024 need privileges)' : ''}; ${otherPort}`
      );
    case 'ENOTFOUND':
    case 'EAI_NONAME':
    case 'EAI_FAIL':
      return `cannot listen on ${host}: no such host or address (${code}); ${otherHost}`;
    case 'EAI_AGAIN':
      return `cannot listen on ${host}: its name could not be resolved now (${code}); ${otherHost}`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${host}: it is not an address of this machine (${code}); ${otherHost}`;
    case 'EAFNOSUPPORT':
      return `cannot listen on ${host}: this machine does not support its address family (${code}); ${otherHost}`;
    case 'EINVAL':
      return `cannot listen on ${address}: invalid address (${code}); ${otherHost}`;
    default:
      return syscall === 'listen' || syscall === 'getaddrinfo' || syscall === 'bind'
        ? `cannot listen on ${address}: ${error.message}`
        : null;
  }
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
        const why =
          error instanceof SessionLockedError ? error.message : `could not resume: ${(error as Error).message}`;
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
      const running = live.filter((runtime) => !runtime.hasEnded()).length;
      process.stderr.write(
        running > 0
          ? `${signal}: stopping ${running} running session(s) (again to kill their agents now)...\n`
          : `${signal}: no session is running; exiting.\n`,
      );
      await manager.stopAll(`the server received ${signal}`);
      await server.close();
      clearInterval(keepAlive);
      resolve(EXIT_COMPLETED);
    };
    process.on('SIGINT', (s) => void onSignal(s));
    process.on('SIGTERM', (s) => void onSignal(s));
  });
}
