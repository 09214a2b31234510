/**
 * Codex CLI in interactive mode: `codex app-server`, JSON-RPC 2.0 over stdio without the `"jsonrpc"` member (codex-cli
 * 0.169.0; shared/AGENT-FORMATS.md, test/fixtures/protocols/codex).
 *
 * - The opening is `initialize`, `initialized` and `thread/start` (or `thread/resume` of the agent's session, with its
 *   policy and sandbox given again: a resumed thread would otherwise be read-only). Once the thread is there the
 *   prompt is a `turn/start`; a later message steers the running turn (`turn/steer`), or starts a turn of its own
 *   when none runs. When every message's turn has completed, stdin is closed and codex exits 0.
 * - `approvalPolicy: "untrusted"` makes codex ask before every command and every file change:
 *   `item/commandExecution/requestApproval` and `item/fileChange/requestApproval` are requests to us, answered
 *   `{"decision":"accept"}` or `{"decision":"decline"}`. A declined call is reported to the model as rejected by the
 *   user and the turn goes on. A change's paths come with its `item/started`, not with its request.
 * - The sandbox is codex's own only for reviewers (`read-only`, as in exec mode); a worker runs with
 *   `danger-full-access`, confined by the orchestrator's (docs/safety.md), as exec mode's flag does.
 * - Every request id of ours is the envelope's id, so the responses say which message they answer, also after a
 *   crash. Codex numbers its own requests from 0 in each process; a run is one process, so its numbers are the run's.
 * - Requests codex may make that the orchestrator does not answer (MCP elicitations, user input) get an error at
 *   once, which codex takes as "no": a turn never waits on a question nobody will see.
 */
import {
  AGENT_LINE,
  type AskedPermission,
  type Conversation,
  END_ENVELOPE,
  type Envelope,
  type InteractiveProtocol,
  jsonRpcMessage,
  type LineSteps,
  sendLine,
  sendSteps,
} from './conversation.js';
import { changesOf, classifyCodexAppServerFailure, parseCodexAppServerLine, unwrapShell } from './codex-app-server.js';
import { isObject, type JsonObject, str, textOf } from './common.js';
import type { AgentCommand, LaunchOptions } from './types.js';

export function buildCodexInteractiveCommand(_options: Omit<LaunchOptions, 'prompt'>): AgentCommand {
  // The thread's folder, model and sandbox go in thread/start. Plugins and apps would reach out to the network at
  // start (and say so on stderr).
  return { args: ['app-server', '--disable', 'plugins', '--disable', 'apps'], env: {} };
}

/** Notifications that are the protocol's bookkeeping, not the agent's output; the `progress` ones are work going on. */
const BOOKKEEPING = new Set([
  'thread/status/changed',
  'account/rateLimits/updated',
  'remoteControl/status/changed',
  'turn/diff/updated',
  'mcpServer/startupStatus/updated',
  'thread/settings/updated',
  'skills/changed',
]);
const PROGRESS = new Set([
  'item/agentMessage/delta',
  'item/reasoning/summaryTextDelta',
  'item/reasoning/summaryPartAdded',
  'item/reasoning/textDelta',
  'item/commandExecution/outputDelta',
  'item/commandExecution/terminalInteraction',
  'item/fileChange/outputDelta',
  'item/fileChange/patchUpdated',
  'item/plan/delta',
  'item/mcpToolCall/progress',
]);
/** Items whose start says nothing yet (their completion does), or that are our own input echoed. */
const QUIET_ITEMS = new Set(['userMessage', 'agentMessage', 'reasoning', 'plan']);

interface Message {
  text: string;
  /** The turn it went into (a turn/start's or a steer's response says), null until known. */
  turn: string | null;
  /** Sent (false: it waits for the thread and the prompt's turn). */
  sent: boolean;
}

class CodexConversation implements Conversation {
  private threadId: string | null;
  private threadReady = false;
  /** The running turn; null between turns. */
  private turn: string | null = null;
  private promptSent = false;
  private readonly messages = new Map<string, Message>();
  private readonly requests = new Map<string, AskedPermission>();
  /** A request's JSON-RPC id as codex sent it (a number). */
  private readonly rawIds = new Map<string, unknown>();
  /** The paths of each file change codex started, for its approval request. */
  private readonly changes = new Map<string, string[]>();
  private ended = false;
  /** Interrupted for a stop: the turn's end is the conversation's. */
  private stopping = false;

  constructor(private readonly launch: Omit<LaunchOptions, 'prompt'>) {
    this.threadId = launch.resume?.agentSessionId ?? null;
  }

  get pending(): AskedPermission[] {
    return [...this.requests.values()];
  }

  opening(prompt: string): Envelope[] {
    const message = this.messages.get('prompt');
    if (!message) this.messages.set('prompt', { text: prompt, turn: null, sent: false });
    else if (prompt && !message.text) message.text = prompt;
    const threadParams = {
      cwd: this.launch.targetDir,
      approvalPolicy: 'untrusted',
      sandbox: this.launch.readOnly ? 'read-only' : 'danger-full-access',
      ...(this.launch.model ? { model: this.launch.model } : {}),
    };
    const thread = this.threadId
      ? request('thread', 'thread/resume', { threadId: this.threadId, ...threadParams, excludeTurns: true })
      : request('thread', 'thread/start', threadParams);
    return [
      request('initialize', 'initialize', {
        clientInfo: { name: 'meta-orchestrator', title: 'meta-orchestrator', version: '0.1.0' },
        capabilities: { experimentalApi: false },
      }),
      { id: 'initialized', line: JSON.stringify({ method: 'initialized' }) },
      thread,
      ...this.sendPrompt(),
    ];
  }

  say(text: string, key: string): Envelope[] | null {
    if (this.ended) return null;
    // Known from before a crash (the text is not kept): only its turn is waited for.
    this.messages.set(key, { text, turn: null, sent: text === '' });
    return text === '' ? [] : this.sendMessage(key);
  }

  answer(requestId: string, decision: 'allow' | 'deny'): Envelope[] {
    this.requests.delete(requestId);
    const line = { id: this.rawIds.get(requestId) ?? requestId, result: { decision: decisionOf(decision) } };
    return [{ id: `permission:${requestId}`, line: JSON.stringify(line) }];
  }

  interrupt(key: string): Envelope[] {
    if (!this.turn || !this.threadId || this.ended) return [];
    // A stop: the turn's end ends the conversation, whatever messages still wait.
    this.stopping = true;
    return [request(`interrupt:${key}`, 'turn/interrupt', { threadId: this.threadId, turnId: this.turn })];
  }

  onLine(text: string): LineSteps {
    const message = jsonRpcMessage(text);
    if (!message) return AGENT_LINE;
    if (message.kind === 'response') return this.response(message.value);
    if (message.kind === 'request') return this.serverRequest(message.method, message.value);
    return this.notification(message.method, isObject(message.value.params) ? message.value.params : {});
  }

  // --- what codex says -------------------------------------------------------------------------------------

  /** The response to one of our requests: its id is the envelope's. */
  private response(value: JsonObject): LineSteps {
    const id = typeof value.id === 'string' ? value.id : '';
    const result = isObject(value.result) ? value.result : null;
    const failed = !result && isObject(value.error);
    if (id === 'thread' && result) {
      const thread = isObject(result.thread) ? result.thread : {};
      this.threadId = str(thread.id) ?? this.threadId;
      this.threadReady = true;
      return sendLine(this.sendPrompt());
    }
    const key = id.startsWith('message:') ? id.slice(8) : id.startsWith('turn:') ? id.slice(5) : null;
    const message = key === null ? undefined : this.messages.get(key);
    if (key !== null && message && result) {
      // turn/start: {turn: {id}}; turn/steer: {turnId}.
      message.turn = str(result.turnId) ?? (isObject(result.turn) ? (str(result.turn.id) ?? null) : null);
      if (key === 'prompt') {
        this.promptSent = true;
        return sendLine([...this.flushQueued(), ...this.maybeEnd()]);
      }
      return sendLine(this.maybeEnd());
    }
    if (!failed) return { consumed: true, steps: [] };
    // The handshake, the thread or the prompt failed: nothing can go on. The error is the agent's output.
    if (id === 'initialize' || id === 'thread' || key === 'prompt')
      return { consumed: false, steps: sendSteps(this.end()) };
    if (key !== null && message) {
      // A steer that came as its turn ended ("no active turn to steer"): the message starts a turn of its own.
      if (id.startsWith('message:') && message.text && this.threadId) {
        const params = { threadId: this.threadId, input: input(message.text) };
        return sendLine([request(`turn:${key}`, 'turn/start', params)]);
      }
      this.messages.delete(key);
      return sendLine(this.maybeEnd());
    }
    return { consumed: true, steps: [] };
  }

  private serverRequest(method: string, value: JsonObject): LineSteps {
    const rawId = value.id;
    const requestId = String(rawId);
    const params = isObject(value.params) ? value.params : {};
    let asked: AskedPermission | null = null;
    if (method === 'item/commandExecution/requestApproval') {
      const wrapped = textOf(params.command);
      asked = { requestId, tool: 'Bash', command: unwrapShell(wrapped) ?? wrapped };
    } else if (method === 'item/fileChange/requestApproval') {
      const paths = this.changes.get(str(params.itemId) ?? '');
      asked = paths && paths.length > 0 ? { requestId, tool: 'Edit', paths } : { requestId, tool: 'Edit' };
    }
    if (!asked) {
      const line = { id: rawId, error: { code: -32601, message: `${method} is not answered by the orchestrator` } };
      return sendLine([{ id: `reply:${requestId}`, line: JSON.stringify(line) }]);
    }
    this.requests.set(requestId, asked);
    this.rawIds.set(requestId, rawId);
    return { consumed: true, steps: [{ kind: 'permission', request: asked }] };
  }

  private notification(method: string, params: JsonObject): LineSteps {
    if (BOOKKEEPING.has(method)) return { consumed: true, steps: [] };
    if (PROGRESS.has(method)) return { consumed: true, steps: [], progress: true };
    switch (method) {
      case 'serverRequest/resolved': {
        // After our answer, or a request codex took back (an interrupt): nobody needs to answer it any more.
        const requestId = String(params.requestId);
        if (!this.requests.delete(requestId)) return { consumed: true, steps: [] };
        return { consumed: true, steps: [{ kind: 'withdrawn', requestId }] };
      }
      case 'item/started':
      case 'item/completed': {
        const item = isObject(params.item) ? params.item : {};
        if (item.type === 'fileChange' && typeof item.id === 'string')
          this.changes.set(
            item.id,
            changesOf(item).map((c) => c.path),
          );
        const quiet =
          QUIET_ITEMS.has(str(item.type) ?? '') && (method === 'item/started' || item.type === 'userMessage');
        return quiet ? { consumed: true, steps: [], progress: true } : AGENT_LINE;
      }
      case 'turn/started': {
        const turn = isObject(params.turn) ? params.turn : {};
        this.turn = str(turn.id) ?? this.turn;
        return AGENT_LINE;
      }
      case 'turn/completed': {
        const turn = isObject(params.turn) ? params.turn : {};
        const id = str(turn.id);
        if (id === this.turn) this.turn = null;
        if (this.stopping) this.messages.clear();
        for (const [key, message] of this.messages)
          if (message.turn !== null && message.turn === id) this.messages.delete(key);
        return { consumed: false, steps: sendSteps(this.maybeEnd()) };
      }
      default:
        return AGENT_LINE;
    }
  }

  // --- what we send ------------------------------------------------------------------------------------------

  private sendPrompt(): Envelope[] {
    const prompt = this.messages.get('prompt');
    if (!prompt || prompt.sent || !prompt.text || !this.threadReady || !this.threadId) return [];
    prompt.sent = true;
    return [request('message:prompt', 'turn/start', { threadId: this.threadId, input: input(prompt.text) })];
  }

  private sendMessage(key: string): Envelope[] {
    const message = this.messages.get(key);
    if (!message || !this.threadId || !this.promptSent) return [];
    message.sent = true;
    const params = this.turn
      ? { threadId: this.threadId, expectedTurnId: this.turn, input: input(message.text) }
      : { threadId: this.threadId, input: input(message.text) };
    return [request(`message:${key}`, this.turn ? 'turn/steer' : 'turn/start', params)];
  }

  /** Messages said before the prompt's turn was there. */
  private flushQueued(): Envelope[] {
    return [...this.messages].filter(([, m]) => !m.sent).flatMap(([key]) => this.sendMessage(key));
  }

  /** Every message's turn has completed: the conversation is over. */
  private maybeEnd(): Envelope[] {
    if (this.ended || !this.promptSent || this.turn !== null || this.messages.size > 0) return [];
    return this.end();
  }

  private end(): Envelope[] {
    if (this.ended) return [];
    this.ended = true;
    return [END_ENVELOPE];
  }
}

function request(id: string, method: string, params: unknown): Envelope {
  return { id, line: JSON.stringify({ id, method, params }) };
}

function input(text: string) {
  return [{ type: 'text', text, text_elements: [] }];
}

function decisionOf(decision: 'allow' | 'deny'): string {
  // `decline`: the model is told the user rejected it and the turn goes on (`cancel` would end the turn).
  return decision === 'allow' ? 'accept' : 'decline';
}

export const codexInteractive: InteractiveProtocol = {
  since: '0.169.0',
  buildCommand: buildCodexInteractiveCommand,
  conversation: ({ launch }) => new CodexConversation(launch),
  parseLine: parseCodexAppServerLine,
  classifyFailure: classifyCodexAppServerFailure,
};
