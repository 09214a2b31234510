/**
 * The agents a spec runs: each worker's and each reviewer's (./spec.ts has the schema), and what a generic `acp`
 * agent's entry must say (its `command`, no `model`).
 */
import type * as z from 'zod';
import type { ReviewPair, WorkerSpec } from './spec.js';

/** The agent kind that runs any ACP agent, named by the worker's own `command` (src/agents/acp-agents.ts). */
export const GENERIC_ACP_AGENT = 'acp';

/** One run of an agent a spec asks for: a worker's, or a reviewer's; `who` names it for a person. */
export interface AgentUse {
  agent: string;
  mode?: string | undefined;
  command?: string[] | undefined;
  model?: string | undefined;
  who: string;
  /** Where it is in the spec. */
  path: ['workers' | 'reviews', number];
}

type SpecAgents = {
  workers: ReadonlyArray<Pick<WorkerSpec, 'id' | 'agent'> & Partial<Pick<WorkerSpec, 'mode' | 'command' | 'model'>>>;
  reviews: ReadonlyArray<Pick<ReviewPair, 'reviewer' | 'target'> & Partial<Pick<ReviewPair, 'mode' | 'command'>>>;
};

/** Every run of an agent a spec asks for: each worker's, then each reviewer's. */
export function agentUses(spec: SpecAgents): AgentUse[] {
  return [
    ...spec.workers.map(
      (w, i): AgentUse => ({
        agent: w.agent,
        mode: w.mode,
        command: w.command,
        model: w.model,
        who: `worker "${w.id}"`,
        path: ['workers', i],
      }),
    ),
    ...spec.reviews.map(
      (r, i): AgentUse => ({
        agent: r.reviewer,
        mode: r.mode,
        command: r.command,
        who: `the reviewer of "${r.target}"`,
        path: ['reviews', i],
      }),
    ),
  ];
}

/** An `acp` agent names its command (and no model); no other agent takes one. */
export function commandIssue(who: AgentUse, ctx: z.RefinementCtx): void {
  const { who: name, path } = who;
  if (who.agent === GENERIC_ACP_AGENT && !who.command)
    ctx.addIssue({
      code: 'custom',
      path: [...path, 'command'],
      message: `${name} runs agent "acp" and needs a "command": the ACP agent to run, e.g. ["opencode", "acp"]`,
    });
  if (who.agent === GENERIC_ACP_AGENT && who.model)
    ctx.addIssue({
      code: 'custom',
      path: [...path, 'model'],
      message: `${name}: agent "acp" takes its model from its own settings or its command's arguments, not "model"`,
    });
  if (who.agent !== GENERIC_ACP_AGENT && who.command)
    ctx.addIssue({
      code: 'custom',
      path: [...path, 'command'],
      message: `${name}: "command" is for agent "acp" only (agent "${who.agent}" is found by its own name)`,
    });
}

/** The agents a spec runs (its workers' and reviewers'), once each: an `acp` agent once per command. */
export function agentRuns(spec: SpecAgents): Array<{ agent: string; command?: string[] }> {
  const seen = new Map<string, { agent: string; command?: string[] }>();
  for (const { agent, command } of agentUses(spec)) {
    const key = JSON.stringify([agent, command ?? null]);
    if (!seen.has(key)) seen.set(key, command ? { agent, command } : { agent });
  }
  return [...seen.values()];
}
