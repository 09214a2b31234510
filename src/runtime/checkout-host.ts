/**
 * The checkouts of one session around its agent runs (the `checkouts` of the process host): where each agent
 * runs, its checkout made before its first launch (copied and linked files, setup commands), what it left
 * committed after each attempt, and every step in the log as a `workspace` event.
 */
import { cpSync, existsSync, lstatSync, mkdirSync, appendFileSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import type { AgentProcessInput, CheckoutHost } from '../actors/agent-process.js';
import { terminateGroup } from '../actors/process-group.js';
import type { FailureSignal, NewEvent } from '../domain/events.js';
import type { WorkspaceSettings } from '../domain/spec.js';
import type { SessionCheckouts, PrepareOutcome } from '../workspace/checkouts.js';
import type { ChangeStat } from '../domain/isolation.js';

/** Runs a setup command (argv) in a checkout, confined like the agent when there is a sandbox. */
export type CommandWrapper = (
  command: { file: string; args: string[]; cwd: string },
  access: { writable: readonly string[] },
) => { file: string; args: string[] };

export interface CheckoutHostOptions {
  checkouts: SessionCheckouts;
  task: string;
  /** The user's target directory, where copied and linked files come from. */
  targetDir: string;
  settings: WorkspaceSettings | undefined;
  publish: (events: NewEvent[]) => void;
  /** The sandbox for setup commands (src/safety); none: they run as they are. */
  wrapCommand?: CommandWrapper;
  /** Also writable for setup commands: package-manager caches and the spec's allowed roots. */
  setupWritable?: readonly string[];
}

/** Setup output reaches the log in batches: at most this many lines, or this often. */
const OUTPUT_BATCH_LINES = 50;
const OUTPUT_BATCH_MS = 500;
/** Kept of a setup command's output in its final event. */
const OUTPUT_TAIL_CHARS = 4000;

export function createCheckoutHost(options: CheckoutHostOptions): CheckoutHost {
  const { checkouts } = options;
  const nameOf = (input: AgentProcessInput) => input.workerId;
  const event = (
    fields: Omit<Extract<NewEvent, { type: 'workspace' }>, 'type' | 'source'>,
    workerId?: string,
  ): NewEvent => ({
    type: 'workspace',
    source: workerId ? { kind: 'worker', id: workerId } : { kind: 'session', id: checkouts.sessionId },
    ...(workerId ? { workerId } : {}),
    ...fields,
  });

  async function setup(workerId: string, cwd: string, signal: AbortSignal | undefined): Promise<void> {
    const settings = options.settings;
    if (!settings) return;
    const exclude = join(checkouts.dir(workerId), '.git', 'info', 'exclude');
    const bring = async (path: string, how: 'copy' | 'symlink') => {
      const from = join(options.targetDir, path);
      const to = join(cwd, path);
      if (!existsSync(from)) {
        options.publish([
          event(
            { action: 'setup', detail: `workspace.${how}: ${path} is not in ${options.targetDir}; skipped` },
            workerId,
          ),
        ]);
        return;
      }
      if (existsSync(to) || isLink(to)) {
        options.publish([
          event(
            {
              action: 'setup',
              detail:
                `workspace.${how}: ${path} is part of the project in the checkout; ` +
                `left as it is (copying over it would commit it)`,
            },
            workerId,
          ),
        ]);
        return;
      }
      mkdirSync(dirname(to), { recursive: true });
      if (how === 'copy') cpSync(from, to, { recursive: true, dereference: false, preserveTimestamps: true });
      else symlinkSync(from, to);
      appendFileSync(exclude, `/${checkouts.repo.prefix}${path.replace(/\/+$/, '')}\n`);
      options.publish([
        event(
          {
            action: 'setup',
            detail:
              `workspace.${how}: ${path} ${how === 'copy' ? 'copied' : 'linked'} ` +
              'from the target (never committed)',
          },
          workerId,
        ),
      ]);
    };
    for (const path of settings.copy) await bring(path, 'copy');
    for (const path of settings.symlink) await bring(path, 'symlink');
    for (const argv of settings.setup)
      await runSetupCommand(workerId, cwd, argv, settings.setupTimeoutSec * 1000, signal);
  }

  async function runSetupCommand(
    workerId: string,
    cwd: string,
    argv: string[],
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    if (signal?.aborted) throw new SetupFailed(`${argv.join(' ')} was not run: the worker was stopped`);
    const [file, ...args] = argv as [string, ...string[]];
    const wrapped = options.wrapCommand
      ? options.wrapCommand(
          { file, args, cwd },
          { writable: [checkouts.dir(workerId), ...(options.setupWritable ?? [])] },
        )
      : { file, args };
    options.publish([
      event(
        { action: 'setup', command: argv, detail: `running ${argv.join(' ')} in the checkout of ${workerId}` },
        workerId,
      ),
    ]);
    let pending: string[] = [];
    let tail = '';
    let partial = '';
    const flush = () => {
      if (pending.length === 0) return;
      options.publish([
        event(
          {
            action: 'setup',
            command: argv,
            output: pending.join('\n'),
            detail: `${argv[0]}: ${pending.length} ${pending.length === 1 ? 'line' : 'lines'} of output`,
          },
          workerId,
        ),
      ]);
      pending = [];
    };
    const timer = setInterval(flush, OUTPUT_BATCH_MS);
    timer.unref();
    // Its own process group, ended as a whole (what it started too) on timeout or when the worker is stopped.
    const child = execa(wrapped.file, wrapped.args, {
      cwd,
      reject: false,
      all: true,
      stdin: 'ignore',
      buffer: false,
      detached: true,
      cleanup: false,
    });
    let ended: 'timed out' | 'stopped' | null = null;
    const end = (why: 'timed out' | 'stopped') => {
      if (ended || child.pid === undefined) return;
      ended = why;
      void terminateGroup(child.pid, 2_000);
    };
    const deadline = setTimeout(() => end('timed out'), timeoutMs);
    deadline.unref();
    const onAbort = () => end('stopped');
    signal?.addEventListener('abort', onAbort);
    child.all?.setEncoding('utf8');
    child.all?.on('data', (chunk: string) => {
      tail = (tail + chunk).slice(-OUTPUT_TAIL_CHARS);
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      pending.push(...lines);
      if (pending.length >= OUTPUT_BATCH_LINES) flush();
    });
    const result = await child;
    clearInterval(timer);
    clearTimeout(deadline);
    signal?.removeEventListener('abort', onAbort);
    if (partial) pending.push(partial);
    flush();
    const code = typeof result.exitCode === 'number' ? result.exitCode : null;
    const ok = code === 0;
    const why =
      ended === 'timed out'
        ? `timed out after ${Math.round(timeoutMs / 1000)}s (workspace.setupTimeoutSec)`
        : ended === 'stopped'
          ? 'was stopped with the worker'
          : code === null
            ? `ended by ${result.signal ?? 'a signal'}`
            : result.failed && result.exitCode === undefined
              ? `could not start: ${result.shortMessage}`
              : `exited ${code}`;
    options.publish([
      event(
        {
          action: 'setup',
          command: argv,
          exitCode: code,
          output: tail,
          detail: `${argv.join(' ')} ${ok ? 'done' : why}`,
        },
        workerId,
      ),
    ]);
    if (!ok) {
      const last = tail.trim().split('\n').filter(Boolean).pop() ?? '';
      throw new SetupFailed(`${argv.join(' ')} ${why}${last ? `: ${last.slice(0, 300)}` : ''}`);
    }
  }

  function described(outcome: Extract<PrepareOutcome, { status: 'ready' }>, input: AgentProcessInput): NewEvent {
    const request = input.checkout;
    const from =
      request?.kind === 'worker' && request.from.length > 0
        ? `${request.from.join(' + ')}${request.keepConflicts ? ' (their conflicts left to resolve)' : ''}`
        : 'the session base';
    return event(
      {
        action: 'checkout',
        branch: checkouts.branch(nameOf(input)),
        commit: outcome.start,
        detail: `checkout ${outcome.cwd} on ${checkouts.branch(nameOf(input))}, from ${from}`,
      },
      nameOf(input),
    );
  }

  return {
    locate(input) {
      if (!input.checkout) return input;
      return { ...input, launch: { ...input.launch, targetDir: checkouts.cwd(nameOf(input)) } };
    },

    async prepare(input, signal) {
      const request = input.checkout;
      const name = nameOf(input);
      if (!request) return null;
      try {
        if (request.kind === 'reviewer') {
          const existed = checkouts.exists(name);
          const cwd = await checkouts.prepareReviewer(name, request.target);
          if (!existed)
            options.publish([
              event(
                {
                  action: 'checkout',
                  commit: (await checkouts.head(request.target)) ?? checkouts.base,
                  detail: `read-only checkout ${cwd} of ${checkouts.branch(request.target)} for the review`,
                },
                name,
              ),
            ]);
          return null;
        }
        const outcome = await checkouts.prepareWorker(name, request.from, {
          keepConflicts: request.keepConflicts,
          setup: (cwd) => setup(name, cwd, signal),
        });
        if (outcome.status === 'ready') {
          if (outcome.created) options.publish([described(outcome, input)]);
          return null;
        }
        options.publish([event({ action: 'conflict', files: outcome.files, detail: outcome.message }, name)]);
        return {
          failure: conflictFailure(outcome.message, {
            files: outcome.files,
            dir: outcome.cwd,
            sources: outcome.sources,
          }),
        };
      } catch (error) {
        if (error instanceof SetupFailed) return { failure: { kind: 'setup_failed', message: error.message } };
        return { failure: { kind: 'crashed', message: `its checkout could not be made: ${(error as Error).message}` } };
      }
    },

    async finish(input) {
      const request = input.checkout;
      const name = nameOf(input);
      if (request?.kind !== 'worker') return { change: null };
      const subject = `${name} (${input.agent}), attempt ${input.attempt}: ${firstLine(options.task)}`;
      const message =
        `${subject}\n\nSession: ${checkouts.sessionId}\n` +
        `Worker: ${name}\nAgent: ${input.agent}\nAttempt: ${input.attempt}\n`;
      const outcome = await checkouts.commitWork(name, message, {
        name: `${input.agent} (${name})`,
        email: `${input.agent}@orchestrate.localhost`,
      });
      if (outcome === null) return { change: null };
      if ('unresolved' in outcome) {
        const text = `${name} left conflicts unresolved in ${outcome.unresolved.join(', ')}`;
        options.publish([event({ action: 'conflict', files: outcome.unresolved, detail: text }, name)]);
        const change = await checkouts.changeOf(name);
        return {
          change,
          failure: conflictFailure(text, {
            files: outcome.unresolved,
            dir: checkouts.cwd(name),
            sources: request.from,
          }),
        };
      }
      if (outcome.commit) {
        options.publish([
          event(
            {
              action: 'commit',
              branch: outcome.change.branch,
              commit: outcome.commit,
              change: counts(outcome.change),
              detail:
                `committed what ${input.agent} left after attempt ${input.attempt}: ` +
                `${describeChange(outcome.change)} on ${outcome.change.branch}`,
            },
            name,
          ),
        ]);
      }
      return { change: outcome.change };
    },
  };
}

class SetupFailed extends Error {}

function conflictFailure(
  message: string,
  conflict: { files: string[]; dir: string; sources: string[] },
): FailureSignal {
  return { kind: 'merge_conflict', message, conflict };
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

function firstLine(text: string): string {
  const line = text.trim().split('\n')[0] ?? '';
  return line.length > 72 ? `${line.slice(0, 71)}…` : line;
}

export function counts(change: ChangeStat): { files: number; additions: number; deletions: number } {
  return { files: change.files, additions: change.additions, deletions: change.deletions };
}

export function describeChange(change: Pick<ChangeStat, 'files' | 'additions' | 'deletions'>): string {
  return `${change.files} ${change.files === 1 ? 'file' : 'files'}, +${change.additions} -${change.deletions}`;
}

/**
 * The unified diff a reviewer reads: its target's own change, from where it started to what its checkout holds
 * (start..head of its branch once it ended; its work in progress during a review while it runs).
 */
export async function targetDiff(
  checkouts: SessionCheckouts,
  target: string,
): Promise<{ diff: string; against: string }> {
  const start = await checkouts.start(target);
  const against =
    `where ${target} started, commit ${(start ?? checkouts.base).slice(0, 12)} ` +
    `(its branch is ${checkouts.branch(target)})`;
  return { diff: start ? await checkouts.workingDiff(target) : '', against };
}
