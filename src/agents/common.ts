/** Helpers shared by the adapters: JSON line decoding, truncation, malformed/unknown payloads. */
import { parseRetryAt } from './retry-time.js';
import {
  AgentPayloadSchema,
  MALFORMED_LINE_LIMIT,
  TEXT_LIMIT,
  type AgentPayload,
  type AgentPayloadOf,
  type FailureKind,
  type FailureSignal,
} from '../domain/events.js';
import type { FailureInput } from './types.js';

export type JsonObject = Record<string, unknown>;

export type DecodedLine = { ok: true; value: JsonObject } | { ok: false; payload: AgentPayloadOf<'malformed'> };

/** Parse one line as a JSON object; anything else becomes a `malformed` payload that keeps (the start of) the line. */
export function decodeJsonLine(line: string): DecodedLine {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) {
    return { ok: false, payload: malformed(line, 'not a JSON object') };
  }
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch (error) {
    return { ok: false, payload: malformed(line, `invalid JSON: ${(error as Error).message}`) };
  }
  if (!isObject(value)) {
    return { ok: false, payload: malformed(line, 'not a JSON object') };
  }
  return { ok: true, value };
}

export function malformed(line: string, reason: string): AgentPayloadOf<'malformed'> {
  const bytes = Buffer.byteLength(line, 'utf8');
  const truncated = bytes > MALFORMED_LINE_LIMIT;
  return {
    kind: 'malformed',
    line: truncated ? cutUtf8(line, MALFORMED_LINE_LIMIT) : line,
    truncated,
    bytes,
    reason,
  };
}

export function unknownPayload(value: JsonObject, originalType: string): AgentPayloadOf<'unknown'> {
  return { kind: 'unknown', originalType, raw: value };
}

/** Cut a string to at most `limit` characters, saying so. */
export function clip(text: string, limit = TEXT_LIMIT): string {
  if (text.length <= limit) return text;
  return `${text.slice(0, limit)}… [${text.length - limit} more characters cut]`;
}

/**
 * Cut a long message keeping its start and its end: an agent's final answer puts its conclusion (a reviewer's
 * verdict, a worker's summary) last, and OutputTracker keeps the end of the final text.
 */
export function clipMiddle(text: string, limit = TEXT_LIMIT): string {
  if (text.length <= limit) return text;
  const head = Math.floor(limit / 4);
  return (
    `${text.slice(0, head)}… [${text.length - limit} more characters cut] …` +
    `${text.slice(text.length - (limit - head))}`
  );
}

/** Cut to at most `maxBytes` bytes of UTF-8 without splitting a character. */
export function cutUtf8(text: string, maxBytes: number): string {
  const buffer = Buffer.from(text, 'utf8');
  if (buffer.length <= maxBytes) return text;
  let end = maxBytes;
  // Step back over continuation bytes (10xxxxxx) so the cut lands on a character boundary.
  while (end > 0 && ((buffer[end] ?? 0) & 0xc0) === 0x80) end--;
  return buffer.subarray(0, end).toString('utf8');
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export function int(value: unknown): number | undefined {
  const n = num(value);
  // Safe integers only: zod's .int() rejects 1e300, and a payload must always validate.
  return n !== undefined && Number.isSafeInteger(n) ? n : undefined;
}

/** Text of a value that may be a string, an array of content blocks, or anything else (stringified). */
export function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    return value
      .map((part) =>
        isObject(part) && typeof part.text === 'string' ? part.text : typeof part === 'string' ? part : '',
      )
      .join('');
  }
  if (value === undefined || value === null) return '';
  return JSON.stringify(value);
}

/** Last element matching a predicate, searching from the end. */
export function findLast<T, S extends T>(items: readonly T[], predicate: (item: T) => item is S): S | undefined {
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i] as T;
    if (predicate(item)) return item;
  }
  return undefined;
}

export function isKind<K extends AgentPayload['kind']>(kind: K) {
  return (payload: AgentPayload): payload is AgentPayloadOf<K> => payload.kind === kind;
}

/** The last non-empty line of a text, e.g. the one stderr line that says why a CLI gave up. */
export function lastLine(text: string): string {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  return lines[lines.length - 1] ?? '';
}

/** Remove ANSI escape sequences (gemini colours its untrusted-folder message). */
export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');
}

/** The object without its undefined fields, so payloads compare and serialise without empty keys. */
export function defined<T extends object>(value: T): T {
  // A loop, not Object.entries + filter + fromEntries: this runs for most payloads of every agent line.
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) out[key] = v;
  }
  return out as T;
}

/** `table[key]` for the table's own keys only: a line saying "constructor" must not reach Object.prototype. */
export function lookup<T>(table: Readonly<Record<string, T>>, key: unknown): T | undefined {
  return typeof key === 'string' && Object.hasOwn(table, key) ? table[key] : undefined;
}

/** A JSON line's `type`, or a marker when it has none (for `unknown` payloads). */
export function typeOf(value: JsonObject): string {
  return str(value.type) ?? '(no type)';
}

/**
 * The frame every parseLine shares: blank -> [], non-JSON -> malformed, and a mapper that throws, maps to
 * nothing, or maps to a payload the schema refuses -> unknown, so a surprise in a new CLI version never loses
 * the line, never breaks the stream and never puts an invalid event in the log. The check is the zod schema
 * itself, on the hot path: about 0.4 µs per payload (docs/performance.md).
 */
export function parseJsonLine(line: string, map: (value: JsonObject) => AgentPayload[]): AgentPayload[] {
  if (line.trim() === '') return [];
  const decoded = decodeJsonLine(line);
  if (!decoded.ok) return [decoded.payload];
  try {
    const payloads = map(decoded.value);
    if (payloads.length === 0 || !payloads.every((p) => AgentPayloadSchema.safeParse(p).success))
      return [unknownPayload(decoded.value, typeOf(decoded.value))];
    return payloads;
  } catch {
    return [unknownPayload(decoded.value, typeOf(decoded.value))];
  }
}

// ---------------------------------------------------------------------------------------------------------
// Failure classification: evidence (what the agent said) matched against ordered rules.
// ---------------------------------------------------------------------------------------------------------

/** One thing the agent said about a failure: a stderr line, an error event, a final result. */
export interface Evidence {
  text: string;
  httpStatus?: number;
  /** A machine-readable code next to the text: claude `error`, a result reason, gemini `error.type`. */
  code?: string;
}

export interface FailureRule {
  kind: FailureKind;
  /** Several patterns: the earlier one picks the line to quote (clap's "error:" line before its "Usage:"). */
  pattern?: RegExp | readonly RegExp[];
  codes?: readonly string[];
  status?: (status: number) => boolean;
  /** Exit codes that decide the kind on their own (gemini maps its failures to exit codes). */
  exit?: (exitCode: number | null) => boolean;
}

/** A 4xx or 5xx status followed by its reason phrase: `401 Unauthorized`, `503 Service Unavailable`. */
const STATUS_WITH_REASON = new RegExp(
  String.raw`\b([45]\d\d) (?:Bad Request|Unauthorized|Forbidden|Not Found|Too Many Requests|` +
    String.raw`Internal Server Error|Bad Gateway|Service Unavailable|Gateway Timeout)\b`,
  'i',
);

/** An HTTP status named in a message: `status: 429`, `"code":500`, `(429)`, `401 Unauthorized`. */
export function httpStatusIn(text: string): number | undefined {
  const match =
    /(?:status(?: code)?:?\s*|"code":\s*|\bcode:\s*|\()([45]\d\d)\b/i.exec(text) ?? STATUS_WITH_REASON.exec(text);
  return match ? Number(match[1]) : undefined;
}

/**
 * Lines of a crash report that say nothing of its cause, so the cause is quoted instead: Node's version footer,
 * the braces and properties of the error object it prints after the stack (`code: 'ERR_MODULE_NOT_FOUND'`), the
 * caret under the failing source line, and Rust's backtrace hint after a panic.
 */
const CRASH_REPORT_NOISE: readonly RegExp[] = [
  /^Node\.js v\d+\.\d+/,
  /^[{}()[\],]+$/,
  /^\^+$/,
  /^[\w$]+: (?:'[^']*'|"[^"]*"|-?\d+|true|false|null|undefined|\[[^\]]*\]),?$/,
  /^note: run with `RUST_BACKTRACE=/,
];

/** stderr as evidence: ANSI stripped, trimmed, without stack frames or crash-report noise, the last line first. */
export function stderrEvidence(stderrTail: string): Evidence[] {
  return stripAnsi(stderrTail)
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('at ') && !CRASH_REPORT_NOISE.some((noise) => noise.test(line)))
    .reverse()
    .map((text) => ({ text }));
}

/**
 * Evidence from the run's last payloads, most recent first. `final`: the last failed result, errors that are
 * neither warnings nor retry notices, and non-JSON stdout lines (text-mode output). `retrying`: the retry
 * notices, which only count when nothing final explains the failure (a run killed while reconnecting).
 */
export function payloadEvidence(events: readonly AgentPayload[]): { final: Evidence[]; retrying: Evidence[] } {
  const final: Evidence[] = [];
  const retrying: Evidence[] = [];
  const result = findLast(events, isKind('result'));
  if (result && !result.ok) {
    const base = { httpStatus: result.httpStatus, code: result.reason };
    if (result.text) final.push(defined({ text: result.text.trim(), ...base }));
    for (const error of result.errors ?? []) final.push(defined({ text: error.trim(), ...base }));
    if (!result.text && !result.errors?.length && result.reason) final.push(defined({ text: result.reason, ...base }));
    // The API error's own type names the cause when the text and terminal reason do not (`api_error` is any of them).
    if (result.errorType)
      final.push(
        defined({
          text: result.text?.trim() || result.errorType,
          httpStatus: result.httpStatus,
          code: result.errorType,
        }),
      );
  }
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i];
    if (event?.kind === 'error' && !event.warning) {
      const evidence = defined({
        text: stripAnsi(event.message).trim(),
        httpStatus: event.httpStatus,
        code: event.code,
      });
      (event.retrying ? retrying : final).push(evidence);
    } else if (event?.kind === 'malformed' && event.line.trim() !== '') {
      final.push({ text: stripAnsi(event.line).trim() });
    }
  }
  return { final, retrying };
}

/** The rule's tests, most telling first: each text pattern, then its codes, then its statuses. */
function predicates(rule: FailureRule): ((evidence: Evidence) => boolean)[] {
  const patterns =
    rule.pattern === undefined ? [] : Array.isArray(rule.pattern) ? rule.pattern : [rule.pattern as RegExp];
  const tests = patterns.map((pattern) => (evidence: Evidence) => pattern.test(evidence.text));
  const { codes, status } = rule;
  if (codes) tests.push((evidence) => evidence.code !== undefined && codes.includes(evidence.code));
  if (status) {
    tests.push((evidence) => {
      const found = evidence.httpStatus ?? httpStatusIn(evidence.text);
      return found !== undefined && status(found);
    });
  }
  return tests;
}

export interface Classification {
  kind: FailureKind;
  evidence: Evidence;
}

/**
 * The first rule that the evidence supports, tier by tier: every rule is tried on the first tier (and on the
 * exit code) before any rule is tried on the next, so a final error outranks an earlier retry notice.
 */
export function classifyEvidence(
  rules: readonly FailureRule[],
  tiers: readonly Evidence[][],
  exitCode: number | null,
  fallback: Evidence,
): Classification {
  for (const [index, tier] of tiers.entries()) {
    for (const rule of rules) {
      for (const test of predicates(rule)) {
        const evidence = tier.find(test);
        if (evidence) return { kind: rule.kind, evidence };
      }
      if (index === 0 && rule.exit?.(exitCode)) return { kind: rule.kind, evidence: fallback };
    }
  }
  return { kind: 'crashed', evidence: fallback };
}

/** What to quote when no rule names a line: the most telling evidence, else how the process ended. */
export function fallbackEvidence(
  tiers: readonly Evidence[][],
  exitCode: number | null,
  signal: string | null,
): Evidence {
  for (const tier of tiers) if (tier[0]) return tier[0];
  return { text: signal ? `killed by signal ${signal}` : `exited with code ${exitCode ?? 'unknown'}` };
}

/** The FailureSignal for a classification: the agent's words, how the process ended, the status it names. */
export function failureSignal(
  input: Pick<FailureInput, 'exitCode' | 'signal'>,
  { kind, evidence }: Classification,
  extra: { httpStatus?: number; retryAt?: string } = {},
): FailureSignal {
  return defined({
    kind,
    message: stripAnsi(evidence.text).trim(),
    exitCode: input.exitCode,
    signal: input.signal,
    httpStatus: evidence.httpStatus ?? httpStatusIn(evidence.text) ?? extra.httpStatus,
    retryAt: extra.retryAt,
  });
}

/**
 * The retry time a rate-limit classification names: in its own evidence first, then in any other; undefined for
 * any other kind, or when none names one.
 */
export function retryAtOf(classification: Classification, tiers: readonly Evidence[][], now: Date): string | undefined {
  if (classification.kind !== 'rate_limit') return undefined;
  for (const evidence of [classification.evidence, ...tiers.flat()]) {
    const at = parseRetryAt(evidence.text, now);
    if (at) return at;
  }
  return undefined;
}
