/**
 * Agent payloads: what an adapter's parseLine (src/agents) returns for one line of an agent's stdout, normalized
 * across the CLIs. Each becomes an `agent` event (./events.ts) with the line's place in the stdout file.
 */
import * as z from 'zod';

/** Lines that are not JSON are kept, but only this much of them (bytes of UTF-8, roughly). */
export const MALFORMED_LINE_LIMIT = 2048;
/** Free text carried inside an event (tool output, messages) is cut past this many characters. */
export const TEXT_LIMIT = 16_384;

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
