/**
 * What each role is asked, and how a prompt is put together. Pure: the diff a review prompt quotes is read
 * by the caller and passed in.
 */

export const ROLE_INSTRUCTIONS: Record<string, string> = {
  architect: [
    'You are the ARCHITECT in a team of AI coding agents working on one repository.',
    'Study the repository and the task. Write a short design: the modules to add or change, their',
    'responsibilities, the data flow, risks, and a numbered implementation plan the implementer can follow.',
    'Write the design to ARCHITECTURE.md (or extend it) in the repository root. Do not implement the task.',
    'End with a summary of the design in a few sentences.',
  ].join('\n'),
  implementer: [
    'You are the IMPLEMENTER in a team of AI coding agents working on one repository.',
    "Implement the task in the repository, following the architect's design when there is one.",
    'Keep changes focused, add or update tests, and run them. Keep a todo list of your steps up to date.',
    'End with a summary of what you changed and how you verified it.',
  ].join('\n'),
  verifier: [
    'You are the VERIFIER in a team of AI coding agents working on one repository.',
    'Check that the task is really done: read the changes, run the build and the tests, try the feature.',
    'Fix only small, obvious defects; report anything larger.',
    'End with a summary: what you checked, what passed, what failed.',
  ].join('\n'),
  reviewer: [
    "You are a REVIEWER in a team of AI coding agents. Review another agent's work; do not change any file.",
  ].join('\n'),
};

export interface UpstreamSummary {
  workerId: string;
  role: string;
  agent: string;
  summary: string;
}

export type PromptSpec =
  | { kind: 'role'; role: string; task: string; custom?: string; upstream: UpstreamSummary[] }
  | { kind: 'continue'; reason: 'resume' | 'max_turns' }
  | { kind: 'follow-up'; text: string }
  | ReviewPromptSpec;

export interface ReviewPromptSpec {
  kind: 'review';
  task: string;
  targetId: string;
  targetRole: string;
  targetAgent: string;
  targetSummary: string;
  focus: string;
  targetDir: string;
  baseCommit: string | null;
  diffLimitBytes: number;
  /** The second ask after an answer without a valid verdict. */
  strict: boolean;
}

export const VERDICT_FORMAT =
  '{"verdict":"approve"|"concern"|"blocker","summary":"...",' +
  '"issues":[{"severity":"blocker"|"concern"|"nit","file":"...","line":12,"message":"..."}]}';

export function renderRolePrompt(spec: Extract<PromptSpec, { kind: 'role' }>): string {
  const instructions =
    spec.custom ??
    ROLE_INSTRUCTIONS[spec.role] ??
    `You are the ${spec.role.toUpperCase()} in a team of AI coding agents working on one repository.`;
  const parts = [instructions, '', `TASK:\n${spec.task}`];
  for (const up of spec.upstream) {
    parts.push(
      '',
      `The ${up.role} (${up.workerId}, ${up.agent}) finished before you. Its summary:\n${up.summary || '(no summary)'}`,
    );
  }
  return parts.join('\n');
}

export function renderContinuePrompt(reason: Extract<PromptSpec, { kind: 'continue' }>['reason']): string {
  switch (reason) {
    case 'max_turns':
      return 'You ran out of turns. Continue the task where you left off, and finish it.';
    case 'resume':
      return 'Your previous run was interrupted by an error. Continue the task where you left off.';
  }
}

/**
 * The review prompt: the task, the target's role and summary, its diff against the commit the session
 * started from (cut past a limit, with a note), the focus, and the exact answer format.
 */
export function renderReviewPrompt(spec: ReviewPromptSpec, diff: string | null, against?: string): string {
  const parts = [
    ROLE_INSTRUCTIONS.reviewer,
    '',
    `TASK the team works on:\n${spec.task}`,
    '',
    `You review the work of the ${spec.targetRole} (${spec.targetId}, ${spec.targetAgent}). Focus: ${spec.focus}.`,
    '',
    `Its final summary:\n${spec.targetSummary || '(it gave no summary)'}`,
    '',
    renderDiffSection(
      diff,
      spec.diffLimitBytes,
      against ?? (spec.baseCommit ? `commit ${spec.baseCommit.slice(0, 12)}` : 'the start of the session'),
    ),
    '',
    'Answer with your review. Your final message must contain exactly one JSON object of this form:',
    VERDICT_FORMAT,
    'Use "blocker" only for defects that must stop the work, "concern" for real problems that need a decision,',
    '"approve" when the work is acceptable (nits allowed).',
  ];
  if (spec.strict) {
    parts.push(
      '',
      'IMPORTANT: your previous answer had no valid verdict. Reply with ONLY the JSON object, no prose, no code fence,',
      'exactly in the form above.',
    );
  }
  return parts.join('\n');
}

/** The stricter follow-up sent (by native resume) to a reviewer whose answer held no valid verdict. */
export function renderStrictVerdictRequest(): string {
  return [
    'Your previous answer did not contain a valid verdict.',
    'Reply with ONLY one JSON object, no prose and no code fence, exactly of this form:',
    VERDICT_FORMAT,
  ].join('\n');
}

function renderDiffSection(diff: string | null, limit: number, against: string): string {
  if (diff === null)
    return 'No git diff is available (the target directory is not a git repository). Inspect the files directly.';
  if (diff.trim() === '') return `The diff against ${against} is empty.`;
  const bytes = Buffer.byteLength(diff, 'utf8');
  if (bytes <= limit) return `Its changes (git diff against ${against}):\n\`\`\`diff\n${diff}\n\`\`\``;
  const buffer = Buffer.from(diff, 'utf8');
  let end = limit;
  // Step back over continuation bytes (10xxxxxx) so the cut lands on a character boundary.
  while (end > 0 && ((buffer[end] ?? 0) & 0xc0) === 0x80) end--;
  const cut = buffer.subarray(0, end).toString('utf8');
  return (
    `Its changes (git diff against ${against}; ${bytes} bytes, cut to the first ${limit}: ` +
    `read the files for the rest):\n\`\`\`diff\n${cut}\n\`\`\`\n[diff truncated]`
  );
}

/** What a person answered to the reviewers' concerns, sent to the reviewed worker by native resume. */
export function renderClarificationFollowUp(answer: string, concerns: readonly string[]): string {
  const list = concerns.length ? concerns.map((c) => `- ${c}`).join('\n') : '- (no details given)';
  return [
    'Reviewers raised concerns about your work:',
    list,
    '',
    'A person answered:',
    answer,
    '',
    'Address the concerns as the answer says, then end with a summary of what you changed.',
  ].join('\n');
}
