/**
 * What the two peer-review test files (review-decisions, review-reviewers) share: the task, reviewer rules for
 * the fake agent, the implementer that writes a file (so the reviewers have a diff), running `orchestrate run`
 * on a spec, and reading back events, the view and the fake's launches.
 */
import { expect } from 'vitest';
import type { OrchestratorEvent } from '../../src/domain/events.js';
import type { SessionSpecInput } from '../../src/domain/spec.js';
import type { SessionView } from '../../src/runtime/view.js';
import {
  launches,
  poll,
  processesMentioning,
  readEvents,
  runCli,
  sandboxWith,
  sessionIds,
  type Sandbox,
} from '../support/orchestrate.js';

export const TASK = 'Add a greet() function';
/** What every review prompt says (src/domain/prompts.ts): how a fake agent tells a reviewer launch. */
export const REVIEWER = 'You are a REVIEWER';
export type Scenario = Record<string, unknown>;
export type Verdict = { verdict: string; summary: string; issues?: Array<Record<string, unknown>> };

export const APPROVE: Verdict = { verdict: 'approve', summary: 'Looks right.', issues: [] };
export const GREET = "export const greet = () => 'hello';\n";
/** The implementer: writes src/greet.js (so there is a diff) and summarises. */
export const IMPLEMENTER: Scenario = {
  delayMs: 1,
  writeFiles: [{ path: 'src/greet.js', content: GREET }],
  finalText: 'Added src/greet.js exporting greet().',
};
/** A reviewer rule: launches of `agent` whose prompt is a review prompt answer `verdict`. */
export const reviewerSays = (agent: string, verdict: Verdict, extra: Scenario = {}) => ({
  match: { agent, promptIncludes: REVIEWER },
  scenario: { delayMs: 1, verdict, ...extra },
});

export interface Harness {
  sandbox: Sandbox;
  env: Record<string, string>;
  /** null: no spec file, the run uses the default trio. */
  specFile: string | null;
}

export function setup(spec: object | null, config: object): Harness {
  const { sandbox, specPath, env } = sandboxWith(spec as SessionSpecInput | null, config);
  return { sandbox, env, specFile: spec ? specPath : null };
}

export function runArgs(h: Harness, extra: string[] = ['--no-server']): string[] {
  return [
    'run',
    TASK,
    '-C',
    h.sandbox.target,
    '--workspace',
    h.sandbox.workspace,
    '--json',
    ...(h.specFile ? ['--spec', h.specFile] : []),
    ...extra,
  ];
}

export const run = (h: Harness, extra?: string[]) => runCli(runArgs(h, extra), { env: h.env, timeoutMs: 50_000 });

/** The events of the (only) session so far; [] while the log does not exist yet or a line is half written. */
export function eventsSoFar(workspace: string): OrchestratorEvent[] {
  if (sessionIds(workspace).length === 0) return [];
  try {
    return readEvents(workspace);
  } catch {
    return [];
  }
}

/** The latest session's view, as `orchestrate status SID --json` prints it. */
export async function view(h: Harness): Promise<SessionView> {
  const sid = sessionIds(h.sandbox.workspace).at(-1) as string;
  const result = await runCli(['status', sid, '--workspace', h.sandbox.workspace, '--json'], { env: h.env });
  expect(result.exitCode, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as SessionView;
}

export type Launch = ReturnType<typeof launches>[number] & {
  ts: string;
  resume: string | null;
  key: string;
  pid: number;
};
export const allLaunches = (h: Harness) => launches(h.sandbox) as Launch[];
/** The prompt of a launch: the last argv for claude and codex, the value of -p for gemini. */
export const promptOf = (l: { persona: string; argv: string[] }) =>
  l.persona === 'gemini' ? (l.argv[l.argv.indexOf('-p') + 1] as string) : (l.argv.at(-1) as string);
export const isReviewerLaunch = (l: { argv: string[] }) => l.argv.some((a) => a.includes(REVIEWER));
export const noAgentLeft = (h: Harness) =>
  poll(() => processesMentioning(h.sandbox.dir).length === 0, 5_000, 'no agent process left');
