/**
 * `orchestrate serve --resume-all`: after the orchestrator of a session died (kill -9), a server started on the
 * workspace picks up every unfinished session (SessionManager.unfinished, then resume) and runs it to its end;
 * a session that had already completed is left alone. The real CLI (dist/cli.js) with fake agents:
 *   - the killed session is resumed by the server (it prints `resumed <id>`, holds the session lock with its
 *     URL, lists it as live in its API), its agent re-attached, and it completes: events.jsonl seq 1..N, every
 *     agent stdout line became events exactly once, each actor's state events one chain, no double launch;
 *   - the completed session: not resumed, not live, events.jsonl and snapshot.json unchanged, nothing launched;
 *   - SIGINT (nothing running) or SIGTERM (a resumed session still running) ends the server with exit 0 and
 *     leaves no process behind: agents, their grandchildren and the server itself.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { groupMembers, isSameProcessAlive, readExitFile } from '../../src/actors/process-group.js';
import type { OrchestratorEvent } from '../../src/domain/events.js';
import type { SessionSpecInput } from '../../src/domain/spec.js';
import type { SessionSummary } from '../../src/runtime/session-manager.js';
import { SessionStore, type ProcRecord } from '../../src/store/session-store.js';
import {
  childPidsOf,
  cleanupAfterTest,
  eventsOfType,
  isAlive,
  launches,
  poll,
  processesMentioning,
  readEvents,
  runCli,
  sandboxWith,
  type Sandbox,
  sessionIds,
  startCli,
  type StartedCli,
} from '../support/orchestrate.js';
import {
  expectEveryLineExactlyOnce,
  expectNoDoubleLaunch,
  expectStateChains,
  folderView as view,
  peekEvents,
  procRecords,
  sessionDirOf as dirOf,
} from '../support/session-folder.js';

afterEach(cleanupAfterTest);

// --- reading a session folder ------------------------------------------------------------------------------

const agentEventCount = (events: OrchestratorEvent[], workerId: string) =>
  events.filter((e) => e.type === 'agent' && e.workerId === workerId).length;

const sessionState = (events: OrchestratorEvent[]) =>
  eventsOfType(events, 'state')
    .filter((e) => e.machine === 'session')
    .at(-1)?.to;

// --- the scenario --------------------------------------------------------------------------------------------

const QUICK: SessionSpecInput = {
  task: 'already done',
  workers: [{ id: 'quick', agent: 'codex', role: 'implementer' }],
  sandbox: 'none',
};

async function kill9(orchestrator: StartedCli): Promise<void> {
  orchestrator.child.kill('SIGKILL');
  expect((await orchestrator.exited).signal).toBe('SIGKILL');
}

/**
 * A workspace with a session that completed (`quick`, codex) and one whose orchestrator was killed -9 while its
 * agent `slow` (claude, configured by `slowAgent`) ran. The fake's `rules` tell the two apart by agent.
 */
async function completedAndKilled(slowSpec: Partial<SessionSpecInput>, slowAgent: object, eventsBeforeKill: number) {
  const { sandbox, specPath, env } = sandboxWith(QUICK, { codex: { lines: 3, delayMs: 5 }, claude: slowAgent });
  const quick = await runCli(
    ['run', '--spec', specPath, '-C', sandbox.target, '--workspace', sandbox.workspace, '--no-server', '--json'],
    { env },
  );
  expect(quick.exitCode, quick.stderr).toBe(0);
  const [done] = sessionIds(sandbox.workspace) as [string];
  expect(view(sandbox, done).outcome).toBe('completed');

  const slowSpecPath = join(sandbox.dir, 'slow-spec.json');
  const spec: SessionSpecInput = {
    task: 'interrupted',
    workers: [{ id: 'slow', agent: 'claude', role: 'implementer' }],
    sandbox: 'none',
    ...slowSpec,
  };
  writeFileSync(slowSpecPath, JSON.stringify(spec));
  const run = startCli(
    ['run', '--spec', slowSpecPath, '-C', sandbox.target, '--workspace', sandbox.workspace, '--no-server', '--json'],
    env,
  );
  const killed = await poll(
    () =>
      sessionIds(sandbox.workspace).find(
        (sid) => sid !== done && existsSync(join(dirOf(sandbox, sid), 'session.json')),
      ),
    20_000,
    () => `the second session's folder; ${run.transcript()}`,
  );
  await poll(
    () => agentEventCount(peekEvents(sandbox, killed), 'slow') >= eventsBeforeKill,
    20_000,
    () => `slow printed ${eventsBeforeKill} events; ${run.transcript()}`,
  );
  await kill9(run);
  const [record] = procRecords(sandbox, killed, 'slow') as [ProcRecord];
  // The agent outlived its orchestrator; nothing has recorded the session's end.
  expect(isSameProcessAlive(record.pid, record.startTime)).toBe(true);
  expect(view(sandbox, killed).outcome).toBeNull();
  expect(SessionStore.lockHolder(dirOf(sandbox, killed))).toBeNull();
  return { sandbox, env, done, killed, record, killedAtSeq: peekEvents(sandbox, killed).length };
}

/** `orchestrate serve --resume-all --port 0`, once it printed its URL and went through the unfinished sessions. */
async function startServe(sandbox: Sandbox, env: Record<string, string>) {
  const serve = startCli(['serve', '--resume-all', '--port', '0', '--workspace', sandbox.workspace], env);
  await poll(
    () => serve.stdout().includes('Serving;'),
    20_000,
    () => `serve to start; ${serve.transcript()}`,
  );
  const dashboard = /Dashboard: (http:\/\/\S+)\/#token=(\S+)/.exec(serve.stdout());
  expect(dashboard, serve.transcript()).not.toBeNull();
  const url = dashboard?.[1] as string;
  const token = decodeURIComponent(dashboard?.[2] as string);
  const sessions = async (): Promise<SessionSummary[]> => {
    const response = await fetch(`${url}/api/v1/sessions`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    return ((await response.json()) as { sessions: SessionSummary[] }).sessions;
  };
  return { serve, url, sessions };
}

describe('orchestrate serve --resume-all', { timeout: 30_000 }, () => {
  it(
    'resumes the session whose orchestrator was killed -9 and runs it to completed; ' +
      'the completed session is not touched; SIGINT leaves nothing behind',
    async () => {
      // slow prints 60 lines 50 ms apart (~3 s): it is still printing when the server picks the session up.
      const { sandbox, env, done, killed, record, killedAtSeq } = await completedAndKilled(
        {},
        { lines: 60, delayMs: 50 },
        5,
      );
      const doneEvents = readFileSync(join(dirOf(sandbox, done), 'events.jsonl'), 'utf8');
      const doneSnapshot = SessionStore.readSnapshotOf(sandbox.workspace, done)?.snapshot;
      const launchesBefore = launches(sandbox).length;
      expect(launchesBefore).toBe(2);

      const { serve, url, sessions } = await startServe(sandbox, env);
      // Only the unfinished session was resumed, by this server, which names itself in the session's lock.
      expect(serve.stdout().match(/^resumed \S+$/gm)).toEqual([`resumed ${killed}`]);
      expect(serve.stderr()).not.toContain('skipped');
      const holder = SessionStore.lockHolder(dirOf(sandbox, killed));
      expect(holder?.pid).toBe(serve.child.pid);
      expect(holder?.serverUrl).toBe(url);
      const listed = await sessions();
      expect(listed.find((s) => s.sessionId === killed)?.live).toBe(true);
      expect(listed.find((s) => s.sessionId === done)).toMatchObject({ live: false, outcome: 'completed' });

      // The snapshot is written after the event that ends the session: wait for both.
      await poll(
        () =>
          sessionState(peekEvents(sandbox, killed)) === 'completed' && view(sandbox, killed).outcome === 'completed',
        20_000,
        () => `the resumed session to complete; ${serve.transcript()}`,
      );
      const events = readEvents(sandbox.workspace, killed);
      expect(events.length).toBeGreaterThan(killedAtSeq);
      expect(view(sandbox, killed).outcome).toBe('completed');
      expect(
        eventsOfType(events, 'state')
          .filter((e) => e.id === 'slow')
          .map((e) => e.to),
      ).toEqual(['spawned', 'running.active', 'completed']);
      expectStateChains(events);
      expect(eventsOfType(events, 'recovery')).toEqual([]);
      // The agent was re-attached, not launched again: one launch record, and what it printed after the kill became
      // events.
      expect(procRecords(sandbox, killed, 'slow')).toEqual([record]);
      expect(readExitFile(join(dirOf(sandbox, killed), 'agents', 'slow.1.exit'))).toEqual({
        exitCode: 0,
        signal: null,
      });
      expect(expectEveryLineExactlyOnce(sandbox, killed, events)).toBeGreaterThanOrEqual(60);
      expect(events.filter((e) => e.type === 'agent' && e.seq > killedAtSeq).length).toBeGreaterThan(0);
      expectNoDoubleLaunch(sandbox);
      expect(launches(sandbox)).toHaveLength(launchesBefore);

      // The completed session: byte for byte what it was.
      expect(readFileSync(join(dirOf(sandbox, done), 'events.jsonl'), 'utf8')).toBe(doneEvents);
      expect(SessionStore.readSnapshotOf(sandbox.workspace, done)?.snapshot).toEqual(doneSnapshot);
      expect(SessionStore.lockHolder(dirOf(sandbox, done))).toBeNull();

      serve.child.kill('SIGINT');
      const end = await serve.exited;
      expect(end.exitCode, serve.transcript()).toBe(0);
      expect(end.stderr).toContain('SIGINT: no session is running; exiting.');
      expect(sessionState(readEvents(sandbox.workspace, killed))).toBe('completed');
      expect(SessionStore.lockHolder(dirOf(sandbox, killed))).toBeNull();
      await poll(
        () => processesMentioning(sandbox.dir).length === 0,
        5_000,
        () => `nothing left running: ${processesMentioning(sandbox.dir).join(' ')}`,
      );
    },
  );

  it(
    'SIGTERM while a resumed session still runs stops it: ' +
      'the agent group and its grandchild end, the server exits 0, no process is left',
    async () => {
      const { sandbox, env, done, killed, record } = await completedAndKilled(
        { limits: { killGraceMs: 500 } },
        { lines: 2, holdMs: 120_000, spawnChild: true },
        3,
      );
      await poll(() => childPidsOf(sandbox).length === 1, 10_000, 'the agent spawned its child');
      const [grandchild] = childPidsOf(sandbox) as [number];
      expect(isAlive(grandchild)).toBe(true);

      const { serve, sessions } = await startServe(sandbox, env);
      expect(serve.stdout().match(/^resumed \S+$/gm)).toEqual([`resumed ${killed}`]);
      expect((await sessions()).find((s) => s.sessionId === killed)).toMatchObject({ live: true, outcome: null });
      await poll(
        () => view(sandbox, killed).workers[0]?.status === 'running',
        10_000,
        () => `slow running again; ${serve.transcript()}`,
      );

      serve.child.kill('SIGTERM');
      const end = await Promise.race([
        serve.exited,
        new Promise<null>((resolve) => setTimeout(() => resolve(null), 10_000)),
      ]);
      expect(end, `serve did not exit within 10 s after SIGTERM; ${serve.transcript()}`).not.toBeNull();
      expect(end?.exitCode, serve.transcript()).toBe(0);
      expect(end?.stderr).toContain('SIGTERM: stopping 1 running session(s)');

      expect(groupMembers(record.pgid)).toEqual([]);
      expect(isAlive(grandchild)).toBe(false);
      await poll(
        () => processesMentioning(sandbox.dir).length === 0,
        5_000,
        () => `nothing left running: ${processesMentioning(sandbox.dir).join(' ')}`,
      );
      const events = readEvents(sandbox.workspace, killed);
      expectStateChains(events);
      expect(sessionState(events)).toBe('stopped');
      expect(view(sandbox, killed)).toMatchObject({ outcome: 'stopped', stopReason: 'the server received SIGTERM' });
      expect(SessionStore.lockHolder(dirOf(sandbox, killed))).toBeNull();
      // Nothing was launched again, and the completed session stayed completed.
      expect(procRecords(sandbox, killed, 'slow')).toEqual([record]);
      expectNoDoubleLaunch(sandbox);
      expect(view(sandbox, done).outcome).toBe('completed');
    },
  );
});
