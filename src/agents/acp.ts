/**
 * The Agent Client Protocol (ACP) as an agent CLI speaks it over stdio: JSON-RPC 2.0, one message per line.
 * `gemini --acp` (0.61.0), `opencode acp` (1.18.33) and `qwen --acp` (0.24.4); the shapes are those their captures
 * show (test/fixtures/protocols/), parsed in ./acp-lines.ts.
 *
 * - The opening is `initialize` (no fs or terminal offered: the agent does its own I/O in its folder), then
 *   `session/new` in the worker's folder, `session/set_mode` to its read-only mode for a reviewer, then the prompt as
 *   `session/prompt`. The agent asks the host with `session/request_permission` before a command or a write, and the
 *   orchestrator answers with the option of kind `allow_once` or `reject_once`, never an "always" one, which would
 *   let the agent stop asking. A rejected call is reported to the model, and gemini's turn goes on; opencode's and
 *   qwen's end there (`end_turn`), their model told with the next prompt.
 * - Requests of the agent besides permissions: opencode's `fs/write_text_file` after a write it made itself (no file
 *   system was offered) is acknowledged with null; anything else (qwen's `craft/drainMidTurnQueue`) is refused as
 *   not offered, and the agent carries on.
 * - ACP has no steer: a second prompt while one runs cancels it (gemini). A message waits for the running prompt's
 *   result, then goes as a prompt of its own. When every prompt has its result, stdin is closed and the agent exits
 *   0; closing it earlier would not stop a tool that runs.
 * - A stop is `session/cancel`, with every pending request answered `cancelled` (the protocol requires it).
 * - Model errors are JSON-RPC errors of the prompt: gemini's code is the HTTP status, qwen's too or the first number
 *   of its `details`, opencode's says it only in words. The agent exits 0 anyway, so a run
 *   failed when its last prompt did, or when no prompt ended (an error before it).
 * - A new attempt starts a new session: `session/load` of gemini 0.61 erases a session created in the same UTC
 *   minute (gemini #28693), and the orchestrator cannot tell.
 */
import {
  AGENT_LINE,
  type AskedPermission,
  type Conversation,
  END_ENVELOPE,
  type Envelope,
  jsonRpcMessage,
  type LineSteps,
  sendLine,
  sendSteps,
} from './conversation.js';
import { isObject, type JsonObject, str, textOf } from './common.js';
import type { LaunchOptions } from './types.js';
import { ENDED, permissionOf } from './acp-lines.js';

export { parseAcpLine, permissionOf } from './acp-lines.js';

/** Gemini announces a mode change as a message chunk of its own. */
const MODE_UPDATE = /^\[MODE_UPDATE\] /;

// --- the conversation -----------------------------------------------------------------------------------------

/** Updates that are the protocol's bookkeeping (slash commands, modes), not the agent's work. */
const BOOKKEEPING = new Set([
  'available_commands_update',
  'current_mode_update',
  'config_option_update',
  'session_info_update',
  // opencode: the context window's use and cost before each result (the result carries the turn's usage).
  'usage_update',
]);

interface Prompt {
  text: string;
  /** Sent as a `session/prompt` (the running one, or done). */
  sent: boolean;
}

export class AcpConversation implements Conversation {
  private sessionId: string | null = null;
  /** Prompts in order: the opening one, then messages; each is sent when the one before has its result. */
  private readonly prompts = new Map<string, Prompt>();
  private running: string | null = null;
  private readonly requests = new Map<string, AskedPermission & { raw: unknown; options: JsonObject[] }>();
  private ended = false;
  private stopping = false;

  constructor(
    private readonly launch: Omit<LaunchOptions, 'prompt'>,
    private readonly clientName = 'meta-orchestrator',
  ) {}

  get pending(): AskedPermission[] {
    return [...this.requests.values()].map(({ raw: _raw, options: _options, ...asked }) => asked);
  }

  opening(prompt: string): Envelope[] {
    const first = this.prompts.get('prompt');
    if (!first) this.prompts.set('prompt', { text: prompt, sent: false });
    else if (prompt && !first.text) first.text = prompt;
    return [
      request('initialize', 'initialize', {
        protocolVersion: 1,
        clientCapabilities: { fs: { readTextFile: false, writeTextFile: false }, terminal: false },
        clientInfo: { name: this.clientName, version: '0.1.0' },
      }),
      ...this.next(),
    ];
  }

  say(text: string, key: string): Envelope[] | null {
    if (this.ended || this.stopping) return null;
    // Known from before a crash (its text not kept): it went already, as a prompt.
    this.prompts.set(key, { text, sent: text === '' });
    return this.next();
  }

  answer(requestId: string, decision: 'allow' | 'deny'): Envelope[] {
    const asked = this.requests.get(requestId);
    this.requests.delete(requestId);
    const kind = decision === 'allow' ? 'allow_once' : 'reject_once';
    const option = asked?.options.find((o) => o.kind === kind);
    const outcome = option ? { outcome: 'selected', optionId: option.optionId } : { outcome: 'cancelled' };
    const line = { jsonrpc: '2.0', id: asked?.raw ?? requestId, result: { outcome } };
    return [{ id: `permission:${requestId}`, line: JSON.stringify(line) }];
  }

  interrupt(key: string): Envelope[] {
    if (this.ended || !this.sessionId || !this.running) return [];
    this.stopping = true;
    const cancel = { jsonrpc: '2.0', method: 'session/cancel', params: { sessionId: this.sessionId } };
    // Every pending request is answered `cancelled`, or the prompt would wait for it.
    const answers = [...this.requests.values()].map((r) => ({
      id: `permission:${r.requestId}`,
      line: JSON.stringify({ jsonrpc: '2.0', id: r.raw, result: { outcome: { outcome: 'cancelled' } } }),
    }));
    this.requests.clear();
    return [{ id: `interrupt:${key}`, line: JSON.stringify(cancel) }, ...answers];
  }

  onLine(text: string): LineSteps {
    const message = jsonRpcMessage(text);
    if (!message) return AGENT_LINE;
    if (message.kind === 'response') return this.response(message.value);
    if (message.kind === 'request') return this.agentRequest(message.method, message.value);
    const params = isObject(message.value.params) ? message.value.params : {};
    const update = isObject(params.update) ? params.update : {};
    const kind = str(update.sessionUpdate) ?? '';
    if (BOOKKEEPING.has(kind)) return sendLine([]);
    // A call still under way (opencode updates a command's title to the command before it asks, and after).
    if (kind === 'tool_call_update' && !ENDED.has(str(update.status) ?? 'completed'))
      return { consumed: true, steps: [], progress: true };
    const chunk = isObject(update.content) ? textOf(update.content.text) : '';
    if (kind === 'agent_message_chunk' && MODE_UPDATE.test(chunk)) return sendLine([]);
    return AGENT_LINE;
  }

  private response(value: JsonObject): LineSteps {
    const id = typeof value.id === 'string' ? value.id : '';
    const result = isObject(value.result) ? value.result : null;
    if (id === 'initialize') {
      if (!result) return { consumed: false, steps: sendSteps(this.end()) };
      return sendLine([request('session', 'session/new', { cwd: this.launch.targetDir, mcpServers: [] })]);
    }
    if (id === 'session') {
      if (!result || typeof result.sessionId !== 'string') return { consumed: false, steps: sendSteps(this.end()) };
      this.sessionId = result.sessionId;
      // A reviewer reads only: its agent's read-only mode (no shell, no writes), asked for before its prompt.
      const modeId = this.launch.readOnly ? readOnlyMode(result.modes) : null;
      const mode = modeId ? [request('mode', 'session/set_mode', { sessionId: this.sessionId, modeId })] : [];
      // Not consumed: the session is the agent's `init`.
      return { consumed: false, steps: sendSteps([...mode, ...this.next()]) };
    }
    const key = id.startsWith('message:') ? id.slice(8) : null;
    if (key === null || !this.prompts.has(key)) return { consumed: true, steps: [] };
    // A prompt's end (its result or its error) is the agent's output; the next prompt goes now.
    this.prompts.delete(key);
    if (this.running === key) this.running = null;
    if (this.stopping) this.prompts.clear();
    return { consumed: false, steps: sendSteps(this.next()) };
  }

  private agentRequest(method: string, value: JsonObject): LineSteps {
    const raw = value.id;
    const requestId = String(raw);
    const params = isObject(value.params) ? value.params : {};
    if (method === 'fs/write_text_file') {
      // opencode asks after a write it made itself (although no file system was offered): acknowledged, not done.
      return sendLine([{ id: `reply:${requestId}`, line: JSON.stringify({ jsonrpc: '2.0', id: raw, result: null }) }]);
    }
    if (method !== 'session/request_permission') {
      const line = {
        jsonrpc: '2.0',
        id: raw,
        error: { code: -32601, message: `${method} is not offered by the orchestrator` },
      };
      return sendLine([{ id: `reply:${requestId}`, line: JSON.stringify(line) }]);
    }
    const call = isObject(params.toolCall) ? params.toolCall : {};
    const options = Array.isArray(params.options) ? params.options.filter(isObject) : [];
    const asked = { requestId, ...permissionOf(call) };
    this.requests.set(requestId, { ...asked, raw, options });
    // Not consumed: the call it announces is shown (a command started, a change proposed).
    return { consumed: false, steps: [{ kind: 'permission', request: asked }] };
  }

  /** The next prompt when none runs, or the end when every prompt has had its result. */
  private next(): Envelope[] {
    if (this.ended || !this.sessionId || this.running) return [];
    for (const [key, prompt] of this.prompts) {
      if (prompt.sent) continue;
      if (!prompt.text) return [];
      prompt.sent = true;
      this.running = key;
      const params = { sessionId: this.sessionId, prompt: [{ type: 'text', text: prompt.text }] };
      return [request(`message:${key}`, 'session/prompt', params)];
    }
    // Sent before a crash and not answered yet: it runs.
    const waiting = [...this.prompts.keys()];
    if (waiting.length > 0) {
      this.running = waiting[0] as string;
      return [];
    }
    return this.end();
  }

  private end(): Envelope[] {
    if (this.ended) return [];
    this.ended = true;
    return [END_ENVELOPE];
  }
}

/**
 * The mode of a session's `modes` in which its agent only reads: `plan` (gemini, qwen, opencode), else one named or
 * described read-only; null when it offers none (the permission rules then decide its every request). A session
 * that lists no modes is asked for `plan`.
 */
export function readOnlyMode(modes: unknown): string | null {
  if (!isObject(modes) || !Array.isArray(modes.availableModes)) return 'plan';
  const available = modes.availableModes.filter(isObject);
  const ids = available.flatMap((m) => (str(m.id) ? [str(m.id) as string] : []));
  if (ids.includes('plan')) return 'plan';
  const readOnly = /read[\s_-]?only/i;
  const found = available.find(
    (m) =>
      readOnly.test(str(m.id) ?? '') || readOnly.test(str(m.name) ?? '') || readOnly.test(str(m.description) ?? ''),
  );
  return found ? (str(found.id) ?? null) : null;
}

function request(id: string, method: string, params: unknown): Envelope {
  return { id, line: JSON.stringify({ jsonrpc: '2.0', id, method, params }) };
}
