/**
 * The zod schemas of the HTTP API: path and query parameters and request bodies here, responses in
 * ./response-schemas.ts (re-exported). The routes validate with them and GET /api/v1/openapi.json is generated
 * from them, so the two cannot drift apart.
 */
import * as z from 'zod';
import { AgentNameSchema, BlockerChoiceSchema } from '../domain/events.js';
import { SessionSpecSchema } from '../domain/spec.js';
import { SESSION_ID_PATTERN } from '../runtime/session-folder.js';

export * from './response-schemas.js';

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

/** A git value passed to git as an argument: never one that git would read as an option. */
const gitArgument = (what: string, max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[^-\s][^\s]*$/, `${what} must not start with "-" or contain spaces`);

/** POST /api/v1/orchestrate on a fleet API node (src/fleet/api.ts): the session is queued for the runners. */
export const FleetOrchestrateBodySchema = z
  .strictObject({
    repo: gitArgument('repo', 4096).describe('a git URL every runner can fetch (its branches are pushed back to it)'),
    base: gitArgument('base', 256).optional().describe('the ref or commit the workers start from (default: HEAD)'),
    spec: SessionSpecSchema.optional().describe('the full session spec; without it the default trio runs'),
    task: z.string().min(1).max(100_000).optional().describe('what to do; required without spec'),
    agents: z.array(AgentNameSchema).min(1).max(16).optional().describe('run only the workers of these agents'),
    labels: z
      .array(z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'labels are lowercase words: gpu, eu-west'))
      .max(16)
      .optional()
      .describe('only runners with all these labels claim it'),
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

/** POST /api/v1/{sid}/workers/{w}/messages: a person's message into an interactive worker's running agent. */
export const MessageBodySchema = z.strictObject({
  text: z.string().min(1, 'say something').max(100_000).describe('the message, as the agent will read it'),
  by: BySchema,
});

export const StopBodySchema = z.strictObject({
  reason: z.string().min(1).max(2000).optional().describe('why the session is stopped (the whole session only)'),
  workerId: WorkerIdParam.optional().describe(
    'stop this worker only: its agent ends and the session goes on without it ' +
      '(the worker ends skipped; an open blocker of it is answered skip)',
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
