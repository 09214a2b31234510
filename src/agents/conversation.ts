/**
 * An interactive agent's conversation, the part every two-way protocol shares (claude stream-json, and later the
 * codex app-server and ACP): what the orchestrator sends into the agent's stdin, and what the protocol lines on its
 * stdout ask of it. Pure: a conversation is fed the agent's lines and the orchestrator's answers, and says what to
 * send (envelopes for the stdin relay, src/actors/stdin-relay.ts) and what to ask the permission rules.
 *
 * Every envelope id is derived from what the protocol already names (the request id of a permission, the uuid of a
 * message), so an orchestrator that came back after a crash can send again whatever may not have arrived: the relay
 * forwards an id once.
 */
import type { AgentPayload, FailureSignal } from '../domain/events.js';
import type { AgentCommand, FailureInput, LaunchOptions } from './types.js';

/** What the orchestrator writes into the FIFO (see src/actors/relay-envelopes.ts). */
export type Envelope = { id: string; line: string } | { id: string; end: true };

/** One request of the agent, in the form the permission rules read (src/domain/permission-rules.ts). */
export interface AskedPermission {
  requestId: string;
  tool: string;
  command?: string;
  paths?: string[];
  url?: string;
}

export type ConversationStep =
  /** The agent asks before a tool runs: decide it (rules, or a person) and answer with `answer()`. */
  | { kind: 'permission'; request: AskedPermission }
  /** The agent took back a request (an interrupt): nobody needs to answer it any more. */
  | { kind: 'withdrawn'; requestId: string }
  /** Write these into the agent's stdin. */
  | { kind: 'send'; envelopes: Envelope[] };

export interface Conversation {
  /** The first envelopes: the prompt (and a protocol's handshake). */
  opening(prompt: string): Envelope[];
  /**
   * One stdout line: what it asks of the orchestrator; `consumed` when it is protocol, not agent output (`progress`:
   * the protocol saying the agent is at work, a streamed piece of a message: it holds off the stall timer).
   */
  onLine(line: string): { consumed: boolean; steps: ConversationStep[]; progress?: boolean };
  /** The answer to a permission request. */
  answer(requestId: string, decision: 'allow' | 'deny', message?: string): Envelope[];
  /**
   * A person's message (or a clarification's answer) into the running agent; `key` names it once for good. null: the
   * conversation is over and the message cannot reach the agent; [] when it is taken but sent later (it waits for
   * the agent to be ready for it).
   */
  say(text: string, key: string): Envelope[] | null;
  /** Stop the current turn through the protocol (before any signal). */
  interrupt(key: string): Envelope[];
  /** Requests the agent still waits on. */
  readonly pending: readonly AskedPermission[];
}

/** What an adapter offers for interactive mode. */
export interface InteractiveProtocol {
  /**
   * The first version of the CLI this mode is tested with (docs/compatibility.md): a worker that names no mode
   * runs in this mode from that version on, in exec mode before it (src/agents/modes.ts).
   */
  since: string;
  /** argv and environment of the agent in interactive mode: no prompt in argv, stdin speaks the protocol. */
  buildCommand(options: Omit<LaunchOptions, 'prompt'>): AgentCommand;
  /**
   * A conversation for one run of the agent, in `cwd` (relative paths of its requests resolve there, `~` in `home`);
   * `seed` names the run (session, worker, attempt): the ids it makes are its own, and the same after a crash.
   * `launch`: the run's options (its folder, model, the agent session it resumes).
   */
  conversation(run: { cwd: string; seed: string; home: string; launch: Omit<LaunchOptions, 'prompt'> }): Conversation;
  /** The agent's lines in this mode, when they differ from exec mode's (the adapter's parseLine otherwise). */
  parseLine?(line: string): AgentPayload[];
  /** A finished run in this mode, when it ends differently from exec mode (the adapter's classifyFailure otherwise). */
  classifyFailure?(input: FailureInput): FailureSignal | null;
}

/**
 * The classifier of an agent that exits 0 whenever its stdin closes, which its conversation does once its turns are
 * over, failed or not: the run failed when its last turn did, or when no turn ended at all (an error before it, a
 * session that could not start), and is then classified as exec mode would (as if it had exited 1).
 */
export function classifyByLastTurn(
  classify: (input: FailureInput) => FailureSignal | null,
): (input: FailureInput) => FailureSignal | null {
  return (input) => {
    const last = input.events.findLast((p) => p.kind === 'result');
    if (input.exitCode === 0 && last?.kind === 'result' && last.ok) return null;
    return classify({ ...input, exitCode: input.exitCode === 0 ? 1 : input.exitCode });
  };
}

/** What a conversation makes of one line (Conversation.onLine's answer). */
export type LineSteps = { consumed: boolean; steps: ConversationStep[]; progress?: boolean };

/** A line that is not the protocol's: agent output, nothing to do. */
export const AGENT_LINE: LineSteps = { consumed: false, steps: [] };

/** The envelope that closes the agent's stdin: the conversation is over. */
export const END_ENVELOPE: Envelope = { id: 'end', end: true };

/** The steps that write `envelopes` (none for none). */
export function sendSteps(envelopes: readonly Envelope[]): ConversationStep[] {
  return envelopes.length > 0 ? [{ kind: 'send', envelopes: [...envelopes] }] : [];
}

/** A protocol line, consumed, whose answer is to write `envelopes`. */
export function sendLine(envelopes: readonly Envelope[]): LineSteps {
  return { consumed: true, steps: sendSteps(envelopes) };
}

/**
 * One JSON-RPC message of a two-way protocol (codex app-server, ACP), by what it is: a response to one of our
 * requests (an id, no method), a request of the agent (an id and a method), or a notification; null when the line
 * is not a JSON object.
 */
export type JsonRpcMessage =
  | { kind: 'response'; value: Record<string, unknown> }
  | { kind: 'request'; method: string; value: Record<string, unknown> }
  | { kind: 'notification'; method: string; value: Record<string, unknown> };

export function jsonRpcMessage(text: string): JsonRpcMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const object = value as Record<string, unknown>;
  const method = typeof object.method === 'string' ? object.method : undefined;
  if (method === undefined) return 'id' in object ? { kind: 'response', value: object } : null;
  return 'id' in object ? { kind: 'request', method, value: object } : { kind: 'notification', method, value: object };
}
