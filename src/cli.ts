#!/usr/bin/env node
/**
 * `orchestrate`: the command line. Thin: every command parses its options and calls into src/.
 * Exit codes of run/resume/demo: 0 the session completed, 2 it ended needing a person, 1 usage error.
 */
import { Argument, Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KNOWN_AGENT_NAMES } from './agents/names.js';
import { BLOCKER_CHOICES } from './domain/event-types.js';
import { PACKAGE_ROOT } from './package-root.js';
import { colorEnabled, createStyle } from './cli/style.js';
import { completionScript } from './cli/completion.js';
import { isUsageError } from './domain/usage-error.js';
import { describeFsError } from './cli/fs-errors.js';
import { fleetApplyOptions, fleetServeOptions, integer, notifyOption, storeUrl } from './cli/option-parsers.js';
import type { Actions } from './cli/actions.js';
import type { ControlAction } from './cli/control.js';

/** Exit code of a usage error (src/cli/follow.ts has the others). */
const EXIT_USAGE = 1;

const version = (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

const style = createStyle(colorEnabled(process.stdout));

let actions: Actions | undefined;
/** The commands' implementations, loaded when a command runs (not for --help). */
async function load(): Promise<Actions> {
  actions ??= (await import('./cli/actions.js')).createActions(style);
  return actions;
}

function serverOptions(command: Command): Command {
  return command
    .option('--port <n>', 'HTTP port of the dashboard and API (0 = any free port)', integer('--port', 0, 65535), 0)
    .option(
      '--host <host>',
      'address to bind the HTTP server to (anything but loopback is reachable from the network)',
      '127.0.0.1',
    )
    .option('--no-server', 'no dashboard/API server (a blocker then ends the run with exit code 2)')
    .option('--json', 'print every event as JSON lines on stdout instead of the live view')
    .option(
      '--notify <target>',
      'tell a person when a worker needs input and when the session ends: ' +
        'a webhook URL (JSON POST, Slack-compatible) or "desktop"; repeatable',
      notifyOption,
    )
    .addOption(
      new Option(
        '--inspect <target>',
        'also send XState inspection events to Stately\'s inspector: "stately" starts a ' +
          'relay on localhost:8080 for https://stately.ai/inspect; or the ws:// URL of a relay',
      ),
    );
}

export function buildProgram(): Command {
  const program = new Command('orchestrate')
    .description(
      'Supervise AI coding-agent CLIs (Claude Code, Codex CLI, Gemini CLI) ' +
        'on one repository: recovery, peer review, live dashboard.',
    )
    .version(version)
    // One `error:` line, as every other usage error: the parser's message and where the usage is.
    .configureOutput({ outputError: (message, write) => write(`${message.trimEnd()} (run with --help for usage)\n`) })
    .exitOverride();

  serverOptions(
    program
      .command('run')
      .description('run a session of agent workers on a target directory and follow it live')
      .argument('[task]', 'what the agents should do (required unless --spec gives it)')
      .addOption(
        new Option('-C, --dir <dir>', 'target directory (the repository the agents work on)').default(
          process.cwd(),
          'the current directory',
        ),
      )
      .option('--spec <file>', 'session spec (JSON): workers, roles, reviews, limits, sandbox')
      .option('--agents <list>', `only workers of these agents, comma-separated (${KNOWN_AGENT_NAMES.join(', ')})`)
      .option('--base <ref>', 'start the workers from this commit, not from HEAD plus your uncommitted changes')
      .option('--in-place', 'no checkouts of their own: the agents edit the target directory itself (as outside git)')
      .option(
        '--workspace <dir>',
        'where sessions are kept (default: $ORCHESTRATOR_WORKSPACE, else <dir>/.orchestrator)',
      ),
  ).action(async (...args: unknown[]) => (await load()).run(...(args as Parameters<Actions['run']>)));

  serverOptions(
    program
      .command('demo')
      .description(
        'the default trio (gemini architect, claude implementer, codex verifier) ' +
          'with peer reviews on a bundled example project, with recorded agents: no API key needed',
      )
      .option('--workspace <dir>', 'where the session is kept (default: .orchestrator in the demo project copy)')
      .option(
        '--speed <factor>',
        'pace of the recorded agents (0 = as fast as possible, 2 = twice as slow)',
        parseFloat,
        1,
      ),
  ).action(async (...args: unknown[]) => (await load()).demo(...(args as Parameters<Actions['demo']>)));

  serverOptions(
    program
      .command('resume')
      .description(
        'continue a session: unpause it if a server runs it; else restore it from disk ' +
          '(re-attach to live agents, collect those that ended, relaunch the rest)',
      )
      .argument('<session>', 'session id (orch_YYYYMMDD_HHMMSS_xxxx)')
      .option('--worker <id>', 'only this worker (one paused with `orchestrate pause --worker`)')
      .option('--workspace <dir>', 'where sessions are kept'),
  ).action(async (...args: unknown[]) => (await load()).resume(...(args as Parameters<Actions['resume']>)));

  fleetServeOptions(
    program
      .command('serve')
      .description('the dashboard and API for the sessions of a workspace (POST /api/v1/orchestrate starts new ones)')
      .option('--workspace <dir>', 'where sessions are kept (default: $ORCHESTRATOR_WORKSPACE, else ./.orchestrator)')
      .option('--port <n>', 'HTTP port (0 = any free port)', integer('--port', 0, 65535), 7420)
      .option('--host <host>', 'address to bind to (anything but loopback is reachable from the network)', '127.0.0.1')
      .option('--resume-all', 'restore every unfinished session of the workspace at start'),
  )
    .option(
      '--notify <target>',
      'tell a person when a worker needs input and when a session ends: a webhook URL or "desktop"; repeatable',
      notifyOption,
    )
    .option(
      '--recorded-agents',
      "run the demo's recorded agents instead of the real CLIs (to try the API and dashboard without an API key)",
    )
    .option(
      '--speed <factor>',
      'pace of the recorded agents (with --recorded-agents; 0 = as fast as possible)',
      parseFloat,
      1,
    )
    .addOption(
      new Option(
        '--inspect <target>',
        "also send XState inspection events to Stately's inspector " +
          '("stately": a relay on localhost:8080, or a ws:// URL)',
      ),
    )
    .action(async (...args: unknown[]) => (await load()).serve(...(args as Parameters<Actions['serve']>)));

  program
    .command('mcp')
    .description(
      'an MCP server on stdio, for the coding agent you work in ' +
        '(claude mcp add orchestrate -- npx orchestrate mcp): start, follow, steer and answer sessions',
    )
    .option('--workspace <dir>', 'where sessions are kept (default: $ORCHESTRATOR_WORKSPACE, else ./.orchestrator)')
    .option(
      '--notify <target>',
      'tell a person when a worker needs input and when a session ends: a webhook URL or "desktop"; repeatable',
      notifyOption,
    )
    .action(async (opts: { workspace?: string; notify?: string[] }) => (await load()).mcp(opts, version));

  program
    .command('status')
    .description('sessions in the workspace, or one session in detail')
    .argument('[session]', 'session id')
    .option('--workspace <dir>', 'where sessions are kept')
    .option('--json', 'machine-readable output')
    .action(async (...args: unknown[]) => (await load()).status(...(args as Parameters<Actions['status']>)));

  for (const action of ['pause', 'stop', 'review'] as ControlAction[]) {
    const cmd = program
      .command(action)
      .description(
        action === 'pause'
          ? "pause a running session (SIGSTOP of its agents' process groups; timers stand still), or one worker"
          : action === 'stop'
            ? 'stop a session: SIGTERM to every agent process group, SIGKILL after a grace period; ' +
              'works with no orchestrator running. With --worker: stop that worker only, and go on without it'
            : 'start a peer-review round now (of one worker with --target)',
      )
      .argument('<session>', 'session id')
      .option('--workspace <dir>', 'where sessions are kept');
    if (action === 'pause') cmd.option('--worker <id>', 'only this worker');
    if (action === 'stop') {
      cmd.option(
        '--worker <id>',
        'stop only this worker: its agent ends, it counts as skipped, the workers depending on it go on',
      );
      cmd.option('--reason <text>', 'why (recorded in the session)');
    }
    if (action === 'review') cmd.option('--target <worker>', 'the worker to review');
    cmd.action(
      async (sessionId: string, opts: { workspace?: string; worker?: string; reason?: string; target?: string }) =>
        (await load()).control(action, sessionId, opts),
    );
  }

  program
    .command('say')
    .description(
      "send a message into an interactive worker's running agent " +
        '(a new user turn, now); the session must run with a server',
    )
    .argument('<session>', 'session id')
    .argument('<worker>', 'the worker (its "mode" is "interactive")')
    .argument('<text>', 'the message')
    .option('--workspace <dir>', 'where sessions are kept')
    .action(async (...args: unknown[]) => (await load()).say(...(args as Parameters<Actions['say']>)));

  serverOptions(
    program
      .command('resolve')
      .description(
        'answer a blocker (retry, skip, stop, answer a clarification with --text, ' +
          'have an agent resolve a merge conflict, or allow, deny or allow-always what ' +
          'an interactive agent asks); a session nobody runs goes on here, as with resume',
      )
      .argument('<session>', 'session id')
      .argument('<blocker>', 'blocker id (b1, b2 ...; see orchestrate status)')
      .addArgument(new Argument('<choice>', 'the answer').choices(BLOCKER_CHOICES))
      .option('--text <text>', 'the answer to a clarification (choice "answer")')
      .addOption(
        new Option(
          '--agent <agent>',
          'the agent that resolves a merge conflict (choice "agent"; default: the worker\'s own)',
        ).choices(KNOWN_AGENT_NAMES),
      )
      .option('--workspace <dir>', 'where sessions are kept'),
  ).action(async (...args: unknown[]) => (await load()).resolve(...(args as Parameters<Actions['resolve']>)));

  program
    .command('diff')
    .description(
      "a session's change (its integrated result, or each worker's while it runs), " +
        "or one worker's: colored on a terminal, a plain diff `git apply` takes when piped",
    )
    .argument('<session>', 'session id')
    .argument('[worker]', "only this worker's own change (start..head of its branch)")
    .option('--stat', 'files and +/- counts only')
    .option('--workspace <dir>', 'where sessions are kept')
    .action(async (...args: unknown[]) => (await load()).diff(...(args as Parameters<Actions['diff']>)));

  fleetApplyOptions(
    program
      .command('apply')
      .description(
        "bring a session's result into your checkout: " +
          'as uncommitted changes on top of your own work (default), or merged as commits',
      )
      .argument('<session>', 'session id')
      .option('--worker <id>', "only this worker's own change")
      .option('--merge', 'merge the branch as commits (refused while uncommitted changes would be touched)')
      .option('--workspace <dir>', 'where sessions are kept'),
  ).action(async (...args: unknown[]) => (await load()).apply(...(args as Parameters<Actions['apply']>)));

  program
    .command('discard')
    .description("remove a session's checkouts and branches (its log stays); --force when its result was never applied")
    .argument('<session>', 'session id')
    .option('--force', 'throw away work that was never applied')
    .option('--workspace <dir>', 'where sessions are kept')
    .action(async (...args: unknown[]) => (await load()).discard(...(args as Parameters<Actions['discard']>)));

  program
    .command('gc')
    .description(
      'remove the checkouts and branches of discarded sessions and of ' +
        'sessions whose folder is gone (un-applied work only with --force)',
    )
    .addOption(
      new Option('-C, --dir <dir>', 'also look at this repository').default(process.cwd(), 'the current directory'),
    )
    .option('--force', 'also remove work that was never applied')
    .option('--workspace <dir>', 'where sessions are kept')
    .action(async (...args: unknown[]) => (await load()).gc(...(args as Parameters<Actions['gc']>)));

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
    .action(async (...args: unknown[]) => (await load()).logs(...(args as Parameters<Actions['logs']>)));

  program
    .command('parse')
    .description('normalize an agent transcript (stdout JSONL) into events; with --exit-code, classify the run')
    .usage('--agent <agent> [options] [file]')
    .addOption(
      new Option(
        '--agent <agent>',
        `required: the CLI that printed it (${KNOWN_AGENT_NAMES.join(', ')})`,
      ).makeOptionMandatory(),
    )
    .argument('[file]', 'transcript file, or - for stdin', '-')
    .option(
      '--exit-code <n>',
      'exit code of the run: adds a last line, {"type":"exit"} or {"type":"failure","signal":...}',
      integer('--exit-code', 0, 255),
    )
    .option('--stderr <file>', "the run's stderr, for the classification")
    .action(async (...args: unknown[]) => (await load()).parse(...(args as Parameters<Actions['parse']>)));

  program
    .command('runner')
    .description('a fleet runner: claims sessions queued in Postgres and runs them here (docs/fleet.md)')
    .option('--store <url>', 'the fleet database, postgres://... (default: $ORCHESTRATOR_DATABASE_URL)', storeUrl)
    .option('--slots <n>', 'sessions run at once, at most', integer('--slots', 1, 64), 2)
    .option('--agents <list>', 'agents it can run (default: those installed here)')
    .option('--labels <list>', 'labels it has: it claims only sessions that ask for no other')
    .option('--lease-sec <n>', 'lease of a claimed session, renewed every third', integer('--lease-sec', 3, 3600), 30)
    .option('--workspace <dir>', "where its sessions' folders and clones are kept (default: ./.orchestrator-runner)")
    .option('--migrate', 'create the fleet tables first (needs a role that may create them)')
    .action(async (...args: unknown[]) => (await load()).runner(...(args as Parameters<Actions['runner']>)));

  program
    .command('doctor')
    .description(
      'which agent CLIs are installed (versions, credentials), the sandbox, git, and servers of the workspace',
    )
    .option('--workspace <dir>', 'where sessions are kept')
    .option('--json', 'machine-readable output')
    .action(async (...args: unknown[]) => (await load()).doctor(...(args as Parameters<Actions['doctor']>)));

  program
    .command('completion')
    .description('shell completion: eval "$(orchestrate completion bash)" (also zsh, fish)')
    .addArgument(new Argument('[shell]', 'bash, zsh or fish').choices(['bash', 'zsh', 'fish']).default('bash'))
    .action((shell: 'bash' | 'zsh' | 'fish') => {
      process.stdout.write(completionScript(shell, buildProgram()));
    });

  return program;
}

export async function main(argv = process.argv): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    await actions?.dispose();
    if (error instanceof CommanderError) {
      // Help and version exit 0; every parse error is a usage error.
      process.exitCode = error.exitCode === 0 ? 0 : EXIT_USAGE;
      return;
    }
    if (isUsageError(error) || (error instanceof Error && /^Unknown agent/.test(error.message))) {
      process.stderr.write(`${style.red('error:')} ${error.message}\n`);
      process.exitCode = EXIT_USAGE;
      return;
    }
    // A session folder's file that is not what the orchestrator wrote (a hand edit, a copy from elsewhere).
    if (error instanceof Error && error.name === 'SessionFileError') {
      process.stderr.write(`${style.red('error:')} ${error.message}\n`);
      process.exitCode = 1;
      return;
    }
    // A path given on the command line that is missing, a folder, a file, or not ours (--workspace, --spec, -C ...).
    const fsMessage = describeFsError(error);
    if (fsMessage !== null) {
      process.stderr.write(`${style.red('error:')} ${fsMessage}\n`);
      process.exitCode = EXIT_USAGE;
      return;
    }
    throw error;
  }
  // What a command left open beyond its session (the --inspect connection and relay) must not keep it running.
  await actions?.dispose();
}

/**
 * A reader that goes away (`orchestrate logs SID | head -3`) is no error: the output just has nowhere to go.
 * Handled once for every command: one that follows something (a session, a log) listens for SIGTERM and winds
 * down as on SIGTERM (a session is stopped, so nothing it started is left behind); any other exits at once,
 * quietly. Node ignores SIGPIPE, so without this the next write would end in an "Error: write EPIPE" stack trace.
 */
function quietOnBrokenPipe(stream: NodeJS.WriteStream): void {
  let broken = false;
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    if (broken) return;
    broken = true;
    if (process.listenerCount('SIGTERM') > 0) process.emit('SIGTERM', 'SIGTERM');
    else process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
  });
}

quietOnBrokenPipe(process.stdout);
quietOnBrokenPipe(process.stderr);

await main();
