/**
 * One line of an agent's stdout to payloads, whatever its adapter makes of it: nothing thrown, nothing dropped (a
 * parser that fails or returns nothing leaves a `malformed` payload with the line), and the agent's own time for it.
 */
import type { AgentPayload, NewEvent } from '../domain/events.js';
import { malformed } from './common.js';
import type { AgentAdapter } from './types.js';

/**
 * The payloads of one line. `oversizeBytes`: the line was longer than the follower keeps, `text` is its head only, so
 * it is not parsed but kept as a cut `malformed` payload.
 */
export function linePayloads(adapter: AgentAdapter, text: string, oversizeBytes?: number): AgentPayload[] {
  if (oversizeBytes) {
    return [
      {
        ...malformed(text, `line of ${oversizeBytes} bytes is longer than the limit; cut`),
        bytes: oversizeBytes,
        truncated: true,
      },
    ];
  }
  return safeParse(adapter, text);
}

/** The adapter's payloads for a line; a parser that throws or returns nothing leaves a `malformed` payload. */
export function safeParse(adapter: AgentAdapter, line: string): AgentPayload[] {
  try {
    const payloads = adapter.parseLine(line);
    return payloads.length > 0 ? payloads : [malformed(line, `${adapter.name} parser returned nothing for this line`)];
  } catch (error) {
    return [malformed(line, `${adapter.name} parser failed: ${(error as Error).message}`)];
  }
}

/** What toISOString() prints, with a day every month has (29-31 may roll over): such a string is already canonical. */
const ISO_UTC = /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;

/** The agent's own time for a line, when it prints one (gemini `timestamp`, claude assistant `timestamp`). */
export function agentTimestamp(line: string): string | undefined {
  const at = line.lastIndexOf('"timestamp":"');
  if (at === -1) return undefined;
  const start = at + 13;
  const end = line.indexOf('"', start);
  if (end === -1 || end - start > 40) return undefined;
  const value = line.slice(start, end);
  const time = Date.parse(value);
  if (Number.isNaN(time)) return undefined;
  // Most agents print it as toISOString() would (gemini on every line): keep that string, make no new one.
  return ISO_UTC.test(value) ? value : new Date(time).toISOString();
}

/**
 * A worker's agent events for its stdout lines (each stamped with the attempt and the offset past its line), their
 * payloads, and whether any was progress (a retry notice is output, not progress).
 */
export function lineEvents(
  adapter: AgentAdapter,
  run: { workerId: string; agent: string; attempt: number },
  lines: ReadonlyArray<{ text: string; end: number; oversizeBytes?: number }>,
): { events: NewEvent[]; payloads: AgentPayload[]; progressed: boolean } {
  const events: NewEvent[] = [];
  const payloads: AgentPayload[] = [];
  let progressed = false;
  for (const line of lines) {
    const ts = agentTimestamp(line.text);
    for (const payload of linePayloads(adapter, line.text, line.oversizeBytes)) {
      payloads.push(payload);
      if (!(payload.kind === 'error' && payload.retrying)) progressed = true;
      events.push({
        type: 'agent',
        source: { kind: 'worker', id: run.workerId },
        agent: run.agent,
        workerId: run.workerId,
        at: { attempt: run.attempt, end: line.end },
        ...(ts ? { ts } : {}),
        ...payload,
      } as NewEvent);
    }
  }
  return { events, payloads, progressed };
}
