#!/usr/bin/env node
/**
 * `npm run test:under-load [-- RUNS]`: the README's test command RUNS times in a row (3 by default) while busy
 * loops hold every core, as on a loaded CI machine. Every timing-dependent test must still pass: a test that
 * races a wall-clock bound fails here first. Prints each run's result and duration; exits 1 if any run failed.
 * The busy loops are killed however this ends (a run failing, Ctrl-C).
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';

const runs = Number(process.argv[2] ?? 3);
if (!Number.isInteger(runs) || runs < 1) {
  console.error('usage: npm run test:under-load [-- RUNS]  (RUNS: how many times to run npm test, default 3)');
  process.exit(1);
}
const cores = availableParallelism();
const loops = Array.from({ length: cores }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
const stopLoops = () => {
  for (const loop of loops) loop.kill('SIGKILL');
};
process.on('exit', stopLoops);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    stopLoops();
    process.exit(130);
  });
}
console.log(`under-load: ${cores} busy loop(s) hold the ${cores} core(s); npm test ${runs} time(s)`);

const results = [];
for (let run = 1; run <= runs; run++) {
  const started = Date.now();
  const code = await new Promise((resolve) => {
    const child = spawn('npm', ['test'], { stdio: 'inherit' });
    child.on('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 128 : 1)));
  });
  const seconds = Math.round((Date.now() - started) / 1000);
  results.push({ run, code, seconds });
  console.log(`under-load: run ${run}/${runs} ${code === 0 ? 'passed' : `FAILED (exit ${code})`} in ${seconds} s`);
}
stopLoops();
console.log(
  `under-load: ${results.filter((r) => r.code === 0).length}/${runs} passed ` +
    `(${results.map((r) => `${r.seconds} s`).join(', ')})`,
);
process.exit(results.every((r) => r.code === 0) ? 0 : 1);
