/**
 * What each `orchestrate` command does. src/cli.ts defines the commands and loads this module only when one
 * runs, so `orchestrate --help` does not load xstate, hono, zod and execa. The commands that run and follow a
 * session are in ./session-commands.ts, the manager they all start from in ./managers.ts.
 */
import { existsSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { UsageError } from '../domain/usage-error.js';
import type { ControlAction } from './control.js';
import { createManagers } from './managers.js';
import type { ServeOptions } from './serve.js';
import { createSessionCommands } from './session-commands.js';
import type { Style } from './style.js';
import { resolveWorkspace } from './workspace.js';

export { selfCommand } from './session-commands.js';

// Each command imports what it needs when it runs: `status` need not load the HTTP server, the sandbox or the
// demo, and `--help` none of it.
const serving = () => import('./serve.js');
const controlling = () => import('./control.js');

export interface ServerFlags {
  server: boolean;
  port: number;
  host: string;
  inspect?: string;
  json?: boolean;
  /** `--notify URL|desktop`, repeatable. */
  notify?: string[];
}

export function createActions(style: Style) {
  const { managerFor, existingManager, dispose } = createManagers(style);
  const { run, demo, resume, resolve } = createSessionCommands(style, { managerFor });

  async function serve(
    opts: ServeOptions & {
      workspace?: string;
      inspect?: string;
      recordedAgents?: boolean;
      speed: number;
      store?: string;
      replyWaitSec: number;
    },
  ) {
    if (!Number.isFinite(opts.speed) || opts.speed < 0) throw new UsageError('--speed must be a number >= 0');
    const workspace = resolveWorkspace(opts.workspace, undefined);
    const store = opts.store ?? (process.env.ORCHESTRATOR_DATABASE_URL?.trim() || undefined);
    if (store !== undefined) {
      const { fleetServe } = await import('./fleet-serve-command.js');
      process.exitCode = await fleetServe(store, { ...opts, workspace }, style);
      return;
    }
    const { serveCommand } = await serving();
    if (!opts.recordedAgents) {
      process.exitCode = await serveCommand(await managerFor(workspace, opts), opts, style);
      return;
    }
    // The demo's recorded agents instead of the real CLIs, for trying the API and the dashboard without a key.
    const { prepareRecordedAgents } = await import('./demo-command.js');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const rootDir = mkdtempSync(join(tmpdir(), 'orchestrate-recorded-'));
    try {
      const agents = prepareRecordedAgents(rootDir, opts.speed);
      const manager = await managerFor(
        workspace,
        opts,
        { env: agents.env, defaultMode: 'exec' },
        { writable: agents.writable, readable: agents.readable },
      );
      process.stdout.write(
        style.dim(
          `Agents: recorded (no model, no API key): claude, codex and gemini replay the demo's ` +
            `transcripts whatever the task; their launchers are in ${rootDir} until exit.\n`,
        ),
      );
      process.exitCode = await serveCommand(manager, opts, style);
    } finally {
      rmSync(rootDir, { recursive: true, force: true });
    }
  }

  async function status(sessionId: string | undefined, opts: { workspace?: string; json?: boolean }) {
    const { statusCommand } = await import('./status-command.js');
    const { workspaceExists } = await import('./workspace.js');
    const workspace = resolveWorkspace(opts.workspace, undefined);
    // Read-only: a workspace that does not exist is not created. The sessions are read from disk, without the
    // session manager: status loads no machine, process actor or agent adapter. A listing reads each session's
    // snapshot and the header of its session.json (runtime/summary.ts), so it loads no schema either; the view
    // of one session validates its whole session.json.
    const exists = workspaceExists(workspace);
    const options = { json: opts.json === true, out: process.stdout, style };
    if (sessionId === undefined) {
      const { listingOnDisk } = await import('../runtime/summary.js');
      statusCommand(exists ? listingOnDisk(workspace) : null, workspace, undefined, options);
    } else {
      const { sessionsOnDisk } = await import('../runtime/view.js');
      statusCommand(exists ? sessionsOnDisk(workspace) : null, workspace, sessionId, options);
    }
  }

  async function logs(
    sessionId: string,
    workerId: string | undefined,
    opts: { follow?: boolean; raw?: boolean; stderr?: boolean; json?: boolean; workspace?: string },
  ) {
    const { logsCommand } = await import('./logs-command.js');
    await logsCommand({
      workspace: resolveWorkspace(opts.workspace, undefined),
      sessionId,
      ...(workerId ? { workerId } : {}),
      follow: opts.follow === true,
      raw: opts.raw === true,
      stderr: opts.stderr === true,
      json: opts.json === true,
      out: process.stdout,
      style,
    });
  }

  async function parse(file: string, opts: { agent: string; exitCode?: number; stderr?: string }) {
    const { parseCommand } = await import('./parse-command.js');
    await parseCommand({
      agent: opts.agent,
      file,
      ...(opts.exitCode !== undefined ? { exitCode: opts.exitCode } : {}),
      ...(opts.stderr ? { stderrFile: opts.stderr } : {}),
      out: process.stdout,
    });
  }

  async function doctor(opts: { workspace?: string; json?: boolean }) {
    const { doctorCommand } = await import('./doctor.js');
    process.exitCode = await doctorCommand({
      workspace: resolveWorkspace(opts.workspace, undefined),
      json: opts.json === true,
      out: process.stdout,
      style,
    });
  }

  async function runner(opts: import('./runner-command.js').RunnerCommandOptions) {
    const { runnerCommand } = await import('./runner-command.js');
    process.exitCode = await runnerCommand(opts, (workspace) => managerFor(workspace, {}), style);
  }

  async function control(
    action: ControlAction,
    sessionId: string,
    opts: { workspace?: string; worker?: string; reason?: string; target?: string },
  ) {
    const { controlSession, findRunner, stopOffline } = await controlling();
    const workspace = resolveWorkspace(opts.workspace, undefined);
    const oneWorker = action === 'stop' && opts.worker !== undefined;
    if (oneWorker && opts.reason)
      throw new UsageError(
        '--reason is for stopping the whole session; a worker stopped on its own is recorded as skipped by a person',
      );
    if (findRunner(workspace, sessionId).kind === 'none') {
      const manager = await managerFor(workspace, {});
      const ended = manager.view(sessionId).outcome;
      if (oneWorker) {
        throw new UsageError(
          ended
            ? `session ${sessionId} has already ended (${ended}): there is nothing to stop`
            : `session ${sessionId} is not running; \`orchestrate resume ${sessionId}\` first, ` +
                `then stop the worker (here, or in the dashboard)`,
        );
      }
      if (action === 'stop') {
        process.stdout.write(`${await stopOffline(manager, sessionId)}\n`);
        return;
      }
      if (ended)
        throw new UsageError(`session ${sessionId} has already ended (${ended}): there is nothing to ${action}`);
    }
    const body: Record<string, string> = {
      ...(opts.worker ? { workerId: opts.worker } : {}),
      ...(opts.reason ? { reason: opts.reason } : {}),
      ...(opts.target ? { target: opts.target } : {}),
      ...(oneWorker ? { by: 'cli' } : {}),
    };
    process.stdout.write(`${await controlSession(workspace, sessionId, action, body)}\n`);
  }

  async function say(sessionId: string, workerId: string, text: string, opts: { workspace?: string }) {
    const { sayToWorker } = await controlling();
    if (!text.trim()) throw new UsageError('say what: `orchestrate say SID WORKER "the message"`');
    const workspace = resolveWorkspace(opts.workspace, undefined);
    process.stdout.write(`${await sayToWorker(workspace, sessionId, workerId, text)}\n`);
  }

  async function diff(sessionId: string, worker: string | undefined, opts: { stat?: boolean; workspace?: string }) {
    const { diffCommand } = await import('./changes-command.js');
    await diffCommand(await existingManager(opts.workspace), sessionId, worker, {
      stat: opts.stat === true,
      out: process.stdout,
      err: process.stderr,
      style,
    });
  }

  async function apply(
    sessionId: string,
    opts: { worker?: string; merge?: boolean; workspace?: string; store?: string; dir?: string },
  ) {
    const store = opts.store ?? fleetOf(sessionId, opts.workspace);
    if (store) {
      const { fleetApplyCommand } = await import('./fleet-apply-command.js');
      process.exitCode = await fleetApplyCommand(store, sessionId, {
        ...(opts.worker ? { worker: opts.worker } : {}),
        merge: opts.merge === true,
        dir: resolvePath(opts.dir ?? '.'),
        out: process.stdout,
        err: process.stderr,
        style,
      });
      return;
    }
    if (opts.dir) throw new UsageError('-C is for a fleet session (--store); a local session applies to its target');
    const { applyCommand } = await import('./changes-command.js');
    process.exitCode = await applyCommand(await existingManager(opts.workspace), sessionId, {
      ...(opts.worker ? { worker: opts.worker } : {}),
      merge: opts.merge === true,
      out: process.stdout,
      err: process.stderr,
      style,
    });
  }

  /** The fleet database a session is in: ORCHESTRATOR_DATABASE_URL, for a session this workspace does not have. */
  function fleetOf(sessionId: string, workspace: string | undefined): string | undefined {
    const url = process.env.ORCHESTRATOR_DATABASE_URL?.trim();
    if (!url) return undefined;
    return existsSync(join(resolveWorkspace(workspace, undefined), 'sessions', sessionId)) ? undefined : url;
  }

  async function discard(sessionId: string, opts: { force?: boolean; workspace?: string }) {
    const { discardCommand } = await import('./changes-command.js');
    await discardCommand(await existingManager(opts.workspace), sessionId, {
      force: opts.force === true,
      out: process.stdout,
      err: process.stderr,
      style,
    });
  }

  async function gc(opts: { force?: boolean; dir: string; workspace?: string }) {
    const { gcCommand } = await import('./changes-command.js');
    const { workspaceExists } = await import('./workspace.js');
    const workspace = resolveWorkspace(opts.workspace, opts.dir);
    if (!workspaceExists(workspace)) {
      process.stdout.write(`nothing to collect: no workspace at ${workspace}\n`);
      return;
    }
    await gcCommand(workspace, {
      force: opts.force === true,
      dir: opts.dir,
      out: process.stdout,
      err: process.stderr,
      style,
    });
  }

  async function mcp(opts: { workspace?: string; notify?: string[] }, version: string) {
    const { mcpCommand } = await import('./mcp-command.js');
    await mcpCommand(opts, { managerFor }, style, version);
  }

  return {
    run,
    demo,
    resume,
    serve,
    status,
    control,
    say,
    resolve,
    logs,
    parse,
    doctor,
    runner,
    diff,
    apply,
    discard,
    gc,
    mcp,
    dispose,
  };
}

export type Actions = ReturnType<typeof createActions>;
