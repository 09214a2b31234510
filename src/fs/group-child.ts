/**
 * The agent as the child of a helper that runs in its process group (the network proxy, the stdin relay): the
 * group's signals are for the agent, so the helper ignores them, waits for its child, and exits with its status
 * (128 + N for a signal N, as the launch wrapper reads it).
 */
import { type ChildProcess, spawn, type StdioOptions } from 'node:child_process';
import { constants } from 'node:os';

export function runGroupChild(
  helper: string,
  file: string,
  args: readonly string[],
  stdio: StdioOptions,
): ChildProcess {
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => undefined);
  const child = spawn(file, args, { stdio });
  child.on('error', (error) => {
    process.stderr.write(`orchestrate ${helper}: cannot run ${file}: ${error.message}\n`);
    process.exit(127);
  });
  child.on('exit', (code, signal) => {
    process.exit(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
  });
  return child;
}
