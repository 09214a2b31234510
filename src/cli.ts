#!/usr/bin/env node
/**
 * `orchestrate`: the command line. Thin: every command parses its options and calls into src/.
 * Exit codes of run/resume/demo: 0 the session completed, 2 it ended needing a person, 1 usage error.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { knownAgents } from './agents/registry.js';
import { SessionManager, UsageError } from './runtime/session-manager.js';
import { SessionNotFoundError } from './store/session-store.js';
import { EXIT_USAGE, followSession } from './cli/follow.js';
import { parseCommand } from './cli/parse-command.js';
import { buildSpec, resolveTargetDir } from './cli/session-options.js';
import { colorEnabled, createStyle } from './cli/style.js';
import { resolveWorkspace } from './cli/workspace.js';
import { statusCommand } from './cli/status-command.js';
import { demoSpec, prepareDemo } from './cli/demo-command.js';

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

export function buildProgram(): Command {
  const program = new Command('orchestrate')
    .description('Supervise AI coding-agent CLIs (Claude Code, Codex CLI, Gemini CLI) on one repository: recovery, peer review, live dashboard.')
    .version(version)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  program
    .command('run')
    .description('run a session of agent workers on a target directory and follow it live')
    .argument('[task]', 'what the agents should do (required unless --spec gives it)')
    .option('-C, --dir <dir>', 'target directory (the repository the agents work on)', process.cwd())
    .option('--spec <file>', 'session spec (JSON): workers, roles, reviews, limits, sandbox')
    .option('--agents <list>', `only workers of these agents, comma-separated (${knownAgents().join(', ')})`)
    .option('--workspace <dir>', 'where sessions are kept (default: $ORCHESTRATOR_WORKSPACE, else <dir>/.orchestrator)')
    .option('--port <n>', 'HTTP port of the dashboard and API (0 = any free port)', integer('--port', 0, 65535), 0)
    .option('--host <host>', 'address to bind the HTTP server to', '127.0.0.1')
    .option('--no-server', 'do not start the dashboard/API server (a blocker then ends the run with exit code 2)')
    .option('--json', 'print every event as JSON lines on stdout instead of the live view')
    .addOption(new Option('--inspect <mode>', 'also attach an inspector').choices(['stately']))
    .action(async (task: string | undefined, opts: { dir: string; spec?: string; agents?: string; workspace?: string; server: boolean; json?: boolean }) => {
      const targetDir = resolveTargetDir(opts.dir);
      const spec = buildSpec({ ...(task ? { task } : {}), ...(opts.spec ? { specFile: opts.spec } : {}), ...(opts.agents ? { agents: opts.agents } : {}) });
      const manager = new SessionManager({ workspace: resolveWorkspace(opts.workspace, targetDir) });
      const runtime = await manager.create(spec, targetDir);
      process.exitCode = await followSession(runtime, { json: opts.json === true, noServer: true, out: process.stdout, err: process.stderr, style });
    });

  program
    .command('demo')
    .description('run the default trio (gemini architect, claude implementer, codex verifier) with peer reviews on a bundled example project, with recorded agents: no API key needed')
    .option('--workspace <dir>', 'where the session is kept (default: .orchestrator in the demo project copy)')
    .option('--speed <factor>', 'pace of the recorded agents (0 = as fast as possible, 2 = twice as slow)', parseFloat, 1)
    .option('--port <n>', 'HTTP port of the dashboard and API (0 = any free port)', integer('--port', 0, 65535), 0)
    .option('--no-server', 'do not start the dashboard/API server')
    .option('--json', 'print every event as JSON lines on stdout instead of the live view')
    .action(async (opts: { workspace?: string; speed: number; server: boolean; json?: boolean }) => {
      if (!Number.isFinite(opts.speed) || opts.speed < 0) throw new UsageError('--speed must be a number >= 0');
      const demo = await prepareDemo({ ...(opts.workspace ? { workspace: opts.workspace } : {}), speed: opts.speed });
      const info = opts.json ? process.stderr : process.stdout;
      info.write(`${style.bold('orchestrate demo')}: recorded agents on a copy of the example project in ${demo.projectDir}\n`);
      if (demo.gitNote) info.write(`${style.yellow('note:')} ${demo.gitNote}\n`);
      const runtime = await demo.manager.create(demoSpec(), demo.projectDir);
      process.exitCode = await followSession(runtime, { json: opts.json === true, noServer: true, out: process.stdout, err: process.stderr, style });
      info.write(`Project after the run: ${demo.projectDir} (try: cd ${demo.projectDir} && git diff && npm test)\n`);
    });

  program
    .command('resume')
    .description('restore an unfinished session: re-attach to live agents, collect those that ended, relaunch the rest')
    .argument('<session>', 'session id (orch_YYYYMMDD_HHMMSS_xxxx)')
    .option('--workspace <dir>', 'where sessions are kept')
    .option('--no-server', 'do not start the dashboard/API server')
    .option('--json', 'print every event as JSON lines')
    .action(async (sessionId: string, opts: { workspace?: string; server: boolean; json?: boolean }) => {
      const manager = new SessionManager({ workspace: resolveWorkspace(opts.workspace, undefined) });
      const runtime = manager.resume(sessionId);
      process.exitCode = await followSession(runtime, { json: opts.json === true, noServer: true, out: process.stdout, err: process.stderr, style });
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

  program
    .command('parse')
    .description('normalize an agent transcript (stdout JSONL) into events; with --exit-code, classify the run')
    .requiredOption('--agent <agent>', `the CLI that printed it (${knownAgents().join(', ')})`)
    .argument('[file]', 'transcript file, or - for stdin', '-')
    .option('--exit-code <n>', 'exit code of the run: adds a last line, {"type":"exit"} or {"type":"failure","signal":...}', integer('--exit-code', 0, 255))
    .option('--stderr <file>', 'the run\'s stderr, for the classification')
    .action(async (file: string, opts: { agent: string; exitCode?: number; stderr?: string }) => {
      await parseCommand({ agent: opts.agent, file, ...(opts.exitCode !== undefined ? { exitCode: opts.exitCode } : {}), ...(opts.stderr ? { stderrFile: opts.stderr } : {}), out: process.stdout });
    });

  return program;
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
    if (error instanceof UsageError || error instanceof SessionNotFoundError) {
      process.stderr.write(`${style.red('error:')} ${error.message}\n`);
      process.exitCode = EXIT_USAGE;
      return;
    }
    if (error instanceof Error && /Unknown agent/.test(error.message)) {
      process.stderr.write(`${style.red('error:')} ${error.message}\n`);
      process.exitCode = EXIT_USAGE;
      return;
    }
    throw error;
  }
}

await main();
