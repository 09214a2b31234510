/**
 * Interactive mode with the real CLIs (issue 14's "done when"): claude over its stream-json protocol and codex over
 * `codex app-server`, each asking before it runs a command, against the loopback fake model server.
 *
 * - (a) A denied command never runs: the file it would create does not exist, and the agent carries on and completes.
 * - (b) An `ask` becomes a blocker, answered `allow` through the run's API (`orchestrate resolve`), and the command
 *   runs.
 * - (c) A message sent while the agent waits (`orchestrate say`) reaches it: the fake server sees it in the next
 *   request.
 * - (d) A kill -9 of the orchestrator while a request waits, then `resume`: the request is answered exactly once and
 *   the session completes.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SessionSpecInput } from '../../src/domain/spec.js';
import { type FakeModelServer, startFakeModelServer } from './fake-model-server.js';
import {
  assertUserCanRunCli,
  CLI,
  cliBuilt,
  describeOrchestrate,
  finalWorkerStates,
  killKeptAgents,
  type OrchestrateRun,
  ofType,
  removeOrchestrateRun,
  type StartedOrchestrate,
  startOrchestrate,
} from './support/orchestrate.js';
import { PROVIDER_OF } from './support/scenarios.js';
import { ensureTestUser, type TestUser } from './support/test-user.js';

const LIMITS = {
  backoffBaseMs: 200,
  backoffMaxMs: 1_000,
  stallTimeoutSec: 90,
  workerTimeoutSec: 150,
  killGraceMs: 1_000,
};
const AGENTS = ['claude', 'codex', 'gemini'] as const;

function spec(agent: (typeof AGENTS)[number], command: string, permissions: object): SessionSpecInput {
  return {
    task: `Run \`${command}\`, then say you are done.`,
    workers: [{ id: 'impl', agent, role: 'implementer', mode: 'interactive' }],
    reviews: [],
    permissions,
    limits: LIMITS,
  };
}

/** Whether the worker's branch holds `path` (what the agent's command left in its checkout is committed there). */
function onBranch(run: { target: string }, sessionId: string, path: string): boolean {
  const files = execFileSync(
    'git',
    ['-c', 'safe.directory=*', 'ls-tree', '-r', '--name-only', `orch/${sessionId}/impl`],
    {
      cwd: run.target,
      encoding: 'utf8',
    },
  );
  return files.split('\n').includes(path);
}

/** Waits for `check` on the run's events so far, however long the real CLI takes (the test's own timeout bounds it). */
async function until(started: StartedOrchestrate, what: string, check: () => boolean): Promise<void> {
  for (;;) {
    if (check()) return;
    const settled = await Promise.race([started.finished.then(() => true), sleep(100).then(() => false)]);
    if (settled && !check())
      throw new Error(`the run ended before ${what}:\n${describeOrchestrate(await started.finished)}`);
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const openRequest = (started: StartedOrchestrate) =>
  ofType(started.events(), 'blocker').find((b) => b.kind === 'PERMISSION_REQUEST' && !b.resolution);

describe.skipIf(!cliBuilt())(`interactive mode with the real CLIs (${CLI})`, () => {
  let server: FakeModelServer;
  let user: TestUser | null;
  const runs: OrchestrateRun[] = [];

  beforeAll(async () => {
    server = await startFakeModelServer();
    user = ensureTestUser();
    assertUserCanRunCli(user);
  });
  afterAll(async () => {
    // Agents a failed (d) left for a resume that never collected them.
    killKeptAgents();
    await server?.close();
    for (const run of runs) removeOrchestrateRun(run);
  });
  beforeEach(() => server.reset());

  describe.each(AGENTS)('%s', (agent) => {
    const provider = PROVIDER_OF[agent];

    it('(a) a denied command never runs; the agent is told, carries on and completes', async () => {
      server.setScenario(provider, { kind: 'run-command', command: 'touch denied.txt', text: 'It was denied; done.' });
      const s = spec(agent, 'touch denied.txt', { deny: ['Bash(touch denied.txt)'] });
      const started = startOrchestrate(server, { task: s.task, spec: s, user });
      const run = await started.finished;
      const why = describeOrchestrate(run);
      expect(run.exitCode, why).toBe(0);
      runs.push(run);
      const sid = run.events[0]?.sessionId ?? '';
      expect(onBranch(run, sid, 'denied.txt'), why).toBe(false);
      expect(ofType(run.events, 'permission'), why).toEqual([
        expect.objectContaining({ tool: 'Bash', command: 'touch denied.txt', decision: 'deny', by: 'rule' }),
      ]);
      // The model heard of the refusal (its tool result) and answered after it.
      expect(
        server.turns(provider).map((t) => t.afterTool),
        why,
      ).toEqual([false, true]);
      expect(finalWorkerStates(run.events), why).toMatchObject({ impl: 'completed' });
    });

    it('(b, c) an ask is a blocker; a message sent meanwhile reaches the model; an API allow runs it', async () => {
      server.setScenario(provider, { kind: 'run-command', command: 'touch asked.txt', text: 'Ran it; done.' });
      const s = spec(agent, 'touch asked.txt', { ask: ['Bash(touch asked.txt)'] });
      const started = startOrchestrate(server, { task: s.task, spec: s, user, serve: true });
      await until(started, 'the permission request', () => openRequest(started) !== undefined);
      const blocker = openRequest(started);
      expect(blocker?.message).toContain('Bash: touch asked.txt');
      const sid = started.events()[0]?.sessionId ?? '';
      const said = await started.cli(['say', sid, 'impl', 'MARKER-message-mid-run']);
      expect(said.code, said.stderr).toBe(0);
      const resolved = await started.cli(['resolve', sid, blocker?.blockerId ?? '', 'allow']);
      expect(resolved.code, resolved.stderr).toBe(0);
      const run = await started.finished;
      const why = describeOrchestrate(run);
      expect(run.exitCode, why).toBe(0);
      runs.push(run);
      expect(onBranch(run, sid, 'asked.txt'), why).toBe(true);
      expect(
        ofType(run.events, 'permission').map((e) => [e.decision, e.by]),
        why,
      ).toEqual([
        ['ask', 'rule'],
        ['allow', 'person'],
      ]);
      // A request after the one that asked for the command carries the message.
      const later = server.turns(provider).slice(1);
      expect(
        later.some((t) => t.body.includes('MARKER-message-mid-run')),
        why,
      ).toBe(true);
    });

    it('(d) kill -9 while a request waits, then resume: answered exactly once, and the session completes', async () => {
      server.setScenario(provider, { kind: 'run-command', command: 'touch resumed.txt', text: 'Ran it; done.' });
      const s = spec(agent, 'touch resumed.txt', { ask: ['Bash(touch resumed.txt)'] });
      // `--no-server`: the run ends by itself (exit 2) once the session waits for a person, maybe before the kill -9.
      // Either way its agent lives on, waiting, for the resume: the harness keeps it (`keepAgents`).
      const first = startOrchestrate(server, { task: s.task, spec: s, user, keepAgents: true });
      await until(first, 'the permission request', () => openRequest(first) !== undefined);
      const sid = first.events()[0]?.sessionId ?? '';
      first.kill9();
      const crashed = await first.finished;
      expect(crashed.leftovers.length, describeOrchestrate(crashed)).toBeGreaterThan(0);

      const blocker = openRequest(first);
      const resumed = first.resume(sid);
      // The resumed run serves the session (its lock names its server) before the request is answered through it.
      const lock = join(first.workspace, 'sessions', sid, 'orchestrator.lock');
      await until(resumed, "the resumed run's server", () => {
        if (!existsSync(lock)) return false;
        const holder = JSON.parse(readFileSync(lock, 'utf8')) as { pid?: number; serverUrl?: string };
        return holder.pid === resumed.pid && holder.serverUrl !== undefined;
      });
      const resolved = await resumed.cli(['resolve', sid, blocker?.blockerId ?? '', 'allow']);
      expect(resolved.code, resolved.stderr).toBe(0);
      const run = await resumed.finished;
      const why = describeOrchestrate(run);
      expect(run.exitCode, why).toBe(0);
      runs.push(run);
      expect(onBranch(run, sid, 'resumed.txt'), why).toBe(true);
      // The agent lived through the crash (no second launch asked the model again) and its one request was
      // answered once: one result of the command came back to the model.
      expect(
        server.turns(provider).map((t) => t.afterTool),
        why,
      ).toEqual([false, true]);
      expect(
        ofType(run.events, 'permission').filter((e) => e.decision === 'allow'),
        why,
      ).toHaveLength(1);
      expect(finalWorkerStates(run.events), why).toMatchObject({ impl: 'completed' });
    });
  });

  /**
   * opencode and qwen speak only ACP: their sessions are interactive whatever the spec says. Each completes a session
   * with a command it was allowed (the file is on the worker's branch), and one it was denied (never run; their turn
   * ends there, the model not asked again). opencode is pointed at the fake server by its own config file, so the
   * sandbox is told the server's port (a local model server is the user's to allow, as here).
   */
  describe.each(['opencode', 'qwen'] as const)('%s', (agent) => {
    const provider = PROVIDER_OF[agent];
    const acpSpec = (command: string, permissions: object): SessionSpecInput => ({
      task: `Run \`${command}\`, then say you are done.`,
      workers: [{ id: 'impl', agent, role: 'implementer' }],
      reviews: [],
      permissions,
      limits: LIMITS,
      sandbox: { mode: 'auto', allowHosts: [`127.0.0.1:${server.port}`] },
    });

    it('an allowed command runs, and the session completes', async () => {
      server.setScenario(provider, { kind: 'run-command', command: 'touch allowed.txt', text: 'Done.' });
      const s = acpSpec('touch allowed.txt', { allow: ['Bash(touch allowed.txt)'] });
      const run = await startOrchestrate(server, { task: s.task, spec: s, user }).finished;
      const why = describeOrchestrate(run);
      expect(run.exitCode, why).toBe(0);
      runs.push(run);
      const sid = run.events[0]?.sessionId ?? '';
      expect(onBranch(run, sid, 'allowed.txt'), why).toBe(true);
      expect(ofType(run.events, 'permission'), why).toEqual([
        expect.objectContaining({ tool: 'Bash', command: 'touch allowed.txt', decision: 'allow', by: 'rule' }),
      ]);
      expect(
        server.turns(provider).map((t) => t.afterTool),
        why,
      ).toEqual([false, true]);
      expect(finalWorkerStates(run.events), why).toMatchObject({ impl: 'completed' });
    });

    it('a denied command never runs, and the session completes', async () => {
      server.setScenario(provider, { kind: 'run-command', command: 'touch denied.txt', text: 'Denied; done.' });
      const s = acpSpec('touch denied.txt', { deny: ['Bash(touch denied.txt)'] });
      const run = await startOrchestrate(server, { task: s.task, spec: s, user }).finished;
      const why = describeOrchestrate(run);
      expect(run.exitCode, why).toBe(0);
      runs.push(run);
      const sid = run.events[0]?.sessionId ?? '';
      expect(onBranch(run, sid, 'denied.txt'), why).toBe(false);
      expect(ofType(run.events, 'permission'), why).toEqual([
        expect.objectContaining({ tool: 'Bash', command: 'touch denied.txt', decision: 'deny', by: 'rule' }),
      ]);
      expect(finalWorkerStates(run.events), why).toMatchObject({ impl: 'completed' });
    });
  });
});
