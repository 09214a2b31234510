/**
 * A worker failed: classify -> policy -> restart intensity -> relaunch, or a blocker for a person. Also the
 * other ways a worker's run ends in a person's hands: its time budget spent, a safety or budget intervention.
 */
import type { BlockerRecord } from './context.js';
import { decideRecovery } from '../recovery-policy.js';
import { exceedsIntensity, restartsInWindow } from '../restart-intensity.js';
import type { PromptSpec } from '../prompts.js';
import type { WorkerFailedEvent, WorkerTimedOutEvent } from '../../machines/worker.machine.js';
import { raiseBlocker } from './blockers.js';
import type { Step } from './step.js';

/** The time of the failure (when the worker saw it end) and a number in 0..1 for the backoff's jitter. */
export interface Clock {
  now: number;
  random: number;
}

/**
 * The jitter of a failure: a hash of the session, the worker and the attempt, spread over 0..1. Workers that
 * fail together back off apart, and the same failure gets the same backoff when it is decided again (after a
 * crash of the orchestrator).
 */
export function jitterOf(key: string): number {
  // FNV-1a, 32 bits.
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash / 0x100000000;
}

/** The clock of a failure as its event carries it. */
export function clockOf(sessionId: string, event: WorkerFailedEvent): Clock {
  return { now: event.at, random: jitterOf(`${sessionId}:${event.workerId}:${event.attempt}`) };
}

export function onWorkerFailed(s: Step, event: WorkerFailedEvent, clock: Clock): void {
  const entry = s.worker(event.workerId);
  if (!entry) return;
  const limits = s.context.spec.limits;
  const { now } = clock;
  const recent = restartsInWindow(s.context.restarts[entry.id] ?? [], now, limits.restartWindowSec);
  const source = { kind: 'supervisor' as const, id: s.context.sessionId };
  const decision = decideRecovery({
    signal: event.signal,
    agent: entry.agent,
    fixes: event.fixes,
    agentSessionId: event.agentSessionId,
    insideSandbox: s.context.insideSandbox,
    recentRestarts: recent.length,
    limits,
    now,
    random: clock.random,
  });
  const recovery = { type: 'recovery' as const, source, workerId: entry.id, signal: event.signal };
  if (decision.type === 'escalate') {
    s.record({ ...recovery, action: 'escalate', attempt: event.attempt, detail: decision.message });
    // An agent resolving a conflict is offered for a worker's own start, not for a resolver's unfinished work.
    const options = (decision.options ?? ['retry', 'skip', 'stop']).filter(
      (o) => o !== 'agent' || !s.context.added[entry.id],
    );
    raiseBlocker(s, {
      kind: decision.blocker,
      workerId: entry.id,
      message: decision.message,
      action: decision.action,
      options,
      ...(event.signal.conflict ? { conflict: event.signal.conflict } : {}),
    });
    return;
  }
  if (exceedsIntensity(s.context.restarts[entry.id] ?? [], now, limits.maxRestarts, limits.restartWindowSec)) {
    const message =
      `${entry.id} failed ${recent.length + 1} times within ${limits.restartWindowSec}s ` +
      `(at most ${limits.maxRestarts} restarts allowed); last failure: ${event.signal.kind}: ${event.signal.message}`;
    s.record({ ...recovery, action: 'give_up', attempt: event.attempt, detail: message });
    s.command(entry.id, { type: 'GIVE_UP', reason: 'restart intensity exceeded' });
    raiseBlocker(s, {
      kind: 'RESTART_INTENSITY',
      workerId: entry.id,
      message,
      action:
        'Look at its log (orchestrate logs), fix the cause, ' +
        'then answer retry to run it again; or skip it, or stop the session.',
      options: ['retry', 'skip', 'stop'],
    });
    return;
  }
  s.set({ restarts: { ...s.context.restarts, [entry.id]: [...recent, now] } });
  if (decision.action === 'relaunch_with_flag' || decision.action === 'relaunch_with_env') {
    // What this agent needs here, every later launch of it in this session needs too.
    const learned = s.context.learnedFixes;
    s.set({ learnedFixes: { ...learned, [entry.agent]: { ...learned[entry.agent], ...decision.fixes } } });
  }
  s.record({
    ...recovery,
    action: decision.action,
    attempt: event.attempt,
    backoffMs: decision.delayMs,
    change: decision.change,
    detail: decision.detail,
  });
  const prompt: PromptSpec | 'original' =
    decision.prompt === 'original' ? 'original' : { kind: 'continue', reason: decision.prompt };
  s.command(entry.id, {
    type: 'RECOVER',
    delayMs: decision.delayMs,
    fixes: decision.fixes,
    resumeId: decision.resume ? event.agentSessionId : null,
    prompt,
  });
  if (s.context.mode === 'paused') s.send(entry.actorId, { type: 'PAUSE' });
}

/** A worker ran past its workerTimeoutSec (active time): its group was killed; a person decides. */
export function onWorkerTimedOut(s: Step, event: WorkerTimedOutEvent): void {
  const seconds = Math.round(event.activeMs / 1000);
  raiseBlocker(s, {
    kind: 'WORKER_TIMEOUT',
    workerId: event.workerId,
    message: `${event.workerId} ran for ${seconds}s, past its workerTimeoutSec; its process group was killed`,
    action:
      'Answer retry to run it again with a fresh time budget ' +
      '(raise limits.workerTimeoutSec for the next session), skip to go on without it, or stop.',
    options: ['retry', 'skip', 'stop'],
  });
}

/** The safety layer or a budget monitor hit a limit: pause or stop (a worker, or the session), and say why. */
export function intervene(
  s: Step,
  event: { workerId?: string; act: 'pause' | 'stop'; blocker: Pick<BlockerRecord, 'kind' | 'message' | 'action'> },
): void {
  if (event.act === 'stop' && !event.workerId) {
    s.raise({ type: 'STOP', reason: event.blocker.message });
    return;
  }
  if (event.workerId) s.sendToWorker(event.workerId, { type: event.act === 'pause' ? 'PAUSE' : 'STOP' });
  raiseBlocker(s, {
    ...event.blocker,
    ...(event.workerId ? { workerId: event.workerId } : {}),
    options: ['retry', 'skip', 'stop'],
  });
}
