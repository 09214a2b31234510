/**
 * The harness's promise to a test that resumes (`keepAgents`), with the fake agent in real bubblewrap and no real
 * CLI: a run's agents outlive its end however it ends, for the resume to take up, and the resume's end collects
 * them. The case it guards: a `--no-server` run ends by itself (exit 2) as soon as its interactive agent's request
 * waits for a person. The harness used to kill what a run left unless the test's kill -9 came first, so when the run
 * ended just before it (real-agent (d), now and then), the agent died of the harness, and the resumed run found it
 * gone with no exit status.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionSpecInput } from '../../src/domain/spec.js';
import { probeBwrap } from '../../src/safety/bwrap-probe.js';
import { fakeAgentVars, readLaunches } from '../support/fake-agent.js';
import { type FakeModelServer, startFakeModelServer } from './fake-model-server.js';
import { makeRunDir, removeRunDir } from './support/agent-env.js';
import {
  assertUserCanRunCli,
  cliBuilt,
  describeOrchestrate,
  killKeptAgents,
  ofType,
  type OrchestrateRun,
  removeOrchestrateRun,
  type StartedOrchestrate,
  startOrchestrate,
} from './support/orchestrate.js';
import { chownTree, ensureTestUser, type TestUser } from './support/test-user.js';

const probe = await probeBwrap();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits for `check`, failing with the run's account if it ends first. */
async function until(started: StartedOrchestrate, what: string, check: () => boolean): Promise<void> {
  for (;;) {
    if (check()) return;
    const settled = await Promise.race([started.finished.then(() => true), sleep(100).then(() => false)]);
    if (settled && !check())
      throw new Error(`the run ended before ${what}:\n${describeOrchestrate(await started.finished)}`);
  }
}

describe.runIf(cliBuilt() && probe.available)('keepAgents: a run that ends waiting for a person, then resume', () => {
  let server: FakeModelServer;
  let user: TestUser | null;
  let stateDir: string;
  const runs: OrchestrateRun[] = [];

  beforeAll(async () => {
    server = await startFakeModelServer();
    user = ensureTestUser();
    assertUserCanRunCli(user);
    // The fake agent's memory: outside the run folder (made later, by the harness), writable by the run's user.
    stateDir = makeRunDir('fake-agent-state');
    chownTree(stateDir, user);
  });
  afterAll(async () => {
    killKeptAgents();
    await server?.close();
    for (const run of runs) removeOrchestrateRun(run);
    if (stateDir) removeRunDir(stateDir);
  });

  it('its agent (in bwrap, behind its network proxy) lives on for the resume, which answers it once', async () => {
    const spec: SessionSpecInput = {
      task: 'Run `touch kept.txt`.',
      sandbox: 'bwrap',
      workers: [{ id: 'impl', agent: 'claude', role: 'implementer', mode: 'interactive' }],
      reviews: [],
      permissions: { ask: ['Bash(touch kept.txt)'] },
      limits: { stallTimeoutSec: 90, workerTimeoutSec: 150, killGraceMs: 1_000 },
    };
    const env = {
      ...fakeAgentVars(stateDir, { claude: { commands: [{ command: 'touch kept.txt', creates: 'kept.txt' }] } }),
      ORCHESTRATOR_SANDBOX_WRITABLE: stateDir,
    };
    const first = startOrchestrate(server, { task: spec.task, spec, user, env, keepAgents: true });
    // No kill -9 to race: the run ends by itself, and only then is anything looked at.
    const ended = await first.finished;
    const why = describeOrchestrate(ended);
    expect(ended.exitCode, why).toBe(2);
    expect(
      ofType(ended.events, 'blocker').map((b) => b.kind),
      why,
    ).toEqual(['PERMISSION_REQUEST']);
    // Its agent waits for the answer: the fake agent, its stdin relay and its proxy are alive, and were not killed.
    expect(
      ended.leftovers.some((p) => p.includes('fake-agent.mjs')),
      why,
    ).toBe(true);
    expect(
      ended.leftovers.some((p) => p.includes('stdin-relay.js')),
      why,
    ).toBe(true);
    expect(
      ended.leftovers.some((p) => p.includes('net-proxy.js')),
      why,
    ).toBe(true);

    const sid = ended.events[0]?.sessionId ?? '';
    const resumed = first.resume(sid);
    const lock = join(first.workspace, 'sessions', sid, 'orchestrator.lock');
    await until(resumed, "the resumed run's server", () => {
      if (!existsSync(lock)) return false;
      const holder = JSON.parse(readFileSync(lock, 'utf8')) as { pid?: number; serverUrl?: string };
      return holder.pid === resumed.pid && holder.serverUrl !== undefined;
    });
    const resolved = await resumed.cli(['resolve', sid, 'b1', 'allow']);
    expect(resolved.code, resolved.stderr).toBe(0);
    const run = await resumed.finished;
    const resumedWhy = describeOrchestrate(run);
    runs.push(run);
    expect(run.exitCode, resumedWhy).toBe(0);
    // The one agent was taken up, not launched again, and got its answer once.
    expect(readLaunches(stateDir), resumedWhy).toHaveLength(1);
    expect(
      ofType(run.events, 'permission').map((e) => [e.decision, e.by]),
      resumedWhy,
    ).toEqual([
      ['ask', 'rule'],
      ['allow', 'person'],
    ]);
    // It ended of itself: the resumed run's end found nothing of it to collect.
    expect(run.leftovers, resumedWhy).toEqual([]);
  });
});
