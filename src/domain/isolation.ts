/**
 * Where a session's agents work. In a git repository each worker gets a checkout of its own, on its own branch,
 * started from the session's base commit (src/workspace); outside git, or with `--in-place`, agents edit the
 * target directory itself, as before isolation existed.
 */
import * as z from 'zod';

export const BaseSchema = z.object({
  commit: z.string(),
  /** HEAD when the session started (null in a repository with no commit yet). */
  head: z.string().nullable(),
  branch: z.string().nullable(),
  /** `--base REF` as given; null for HEAD plus the uncommitted changes. */
  ref: z.string().nullable(),
  /** Uncommitted paths of the checkout taken into the base. */
  uncommitted: z.number().int().nonnegative(),
  /** One line: "main @ 1a2b3c4d5e6f + 3 uncommitted files". */
  summary: z.string(),
});
export type BaseInfo = z.infer<typeof BaseSchema>;

export const IsolationSchema = z.discriminatedUnion('mode', [
  z.object({
    mode: z.literal('checkouts'),
    /** The top of the user's working tree, its common git dir, and the target's place inside it. */
    repo: z.object({ root: z.string(), commonDir: z.string(), prefix: z.string() }),
    base: BaseSchema,
    /** Where the checkouts of its sessions are: `<checkoutsDir>/<sid>/<worker>` (see checkoutsDirFor). */
    checkoutsDir: z.string().optional(),
  }),
  z.object({
    mode: z.literal('in-place'),
    /** Why: not a git repository, or --in-place. Shown as a warning at the start and in `status`. */
    reason: z.string(),
  }),
]);
export type Isolation = z.infer<typeof IsolationSchema>;

/** How a session is asked to isolate its workers (CLI `--in-place`, `--base REF`; the API's body). */
export interface IsolationRequest {
  inPlace?: boolean;
  base?: string;
}

/**
 * Where the worker checkouts of sessions go: `<workspace>/checkouts`, unless the workspace lies inside the user's
 * working tree (the default `.orchestrator/`): copies of the project there would be found by the user's own tools
 * (a test runner or linter crawling the tree would run or lint them twice), so they go to
 * `<git dir>/orchestrate/checkouts`, where no tool looks.
 */
export function checkoutsDirFor(workspace: string, repo: { root: string; commonDir: string }): string {
  const ws = workspace.replace(/\/+$/, '');
  const root = repo.root.replace(/\/+$/, '');
  const inside = ws === root || ws.startsWith(`${root}/`);
  return inside ? `${repo.commonDir.replace(/\/+$/, '')}/orchestrate/checkouts` : `${ws}/checkouts`;
}

/** The folder of one session's checkouts. */
export function sessionCheckoutsDir(
  workspace: string,
  sessionId: string,
  isolation: Extract<Isolation, { mode: 'checkouts' }>,
): string {
  return `${isolation.checkoutsDir ?? `${workspace.replace(/\/+$/, '')}/checkouts`}/${sessionId}`;
}

/** A branch's change counted: start..head (a worker's own change, or the session's result against the base). */
export interface ChangeStat {
  branch: string;
  start: string | null;
  head: string | null;
  files: number;
  additions: number;
  deletions: number;
}

/** How each worker's branch went into the session's result. */
export interface IntegrationStep {
  worker: string;
  how: 'fast-forward' | 'merge' | 'contained';
  head: string;
}
