/**
 * The OpenAI Responses API as Codex CLI 0.169 uses it over HTTP (no websockets): `POST /v1/responses` with
 * `stream: true` (SSE: response.created, response.output_item.added/done, response.output_text.delta,
 * response.completed), error bodies `{error:{message, type, code}}`, and `GET /v1/models`.
 * Files are written with codex's own freeform `apply_patch` tool (a `custom_tool_call`).
 */
import type { ServerResponse } from 'node:http';
import { isAbsolute, relative } from 'node:path';
import {
  DEFAULT_AFTER_COMMAND,
  DEFAULT_AFTER_WRITE,
  DEFAULT_TEXT,
  verdictText,
  type Scenario,
  type TurnContext,
} from './scenarios.js';
import { splitInTwo } from './anthropic.js';
import { asArray, epochIn, isObject, sendJson, SseWriter, type JsonObject } from './sse.js';

export function openaiRoute(method: string, path: string): 'main' | 'side' | null {
  if (method === 'POST' && path === '/v1/responses') return 'main';
  if (method === 'GET' && path.startsWith('/v1/models')) return 'side';
  return null;
}

export function openaiContext(body: JsonObject, id: string): TurnContext {
  const input = asArray(body.input).filter(isObject);
  let lastUser = -1;
  let lastOutput = -1;
  input.forEach((item, index) => {
    if (item.role === 'user') lastUser = index;
    if (item.type === 'custom_tool_call_output' || item.type === 'function_call_output') lastOutput = index;
  });
  const cwd = /<cwd>([^<]+)<\/cwd>/.exec(JSON.stringify(body.input ?? ''))?.[1] ?? null;
  const model = typeof body.model === 'string' ? body.model : null;
  return { afterTool: lastOutput > lastUser, toolDone: lastOutput >= 0, cwd, model, id };
}

type Item =
  | { type: 'message'; text: string }
  | { type: 'custom_tool_call'; name: string; input: string }
  | { type: 'function_call'; name: string; arguments: string };

function openaiItems(scenario: Scenario, ctx: TurnContext): Item[] {
  switch (scenario.kind) {
    case 'text':
      return [{ type: 'message', text: scenario.text ?? DEFAULT_TEXT }];
    case 'verdict':
      return [{ type: 'message', text: verdictText(scenario) }];
    case 'write-file': {
      if (ctx.afterTool) return [{ type: 'message', text: scenario.text ?? DEFAULT_AFTER_WRITE }];
      // apply_patch paths are relative to the working directory, as codex tells its model to write them.
      const path = isAbsolute(scenario.path) && ctx.cwd ? relative(ctx.cwd, scenario.path) : scenario.path;
      const lines = scenario.content
        .replace(/\n$/, '')
        .split('\n')
        .map((line) => `+${line}`);
      const patch = ['*** Begin Patch', `*** Add File: ${path}`, ...lines, '*** End Patch', ''].join('\n');
      return [{ type: 'custom_tool_call', name: 'apply_patch', input: patch }];
    }
    case 'run-command':
      if (ctx.toolDone) return [{ type: 'message', text: scenario.text ?? DEFAULT_AFTER_COMMAND }];
      // codex 0.169's shell tool: `exec_command` with the command line in `cmd`, run in the thread's folder.
      return [{ type: 'function_call', name: 'exec_command', arguments: JSON.stringify({ cmd: scenario.command }) }];
    default:
      throw new Error(`not a success scenario: ${scenario.kind}`);
  }
}

export function openaiMain(res: ServerResponse, scenario: Scenario, ctx: TurnContext): void {
  if (scenario.kind.startsWith('err')) {
    openaiError(res, scenario);
    return;
  }
  const responseId = `resp_${ctx.id}`;
  const model = ctx.model ?? 'gpt-fake';
  const sse = new SseWriter(res);
  let seq = 0;
  const send = (type: string, data: JsonObject) => sse.event(type, { type, sequence_number: seq++, ...data });
  const base = { id: responseId, object: 'response', created_at: Math.floor(Date.now() / 1000), model };
  send('response.created', { response: { ...base, status: 'in_progress', output: [] } });
  const output: JsonObject[] = [];
  openaiItems(scenario, ctx).forEach((item, outputIndex) => {
    if (item.type === 'message') {
      const itemId = `msg_${ctx.id}_${outputIndex}`;
      send('response.output_item.added', {
        output_index: outputIndex,
        item: { id: itemId, type: 'message', status: 'in_progress', role: 'assistant', content: [] },
      });
      send('response.content_part.added', {
        item_id: itemId,
        output_index: outputIndex,
        content_index: 0,
        part: { type: 'output_text', text: '', annotations: [] },
      });
      for (const delta of splitInTwo(item.text)) {
        send('response.output_text.delta', { item_id: itemId, output_index: outputIndex, content_index: 0, delta });
      }
      send('response.output_text.done', {
        item_id: itemId,
        output_index: outputIndex,
        content_index: 0,
        text: item.text,
      });
      const done = {
        id: itemId,
        type: 'message',
        status: 'completed',
        role: 'assistant',
        content: [{ type: 'output_text', text: item.text, annotations: [] }],
      };
      send('response.content_part.done', {
        item_id: itemId,
        output_index: outputIndex,
        content_index: 0,
        part: done.content[0],
      });
      send('response.output_item.done', { output_index: outputIndex, item: done });
      output.push(done);
    } else {
      const done =
        item.type === 'custom_tool_call'
          ? {
              id: `ctc_${ctx.id}_${outputIndex}`,
              type: 'custom_tool_call',
              status: 'completed',
              call_id: `call_fake_${ctx.id}`,
              name: item.name,
              input: item.input,
            }
          : {
              id: `fc_${ctx.id}_${outputIndex}`,
              type: 'function_call',
              status: 'completed',
              call_id: `call_fake_${ctx.id}`,
              name: item.name,
              arguments: item.arguments,
            };
      send('response.output_item.added', {
        output_index: outputIndex,
        item: {
          ...done,
          status: 'in_progress',
          ...(item.type === 'custom_tool_call' ? { input: '' } : { arguments: '' }),
        },
      });
      send('response.output_item.done', { output_index: outputIndex, item: done });
      output.push(done);
    }
  });
  send('response.completed', {
    response: {
      ...base,
      status: 'completed',
      output,
      usage: {
        input_tokens: 1200,
        input_tokens_details: { cached_tokens: 200 },
        output_tokens: 34,
        output_tokens_details: { reasoning_tokens: 8 },
        total_tokens: 1234,
      },
    },
  });
  sse.end();
}

function openaiError(res: ServerResponse, scenario: Scenario): void {
  switch (scenario.kind) {
    case 'err401':
      sendJson(res, 401, {
        error: {
          message:
            'Incorrect API key provided: dummy-no*-key. ' +
            'You can find your API key at https://platform.openai.com/account/api-keys.',
          type: 'invalid_request_error',
          param: null,
          code: 'invalid_api_key',
        },
      });
      return;
    case 'err429': {
      // The shape codex turns into "You've hit your usage limit ... try again at <time>".
      const after = scenario.resetAfterSec ?? 2;
      sendJson(
        res,
        429,
        {
          error: {
            type: 'usage_limit_reached',
            code: 'usage_limit_reached',
            message: 'The usage limit has been reached',
            plan_type: 'plus',
            resets_at: epochIn(after),
            resets_in_seconds: after,
          },
        },
        { 'retry-after': String(after) },
      );
      return;
    }
    case 'err429-noreset':
      sendJson(res, 429, {
        error: {
          message: 'Rate limit reached for requests. Please try again later.',
          type: 'requests',
          param: null,
          code: 'rate_limit_exceeded',
        },
      });
      return;
    case 'err500':
      sendJson(res, 500, {
        error: {
          message: 'The server had an error while processing your request. Sorry about that!',
          type: 'server_error',
          param: null,
          code: null,
        },
      });
      return;
    default:
      throw new Error(`not an error scenario: ${scenario.kind}`);
  }
}

export function openaiSide(res: ServerResponse): void {
  sendJson(res, 200, {
    object: 'list',
    data: [{ id: 'gpt-5.5', object: 'model', created: 1767225600, owned_by: 'fake' }],
    models: [],
  });
}

export function openaiNotFound(res: ServerResponse, path: string): void {
  sendJson(res, 404, {
    error: {
      message: `fake model server: no route for ${path}`,
      type: 'invalid_request_error',
      param: null,
      code: 'not_found',
    },
  });
}
