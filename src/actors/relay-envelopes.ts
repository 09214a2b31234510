/**
 * What the orchestrator writes into an interactive agent's FIFO, and what its relay records as sent
 * (./stdin-relay.ts reads both; ./agent-channel.ts writes the one and reads the other). Apart from the relay, whose
 * module runs as a process and must not be bundled into the CLI.
 */

import { existsSync, readFileSync } from 'node:fs';
import type { Envelope } from '../agents/conversation.js';

export type { Envelope };

export function parseEnvelope(text: string): Envelope | null {
  try {
    const value = JSON.parse(text) as Record<string, unknown>;
    if (typeof value.id !== 'string' || value.id === '') return null;
    if (typeof value.line === 'string') return { id: value.id, line: value.line };
    if (value.end === true) return { id: value.id, end: true };
    return null;
  } catch {
    return null;
  }
}

/** The ids a sent log records (one JSON line each: {"id", "at"}); a torn last line is left out. */
export function sentIds(log: string): Set<string> {
  const ids = new Set<string>();
  for (const line of log.split('\n')) {
    if (!line) continue;
    try {
      const id = (JSON.parse(line) as { id?: unknown }).id;
      if (typeof id === 'string') ids.add(id);
    } catch {
      // a line cut short by the agent's end: it was not sent
    }
  }
  return ids;
}

/** The ids the relay has forwarded to the agent (its sent log). */
export function deliveredIds(sentLog: string): Set<string> {
  return existsSync(sentLog) ? sentIds(readFileSync(sentLog, 'utf8')) : new Set();
}
