/** The summary printed when a session ends (or when the CLI stops following it). */
import { dirname } from 'node:path';
import type { OrchestratorEvent } from '../domain/events.js';
import type { SessionView } from '../runtime/view.js';
import { formatDuration, formatUsage, stateColor } from './live-view.js';
import type { Style } from './style.js';
import { resolveWorkspace } from './workspace.js';

export function renderSummary(
  view: SessionView,
  events: readonly OrchestratorEvent[],
  sessionDir: string,
  s: Style,
): string {
  const lines: string[] = [];
  // An ended session's length runs to its last state change, not to whenever the summary is printed.
  const lastSessionState = view.outcome
    ? [...events].reverse().find((e) => e.type === 'state' && e.machine === 'session')
    : undefined;
  const elapsed = (lastSessionState ? Date.parse(lastSessionState.ts) : Date.now()) - Date.parse(view.createdAt);
  const headline =
    view.outcome === 'completed'
      ? s.green('completed')
      : view.outcome === 'partial'
        ? s.yellow('ended, but not every worker completed')
        : view.outcome === 'escalated'
          ? s.red('stopped and escalated')
          : view.outcome
            ? s.red(view.outcome)
            : s.yellow(`${view.state} (needs a person)`);
  lines.push(
    '',
    `${s.bold('Session')} ${view.sessionId} ${headline} after ` +
      `${formatDuration(elapsed)}${view.stopReason ? s.dim(` (${view.stopReason})`) : ''}`,
  );
  for (const w of view.workers) {
    const attempts = `${w.attempt} attempt${w.attempt === 1 ? '' : 's'}`;
    lines.push(
      `  ${`${w.kind === 'reviewer' ? '↳ ' : ''}${w.id}`.padEnd(24)} ${`${w.agent}/${w.role}`.padEnd(20)} ` +
        `${stateColor(w.status, s, 10)} ${attempts.padEnd(11)} ${s.dim(formatUsage(w.usage))}`,
    );
    if (w.change && w.change.files > 0)
      lines.push(
        s.dim(
          `      ${w.change.branch}: ${w.change.files} ` +
            `${w.change.files === 1 ? 'file' : 'files'} +${w.change.additions} -${w.change.deletions}`,
        ),
      );
  }
  const recoveries = events.filter((e): e is Extract<OrchestratorEvent, { type: 'recovery' }> => e.type === 'recovery');
  if (recoveries.length) {
    lines.push(s.bold('Recoveries:'));
    for (const r of recoveries)
      lines.push(`  ${r.workerId}: ${r.signal.kind} → ${r.action}${r.change ? ` (${r.change})` : ''}`);
  }
  const decisions = events.filter((e): e is Extract<OrchestratorEvent, { type: 'decision' }> => e.type === 'decision');
  if (decisions.length) {
    lines.push(s.bold('Reviews:'));
    for (const d of decisions) {
      const { approve, concern, blocker } = d.counts;
      const counts = `(${approve} approve, ${concern} concern, ${blocker} blocker)`;
      lines.push(`  ${d.roundId} ${d.target}: ${d.decision} ${s.dim(`${counts}: ${d.action}`)}`);
    }
  }
  const open = view.blockers.filter((b) => b.open || b.kind === 'REVIEW_BLOCKER');
  if (open.length) {
    lines.push(s.bold('Needs a person:'));
    for (const b of open) {
      lines.push(
        `  ${s.red(b.kind)} ${b.id}${b.workerId ? ` (${b.workerId})` : ''}: ${b.message.split('\n').join('\n    ')}`,
      );
      lines.push(`    ${s.bold('→')} ${b.action}`);
      if (b.conflict)
        lines.push(`    ${s.dim(`files: ${b.conflict.files.join(', ')}; resolve them in ${b.conflict.dir}`)}`);
      if (b.open && b.options.length) {
        lines.push(s.dim(`    answer: ${resolveCommand(view.sessionId, b, sessionDir)}`));
      }
    }
  }
  const ws = view.workspace;
  if (ws.mode === 'checkouts') {
    const flag = workspaceFlag(sessionDir);
    if (ws.result.status === 'done' && ws.result.change) {
      const c = ws.result.change;
      const counts = `${c.files} ${c.files === 1 ? 'file' : 'files'} +${c.additions} -${c.deletions}`;
      lines.push(
        `${s.bold('Result:')} ${ws.result.branch} ${s.dim(`(${counts} against the base, ${ws.base.summary})`)}`,
      );
      if (c.files > 0) {
        lines.push(`  review: orchestrate diff ${view.sessionId}${flag}`);
        lines.push(
          `  apply:  orchestrate apply ${view.sessionId}${flag}   ` +
            `${s.dim('(as uncommitted changes in your checkout; --merge for commits)')}`,
        );
        lines.push(s.dim(`  throw away: orchestrate discard ${view.sessionId} --force${flag}`));
      }
    } else if (view.outcome) {
      lines.push(
        s.dim(
          `Each worker's branch is kept (orchestrate diff ${view.sessionId} WORKER${flag}; ` +
            `apply one with --worker); orchestrate discard ${view.sessionId} --force${flag} removes them.`,
        ),
      );
    }
  } else {
    lines.push(`${s.yellow('warning:')} ${ws.reason}`);
  }
  lines.push(`Session folder: ${sessionDir}`);
  return lines.join('\n');
}

/** ` --workspace <dir>` unless the session's workspace is the one a command run here finds by default. */
/**
 * The exact command that answers an open blocker: its session, its id, its choices (and the workspace when not the
 * default).
 */
export function resolveCommand(
  sessionId: string,
  blocker: { id: string; options: readonly string[] },
  sessionDir: string,
): string {
  const o = blocker.options;
  return (
    `orchestrate resolve ${sessionId} ${blocker.id} <${o.join('|')}>` +
    `${o.includes('answer') ? ' --text "..."' : ''}` +
    `${o.includes('agent') ? ' [--agent claude|codex|gemini]' : ''}${workspaceFlag(sessionDir)}`
  );
}

function workspaceFlag(sessionDir: string): string {
  const workspace = dirname(dirname(sessionDir));
  return workspace === resolveWorkspace(undefined, undefined) ? '' : ` --workspace ${workspace}`;
}
