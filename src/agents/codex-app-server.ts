/**
 * What `codex app-server` prints (codex-cli 0.169.0, JSON-RPC 2.0 without the `"jsonrpc"` member, one object per line):
 * the notifications of a thread's turns as the orchestrator's payloads, and the failure of a run that exited 0. The
 * requests and responses of the protocol itself are the conversation's (./codex-interactive.ts); this file sees
 * the lines it leaves. Captured transcripts: test/fixtures/protocols/codex.
 *
 * | notification | payload |
 * |---|---|
 * | `thread/started` | `init` (the thread id is the agent's session id) |
 * | `turn/started` | `message` (system) |
 * | `item/completed` `agentMessage` / `reasoning` | `message` (assistant) / `reasoning` |
 * | `item/started`, `item/completed` `commandExecution` / `fileChange` | `command` / `file_change` |
 * | `item/*` `mcpToolCall`, `webSearch` | `tool_call`, `tool_result` |
 * | `turn/plan/updated` | `plan` |
 * | `thread/tokenUsage/updated` (`last`: one model request) | `usage` (an increment) |
 * | `turn/completed` (`completed`, `failed`, `interrupted`) | `result` |
 * | `error`, an error response to one of our requests | `error` |
 */
import type { AgentPayload } from '../domain/events.js';
import { classifyCodexFailure } from './codex.js';
import { classifyByLastTurn } from './conversation.js';
import {
  clip,
  clipMiddle,
  defined,
  int,
  isObject,
  type JsonObject,
  parseJsonLine,
  str,
  textOf,
  unknownPayload,
} from './common.js';

const COMMAND_STATUS = {
  inProgress: 'started',
  completed: 'completed',
  failed: 'failed',
  declined: 'declined',
} as const;
const CHANGE_KINDS = new Set(['add', 'delete', 'update']);

export function parseCodexAppServerLine(line: string): AgentPayload[] {
  return parseJsonLine(line, (value) => {
    const method = str(value.method);
    if (method === undefined) {
      // A response that reached the parser is an error one (the conversation keeps the others).
      const error = isObject(value.error) ? value.error : null;
      return error ? [{ kind: 'error', message: clip(str(error.message) ?? textOf(error)) }] : [];
    }
    const params = isObject(value.params) ? value.params : {};
    switch (method) {
      case 'thread/started': {
        const thread = isObject(params.thread) ? params.thread : {};
        return [defined({ kind: 'init', agentSessionId: str(thread.id), cwd: str(thread.cwd) })];
      }
      case 'turn/started':
        return [{ kind: 'message', role: 'system', text: 'turn started' }];
      case 'item/started':
      case 'item/completed':
        return itemPayloads(method === 'item/completed', params, value);
      case 'turn/plan/updated': {
        const plan = Array.isArray(params.plan) ? params.plan.filter(isObject) : [];
        return [
          {
            kind: 'plan',
            items: plan.map((step) => ({ text: clip(textOf(step.step)), done: step.status === 'completed' })),
          },
        ];
      }
      case 'thread/tokenUsage/updated':
        return usagePayload(params);
      case 'turn/completed':
        return [turnResult(params)];
      case 'error':
        return [errorPayload(params)];
      case 'deprecationNotice':
      case 'configWarning':
        return [{ kind: 'error', message: clip(textOf(params.summary ?? params)), warning: true }];
      default:
        return [unknownPayload(value, method)];
    }
  });
}

function itemPayloads(completed: boolean, params: JsonObject, value: JsonObject): AgentPayload[] {
  const item = isObject(params.item) ? params.item : null;
  if (!item) return [unknownPayload(value, str(value.method) ?? 'item')];
  const toolId = str(item.id);
  switch (item.type) {
    case 'agentMessage':
      return [defined({ kind: 'message', role: 'assistant', text: clipMiddle(textOf(item.text)), messageId: toolId })];
    case 'reasoning': {
      const parts = [item.summary, item.content].flatMap((list) => (Array.isArray(list) ? list.map(textOf) : []));
      return [{ kind: 'reasoning', text: clip(parts.filter(Boolean).join('\n')) }];
    }
    case 'commandExecution': {
      const status = COMMAND_STATUS[str(item.status) as keyof typeof COMMAND_STATUS] ?? 'started';
      const output = str(item.aggregatedOutput);
      return [
        defined({
          kind: 'command',
          toolId,
          command: clip(shownCommand(item)),
          status: completed ? status : 'started',
          exitCode: item.exitCode === null ? null : int(item.exitCode),
          output: output ? clip(output) : undefined,
        }),
      ];
    }
    case 'fileChange': {
      // Not applied before it completes (and, when codex asks first, not before we allow it).
      const status = !completed ? 'proposed' : item.status === 'completed' ? 'completed' : 'failed';
      return [defined({ kind: 'file_change', toolId, changes: changesOf(item), status })];
    }
    case 'mcpToolCall': {
      const name = `${str(item.server) ?? '?'}.${str(item.tool) ?? '?'}`;
      if (!completed) return [defined({ kind: 'tool_call', toolId, name, input: item.arguments })];
      const error = isObject(item.error) ? str(item.error.message) : undefined;
      const output = error ?? textOf(isObject(item.result) ? (item.result.content ?? item.result) : item.result);
      return [
        defined({ kind: 'tool_result', toolId, ok: item.status === 'completed' && !error, output: clip(output) }),
      ];
    }
    case 'webSearch':
      return [defined({ kind: 'tool_call', toolId, name: 'web_search', input: { query: str(item.query) } })];
    default:
      return [unknownPayload(value, `item.${str(item.type) ?? '(no type)'}`)];
  }
}

/** The files of a `fileChange` item: `changes: [{path, kind: {type: add|delete|update}}]`. */
export function changesOf(item: JsonObject): Array<{ path: string; kind: 'add' | 'delete' | 'update' }> {
  return (Array.isArray(item.changes) ? item.changes.filter(isObject) : []).flatMap((change) => {
    const path = str(change.path);
    const kind = isObject(change.kind) ? str(change.kind.type) : str(change.kind);
    if (path === undefined) return [];
    return [{ path, kind: kind && CHANGE_KINDS.has(kind) ? (kind as 'add' | 'delete' | 'update') : 'update' }];
  });
}

/**
 * The command as the agent wrote it: codex reports it wrapped (`/bin/bash -lc 'npm test'`), and keeps the script in
 * `commandActions[].command` when it is one action.
 */
export function shownCommand(item: JsonObject): string {
  const wrapped = textOf(item.command);
  return unwrapShell(wrapped) ?? wrapped;
}

/** The script of `bash -lc '<script>'` (and `sh -c`, `zsh -lc`): null when the command is not one such call. */
export function unwrapShell(command: string): string | null {
  const match = /^(?:\/usr)?(?:\/bin\/)?(?:ba|z|da)?sh -l?c (.+)$/s.exec(command.trim());
  return match?.[1] === undefined ? null : unquoteWord(match[1]);
}

/** One shell word in single or double quotes (`'it'\''s'`, `"a \"b\""`), or bare: its text; null when it is more. */
function unquoteWord(word: string): string | null {
  let out = '';
  for (let i = 0; i < word.length; ) {
    const c = word[i] as string;
    if (c === "'") {
      const end = word.indexOf("'", i + 1);
      if (end === -1) return null;
      out += word.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < word.length && word[j] !== '"'; j++) {
        if (word[j] === '\\' && j + 1 < word.length && '"\\$`'.includes(word[j + 1] as string)) j++;
        out += word[j];
      }
      if (j >= word.length) return null;
      i = j + 1;
    } else if (c === '\\' && i + 1 < word.length) {
      out += word[i + 1];
      i += 2;
    } else if (/\s/.test(c)) return null;
    else {
      out += c;
      i++;
    }
  }
  return out;
}

function usagePayload(params: JsonObject): AgentPayload[] {
  const usage = isObject(params.tokenUsage) && isObject(params.tokenUsage.last) ? params.tokenUsage.last : null;
  if (!usage) return [unknownPayload(params, 'thread/tokenUsage/updated')];
  const count = (v: unknown) => {
    const n = int(v);
    return n !== undefined && n >= 0 ? n : undefined;
  };
  return [
    {
      kind: 'usage',
      // `last` is this model request's; `total` counts the whole thread, a resumed one's earlier runs too.
      cumulative: false,
      usage: defined({
        inputTokens: count(usage.inputTokens),
        cachedInputTokens: count(usage.cachedInputTokens),
        outputTokens: count(usage.outputTokens),
        reasoningTokens: count(usage.reasoningOutputTokens),
      }),
    },
  ];
}

function turnResult(params: JsonObject): AgentPayload {
  const turn = isObject(params.turn) ? params.turn : {};
  const items = Array.isArray(turn.items) ? turn.items.filter(isObject) : [];
  const last = items.findLast((item) => item.type === 'agentMessage');
  const text = last ? clipMiddle(textOf(last.text)) : undefined;
  if (turn.status === 'completed') return defined({ kind: 'result', ok: true, text });
  const error = isObject(turn.error) ? str(turn.error.message) : undefined;
  const reason = turn.status === 'interrupted' ? 'interrupted' : (errorInfo(turn.error) ?? str(turn.status));
  return defined({
    kind: 'result',
    ok: false,
    text: error ? clip(error) : (text ?? `turn ${str(turn.status) ?? 'ended'}`),
    reason,
    errors: error ? [clip(error)] : undefined,
    httpStatus: httpStatusOf(turn.error),
  });
}

function errorPayload(params: JsonObject): AgentPayload {
  const error = isObject(params.error) ? params.error : {};
  const message = str(error.message) ?? textOf(error);
  const details = str(error.additionalDetails);
  return defined({
    kind: 'error',
    // "Reconnecting... 1/1" says why only in its details (the 401 of a rejected key).
    message: clip(details ? `${message} (${details})` : message),
    retrying: params.willRetry === true,
    code: errorInfo(error),
    httpStatus: httpStatusOf(error),
  });
}

/** `codexErrorInfo`: a name (`usageLimitExceeded`) or `{responseTooManyFailedAttempts: {httpStatusCode}}`. */
function errorInfo(error: unknown): string | undefined {
  if (!isObject(error)) return undefined;
  const info = error.codexErrorInfo;
  if (typeof info === 'string') return info;
  return isObject(info) ? Object.keys(info)[0] : undefined;
}

function httpStatusOf(error: unknown): number | undefined {
  if (!isObject(error) || !isObject(error.codexErrorInfo)) return undefined;
  const inner = Object.values(error.codexErrorInfo)[0];
  return isObject(inner) ? int(inner.httpStatusCode) : undefined;
}

/** The app-server exits 0 whenever its stdin closes: its last turn says whether the run failed. */
export const classifyCodexAppServerFailure = classifyByLastTurn(classifyCodexFailure);
