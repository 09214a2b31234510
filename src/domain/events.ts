/**
 * The one event vocabulary of the whole system. Every fact (agent output, machine transition, recovery,
 * blocker, review verdict, decision, safety violation) is one OrchestratorEvent, appended to the session's
 * event log, which assigns `seq` (1, 2, 3 ... per session, gap-free). `seq` is the SSE id.
 *
 * Agent payloads come from the adapters in src/agents (pure functions over one stdout line); everything
 * else comes from the machines through the runtime.
 */
import { z } from 'zod';

/** Lines that are not JSON are kept, but only this much of them (bytes of UTF-8, roughly). */
export const MALFORMED_LINE_LIMIT = 2048;
/** Free text carried inside an event (tool output, messages) is cut past this many characters. */
export const TEXT_LIMIT = 16_384;

export const AgentNameSchema = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'agent names are lowercase words');
export type AgentName = z.infer<typeof AgentNameSchema>;

export const SourceSchema = z.object({
  kind: z.enum(['session', 'worker', 'review', 'supervisor', 'safety']),
  id: z.string(),
});
export type EventSource = z.infer<typeof SourceSchema>;

export const UsageSchema = z.object({
  inputTokens: z.number().nonnegative().optional(),
  outputTokens: z.number().nonnegative().optional(),
  cachedInputTokens: z.number().nonnegative().optional(),
  reasoningTokens: z.number().nonnegative().optional(),
  totalTokens: z.number().nonnegative().optional(),
  costUsd: z.number().nonnegative().optional(),
});
export type Usage = z.infer<typeof UsageSchema>;

// ---------------------------------------------------------------------------------------------------------
// Agent payloads: what an adapter's parseLine returns for one line of an agent's stdout.
// ---------------------------------------------------------------------------------------------------------

const agentKind = <K extends string, S extends z.ZodRawShape>(kind: K, shape: S) =>
  z.object({ kind: z.literal(kind), ...shape });

export const AgentInitSchema = agentKind('init', {
  /** The agent's own session id: claude `session_id`, codex `thread_id`, gemini `session_id`. */
  agentSessionId: z.string().optional(),
  model: z.string().optional(),
  cwd: z.string().optional(),
});
export const AgentMessageSchema = agentKind('message', {
  role: z.enum(['assistant', 'user', 'system']),
  text: z.string(),
  /** Gemini streams assistant text in pieces (`delta: true`); the pieces concatenate to the message. */
  delta: z.boolean().optional(),
  messageId: z.string().optional(),
});
export const AgentReasoningSchema = agentKind('reasoning', { text: z.string() });
export const AgentToolCallSchema = agentKind('tool_call', {
  toolId: z.string().optional(),
  name: z.string(),
  input: z.unknown().optional(),
});
export const AgentToolResultSchema = agentKind('tool_result', {
  toolId: z.string().optional(),
  ok: z.boolean(),
  output: z.string().optional(),
});
export const AgentCommandSchema = agentKind('command', {
  toolId: z.string().optional(),
  command: z.string(),
  status: z.enum(['started', 'completed', 'failed', 'declined']),
  exitCode: z.number().int().nullable().optional(),
  output: z.string().optional(),
});
export const FileChangeKindSchema = z.enum(['add', 'delete', 'update']);
export const AgentFileChangeSchema = agentKind('file_change', {
  toolId: z.string().optional(),
  changes: z.array(z.object({ path: z.string(), kind: FileChangeKindSchema })),
  /** `proposed`: a write tool call seen before it ran; `completed`/`failed`: the agent reports the result. */
  status: z.enum(['proposed', 'completed', 'failed']),
});
export const PlanItemSchema = z.object({ text: z.string(), done: z.boolean() });
export const AgentPlanSchema = agentKind('plan', { items: z.array(PlanItemSchema) });
export const AgentUsageSchema = agentKind('usage', {
  usage: UsageSchema,
  /** true: totals so far for this agent run (codex turn.completed, claude/gemini result); false: an increment. */
  cumulative: z.boolean(),
});
export const AgentErrorSchema = agentKind('error', {
  message: z.string(),
  /** The agent says it is retrying by itself (codex `Reconnecting...`, claude `api_retry`): not a failure yet. */
  retrying: z.boolean().optional(),
  /** A warning that does not stop the agent (codex error items, gemini severity warning). */
  warning: z.boolean().optional(),
  httpStatus: z.number().int().optional(),
  code: z.string().optional(),
});
export const AgentResultSchema = agentKind('result', {
  ok: z.boolean(),
  text: z.string().optional(),
  /** The agent's own result subtype / terminal reason, verbatim (`error_max_turns`, `api_error`...). */
  reason: z.string().optional(),
  /** The type of the API error that ended it, verbatim (claude's `api_error_type`: `rate_limit_error`...). */
  errorType: z.string().optional(),
  errors: z.array(z.string()).optional(),
  httpStatus: z.number().int().optional(),
  numTurns: z.number().int().optional(),
  durationMs: z.number().optional(),
});
export const AgentUnknownSchema = agentKind('unknown', {
  /** The `type` (and `subtype`) the adapter did not recognise, e.g. `system/compact_boundary`. */
  originalType: z.string(),
  raw: z.unknown(),
});
export const AgentMalformedSchema = agentKind('malformed', {
  /** The line as printed, cut to MALFORMED_LINE_LIMIT. */
  line: z.string(),
  truncated: z.boolean(),
  /** The line's length in bytes before cutting. */
  bytes: z.number().int().nonnegative(),
  reason: z.string(),
});

export const AgentPayloadSchema = z.discriminatedUnion('kind', [
  AgentInitSchema,
  AgentMessageSchema,
  AgentReasoningSchema,
  AgentToolCallSchema,
  AgentToolResultSchema,
  AgentCommandSchema,
  AgentFileChangeSchema,
  AgentPlanSchema,
  AgentUsageSchema,
  AgentErrorSchema,
  AgentResultSchema,
  AgentUnknownSchema,
  AgentMalformedSchema,
]);
export type AgentPayload = z.infer<typeof AgentPayloadSchema>;
export type AgentKind = AgentPayload['kind'];
export type AgentPayloadOf<K extends AgentKind> = Extract<AgentPayload, { kind: K }>;
export const AGENT_KINDS = AgentPayloadSchema.options.map((o) => o.shape.kind.value) as AgentKind[];

// ---------------------------------------------------------------------------------------------------------
// Failure signals: what an adapter's classifyFailure returns; the input of the recovery policy.
// ---------------------------------------------------------------------------------------------------------

export const FAILURE_KINDS = [
  'auth',
  'rate_limit',
  'quota',
  'not_git_repo',
  'untrusted_folder',
  'root_bypass_refused',
  'max_turns',
  'network',
  'server_error',
  'resume_not_found',
  'stalled',
  'invalid_args',
  'agent_not_found',
  'crashed',
  /** Its checkout could not be made: the branches it starts from conflict, or a worker left conflicts unresolved. */
  'merge_conflict',
  /** A `workspace.setup` command of its checkout failed. */
  'setup_failed',
] as const;
export const FailureKindSchema = z.enum(FAILURE_KINDS);
export type FailureKind = z.infer<typeof FailureKindSchema>;

/** A merge that conflicts: its files, the checkout where a person can resolve them, and what was merged. */
export const ConflictSchema = z.object({
  files: z.array(z.string()),
  /** The checkout holding the conflicted merge. */
  dir: z.string(),
  /** The session's branches merged there (worker ids, `_result` for the integration). */
  sources: z.array(z.string()),
});
export type Conflict = z.infer<typeof ConflictSchema>;

export const FailureSignalSchema = z.object({
  kind: FailureKindSchema,
  /** The agent's own words (the line of stderr or the error message that decided the kind). */
  message: z.string(),
  /** When the agent says when to retry (codex usage limit "try again at 9:24 AM", claude resetsAt). */
  retryAt: z.string().datetime({ offset: true }).optional(),
  exitCode: z.number().int().nullable().optional(),
  signal: z.string().nullable().optional(),
  httpStatus: z.number().int().optional(),
  /** merge_conflict: the conflicted files, where they can be resolved, and the branches being merged. */
  conflict: ConflictSchema.optional(),
});
export type FailureSignal = z.infer<typeof FailureSignalSchema>;

// ---------------------------------------------------------------------------------------------------------
// Orchestrator events
// ---------------------------------------------------------------------------------------------------------

const base = {
  seq: z.number().int().positive(),
  ts: z.string(),
  sessionId: z.string(),
  source: SourceSchema,
};

/** Where an agent event came from, so a crash can resume exactly after the last line turned into events. */
export const LineRefSchema = z.object({
  attempt: z.number().int().positive(),
  /** Byte offset just past the line in `agents/<workerId>.<attempt>.stdout.jsonl`. */
  end: z.number().int().nonnegative(),
});

const agentEventBase = {
  ...base,
  type: z.literal('agent'),
  agent: AgentNameSchema,
  workerId: z.string(),
  at: LineRefSchema.optional(),
};
/**
 * An agent event is flat: the common fields, `type: 'agent'`, `agent`, `workerId`, then the payload's `kind` and
 * fields.
 */
export const AgentEventSchema = z.discriminatedUnion('kind', [
  AgentInitSchema.extend(agentEventBase),
  AgentMessageSchema.extend(agentEventBase),
  AgentReasoningSchema.extend(agentEventBase),
  AgentToolCallSchema.extend(agentEventBase),
  AgentToolResultSchema.extend(agentEventBase),
  AgentCommandSchema.extend(agentEventBase),
  AgentFileChangeSchema.extend(agentEventBase),
  AgentPlanSchema.extend(agentEventBase),
  AgentUsageSchema.extend(agentEventBase),
  AgentErrorSchema.extend(agentEventBase),
  AgentResultSchema.extend(agentEventBase),
  AgentUnknownSchema.extend(agentEventBase),
  AgentMalformedSchema.extend(agentEventBase),
]);
export type AgentEvent = z.infer<typeof AgentEventSchema>;

export const StateEventSchema = z.object({
  ...base,
  type: z.literal('state'),
  machine: z.enum(['session', 'worker', 'review']),
  /** The actor id: the session id, the worker id, or the review round id. */
  id: z.string(),
  from: z.string().nullable(),
  to: z.string(),
  /** The event type that caused the change. */
  cause: z.string(),
  /** Progress 0..1 for workers, when known. */
  progress: z.number().min(0).max(1).optional(),
});

export const RecoveryActionSchema = z.enum([
  'relaunch',
  'relaunch_with_flag',
  'relaunch_with_env',
  'wait_and_resume',
  'backoff_and_relaunch',
  'resume_with_continue',
  'relaunch_fresh',
  'escalate',
  'give_up',
]);
export type RecoveryActionKind = z.infer<typeof RecoveryActionSchema>;

export const RecoveryEventSchema = z.object({
  ...base,
  type: z.literal('recovery'),
  workerId: z.string(),
  signal: FailureSignalSchema,
  action: RecoveryActionSchema,
  attempt: z.number().int().nonnegative(),
  backoffMs: z.number().int().nonnegative().optional(),
  /** What changes in the next launch: flags added, env set, resume or fresh. */
  change: z.string().optional(),
  /** A sentence for a person. */
  detail: z.string(),
});

/** The answers a person can give a blocker (`orchestrate resolve`, POST /api/v1/{sid}/blockers/{id}, the dashboard). */
export const BlockerChoiceSchema = z.enum(['retry', 'skip', 'stop', 'answer', 'agent']);
export type BlockerChoice = z.infer<typeof BlockerChoiceSchema>;

export const BlockerKindSchema = z.enum([
  'PERMISSION_BLOCKER',
  'AUTH_REQUIRED',
  'INVALID_ARGS',
  'AGENT_NOT_FOUND',
  'BUDGET_EXCEEDED',
  'QUOTA_EXCEEDED',
  'RESTART_INTENSITY',
  'WORKER_TIMEOUT',
  'REVIEW_BLOCKER',
  'CLARIFICATION_NEEDED',
  'SAFETY_VIOLATION',
  'RESOURCE_LIMIT',
  /** Branches that must be merged conflict (a worker's start, or the session's result). */
  'MERGE_CONFLICT',
  /** A `workspace.setup` command failed in a worker's checkout. */
  'SETUP_FAILED',
  /** The session's result could not be integrated for another reason than a conflict. */
  'INTEGRATION_FAILED',
]);
export type BlockerKind = z.infer<typeof BlockerKindSchema>;

/** What a blocker says: in its `blocker` event, and in the session's list of blockers (GET /api/v1/{sid}/state). */
export const BlockerFieldsSchema = z.object({
  kind: BlockerKindSchema,
  workerId: z.string().optional(),
  /** For review blockers: the round and the workers it reviewed (a clarification answer goes to them). */
  roundId: z.string().optional(),
  targets: z.array(z.string()).optional(),
  message: z.string(),
  /** What the person must do, in words they can act on. */
  action: z.string(),
  /** MERGE_CONFLICT: the files, the checkout where a person resolves them, the branches merged. */
  conflict: ConflictSchema.optional(),
  /** The answers the blocker accepts. */
  options: z.array(BlockerChoiceSchema),
  /** Set on the event that records the answer; absent while open. `agent`: the one chosen to resolve a conflict. */
  resolution: z
    .object({
      choice: BlockerChoiceSchema,
      text: z.string().optional(),
      by: z.string().optional(),
      agent: z.string().optional(),
    })
    .optional(),
});

export type BlockerFields = z.infer<typeof BlockerFieldsSchema>;

export const BlockerEventSchema = z.object({
  ...base,
  type: z.literal('blocker'),
  blockerId: z.string(),
  ...BlockerFieldsSchema.shape,
});

export const IssueSeveritySchema = z.enum(['blocker', 'concern', 'nit']);
export const ReviewIssueSchema = z.object({
  severity: IssueSeveritySchema,
  file: z.string().optional(),
  line: z.number().int().optional(),
  message: z.string(),
});
export const VerdictSchema = z.object({
  verdict: z.enum(['approve', 'concern', 'blocker']),
  summary: z.string(),
  issues: z.array(ReviewIssueSchema).default([]),
});
export type Verdict = z.infer<typeof VerdictSchema>;

export const ReviewEventSchema = z.object({
  ...base,
  type: z.literal('review'),
  roundId: z.string(),
  /** The reviewer's worker id in the session (r1-codex-implementer). */
  reviewerId: z.string(),
  reviewer: z.string(),
  target: z.string(),
  focus: z.string(),
  verdict: VerdictSchema,
  /** false when the reviewer gave no valid verdict and the review counts as a concern. */
  valid: z.boolean(),
});

export const DecisionSchema = z.enum(['STOP_AND_ESCALATE', 'PAUSE_AND_CLARIFY', 'LOG_WARNING', 'CONTINUE']);
export type Decision = z.infer<typeof DecisionSchema>;

export const DecisionEventSchema = z.object({
  ...base,
  type: z.literal('decision'),
  roundId: z.string(),
  target: z.string(),
  decision: DecisionSchema,
  counts: z.object({ approve: z.number().int(), concern: z.number().int(), blocker: z.number().int() }),
  /** What the session did about it. */
  action: z.string(),
});

export const SafetyEventSchema = z.object({
  ...base,
  type: z.literal('safety'),
  workerId: z.string().optional(),
  rule: z.string(),
  subject: z.string(),
  action: z.enum(['log', 'pause', 'stop', 'refuse', 'warn']),
  detail: z.string(),
});

/** A session's checkouts and branches (src/workspace): what was made, committed, integrated, applied, discarded. */
export const WorkspaceEventSchema = z.object({
  ...base,
  type: z.literal('workspace'),
  action: z.enum(['base', 'checkout', 'setup', 'commit', 'conflict', 'integrate', 'apply', 'discard']),
  workerId: z.string().optional(),
  branch: z.string().optional(),
  commit: z.string().optional(),
  /** A change counted: start..head of a branch. */
  change: z
    .object({
      files: z.number().int().nonnegative(),
      additions: z.number().int().nonnegative(),
      deletions: z.number().int().nonnegative(),
    })
    .optional(),
  files: z.array(z.string()).optional(),
  /** setup: the command (argv), its exit code and the tail of its output. */
  command: z.array(z.string()).optional(),
  exitCode: z.number().int().nullable().optional(),
  output: z.string().optional(),
  /** A sentence for a person. */
  detail: z.string(),
});

/** Who was told what (src/notify): a blocker that needs a person, a session's end, a budget nearly spent. */
export const NotificationKindSchema = z.enum(['needs-input', 'done', 'budget']);
export type NotificationKind = z.infer<typeof NotificationKindSchema>;

export const NotificationEventSchema = z.object({
  ...base,
  type: z.literal('notification'),
  kind: NotificationKindSchema,
  channel: z.enum(['webhook', 'desktop']),
  /** Where it went, without what could be secret: a webhook's origin (its path often is the key), or `desktop`. */
  target: z.string(),
  ok: z.boolean(),
  /** How many tries it took, or were made before it was given up. */
  attempts: z.number().int().nonnegative(),
  workerId: z.string().optional(),
  blockerId: z.string().optional(),
  /** What the person was told. */
  text: z.string(),
  /** Why it failed (the last try's error). */
  error: z.string().optional(),
});

export const OrchestratorEventSchema = z.discriminatedUnion('type', [
  AgentEventSchema,
  StateEventSchema,
  RecoveryEventSchema,
  BlockerEventSchema,
  ReviewEventSchema,
  DecisionEventSchema,
  SafetyEventSchema,
  WorkspaceEventSchema,
  NotificationEventSchema,
]);
export type OrchestratorEvent = z.infer<typeof OrchestratorEventSchema>;
export type EventType = OrchestratorEvent['type'];
export type EventOfType<T extends EventType> = Extract<OrchestratorEvent, { type: T }>;
export const EVENT_TYPES: EventType[] = [
  'agent',
  'state',
  'recovery',
  'blocker',
  'review',
  'decision',
  'safety',
  'workspace',
  'notification',
];

type Unsequenced<E> = E extends unknown ? Omit<E, 'seq' | 'ts' | 'sessionId'> & { ts?: string } : never;
/** An event before the store stamps it with seq, sessionId and (when absent) ts. */
export type NewEvent = Unsequenced<OrchestratorEvent>;
