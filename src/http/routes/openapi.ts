/**
 * GET /api/v1/openapi.json: OpenAPI 3.1, generated from the zod schemas the routes validate with
 * (src/http/schemas.ts). Request bodies are converted as inputs (defaults optional), responses as outputs.
 */
import { Hono } from 'hono';
import * as z from 'zod';
import {
  OrchestratorEventSchema,
  RecoveryEventSchema,
  ReviewEventSchema,
  DecisionEventSchema,
  UsageSchema,
  FailureSignalSchema,
} from '../../domain/events.js';
import { SessionSpecSchema } from '../../domain/spec.js';
import type { AppEnv } from '../context.js';
import { packageVersion } from '../paths.js';
import * as S from '../schemas.js';

type Schema = z.ZodType;
interface Operation {
  method: 'get' | 'post';
  path: string;
  summary: string;
  params?: Record<string, Schema>;
  query?: z.ZodObject;
  headers?: Record<string, { schema: Schema; description: string }>;
  body?: { ref: string; required: boolean };
  ok: { status: number; description: string; ref?: string; media?: 'json' | 'sse' | 'html' | 'file' };
  errors: number[];
  security?: 'bearer' | 'bearer-or-query' | 'none';
}

const requestSchemas: Record<string, Schema> = {
  SessionSpec: SessionSpecSchema,
  OrchestrateBody: S.OrchestrateBodySchema,
  WorkerControlBody: S.WorkerControlBodySchema,
  StopBody: S.StopBodySchema,
  MessageBody: S.MessageBodySchema,
  ReviewBody: S.ReviewBodySchema,
  ResolveBody: S.ResolveBodySchema,
  ApplyBody: S.ApplyBodySchema,
  DiscardBody: S.DiscardBodySchema,
};
const responseSchemas: Record<string, Schema> = {
  Error: S.ErrorSchema,
  Usage: UsageSchema,
  FailureSignal: FailureSignalSchema,
  WorkerView: S.WorkerViewSchema,
  BlockerRecord: S.BlockerRecordSchema,
  RoundRecord: S.RoundRecordSchema,
  SessionView: S.SessionViewSchema,
  SessionState: S.SessionStateSchema,
  SessionSummary: S.SessionSummarySchema,
  SessionsResponse: S.SessionsResponseSchema,
  OrchestrateResponse: S.OrchestrateResponseSchema,
  ControlResponse: S.ControlResponseSchema,
  ReviewResponse: S.ReviewResponseSchema,
  ResolveResponse: S.ResolveResponseSchema,
  LogsResponse: S.LogsResponseSchema,
  DiffResponse: S.DiffResponseSchema,
  ApplyResponse: S.ApplyResponseSchema,
  DiscardResponse: S.DiscardResponseSchema,
  MachinesResponse: S.MachinesResponseSchema,
  OrchestratorEvent: OrchestratorEventSchema,
  ReviewEvent: ReviewEventSchema,
  DecisionEvent: DecisionEventSchema,
  RecoveryEvent: RecoveryEventSchema,
};

const sid = { sid: S.SessionIdParam };
const control = (action: string, ref: string, summary: string, response = 'ControlResponse'): Operation => ({
  method: 'post',
  path: `/api/v1/{sid}/${action}`,
  summary,
  params: sid,
  body: { ref, required: false },
  ok: { status: 202, description: 'sent; the session state after it', ref: response },
  errors: [400, 401, 403, 404, 409, 413, 415],
});

export const OPERATIONS: Operation[] = [
  {
    method: 'post',
    path: '/api/v1/orchestrate',
    summary: 'Start a session',
    body: { ref: 'OrchestrateBody', required: true },
    ok: { status: 201, description: 'started', ref: 'OrchestrateResponse' },
    errors: [400, 401, 403, 413, 415],
  },
  {
    method: 'get',
    path: '/api/v1/sessions',
    summary: 'Every session of the workspace, newest first',
    ok: { status: 200, description: 'the sessions', ref: 'SessionsResponse' },
    errors: [401, 403],
  },
  control('pause', 'WorkerControlBody', 'Pause the session, or one worker (its process group gets SIGSTOP)'),
  control('resume', 'WorkerControlBody', 'Resume the session, or one worker'),
  control('stop', 'StopBody', 'Stop the session (agents get SIGTERM, then SIGKILL)'),
  control(
    'review',
    'ReviewBody',
    'Request a review round of finished work (a target still at work is reviewed once it finishes)',
    'ReviewResponse',
  ),
  {
    method: 'post',
    path: '/api/v1/{sid}/workers/{worker}/messages',
    summary: "A person's message into an interactive worker's running agent (a new user turn, now)",
    params: { ...sid, worker: S.WorkerIdParam.describe('the worker') },
    body: { ref: 'MessageBody', required: true },
    ok: { status: 202, description: 'sent; the session state after it', ref: 'ControlResponse' },
    errors: [400, 401, 403, 404, 409, 413, 415],
  },
  {
    method: 'get',
    path: '/api/v1/{sid}/state',
    summary: 'The full state of a session',
    params: sid,
    ok: { status: 200, description: 'the session state', ref: 'SessionState' },
    errors: [400, 401, 403, 404],
  },
  {
    method: 'get',
    path: '/api/v1/{sid}/logs/{agent}',
    summary: "The tail of a worker's raw stdout or stderr",
    params: { ...sid, agent: S.WorkerIdParam.describe('a worker id, or an agent name used by exactly one worker') },
    query: S.LogsQuerySchema,
    ok: { status: 200, description: 'the last lines', ref: 'LogsResponse' },
    errors: [400, 401, 403, 404],
  },
  {
    method: 'get',
    path: '/api/v1/{sid}/events',
    summary: 'Server-Sent Events: snapshot, replay after Last-Event-ID, then live events (data: OrchestratorEvent)',
    params: sid,
    query: S.EventsQuerySchema,
    headers: {
      'Last-Event-ID': { schema: z.string().regex(/^\d+$/), description: 'replay the events after this seq' },
    },
    ok: {
      status: 200,
      description:
        'an endless text/event-stream: `event: snapshot` (SessionView, no id) first, ' +
        'then `id: <seq>` / `event: <type>` / `data: <OrchestratorEvent>` frames and `: ping` comments',
      media: 'sse',
    },
    errors: [400, 401, 403, 404],
    security: 'bearer-or-query',
  },
  {
    method: 'post',
    path: '/api/v1/{sid}/blockers/{id}',
    summary: 'Answer a blocker or a clarification request',
    params: { ...sid, id: S.BlockerIdParam },
    body: { ref: 'ResolveBody', required: true },
    ok: { status: 202, description: 'answered', ref: 'ResolveResponse' },
    errors: [400, 401, 403, 404, 409, 413, 415],
  },
  {
    method: 'get',
    path: '/api/v1/{sid}/diff',
    summary:
      "A session's change (its integrated result; while it runs, each worker's own), " +
      "or one worker's: files as JSON, or a unified diff",
    params: sid,
    query: S.DiffQuerySchema,
    ok: {
      status: 200,
      description: 'format=files: JSON (DiffResponse); format=unified: text/x-diff that git apply takes',
      ref: 'DiffResponse',
    },
    errors: [400, 401, 403, 404, 409],
  },
  {
    method: 'post',
    path: '/api/v1/{sid}/apply',
    summary:
      "Bring the session's result (or one worker's change) into the user's checkout: " +
      'uncommitted changes on top of their work, or merged as commits',
    params: sid,
    body: { ref: 'ApplyBody', required: false },
    ok: { status: 200, description: 'applied (conflicts, if any, are listed)', ref: 'ApplyResponse' },
    errors: [400, 401, 403, 404, 409, 413, 415],
  },
  {
    method: 'post',
    path: '/api/v1/{sid}/discard',
    summary: "Remove the session's checkouts and branches (force: also when its result was never applied)",
    params: sid,
    body: { ref: 'DiscardBody', required: false },
    ok: { status: 200, description: 'discarded', ref: 'DiscardResponse' },
    errors: [400, 401, 403, 404, 409, 413, 415],
  },
  {
    method: 'get',
    path: '/api/v1/machines',
    summary: 'The session, worker and review machines as graphs (for the inspector)',
    ok: { status: 200, description: 'the graphs', ref: 'MachinesResponse' },
    errors: [401, 403],
  },
  {
    method: 'get',
    path: '/api/v1/openapi.json',
    summary: 'This document',
    ok: { status: 200, description: 'OpenAPI 3.1' },
    errors: [401, 403],
  },
  {
    method: 'get',
    path: '/',
    summary: 'The dashboard page (the token travels in the URL fragment)',
    ok: { status: 200, description: 'HTML', media: 'html' },
    errors: [403],
    security: 'none',
  },
  {
    method: 'get',
    path: '/inspect/{sid}',
    summary: 'The statechart inspector page of a session',
    params: sid,
    ok: { status: 200, description: 'HTML', media: 'html' },
    errors: [400, 403, 404],
    security: 'none',
  },
  {
    method: 'get',
    path: '/vendor/{name}',
    summary:
      'Files of installed packages the pages use ' +
      "(diff2html and highlight.js's themes): a fixed list, nothing from a CDN",
    params: { name: z.string().describe('one of the vendor files the dashboard loads') },
    ok: { status: 200, description: 'the file', media: 'file' },
    errors: [403, 404],
    security: 'none',
  },
  {
    method: 'get',
    path: '/assets/{path}',
    summary: 'Static files of the pages',
    params: {
      path: z.string().describe('a file under dist/static/assets (the bundles of web/, the files of static/assets)'),
    },
    ok: { status: 200, description: 'the file', media: 'file' },
    errors: [400, 403, 404],
    security: 'none',
  },
];

const ERROR_TEXT: Record<number, string> = {
  400: 'invalid input (details: the zod issues)',
  401: 'missing or wrong bearer token',
  403: 'Host or Origin is not this server',
  404: 'no such session, worker, blocker or route',
  409:
    'not possible in the current state (details say it): the session ended or is not live here, ' +
    'the worker or session does not take the command now, the target has no reviewers or ended ' +
    'without finished work, the blocker was already answered or does not accept the choice, ' +
    'the session has no result to apply yet, still runs, or was never applied (discard without force)',
  413: 'body larger than 1 MiB',
  415: 'the body is not sent as Content-Type: application/json',
};

function components(registry: Record<string, Schema>, io: 'input' | 'output'): Record<string, unknown> {
  const reg = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(registry)) reg.add(schema, { id });
  const { schemas } = z.toJSONSchema(reg, {
    io,
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  }) as { schemas: Record<string, Record<string, unknown>> };
  return Object.fromEntries(Object.entries(schemas).map(([id, { $schema: _s, $id: _i, ...rest }]) => [id, rest]));
}

const inline = (schema: Schema) => {
  const { $schema: _s, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
};
const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });

function operation(op: Operation): Record<string, unknown> {
  const parameters: unknown[] = [];
  for (const [name, schema] of Object.entries(op.params ?? {}))
    parameters.push({
      name,
      in: 'path',
      required: true,
      schema: inline(schema),
      ...(schema.description ? { description: schema.description } : {}),
    });
  for (const [name, schema] of Object.entries(op.query?.shape ?? {})) {
    const s = schema as Schema;
    parameters.push({
      name,
      in: 'query',
      required: false,
      schema: inline(s),
      ...(s.description ? { description: s.description } : {}),
    });
  }
  for (const [name, h] of Object.entries(op.headers ?? {}))
    parameters.push({ name, in: 'header', required: false, schema: inline(h.schema), description: h.description });
  const media = op.ok.media ?? 'json';
  const content =
    media === 'sse'
      ? { 'text/event-stream': { schema: { type: 'string' } } }
      : media === 'html'
        ? { 'text/html': { schema: { type: 'string' } } }
        : media === 'file'
          ? { '*/*': { schema: { type: 'string', format: 'binary' } } }
          : { 'application/json': { schema: op.ok.ref ? ref(op.ok.ref) : { type: 'object' } } };
  const responses: Record<string, unknown> = { [op.ok.status]: { description: op.ok.description, content } };
  for (const status of op.errors)
    responses[status] = { description: ERROR_TEXT[status], content: { 'application/json': { schema: ref('Error') } } };
  const security =
    op.security === 'none'
      ? []
      : op.security === 'bearer-or-query'
        ? [{ bearerAuth: [] }, { tokenQuery: [] }]
        : undefined;
  return {
    summary: op.summary,
    ...(parameters.length ? { parameters } : {}),
    ...(op.body
      ? { requestBody: { required: op.body.required, content: { 'application/json': { schema: ref(op.body.ref) } } } }
      : {}),
    responses,
    ...(security ? { security } : {}),
  };
}

let document: Record<string, unknown> | null = null;

export function openApiDocument(): Record<string, unknown> {
  if (document) return document;
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) (paths[op.path] ??= {})[op.method] = operation(op);
  document = {
    openapi: '3.1.0',
    info: {
      title: 'meta-orchestrator',
      version: packageVersion(),
      description:
        'Supervise AI coding-agent CLIs. Every /api route needs ' +
        '`Authorization: Bearer <token>` (the token is in <workspace>/token).',
    },
    security: [{ bearerAuth: [] }],
    paths,
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer' },
        tokenQuery: {
          type: 'apiKey',
          in: 'query',
          name: 'token',
          description: 'only on GET /api/v1/{sid}/events (EventSource cannot send headers)',
        },
      },
      schemas: { ...components(requestSchemas, 'input'), ...components(responseSchemas, 'output') },
    },
  };
  return document;
}

export function openApiRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/openapi.json', (c) => c.json(openApiDocument()));
  return app;
}
