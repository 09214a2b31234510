/**
 * The harness of the orchestrate-level tests: `node dist/cli.js run ... --no-server --json` as a real
 * process, with the pinned CLIs (ORCHESTRATOR_*_BIN), homes and config pointing them at the fake server,
 * a git target and a workspace outside it. When we are root, the orchestrator runs as the unprivileged
 * test user (so claude may bypass permissions), except where a test asks for root on purpose.
 *
 * Every process of a run carries a marker variable; afterwards any process still carrying it (an agent
 * the orchestrator left behind) is reported and killed, by pid. A run whose agents a later `resume` takes up
 * (`keepAgents`) leaves them alive at its end: the resumed run's end collects them (it carries the same marker),
 * and `killKeptAgents` whatever a test that failed before it left.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OrchestratorEventSchema, type OrchestratorEvent } from '../../../src/domain/events.js';
import type { SessionSpecInput } from '../../../src/domain/spec.js';
import type { FakeModelServer } from '../fake-model-server.js';
import { binEnv, makeRunDir, prepareHome, removeRunDir, type AgentSettings } from './agent-env.js';
import { initGitRepo } from './direct.js';
import { chownTree, type TestUser } from './test-user.js';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
/** The orchestrator under test: this checkout's build, or another build's cli.js (ORCHESTRATOR_REAL_AGENTS_CLI). */
export const CLI = process.env.ORCHESTRATOR_REAL_AGENTS_CLI?.trim() || join(REPO_ROOT, 'dist', 'cli.js');

export interface OrchestrateOptions {
  task: string;
  spec?: SessionSpecInput;
  agents?: string[];
  /** null: run as ourselves (root, on purpose); else the user to run as. */
  user: TestUser | null;
  settings?: AgentSettings;
  env?: Record<string, string>;
  timeoutMs?: number;
  /**
   * The run's agents outlive its end, for a `resume` of the same session: its `leftovers` are reported, not killed.
   * Decided at the start, never by how the run happens to end: a `--no-server` run ends by itself (exit 2) once the
   * session waits for a person, as soon as it has said so, before or after a test's kill -9.
   */
  keepAgents?: boolean;
}

export interface OrchestrateRun {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  events: OrchestratorEvent[];
  /** stdout lines that are not valid events (must be none). */
  badLines: string[];
  stdout: string;
  stderr: string;
  dir: string;
  target: string;
  workspace: string;
  argv: string[];
  /** Processes of this run still alive after the orchestrator exited (killed since, unless `keepAgents`). */
  leftovers: string[];
  durationMs: number;
}

export function cliBuilt(): boolean {
  return existsSync(CLI);
}

/**
 * The unprivileged user must be able to run this checkout's build (a checkout under a closed home folder is
 * not): say so plainly instead of letting every scenario fail with EACCES.
 */
export function assertUserCanRunCli(user: TestUser | null): void {
  if (!user) return;
  const probe = spawnSync(
    process.execPath,
    ['-e', `require('node:fs').accessSync(${JSON.stringify(CLI)}, require('node:fs').constants.R_OK)`],
    {
      uid: user.uid,
      gid: user.gid,
      encoding: 'utf8',
    },
  );
  if (probe.status !== 0) {
    throw new Error(
      `The unprivileged test user ${user.name} cannot read ${CLI} (${probe.stderr.trim().split('\n').pop()}). ` +
        'Run the suite from a checkout other users can read (chmod o+rx on its parent folders), or as a non-root user.',
    );
  }
}

let runs = 0;

export async function runOrchestrate(server: FakeModelServer, options: OrchestrateOptions): Promise<OrchestrateRun> {
  return startOrchestrate(server, options).finished;
}

/** `orchestrate` running in the background, for a test that acts on it while it runs. */
export interface StartedOrchestrate {
  /** The orchestrator's pid. */
  pid: number | undefined;
  dir: string;
  target: string;
  workspace: string;
  /** Its events so far (stdout with `--json`). */
  events(): OrchestratorEvent[];
  /** `node dist/cli.js ARGS --workspace W` as the same user, with the same environment: its exit code and output. */
  cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /**
   * The same session continued: `orchestrate resume SID --json` (with a server), as the same user, with the same
   * marker: its end collects the agents it took up.
   */
  resume(sessionId: string, extra?: string[]): StartedOrchestrate;
  /** SIGKILL the orchestrator alone (what becomes of its agents is `keepAgents`'s to say). */
  kill9(): void;
  /** Resolves when it has exited (and its leftovers are killed unless `keepAgents`). */
  finished: Promise<OrchestrateRun>;
}

interface RunContext {
  dir: string;
  target: string;
  workspace: string;
  env: Record<string, string | undefined>;
  marker: string;
  user: TestUser | null;
  timeoutMs: number;
}

/** The markers of the runs started with `keepAgents`, for killKeptAgents. */
const keptMarkers = new Set<string>();

/** Kill (SIGKILL, by pid) what runs started with `keepAgents` left alive: for an afterAll, after a failed resume. */
export function killKeptAgents(): string[] {
  const killed = [...keptMarkers].flatMap(killMarked);
  keptMarkers.clear();
  return killed;
}

/**
 * `orchestrate run` in the background; `extraArgs` replace `--no-server` (e.g. `['--port', '0']` for a run whose
 * server `orchestrate resolve` and `say` reach).
 */
export function startOrchestrate(
  server: FakeModelServer,
  options: OrchestrateOptions & { serve?: boolean },
): StartedOrchestrate {
  const dir = makeRunDir('orchestrate');
  const target = join(dir, 'target');
  const workspace = join(dir, 'workspace');
  mkdirSync(target);
  mkdirSync(workspace);
  initGitRepo(target);
  const marker = `${process.pid}-${++runs}-${Date.now()}`;
  const env = {
    ...prepareHome(join(dir, 'home'), join(dir, 'tmp'), server, options.settings),
    ...binEnv(),
    META_ORCH_REAL_AGENTS_RUN: marker,
    ...options.env,
  };
  const argv = [CLI, 'run', options.task, '-C', target, '--workspace', workspace, '--json'];
  argv.push(...(options.serve ? ['--port', '0'] : ['--no-server']));
  if (options.spec) {
    const specFile = join(dir, 'spec.json');
    writeFileSync(specFile, JSON.stringify(options.spec, null, 2));
    argv.push('--spec', specFile);
  }
  if (options.agents) argv.push('--agents', options.agents.join(','));
  chownTree(dir, options.user);
  const ctx: RunContext = {
    dir,
    target,
    workspace,
    env,
    marker,
    user: options.user,
    timeoutMs: options.timeoutMs ?? 150_000,
  };
  if (options.keepAgents) keptMarkers.add(marker);
  return spawnOrchestrate(ctx, argv, options.keepAgents === true);
}

function spawnOrchestrate(ctx: RunContext, argv: string[], keepAgents = false): StartedOrchestrate {
  const started = Date.now();
  const asUser = ctx.user ? { uid: ctx.user.uid, gid: ctx.user.gid } : {};
  const child = spawn(process.execPath, argv, {
    cwd: ctx.dir,
    env: ctx.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...asUser,
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, ctx.timeoutMs);
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done, fail) => {
    child.once('error', fail);
    child.once('close', (c, s) => done({ code: c, signal: s }));
  });
  const finished = closed.then(({ code, signal }) => {
    clearTimeout(timer);
    // Kept: alive on purpose, for the resume (whose end collects them). Never decided by a kill -9 the test makes
    // once it has seen what it waits for: the run may have ended by itself just before (a `--no-server` run that
    // waits for a person), and its agents must not die of that timing.
    const leftovers = keepAgents ? findMarked(ctx.marker) : killMarked(ctx.marker);
    const stdout = Buffer.concat(out).toString('utf8');
    const { events, badLines } = parseEvents(stdout);
    return {
      exitCode: code,
      signal,
      timedOut,
      events,
      badLines,
      stdout,
      stderr: Buffer.concat(err).toString('utf8'),
      dir: ctx.dir,
      target: ctx.target,
      workspace: ctx.workspace,
      argv,
      leftovers,
      durationMs: Date.now() - started,
    };
  });
  return {
    pid: child.pid,
    dir: ctx.dir,
    target: ctx.target,
    workspace: ctx.workspace,
    events: () => parseEvents(Buffer.concat(out).toString('utf8')).events,
    cli: (args) =>
      new Promise((resolveCli, fail) => {
        const cli = spawn(process.execPath, [CLI, ...args, '--workspace', ctx.workspace], {
          cwd: ctx.dir,
          env: ctx.env,
          stdio: ['ignore', 'pipe', 'pipe'],
          ...asUser,
        });
        let stdout = '';
        let stderr = '';
        cli.stdout.on('data', (d) => (stdout += d));
        cli.stderr.on('data', (d) => (stderr += d));
        cli.once('error', fail);
        cli.once('close', (code) => resolveCli({ code, stdout, stderr }));
      }),
    resume: (sessionId, extra = ['--port', '0']) =>
      spawnOrchestrate(ctx, [CLI, 'resume', sessionId, '--workspace', ctx.workspace, '--json', ...extra]),
    kill9: () => {
      child.kill('SIGKILL');
    },
    finished,
  };
}

function parseEvents(stdout: string): { events: OrchestratorEvent[]; badLines: string[] } {
  const events: OrchestratorEvent[] = [];
  const badLines: string[] = [];
  const lines = stdout.split('\n');
  // The last piece may be a line still being written.
  if (!stdout.endsWith('\n')) lines.pop();
  for (const line of lines) {
    if (line.trim() === '') continue;
    try {
      const parsed = OrchestratorEventSchema.safeParse(JSON.parse(line));
      if (parsed.success) events.push(parsed.data);
      else badLines.push(`${line.slice(0, 300)} (${parsed.error.issues[0]?.message ?? 'invalid'})`);
    } catch {
      badLines.push(line.slice(0, 300));
    }
  }
  return { events, badLines };
}

/** Kill (SIGKILL, by pid) every process whose environment carries this run's marker; describe them. */
function killMarked(marker: string): string[] {
  return findMarked(marker, 'SIGKILL');
}

/** Every live process whose environment carries this run's marker (zombies have none), described; `signal` each. */
function findMarked(marker: string, signal?: NodeJS.Signals): string[] {
  const needle = Buffer.from(`META_ORCH_REAL_AGENTS_RUN=${marker}\0`);
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${pid}/environ`).includes(needle)) continue;
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      found.push(`${pid} ${cmd.slice(0, 200)}`);
      if (signal) process.kill(pid, signal);
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

export function removeOrchestrateRun(run: OrchestrateRun): void {
  removeRunDir(run.dir);
}

// --- reading the events ---------------------------------------------------------------------------------

export function ofType<T extends OrchestratorEvent['type']>(
  events: OrchestratorEvent[],
  type: T,
): Extract<OrchestratorEvent, { type: T }>[] {
  return events.filter((e): e is Extract<OrchestratorEvent, { type: T }> => e.type === type);
}

/** The last state each worker reached. */
export function finalWorkerStates(events: OrchestratorEvent[]): Record<string, string> {
  const states: Record<string, string> = {};
  for (const e of ofType(events, 'state')) if (e.machine === 'worker') states[e.id] = e.to;
  return states;
}

export function finalSessionState(events: OrchestratorEvent[]): string | undefined {
  return ofType(events, 'state')
    .filter((e) => e.machine === 'session')
    .pop()?.to;
}

/** A readable account of a run for assertion messages: exit, summary, the non-agent events, agent stderr tails. */
export function describeOrchestrate(run: OrchestrateRun): string {
  const lines = [
    `orchestrate exit=${run.exitCode} signal=${run.signal} timedOut=${run.timedOut} ${run.durationMs}ms`,
    `argv: ${JSON.stringify(run.argv.slice(1))}`,
    ...(run.badLines.length ? ['stdout lines that are not events:', ...run.badLines.map((l) => `  ${l}`)] : []),
    ...(run.leftovers.length ? ['processes left behind (killed):', ...run.leftovers.map((l) => `  ${l}`)] : []),
    'events (agent output summarised):',
  ];
  for (const e of run.events) {
    if (e.type === 'agent') {
      if (['init', 'file_change', 'result', 'error'].includes(e.kind))
        lines.push(`  ${e.seq} agent ${e.workerId} ${e.kind} ${JSON.stringify(e).slice(0, 240)}`);
    } else if (e.type === 'state') {
      lines.push(`  ${e.seq} state ${e.machine} ${e.id}: ${e.from} -> ${e.to} (${e.cause})`);
    } else {
      lines.push(`  ${e.seq} ${e.type} ${JSON.stringify(e).slice(0, 400)}`);
    }
  }
  lines.push(
    'stderr:',
    ...run.stderr
      .split('\n')
      .slice(-30)
      .map((l) => `  ${l}`),
  );
  const sessions = join(run.workspace, 'sessions');
  if (existsSync(sessions)) {
    for (const sid of readdirSync(sessions)) {
      const agents = join(sessions, sid, 'agents');
      if (!existsSync(agents)) continue;
      for (const file of readdirSync(agents).filter((f) => f.endsWith('.stderr.log'))) {
        const tail = readFileSync(join(agents, file), 'utf8')
          .split('\n')
          .filter((l) => l.trim() && !l.trim().startsWith('at '))
          .slice(-6);
        if (tail.length) lines.push(`${file}:`, ...tail.map((l) => `  ${l.slice(0, 300)}`));
      }
    }
  }
  return lines.join('\n');
}
