/**
 * The reliability suite (`npm run test:reliability`): fuzzing, chaos, soak and kill -9 against real processes
 * and real servers. Full sizes by default (about 15 minutes, the soak alone is 10); RELIABILITY_SIZE=small
 * shrinks every test (about a minute) for CI. One file at a time: they measure time and memory.
 */
import { defineConfig } from 'vitest/config';

const small = process.env.RELIABILITY_SIZE === 'small';

export default defineConfig({
  test: {
    include: ['test/reliability/**/*.test.ts'],
    testTimeout: small ? 120_000 : 1_200_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    // The soak measures the heap after a forced GC.
    execArgv: ['--expose-gc'],
  },
});
