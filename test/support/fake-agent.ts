/**
 * The fake agent (test/fixtures/fake-agent.mjs, see test/fixtures/fake-agent.md) as every agent CLI: the
 * environment that makes it so, and its record of its launches. Node built-ins only: the HTTP, browser, safety
 * and integration harnesses all load it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FAKE_AGENT = fileURLToPath(new URL('../fixtures/fake-agent.mjs', import.meta.url));

/** Variables that make claude, codex and gemini the fake agent, configured by `config`, its memory in `stateDir`. */
export function fakeAgentVars(stateDir: string, config: object): Record<string, string> {
  return {
    ORCHESTRATOR_CLAUDE_BIN: FAKE_AGENT,
    ORCHESTRATOR_CODEX_BIN: FAKE_AGENT,
    ORCHESTRATOR_GEMINI_BIN: FAKE_AGENT,
    ORCHESTRATOR_OPENCODE_BIN: FAKE_AGENT,
    ORCHESTRATOR_QWEN_BIN: FAKE_AGENT,
    FAKE_AGENT_STATE_DIR: stateDir,
    FAKE_AGENT_CONFIG: JSON.stringify(config),
  };
}

export interface FakeLaunch {
  persona: string;
  argv: string[];
  launch: number;
  /** Where the agent ran (its process cwd) and worked (codex: -C). */
  cwd: string;
  workdir: string;
  env: Record<string, string | null>;
}

/** The fake agent's record of its launches (argv, cwd, env it saw): launches.jsonl in its state dir. */
export function readLaunches(stateDir: string): FakeLaunch[] {
  const path = join(stateDir, 'launches.jsonl');
  return existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as FakeLaunch)
    : [];
}

/** One probe the fake agent really made (scenario `probes`): probes.jsonl in its state dir. */
export interface FakeProbe {
  kind: 'read' | 'open' | 'fetch' | 'run';
  pid: number;
  path?: string;
  url?: string;
  argv?: string[];
  ok: boolean;
  output?: string;
  error?: string;
  status?: number;
  exitCode?: number | null;
  via?: 'proxy' | 'direct';
}

export function readProbes(stateDir: string): FakeProbe[] {
  const path = join(stateDir, 'probes.jsonl');
  return existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as FakeProbe)
    : [];
}
