/** `orchestrate status [SID] [--json]`: sessions of the workspace, or one session in detail. */
import { UsageError } from '../domain/usage-error.js';
import type { SessionSummary, SessionView } from '../runtime/view.js';
import { SESSION_ID_PATTERN } from '../store/layout.js';
import { formatDuration, formatLimits, formatUsage, progressBar, stateColor } from './live-view.js';
import type { Style } from './style.js';

/** What a listing reads: the sessions of an existing workspace (runtime/summary.ts listingOnDisk). */
export interface SessionListing {
  workspace: string;
  list(): SessionSummary[];
}

/** What the view of one session reads as well (runtime/view.ts sessionsOnDisk, or a SessionManager). */
export interface StatusSource extends SessionListing {
  view(sessionId: string): SessionView;
}

export interface StatusOptions {
  json: boolean;
  out: NodeJS.WritableStream;
  style: Style;
}

/**
 * `manager` is null when the workspace folder does not exist (status creates nothing): no sessions then, and a
 * session id is a usage error. A listing (no session id) needs only a SessionListing.
 */
export function statusCommand(
  manager: SessionListing | null,
  workspace: string,
  sessionId: undefined,
  options: StatusOptions,
): void;
export function statusCommand(
  manager: StatusSource | null,
  workspace: string,
  sessionId: string | undefined,
  options: StatusOptions,
): void;
export function statusCommand(
  manager: SessionListing | StatusSource | null,
  workspace: string,
  sessionId: string | undefined,
  options: StatusOptions,
): void {
  const { out, style: s } = options;
  if (!manager && sessionId) {
    if (!SESSION_ID_PATTERN.test(sessionId))
      throw new UsageError(`"${sessionId}" is not a session id (they look like orch_20261121_093000_ab12)`);
    throw new UsageError(`no session ${sessionId} in ${workspace} (no such folder)`);
  }
  if (!manager || !sessionId) {
    const sessions = manager ? manager.list() : [];
    if (options.json) {
      out.write(`${JSON.stringify(sessions, null, 2)}\n`);
      return;
    }
    if (sessions.length === 0) {
      out.write(
        `No sessions in ${workspace}${manager ? '' : ' (no such folder)'}. ` +
          `Start one with: orchestrate run "the task" -C DIR\n`,
      );
      return;
    }
    for (const session of sessions) {
      // Reviewers (r1-codex-architect ...) show in the detailed view.
      const workers = session.workers.filter((w) => !/^r\d+-/.test(w.id)).map((w) => `${w.id}:${w.status}`);
      const runner =
        session.runner && !session.live
          ? s.dim(
              `  (run by pid ${session.runner.pid}${session.runner.host ? ` on ${session.runner.host}` : ''}` +
                `${session.runner.serverUrl ? `, ${session.runner.serverUrl}` : ''})`,
            )
          : '';
      out.write(
        `${session.sessionId}  ${stateColor(session.outcome ?? session.state, s, 10)}  ` +
          `${s.dim(session.task.slice(0, 60))}${runner}\n`,
      );
      out.write(
        `    ${workers.join('  ')}${session.openBlockers ? s.red(`  ${session.openBlockers} open blocker(s)`) : ''}\n`,
      );
    }
    return;
  }
  // The overloads: a session id comes with a StatusSource.
  const view = (manager as StatusSource).view(sessionId);
  if (options.json) {
    out.write(`${JSON.stringify(view, null, 2)}\n`);
    return;
  }
  const age = formatDuration(Date.now() - Date.parse(view.createdAt));
  out.write(`${s.bold(view.sessionId)}  ${stateColor(view.outcome ?? view.state, s)}  started ${age} ago\n`);
  out.write(`  task:   ${view.task.split('\n')[0]}\n  target: ${view.targetDir}\n`);
  const ws = view.workspace;
  if (ws.mode === 'checkouts') {
    out.write(`  base:   ${ws.base.summary} ${s.dim(`(${ws.base.commit.slice(0, 12)})`)}\n`);
    const result = ws.result;
    const counted = result.change ? ` ${countsText(result.change, s)}` : '';
    const what =
      result.status === 'done'
        ? `${result.branch}${counted}`
        : result.status === 'blocked'
          ? s.red(`${result.branch}: blocked, see below`)
          : s.dim(`${result.branch} once every worker is done`);
    out.write(
      `  result: ${what}${result.excluded.length ? s.dim(` (left out: ${result.excluded.join(', ')})`) : ''}\n`,
    );
  } else {
    out.write(`  ${s.yellow('warning:')} ${ws.reason}\n`);
  }
  for (const w of view.workers) {
    const usage = formatUsage(w.usage);
    out.write(
      `  ${`${w.kind === 'reviewer' ? '↳ ' : ''}${w.id}`.padEnd(24)} ` +
        `${`${w.agent}/${w.role}`.padEnd(20)} ${stateColor(w.status, s, 11)} ` +
        `${progressBar(w.progress, 12)} attempt ${w.attempt}${usage ? ` ${s.dim(usage)}` : ''}\n`,
    );
    if (w.kind === 'worker' && w.change) out.write(`      ${s.dim(w.change.branch)} ${countsText(w.change, s)}\n`);
    if (w.lastActivity) out.write(s.dim(`      ${w.lastActivity}\n`));
  }
  const usage = formatUsage(view.usage);
  const limits = formatLimits(view.limits);
  if (usage || limits) out.write(`  usage:  ${usage || 'none yet'}${limits ? s.dim(`  (limits: ${limits})`) : ''}\n`);
  const lastDecision = [...view.rounds].reverse().find((r) => r.decision);
  if (lastDecision)
    out.write(`  last decision: ${lastDecision.roundId} ${lastDecision.targets.join(',')}: ${lastDecision.decision}\n`);
  for (const b of view.blockers.filter((x) => x.open)) {
    out.write(
      `  ${s.red(b.kind)} ${b.id}${b.workerId ? ` (${b.workerId})` : ''}: ` +
        `${b.message.split('\n')[0]}\n    → ${b.action}\n`,
    );
  }
}

/** "3 files +12 -4", the counts colored. */
function countsText(change: { files: number; additions: number; deletions: number }, s: Style): string {
  return (
    `${change.files} ${change.files === 1 ? 'file' : 'files'} ` +
    `${s.green(`+${change.additions}`)} ${s.red(`-${change.deletions}`)}`
  );
}
