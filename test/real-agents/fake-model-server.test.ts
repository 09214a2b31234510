/**
 * The fake model server on its own, over HTTP (no CLI): routing by provider prefix, scripts with `times`,
 * routes by body marker, the wire formats' framing, error statuses and headers, and the log of unknown paths.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeModelServer, type FakeModelServer } from './fake-model-server.js';

let server: FakeModelServer;

beforeAll(async () => {
  server = await startFakeModelServer();
});
afterAll(async () => {
  await server?.close();
});
beforeEach(() => server.reset());

const post = (url: string, body: unknown) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** The `data:` payloads of an SSE body. */
function sseData(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => JSON.parse(line.slice(6)) as Record<string, unknown>);
}

describe('fake model server', () => {
  it('binds loopback and gives each provider its own prefix', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.baseUrls).toEqual({
      anthropic: `${server.url}/anthropic`,
      openai: `${server.url}/openai/v1`,
      gemini: `${server.url}/gemini`,
      chat: `${server.url}/chat/v1`,
    });
  });

  it('chat completions: the tools offered tell qwen from opencode; arguments stream in pieces', async () => {
    server.setScenario('chat', { kind: 'write-file', path: 'hello.txt', content: 'hi\n' });
    const ask = async (tools: string[], cwdLine: string) =>
      sseData(
        (
          await (
            await post(`${server.baseUrls.chat}/chat/completions`, {
              stream: true,
              messages: [{ role: 'user', content: `${cwdLine} /t` }],
              tools: tools.map((name) => ({ type: 'function', function: { name } })),
            })
          ).text()
        ).replace('data: [DONE]', ''),
      );
    const callOf = (chunks: Array<Record<string, unknown>>) => {
      const deltas = chunks.flatMap((c) => (c.choices as Array<{ delta: { tool_calls?: unknown[] } }>) ?? []);
      const calls = deltas.flatMap((d) => (d.delta.tool_calls ?? []) as Array<{ function: Record<string, string> }>);
      return { name: calls[0]?.function.name, args: JSON.parse(calls.map((c) => c.function.arguments).join('')) };
    };
    const qwen = await ask(['run_shell_command', 'write_file'], "I'm currently working in the directory:");
    expect(callOf(qwen)).toEqual({ name: 'write_file', args: { file_path: '/t/hello.txt', content: 'hi\n' } });
    expect(qwen.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 1200 } });
    const opencode = await ask(['bash', 'write'], 'Working directory:');
    expect(callOf(opencode)).toEqual({ name: 'write', args: { filePath: '/t/hello.txt', content: 'hi\n' } });
  });

  it('anthropic: a streamed text message, and a Write tool_use answered by a final text after its result', async () => {
    const text = await (
      await post(`${server.baseUrls.anthropic}/v1/messages?beta=true`, {
        model: 'm',
        stream: true,
        messages: [{ role: 'user', content: 'hi' }],
      })
    ).text();
    const types = sseData(text).map((d) => d.type);
    expect(types).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);

    server.setScenario('anthropic', { kind: 'write-file', path: '/abs/hello.txt', content: 'x' });
    const first = sseData(
      await (
        await post(`${server.baseUrls.anthropic}/v1/messages`, {
          stream: true,
          messages: [{ role: 'user', content: 'go' }],
        })
      ).text(),
    );
    const tool = first.find(
      (d) => d.type === 'content_block_start' && (d.content_block as { type: string }).type === 'tool_use',
    );
    expect(tool?.content_block).toMatchObject({ type: 'tool_use', name: 'Write' });
    expect(first.find((d) => d.type === 'message_delta')?.delta).toMatchObject({ stop_reason: 'tool_use' });
    const toolId = (tool!.content_block as { id: string }).id;
    const second = sseData(
      await (
        await post(`${server.baseUrls.anthropic}/v1/messages`, {
          stream: true,
          messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: toolId, content: 'ok' }] }],
        })
      ).text(),
    );
    expect(second.find((d) => d.type === 'message_delta')?.delta).toMatchObject({ stop_reason: 'end_turn' });
    expect(server.turns('anthropic', 'write-file').map((q) => q.afterTool)).toEqual([false, true]);
  });

  it('scripts: `times` then the next step; routes by body marker win over the default script', async () => {
    server.setScenario('openai', [{ scenario: { kind: 'err500' }, times: 2 }, { kind: 'text' }]);
    server.route('openai', 'REVIEW-ME', { kind: 'err401' });
    const statuses: number[] = [];
    for (const input of ['a', 'b', 'REVIEW-ME', 'c']) {
      statuses.push(
        (await post(`${server.baseUrls.openai}/responses`, { stream: true, input: [{ role: 'user', content: input }] }))
          .status,
      );
    }
    expect(statuses).toEqual([500, 500, 401, 200]);
    expect(server.turns('openai').map((q) => `${q.scenario}${q.route ? `@${q.route}` : ''}`)).toEqual([
      'err500',
      'err500',
      'err401@REVIEW-ME',
      'text',
    ]);
  });

  it('openai: the Responses stream ends with response.completed and usage; apply_patch: custom_tool_call', async () => {
    server.setScenario('openai', { kind: 'write-file', path: 'hello.txt', content: 'one\ntwo\n' });
    const events = sseData(
      await (
        await post(`${server.baseUrls.openai}/responses`, {
          stream: true,
          input: [{ role: 'user', content: '<cwd>/t</cwd>' }],
        })
      ).text(),
    );
    const call = events.find((d) => d.type === 'response.output_item.done')?.item as Record<string, unknown>;
    expect(call).toMatchObject({ type: 'custom_tool_call', name: 'apply_patch' });
    expect(call.input).toBe('*** Begin Patch\n*** Add File: hello.txt\n+one\n+two\n*** End Patch\n');
    expect(events.at(-1)).toMatchObject({
      type: 'response.completed',
      response: { status: 'completed', usage: { input_tokens: 1200 } },
    });
  });

  it("run-command: codex's exec_command function call; after a tool result, the final text", async () => {
    server.setScenario('openai', { kind: 'run-command', command: 'touch x.txt', text: 'Done.' });
    const ask = async (input: unknown[]) =>
      sseData(await (await post(`${server.baseUrls.openai}/responses`, { stream: true, input })).text());
    const first = await ask([{ role: 'user', content: 'go' }]);
    const call = first.find((d) => d.type === 'response.output_item.done')?.item as Record<string, unknown>;
    expect(call).toMatchObject({ type: 'function_call', name: 'exec_command', arguments: '{"cmd":"touch x.txt"}' });
    // A message a person sent while the command waited comes after its result: the command is not asked again.
    const second = await ask([
      { role: 'user', content: 'go' },
      { type: 'function_call', call_id: call.call_id, name: 'exec_command', arguments: call.arguments },
      { type: 'function_call_output', call_id: call.call_id, output: 'rejected by user' },
      { role: 'user', content: 'also this' },
    ]);
    const done = second.find((d) => d.type === 'response.output_item.done')?.item as Record<string, unknown>;
    expect(done).toMatchObject({ type: 'message', content: [{ text: 'Done.' }] });
  });

  it('gemini: SSE chunks of candidates, JSON side calls for the router, RetryInfo on a 429', async () => {
    const chunks = sseData(
      await (
        await post(`${server.baseUrls.gemini}/v1beta/models/g:streamGenerateContent?alt=sse`, {
          contents: [{ role: 'user', parts: [{ text: 'hi' }] }],
        })
      ).text(),
    );
    expect(chunks.at(-1)).toMatchObject({
      candidates: [{ finishReason: 'STOP' }],
      usageMetadata: { totalTokenCount: 1269 },
    });
    const routed = (await (
      await post(`${server.baseUrls.gemini}/v1beta/models/lite:generateContent`, {
        generationConfig: { responseJsonSchema: { properties: { complexity_score: {} } } },
      })
    ).json()) as {
      candidates: Array<{ content: { parts: Array<{ text: string }> } }>;
    };
    expect(JSON.parse(routed.candidates[0]!.content.parts[0]!.text)).toMatchObject({ complexity_score: 10 });
    server.setScenario('gemini', { kind: 'err429', resetAfterSec: 7 });
    const limited = await post(`${server.baseUrls.gemini}/v1beta/models/g:streamGenerateContent?alt=sse`, {
      contents: [],
    });
    expect(limited.status).toBe(429);
    expect(JSON.stringify(await limited.json())).toContain('"retryDelay":"7s"');
    expect(server.turns('gemini')).toHaveLength(2);
    expect(server.requests.filter((q) => q.kind === 'side')).toHaveLength(1);
  });

  it('429 with a reset: anthropic sends retry-after and the unified reset header', async () => {
    server.setScenario('anthropic', { kind: 'err429', resetAfterSec: 5 });
    const res = await post(`${server.baseUrls.anthropic}/v1/messages`, { stream: true, messages: [] });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(Number(res.headers.get('anthropic-ratelimit-unified-reset'))).toBeGreaterThan(Date.now() / 1000);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
  });

  it("an unknown path is a 404 in the provider's error format, logged as unknown", async () => {
    const res = await fetch(`${server.baseUrls.openai}/realtime`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'not_found' } });
    expect(server.requests.at(-1)).toMatchObject({
      provider: 'openai',
      path: '/v1/realtime',
      kind: 'unknown',
      status: 404,
    });
  });
});
