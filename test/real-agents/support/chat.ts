/**
 * The OpenAI Chat Completions API as Qwen Code 0.24 (auth type `openai`) and opencode 1.18 (its bundled
 * `@ai-sdk/openai-compatible` provider) call it: `POST /v1/chat/completions` with `stream: true` (SSE `data:` lines of
 * `chat.completion.chunk`, a last chunk with the usage, then `data: [DONE]`), errors `{error:{message, type, code}}`,
 * and `GET /v1/models`. The shapes are those an offline research run captured (docs/compatibility.md).
 *
 * Tool names differ per CLI, so each request's `tools` tell which one calls: qwen offers `run_shell_command` and
 * `write_file {file_path}`, opencode `bash` and `write {filePath}`.
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
import { asArray, isObject, type JsonObject, SseWriter, sendJson, targetPath } from './sse.js';

export function chatRoute(method: string, path: string): 'main' | 'side' | null {
  if (method === 'POST' && path === '/v1/chat/completions') return 'main';
  if (method === 'GET' && path.startsWith('/v1/models')) return 'side';
  return null;
}

export function chatContext(body: JsonObject, id: string): TurnContext & { tools: 'qwen' | 'opencode' } {
  const messages = asArray(body.messages).filter(isObject);
  const text = JSON.stringify(messages);
  // qwen: "I'm currently working in the directory: /x" (its first user message); opencode: "Working directory: /x".
  const cwd =
    /working in the directory:\s*([^\\\n"<]+)/.exec(text)?.[1]?.trim() ??
    /[Ww]orking directory:\s*([^\\\n"<]+)/.exec(text)?.[1]?.trim() ??
    null;
  const names = new Set(
    asArray(body.tools).flatMap((t) => (isObject(t) && isObject(t.function) ? [String(t.function.name)] : [])),
  );
  return {
    afterTool: messages.at(-1)?.role === 'tool',
    toolDone: messages.some((m) => m.role === 'tool'),
    cwd,
    model: typeof body.model === 'string' ? body.model : null,
    id,
    tools: names.has('run_shell_command') || names.has('write_file') ? 'qwen' : 'opencode',
  };
}

type Output = { text?: string; tool?: { name: string; args: JsonObject } };

function outputOf(scenario: Scenario, ctx: ReturnType<typeof chatContext>): Output {
  const qwen = ctx.tools === 'qwen';
  switch (scenario.kind) {
    case 'text':
      return { text: scenario.text ?? DEFAULT_TEXT };
    case 'verdict':
      return { text: verdictText(scenario) };
    case 'write-file': {
      if (ctx.afterTool) return { text: scenario.text ?? DEFAULT_AFTER_WRITE };
      const path = targetPath(scenario.path, ctx.cwd);
      const args = qwen
        ? { file_path: path, content: scenario.content }
        : { filePath: path, content: scenario.content };
      return { text: 'I will write the file.', tool: { name: qwen ? 'write_file' : 'write', args } };
    }
    case 'run-command':
      if (ctx.toolDone) return { text: scenario.text ?? DEFAULT_AFTER_COMMAND };
      return {
        text: 'I will run the command.',
        tool: {
          name: qwen ? 'run_shell_command' : 'bash',
          args: qwen ? { command: scenario.command, description: 'Run the command' } : { command: scenario.command },
        },
      };
    default:
      throw new Error(`not a success scenario: ${scenario.kind}`);
  }
}

const USAGE = { prompt_tokens: 1200, completion_tokens: 34, total_tokens: 1234 };

export function chatMain(res: ServerResponse, scenario: Scenario, ctx: ReturnType<typeof chatContext>): void {
  if (scenario.kind.startsWith('err')) {
    chatError(res, scenario);
    return;
  }
  const out = outputOf(scenario, ctx);
  const sse = new SseWriter(res);
  const base = { id: `chatcmpl-${ctx.id}`, object: 'chat.completion.chunk', created: 1767225600 };
  const chunk = (delta: JsonObject, finish: string | null = null) =>
    sse.event(null, {
      ...base,
      model: ctx.model ?? 'fake-model',
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
  chunk({ role: 'assistant', content: '' });
  if (out.text) {
    const cut = out.text.indexOf(' ');
    for (const piece of cut > 0 ? [out.text.slice(0, cut + 1), out.text.slice(cut + 1)] : [out.text])
      chunk({ content: piece });
  }
  if (out.tool) {
    const args = JSON.stringify(out.tool.args);
    const half = Math.floor(args.length / 2);
    const call = { index: 0, id: `call_${ctx.id}`, type: 'function', function: { name: out.tool.name, arguments: '' } };
    chunk({ tool_calls: [call] });
    chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(0, half) } }] });
    chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(half) } }] });
  }
  chunk({}, out.tool ? 'tool_calls' : 'stop');
  // stream_options.include_usage: the usage in a last chunk with no choices.
  sse.event(null, { ...base, model: ctx.model ?? 'fake-model', choices: [], usage: USAGE });
  res.write('data: [DONE]\n\n');
  sse.end();
}

function chatError(res: ServerResponse, scenario: Scenario): void {
  const error = (status: number, message: string, type: string, code: string | null, headers = {}) =>
    sendJson(res, status, { error: { message, type, param: null, code } }, headers);
  const rateLimited = 'Rate limit reached for requests. Please try again later.';
  switch (scenario.kind) {
    case 'err401':
      error(401, 'Incorrect API key provided: dummy-no*-key.', 'invalid_request_error', 'invalid_api_key');
      return;
    case 'err429': {
      const after = scenario.resetAfterSec ?? 2;
      const headers = { 'retry-after': String(after), 'retry-after-ms': String(after * 1000) };
      error(429, rateLimited, 'requests', 'rate_limit_exceeded', headers);
      return;
    }
    case 'err429-noreset':
      error(429, rateLimited, 'requests', 'rate_limit_exceeded');
      return;
    case 'err500':
      // Both CLIs retry a 5xx for over a minute unless told when: `retry-after-ms: 0` keeps tests fast.
      error(500, 'The server had an error while processing your request.', 'server_error', null, {
        'retry-after-ms': '0',
      });
      return;
    default:
      throw new Error(`not an error scenario: ${scenario.kind}`);
  }
}

export function chatSide(res: ServerResponse): void {
  sendJson(res, 200, { object: 'list', data: [{ id: 'fake-model', object: 'model', created: 1767225600 }] });
}

export function chatNotFound(res: ServerResponse, path: string): void {
  const message = `fake model server: no route for ${path}`;
  sendJson(res, 404, { error: { message, type: 'invalid_request_error', param: null, code: 'not_found' } });
}
