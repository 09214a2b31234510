#!/usr/bin/env node
/**
 * `orchestrate`: the command line. Thin: every command parses its options and calls into src/.
 * Exit codes of run/resume/demo: 0 the session completed, 2 it ended needing a person, 1 usage error.
 */
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { knownAgents } from './agents/registry.js';
import { SessionManager, UsageError, type SessionManagerOptions } from './runtime/session-manager.js';
import { SessionLockedError, SessionNotFoundError } from './store/session-store.js';
import { EXIT_USAGE, followSession } from './cli/follow.js';
import { parseCommand } from './cli/parse-command.js';
import { buildSpec, resolveTargetDir } from './cli/session-options.js';
import { colorEnabled, createStyle } from './cli/style.js';
import { resolveWorkspace } from './cli/workspace.js';
import { statusCommand } from './cli/status-command.js';
import { demoSpec, prepareDemo } from './cli/demo-command.js';
import { controlSession, findRunner, resolveBlocker, stopOffline, type ControlAction } from './cli/control.js';
import { logsCommand } from './cli/logs-command.js';
import { serveCommand, startCliServer, type ServeOptions } from './cli/serve.js';
import { doctorCommand } from './cli/doctor.js';
import { completionScript } from './cli/completion.js';
import { createSafetyFactory } from './safety/index.js';

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const version = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;

const style = createStyle(colorEnabled(process.stdout));

function integer(name: string, min: number, max: number) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    return n;
  };
}

interface ServerFlags {
  server: boolean;
  port: number;
  host: string;
  inspect?: string;
  json?: boolean;
}

function serverOptions(command: Command): Command {
  return command
    .option('--port <n>', 'HTTP port of the dashboard and API (0 = any free port)', integer('--port', 0, 65535), 0)
    .option('--host <host>', 'address to bind the HTTP server to (anything but loopback is reachable from the network)', '127.0.0.1')
    .option('--no-server', 'no dashboard/API server (a blocker then ends the run with exit code 2)')
    .option('--json', 'print every event as JSON lines on stdout instead of the live view')
    .addOption(new Option('--inspect <target>', 'also stream XState inspection to Stately\'s WebSocket inspector: stately, or a ws:// URL'));
}

async function managerFor(workspace: string, flags: Pick<ServerFlags, 'inspect'>, extra: Partial<SessionManagerOptions> = {}, sandboxWritable: string[] = []): Promise<SessionManager> {
  const options: SessionManagerOptions = { workspace, ...extra };
  // --- safety wiring (src/safety): each session's sandbox, launch checks, policy, budgets, resource limits ---
  const safetyFor = await createSafetyFactory({
    env: extra.env ?? process.env,
    extraWritable: sandboxWritable,
    onDecision: (decision) => {
      if (decision.fellBack) process.stderr.write(`${style.yellow('warning:')} ${decision.reason}. Install bubblewrap to confine them (orchestrate doctor).\n`);
    },
  });
  options.safetyFor = safetyFor;
  // --- end safety wiring ---
  if (flags.inspect) {
    const { createWebSocketInspector } = await import('@statelyai/inspect');
    const url = flags.inspect === 'stately' ? 'ws://localhost:8080' : flags.inspect;
    if (!/^wss?:\/\//.test(url)) throw new UsageError('--inspect takes "stately" or a ws:// URL of a @statelyai/inspect server');
    const inspector = createWebSocketInspector({ url });
    options.inspector = (event) => inspector.inspect.next?.(event);
    process.stderr.write(`${style.dim(`inspection events go to ${url} (start one with: npx @statelyai/inspect)`)}\n`);
  }
  return new SessionManager(options);
}

export function buildProgram(): Command {
  const program = new Command('orchestrate')
    .description('Supervise AI coding-agent CLIs (Claude Code, Codex CLI, Gemini CLI) on one repository: recovery, peer review, live dashboard.')
    .version(version)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  serverOptions(
    program
      .command('run')
      .description('run a session of agent workers on a target directory and follow it live')
      .argument('[task]', 'what the agents should do (required unless --spec gives it)')
      .option('-C, --dir <dir>', 'target directory (the repository the agents work on)', process.cwd())
      .option('--spec <file>', 'session spec (JSON): workers, roles, reviews, limits, sandbox')
      .option('--agents <list>', `only workers of these agents, comma-separated (${knownAgents().join(', ')})`)
      .option('--workspace <dir>', 'where sessions are kept (default: $ORCHESTRATOR_WORKSPACE, else <dir>/.orchestrator)'),
  ).action(async (task: string | undefined, opts: ServerFlags & { dir: string; spec?: string; agents?: string; workspace?: string }) => {
    const targetDir = resolveTargetDir(opts.dir);
    const spec = buildSpec({ ...(task ? { task } : {}), ...(opts.spec ? { specFile: opts.spec } : {}), ...(opts.agents ? { agents: opts.agents } : {}) });
    const manager = await managerFor(resolveWorkspace(opts.workspace, targetDir), opts);
    const server = await startCliServer(manager, opts, style);
    try {
      const runtime = await manager.create(spec, targetDir);
      process.exitCode = await followSession(runtime, followOptions(opts, server?.hint));
    } finally {
      await server?.close();
    }
  });

  serverOptions(
    program
      .command('demo')
      .description('the default trio (gemini architect, claude implementer, codex verifier) with peer reviews on a bundled example project, with recorded agents: no API key needed')
      .option('--workspace <dir>', 'where the session is kept (default: .orchestrator in the demo project copy)')
      .option('--speed <factor>', 'pace of the recorded agents (0 = as fast as possible, 2 = twice as slow)', parseFloat, 1),
  ).action(async (opts: ServerFlags & { workspace?: string; speed: number }) => {
    if (!Number.isFinite(opts.speed) || opts.speed < 0) throw new UsageError('--speed must be a number >= 0');
    const demo = await prepareDemo({ ...(opts.workspace ? { workspace: opts.workspace } : {}), speed: opts.speed });
    // The recorded agents keep their sessions in DEMO_STATE_DIR: writable inside the sandbox (safety wiring).
    const manager = await managerFor(demo.workspace, opts, { env: demo.env }, demo.env.DEMO_STATE_DIR ? [demo.env.DEMO_STATE_DIR] : []);
    const info = opts.json ? process.stderr : process.stdout;
    info.write(`${style.bold('orchestrate demo')}: recorded agents on a copy of the example project in ${demo.projectDir}\n`);
    if (demo.gitNote) info.write(`${style.yellow('note:')} ${demo.gitNote}\n`);
    const server = await startCliServer(manager, opts, style);
    try {
      const runtime = await manager.create(demoSpec(), demo.projectDir);
      process.exitCode = await followSession(runtime, followOptions(opts, server?.hint));
    } finally {
      await server?.close();
    }
    info.write(`Project after the run: ${demo.projectDir} (try: cd ${demo.projectDir} && git diff && npm test)\n`);
    info.write(style.dim(`Browse the session again: orchestrate serve --workspace ${demo.workspace}   (or: orchestrate logs <session> --workspace ${demo.workspace})\n`));
  });

  serverOptions(
    program
      .command('resume')
      .description('continue a session: unpause it if a server runs it; else restore it from disk (re-attach to live agents, collect those that ended, relaunch the rest)')
      .argument('<session>', 'session id (orch_YYYYMMDD_HHMMSS_xxxx)')
      .option('--worker <id>', 'only this worker (one paused with `orchestrate pause --worker`)')
      .option('--workspace <dir>', 'where sessions are kept'),
  ).action(async (sessionId: string, opts: ServerFlags & { workspace?: string; worker?: string }) => {
    const workspace = resolveWorkspace(opts.workspace, undefined);
    const runner = findRunner(workspace, sessionId);
    if (runner.kind !== 'none') {
      process.stdout.write(`${await controlSession(workspace, sessionId, 'resume', opts.worker ? { workerId: opts.worker } : {})}\n`);
      return;
    }
    if (opts.worker) throw new UsageError(`session ${sessionId} is not running: \`orchestrate resume ${sessionId}\` restores all of it`);
    const manager = await managerFor(workspace, opts);
    const server = await startCliServer(manager, opts, style);
    try {
      const runtime = manager.resume(sessionId);
      process.exitCode = await followSession(runtime, followOptions(opts, server?.hint));
    } finally {
      await server?.close();
    }
  });

  program
    .command('serve')
    .description('the dashboard and API for the sessions of a workspace (POST /api/v1/orchestrate starts new ones)')
    .option('--workspace <dir>', 'where sessions are kept (default: $ORCHESTRATOR_WORKSPACE, else ./.orchestrator)')
    .option('--port <n>', 'HTTP port (0 = any free port)', integer('--port', 0, 65535), 7420)
    .option('--host <host>', 'address to bind to (anything but loopback is reachable from the network)', '127.0.0.1')
    .option('--resume-all', 'restore every unfinished session of the workspace at start')
    .addOption(new Option('--inspect <target>', 'also stream XState inspection to a @statelyai/inspect WebSocket server'))
    .action(async (opts: ServeOptions & { workspace?: string; inspect?: string }) => {
      const manager = await managerFor(resolveWorkspace(opts.workspace, undefined), opts);
      process.exitCode = await serveCommand(manager, opts, style);
    });

  program
    .command('status')
    .description('sessions in the workspace, or one session in detail')
    .argument('[session]', 'session id')
    .option('--workspace <dir>', 'where sessions are kept')
    .option('--json', 'machine-readable output')
    .action((sessionId: string | undefined, opts: { workspace?: string; json?: boolean }) => {
      const manager = new SessionManager({ workspace: resolveWorkspace(opts.workspace, undefined) });
      statusCommand(manager, sessionId, { json: opts.json === true, out: process.stdout, style });
    });

  for (const action of ['pause', 'stop', 'review'] as ControlAction[]) {
    const cmd = program
      .command(action)
      .description(
        action === 'pause'
          ? 'pause a running session (SIGSTOP of its agents\' process groups; timers stand still), or one worker'
          : action === 'stop'
            ? 'stop a session: SIGTERM to every agent process group, SIGKILL after a grace period; works with no orchestrator running'
            : 'start a peer-review round now (of one worker with --target)',
      )
      .argument('<session>', 'session id')
      .option('--workspace <dir>', 'where sessions are kept');
    if (action === 'pause') cmd.option('--worker <id>', 'only this worker');
    if (action === 'stop') cmd.option('--reason <text>', 'why (recorded in the session)');
    if (action === 'review') cmd.option('--target <worker>', 'the worker to review');
    cmd.action(async (sessionId: string, opts: { workspace?: string; worker?: string; reason?: string; target?: string }) => {
      const workspace = resolveWorkspace(opts.workspace, undefined);
      if (action === 'stop' && findRunner(workspace, sessionId).kind === 'none') {
        process.stdout.write(`${await stopOffline(await managerFor(workspace, {}), sessionId)}\n`);
        return;
      }
      const body: Record<string, string> = {
        ...(opts.worker ? { workerId: opts.worker } : {}),
        ...(opts.reason ? { reason: opts.reason } : {}),
        ...(opts.target ? { target: opts.target } : {}),
      };
      process.stdout.write(`${await controlSession(workspace, sessionId, action, body)}\n`);
    });
  }

  program
    .command('resolve')
    .description('answer a blocker of a running session (retry, skip, stop, or answer a clarification with --text)')
    .argument('<session>', 'session id')
    .argument('<blocker>', 'blocker id (b1, b2 ...; see orchestrate status)')
    .addArgument(new Argument('<choice>', 'the answer').choices(['retry', 'skip', 'stop', 'answer']))
    .option('--text <text>', 'the answer to a clarification (choice "answer")')
    .option('--workspace <dir>', 'where sessions are kept')
    .action(async (sessionId: string, blockerId: string, choice: string, opts: { text?: string; workspace?: string }) => {
      if (choice === 'answer' && !opts.text) throw new UsageError('an answer needs --text "..."');
      process.stdout.write(`${await resolveBlocker(resolveWorkspace(opts.workspace, undefined), sessionId, blockerId, choice, opts.text)}\n`);
    });

  program
    .command('logs')
    .description("a session's events as readable lines (one worker's with WORKER), or an agent's raw output")
    .argument('<session>', 'session id')
    .argument('[worker]', 'only this worker')
    .option('-f, --follow', 'keep printing as the session goes on')
    .option('--raw', "the worker's raw agent stdout (JSONL as the CLI printed it)")
    .option('--stderr', "the worker's raw agent stderr")
    .option('--json', 'events as JSON lines')
    .option('--workspace <dir>', 'where sessions are kept')
    .action(async (sessionId: string, workerId: string | undefined, opts: { follow?: boolean; raw?: boolean; stderr?: boolean; json?: boolean; workspace?: string }) => {
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
    });

  program
    .command('parse')
    .description('normalize an agent transcript (stdout JSONL) into events; with --exit-code, classify the run')
    .requiredOption('--agent <agent>', `the CLI that printed it (${knownAgents().join(', ')})`)
    .argument('[file]', 'transcript file, or - for stdin', '-')
    .option('--exit-code <n>', 'exit code of the run: adds a last line, {"type":"exit"} or {"type":"failure","signal":...}', integer('--exit-code', 0, 255))
    .option('--stderr <file>', "the run's stderr, for the classification")
    .action(async (file: string, opts: { agent: string; exitCode?: number; stderr?: string }) => {
      await parseCommand({ agent: opts.agent, file, ...(opts.exitCode !== undefined ? { exitCode: opts.exitCode } : {}), ...(opts.stderr ? { stderrFile: opts.stderr } : {}), out: process.stdout });
    });

  program
    .command('doctor')
    .description('which agent CLIs are installed (versions, credentials), the sandbox, git, and servers of the workspace')
    .option('--workspace <dir>', 'where sessions are kept')
    .option('--json', 'machine-readable output')
    .action(async (opts: { workspace?: string; json?: boolean }) => {
      process.exitCode = await doctorCommand({ workspace: resolveWorkspace(opts.workspace, undefined), json: opts.json === true, out: process.stdout, style });
    });

  program
    .command('completion')
    .description('shell completion: eval "$(orchestrate completion bash)" (also zsh, fish)')
    .addArgument(new Argument('[shell]', 'bash, zsh or fish').choices(['bash', 'zsh', 'fish']).default('bash'))
    .action((shell: 'bash' | 'zsh' | 'fish') => {
      process.stdout.write(completionScript(shell, buildProgram()));
    });

  return program;
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

export async function main(argv = process.argv): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; every parse error is a usage error.
      process.exitCode = error.exitCode === 0 ? 0 : EXIT_USAGE;
      return;
    }
    if (error instanceof UsageError || error instanceof SessionNotFoundError || error instanceof SessionLockedError || (error instanceof Error && /^Unknown agent/.test(error.message))) {
      process.stderr.write(`${style.red('error:')} ${error.message}\n`);
      process.exitCode = EXIT_USAGE;
      return;
    }
    throw error;
  }
}

await main();
