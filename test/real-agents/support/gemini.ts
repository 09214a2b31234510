/**
 * The Gemini API as Gemini CLI 0.61 uses it: `POST /v1beta/models/<model>:streamGenerateContent?alt=sse`
 * for model turns (SSE `data:` chunks of GenerateContentResponse), `:generateContent` for its JSON side
 * calls (the "auto" model router's complexity classifier, next-speaker checks), `:countTokens`, and Google
 * RPC error bodies `{error:{code, message, status, details}}` (RetryInfo carries the retry delay).
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
import { splitInTwo } from './anthropic.js';
import { asArray, isObject, sendJson, SseWriter, targetPath, type JsonObject } from './sse.js';

const MODEL_PATH = /^\/v1(?:beta|alpha)?\/models\/([^:/]+):([A-Za-z]+)$/;

export function geminiRoute(method: string, path: string): 'main' | 'side' | null {
  const match = MODEL_PATH.exec(path);
  if (method === 'POST' && match?.[2] === 'streamGenerateContent') return 'main';
  if (method === 'POST' && (match?.[2] === 'generateContent' || match?.[2] === 'countTokens')) return 'side';
  if (method === 'GET' && /^\/v1(?:beta|alpha)?\/models/.test(path)) return 'side';
  return null;
}

export function geminiModelOf(path: string): string | null {
  return MODEL_PATH.exec(path)?.[1] ?? null;
}

export function geminiContext(body: JsonObject, path: string, id: string): TurnContext {
  const contents = asArray(body.contents).filter(isObject);
  const last = contents[contents.length - 1];
  const afterTool = asArray(last?.parts).some((part) => isObject(part) && part.functionResponse !== undefined);
  const text = JSON.stringify(body.contents ?? '');
  const cwd = /Workspace Directories:\*\*\\n\s*- ([^\\"]+)/.exec(text)?.[1]?.trim() ?? null;
  const toolDone = contents.some((c) =>
    asArray(c.parts).some((part) => isObject(part) && part.functionResponse !== undefined),
  );
  return { afterTool, toolDone, cwd, model: geminiModelOf(path), id };
}

type Part = { text: string } | { functionCall: { name: string; args: JsonObject } };

function geminiParts(scenario: Scenario, ctx: TurnContext): Part[] {
  switch (scenario.kind) {
    case 'text':
      return splitInTwo(scenario.text ?? DEFAULT_TEXT).map((text) => ({ text }));
    case 'verdict':
      return splitInTwo(verdictText(scenario)).map((text) => ({ text }));
    case 'write-file':
      if (ctx.afterTool) return splitInTwo(scenario.text ?? DEFAULT_AFTER_WRITE).map((text) => ({ text }));
      return [
        {
          functionCall: {
            name: 'write_file',
            args: { file_path: targetPath(scenario.path, ctx.cwd), content: scenario.content },
          },
        },
      ];
    case 'run-command':
      if (ctx.toolDone) return splitInTwo(scenario.text ?? DEFAULT_AFTER_COMMAND).map((text) => ({ text }));
      return [{ functionCall: { name: 'run_shell_command', args: { command: scenario.command } } }];
    default:
      throw new Error(`not a success scenario: ${scenario.kind}`);
  }
}

const USAGE = { promptTokenCount: 1250, candidatesTokenCount: 19, totalTokenCount: 1269, cachedContentTokenCount: 200 };

export function geminiMain(res: ServerResponse, scenario: Scenario, ctx: TurnContext): void {
  if (scenario.kind.startsWith('err')) {
    geminiError(res, scenario);
    return;
  }
  const sse = new SseWriter(res);
  const parts = geminiParts(scenario, ctx);
  parts.forEach((part, index) => {
    const lastChunk = index === parts.length - 1;
    sse.event(null, {
      candidates: [
        { content: { role: 'model', parts: [part] }, index: 0, ...(lastChunk ? { finishReason: 'STOP' } : {}) },
      ],
      ...(lastChunk ? { usageMetadata: USAGE } : {}),
      modelVersion: ctx.model ?? 'gemini-fake',
      responseId: `resp_${ctx.id}`,
    });
  });
  sse.end();
}

function geminiError(res: ServerResponse, scenario: Scenario): void {
  switch (scenario.kind) {
    case 'err401':
      sendJson(res, 401, {
        error: {
          code: 401,
          message:
            'Request had invalid authentication credentials. Expected OAuth 2 access token, ' +
            'login cookie or other valid authentication credential.',
          status: 'UNAUTHENTICATED',
        },
      });
      return;
    case 'err429': {
      const after = scenario.resetAfterSec ?? 2;
      sendJson(res, 429, {
        error: {
          code: 429,
          message:
            `You exceeded your current quota, ` +
            `please check your plan and billing details. Please retry in ${after}s.`,
          status: 'RESOURCE_EXHAUSTED',
          details: [
            {
              '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
              violations: [
                {
                  quotaMetric: 'generativelanguage.googleapis.com/generate_content_requests',
                  quotaId: 'GenerateRequestsPerMinutePerProjectPerModel',
                  quotaDimensions: { model: 'gemini-fake', location: 'global' },
                  quotaValue: '10',
                },
              ],
            },
            { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${after}s` },
          ],
        },
      });
      return;
    }
    case 'err429-noreset':
      sendJson(res, 429, {
        error: { code: 429, message: 'Resource has been exhausted (e.g. check quota).', status: 'RESOURCE_EXHAUSTED' },
      });
      return;
    case 'err500':
      sendJson(res, 500, {
        error: {
          code: 500,
          message:
            'An internal error has occurred. Please retry or report in ' +
            'https://developers.generativeai.google/guide/troubleshooting',
          status: 'INTERNAL',
        },
      });
      return;
    default:
      throw new Error(`not an error scenario: ${scenario.kind}`);
  }
}

/** generateContent (JSON side calls), countTokens and the model list. */
export function geminiSide(res: ServerResponse, path: string, body: JsonObject): void {
  const method = MODEL_PATH.exec(path)?.[2];
  if (method === 'countTokens') {
    sendJson(res, 200, { totalTokens: 1250 });
    return;
  }
  if (method !== 'generateContent') {
    sendJson(res, 200, {
      models: [
        {
          name: 'models/gemini-fake',
          displayName: 'Gemini (fake)',
          supportedGenerationMethods: ['generateContent', 'streamGenerateContent', 'countTokens'],
        },
      ],
    });
    return;
  }
  const config = isObject(body.generationConfig) ? body.generationConfig : {};
  const schema = isObject(config.responseJsonSchema)
    ? config.responseJsonSchema
    : isObject(config.responseSchema)
      ? config.responseSchema
      : {};
  const properties = isObject(schema.properties) ? Object.keys(schema.properties) : [];
  let text = 'OK';
  if (properties.includes('complexity_score'))
    text = JSON.stringify({ complexity_reasoning: 'A simple, scripted task.', complexity_score: 10 });
  else if (properties.includes('next_speaker'))
    text = JSON.stringify({ reasoning: 'The model finished its answer.', next_speaker: 'user' });
  else if (config.responseMimeType === 'application/json') text = '{}';
  sendJson(res, 200, {
    candidates: [{ content: { role: 'model', parts: [{ text }] }, finishReason: 'STOP', index: 0 }],
    usageMetadata: { promptTokenCount: 100, candidatesTokenCount: 10, totalTokenCount: 110 },
    modelVersion: geminiModelOf(path) ?? 'gemini-fake',
  });
}

export function geminiNotFound(res: ServerResponse, path: string): void {
  sendJson(res, 404, { error: { code: 404, message: `fake model server: no route for ${path}`, status: 'NOT_FOUND' } });
}
