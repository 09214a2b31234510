/**
 * What a worker and its session say to each other: the worker's input and context, the commands it takes, and
 * what it reports to the session (status, progress, failure, timeout). The worker machine
 * (worker.machine.ts) implements it; the supervisor (src/domain/supervisor) reads it.
 */
import type { LaunchFixes } from '../domain/launch-fixes.js';
import type { FailureSignal, Usage } from '../domain/events.js';
import type { ChangeStat } from '../domain/isolation.js';
import type { PromptSpec, UpstreamSummary } from '../domain/prompts.js';
import { totalUsage, type WorkerStatus } from '../domain/worker-status.js';
import type { AgentProcessEvent, AgentProcessInput, CheckoutRequest } from './agent-process-protocol.js';

export interface WorkerInput {
  sessionId: string;
  workerId: string;
  agent: string;
  role: string;
  /** `reviewer` workers are launched by a review round; their answer is checked before they complete. */
  kind: 'worker' | 'reviewer';
  roundId?: string;
  task: string;
  targetDir: string;
  includeDirs: string[];
  /** The generic `acp` agent's command (the program and its arguments). */
  command?: string[];
  model?: string;
  customPrompt?: string;
  /** A prompt fixed up front (reviewers); workers get their role prompt when they start. */
  prompt?: PromptSpec;
  readOnly: boolean;
  /** Run over the agent's two-way protocol (src/agents/conversation.ts): permissions asked, messages live. */
  interactive?: boolean;
  /** Wait in `reviewing` after success until the session says CONTINUE (or sends a follow-up). */
  awaitReview: boolean;
  stallTimeoutMs: number;
  workerTimeoutMs: number | null;
  killGraceMs: number;
  /** Initial launch fixes (e.g. IS_SANDBOX inside our sandbox is decided by recovery, not here). */
  fixes?: LaunchFixes;
  /**
   * A new incarnation of a worker (retried after it failed, or resumed with a follow-up after it completed)
   * continues the attempt numbers of the one before: launches are recorded per (worker, attempt).
   */
  previousAttempts?: number;
  /** Continue this agent session (native resume) on the first launch. */
  resumeSessionId?: string;
  /**
   * Where its checkout starts, when the session knows it up front (a worker that resolves a conflict starts in
   * the conflicted merge); other workers learn it with START (their dependencies' branches).
   */
  checkoutFrom?: { from: string[]; keepConflicts: boolean };
}

export interface WorkerContext extends WorkerInput {
  attempt: number;
  /** The prompt of the next launch. */
  prompt: PromptSpec;
  /** The prompt the worker started with (a fresh relaunch uses it again). */
  originalPrompt: PromptSpec;
  fixes: LaunchFixes;
  /** Agent session id to resume in the next launch; null = a fresh launch. */
  resumeId: string | null;
  agentSessionId: string | null;
  pid: number | null;
  progress: number;
  plan: { done: number; total: number } | null;
  steps: number;
  lastActivity: string | null;
  finalText: string | null;
  filesChanged: string[];
  /** Usage per attempt (each agent run reports its own totals). */
  usageByAttempt: Record<string, Usage>;
  activeMs: number;
  lastFailure: FailureSignal | null;
  exit: { code: number | null; signal: string | null } | null;
  backoff: { dueAt: number; remainingMs: number | null } | null;
  blockerId: string | null;
  endReason: string | null;
  /** A person's answer that arrived while the agent ran: sent by native resume once this run ends well. */
  pendingFollowUp: string | null;
  /** The branches its checkout starts from (set at START); null until then. */
  from: string[] | null;
  /** Its change so far (start..head of its branch), after each attempt; null outside git or before the first. */
  change: ChangeStat | null;
}

export type WorkerEvent =
  /** `fixes`: what the supervisor already knows this agent needs here (learned from another worker's recovery). */
  | { type: 'START'; upstream: UpstreamSummary[]; fixes?: LaunchFixes; from?: string[] }
  | { type: 'PAUSE' }
  | { type: 'RESUME' }
  | { type: 'STOP' }
  | AgentProcessEvent
  /** `prompt: 'original'` relaunches with the prompt the worker started with. */
  | { type: 'RECOVER'; delayMs: number; fixes: LaunchFixes; resumeId: string | null; prompt: PromptSpec | 'original' }
  | { type: 'ESCALATED'; blockerId: string }
  | { type: 'GIVE_UP'; reason: string }
  | { type: 'SKIP' }
  | { type: 'TIMER.DONE' }
  | { type: 'REVIEW.CONTINUE' }
  | { type: 'FOLLOW_UP'; text: string }
  /** A person's message into the running agent (interactive mode): `orchestrate say`, POST .../messages. */
  | { type: 'MESSAGE'; text: string; by?: string }
  /** A person's answer to a permission its agent asked for (the session's PERMISSION_REQUEST blocker). */
  | PermissionAnswer;

/** The answer to one permission request, for the agent of `attempt` (src/domain/supervisor/permissions.ts). */
export interface PermissionAnswer {
  type: 'PERMISSION.ANSWER';
  attempt: number;
  requestId: string;
  decision: 'allow' | 'deny';
  blockerId: string;
  /** allow-always: the rule the session allows from now on. */
  rule?: string;
  by?: string;
}

/** Its agent asks before a tool runs, and the rules say a person decides (the session opens a blocker). */
export interface WorkerPermissionEvent {
  type: 'WORKER.PERMISSION';
  workerId: string;
  attempt: number;
  requestId: string;
  request: { tool: string; command?: string; paths?: string[]; url?: string };
  /** Not a question: the request needs nobody any more (its blocker, if open, closes with this). */
  settled?: 'allow' | 'deny' | 'allow-always' | 'withdrawn';
  rule?: string;
}

/** What a worker tells its parent (the session) whenever its status or its summary changes. */
export interface WorkerStatusEvent {
  type: 'WORKER.STATUS';
  workerId: string;
  kind: 'worker' | 'reviewer';
  roundId?: string;
  status: WorkerStatus;
  /** The full state path (running.paused) and the event that caused it: the runtime logs the state event. */
  state: string;
  cause: string;
  progress: number;
  attempt: number;
  finalText: string | null;
  planDone: number;
  usage: Usage;
  agentSessionId: string | null;
  reason: string | null;
  change?: ChangeStat | null;
}

/** New output facts while running (plan progress, usage, summary): no state change, so no state event. */
export interface WorkerProgressEvent {
  type: 'WORKER.PROGRESS';
  workerId: string;
  kind: 'worker' | 'reviewer';
  roundId?: string;
  attempt: number;
  finalText: string | null;
  planDone: number;
  usage: Usage;
  agentSessionId: string | null;
}

export interface WorkerFailedEvent {
  type: 'WORKER.FAILED';
  workerId: string;
  kind: 'worker' | 'reviewer';
  attempt: number;
  signal: FailureSignal;
  agentSessionId: string | null;
  fixes: LaunchFixes;
  /** When the worker saw the attempt fail (ms since the epoch): the supervisor's clock for restart intensity. */
  at: number;
}

export interface WorkerTimedOutEvent {
  type: 'WORKER.TIMED_OUT';
  workerId: string;
  activeMs: number;
}

export function statusEvent(
  context: WorkerContext,
  status: WorkerStatus,
  state: string,
  cause: string,
): WorkerStatusEvent {
  return {
    type: 'WORKER.STATUS',
    workerId: context.workerId,
    kind: context.kind,
    ...(context.roundId ? { roundId: context.roundId } : {}),
    status,
    state,
    cause,
    progress: context.progress,
    attempt: context.attempt,
    finalText: context.finalText,
    planDone: context.plan?.done ?? 0,
    usage: totalUsage(context),
    agentSessionId: context.agentSessionId,
    reason: context.endReason,
    change: context.change,
  };
}

/** What the worker's process actor must prepare before the agent runs (src/workspace does, in a git session). */
export function checkoutRequest(context: WorkerContext): CheckoutRequest {
  if (context.kind === 'reviewer')
    return {
      kind: 'reviewer',
      target: context.originalPrompt.kind === 'review' ? context.originalPrompt.targetId : '',
    };
  const fixed = context.checkoutFrom;
  return { kind: 'worker', from: fixed?.from ?? context.from ?? [], keepConflicts: fixed?.keepConflicts ?? false };
}

/** A worker's context as it starts: its input, attempt numbers continued, nothing learned yet. */
export function initialWorkerContext(input: WorkerInput): WorkerContext {
  const prompt: PromptSpec = input.prompt ?? {
    kind: 'role',
    role: input.role,
    task: input.task,
    ...(input.customPrompt ? { custom: input.customPrompt } : {}),
    upstream: [],
  };
  return {
    ...input,
    attempt: input.previousAttempts ?? 0,
    prompt,
    originalPrompt: prompt,
    fixes: input.fixes ?? {},
    resumeId: input.resumeSessionId ?? null,
    agentSessionId: input.resumeSessionId ?? null,
    pid: null,
    progress: 0,
    plan: null,
    steps: 0,
    lastActivity: null,
    finalText: null,
    filesChanged: [],
    usageByAttempt: {},
    activeMs: 0,
    lastFailure: null,
    exit: null,
    backoff: null,
    blockerId: null,
    endReason: null,
    pendingFollowUp: null,
    from: input.checkoutFrom?.from ?? null,
    change: null,
  };
}

/** The input of one attempt's process actor: what to launch, where, and with which limits. */
export function processInput(context: WorkerContext): AgentProcessInput {
  return {
    sessionId: context.sessionId,
    workerId: context.workerId,
    attempt: context.attempt,
    agent: context.agent,
    launch: {
      targetDir: context.targetDir,
      includeDirs: context.includeDirs,
      ...(context.command ? { command: context.command } : {}),
      ...(context.model ? { model: context.model } : {}),
      ...(context.resumeId ? { resume: { agentSessionId: context.resumeId } } : {}),
      fixes: context.fixes,
      readOnly: context.readOnly,
    },
    ...(context.interactive ? { interactive: true } : {}),
    prompt: context.prompt,
    checkout: checkoutRequest(context),
    stallTimeoutMs: context.stallTimeoutMs,
    timeLeftMs: context.workerTimeoutMs === null ? null : Math.max(0, context.workerTimeoutMs - context.activeMs),
    killGraceMs: context.killGraceMs,
  };
}
