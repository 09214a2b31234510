/**
 * A loopback fake model server for the real agent CLIs: one port, one path prefix per provider
 * (`/anthropic`, `/openai`, `/gemini`, and `/chat` for OpenAI Chat Completions), each speaking just enough of its
 * API for scripted scenarios.
 *
 *   const server = await startFakeModelServer({ anthropic: { kind: 'text' } });
 *   // ANTHROPIC_BASE_URL=server.baseUrls.anthropic claude -p ...
 *   server.setScenario('openai', [{ scenario: { kind: 'err429-noreset' }, times: 2 }, { kind: 'text' }]);
 *   server.route('gemini', 'You are a REVIEWER', { kind: 'verdict', verdict: {...} });
 *
 * Every request is logged (`requests`); a path no provider knows gets a 404 in that provider's error format
 * and is logged as `unknown`, so a new CLI version's new endpoint shows up in the log instead of a hang.
 * Binds 127.0.0.1 only.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  anthropicContext,
  anthropicMain,
  anthropicNotFound,
  anthropicRoute,
  anthropicSide,
} from './support/anthropic.js';
import { chatContext, chatMain, chatNotFound, chatRoute, chatSide } from './support/chat.js';
import { geminiContext, geminiMain, geminiNotFound, geminiRoute, geminiSide } from './support/gemini.js';
import { openaiContext, openaiMain, openaiNotFound, openaiRoute, openaiSide } from './support/openai.js';
import {
  PROVIDERS,
  toSteps,
  type Provider,
  type Scenario,
  type ScenarioKind,
  type ScriptInput,
  type ScriptStep,
} from './support/scenarios.js';
import { isObject, readBody, sendJson, type JsonObject } from './support/sse.js';

export type { Provider, Scenario, ScriptInput, ScriptStep, Verdict } from './support/scenarios.js';

export interface LoggedRequest {
  seq: number;
  at: string;
  provider: Provider | null;
  method: string;
  /** Path after the provider prefix, without the query. */
  path: string;
  query: string;
  /** `main`: a model turn the scenarios answer; `side`: routing, token counts, model lists; `unknown`: 404. */
  kind: 'main' | 'side' | 'unknown';
  status: number;
  /** The scenario that answered a model turn. */
  scenario?: ScenarioKind;
  /** The route marker that chose the script, when a route matched. */
  route?: string;
  afterTool?: boolean;
  model?: string | null;
  stream?: boolean;
  userAgent?: string;
  bodyBytes: number;
  /** The raw body (model turns carry the whole prompt: tests look for what the orchestrator asked). */
  body: string;
}

export interface FakeModelServer {
  url: string;
  port: number;
  /** Base URLs to hand each CLI (ANTHROPIC_BASE_URL, codex base_url, GOOGLE_GEMINI_BASE_URL). */
  baseUrls: Record<Provider, string>;
  requests: LoggedRequest[];
  /** Replace a provider's default script (and reset its counters). */
  setScenario(provider: Provider, script: ScriptInput): void;
  /** Requests whose body contains `marker` are answered by this script instead of the default one. */
  route(provider: Provider, marker: string, script: ScriptInput): void;
  /** Drop every route, reset every script to the start options (else `text`) and clear the request log. */
  reset(): void;
  /** Model turns of a provider so far (optionally only those answered by one scenario kind). */
  turns(provider: Provider, kind?: ScenarioKind): LoggedRequest[];
  close(): Promise<void>;
}

export type FakeModelServerOptions = Partial<Record<Provider, ScriptInput>> & {
  /** Called for each request after it is answered (e.g. to print a trace while debugging). */
  onRequest?: (request: LoggedRequest) => void;
};

interface Script {
  steps: ScriptStep[];
  served: number[];
}

interface Route {
  marker: string;
  script: Script;
}

function script(input: ScriptInput): Script {
  const steps = toSteps(input);
  return { steps, served: steps.map(() => 0) };
}

/** The scenario for the next model turn of a script, counting it against its step's `times`. */
function nextScenario(s: Script): Scenario {
  for (const [index, step] of s.steps.entries()) {
    const served = s.served[index] ?? 0;
    if (step.times === undefined || served < step.times) {
      s.served[index] = served + 1;
      return step.scenario;
    }
  }
  // Every step used up: the last one keeps answering.
  const last = s.steps[s.steps.length - 1];
  return last ? last.scenario : { kind: 'text' };
}

const BODY_LOG_LIMIT = 256 * 1024;

export async function startFakeModelServer(options: FakeModelServerOptions = {}): Promise<FakeModelServer> {
  const scripts = new Map<Provider, Script>();
  const routes = new Map<Provider, Route[]>();
  const resetAll = () => {
    for (const provider of PROVIDERS) {
      scripts.set(provider, script(options[provider] ?? { kind: 'text' }));
      routes.set(provider, []);
    }
  };
  resetAll();
  const requests: LoggedRequest[] = [];
  let seq = 0;
  let ids = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const raw = await readBody(req);
    const full = new URL(req.url ?? '/', 'http://127.0.0.1');
    const prefix = /^\/(anthropic|openai|gemini|chat)(\/.*)?$/.exec(full.pathname);
    const provider = (prefix?.[1] as Provider | undefined) ?? null;
    const path = prefix?.[2] ?? full.pathname;
    const method = req.method ?? 'GET';
    const entry: LoggedRequest = {
      seq: ++seq,
      at: new Date().toISOString(),
      provider,
      method,
      path,
      query: full.search,
      kind: 'unknown',
      status: 404,
      userAgent: req.headers['user-agent'],
      bodyBytes: Buffer.byteLength(raw),
      body: raw.length > BODY_LOG_LIMIT ? raw.slice(0, BODY_LOG_LIMIT) : raw,
    };
    let body: JsonObject = {};
    try {
      const parsed: unknown = raw ? JSON.parse(raw) : {};
      if (isObject(parsed)) body = parsed;
    } catch {
      // Not JSON: routes below still answer (a 404 or a side call that needs no body).
    }
    try {
      answer(provider, method, path, body, raw, entry, res);
    } catch (error) {
      entry.status = 500;
      if (!res.headersSent)
        sendJson(res, 500, { error: { message: `fake model server failed: ${(error as Error).message}` } });
      else res.end();
    }
    requests.push(entry);
    options.onRequest?.(entry);
  };

  const answer = (
    provider: Provider | null,
    method: string,
    path: string,
    body: JsonObject,
    raw: string,
    entry: LoggedRequest,
    res: ServerResponse,
  ) => {
    const kind =
      provider === 'anthropic'
        ? anthropicRoute(method, path)
        : provider === 'openai'
          ? openaiRoute(method, path)
          : provider === 'gemini'
            ? geminiRoute(method, path)
            : provider === 'chat'
              ? chatRoute(method, path)
              : null;
    if (!provider || !kind) {
      entry.status = 404;
      if (provider === 'openai') openaiNotFound(res, path);
      else if (provider === 'chat') chatNotFound(res, path);
      else if (provider === 'gemini') geminiNotFound(res, path);
      else anthropicNotFound(res, path);
      return;
    }
    entry.kind = kind;
    entry.stream = body.stream === true || path.endsWith(':streamGenerateContent');
    if (kind === 'side') {
      entry.status = 200;
      if (provider === 'anthropic') anthropicSide(res, path);
      else if (provider === 'openai') openaiSide(res);
      else if (provider === 'chat') chatSide(res);
      else geminiSide(res, path, body);
      return;
    }
    const route = (routes.get(provider) ?? []).find((r) => raw.includes(r.marker));
    const chosen = route?.script ?? scripts.get(provider);
    const scenario = chosen ? nextScenario(chosen) : ({ kind: 'text' } as Scenario);
    const id = `${Date.now().toString(36)}${(++ids).toString(36)}`;
    const chat = provider === 'chat' ? chatContext(body, id) : null;
    const ctx =
      chat ??
      (provider === 'anthropic'
        ? anthropicContext(body, id)
        : provider === 'openai'
          ? openaiContext(body, id)
          : geminiContext(body, path, id));
    entry.scenario = scenario.kind;
    entry.afterTool = ctx.afterTool;
    entry.model = ctx.model;
    if (route) entry.route = route.marker;
    entry.status =
      scenario.kind === 'err401'
        ? 401
        : scenario.kind === 'err500'
          ? 500
          : scenario.kind.startsWith('err429')
            ? 429
            : 200;
    if (provider === 'anthropic') anthropicMain(res, body, scenario, ctx);
    else if (provider === 'openai') openaiMain(res, scenario, ctx);
    else if (chat) chatMain(res, scenario, chat);
    else geminiMain(res, scenario, ctx);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  // CLIs keep connections alive; close() must not wait for them.
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    port,
    baseUrls: {
      anthropic: `${url}/anthropic`,
      openai: `${url}/openai/v1`,
      gemini: `${url}/gemini`,
      chat: `${url}/chat/v1`,
    },
    requests,
    setScenario(provider, input) {
      scripts.set(provider, script(input));
    },
    route(provider, marker, input) {
      routes.get(provider)?.push({ marker, script: script(input) });
    },
    reset() {
      resetAll();
      requests.length = 0;
    },
    turns(provider, kind) {
      return requests.filter(
        (r) => r.provider === provider && r.kind === 'main' && (kind === undefined || r.scenario === kind),
      );
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
