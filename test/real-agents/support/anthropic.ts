/**
 * The Anthropic Messages API as Claude Code 2.1 uses it: `POST /v1/messages?beta=true` with `stream: true`
 * (SSE: message_start, content_block_start/delta/stop, message_delta, message_stop), its error bodies
 * `{type:"error", error:{type, message}}` and the rate-limit headers it reads.
 */
import type { ServerResponse } from 'node:http';
import {
  DEFAULT_AFTER_COMMAND,
  DEFAULT_AFTER_WRITE,
  DEFAULT_TEXT,
  verdictText,
  type Scenario,
  type TurnContext,
} from './scenarios.js';
import { asArray, epochIn, isObject, sendJson, SseWriter, targetPath, type JsonObject } from './sse.js';

export const ANTHROPIC_TOOL_ID_PREFIX = 'toolu_fake';

export function anthropicRoute(method: string, path: string): 'main' | 'side' | null {
  if (method === 'POST' && path === '/v1/messages') return 'main';
  if (method === 'POST' && path === '/v1/messages/count_tokens') return 'side';
  if (method === 'GET' && path.startsWith('/v1/models')) return 'side';
  return null;
}

export function anthropicContext(body: JsonObject, id: string): TurnContext {
  const messages = asArray(body.messages).filter(isObject);
  const last = messages[messages.length - 1];
  const afterTool =
    last?.role === 'user' && asArray(last.content).some((block) => isObject(block) && block.type === 'tool_result');
  const text = JSON.stringify(body.messages ?? '') + JSON.stringify(body.system ?? '');
  const cwd = /Primary working directory: ([^\\\n"]+)/.exec(text)?.[1]?.trim() ?? null;
  const toolDone = messages.some(
    (m) => m.role === 'user' && asArray(m.content).some((block) => isObject(block) && block.type === 'tool_result'),
  );
  return { afterTool, toolDone, cwd, model: typeof body.model === 'string' ? body.model : null, id };
}

export function anthropicMain(res: ServerResponse, body: JsonObject, scenario: Scenario, ctx: TurnContext): void {
  if (scenario.kind.startsWith('err')) {
    anthropicError(res, scenario);
    return;
  }
  const model = ctx.model ?? 'claude-fake';
  const blocks = anthropicBlocks(scenario, ctx);
  if (body.stream !== true) {
    sendJson(res, 200, {
      id: `msg_${ctx.id}`,
      type: 'message',
      role: 'assistant',
      model,
      content: blocks.map((b) =>
        b.type === 'text'
          ? { type: 'text', text: b.text }
          : { type: 'tool_use', id: b.id, name: b.name, input: b.input },
      ),
      stop_reason: blocks.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 12, output_tokens: 9, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    });
    return;
  }
  const sse = new SseWriter(res);
  sse.event('message_start', {
    type: 'message_start',
    message: {
      id: `msg_${ctx.id}`,
      type: 'message',
      role: 'assistant',
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 12, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 },
    },
  });
  blocks.forEach((block, index) => {
    if (block.type === 'text') {
      sse.event('content_block_start', {
        type: 'content_block_start',
        index,
        content_block: { type: 'text', text: '' },
      });
      for (const piece of splitInTwo(block.text)) {
        sse.event('content_block_delta', {
          type: 'content_block_delta',
          index,
          delta: { type: 'text_delta', text: piece },
        });
      }
    } else {
      sse.event('content_block_start', {
        type: 'content_block_start',
        index,
        content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} },
      });
      sse.event('content_block_delta', {
        type: 'content_block_delta',
        index,
        delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) },
      });
    }
    sse.event('content_block_stop', { type: 'content_block_stop', index });
  });
  const stopReason = blocks.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn';
  sse.event('message_delta', {
    type: 'message_delta',
    delta: { stop_reason: stopReason, stop_sequence: null },
    usage: { output_tokens: 9 },
  });
  sse.event('message_stop', { type: 'message_stop' });
  sse.end();
}

type Block = { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: JsonObject };

function anthropicBlocks(scenario: Scenario, ctx: TurnContext): Block[] {
  switch (scenario.kind) {
    case 'text':
      return [{ type: 'text', text: scenario.text ?? DEFAULT_TEXT }];
    case 'verdict':
      return [{ type: 'text', text: verdictText(scenario) }];
    case 'write-file':
      if (ctx.afterTool) return [{ type: 'text', text: scenario.text ?? DEFAULT_AFTER_WRITE }];
      return [
        { type: 'text', text: 'I will write the file.' },
        {
          type: 'tool_use',
          id: `${ANTHROPIC_TOOL_ID_PREFIX}_${ctx.id}`,
          name: 'Write',
          input: { file_path: targetPath(scenario.path, ctx.cwd), content: scenario.content },
        },
      ];
    case 'run-command':
      if (ctx.toolDone) return [{ type: 'text', text: scenario.text ?? DEFAULT_AFTER_COMMAND }];
      return [
        { type: 'text', text: 'I will run the command.' },
        {
          type: 'tool_use',
          id: `${ANTHROPIC_TOOL_ID_PREFIX}_${ctx.id}`,
          name: 'Bash',
          input: { command: scenario.command, description: 'Run the command' },
        },
      ];
    default:
      throw new Error(`not a success scenario: ${scenario.kind}`);
  }
}

function anthropicError(res: ServerResponse, scenario: Scenario): void {
  const headers: Record<string, string> = { 'request-id': `req_fake_${scenario.kind}` };
  switch (scenario.kind) {
    case 'err401':
      sendJson(
        res,
        401,
        { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } },
        headers,
      );
      return;
    case 'err429': {
      const after = scenario.resetAfterSec ?? 2;
      const reset = epochIn(after);
      sendJson(
        res,
        429,
        {
          type: 'error',
          error: {
            type: 'rate_limit_error',
            message: 'This request would exceed the rate limit for your organization. Please try again later.',
          },
        },
        {
          ...headers,
          'retry-after': String(after),
          'anthropic-ratelimit-unified-status': 'rejected',
          'anthropic-ratelimit-unified-reset': String(reset),
          'anthropic-ratelimit-unified-representative-claim': 'five_hour',
          'anthropic-ratelimit-unified-5h-status': 'rejected',
          'anthropic-ratelimit-unified-5h-reset': String(reset),
          'anthropic-ratelimit-requests-limit': '50',
          'anthropic-ratelimit-requests-remaining': '0',
          'anthropic-ratelimit-requests-reset': new Date(reset * 1000).toISOString(),
        },
      );
      return;
    }
    case 'err429-noreset':
      sendJson(
        res,
        429,
        {
          type: 'error',
          error: { type: 'rate_limit_error', message: 'Number of requests has exceeded your rate limit.' },
        },
        headers,
      );
      return;
    case 'err500':
      sendJson(res, 500, { type: 'error', error: { type: 'api_error', message: 'Internal server error' } }, headers);
      return;
    default:
      throw new Error(`not an error scenario: ${scenario.kind}`);
  }
}

export function anthropicSide(res: ServerResponse, path: string): void {
  if (path.startsWith('/v1/models')) {
    sendJson(res, 200, {
      data: [{ id: 'claude-fake', type: 'model', display_name: 'Claude (fake)', created_at: '2026-01-01T00:00:00Z' }],
      has_more: false,
      first_id: 'claude-fake',
      last_id: 'claude-fake',
    });
    return;
  }
  sendJson(res, 200, { input_tokens: 12 });
}

export function anthropicNotFound(res: ServerResponse, path: string): void {
  sendJson(res, 404, {
    type: 'error',
    error: { type: 'not_found_error', message: `fake model server: no route for ${path}` },
  });
}

/** Two pieces, so the stream really has several deltas. */
export function splitInTwo(text: string): string[] {
  const cut = text.indexOf(' ');
  return cut > 0 && cut < text.length - 1 ? [text.slice(0, cut + 1), text.slice(cut + 1)] : [text];
}
