/**
 * Which mode a worker that names none runs in (docs/permissions.md): `interactive`, where its agent asks before
 * each tool runs, from the first CLI version that mode is tested with (the protocol's `since`); `exec`, the
 * one-shot run with approvals bypassed, for older versions, a version that cannot be told, or an agent with no
 * interactive mode. Pure: the version is read elsewhere (src/runtime/agent-modes.ts).
 */
import type { AgentAdapter } from './types.js';

/** The first `x.y.z` (or `x.y`) in a CLI's version text, as numbers; null when there is none. */
export function parseVersion(text: string | null | undefined): number[] | null {
  const match = text?.match(/(?<![\d.])(\d+)\.(\d+)(?:\.(\d+))?/);
  return match ? [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)] : null;
}

/** a >= b, component by component. */
export function versionAtLeast(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

const FIRST_TESTED = 'the first version interactive mode is tested with';

export interface ModeDecision {
  mode: 'interactive' | 'exec';
  /** Why, in one sentence (doctor shows it; a fallback to exec is logged with it). */
  reason: string;
  /** The version the decision was made on, when one could be read. */
  version?: string;
}

/** The default mode of `adapter`'s workers given the version text its CLI gave (null: none could be read). */
export function defaultMode(adapter: AgentAdapter, versionText: string | null): ModeDecision {
  const since = adapter.interactive?.since;
  const version = parseVersion(versionText);
  if (adapter.interactiveOnly) {
    const reason = `${adapter.displayName} speaks only ACP: interactive mode`;
    return { mode: 'interactive', reason, ...(version ? { version: version.join('.') } : {}) };
  }
  if (!since) return { mode: 'exec', reason: `${adapter.displayName} has no interactive mode here yet` };
  if (!version) {
    return {
      mode: 'exec',
      reason: `the version of ${adapter.displayName} could not be read, and interactive mode is tested from ${since}`,
    };
  }
  const text = version.join('.');
  if (!versionAtLeast(version, parseVersion(since) ?? [])) {
    return {
      mode: 'exec',
      version: text,
      reason: `${adapter.displayName} ${text} is older than ${since}, ${FIRST_TESTED}`,
    };
  }
  return { mode: 'interactive', version: text, reason: `${adapter.displayName} ${text} (interactive from ${since})` };
}
