/** Shared by the demo tests: paths, the exact argv the orchestrator builds, and running the player through tsx. */
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { buildClaudeCommand } from '../../src/agents/claude.js';
import { buildCodexCommand } from '../../src/agents/codex.js';
import { buildGeminiCommand } from '../../src/agents/gemini.js';
import type { LaunchOptions } from '../../src/agents/types.js';
import type { AgentPayload } from '../../src/domain/events.js';
import { renderReviewPrompt, renderRolePrompt } from '../../src/domain/prompts.js';
import type { Persona } from '../../src/demo/invocation.js';
import { DEMO_TASK } from '../../src/demo/task.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const PLAYER = fileURLToPath(new URL('../../src/demo/recorded-agent.ts', import.meta.url));
/** tsx's loader as a file URL: the player runs in a temp dir, where the bare name `tsx` does not resolve. */
export const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export const BUILDERS: Record<Persona, (options: LaunchOptions) => { args: string[] }> = {
  claude: buildClaudeCommand,
  codex: buildCodexCommand,
  gemini: buildGeminiCommand,
};

/** The default trio and its peer reviews, in the order the demo runs them. */
export const DEMO_STEPS = [
  { persona: 'gemini', role: 'architect' },
  { persona: 'codex', role: 'reviewer-architect', target: { id: 'architect', role: 'architect', agent: 'gemini' } },
  { persona: 'claude', role: 'implementer' },
  {
    persona: 'gemini',
    role: 'reviewer-implementer',
    target: { id: 'implementer', role: 'implementer', agent: 'claude' },
  },
  {
    persona: 'codex',
    role: 'reviewer-implementer',
    target: { id: 'implementer', role: 'implementer', agent: 'claude' },
  },
  { persona: 'codex', role: 'verifier' },
] as const satisfies readonly {
  persona: Persona;
  role: string;
  target?: { id: string; role: string; agent: string };
}[];

export type DemoStep = (typeof DEMO_STEPS)[number];

export function rolePrompt(role: string): string {
  return renderRolePrompt({ kind: 'role', role, task: DEMO_TASK, upstream: [] });
}

export function reviewPrompt(target: { id: string; role: string; agent: string }, targetDir: string): string {
  return renderReviewPrompt(
    {
      kind: 'review',
      task: DEMO_TASK,
      targetId: target.id,
      targetRole: target.role,
      targetAgent: target.agent,
      targetSummary: 'Done.',
      focus: target.role === 'architect' ? 'architecture' : 'implementation',
      targetDir,
      baseCommit: null,
      diffLimitBytes: 50_000,
      strict: false,
    },
    null,
  );
}

/** The argv the orchestrator would launch `step` with, in `targetDir`. */
export function stepArgs(step: DemoStep, targetDir: string, extra: Partial<LaunchOptions> = {}): string[] {
  const review = 'target' in step;
  const prompt = review ? reviewPrompt(step.target, targetDir) : rolePrompt(step.role);
  return BUILDERS[step.persona]({ prompt, targetDir, includeDirs: [], fixes: {}, readOnly: review, ...extra }).args;
}

export interface PlayerRun {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
}

/** Run the player (src/demo/recorded-agent.ts through tsx) with `args`, in `cwd`. */
export async function runPlayer(
  args: string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<PlayerRun> {
  const result = await execa(process.execPath, ['--import', TSX_LOADER, PLAYER, ...args], {
    cwd: options.cwd,
    env: { DEMO_AGENT_SPEED: '0', ...options.env },
    stdin: 'ignore',
    reject: false,
    timeout: 20_000,
  });
  return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
}

/** Payloads a parser must never produce for the demo's output. */
export function badPayloads(payloads: readonly AgentPayload[]): AgentPayload[] {
  return payloads.filter((p) => p.kind === 'malformed' || p.kind === 'unknown');
}
