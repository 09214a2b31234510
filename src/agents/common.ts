/** Helpers shared by the adapters: JSON line decoding, truncation, malformed/unknown payloads. */
import { MALFORMED_LINE_LIMIT, TEXT_LIMIT, type AgentPayload, type AgentPayloadOf } from '../domain/events.js';

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
  return n !== undefined && Number.isInteger(n) ? n : undefined;
}

/** Text of a value that may be a string, an array of content blocks, or anything else (stringified). */
export function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    return value
      .map((part) => (isObject(part) && typeof part.text === 'string' ? part.text : typeof part === 'string' ? part : ''))
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
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? '';
}

/** Remove ANSI escape sequences (gemini colours its untrusted-folder message). */
export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');
}
