/**
 * Sessions nobody runs any more, through the real CLI: answering a blocker of a session that ended waiting for a
 * person (after `run --no-server`), `resume` and `stop` of a session that has ended (nothing appended to its
 * log), and agents that are not installed (refused before a session starts; a blocker saying so at resume).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupSandbox,
  eventsOfType,
  fakeAgentEnv,
  makeSandbox,
  processesMentioning,
  readEvents,
  runCli,
  sessionIds,
  type Sandbox,
} from '../support/orchestrate.js';

let sandbox: Sandbox | undefined;
afterEach(async () => {
  await cleanupSandbox(sandbox);
  sandbox = undefined;
});

const LIMITS = { backoffBaseMs: 20, backoffMaxMs: 50, stallTimeoutSec: 30 };

function setup(config: object) {
  sandbox = makeSandbox({ git: true });
  const specFile = join(sandbox.dir, 'spec.json');
  writeFileSync(
    specFile,
    JSON.stringify({
      task: 'say hello',
      workers: [{ id: 'w', agent: 'claude', role: 'implementer' }],
      reviews: [],
      limits: LIMITS,
      sandbox: 'none',
    }),
  );
  const env = fakeAgentEnv(sandbox, config);
  const s = sandbox;
  const cli = (args: string[], extraEnv: Record<string, string> = {}) =>
    runCli([...args, '--workspace', s.workspace], { env: { ...env, ...extraEnv }, timeoutMs: 45_000 });
  const run = () => cli(['run', '--in-place', '-C', s.target, '--spec', specFile, '--no-server']);
  return { s, specFile, env, cli, run };
}

const logLines = (s: Sandbox) =>
  readFileSync(join(s.workspace, 'sessions', sessionIds(s.workspace)[0] as string, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean).length;

describe('a blocker of a session nobody runs', () => {
  it('`orchestrate resolve` (as the summary says) restores the session here, answers, runs it to the end', async () => {
    const { s, env, run } = setup({ claude: { fail: 'auth', failTimes: 1, delayMs: 2 } });
    const first = await run();
    expect(first.exitCode, first.stderr).toBe(2);
    const sid = sessionIds(s.workspace)[0] as string;
    // The line the summary prints runs as it is, from any folder: it names the workspace.
    const line = /answer: (orchestrate resolve .*)$/m.exec(first.stdout + first.stderr)?.[1] ?? '';
    expect(line).toBe(`orchestrate resolve ${sid} b1 <retry|skip|stop> --workspace ${s.workspace}`);

    const args = line.replace('<retry|skip|stop>', 'retry').split(' ').slice(1);
    const answered = await runCli(args, { env: { ...env }, cwd: tmpdir(), timeoutMs: 45_000 });
    expect(answered.exitCode, answered.stdout + answered.stderr).toBe(0);
    expect(answered.stdout).toContain(`b1: answered retry; session ${sid} goes on here`);
    const events = readEvents(s.workspace);
    expect(eventsOfType(events, 'blocker').find((b) => b.resolution)?.resolution).toMatchObject({
      choice: 'retry',
      by: 'cli',
    });
    const worker = eventsOfType(events, 'state')
      .filter((e) => e.machine === 'worker')
      .at(-1);
    expect(worker?.to).toBe('completed');
    expect(
      eventsOfType(events, 'state')
        .filter((e) => e.machine === 'session')
        .at(-1)?.to,
    ).toBe('completed');
  }, 60_000);

  it('a session paused over its budget (a blocker of the safety monitor) goes on after `resolve ... retry`, ' +
    'with or without a server', async () => {
    for (const serverFlag of [[], ['--no-server']]) {
      const { s, cli } = setup({ claude: { delayMs: 2, usage: { inputTokens: 2000, outputTokens: 500 } } });
      const specFile = join(s.dir, 'budget.json');
      writeFileSync(
        specFile,
        JSON.stringify({
          task: 'two parts',
          workers: [
            { id: 'a', agent: 'claude', role: 'implementer' },
            { id: 'b', agent: 'claude', role: 'verifier', dependsOn: ['a'] },
          ],
          limits: { ...LIMITS, session: { maxTokens: 1000 } },
          sandbox: 'none',
        }),
      );
      const first = await cli(['run', '--in-place', '-C', s.target, '--spec', specFile, '--no-server']);
      expect(first.exitCode, first.stderr).toBe(2);
      const sid = sessionIds(s.workspace)[0] as string;
      expect(eventsOfType(readEvents(s.workspace), 'blocker')).toEqual([
        expect.objectContaining({ blockerId: 'b1', kind: 'BUDGET_EXCEEDED' }),
      ]);

      const answered = await cli([
        'resolve',
        sid,
        'b1',
        'retry',
        ...serverFlag,
        ...(serverFlag.length ? [] : ['--port', '0']),
      ]);
      expect(answered.exitCode, `${serverFlag.join(' ')}: ${answered.stdout}${answered.stderr}`).toBe(0);
      const events = readEvents(s.workspace);
      expect(
        eventsOfType(events, 'state')
          .filter((e) => e.machine === 'session')
          .at(-1)?.to,
      ).toBe('completed');
      expect(
        eventsOfType(events, 'state')
          .filter((e) => e.machine === 'worker' && e.id === 'b')
          .at(-1)?.to,
      ).toBe('completed');
      await cleanupSandbox(sandbox);
      sandbox = undefined;
    }
  }, 90_000);

  it('a run with no server ending with a worker paused says its agent stays stopped; `stop` then ends it', async () => {
    const { s, cli, run } = setup({ claude: { delayMs: 2, commands: ['rm -rf /'], holdMs: 60_000 } });
    const first = await run();
    expect(first.exitCode, first.stderr).toBe(2);
    const sid = sessionIds(s.workspace)[0] as string;
    expect(first.stderr).toContain(
      `note: the agent of w stays paused (SIGSTOP, no CPU) until \`orchestrate resolve\` or ` +
        `\`orchestrate resume ${sid}\` continues it, or \`orchestrate stop ${sid}\` ends it.`,
    );
    expect(processesMentioning(s.dir).length).toBeGreaterThan(0);
    const stopped = await cli(['stop', sid]);
    expect(stopped.exitCode, stopped.stderr).toBe(0);
    expect(processesMentioning(s.dir)).toEqual([]);
  }, 60_000);

  it('a wrong answer is refused before any restore: unknown blocker, refused choice, answered one', async () => {
    const { s, cli, run } = setup({ claude: { fail: 'auth', failTimes: 1, delayMs: 2 } });
    expect((await run()).exitCode).toBe(2);
    const sid = sessionIds(s.workspace)[0] as string;
    const before = logLines(s);
    const unknown = await cli(['resolve', sid, 'b9', 'retry']);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toContain(`session ${sid} has no blocker b9 (open: b1)`);
    const refused = await cli(['resolve', sid, 'b1', 'answer', '--text', 'x']);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain('blocker b1 does not accept "answer": it accepts retry, skip, stop');
    expect(logLines(s)).toBe(before);
    // Skipping its only worker runs the session on to its end: partial, since nothing was done (exit 2).
    expect((await cli(['resolve', sid, 'b1', 'skip'])).exitCode).toBe(2);
    const again = await cli(['resolve', sid, 'b1', 'retry']);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toContain('blocker b1 was already answered (skip by cli)');
  }, 60_000);
});

describe('a session that has ended', () => {
  it('resume says so with its summary and the exit code it ended with; stop says it ended; neither logs', async () => {
    const { s, cli, run } = setup({});
    expect((await run()).exitCode).toBe(0);
    const sid = sessionIds(s.workspace)[0] as string;
    const before = logLines(s);
    const resumed = await cli(['resume', sid, '--no-server']);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain(`session ${sid} has already ended (completed): nothing to resume.`);
    expect(resumed.stdout).toContain(`Session ${sid} completed after`);
    const stopped = await cli(['stop', sid]);
    expect(stopped.exitCode, stopped.stderr).toBe(0);
    expect(stopped.stdout).toContain(`session ${sid} had already ended`);
    expect(logLines(s)).toBe(before);
  }, 60_000);
});

describe('an agent that is not installed', () => {
  it('run refuses before a session exists, naming the agent and how to get it', async () => {
    const { s, cli, specFile } = setup({});
    const missing = join(s.dir, 'no-such-claude');
    const result = await cli(['run', '--in-place', '-C', s.target, '--spec', specFile, '--no-server'], {
      ORCHESTRATOR_CLAUDE_BIN: missing,
    });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(`ORCHESTRATOR_CLAUDE_BIN=${missing} is not an executable file`);
    expect(result.stderr).toContain('orchestrate doctor');
    expect(sessionIds(s.workspace)).toEqual([]);
    // With a server too: refused before any dashboard is announced.
    const served = await cli(['run', '--in-place', '-C', s.target, '--spec', specFile, '--port', '0'], {
      ORCHESTRATOR_CLAUDE_BIN: missing,
    });
    expect(served.exitCode).toBe(1);
    expect(served.stdout + served.stderr).not.toContain('Dashboard');
    expect(served.stderr).toMatch(/^error: .*ORCHESTRATOR_CLAUDE_BIN/);
  }, 60_000);

  it('gone by the time a session resumes: an AGENT_NOT_FOUND blocker that says how to install it, ' +
    'not "rejected how it was started"', async () => {
    const { s, cli, run } = setup({ claude: { fail: 'auth', failTimes: 1, delayMs: 2 } });
    expect((await run()).exitCode).toBe(2);
    const sid = sessionIds(s.workspace)[0] as string;
    const gone = { ORCHESTRATOR_CLAUDE_BIN: join(s.dir, 'uninstalled-claude') };
    const answered = await cli(['resolve', sid, 'b1', 'retry', '--no-server'], gone);
    expect(answered.exitCode, answered.stdout + answered.stderr).toBe(2);
    const blocker = eventsOfType(readEvents(s.workspace), 'blocker')
      .filter((b) => !b.resolution)
      .at(-1);
    expect(blocker).toMatchObject({ kind: 'AGENT_NOT_FOUND', workerId: 'w', options: ['retry', 'skip', 'stop'] });
    expect(blocker?.message).toContain('claude could not be started');
    expect(blocker?.message).not.toContain('rejected');
    expect(blocker?.action).toMatch(/Install claude .*orchestrate doctor.*ORCHESTRATOR_CLAUDE_BIN/);
  }, 60_000);
});
