/**
 * What each `orchestrate` command does. src/cli.ts defines the commands and loads this module only when one
 * runs, so `orchestrate --help` does not load xstate, hono, zod and execa.
 */
import { UsageError } from '../domain/usage-error.js';
import type { SessionManager, SessionManagerOptions } from '../runtime/session-manager.js';
import type { Style } from './style.js';
import { resolveWorkspace } from './workspace.js';
import type { ControlAction } from './control.js';
import type { ServeOptions } from './serve.js';
import type { Isolation } from '../domain/isolation.js';

// Each command imports what it needs when it runs: `status` need not load the HTTP server, the sandbox or the
// demo, and `--help` none of it.
const sessions = () => import('../runtime/session-manager.js');
const following = () => import('./follow.js');
const serving = () => import('./serve.js');
const controlling = () => import('./control.js');

export interface ServerFlags {
  server: boolean;
  port: number;
  host: string;
  inspect?: string;
  json?: boolean;
}

/** How the user ran us, for commands we suggest: `npx orchestrate` when npx (npm exec) started this process. */
export function selfCommand(env: NodeJS.ProcessEnv = process.env): string {
  return env.npm_command === 'exec' ? 'npx orchestrate' : 'orchestrate';
}

/** Resolves at the first SIGINT or SIGTERM (and keeps the process alive until then). */
function untilInterrupted(): Promise<void> {
  return new Promise((resolve) => {
    const keepAlive = setInterval(() => undefined, 1 << 30);
    const done = () => {
      clearInterval(keepAlive);
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}

export function createActions(style: Style) {
  /** Closed once the command is over (src/cli.ts): connections that would keep the process alive. */
  const disposers: Array<() => Promise<void> | void> = [];
  async function dispose(): Promise<void> {
    for (const close of disposers.splice(0)) await close();
  }

  async function managerFor(
    workspace: string,
    flags: Pick<ServerFlags, 'inspect'>,
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
            `${style.yellow('warning:')} ${decision.reason}.${decision.mode === 'none' ? ' Install bubblewrap to confine them (orchestrate doctor).' : ''}\n`,
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
          process.stderr.write(
            `${style.dim(`Stately inspector: open ${relay.pageUrl} in a browser (it embeds https://stately.ai/inspect; the relay listens on 127.0.0.1 only)`)}\n`,
          );
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
          // Port 8080 taken: most likely a relay someone already runs (@statelyai/inspect's, or ours from another run).
          url = `ws://localhost:${DEFAULT_RELAY_PORT}`;
          process.stderr.write(
            `${style.dim(`Stately inspector: port ${DEFAULT_RELAY_PORT} is taken, so inspection events go to the relay already there (${url})`)}\n`,
          );
        }
      } else {
        process.stderr.write(`${style.dim(`inspection events go to ${url}`)}\n`);
      }
      const client = connectInspector(url);
      // Closed first, before the relay it talks to.
      disposers.unshift(() => client.close());
      options.inspector = (event) => client.inspect(event);
    }
    return new SessionManager(options);
  }

  function followOptions(opts: { json?: boolean; server: boolean }, hint: string | undefined) {
    return {
      json: opts.json === true,
      noServer: !opts.server,
      out: process.stdout,
      err: process.stderr,
      style,
      ...(hint ? { answerHint: hint } : {}),
    };
  }

  /** One line on where the agents work: their branches from the base, or (a warning) the target itself. */
  function announceIsolation(isolation: Isolation, out: NodeJS.WriteStream): void {
    if (isolation.mode === 'in-place') out.write(`${style.yellow('warning:')} ${isolation.reason}\n`);
    else
      out.write(
        `${style.dim(`Base: ${isolation.base.summary}; each worker works on its own branch (orch/<session>/<worker>); your checkout is not touched until you apply.`)}\n`,
      );
  }

  /** Where a new session's agents work, from its session.json. */
  function isolationOf(runtime: { store: { meta: { isolation?: Isolation } } }): Isolation | undefined {
    return runtime.store.meta.isolation;
  }

  /** After the demo: the project copy is untouched; the result, its diff --stat, and the command that applies it. */
  async function demoOutcome(
    manager: SessionManager,
    sessionId: string,
    projectDir: string,
    self: string,
  ): Promise<string> {
    const view = manager.view(sessionId);
    const ws = view.workspace;
    if (ws.mode !== 'checkouts' || ws.result.status !== 'done' || !ws.result.head)
      return `Project after the run: ${projectDir} (try: cd ${projectDir} && git diff && npm test)\n`;
    const { diffStatText } = await import('../workspace/diff.js');
    const stat = await diffStatText(projectDir, ws.base.commit, ws.result.head, 72);
    return [
      `The project copy in ${projectDir} is untouched: each agent worked on its own branch, and the result is ${style.bold(ws.result.branch)}:`,
      stat
        .trimEnd()
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n'),
      `Apply it to the copy and run its tests: ${style.bold(`cd ${projectDir} && ${self} apply ${sessionId} && npm test`)}`,
      '',
    ].join('\n');
  }

  async function run(
    task: string | undefined,
    opts: ServerFlags & {
      dir: string;
      spec?: string;
      agents?: string;
      workspace?: string;
      base?: string;
      inPlace?: boolean;
    },
  ) {
    const { buildSpec, resolveTargetDir } = await import('./session-options.js');
    const { followSession } = await following();
    const { startCliServer } = await serving();
    const { planIsolation } = await import('../workspace/plan.js');
    const targetDir = resolveTargetDir(opts.dir);
    const spec = buildSpec({
      ...(task ? { task } : {}),
      ...(opts.spec ? { specFile: opts.spec } : {}),
      ...(opts.agents ? { agents: opts.agents } : {}),
    });
    const manager = await managerFor(resolveWorkspace(opts.workspace, targetDir), opts);
    // Refused before a dashboard is announced for a session that will not exist: missing agents, a bad --base.
    manager.preflight(spec, targetDir);
    const isolation = await planIsolation(
      targetDir,
      { ...(opts.base !== undefined ? { base: opts.base } : {}), ...(opts.inPlace ? { inPlace: true } : {}) },
      manager.workspace,
    );
    const server = await startCliServer(manager, opts, style);
    try {
      const runtime = await manager.create(spec, targetDir, { isolation });
      announceIsolation(isolation, opts.json ? process.stderr : process.stdout);
      process.exitCode = await followSession(runtime, followOptions(opts, server?.hint));
    } finally {
      await server?.close();
    }
  }

  async function demo(opts: ServerFlags & { workspace?: string; speed: number }) {
    if (!Number.isFinite(opts.speed) || opts.speed < 0) throw new UsageError('--speed must be a number >= 0');
    const { demoSpec, prepareDemo } = await import('./demo-command.js');
    const { followSession } = await following();
    const { startCliServer } = await serving();
    const setup = await prepareDemo({ ...(opts.workspace ? { workspace: opts.workspace } : {}), speed: opts.speed });
    // Inside the sandbox the recorded agents write their sessions to DEMO_STATE_DIR, and read the orchestrator's
    // own package (their code and transcripts), which may be under /tmp, private there.
    const manager = await managerFor(
      setup.workspace,
      opts,
      { env: setup.env },
      {
        writable: setup.env.DEMO_STATE_DIR ? [setup.env.DEMO_STATE_DIR] : [],
        readable: setup.readable,
      },
    );
    const info = opts.json ? process.stderr : process.stdout;
    info.write(
      `${style.bold('orchestrate demo')}: recorded agents on a copy of the example project in ${setup.projectDir}\n`,
    );
    if (setup.gitNote) info.write(`${style.yellow('note:')} ${setup.gitNote}\n`);
    const server = await startCliServer(manager, opts, style);
    const self = selfCommand();
    try {
      const runtime = await manager.create(demoSpec(), setup.projectDir);
      const isolation = isolationOf(runtime);
      if (isolation) announceIsolation(isolation, info);
      process.exitCode = await followSession(runtime, followOptions(opts, server?.hint));
      info.write(await demoOutcome(manager, runtime.sessionId, setup.projectDir, self));
      if (server && !opts.json && process.stdout.isTTY && process.stdin.isTTY) {
        // Whoever opened the dashboard link is still looking at it: keep it up until they are done.
        info.write(`${style.bold('The dashboard stays up')} at ${server.url} to look around; press Ctrl-C to quit.\n`);
        await untilInterrupted();
      }
      const again = `${self} serve --workspace ${setup.workspace}   (or: ${self} logs ${runtime.sessionId} --workspace ${setup.workspace})`;
      info.write(
        style.dim(
          `${server ? 'The dashboard closed with the demo. Browse the session again' : 'Browse the session'}: ${again}\n`,
        ),
      );
      // Each demo leaves its folder in the temp dir (the copy, its branches, the session): say how to remove it.
      info.write(
        style.dim(`Everything of this demo is in ${setup.rootDir}; remove it when done: rm -rf ${setup.rootDir}\n`),
      );
    } finally {
      await server?.close();
    }
  }

  async function resume(sessionId: string, opts: ServerFlags & { workspace?: string; worker?: string }) {
    const { controlSession, findRunner } = await controlling();
    const workspace = resolveWorkspace(opts.workspace, undefined);
    const runner = findRunner(workspace, sessionId);
    if (runner.kind !== 'none') {
      process.stdout.write(
        `${await controlSession(workspace, sessionId, 'resume', opts.worker ? { workerId: opts.worker } : {})}\n`,
      );
      return;
    }
    if (opts.worker)
      throw new UsageError(
        `session ${sessionId} is not running: \`orchestrate resume ${sessionId}\` restores all of it`,
      );
    const { followSession, printEnded } = await following();
    const { startCliServer } = await serving();
    const manager = await managerFor(workspace, opts);
    if (manager.view(sessionId).outcome !== null) {
      // Nothing of it runs or can run again: say so, with its summary, and leave its log alone.
      process.exitCode = printEnded(manager, sessionId, followOptions(opts, undefined));
      return;
    }
    const server = await startCliServer(manager, opts, style);
    try {
      const runtime = manager.resume(sessionId);
      process.exitCode = await followSession(runtime, followOptions(opts, server?.hint));
    } finally {
      await server?.close();
    }
  }

  async function serve(
    opts: ServeOptions & { workspace?: string; inspect?: string; recordedAgents?: boolean; speed: number },
  ) {
    if (!Number.isFinite(opts.speed) || opts.speed < 0) throw new UsageError('--speed must be a number >= 0');
    const { serveCommand } = await serving();
    const workspace = resolveWorkspace(opts.workspace, undefined);
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
        { env: agents.env },
        { writable: agents.writable, readable: agents.readable },
      );
      process.stdout.write(
        style.dim(
          `Agents: recorded (no model, no API key): claude, codex and gemini replay the demo's transcripts whatever the task; their launchers are in ${rootDir} until exit.\n`,
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
    // session manager: status loads no machine, process actor or agent adapter.
    const { sessionsOnDisk } = await import('../runtime/view.js');
    const onDisk = workspaceExists(workspace) ? sessionsOnDisk(workspace) : null;
    statusCommand(onDisk, workspace, sessionId, { json: opts.json === true, out: process.stdout, style });
  }

  async function resolve(
    sessionId: string,
    blockerId: string,
    choice: string,
    opts: Partial<ServerFlags> & { text?: string; agent?: string; workspace?: string },
  ) {
    if (choice === 'answer' && !opts.text) throw new UsageError('an answer needs --text "..."');
    if (opts.agent && choice !== 'agent')
      throw new UsageError('--agent goes with the choice "agent" (an agent resolves a merge conflict)');
    const { findRunner, resolveBlocker } = await controlling();
    const workspace = resolveWorkspace(opts.workspace, undefined);
    if (findRunner(workspace, sessionId).kind !== 'none') {
      process.stdout.write(`${await resolveBlocker(workspace, sessionId, blockerId, choice, opts.text, opts.agent)}\n`);
      return;
    }
    // Nobody runs the session (it ended waiting for a person, say after `run --no-server`): an answer means
    // "go on", so restore it here, answer, and run it on, as `resume` would.
    const flags: ServerFlags = { server: true, port: 0, host: '127.0.0.1', ...opts };
    const { checkAnswer } = await import('../runtime/blocker-answer.js');
    const manager = await managerFor(workspace, flags);
    const check = checkAnswer(sessionId, manager.view(sessionId).blockers, blockerId, choice);
    if (!check.ok) throw new UsageError(check.message);
    const { followSession } = await following();
    const { startCliServer } = await serving();
    const info = flags.json ? process.stderr : process.stdout;
    const server = await startCliServer(manager, flags, style);
    try {
      const runtime = manager.resume(sessionId);
      runtime.send({
        type: 'RESOLVE',
        blockerId,
        choice: choice as 'retry' | 'skip' | 'stop' | 'answer' | 'agent',
        ...(opts.text ? { text: opts.text } : {}),
        ...(opts.agent ? { agent: opts.agent } : {}),
        by: 'cli',
      });
      info.write(`${blockerId}: answered ${choice}; session ${sessionId} goes on here (Ctrl-C stops it)\n`);
      process.exitCode = await followSession(runtime, followOptions(flags, server?.hint));
    } finally {
      await server?.close();
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
            : `session ${sessionId} is not running; \`orchestrate resume ${sessionId}\` first, then stop the worker (here, or in the dashboard)`,
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

  /** A manager for commands that only read a session folder and git (creates nothing when the workspace is missing). */
  async function existingManager(workspaceOpt: string | undefined): Promise<SessionManager> {
    const { workspaceExists } = await import('./workspace.js');
    const workspace = resolveWorkspace(workspaceOpt, undefined);
    if (!workspaceExists(workspace)) throw new UsageError(`no sessions in ${workspace} (no such folder)`);
    return new (await sessions()).SessionManager({ workspace });
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

  async function apply(sessionId: string, opts: { worker?: string; merge?: boolean; workspace?: string }) {
    const { applyCommand } = await import('./changes-command.js');
    process.exitCode = await applyCommand(await existingManager(opts.workspace), sessionId, {
      ...(opts.worker ? { worker: opts.worker } : {}),
      merge: opts.merge === true,
      out: process.stdout,
      err: process.stderr,
      style,
    });
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

  return { run, demo, resume, serve, status, control, resolve, logs, parse, doctor, diff, apply, discard, gc, dispose };
}

export type Actions = ReturnType<typeof createActions>;
