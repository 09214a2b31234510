/**
 * What a session folder's session.json and its agents' launch records (agents/<worker>.proc.json) hold, and their
 * schemas. The folder's layout, and a read of session.json that needs no schema, are in src/store/layout.ts.
 */
import * as z from 'zod';
import { SessionSpecSchema } from '../domain/spec.js';
import { IsolationSchema } from '../domain/isolation.js';
import { readSessionJson, SESSION_ID_PATTERN, SessionFileError } from './layout.js';

export const SessionMetaSchema = z.object({
  version: z.literal(1),
  sessionId: z.string().regex(SESSION_ID_PATTERN),
  createdAt: z.string(),
  targetDir: z.string(),
  /** HEAD of the target repository when the session started (reviews diff against it); null if not a git repo. */
  baseCommit: z.string().nullable(),
  /** Where its agents work (absent in sessions from before worker checkouts existed: in place). */
  isolation: IsolationSchema.optional(),
  spec: SessionSpecSchema,
});
export type SessionMeta = z.infer<typeof SessionMetaSchema>;

export const ProcRecordSchema = z.object({
  attempt: z.number().int().positive(),
  pid: z.number().int().positive(),
  pgid: z.number().int().positive(),
  /** Field 22 of /proc/<pid>/stat (clock ticks after boot): a reused pid has a different start time. */
  startTime: z.string(),
  stdoutStart: z.number().int().nonnegative(),
  stderrStart: z.number().int().nonnegative(),
  launchedAt: z.string(),
  argv: z.array(z.string()),
});
export type ProcRecord = z.infer<typeof ProcRecordSchema>;

export function readSessionMeta(workspace: string, sessionId: string): SessionMeta {
  const { path, data } = readSessionJson(workspace, sessionId);
  const parsed = SessionMetaSchema.safeParse(data);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
  throw new SessionFileError(`${path} is not a session file this orchestrator reads (${where}${issue?.message})`);
}
