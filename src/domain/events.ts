/**
 * The one event vocabulary of the whole system. Every fact (agent output, machine transition, recovery,
 * blocker, review verdict, decision, safety violation) is one OrchestratorEvent, appended to the session's
 * event log, which assigns `seq` (1, 2, 3 ... per session, gap-free). `seq` is the SSE id.
 *
 * Agent payloads come from the adapters in src/agents (pure functions over one stdout line); everything
 * else comes from the machines through the runtime.
 */
import * as z from 'zod';
import {
  AgentCommandSchema,
  AgentErrorSchema,
  AgentFileChangeSchema,
  AgentInitSchema,
  AgentMalformedSchema,
  AgentMessageSchema,
  AgentPlanSchema,
  AgentReasoningSchema,
  AgentResultSchema,
  AgentToolCallSchema,
  AgentToolResultSchema,
  AgentUnknownSchema,
  AgentUsageSchema,
} from './agent-payload.js';
import { BLOCKER_CHOICES, EVENT_TYPES } from './event-types.js';
import { ConflictSchema, FailureSignalSchema } from './failure-signal.js';
import { AgentNameSchema } from './agent-name.js';

// The agent payloads and the failure signals are part of the vocabulary: importers find them here too.
export * from './agent-payload.js';
export * from './failure-signal.js';

export { AgentNameSchema, type AgentName } from './agent-name.js';

export const SourceSchema = z.object({
  kind: z.enum(['session', 'worker', 'review', 'supervisor', 'safety']),
  id: z.string(),
});
export type EventSource = z.infer<typeof SourceSchema>;

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
export const BlockerChoiceSchema = z.enum(BLOCKER_CHOICES);
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
  /** An interactive agent asks before a tool runs, and the permission rules say to ask a person. */
  'PERMISSION_REQUEST',
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
  /** PERMISSION_REQUEST: the request it asks about, and the rule `allow-always` adds. */
  permission: z
    .object({
      requestId: z.string(),
      attempt: z.number().int(),
      tool: z.string(),
      command: z.string().optional(),
      paths: z.array(z.string()).optional(),
      url: z.string().optional(),
      rule: z.string(),
    })
    .optional(),
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

/**
 * An interactive agent asked before a tool ran (src/domain/permission-rules.ts): what it asked, and who decided how.
 * A request decided by a rule is one event; one a person is asked about is two (`ask`, then the answer).
 */
export const PermissionEventSchema = z.object({
  ...base,
  type: z.literal('permission'),
  workerId: z.string(),
  agent: z.string(),
  attempt: z.number().int().positive(),
  /** The protocol's own id of the request (claude's request_id, a JSON-RPC id). */
  requestId: z.string(),
  tool: z.string(),
  command: z.string().optional(),
  paths: z.array(z.string()).optional(),
  url: z.string().optional(),
  decision: z.enum(['allow', 'deny', 'ask']),
  /** `rule` (the spec's or a built-in one), `default` (no rule named it), or `person`. */
  by: z.enum(['rule', 'default', 'person']),
  /** The rule that decided; for a person's `allow-always`, the rule it added to the session. */
  rule: z.string().optional(),
  /** Who answered, when a person did. */
  person: z.string().optional(),
  blockerId: z.string().optional(),
  /** What a denied agent is told. */
  reason: z.string().optional(),
});
export type PermissionEvent = z.infer<typeof PermissionEventSchema>;

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
  PermissionEventSchema,
]);
export type OrchestratorEvent = z.infer<typeof OrchestratorEventSchema>;
export type EventType = OrchestratorEvent['type'];
export type EventOfType<T extends EventType> = Extract<OrchestratorEvent, { type: T }>;
/** Every event type, as the SSE stream names its events (a list of its own, without zod: the dashboard takes it). */

export { EVENT_TYPES };
// Both ways: every type of the union is in the list, and the list holds nothing else.
type Listed = (typeof EVENT_TYPES)[number];
const _everyTypeListed: [EventType] extends [Listed] ? ([Listed] extends [EventType] ? true : never) : never = true;
void _everyTypeListed;

type Unsequenced<E> = E extends unknown ? Omit<E, 'seq' | 'ts' | 'sessionId'> & { ts?: string } : never;
/** An event before the store stamps it with seq, sessionId and (when absent) ts. */
export type NewEvent = Unsequenced<OrchestratorEvent>;
