/**
 * Kill -9 at random points, then resume: the orchestrator (the real CLI, `orchestrate run`) is SIGKILLed at a
 * random moment of a session of three chained fake workers (one fails once and is relaunched after a
 * backoff); `orchestrate resume` then re-attaches to the agents that kept running and finishes the session,
 * sometimes after being killed again itself. Checks: every session completes (exit 0), events.jsonl is
 * gap-free (seq 1..N), every stdout line of every attempt became events exactly once (no line lost, none
 * taken twice, by the line end offsets the events carry), and no agent process is left.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  fakeAgentEnv,
  makeSandbox,
  processesMentioning,
  readEvents,
  ROOT,
  sessionIds,
  type Sandbox,
} from '../support/orchestrate.js';
import type { OrchestratorEvent } from '../../src/domain/events.js';
import { sleep } from '../../bench/lib/harness.js';
import { SIZES, report } from './sizes.js';

const CLI_TS = join(ROOT, 'src', 'cli.ts');
const sandboxes: Sandbox[] = [];
afterAll(() => {
  for (const s of sandboxes) {
    for (const pid of processesMentioning(s.dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    rmSync(s.dir, { recursive: true, force: true });
  }
});

/** The CLI from source (tsx), so the suite needs no build and always runs the code in the tree. */
function orchestrate(
  args: string[],
  env: Record<string, string>,
): { child: ChildProcess; done: Promise<{ code: number | null; signal: string | null; out: string }> } {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI_TS, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const done = new Promise<{ code: number | null; signal: string | null; out: string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, out })),
  );
  return { child, done };
}

function spec() {
  return {
    task: 'kill -9 drill',
    workers: [
      { id: 'w1', agent: 'claude', role: 'architect' },
      { id: 'w2', agent: 'gemini', role: 'implementer', dependsOn: ['w1'] },
      { id: 'w3', agent: 'claude', role: 'verifier', dependsOn: ['w2'] },
    ],
    reviews: [],
    sandbox: 'none',
    limits: { backoffBaseMs: 200, backoffMaxMs: 400, killGraceMs: 500, stallTimeoutSec: 120 },
  };
}

/** For every worker and attempt: the ends of the non-blank stdout lines, and the ends the events carry. */
function lineAccounting(dir: string, events: OrchestratorEvent[]): string[] {
  const problems: string[] = [];
  for (const worker of ['w1', 'w2', 'w3']) {
    const base = join(dir, 'agents', worker);
    if (!existsSync(`${base}.proc.json`)) {
      problems.push(`${worker}: never launched`);
      continue;
    }
    const procs = (
      JSON.parse(readFileSync(`${base}.proc.json`, 'utf8')) as Array<{ attempt: number; stdoutStart: number }>
    ).sort((a, b) => a.attempt - b.attempt);
    const stdout = readFileSync(`${base}.stdout.jsonl`);
    procs.forEach((proc, i) => {
      const stop = procs[i + 1]?.stdoutStart ?? stdout.length;
      const ends: number[] = [];
      let lineStart = proc.stdoutStart;
      for (let at = stdout.indexOf(0x0a, proc.stdoutStart); at !== -1 && at < stop; at = stdout.indexOf(0x0a, at + 1)) {
        if (stdout.toString('utf8', lineStart, at).trim() !== '') ends.push(at + 1);
        lineStart = at + 1;
      }
      const seen = new Map<number, number[]>();
      for (const e of events) {
        if (e.type !== 'agent' || e.workerId !== worker || e.at?.attempt !== proc.attempt) continue;
        const list = seen.get(e.at.end) ?? [];
        list.push(e.seq);
        seen.set(e.at.end, list);
      }
      const missing = ends.filter((end) => !seen.has(end));
      const extra = [...seen.keys()].filter((end) => !ends.includes(end));
      // Several payloads of one line are consecutive events; a line taken twice shows as a non-consecutive run.
      const twice = [...seen.entries()].filter(([, seqs]) =>
        seqs.some((s, k) => k > 0 && s !== (seqs[k - 1] as number) + 1),
      );
      if (missing.length)
        problems.push(
          `${worker}#${proc.attempt}: lines never turned into events (ends ${missing.slice(0, 5).join(', ')})`,
        );
      if (extra.length)
        problems.push(`${worker}#${proc.attempt}: events for no line (ends ${extra.slice(0, 5).join(', ')})`);
      if (twice.length)
        problems.push(
          `${worker}#${proc.attempt}: lines taken twice (ends ${twice
            .slice(0, 5)
            .map(([end]) => end)
            .join(', ')})`,
        );
    });
  }
  return problems;
}

describe('kill -9 and resume', () => {
  it(`${SIZES.killRuns} runs killed at random: each resumes, completes, logs gap-free, every line once`, async () => {
    const summary: Array<Record<string, unknown>> = [];
    const failures: string[] = [];
    for (let run = 0; run < SIZES.killRuns; run++) {
      const sandbox = makeSandbox({ git: true });
      sandboxes.push(sandbox);
      const specFile = join(sandbox.dir, 'spec.json');
      writeFileSync(specFile, JSON.stringify(spec()));
      const env = fakeAgentEnv(sandbox, {
        default: { lines: 12, delayMs: 60 },
        gemini: { fail: 'server_error', failTimes: 1, lines: 12, delayMs: 60 },
      });
      const first = orchestrate(
        ['run', '--spec', specFile, '-C', sandbox.target, '--workspace', sandbox.workspace, '--no-server', '--json'],
        env,
      );
      // Kill once the session exists, at a random point of its ~3-5 s life.
      const t0 = Date.now();
      while (sessionIds(sandbox.workspace).length === 0 && Date.now() - t0 < 20_000) await sleep(10);
      const sid = sessionIds(sandbox.workspace)[0];
      if (!sid) throw new Error(`run ${run}: no session appeared\n${(await first.done).out}`);
      const killAfter = Math.round(Math.random() * 4_000);
      await Promise.race([sleep(killAfter), first.done]);
      const killed = first.child.exitCode === null;
      first.child.kill('SIGKILL');
      await first.done;
      // Resume; sometimes kill the resuming orchestrator too, then resume again.
      let kills = killed ? 1 : 0;
      let result: { code: number | null; signal: string | null; out: string } | null = null;
      for (let attempt = 0; attempt < 4 && !result; attempt++) {
        const resumed = orchestrate(['resume', sid, '--workspace', sandbox.workspace, '--no-server', '--json'], env);
        if (attempt < 2 && Math.random() < 0.3) {
          const outcome = await Promise.race([sleep(300 + Math.random() * 1500).then(() => null), resumed.done]);
          if (outcome === null) {
            resumed.child.kill('SIGKILL');
            await resumed.done;
            kills++;
            continue;
          }
          result = outcome;
          break;
        }
        const timer = setTimeout(() => resumed.child.kill('SIGKILL'), 90_000);
        result = await resumed.done;
        clearTimeout(timer);
      }
      const dir = join(sandbox.workspace, 'sessions', sid);
      let events: OrchestratorEvent[] = [];
      let gapFree = true;
      try {
        events = readEvents(sandbox.workspace, sid);
      } catch (error) {
        gapFree = false;
        failures.push(`run ${run} (${sid}): ${(error as Error).message}`);
      }
      const sessionStates = events
        .filter((e) => e.type === 'state' && e.machine === 'session')
        .map((e) => (e as { to: string }).to);
      const completed = sessionStates.at(-1) === 'completed';
      const lines = gapFree ? lineAccounting(dir, events) : [];
      await sleep(200);
      const leftover = processesMentioning(sandbox.dir);
      const entry = {
        run,
        sid,
        killAfterMs: killAfter,
        kills,
        resumeExit: result?.code ?? null,
        events: events.length,
        completed,
        lineProblems: lines,
        leftoverProcesses: leftover.length,
      };
      summary.push(entry);
      if (result?.code !== 0)
        failures.push(
          `run ${run} (${sid}): resume exited ${result?.code ?? result?.signal ?? 'never'}; ` +
            `last output: ${result?.out.slice(-600)}`,
        );
      if (!completed) failures.push(`run ${run} (${sid}): session states ${sessionStates.join(' > ')}`);
      if (lines.length) failures.push(`run ${run} (${sid}): ${lines.join('; ')}`);
      if (leftover.length) failures.push(`run ${run} (${sid}): ${leftover.length} agent processes left running`);
    }
    report('kill -9', {
      runs: SIZES.killRuns,
      kills: summary.reduce((a, s) => a + (s.kills as number), 0),
      summary: summary.map(
        (s) =>
          `${s.run}: kill@${s.killAfterMs}ms x${s.kills} ` +
          `exit=${s.resumeExit} events=${s.events} completed=${s.completed}`,
      ),
    });
    expect(failures).toEqual([]);
  });
});
