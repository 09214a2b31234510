/**
 * The real-agents suite: the pinned Claude Code, Codex CLI and Gemini CLI against a loopback fake model
 * server. Run it with `ORCHESTRATOR_REAL_AGENTS=1 npm run test:real-agents` (scripts/real-agents/run.ts
 * installs the CLIs and builds dist first). One file at a time: the CLIs are heavy and the orchestrate
 * scenarios start several of them at once; every CLI run has its own hard time limit inside the tests.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['test/real-agents/**/*.test.ts'],
    globalSetup: ['test/real-agents/global-setup.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
    reporters: ['verbose'],
  },
});
