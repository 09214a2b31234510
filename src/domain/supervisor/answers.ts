/**
 * A person's answers: to a blocker (retry, skip, agent, answer, stop), and stopping one worker (which answers
 * its blocker skip when it has one).
 */
import { renderClarificationFollowUp } from '../prompts.js';
import { SKIPPED_BY_A_PERSON } from '../worker-status.js';
import { type BlockerChoice, type BlockerRecord, STOPPABLE_WORKER_STATUSES } from './context.js';
import { blockerEvent } from './blockers.js';
import { answerPermission } from './permissions.js';
import { addResolver, respawn, respawnWaiting, startFrom } from './spawn.js';
import type { Step } from './step.js';

export interface Answer {
  blockerId: string;
  choice: BlockerChoice;
  text?: string;
  by?: string;
  /** With the choice `agent`, the agent that resolves a merge conflict (default: the worker's own). */
  agent?: string;
}

/** A person answered a blocker. */
export function resolve(s: Step, event: Answer): void {
  const blocker = s.context.blockers.find((b) => b.id === event.blockerId);
  if (!blocker || !blocker.open || !blocker.options.includes(event.choice)) return;
  const chosenAgent =
    event.choice === 'agent'
      ? (event.agent ?? s.context.workers[blocker.workerId ?? blocker.targets?.[0] ?? '']?.agent)
      : undefined;
  const resolution = {
    choice: event.choice,
    ...(event.text ? { text: event.text } : {}),
    ...(event.by ? { by: event.by } : {}),
    ...(chosenAgent ? { agent: chosenAgent } : {}),
  };
  const closed: BlockerRecord = { ...blocker, open: false, resolution };
  s.set({ blockers: s.context.blockers.map((b) => (b.id === blocker.id ? closed : b)) });
  s.record(blockerEvent(s.context, closed));

  if (event.choice === 'stop') {
    s.raise({ type: 'STOP', reason: `stopped by a person answering ${blocker.kind}` });
    return;
  }
  if (blocker.kind === 'PERMISSION_REQUEST' && event.choice !== 'skip') {
    answerPermission(s, closed, event.choice, event.by);
    return;
  }
  if (blocker.kind === 'CLARIFICATION_NEEDED') {
    const text = renderClarificationFollowUp(event.text ?? '', blocker.message.split('\n').slice(1));
    for (const target of blocker.targets ?? []) {
      const w = s.worker(target);
      if (w?.status === 'reviewing') s.command(w.id, { type: 'FOLLOW_UP', text });
      // A target that already completed (a round by plan progress or by hand) is resumed with the answer.
      else if (w?.status === 'completed' && w.agentSessionId)
        respawn(s, w, { prompt: { kind: 'follow-up', text }, resumeId: w.agentSessionId });
      // Reviewed while it works (everyPlanItems, a manual round), or between attempts after a failure: it gets
      // the answer when its current (or next) run ends well.
      else if (w && ['running', 'paused', 'blocked', 'recovering'].includes(w.status))
        s.sendToWorker(w.id, { type: 'FOLLOW_UP', text });
    }
    if (s.context.mode === 'paused') s.raise({ type: 'RESUME' });
    return;
  }
  if (!blocker.workerId && (blocker.kind === 'MERGE_CONFLICT' || blocker.kind === 'INTEGRATION_FAILED')) {
    answerIntegration(s, blocker, event.choice, chosenAgent);
    return;
  }
  const worker = blocker.workerId ? s.worker(blocker.workerId) : undefined;
  if (!worker) return;
  if (event.choice === 'agent') {
    // The merge its start needs conflicts: a new worker resolves it, and this one starts from its result.
    const from = startFrom(s.context, worker.id);
    const resolver = addResolver(s, {
      resolves: worker.id,
      stage: 'start',
      from: blocker.conflict?.sources ?? from,
      files: blocker.conflict?.files ?? [],
      agent: chosenAgent ?? worker.agent,
    });
    const rest = from.filter((d) => !(blocker.conflict?.sources ?? []).includes(d));
    respawnWaiting(s, worker, [resolver, ...rest]);
    return;
  }
  if (event.choice === 'skip') {
    // Failed or stopped, it is skipped here; otherwise (blocked, spawned, running, paused, between attempts) it
    // is told so, its group is ended if it runs, and it counts as skipped.
    if (['failed', 'stopped'].includes(worker.status))
      s.patchWorker(worker.id, { status: 'skipped', reason: SKIPPED_BY_A_PERSON });
    else s.command(worker.id, { type: 'SKIP' });
    return;
  }
  // retry: a person fixed the cause; restart intensity starts afresh.
  s.set({ restarts: { ...s.context.restarts, [worker.id]: [] } });
  if (worker.status === 'blocked') {
    const resumeId = worker.agentSessionId;
    // Keep what recovery learned for this agent (--skip-trust, IS_SANDBOX=1 ...): the person fixed another cause.
    s.command(worker.id, {
      type: 'RECOVER',
      delayMs: 0,
      fixes: s.context.learnedFixes[worker.agent] ?? {},
      resumeId,
      prompt: resumeId ? { kind: 'continue', reason: 'resume' } : 'original',
    });
  } else if (worker.status === 'paused') {
    s.command(worker.id, { type: 'RESUME' });
  } else if (worker.status === 'failed' || worker.status === 'stopped') {
    respawn(s, s.worker(worker.id) ?? worker);
  }
}

/** An answer to a blocker of the integration (no worker of its own): try again, leave the worker out, or an agent. */
function answerIntegration(s: Step, blocker: BlockerRecord, choice: BlockerChoice, agent: string | undefined): void {
  const target = blocker.targets?.[0];
  const excluded =
    choice === 'skip' && target ? [...s.context.integration.excluded, target] : s.context.integration.excluded;
  if (choice === 'agent' && target && blocker.conflict) {
    addResolver(s, {
      resolves: target,
      stage: 'result',
      from: blocker.conflict.sources,
      files: blocker.conflict.files,
      agent: agent ?? s.context.workers[target]?.agent ?? 'claude',
    });
  }
  s.set({ integration: { ...s.context.integration, status: 'pending', excluded } });
}

/**
 * A person stopped one worker (`orchestrate stop SID --worker W`, POST /stop {workerId}, the card's Stop): its
 * agent's group is ended and the session goes on without it, as when a blocker of it is answered skip (which it
 * is, when the worker has one open).
 */
export function stopWorker(s: Step, event: { workerId: string; by?: string }): void {
  const worker = s.worker(event.workerId);
  if (!worker) return;
  const open = s.context.blockers.find((b) => b.open && b.workerId === worker.id && b.options.includes('skip'));
  if (open) {
    resolve(s, { blockerId: open.id, choice: 'skip', ...(event.by ? { by: event.by } : {}) });
    return;
  }
  if (worker.status === 'failed' || worker.status === 'stopped')
    s.patchWorker(worker.id, { status: 'skipped', reason: SKIPPED_BY_A_PERSON });
  else if (STOPPABLE_WORKER_STATUSES.includes(worker.status)) s.command(worker.id, { type: 'SKIP' });
}
