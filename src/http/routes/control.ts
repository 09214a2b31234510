/**
 * POST /api/v1/{sid}/pause | resume | stop | review, and /{sid}/workers/{w}/messages: commands to a live session.
 *
 * A command the session would ignore in its current state is a 409 that says the state, never a 202 that does
 * nothing: pausing a worker that is not running, resuming one that is not paused, pausing a paused session,
 * reviewing a worker nobody reviews. The session machine's own transitions decide what the session accepts
 * (`snapshot.can`); the worker's status decides what a worker accepts (see src/machines/worker.machine.ts:
 * PAUSE is handled in running.active and recovering.waiting, RESUME in the two paused states). Stop of one worker
 * (`{workerId}`) takes any worker that has not ended well or is not ending already (STOPPABLE_WORKER_STATUSES).
 */
import { Hono, type Context } from 'hono';
import { manualReviewRefusal, reviewWaitsFor } from '../../domain/review-targets.js';
import type { SessionEvent } from '../../machines/session.machine.js';
import { STOPPABLE_WORKER_STATUSES } from '../../domain/supervisor/context.js';
import type { WorkerStatus } from '../../machines/worker.machine.js';
import type { WorkerView } from '../../runtime/view.js';
import type { SessionRuntime } from '../../runtime/session-runtime.js';
import { liveRuntime, requireSession, sendTo, sessionIdOf, type ApiContext, type AppEnv } from '../context.js';
import { HttpError, parseOr400, readJson } from '../errors.js';
import { MessageBodySchema, ReviewBodySchema, StopBodySchema, WorkerControlBodySchema } from '../schemas.js';

/** The worker statuses in which a worker takes PAUSE, and RESUME. */

export function controlRoutes(ctx: ApiContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  const workerCommand = (type: 'PAUSE' | 'RESUME') => async (c: Context<AppEnv>) => {
    const sessionId = sessionIdOf(c);
    const body = parseOr400(WorkerControlBodySchema, await readJson(c, true), 'body');
    requireSession(ctx, sessionId);
    if (body.workerId !== undefined) requireWorker(ctx, sessionId, body.workerId);
    const runtime = liveRuntime(ctx, sessionId);
    const event: SessionEvent = body.workerId !== undefined ? { type, workerId: body.workerId } : { type };
    if (body.workerId !== undefined) {
      const worker = runtime.view().workers.find((w) => w.id === body.workerId);
      if (worker && !runtime.workerCan(worker.id, { type })) refuseWorkerCommand(type, worker);
    }
    refuseIgnored(runtime, event, type === 'PAUSE' ? 'pause' : 'resume');
    return c.json({ ok: true as const, state: sendTo(runtime, event) }, 202);
  };

  app.post('/:sid/pause', workerCommand('PAUSE'));
  app.post('/:sid/resume', workerCommand('RESUME'));

  // STOP while the session is already stopping is accepted (202 `stopping`): stopping twice is not a mistake.
  app.post('/:sid/stop', async (c) => {
    const sessionId = sessionIdOf(c);
    const body = parseOr400(StopBodySchema, await readJson(c, true), 'body');
    requireSession(ctx, sessionId);
    if (body.workerId !== undefined) requireWorker(ctx, sessionId, body.workerId);
    const runtime = liveRuntime(ctx, sessionId);
    if (body.workerId !== undefined) {
      if (body.reason !== undefined)
        throw new HttpError(
          400,
          'reason is for stopping the whole session; a worker stopped on its own is recorded as skipped by a person',
        );
      const worker = runtime.view().workers.find((w) => w.id === body.workerId) as WorkerView;
      if (!STOPPABLE_WORKER_STATUSES.includes(worker.status as WorkerStatus)) {
        throw new HttpError(409, `cannot stop worker ${worker.id}: it ${describeWorker(worker)}`, {
          workerId: worker.id,
          status: worker.status,
          state: worker.state,
        });
      }
      const event: SessionEvent = { type: 'STOP_WORKER', workerId: worker.id, by: body.by };
      if (!runtime.can(event))
        throw new HttpError(409, `session ${sessionId} is ${runtime.stateName()}: it takes no stop of a worker now`);
      return c.json({ ok: true as const, state: sendTo(runtime, event) }, 202);
    }
    const state = sendTo(runtime, { type: 'STOP', reason: body.reason ?? 'stopped through the API' });
    return c.json({ ok: true as const, state }, 202);
  });

  app.post('/:sid/review', async (c) => {
    const sessionId = sessionIdOf(c);
    const body = parseOr400(ReviewBodySchema, await readJson(c, true), 'body');
    requireSession(ctx, sessionId);
    if (
      body.target !== undefined &&
      !ctx.manager.view(sessionId).workers.some((w) => w.id === body.target && w.kind === 'worker')
    ) {
      throw new HttpError(404, `session ${sessionId} has no worker ${body.target} to review`);
    }
    const runtime = liveRuntime(ctx, sessionId);
    const view = runtime.view();
    const statusOf = (id: string) => view.workers.find((w) => w.id === id && w.kind === 'worker')?.status;
    const spec = runtime.spec;
    const refusal = manualReviewRefusal(spec, body.target, view.rounds.length, statusOf);
    if (refusal) throw new HttpError(409, refusal.message, { reason: refusal.reason, reviewed: refusal.reviewed });
    const event: SessionEvent =
      body.target !== undefined ? { type: 'REVIEW', target: body.target } : { type: 'REVIEW' };
    refuseIgnored(runtime, event, 'review');
    const waitsFor = reviewWaitsFor(spec, body.target, statusOf);
    return c.json({ ok: true as const, state: sendTo(runtime, event), waitsFor }, 202);
  });

  // A person's message into an interactive worker's running agent: it reaches the agent now, as a new user turn.
  app.post('/:sid/workers/:worker/messages', async (c) => {
    const sessionId = sessionIdOf(c);
    const workerId = c.req.param('worker');
    const body = parseOr400(MessageBodySchema, await readJson(c), 'body');
    requireSession(ctx, sessionId);
    requireWorker(ctx, sessionId, workerId);
    const runtime = liveRuntime(ctx, sessionId);
    const worker = runtime.view().workers.find((w) => w.id === workerId) as WorkerView;
    const message = { type: 'MESSAGE', text: body.text };
    if (!runtime.workerCan(workerId, message))
      throw new HttpError(
        409,
        worker.status === 'running'
          ? `worker ${workerId} runs in exec mode: a message reaches only an interactive worker ("mode": "interactive")`
          : `cannot send worker ${workerId} a message: it ${describeWorker(worker)}; ` +
              `only a running interactive worker takes one`,
        { workerId, status: worker.status, state: worker.state },
      );
    const event: SessionEvent = { type: 'SAY', workerId, text: body.text, by: body.by };
    return c.json({ ok: true as const, state: sendTo(runtime, event) }, 202);
  });

  return app;
}

/** 404 unless the session (live or only on disk) has this worker; the message lists the workers it has. */
function requireWorker(ctx: ApiContext, sessionId: string, workerId: string): void {
  const workers = ctx.manager.view(sessionId).workers.map((w) => w.id);
  if (!workers.includes(workerId))
    throw new HttpError(404, `session ${sessionId} has no worker ${workerId} (workers: ${workers.join(', ')})`);
}

/** The 409 for a command the worker's machine does not take in its state now (it was asked: runtime.workerCan). */
function refuseWorkerCommand(type: 'PAUSE' | 'RESUME', worker: WorkerView): never {
  const verb = type === 'PAUSE' ? 'pause' : 'resume';
  const need =
    type === 'PAUSE' ? 'only a running (or recovering) worker can be paused' : 'only a paused worker can be resumed';
  throw new HttpError(409, `cannot ${verb} worker ${worker.id}: it ${describeWorker(worker)}; ${need}`, {
    workerId: worker.id,
    status: worker.status,
    state: worker.state,
  });
}

function describeWorker(worker: WorkerView): string {
  switch (worker.status) {
    case 'spawned':
      return 'has not started yet (spawned)';
    case 'completed':
    case 'failed':
    case 'stopped':
    case 'skipped':
      return `has ended (${worker.status})`;
    case 'paused':
      return 'is paused already';
    case 'blocked':
      return `is blocked${worker.blockerId ? ` (blocker ${worker.blockerId} waits for an answer)` : ''}`;
    case 'reviewing':
      return 'is done and waits for its review (reviewing)';
    default:
      return `is ${worker.status}`;
  }
}

/** 409 when the session machine, in its current state, would ignore the event (no transition takes it). */
function refuseIgnored(runtime: SessionRuntime, event: SessionEvent, verb: 'pause' | 'resume' | 'review'): void {
  if (runtime.can(event)) return;
  const state = runtime.stateName();
  const sid = runtime.sessionId;
  let message: string;
  if (state === 'paused')
    message = verb === 'pause' ? `session ${sid} is paused already` : `session ${sid} is paused; resume it first`;
  else if (state === 'waiting')
    message = `session ${sid} is waiting for a person (answer its blockers): nothing runs to ${verb}`;
  else if (state === 'stopping') message = `session ${sid} is stopping`;
  else message = `session ${sid} is ${state}: it takes no ${verb} now`;
  throw new HttpError(409, message, { state });
}
