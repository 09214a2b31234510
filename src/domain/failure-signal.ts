/**
 * Failure signals: what an adapter's classifyFailure returns for an attempt that failed (or what the process actor
 * and the checkouts say of one); the input of the recovery policy (./recovery-policy.ts).
 */
import * as z from 'zod';

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
