import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/real-agents/**', 'test/reliability/**', 'node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Integration tests spawn real processes and wait for them, and some wait out real timers on purpose (a pause
    // held past the stall timeout): with two workers on two cores, a core was idle a quarter of the time (148% CPU).
    // Three keep both busy: the suite took 446 s instead of 522 s, for the same CPU (743 s against 773 s).
    maxWorkers: 3,
  },
});
