/** `orchestrate status [SID] [--json]`: sessions of the workspace, or one session in detail. */
import type { SessionManager } from '../runtime/session-manager.js';
import { formatDuration, progressBar, stateColor } from './live-view.js';
import type { Style } from './style.js';

export interface StatusOptions {
  json: boolean;
  out: NodeJS.WritableStream;
  style: Style;
}

export function statusCommand(manager: SessionManager, sessionId: string | undefined, options: StatusOptions): void {
  const { out, style: s } = options;
  if (!sessionId) {
    const sessions = manager.list();
    if (options.json) {
      out.write(`${JSON.stringify(sessions, null, 2)}\n`);
      return;
    }
    if (sessions.length === 0) {
      out.write(`No sessions in ${manager.workspace}. Start one with: orchestrate run "the task" -C DIR\n`);
      return;
    }
    for (const session of sessions) {
      const workers = session.workers.filter((w) => !w.id.startsWith('r')).map((w) => `${w.id}:${w.status}`);
      out.write(`${session.sessionId}  ${stateColor(session.outcome ?? session.state, s, 10)}  ${s.dim(session.task.slice(0, 60))}\n`);
      out.write(`    ${workers.join('  ')}${session.openBlockers ? s.red(`  ${session.openBlockers} open blocker(s)`) : ''}\n`);
    }
    return;
  }
  const view = manager.view(sessionId);
  if (options.json) {
    out.write(`${JSON.stringify(view, null, 2)}\n`);
    return;
  }
  const age = formatDuration(Date.now() - Date.parse(view.createdAt));
  out.write(`${s.bold(view.sessionId)}  ${stateColor(view.outcome ?? view.state, s)}  started ${age} ago\n`);
  out.write(`  task:   ${view.task.split('\n')[0]}\n  target: ${view.targetDir}${view.baseCommit ? s.dim(` @ ${view.baseCommit.slice(0, 12)}`) : ''}\n`);
  for (const w of view.workers) {
    const usage = w.usage.costUsd !== undefined ? ` $${w.usage.costUsd.toFixed(4)}` : w.usage.inputTokens ? ` ${(w.usage.inputTokens ?? 0) + (w.usage.outputTokens ?? 0)} tokens` : '';
    out.write(`  ${`${w.kind === 'reviewer' ? '↳ ' : ''}${w.id}`.padEnd(24)} ${`${w.agent}/${w.role}`.padEnd(20)} ${stateColor(w.status, s, 11)} ${progressBar(w.progress, 12)} attempt ${w.attempt}${s.dim(usage)}\n`);
    if (w.lastActivity) out.write(s.dim(`      ${w.lastActivity}\n`));
  }
  const lastDecision = [...view.rounds].reverse().find((r) => r.decision);
  if (lastDecision) out.write(`  last decision: ${lastDecision.roundId} ${lastDecision.targets.join(',')}: ${lastDecision.decision}\n`);
  for (const b of view.blockers.filter((x) => x.open)) {
    out.write(`  ${s.red(b.kind)} ${b.id}${b.workerId ? ` (${b.workerId})` : ''}: ${b.message.split('\n')[0]}\n    → ${b.action}\n`);
  }
}
