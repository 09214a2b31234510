/**
 * Verdicts -> Decision, the fixed policy of the seed, and verdict extraction from a reviewer's final message.
 *
 *   any blocker          -> STOP_AND_ESCALATE
 *   2 or more concerns   -> PAUSE_AND_CLARIFY
 *   exactly 1 concern    -> LOG_WARNING
 *   all approve          -> CONTINUE
 */
import { VerdictSchema, type Decision, type Verdict } from './events.js';

export interface VerdictCounts {
  approve: number;
  concern: number;
  blocker: number;
}

export function countVerdicts(verdicts: readonly Pick<Verdict, 'verdict'>[]): VerdictCounts {
  const counts: VerdictCounts = { approve: 0, concern: 0, blocker: 0 };
  for (const v of verdicts) counts[v.verdict]++;
  return counts;
}

export function decide(verdicts: readonly Pick<Verdict, 'verdict'>[]): Decision {
  const counts = countVerdicts(verdicts);
  if (counts.blocker > 0) return 'STOP_AND_ESCALATE';
  if (counts.concern >= 2) return 'PAUSE_AND_CLARIFY';
  if (counts.concern === 1) return 'LOG_WARNING';
  return 'CONTINUE';
}

/** The review a reviewer counts as when it gave no usable verdict (unparseable twice, failed, timed out). */
export function noVerdict(reason: string): Verdict {
  return { verdict: 'concern', summary: reason, issues: [{ severity: 'concern', message: reason }] };
}

/**
 * Find the verdict in a reviewer's final message: a JSON object in a ```json fence, bare, or inside prose.
 * The last valid object wins (a reviewer may quote the format before answering). null when there is none.
 */
export function extractVerdict(text: string): Verdict | null {
  const candidates = [...fencedBlocks(text), ...jsonObjects(text)];
  for (let i = candidates.length - 1; i >= 0; i--) {
    const verdict = parseVerdict(candidates[i] as string);
    if (verdict) return verdict;
  }
  return null;
}

function parseVerdict(candidate: string): Verdict | null {
  let value: unknown;
  try {
    value = JSON.parse(candidate);
  } catch {
    return null;
  }
  const parsed = VerdictSchema.safeParse(normalize(value));
  return parsed.success ? parsed.data : null;
}

/** Tolerate what models commonly do: upper-case enums, numeric strings for lines. Nothing else. */
function normalize(value: unknown): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
  const v = { ...(value as Record<string, unknown>) };
  if (typeof v.verdict === 'string') v.verdict = v.verdict.toLowerCase().trim();
  if (Array.isArray(v.issues)) {
    v.issues = v.issues.map((issue) => {
      if (!issue || typeof issue !== 'object') return issue;
      const i = { ...(issue as Record<string, unknown>) };
      if (typeof i.severity === 'string') i.severity = i.severity.toLowerCase().trim();
      if (typeof i.line === 'string' && /^\d+$/.test(i.line)) i.line = Number(i.line);
      if (i.line === null) delete i.line;
      if (i.file === null) delete i.file;
      return i;
    });
  }
  return v;
}

function fencedBlocks(text: string): string[] {
  const blocks: string[] = [];
  const fence = /```(?:json|JSON)?\s*\n([\s\S]*?)```/g;
  for (let m = fence.exec(text); m; m = fence.exec(text)) blocks.push((m[1] ?? '').trim());
  return blocks;
}

/**
 * Every balanced {...} span (string-aware), in order of where it starts: nested spans too, so a verdict is
 * still tried when prose braces ("`if (ok) {` ... `}`") enclose it in a larger span that is not JSON.
 */
function jsonObjects(text: string): string[] {
  const found: string[] = [];
  for (let start = text.indexOf('{'); start !== -1; start = text.indexOf('{', start + 1)) {
    const end = matchBrace(text, start);
    if (end !== -1) found.push(text.slice(start, end + 1));
  }
  return found;
}

function matchBrace(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{') depth++;
    else if (ch === '}' && --depth === 0) return i;
  }
  return -1;
}
