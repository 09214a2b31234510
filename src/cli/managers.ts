/**
 * The session manager a command works with: the safety layer wired in (each session's sandbox, launch checks,
 * policy, budgets, resource limits), notifications (`--notify`), and `--inspect` (XState inspection events to
 * Stately's inspector). What it leaves open (the inspector's connection, its relay, notices on their way) is
 * closed by `dispose` once the command is over.
 */
import { UsageError } from '../domain/usage-error.js';
import type { SessionManager, SessionManagerOptions } from '../runtime/session-manager.js';
import type { Style } from './style.js';
import { resolveWorkspace } from './workspace.js';

export const sessions = () => import('../runtime/session-manager.js');

export interface Managers {
  /** A manager of `workspace`, with the safety layer and `--inspect`. */
  managerFor(
    workspace: string,
    flags: { inspect?: string | undefined; notify?: string[] | undefined },
    extra?: Partial<SessionManagerOptions>,
    sandbox?: { writable?: string[]; readable?: string[] },
  ): Promise<SessionManager>;
  /** A manager for commands that only read a session folder and git (creates nothing when the workspace is missing). */
  existingManager(workspaceOpt: string | undefined): Promise<SessionManager>;
  /** Close what the command left open (src/cli.ts calls it once the command is over). */
  dispose(): Promise<void>;
}

export function createManagers(style: Style): Managers {
  /** Closed once the command is over (src/cli.ts): connections that would keep the process alive. */
  const disposers: Array<() => Promise<void> | void> = [];
  async function dispose(): Promise<void> {
    for (const close of disposers.splice(0)) await close();
  }

  async function managerFor(
    workspace: string,
    flags: { inspect?: string | undefined; notify?: string[] | undefined },
    extra: Partial<SessionManagerOptions> = {},
    sandbox: { writable?: string[]; readable?: string[] } = {},
  ): Promise<SessionManager> {
    const options: SessionManagerOptions = { workspace, ...extra };
    // --- safety wiring (src/safety): each session's sandbox, launch checks, policy, budgets, resource limits ---
    const { createSafetyFactory } = await import('../safety/index.js');
    const { SessionManager } = await sessions();
    const safetyFor = await createSafetyFactory({
      env: extra.env ?? process.env,
      extraWritable: sandbox.writable ?? [],
      extraReadable: sandbox.readable ?? [],
      onDecision: (decision) => {
        if (decision.fellBack)
          process.stderr.write(
            `${style.yellow('warning:')} ${decision.reason}.` +
              `${decision.mode === 'none' ? ' Install bubblewrap to confine them (orchestrate doctor).' : ''}\n`,
          );
      },
    });
    options.safetyFor = safetyFor;
    // --- end safety wiring ---
    if (flags.inspect) {
      if (flags.inspect !== 'stately' && !/^wss?:\/\//.test(flags.inspect))
        throw new UsageError('--inspect takes "stately" or the ws:// URL of a @statelyai/inspect relay');
      const { connectInspector, DEFAULT_RELAY_PORT, startStatelyRelay } = await import('./stately-relay.js');
      let url = flags.inspect;
      if (flags.inspect === 'stately') {
        try {
          const relay = await startStatelyRelay(DEFAULT_RELAY_PORT);
          disposers.push(() => relay.close());
          url = relay.wsUrl;
          const note =
            `Stately inspector: open ${relay.pageUrl} in a browser ` +
            '(it embeds https://stately.ai/inspect; the relay listens on 127.0.0.1 only)';
          process.stderr.write(`${style.dim(note)}\n`);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
          // Port 8080 taken: most likely a relay someone already runs (@statelyai/inspect's, or ours from another run).
          url = `ws://localhost:${DEFAULT_RELAY_PORT}`;
          const note =
            `Stately inspector: port ${DEFAULT_RELAY_PORT} is taken, ` +
            `so inspection events go to the relay already there (${url})`;
          process.stderr.write(`${style.dim(note)}\n`);
        }
      } else {
        process.stderr.write(`${style.dim(`inspection events go to ${url}`)}\n`);
      }
      const client = connectInspector(url);
      // Closed first, before the relay it talks to.
      disposers.unshift(() => client.close());
      options.inspector = (event) => client.inspect(event);
    }
    const manager = new SessionManager(options);
    // --- notifications (src/notify): --notify and the spec's `notify`, for every session this process runs ---
    const { attachNotifications } = await import('./notify-wiring.js');
    disposers.push(attachNotifications(manager, flags.notify, style, extra.env ?? process.env));
    return manager;
  }

  /** A manager for commands that only read a session folder and git (creates nothing when the workspace is missing). */
  async function existingManager(workspaceOpt: string | undefined): Promise<SessionManager> {
    const { workspaceExists } = await import('./workspace.js');
    const workspace = resolveWorkspace(workspaceOpt, undefined);
    if (!workspaceExists(workspace)) throw new UsageError(`no sessions in ${workspace} (no such folder)`);
    return new (await sessions()).SessionManager({ workspace });
  }

  return { managerFor, existingManager, dispose };
}
