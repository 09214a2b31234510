/**
 * What an ACP agent prints (./acp.ts has the protocol and the conversation): its lines as payloads, and what its
 * permission requests ask, in the permission rules' form. The shapes are those the captures show: gemini 0.61
 * (test/fixtures/protocols/gemini), opencode 1.18 and qwen 0.24 (docs/compatibility.md).
 */
import type { AgentPayload } from '../domain/events.js';
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
import type { AskedPermission } from './conversation.js';

/** The statuses that end a call (opencode updates a call while it runs). */
export const ENDED = new Set(['completed', 'failed']);

export function parseAcpLine(line: string): AgentPayload[] {
  return parseJsonLine(line, (value) => {
    const method = str(value.method);
    if (method === undefined) return responsePayloads(value);
    const params = isObject(value.params) ? value.params : {};
    if (method === 'session/request_permission') {
      // The request is the only announcement of the call: it is shown as started (or proposed) while it is asked.
      const call = isObject(params.toolCall) ? params.toolCall : {};
      return [toolPayload(call, false)];
    }
    if (method !== 'session/update') return [unknownPayload(value, method)];
    const update = isObject(params.update) ? params.update : {};
    const kind = str(update.sessionUpdate) ?? '(none)';
    const text = isObject(update.content) ? textOf(update.content.text) : '';
    switch (kind) {
      case 'agent_message_chunk': {
        // Qwen reports each model call's usage on an empty chunk of its own.
        const usage = isObject(update._meta) && isObject(update._meta.usage) ? update._meta.usage : null;
        if (usage && text === '') return [usagePayload(usage)];
        return [{ kind: 'message', role: 'assistant', text: clipMiddle(text), delta: true }];
      }
      case 'user_message_chunk':
        return [{ kind: 'message', role: 'user', text: clipMiddle(text), delta: true }];
      case 'agent_thought_chunk':
        return [{ kind: 'reasoning', text: clip(text) }];
      case 'tool_call':
      case 'tool_call_update':
        // An update is the call's end only once it completed or failed (opencode updates it while it runs).
        return [toolPayload(update, kind === 'tool_call_update' && ENDED.has(str(update.status) ?? 'completed'))];
      case 'plan': {
        const entries = Array.isArray(update.entries) ? update.entries.filter(isObject) : [];
        return [
          {
            kind: 'plan',
            items: entries.map((e) => ({ text: clip(textOf(e.content)), done: e.status === 'completed' })),
          },
        ];
      }
      default:
        return [unknownPayload(value, `session/update ${kind}`)];
    }
  });
}

/** A response to one of our requests that reached the parser: the session (init), a prompt's end, or an error. */
function responsePayloads(value: JsonObject): AgentPayload[] {
  if (isObject(value.error)) {
    const code = int(value.error.code);
    // opencode says `Internal error: <the API's message>`; qwen `Internal error` with `details` `401 <message>`.
    const message = (str(value.error.message) ?? textOf(value.error)).replace(/^Internal error: /, '');
    const details = isObject(value.error.data) ? str(value.error.data.details) : undefined;
    const leading = details ? /^([45]\d\d) /.exec(details) : null;
    const httpStatus =
      code !== undefined && code >= 400 && code <= 599 ? code : leading ? Number(leading[1]) : undefined;
    const text = clip(details ? `${message}: ${details}` : message);
    return [
      defined({ kind: 'error', message: text, httpStatus }),
      defined({ kind: 'result', ok: false, text, errors: [text], httpStatus }),
    ];
  }
  const result = isObject(value.result) ? value.result : {};
  if (typeof result.sessionId === 'string') {
    const models = isObject(result.models) ? result.models : {};
    // opencode names its model only among its config options.
    const options = Array.isArray(result.configOptions) ? result.configOptions.filter(isObject) : [];
    const model = str(models.currentModelId) ?? str(options.find((o) => o.id === 'model')?.currentValue);
    return [defined({ kind: 'init', agentSessionId: result.sessionId, model })];
  }
  const stopReason = str(result.stopReason);
  if (stopReason === undefined) return [];
  const meta = isObject(result._meta) && isObject(result._meta.quota) ? result._meta.quota : {};
  const tokens = isObject(meta.token_count) ? meta.token_count : null;
  const usage: AgentPayload[] = tokens
    ? [
        {
          kind: 'usage',
          cumulative: false,
          usage: defined({ inputTokens: int(tokens.input_tokens), outputTokens: int(tokens.output_tokens) }),
        },
      ]
    : // opencode: the turn's usage in the result itself.
      isObject(result.usage)
      ? [usagePayload(result.usage)]
      : [];
  return [...usage, { kind: 'result', ok: stopReason === 'end_turn', reason: stopReason }];
}

/** `{inputTokens, outputTokens, totalTokens, cachedReadTokens}`, as qwen and opencode count a turn. */
function usagePayload(usage: JsonObject): AgentPayload {
  return {
    kind: 'usage',
    cumulative: false,
    usage: defined({
      inputTokens: int(usage.inputTokens),
      outputTokens: int(usage.outputTokens),
      totalTokens: int(usage.totalTokens),
      cachedInputTokens: int(usage.cachedReadTokens),
    }),
  };
}

const EDIT_KINDS = new Set(['edit', 'delete', 'move']);
const CHANGE_KIND = { add: 'add', modify: 'update', delete: 'delete' } as const;

/** A tool call of a `tool_call`, `tool_call_update` or permission request. */
function toolPayload(call: JsonObject, ended: boolean): AgentPayload {
  const toolId = str(call.toolCallId);
  const kind = str(call.kind) ?? 'other';
  const status = str(call.status);
  const failed = status === 'failed';
  if (kind === 'execute') {
    return defined({
      kind: 'command',
      toolId,
      command: clip(textOf(call.title)),
      status: !ended ? 'started' : failed ? 'failed' : 'completed',
      output: ended ? contentText(call) || undefined : undefined,
    });
  }
  if (EDIT_KINDS.has(kind)) {
    const changes = diffsOf(call).map((d) => ({ path: d.path, kind: d.kind }));
    return defined({
      kind: 'file_change',
      toolId,
      changes,
      status: !ended ? 'proposed' : failed ? 'failed' : 'completed',
    });
  }
  if (!ended) return defined({ kind: 'tool_call', toolId, name: toolName(call), input: { title: str(call.title) } });
  return defined({ kind: 'tool_result', toolId, ok: !failed, output: contentText(call) || undefined });
}

/** The tool's own name where the agent gives one (gemini's call ids are `<name>__<name>_<ms>_<n>`), else its kind. */
function toolName(call: JsonObject): string {
  const meta = isObject(call._meta) ? str(call._meta.toolName) : undefined;
  const id = str(call.toolCallId) ?? '';
  return meta ?? (id.includes('__') ? (id.split('__')[0] as string) : (str(call.kind) ?? 'tool'));
}

function contentText(call: JsonObject): string {
  const content = Array.isArray(call.content) ? call.content.filter(isObject) : [];
  return clip(
    content
      .map((c) => (isObject(c.content) ? textOf(c.content.text) : ''))
      .filter(Boolean)
      .join('\n'),
  );
}

/** The files a call writes: its diffs (`_meta.kind` add/modify/delete), else its locations. */
function diffsOf(call: JsonObject): Array<{ path: string; kind: 'add' | 'update' | 'delete' }> {
  const content = Array.isArray(call.content) ? call.content.filter(isObject) : [];
  const diffs = content.flatMap((c) => {
    const path = c.type === 'diff' ? str(c.path) : undefined;
    if (!path) return [];
    const meta = isObject(c._meta) ? str(c._meta.kind) : undefined;
    return [{ path, kind: CHANGE_KIND[meta as keyof typeof CHANGE_KIND] ?? 'update' }];
  });
  if (diffs.length > 0) return diffs;
  const locations = Array.isArray(call.locations) ? call.locations.filter(isObject) : [];
  return locations.flatMap((l) => (str(l.path) ? [{ path: str(l.path) as string, kind: 'update' as const }] : []));
}

/** What a permission request asks, in the rules' form: a command (`execute`), files (`edit`), a fetch, a read. */
export function permissionOf(call: JsonObject): Omit<AskedPermission, 'requestId'> {
  const kind = str(call.kind) ?? 'other';
  const raw = isObject(call.rawInput) ? call.rawInput : {};
  if (kind === 'execute') return { tool: 'Bash', command: str(raw.command) ?? textOf(call.title) };
  if (EDIT_KINDS.has(kind)) {
    const paths = diffsOf(call).map((d) => d.path);
    return paths.length > 0 ? { tool: 'Edit', paths } : { tool: 'Edit' };
  }
  if (kind === 'fetch') {
    const url = str(raw.url) ?? /https?:\/\/\S+/.exec(textOf(call.title))?.[0];
    return url ? { tool: 'WebFetch', url } : { tool: 'WebFetch' };
  }
  if (kind === 'read') {
    const paths = (Array.isArray(call.locations) ? call.locations.filter(isObject) : []).flatMap((l) =>
      str(l.path) ? [str(l.path) as string] : [],
    );
    return paths.length > 0 ? { tool: 'Read', paths } : { tool: 'Read' };
  }
  return { tool: toolName(call) };
}
