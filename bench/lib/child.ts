/**
 * Runs one scenario in a fresh process (so RSS, CPU and the heap are that scenario's alone) and sends its
 * result to the parent over IPC (or prints it as JSON when run by hand).
 * Usage: node --import tsx bench/lib/child.ts <scenario> [--quick] [key=value ...]
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BENCH_DIR } from './paths.js';
import type { ScenarioOptions } from './measure.js';

const [name, ...flags] = process.argv.slice(2);
if (!name) {
  process.stderr.write('usage: child.ts <scenario> [--quick]\n');
  process.exit(1);
}
const args = Object.fromEntries(flags.filter((f) => f.includes('=')).map((f) => f.split('=', 2) as [string, string]));
const options: ScenarioOptions = { quick: flags.includes('--quick'), args };
const module = (await import(pathToFileURL(join(BENCH_DIR, 'scenarios', `${name}.ts`)).href)) as {
  run(o: ScenarioOptions): Promise<unknown>;
};
try {
  const result = await module.run(options);
  if (process.send) process.send({ type: 'result', result });
  else process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  process.exitCode = 0;
} catch (error) {
  const message = (error as Error).stack ?? String(error);
  if (process.send) process.send({ type: 'error', message });
  else process.stderr.write(`${message}\n`);
  process.exitCode = 1;
}
// Let IPC flush, then go even if a handle lingers (unref'd watchers, sockets being torn down).
setTimeout(() => process.exit(process.exitCode ?? 0), 200).unref();
