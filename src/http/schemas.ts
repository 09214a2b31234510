/**
 * The zod schemas of the HTTP API: path and query parameters, request bodies and responses. The routes
 * validate with them and GET /api/v1/openapi.json is generated from them, so the two cannot drift apart.
 * Response schemas mirror TypeScript interfaces of the runtime; the type checks at the end fail the build
 * when one side changes without the other.
 */
import { z } from 'zod';
import {
  AgentNameSchema,
  BlockerChoiceSchema,
  BlockerFieldsSchema,
  DecisionEventSchema,
  DecisionSchema,
  FailureSignalSchema,
  RecoveryEventSchema,
  ReviewEventSchema,
  UsageSchema,
} from '../domain/events.js';
import { SessionSpecSchema } from '../domain/spec.js';
import type { MachineGraph } from '../machines/graph.js';
import type { SessionSummary } from '../runtime/session-manager.js';
import type { SessionView } from '../runtime/view.js';
import { SESSION_ID_PATTERN } from '../runtime/session-folder.js';

// --- parameters -----------------------------------------------------------------------------------------

export const SessionIdParam = z.string().regex(SESSION_ID_PATTERN, 'session ids look like orch_20261121_093000_ab12');
/** Worker ids name files in the session folder: no dots, no slashes. `~` appears in respawned incarnations. */
export const WorkerIdParam = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_~-]{0,63}$/, 'worker ids are letters, digits, "_", "~" and "-" (at most 64)');
export const BlockerIdParam = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'blocker ids look like b1');
/** Digits only: `1e3`, `-1`, ` 5` and `0x10` are refused rather than guessed at. */
const digits = (max: number, what: string) =>
  z
    .string()
    .regex(/^\d{1,15}$/, `${what} must be a non-negative integer`)
    .transform(Number)
    .pipe(z.number().int().min(0).max(max));

export const LastEventIdSchema = digits(Number.MAX_SAFE_INTEGER, 'Last-Event-ID');

export const LogsQuerySchema = z.object({
  lines: digits(10_000, 'lines')
    .pipe(z.number().min(1))
    .optional()
    .describe('how many lines from the end (1..10000, default 200)'),
  stream: z
    .enum(['stdout', 'stderr'])
    .optional()
    .describe('which file: the agent stdout (JSON lines) or its stderr (default stdout)'),
});

export const EventsQuerySchema = z.object({
  lastEventId: digits(Number.MAX_SAFE_INTEGER, 'lastEventId')
    .optional()
    .describe('replay events after this seq (the Last-Event-ID header wins)'),
  tail: digits(10_000, 'tail')
    .optional()
    .describe('without a Last-Event-ID: replay only the last N events (default: none)'),
  token: z
    .string()
    .optional()
    .describe('the bearer token (EventSource cannot send headers); accepted on this route only'),
});

// --- request bodies ---------------------------------------------------------------------------------------

export const OrchestrateBodySchema = z
  .strictObject({
    targetDir: z
      .string()
      .min(1)
      .max(4096)
      .describe('the repository the agents work on: must exist (relative paths resolve against the server cwd)'),
    spec: SessionSpecSchema.optional().describe(
      'the full session spec; without it the default trio (gemini architect, claude implementer, codex verifier) runs',
    ),
    task: z
      .string()
      .min(1)
      .max(100_000)
      .optional()
      .describe('what to do; required without spec, replaces spec.task with it'),
    agents: z
      .array(AgentNameSchema)
      .min(1)
      .max(16)
      .optional()
      .describe('run only the workers of these agents (and the reviews between them)'),
    base: z
      .string()
      .min(1)
      .max(256)
      .optional()
      .describe('in a git repository: start the workers from this commit instead of HEAD plus the uncommitted changes'),
    inPlace: z
      .boolean()
      .optional()
      .describe('no checkouts of their own: the agents edit targetDir itself (as outside git)'),
  })
  .refine((body) => body.spec !== undefined || body.task !== undefined, {
    path: ['task'],
    message: 'give a task (or a full spec)',
  });

export const WorkerControlBodySchema = z.strictObject({
  workerId: WorkerIdParam.optional().describe('act on this worker only; without it, on the whole session'),
});
/** Who gives a command or an answer, for the record ("answered retry by cli"). */
const BySchema = z
  .enum(['api', 'cli', 'dashboard'])
  .default('api')
  .describe('who gives it, for the record ("answered retry by cli")');

export const StopBodySchema = z.strictObject({
  reason: z.string().min(1).max(2000).optional().describe('why the session is stopped (the whole session only)'),
  workerId: WorkerIdParam.optional().describe(
    'stop this worker only: its agent ends and the session goes on without it (the worker ends skipped; an open blocker of it is answered skip)',
  ),
  by: BySchema,
});
export const ReviewBodySchema = z.strictObject({
  target: WorkerIdParam.optional().describe('the worker to review; without it, every worker that has reviewers'),
});

export { BlockerChoiceSchema };
export const ResolveBodySchema = z
  .strictObject({
    choice: BlockerChoiceSchema.describe('must be one of the blocker options'),
    text: z.string().max(20_000).optional().describe('the answer (required when choice is answer)'),
    agent: AgentNameSchema.optional().describe(
      "with choice agent: the agent that resolves the merge conflict (default: the worker's own)",
    ),
    by: BySchema,
  })
  .refine((body) => body.choice !== 'answer' || (body.text !== undefined && body.text.trim() !== ''), {
    path: ['text'],
    message: 'choice "answer" needs a text',
  })
  .refine((body) => body.agent === undefined || body.choice === 'agent', {
    path: ['agent'],
    message: 'an agent goes with choice "agent"',
  });

export const DiffQuerySchema = z.object({
  worker: WorkerIdParam.optional().describe(
    "only this worker's own change (start..head of its branch); without it, the session's",
  ),
  format: z
    .enum(['unified', 'files'])
    .optional()
    .describe('unified: the diff as text/x-diff (git apply takes it); files: JSON, one entry per file (default)'),
});
export const ApplyBodySchema = z.strictObject({
  worker: WorkerIdParam.optional().describe("apply only this worker's own change"),
  merge: z
    .boolean()
    .optional()
    .describe(
      'merge the branch as commits (refused while uncommitted changes would be touched); default: uncommitted changes',
    ),
  by: BySchema,
});
export const DiscardBodySchema = z.strictObject({
  force: z.boolean().optional().describe('throw away work that was never applied'),
  by: BySchema,
});

// --- responses ------------------------------------------------------------------------------------------------

export const ErrorSchema = z.object({ error: z.string(), details: z.unknown().optional() });

export const WorkerStatusSchema = z.enum([
  'spawned',
  'running',
  'paused',
  'stopping',
  'blocked',
  'recovering',
  'reviewing',
  'completed',
  'failed',
  'stopped',
  'skipped',
]);
export const OutcomeSchema = z
  .enum(['completed', 'partial', 'stopped', 'escalated'])
  .nullable()
  .describe(
    'partial: it ended on its own but not every worker completed (skipped, or left out of the result): stopReason names them',
  );

export const ChangeStatSchema = z.object({
  branch: z.string(),
  start: z.string().nullable(),
  head: z.string().nullable(),
  files: z.number(),
  additions: z.number(),
  deletions: z.number(),
});

const CountsSchema = z.object({ files: z.number(), additions: z.number(), deletions: z.number() });

export const WorkspaceViewSchema = z
  .discriminatedUnion('mode', [
    z.object({
      mode: z.literal('checkouts'),
      base: z.object({ commit: z.string(), summary: z.string() }),
      checkouts: z.string(),
      result: z.object({
        branch: z.string(),
        status: z.enum(['pending', 'blocked', 'done']),
        head: z.string().nullable(),
        change: CountsSchema.nullable(),
        excluded: z.array(z.string()),
      }),
    }),
    z.object({ mode: z.literal('in-place'), reason: z.string() }),
  ])
  .describe(
    'where the agents work: checkouts of their own from a base commit, or the target directory itself (outside git, --in-place)',
  );

export const WorkerViewSchema = z.object({
  id: z.string(),
  agent: z.string(),
  role: z.string(),
  kind: z.enum(['worker', 'reviewer']),
  roundId: z.string().nullable(),
  status: WorkerStatusSchema,
  state: z.string(),
  progress: z.number(),
  plan: z.object({ done: z.number(), total: z.number() }).nullable(),
  attempt: z.number(),
  pid: z.number().nullable(),
  agentSessionId: z.string().nullable(),
  dependsOn: z.array(z.string()),
  usage: UsageSchema,
  lastActivity: z.string().nullable(),
  summary: z.string().nullable(),
  lastFailure: FailureSignalSchema.nullable(),
  blockerId: z.string().nullable(),
  reason: z.string().nullable(),
  fixes: z.record(z.string(), z.boolean()),
  filesChanged: z.array(z.string()),
  change: ChangeStatSchema.nullable().describe(
    'its branch and change so far (start..head), in a session with checkouts',
  ),
  reviewers: z.array(z.string()).describe("the agents that review it (the spec's reviews); empty: nobody reviews it"),
});

export const BlockerRecordSchema = z.object({
  id: z.string(),
  ...BlockerFieldsSchema.shape,
  action: BlockerFieldsSchema.shape.action.describe('what a person must do'),
  options: BlockerFieldsSchema.shape.options.describe('the answers it accepts (POST /api/v1/{sid}/blockers/{id})'),
  open: z.boolean(),
});

export const RoundRecordSchema = z.object({
  roundId: z.string(),
  targets: z.array(z.string()),
  reason: z.string(),
  decision: DecisionSchema.nullable(),
  state: z.string().describe("the round machine's state while it runs (requesting, collecting ...), else done"),
});

export const SessionViewSchema = z.object({
  sessionId: z.string(),
  createdAt: z.string(),
  task: z.string(),
  targetDir: z.string(),
  baseCommit: z.string().nullable(),
  workspace: WorkspaceViewSchema,
  state: z
    .string()
    .describe('the session machine state: running, paused, waiting, integrating, stopping, completed, stopped ...'),
  outcome: OutcomeSchema,
  stopReason: z.string().nullable(),
  workers: z.array(WorkerViewSchema),
  blockers: z.array(BlockerRecordSchema),
  rounds: z.array(RoundRecordSchema),
  usage: UsageSchema,
  limits: z
    .object({
      maxCostUsd: z.number().optional(),
      maxTokens: z.number().optional(),
      maxRssMb: z.number().optional(),
      maxCpuPercent: z.number().optional(),
      session: z.object({ maxCostUsd: z.number().optional(), maxTokens: z.number().optional() }),
    })
    .describe(
      'budgets and resource limits of the spec: a crossing is a safety event and a BUDGET_EXCEEDED / RESOURCE_LIMIT blocker',
    ),
  lastSeq: z.number().describe('the seq of the last event in the log when the view was built'),
});

const RunnerSchema = z
  .object({ pid: z.number(), host: z.string().nullable(), serverUrl: z.string().nullable() })
  .nullable()
  .describe('the orchestrator process that runs the session, in this server or another (null: none does)');

export const SessionStateSchema = SessionViewSchema.extend({
  live: z.boolean().describe('the session runs in this server (controls work only then)'),
  runner: RunnerSchema,
  reviews: z.array(ReviewEventSchema),
  decisions: z.array(DecisionEventSchema),
  recoveries: z.array(RecoveryEventSchema),
});

export const SessionSummarySchema = z.object({
  sessionId: z.string(),
  createdAt: z.string(),
  task: z.string(),
  targetDir: z.string(),
  state: z.string(),
  outcome: OutcomeSchema,
  live: z.boolean().describe('the session runs in this server'),
  runner: RunnerSchema,
  workers: z.array(z.object({ id: z.string(), agent: z.string(), status: z.string(), progress: z.number() })),
  openBlockers: z.number(),
});

export const SessionsResponseSchema = z.object({ sessions: z.array(SessionSummarySchema) });
export const OrchestrateResponseSchema = z.object({
  sessionId: z.string(),
  url: z.string().describe('the dashboard page of the session (without the token)'),
});
export const ControlResponseSchema = z.object({
  ok: z.literal(true),
  state: z.string().describe('the session state after the command'),
});
export const ReviewResponseSchema = ControlResponseSchema.extend({
  waitsFor: z
    .array(z.string())
    .describe('targets still at work: only finished work is reviewed, so the round starts once they finish'),
});
export const ResolveResponseSchema = ControlResponseSchema.extend({ blocker: BlockerRecordSchema });
const DiffFileSchema = z.object({
  path: z.string(),
  oldPath: z.string().optional(),
  status: z.enum(['added', 'modified', 'deleted', 'renamed', 'copied', 'type-changed']),
  additions: z.number(),
  deletions: z.number(),
  binary: z.boolean(),
  worker: z.string().nullable().describe('whose change it is (the whole session: null)'),
});
const RangeSchema = z.object({ from: z.string(), to: z.string(), branch: z.string(), worker: z.string().nullable() });
export const DiffResponseSchema = z.object({
  ranges: z.array(RangeSchema),
  files: z.array(DiffFileSchema),
  note: z.string().nullable(),
});
export const ApplyResponseSchema = z.object({
  mode: z.enum(['changes', 'merge']),
  files: z.array(DiffFileSchema.omit({ worker: true })),
  conflicts: z.array(z.string()).describe('files left with conflict markers (changes) or unmerged (merge)'),
  backup: z.string().nullable().describe('the checkout before the apply, as a commit (changes mode)'),
  summary: z.string(),
  range: RangeSchema,
});
export const DiscardResponseSchema = z.object({ summary: z.string(), refs: z.array(z.string()) });

export const LogsResponseSchema = z.object({
  workerId: z.string(),
  stream: z.enum(['stdout', 'stderr']),
  lines: z.array(z.string()),
  truncated: z.boolean().describe('the file holds more before these lines'),
});

const GraphSchema = z.object({
  id: z.string(),
  nodes: z.array(
    z.object({
      id: z.string(),
      key: z.string(),
      parent: z.string().nullable(),
      type: z.enum(['atomic', 'compound', 'parallel', 'final', 'history']),
      initial: z.string().nullable(),
    }),
  ),
  edges: z.array(
    z.object({
      key: z.string(),
      source: z.string(),
      target: z.string(),
      event: z.string().describe('empty for an eventless (always) transition'),
      guard: z.string().nullable(),
      targetless: z.boolean(),
    }),
  ),
});
export const MachinesResponseSchema = z.object({ session: GraphSchema, worker: GraphSchema, review: GraphSchema });
export const OpenApiResponseSchema = z.record(z.string(), z.unknown());

// --- drift checks: these lines stop compiling when a runtime type and its schema disagree ------------------

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Check<T extends true> = T;
export type SchemaChecks = [
  Check<Same<z.output<typeof SessionViewSchema>, SessionView>>,
  Check<Same<z.output<typeof SessionSummarySchema>, SessionSummary>>,
  Check<Same<z.output<typeof GraphSchema>, MachineGraph>>,
];
