/** Run a scenario (or a part of one) in a fresh Node process and get its result back over IPC. */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { BENCH_DIR } from './paths.js';

export interface ChildRunOptions {
  quick: boolean;
  args?: Record<string, string>;
  /** Extra node flags, e.g. --cpu-prof --cpu-prof-dir=..., --expose-gc. */
  nodeArgs?: string[];
  timeoutMs?: number;
}

export function runScenarioInChild<T>(name: string, options: ChildRunOptions): Promise<T> {
  const argv = [
    name,
    ...(options.quick ? ['--quick'] : []),
    ...Object.entries(options.args ?? {}).map(([k, v]) => `${k}=${v}`),
  ];
  const child = fork(join(BENCH_DIR, 'lib', 'child.ts'), argv, {
    execArgv: ['--import', 'tsx', ...(options.nodeArgs ?? [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      child.kill('SIGKILL');
      reject(new Error(`scenario ${name} did not finish within ${options.timeoutMs} ms`));
    }, options.timeoutMs ?? 600_000);
    child.on('message', (m: { type: string; result?: T; message?: string }) => {
      if (settled) return;
      if (m.type === 'result') {
        settled = true;
        resolve(m.result as T);
      } else if (m.type === 'error') {
        settled = true;
        reject(new Error(`scenario ${name} failed:\n${m.message}`));
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      reject(new Error(`scenario ${name} exited (${code ?? signal}) without a result`));
    });
  });
}
