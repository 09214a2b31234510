/**
 * The zod schemas of the HTTP API's responses (GET /api/v1/openapi.json is generated from them; the route tests
 * parse what the routes answer with them). They mirror TypeScript interfaces of the runtime; the type checks at
 * the end fail the build when one side changes without the other.
 */
import * as z from 'zod';
import {
  BlockerFieldsSchema,
  DecisionEventSchema,
  DecisionSchema,
  FailureSignalSchema,
  RecoveryEventSchema,
  ReviewEventSchema,
  UsageSchema,
} from '../domain/events.js';
import type { MachineGraph } from '../machines/graph.js';
import type { SessionSummary } from '../runtime/session-manager.js';
import type { SessionView } from '../runtime/view.js';

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
    'partial: it ended on its own but not every worker completed ' +
      '(skipped, or left out of the result): stopReason names them',
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
    'where the agents work: checkouts of their own from a base commit, ' +
      'or the target directory itself (outside git, --in-place)',
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
  mode: z
    .enum(['interactive', 'exec'])
    .describe('interactive: it asks before it acts and takes messages while it runs (POST .../workers/{w}/messages)'),
  retryAt: z.string().nullable().describe('waiting to be relaunched after a failure: until when (ISO 8601)'),
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
      'budgets and resource limits of the spec: ' +
        'a crossing is a safety event and a BUDGET_EXCEEDED / RESOURCE_LIMIT blocker',
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
