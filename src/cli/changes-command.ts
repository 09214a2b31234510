/**
 * `orchestrate diff | apply | discard | gc`: a session's changes, from its branches in the user's repository.
 * `apply` and `discard` of a session a server runs go through that server (it records them in the session's log);
 * of a session nobody runs, they are done here.
 */
import { resolve } from 'node:path';
import { UsageError } from '../domain/usage-error.js';
import type { SessionManager } from '../runtime/session-manager.js';
import {
  applySession,
  collectGarbage,
  discardSession,
  sessionDiff,
  type ApplyResult,
} from '../runtime/session-changes.js';
import { gitBytes } from '../workspace/git.js';
import { callServer, findRunner } from './control.js';
import type { Style } from './style.js';

export interface Output {
  out: NodeJS.WriteStream;
  err: NodeJS.WriteStream;
  style: Style;
}

/** `orchestrate diff SID [WORKER] [--stat]`: colored on a terminal; piped, a plain diff `git apply` takes. */
export async function diffCommand(
  manager: SessionManager,
  sessionId: string,
  worker: string | undefined,
  options: { stat: boolean } & Output,
): Promise<void> {
  const tty = options.out.isTTY === true && !process.env.NO_COLOR;
  const diff = await sessionDiff(manager, sessionId, { worker, unified: !options.stat, binary: !tty });
  if (diff.note) options.err.write(`${options.style.dim(diff.note)}\n`);
  if (diff.ranges.length === 0) {
    if (diff.text && diff.text.length > 0) options.out.write(diff.text);
    else options.err.write(`${options.style.dim('no changes')}\n`);
    return;
  }
  const repo = diff.repo as string;
  for (const range of diff.ranges) {
    if (diff.ranges.length > 1)
      options.out.write(
        `${options.style.bold(`${range.branch}`)} ` +
          `${options.style.dim(`${range.from.slice(0, 12)}..${range.to.slice(0, 12)}`)}\n`,
      );
    if (options.stat) {
      const width = Math.max(40, Math.min(options.out.columns ?? 80, 120));
      options.out.write(
        await gitBytes(repo, [
          'diff',
          tty ? '--color=always' : '--no-color',
          '-M',
          `--stat=${width}`,
          range.from,
          range.to,
        ]),
      );
    } else if (tty) {
      options.out.write(
        await gitBytes(repo, ['diff', '--color=always', '--no-ext-diff', '--no-textconv', '-M', range.from, range.to]),
      );
    }
  }
  if (!options.stat && !tty && diff.text) options.out.write(diff.text);
}

/** `orchestrate apply SID [--worker W] [--merge]`: exit 0 applied, 2 with conflicts to resolve. */
export async function applyCommand(
  manager: SessionManager,
  sessionId: string,
  options: { worker?: string; merge: boolean } & Output,
): Promise<number> {
  const runner = findRunner(manager.workspace, sessionId);
  let result: Pick<ApplyResult, 'summary' | 'conflicts' | 'backup' | 'files'>;
  if (runner.kind === 'server') {
    result = (await callServer(runner.server, 'POST', `/api/v1/${sessionId}/apply`, {
      ...(options.worker ? { worker: options.worker } : {}),
      merge: options.merge,
      by: 'cli',
    })) as typeof result;
  } else if (runner.kind === 'process') {
    throw new UsageError(
      `session ${sessionId} is run by process ${runner.holder.pid} without a server: ` +
        `apply it once that run ends (or run it with a server)`,
    );
  } else {
    result = await applySession(manager, sessionId, { worker: options.worker, merge: options.merge, by: 'cli' });
  }
  return printApplied(result, sessionId, options);
}

/** What an apply changed, file by file, for a person; exit 0, or 2 with conflicts to resolve. */
export function printApplied(
  result: Pick<ApplyResult, 'summary' | 'conflicts' | 'backup' | 'files'>,
  sessionId: string,
  options: Output,
): number {
  const { style: s } = options;
  options.out.write(`${result.conflicts.length ? s.yellow(result.summary) : result.summary}\n`);
  for (const file of result.files.slice(0, 50)) {
    const mark = result.conflicts.includes(file.path)
      ? s.red('C')
      : file.status === 'added'
        ? s.green('A')
        : file.status === 'deleted'
          ? s.red('D')
          : 'M';
    options.out.write(`  ${mark} ${file.path} ${s.dim(`+${file.additions} -${file.deletions}`)}\n`);
  }
  if (result.files.length > 50) options.out.write(s.dim(`  … and ${result.files.length - 50} more\n`));
  if (result.backup)
    options.out.write(
      s.dim(
        `Your checkout as it was before: commit ${result.backup.slice(0, 12)} (refs/orch/${sessionId}/before-apply)\n`,
      ),
    );
  return result.conflicts.length > 0 ? 2 : 0;
}

/** `orchestrate discard SID [--force]`. */
export async function discardCommand(
  manager: SessionManager,
  sessionId: string,
  options: { force: boolean } & Output,
): Promise<void> {
  const runner = findRunner(manager.workspace, sessionId);
  let summary: string;
  if (runner.kind === 'server') {
    summary = (
      (await callServer(runner.server, 'POST', `/api/v1/${sessionId}/discard`, {
        force: options.force,
        by: 'cli',
      })) as { summary: string }
    ).summary;
  } else if (runner.kind === 'process') {
    throw new UsageError(
      `session ${sessionId} is run by process ${runner.holder.pid}: ` +
        `stop it first (\`orchestrate stop ${sessionId}\`), then discard it`,
    );
  } else {
    summary = (await discardSession(manager, sessionId, { force: options.force, by: 'cli' })).summary;
  }
  options.out.write(`${summary}\n`);
}

/**
 * `orchestrate gc [--force] [-C DIR]`: checkouts and refs of discarded sessions, or of sessions whose folder is gone.
 */
export async function gcCommand(workspace: string, options: { force: boolean; dir: string } & Output): Promise<void> {
  const { removed, kept } = await collectGarbage(workspace, { force: options.force, repos: [resolve(options.dir)] });
  const { style: s } = options;
  for (const l of removed) {
    const what = [l.checkouts ? 'checkouts' : '', l.refs.length ? `${l.refs.length} refs in ${l.repo}` : ''];
    options.out.write(
      `removed ${l.sessionId} (${l.owner === 'gone' ? 'its session folder is gone' : 'discarded'}): ` +
        `${what.filter(Boolean).join(', ')}\n`,
    );
  }
  for (const l of kept) {
    options.out.write(
      `${s.yellow('kept')} ${l.sessionId}: its branches hold work that was never applied ` +
        `(${l.repo}); \`orchestrate gc --force\` removes it\n`,
    );
  }
  if (removed.length === 0 && kept.length === 0)
    options.out.write('nothing to collect: every checkout and branch belongs to a session of this workspace\n');
}
