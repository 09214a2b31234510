/** GET /api/v1/sessions and POST /api/v1/orchestrate (start a session). */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Hono } from 'hono';
import type * as z from 'zod';
import { agentProblems, knownAgents } from '../../agents/registry.js';
import { defaultSpec, restrictToAgents, SessionSpecSchema, type SessionSpec } from '../../domain/spec.js';
import { describeUnknownKey, findUnknownKey } from '../../domain/spec-keys.js';
import { UsageError } from '../../runtime/session-manager.js';
import type { ApiContext, AppEnv } from '../context.js';
import { HttpError, issuesOf, parseOr400, readJson } from '../errors.js';
import { OrchestrateBodySchema } from '../schemas.js';

export function sessionRoutes(ctx: ApiContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get('/sessions', (c) => c.json({ sessions: ctx.manager.list() }));

  app.post('/orchestrate', async (c) => {
    const raw = await readJson(c);
    const body = parseOr400(OrchestrateBodySchema, refuseSpecTypo(OrchestrateBodySchema, raw), 'body');
    const targetDir = resolve(ctx.cwd, body.targetDir);
    if (!isDirectory(targetDir))
      throw new HttpError(400, `targetDir ${targetDir} is not an existing directory`, [
        { path: ['targetDir'], message: 'not a directory' },
      ]);
    const spec = requestedSpec(body);

    let sessionId: string;
    try {
      sessionId = (
        await ctx.manager.create(spec, targetDir, {
          ...(body.base !== undefined ? { base: body.base } : {}),
          ...(body.inPlace ? { inPlace: true } : {}),
        })
      ).sessionId;
    } catch (error) {
      if (error instanceof UsageError) throw new HttpError(400, error.message);
      throw error;
    }
    c.header('Location', `/api/v1/${sessionId}/state`);
    return c.json({ sessionId, url: `${ctx.baseUrl()}/#/sessions/${sessionId}` }, 201);
  });

  return app;
}

/** The raw body, unless a spec key in it is a typo: then a 400 naming it, with the key it was probably meant to be. */
export function refuseSpecTypo(schema: z.ZodType, raw: unknown): unknown {
  const checked = schema.safeParse(raw);
  const typo = checked.error ? findUnknownKey(checked.error.issues) : null;
  if (typo && typo.path[0] === 'spec' && checked.error)
    throw new HttpError(
      400,
      `invalid body: spec: ${describeUnknownKey(typo.key, typo.path.slice(1))}`,
      issuesOf(checked.error),
    );
  return raw;
}

/** The spec a start request asks for: its spec (or the default trio for its task), kept to its agents; else a 400. */
export function requestedSpec(body: { spec?: SessionSpec; task?: string; agents?: string[] }): SessionSpec {
  let spec: SessionSpec = body.spec
    ? { ...body.spec, ...(body.task ? { task: body.task } : {}) }
    : defaultSpec(body.task as string);
  if (body.agents) {
    const unknown = body.agents.filter((a) => !knownAgents().includes(a));
    if (unknown.length)
      throw new HttpError(400, `unknown agents: ${unknown.join(', ')}; known: ${knownAgents().join(', ')}`);
    const restricted = SessionSpecSchema.safeParse(restrictToAgents(spec, body.agents));
    if (!restricted.success)
      throw new HttpError(400, `no session is left with only ${body.agents.join(', ')}`, issuesOf(restricted.error));
    spec = restricted.data;
  }
  const problem = agentProblems(spec);
  if (problem) throw new HttpError(400, problem);
  return spec;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
