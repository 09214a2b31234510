/**
 * The commands that run a session in this process and follow it: `run`, `demo`, `resume`, and `resolve` of a
 * session nobody runs (which restores it, answers, and runs it on).
 */
import type { Isolation } from '../domain/isolation.js';
import { UsageError } from '../domain/usage-error.js';
import type { SessionManager } from '../runtime/session-manager.js';
import type { ServerFlags } from './actions.js';
import type { Managers } from './managers.js';
import type { Style } from './style.js';
import { resolveWorkspace } from './workspace.js';

const following = () => import('./follow.js');
const serving = () => import('./serve.js');
const controlling = () => import('./control.js');

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

export function createSessionCommands(style: Style, { managerFor }: Pick<Managers, 'managerFor'>) {
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
    else {
      const note =
        `Base: ${isolation.base.summary}; each worker works on its own branch (orch/<session>/<worker>); ` +
        'your checkout is not touched until you apply.';
      out.write(`${style.dim(note)}\n`);
    }
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
      `The project copy in ${projectDir} is untouched: each agent worked on its own branch, ` +
        `and the result is ${style.bold(ws.result.branch)}:`,
      stat
        .trimEnd()
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n'),
      `Apply it to the copy and run its tests: ` +
        `${style.bold(`cd ${projectDir} && ${self} apply ${sessionId} && npm test`)}`,
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
      { env: setup.env, defaultMode: 'exec' },
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
      const again =
        `${self} serve --workspace ${setup.workspace}   ` +
        `(or: ${self} logs ${runtime.sessionId} --workspace ${setup.workspace})`;
      const browse = server ? 'The dashboard closed with the demo. Browse the session again' : 'Browse the session';
      info.write(style.dim(`${browse}: ${again}\n`));
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

  return { run, demo, resume, resolve };
}
