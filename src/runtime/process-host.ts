/**
 * The effects the agentProcess actor needs, bound to one session: its files and records in the store,
 * the adapters, binary lookup, prompt rendering (review prompts read `git diff`), and the sandbox wrapper.
 */
import type { AgentProcessHost, CheckoutHost } from '../actors/agent-process.js';
import type { LaunchRequest } from '../actors/process-group.js';
import { getAdapter } from '../agents/registry.js';
import type { AgentPayload, NewEvent } from '../domain/events.js';
import { renderContinuePrompt, renderReviewPrompt, renderRolePrompt, type PromptSpec } from '../domain/prompts.js';
import type { SessionStore } from '../store/session-store.js';
import type { AgentProcessInput } from '../actors/agent-process.js';
import { findAgentBinary } from './binaries.js';
import { gitDiff } from './git.js';

export interface ProcessHostOptions {
  /** Environment the agents are found in and inherit (defaults to process.env). */
  env?: Record<string, string | undefined>;
  publish: (events: NewEvent[]) => void;
  wrapLaunch?: (request: LaunchRequest, input: AgentProcessInput) => LaunchRequest;
  watchPayloads?: (input: AgentProcessInput, payloads: AgentPayload[]) => void;
  /** A session with worker checkouts: each agent runs in its own, and a reviewer reads its target's change. */
  checkouts?: CheckoutHost;
  /**
   * The change a reviewer reads (its target's start..head, and what that is); without it, the target directory's diff.
   */
  reviewDiff?: (target: string) => Promise<{ diff: string | null; against: string }>;
  decidePermission?: AgentProcessHost['decidePermission'];
  permissionHistory?: AgentProcessHost['permissionHistory'];
}

export function createProcessHost(store: SessionStore, options: ProcessHostOptions): AgentProcessHost {
  const env = options.env ?? process.env;
  return {
    files: (workerId) => store.agentFiles(workerId),
    readProcRecords: (workerId) => store.readProcRecords(workerId),
    writeProcRecord: (workerId, record) => store.writeProcRecord(workerId, record),
    lastLineEnd: (workerId, attempt) => store.lastLineEnd(workerId, attempt),
    restoredFacts: (workerId, attempt) => store.takeOpenedFacts(workerId, attempt),
    publish: options.publish,
    adapter: getAdapter,
    resolveBinary: (adapter, command) => findAgentBinary(adapter, env, command),
    renderPrompt: (spec) => renderPrompt(spec, options.reviewDiff),
    wrapLaunch: (request, input) => {
      const withEnv = options.env ? { ...request, env: { ...pickDefined(options.env), ...request.env } } : request;
      return options.wrapLaunch ? options.wrapLaunch(withEnv, input) : withEnv;
    },
    ...(options.watchPayloads ? { watchPayloads: options.watchPayloads } : {}),
    ...(options.checkouts ? { checkouts: options.checkouts } : {}),
    ...(options.decidePermission ? { decidePermission: options.decidePermission } : {}),
    ...(options.permissionHistory ? { permissionHistory: options.permissionHistory } : {}),
    now: () => new Date(),
  };
}

export async function renderPrompt(spec: PromptSpec, reviewDiff?: ProcessHostOptions['reviewDiff']): Promise<string> {
  switch (spec.kind) {
    case 'role':
      return renderRolePrompt(spec);
    case 'continue':
      return renderContinuePrompt(spec.reason);
    case 'follow-up':
      return spec.text;
    case 'review':
      if (reviewDiff) {
        const { diff, against } = await reviewDiff(spec.targetId).catch(() => ({ diff: null, against: '' }));
        return renderReviewPrompt(spec, diff, against);
      }
      return renderReviewPrompt(spec, await gitDiff(spec.targetDir, spec.baseCommit).catch(() => null));
  }
}

function pickDefined(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}
