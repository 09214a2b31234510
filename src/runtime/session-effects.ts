/**
 * What a session's machines are bound to: its agents' processes (the process host), its checkouts
 * (src/workspace) and its `integrate` actor, which merges the workers' branches into the session's result and
 * reports back an INTEGRATION.* event. The machines name these effects; this provides them.
 */
import { type EventObject, fromCallback } from 'xstate';
import { type AgentProcessHost, type AgentProcessInput, createAgentProcessLogic } from '../actors/agent-process.js';
import type { AgentPayload, NewEvent } from '../domain/events.js';
import { type Isolation, sessionCheckoutsDir } from '../domain/isolation.js';
import { reviewMachine } from '../machines/review.machine.js';
import { type IntegrateInput, type IntegrationEvent, sessionMachine } from '../machines/session.machine.js';
import { workerMachine } from '../machines/worker.machine.js';
import type { SessionStore } from '../store/session-store.js';
import { SessionCheckouts } from '../workspace/checkouts.js';
import { createCheckoutHost, targetDiff } from './checkout-host.js';
import { createProcessHost } from './process-host.js';
import type { RuntimeOptions } from './session-runtime.js';

/** The session machine with every named actor and action bound to this session's effects. */
export function boundSessionMachine(
  store: SessionStore,
  options: RuntimeOptions,
  checkouts: SessionCheckouts | null,
  to: {
    /** Append events to the log (agent output, checkout and setup events). */
    publish: (events: NewEvent[]) => void;
    /** The machines' `record` action. */
    record: (event: NewEvent) => void;
    watchPayloads?: (input: AgentProcessInput, payloads: AgentPayload[]) => void;
    decidePermission: NonNullable<AgentProcessHost['decidePermission']>;
    permissionHistory: NonNullable<AgentProcessHost['permissionHistory']>;
  },
) {
  const host = createProcessHost(store, {
    decidePermission: to.decidePermission,
    permissionHistory: to.permissionHistory,
    ...(options.env ? { env: options.env } : {}),
    publish: to.publish,
    ...(options.wrapLaunch ? { wrapLaunch: options.wrapLaunch } : {}),
    ...(to.watchPayloads ? { watchPayloads: to.watchPayloads } : {}),
    ...(checkouts
      ? {
          checkouts: createCheckoutHost({
            checkouts,
            task: store.meta.spec.task,
            targetDir: store.meta.targetDir,
            settings: store.meta.spec.workspace,
            publish: to.publish,
            ...(options.confine
              ? {
                  wrapCommand: (command, access) =>
                    options.confine!(command, { writable: access.writable, network: true }),
                }
              : {}),
            ...(options.setupWritable ? { setupWritable: options.setupWritable } : {}),
          }),
          reviewDiff: (target: string) => targetDiff(checkouts, target),
        }
      : {}),
  });
  const record = (_: unknown, event: NewEvent) => to.record(event);
  return sessionMachine.provide({
    actors: {
      worker: workerMachine.provide({ actors: { agentProcess: createAgentProcessLogic(host) } }),
      reviewRound: reviewMachine.provide({ actions: { record } }),
      integrate: integrateLogic(checkouts),
    },
    actions: { record },
  });
}

export function sessionCheckouts(
  sessionId: string,
  options: RuntimeOptions,
  isolation: Extract<Isolation, { mode: 'checkouts' }>,
): SessionCheckouts {
  const confine = options.confine;
  return new SessionCheckouts(
    sessionId,
    isolation.repo,
    isolation.base.commit,
    sessionCheckoutsDir(options.workspace, sessionId, isolation),
    confine ? (writable) => (command) => confine(command, { writable, network: false }) : undefined,
  );
}

/** The `integrate` actor: the workers' branches into the result, reported back as an INTEGRATION.* event. */
export function integrateLogic(checkouts: SessionCheckouts | null) {
  return fromCallback<EventObject, IntegrateInput>(({ input, sendBack }) => {
    let live = true;
    const report = (event: IntegrationEvent) => {
      if (live) sendBack(event);
    };
    if (!checkouts) {
      report({ type: 'INTEGRATION.FAILED', message: 'this session has no checkouts to integrate' });
      return () => undefined;
    }
    checkouts.integrate(input.candidates).then(
      (outcome) =>
        report(
          outcome.status === 'done'
            ? {
                type: 'INTEGRATION.DONE',
                head: outcome.head,
                steps: outcome.steps,
                change: {
                  files: outcome.change.files,
                  additions: outcome.change.additions,
                  deletions: outcome.change.deletions,
                },
              }
            : {
                type: 'INTEGRATION.CONFLICT',
                worker: outcome.worker,
                files: outcome.files,
                dir: outcome.cwd,
                message: outcome.message,
              },
        ),
      (error: Error) => report({ type: 'INTEGRATION.FAILED', message: error.message }),
    );
    return () => {
      live = false;
    };
  });
}
