/**
 * Run one real agent CLI the way the orchestrator does, without the orchestrator: our adapter's exact argv
 * (buildCommand), stdin from /dev/null, its own process group, a hard time limit; then our parser over its
 * stdout and our classifier over the whole run.
 */
import { spawn } from 'node:child_process';
import { getAdapter } from '../../../src/agents/registry.js';
import type { LaunchOptions } from '../../../src/agents/types.js';
import { AgentPayloadSchema, type AgentPayload, type FailureSignal } from '../../../src/domain/events.js';
import { OutputTracker, type OutputFacts } from '../../../src/domain/output-facts.js';
import { binaryPath, type RealAgent } from './install.js';

export interface AgentRun {
  agent: RealAgent;
  argv: string[];
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  lines: string[];
  payloads: AgentPayload[];
  /** What the orchestrator's worker would know after this run (final text, session id, files changed). */
  facts: OutputFacts;
  /** Payloads our own schema rejects (a parser bug: every payload must validate). */
  invalidPayloads: Array<{ payload: AgentPayload; error: string }>;
  failure: FailureSignal | null;
  durationMs: number;
}

export interface RunAgentOptions {
  env: Record<string, string>;
  cwd: string;
  timeoutMs?: number;
  /** Run as another user (root runs claude as an unprivileged user). */
  uid?: number;
  gid?: number;
}

const STDERR_TAIL_BYTES = 16 * 1024;

export async function runAgent(agent: RealAgent, launch: LaunchOptions, options: RunAgentOptions): Promise<AgentRun> {
  const adapter = getAdapter(agent);
  const command = adapter.buildCommand(launch);
  const file = binaryPath(agent);
  const started = Date.now();
  const child = spawn(file, command.args, {
    cwd: options.cwd,
    // Only what we set: nothing of the developer's own agent configuration leaks in.
    env: { ...options.env, ...command.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    ...(options.uid !== undefined ? { uid: options.uid } : {}),
    ...(options.gid !== undefined ? { gid: options.gid } : {}),
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  let timedOut = false;
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      // Already gone.
    }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup('SIGTERM');
    setTimeout(() => killGroup('SIGKILL'), 2000).unref();
  }, options.timeoutMs ?? 60_000);
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
    (resolve, reject) => {
      child.once('error', reject);
      child.once('close', (c, s) => resolve({ code: c, signal: s }));
    },
  );
  clearTimeout(timer);
  // Anything the agent left running in its group (a tool's child) goes with it.
  killGroup('SIGKILL');
  const stdout = Buffer.concat(out).toString('utf8');
  const stderr = Buffer.concat(err).toString('utf8');
  const lines = stdout.split('\n').filter((line) => line.trim() !== '');
  const payloads = lines.flatMap((line) => adapter.parseLine(line));
  const tracker = new OutputTracker();
  tracker.add(payloads);
  const invalidPayloads = payloads.flatMap((payload) => {
    const parsed = AgentPayloadSchema.safeParse(payload);
    return parsed.success ? [] : [{ payload, error: parsed.error.message }];
  });
  const failure = adapter.classifyFailure({
    exitCode: code,
    signal,
    stderrTail: stderr.slice(-STDERR_TAIL_BYTES),
    events: tracker.recent(),
    now: new Date(),
  });
  return {
    agent,
    argv: [file, ...command.args],
    exitCode: code,
    signal,
    timedOut,
    stdout,
    stderr,
    lines,
    payloads,
    facts: tracker.facts(),
    invalidPayloads,
    failure,
    durationMs: Date.now() - started,
  };
}

/** A compact description of a run for assertion messages. */
export function describeRun(run: AgentRun): string {
  return [
    `${run.agent} exit=${run.exitCode} signal=${run.signal} timedOut=${run.timedOut} ${run.durationMs}ms`,
    `argv: ${JSON.stringify(run.argv.slice(1))}`,
    `failure: ${JSON.stringify(run.failure)}`,
    `stdout (${run.lines.length} lines):`,
    ...run.lines.map((line) => `  ${line.length > 400 ? `${line.slice(0, 400)}…` : line}`),
    'stderr:',
    ...run.stderr
      .split('\n')
      .filter((l) => l.trim() && !l.trim().startsWith('at '))
      .slice(-25)
      .map((l) => `  ${l.slice(0, 400)}`),
  ].join('\n');
}
