/**
 * What a worker machine and the process actor it invokes say to each other (src/actors/agent-process.ts
 * implements the actor): its input, the events it sends back, the commands it takes. The machine owns the
 * protocol, so machines/ needs nothing from actors/.
 */
import type { LaunchOptions } from '../agents/types.js';
import type { FailureSignal } from '../domain/events.js';
import type { ChangeStat } from '../domain/isolation.js';
import type { OutputFacts } from '../domain/output-facts.js';
import type { PromptSpec } from '../domain/prompts.js';

export interface AgentProcessInput {
  sessionId: string;
  workerId: string;
  attempt: number;
  agent: string;
  /** Launch options without the prompt, which is rendered here (a review prompt needs `git diff`). */
  launch: Omit<LaunchOptions, 'prompt'>;
  prompt: PromptSpec;
  /** Interactive mode: the agent's stdin speaks its protocol (src/agents/conversation.ts). */
  interactive?: boolean;
  /** The checkout it runs in, in a session that gives each worker its own (src/workspace); ignored in place. */
  checkout?: CheckoutRequest;
  stallTimeoutMs: number;
  /** Active running time left for this worker (paused time does not count); null = unbounded. */
  timeLeftMs: number | null;
  killGraceMs: number;
}

/**
 * A worker's checkout starts from the branches of the workers it depended on (none: the session's base);
 * `keepConflicts`: it starts inside their conflicting merge, to resolve it. A reviewer reads its target's head.
 */
export type CheckoutRequest =
  | { kind: 'worker'; from: string[]; keepConflicts: boolean }
  | { kind: 'reviewer'; target: string };

export type AgentProcessEvent =
  | { type: 'PROCESS.STARTED'; attempt: number; pid: number; reattached: boolean }
  /** The agent asks before a tool runs and the permission rules say to ask a person. */
  | {
      type: 'PROCESS.PERMISSION';
      attempt: number;
      requestId: string;
      request: { tool: string; command?: string; paths?: string[]; url?: string };
      /** Not a question: it needs nobody any more (decided before a restart, withdrawn by the agent). */
      settled?: 'allow' | 'deny' | 'allow-always' | 'withdrawn';
      /** With `allow-always`: the rule a person allowed. */
      rule?: string;
    }
  | { type: 'PROCESS.OUTPUT'; attempt: number; facts: OutputFacts }
  | {
      type: 'PROCESS.EXITED';
      attempt: number;
      outcome: 'ok' | 'failed' | 'stopped' | 'timed_out';
      exitCode: number | null;
      signal: string | null;
      failure: FailureSignal | null;
      activeMs: number;
      facts: OutputFacts;
      /** The worker's change after this attempt's leftovers were committed (in a session with checkouts). */
      change?: ChangeStat | null;
    };

export type AgentProcessCommand =
  | { type: 'PROCESS.PAUSE' }
  | { type: 'PROCESS.RESUME' }
  | { type: 'PROCESS.TERMINATE' }
  /** A message into the running agent (interactive mode). */
  | { type: 'PROCESS.SAY'; text: string; by?: string }
  /** A person's answer to a permission the agent asked for (interactive mode). */
  | {
      type: 'PROCESS.ANSWER';
      requestId: string;
      decision: 'allow' | 'deny';
      blockerId: string;
      rule?: string;
      by?: string;
    };
