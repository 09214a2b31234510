/**
 * The agentProcess actor (src/actors/agent-process.ts) driven by a tiny XState parent, with the real process
 * host, a real SessionStore and the fake agent: launch, output persisted as events with `at` offsets, and
 * the restore paths after an orchestrator "crash" (the parent stopped without killing, the store closed and
 * reopened): re-attach to a live agent, collect one that exited meanwhile, report a lost one. The fake's
 * launches.jsonl proves nothing is launched twice; the stdout file proves no line is lost or doubled.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createActor, setup } from 'xstate';
import {
  createAgentProcessLogic,
  type AgentProcessCommand,
  type AgentProcessEvent,
  type AgentProcessInput,
} from '../../src/actors/agent-process.js';
import {
  groupMembers,
  isSameProcessAlive,
  readExitFile,
  readProcStat,
  signalGroup,
} from '../../src/actors/process-group.js';
import { getAdapter } from '../../src/agents/registry.js';
import type { OrchestratorEvent } from '../../src/domain/events.js';
import { SessionSpecSchema } from '../../src/domain/spec.js';
import { createProcessHost } from '../../src/runtime/process-host.js';
import { SessionStore, type ProcRecord } from '../../src/store/session-store.js';
import { groupStopped, poll } from '../support/orchestrate.js';

const FAKE_AGENT = fileURLToPath(new URL('../fixtures/fake-agent.mjs', import.meta.url));
const FOREVER = fileURLToPath(new URL('./fixtures/forever.mjs', import.meta.url));
const WORKER = 'impl';

let root: string;
let workspace: string;
let target: string;
let stateDir: string;
let sessionId: string;
const stores: SessionStore[] = [];
const parents: Array<{ stop(): void }> = [];
const groups = new Set<number>();

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'orch-agentproc-'));
  workspace = join(root, 'workspace');
  target = join(root, 'target');
  stateDir = join(root, 'state');
  mkdirSync(target);
  const spec = SessionSpecSchema.parse({
    task: 'do it',
    workers: [{ id: WORKER, agent: 'claude', role: 'implementer' }],
  });
  const store = SessionStore.create(workspace, spec, target, null);
  sessionId = store.sessionId;
  store.close();
});

afterEach(async () => {
  for (const parent of parents.splice(0)) parent.stop();
  for (const store of stores.splice(0)) if (!store.log.isClosed) store.close();
  for (const pgid of groups) signalGroup(pgid, 'SIGKILL');
  for (const pgid of groups) await poll(() => groupMembers(pgid).length === 0, 5000, `group ${pgid} gone`);
  groups.clear();
  rmSync(root, { recursive: true, force: true });
});

function groupRunning(pgid: number): boolean {
  const members = groupMembers(pgid);
  return members.length > 0 && members.every((m) => m.state !== 'T');
}

function openStore(): SessionStore {
  const store = SessionStore.open(workspace, sessionId);
  stores.push(store);
  return store;
}

function input(overrides: Partial<AgentProcessInput> = {}): AgentProcessInput {
  return {
    sessionId,
    workerId: WORKER,
    attempt: 1,
    agent: 'claude',
    launch: { targetDir: target, includeDirs: [], fixes: {}, readOnly: false },
    prompt: { kind: 'follow-up', text: 'do the task' },
    stallTimeoutMs: 60_000,
    timeLeftMs: null,
    killGraceMs: 2000,
    ...overrides,
  };
}

/** An orchestrator in miniature: a parent actor invoking agentProcess, over a freshly opened store. */
function orchestrator(scenario: object, actorInput = input(), env: Record<string, string> = {}) {
  const store = openStore();
  const host = createProcessHost(store, {
    env: {
      ...process.env,
      ORCHESTRATOR_CLAUDE_BIN: FAKE_AGENT,
      FAKE_AGENT_CONFIG: JSON.stringify({ claude: scenario }),
      FAKE_AGENT_STATE_DIR: stateDir,
      ...env,
    },
    publish: (events) => {
      store.append(events);
    },
  });
  const received: Array<AgentProcessEvent & { seqWhenReceived: number }> = [];
  const machine = setup({ actors: { agentProcess: createAgentProcessLogic(host) } }).createMachine({
    invoke: { id: 'process', src: 'agentProcess', input: actorInput },
    on: {
      '*': {
        actions: ({ event }) => {
          const e = event as AgentProcessEvent;
          if (e.type === 'PROCESS.STARTED') groups.add(e.pid);
          received.push({ ...e, seqWhenReceived: store.log.lastSeq });
        },
      },
    },
  });
  const parent = createActor(machine);
  parents.push(parent);
  parent.start();
  return {
    store,
    received,
    send: (command: AgentProcessCommand) =>
      (parent.getSnapshot().children as Record<string, { send(e: AgentProcessCommand): void }>).process?.send(command),
    /** The orchestrator dies: stop following (the actor's cleanup never kills), close the store. */
    crash: () => {
      parent.stop();
      store.close();
    },
    exited: () =>
      poll(
        () =>
          received.find((e) => e.type === 'PROCESS.EXITED') as
            | (Extract<AgentProcessEvent, { type: 'PROCESS.EXITED' }> & { seqWhenReceived: number })
            | undefined,
        20_000,
        'PROCESS.EXITED',
      ),
  };
}

function launches(): Array<{ pid: number; argv: string[] }> {
  const path = join(stateDir, 'launches.jsonl');
  return existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
    : [];
}

function files() {
  return SessionStore.agentFilesOf(workspace, sessionId, WORKER);
}

function stdoutLines(): number {
  const path = files().stdout;
  return existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l.trim()).length
    : 0;
}

function agentEvents(): Extract<OrchestratorEvent, { type: 'agent' }>[] {
  const path = join(SessionStore.dirOf(workspace, sessionId), 'events.jsonl');
  const events = readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as OrchestratorEvent);
  events.forEach((e, i) => expect(e.seq).toBe(i + 1));
  return events.filter((e): e is Extract<OrchestratorEvent, { type: 'agent' }> => e.type === 'agent');
}

/**
 * Every non-blank line of the attempt's stdout became events exactly once: for each line end offset there are
 * exactly as many events as the adapter makes of that line, in one contiguous run, in file order.
 */
function expectEveryLineOnce(attempt = 1): void {
  const record = readRecords().find((r) => r.attempt === attempt) as ProcRecord;
  const text = readFileSync(files().stdout).subarray(record.stdoutStart);
  const expected: Array<{ end: number; count: number }> = [];
  let offset = record.stdoutStart;
  for (const line of text.toString('utf8').split('\n')) {
    const end = offset + Buffer.byteLength(line) + 1;
    offset = end;
    if (line.trim() === '') continue;
    expected.push({
      end: Math.min(end, record.stdoutStart + text.length),
      count: Math.max(1, getAdapter('claude').parseLine(line).length),
    });
  }
  const events = agentEvents().filter((e) => e.at?.attempt === attempt);
  const runs: Array<{ end: number; count: number }> = [];
  for (const e of events) {
    const last = runs.at(-1);
    if (last && last.end === e.at?.end) last.count++;
    else runs.push({ end: e.at?.end as number, count: 1 });
  }
  expect(runs).toEqual(expected);
}

function readRecords(): ProcRecord[] {
  const path = files().procs;
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as ProcRecord[]) : [];
}

describe('agentProcess: one launch', () => {
  it('records the launch, persists each stdout line (with `at`) before telling the worker, exits ok', async () => {
    const o = orchestrator({ lines: 6, delayMs: 5 });
    const exit = await o.exited();
    expect(exit).toMatchObject({ attempt: 1, outcome: 'ok', exitCode: 0, signal: null, failure: null });
    expect(exit.facts.agentSessionId).toMatch(/.+/);

    const started = o.received[0];
    expect(started).toMatchObject({ type: 'PROCESS.STARTED', attempt: 1, reattached: false });
    const [record] = readRecords();
    expect(record).toMatchObject({
      attempt: 1,
      pid: started?.type === 'PROCESS.STARTED' ? started.pid : -1,
      stdoutStart: 0,
      stderrStart: 0,
    });
    expect(record?.pgid).toBe(record?.pid);
    expect(record?.startTime).toMatch(/^\d+$/);
    expect(record?.argv[0]).toBe(FAKE_AGENT);
    expect(readExitFile(files().exit(1))).toEqual({ exitCode: 0, signal: null });

    // The worker hears of output only once it is in the log.
    const outputs = o.received.filter((e) => e.type === 'PROCESS.OUTPUT');
    expect(outputs.length).toBeGreaterThan(0);
    for (const e of outputs) expect(e.seqWhenReceived).toBeGreaterThan(0);
    expect(launches()).toHaveLength(1);
    expectEveryLineOnce();
    expect(o.store.lastLineEnd(WORKER, 1)).toBe(readFileSync(files().stdout).length);
  });

  it('commands sent before the launch is recorded (prompt still rendering) are applied once it is', async () => {
    const o = orchestrator({ lines: 3, holdMs: 30_000 });
    o.send({ type: 'PROCESS.PAUSE' });
    const started = await poll(() => o.received.find((e) => e.type === 'PROCESS.STARTED'), 10_000, 'started');
    const pgid = (started as { pid: number }).pid;
    await poll(
      () => groupStopped(pgid),
      5000,
      () => `the group stopped: ${JSON.stringify(groupMembers(pgid))}`,
    );
  });

  it('PAUSE stops every member of the group, RESUME continues them, TERMINATE ends it: outcome stopped', async () => {
    const o = orchestrator({ lines: 2, holdMs: 60_000, spawnChild: true });
    const started = await poll(() => o.received.find((e) => e.type === 'PROCESS.STARTED'), 10_000, 'started');
    const pgid = (started as { pid: number }).pid;
    await poll(() => groupMembers(pgid).length === 3, 10_000, 'wrapper, agent and its child');
    o.send({ type: 'PROCESS.PAUSE' });
    await poll(
      () => groupStopped(pgid),
      5000,
      () => `all stopped: ${JSON.stringify(groupMembers(pgid))}`,
    );
    o.send({ type: 'PROCESS.RESUME' });
    await poll(() => groupRunning(pgid), 5000, 'all running');
    o.send({ type: 'PROCESS.TERMINATE' });
    const exit = await o.exited();
    expect(exit.outcome).toBe('stopped');
    expect(exit.failure).toBeNull();
    await poll(() => groupMembers(pgid).length === 0, 3000, 'the group gone');
  });

  // The group's SIGTERM kills the /bin/sh wrapper (the group leader) at once, also when the agent ignores it:
  // the wrapper's exit must not be taken for the agent's. (Found by this test: PROCESS.EXITED came while the
  // agent still ran, so a stopped session had a live agent and a stalled worker was relaunched beside it.)
  it('TERMINATE of an agent ignoring SIGTERM: PROCESS.EXITED once the group is gone (SIGKILL later)', async () => {
    const o = orchestrator(
      { lines: 2, holdMs: 60_000, spawnChild: true, ignoreSigterm: true },
      input({ killGraceMs: 1000 }),
    );
    const started = await poll(() => o.received.find((e) => e.type === 'PROCESS.STARTED'), 10_000, 'started');
    const pgid = (started as { pid: number }).pid;
    await poll(() => groupMembers(pgid).length === 3, 10_000, 'wrapper, agent and its child');
    o.send({ type: 'PROCESS.TERMINATE' });
    const exit = await o.exited();
    const leftWhenReported = groupMembers(pgid).map((m) => `${m.pid} ${m.comm} ${m.state}`);
    expect(exit.outcome).toBe('stopped');
    expect(leftWhenReported).toEqual([]);
  });

  it('no progress for stallTimeoutMs: the group is killed and the failure is `stalled`', async () => {
    const o = orchestrator({ fail: 'stall' }, input({ stallTimeoutMs: 600 }));
    const exit = await o.exited();
    expect(exit.outcome).toBe('failed');
    expect(exit.failure?.kind).toBe('stalled');
    const record = readRecords()[0] as ProcRecord;
    // (Right at PROCESS.EXITED an agent member may still be dying: see the TERMINATE product-bug test above.)
    await poll(() => groupMembers(record.pgid).length === 0, 3000, 'the group gone');
  });

  it('an agent binary that cannot run is `agent_not_found`, and nothing is launched', async () => {
    writeFileSync(join(root, 'not-executable'), 'text');
    const o = orchestrator({}, input(), { ORCHESTRATOR_CLAUDE_BIN: join(root, 'not-executable') });
    const exit = await o.exited();
    expect(exit.failure?.kind).toBe('agent_not_found');
    expect(exit.failure?.message).toContain('ORCHESTRATOR_CLAUDE_BIN');
    expect(readRecords()).toEqual([]);
  });
});

describe('agentProcess after an orchestrator crash (same input, new actor, store reopened)', () => {
  it('re-attaches to the live agent: no relaunch, on from the stored offset, no line lost or doubled', async () => {
    const first = orchestrator({ lines: 40, delayMs: 40 });
    await poll(() => agentEvents().length >= 5, 10_000, 'five agent events');
    const record = readRecords()[0] as ProcRecord;
    first.crash();
    const linesAtCrash = stdoutLines();
    // Nobody follows the agent now; it keeps printing.
    await poll(() => stdoutLines() >= linesAtCrash + 3, 10_000, 'the agent printed while the orchestrator was down');
    expect(isSameProcessAlive(record.pid, record.startTime)).toBe(true);
    const eventsBefore = agentEvents().length;

    const second = orchestrator({ lines: 40, delayMs: 40 });
    const started = await poll(() => second.received.find((e) => e.type === 'PROCESS.STARTED'), 5000, 're-attached');
    expect(started).toMatchObject({ attempt: 1, pid: record.pid, reattached: true });
    const exit = await second.exited();
    expect(exit).toMatchObject({ outcome: 'ok', exitCode: 0, failure: null });
    expect(agentEvents().length).toBeGreaterThan(eventsBefore);
    expect(launches()).toHaveLength(1);
    expect(readRecords()).toEqual([record]);
    expectEveryLineOnce();
  });

  it.each([
    ['succeeded', {}, 'ok', null],
    ['failed', { fail: 'server_error' }, 'failed', 'server_error'],
  ] as const)(
    'an agent that %s while the orchestrator was down: ' +
      'the rest of its output, then its recorded exit status, classified',
    async (_, extra, outcome, kind) => {
      const scenario = { lines: 12, delayMs: 40, ...extra };
      const first = orchestrator(scenario);
      await poll(() => first.received.some((e) => e.type === 'PROCESS.STARTED'), 10_000, 'started');
      first.crash();
      await poll(() => readExitFile(files().exit(1)), 10_000, 'the agent ended (exit file)');

      const second = orchestrator(scenario);
      const exit = await second.exited();
      expect(second.received.filter((e) => e.type === 'PROCESS.STARTED')).toEqual([]);
      expect(exit.outcome).toBe(outcome);
      expect(exit.failure?.kind ?? null).toBe(kind);
      // Its output was taken in before the exit was reported.
      expect(exit.seqWhenReceived).toBe(agentEvents().at(-1)?.seq);
      expect(launches()).toHaveLength(1);
      expectEveryLineOnce();
    },
  );

  it('lost: no exit status, its pid reused (start time differs): crashed; the other process left alone', async () => {
    const unrelated = spawn(process.execPath, [FOREVER], { stdio: 'ignore', detached: true });
    groups.add(unrelated.pid as number);
    const stat = await poll(() => readProcStat(unrelated.pid as number), 5000, 'the unrelated process');
    // A launch record of attempt 1 whose pid was since reused by `unrelated`.
    const store = openStore();
    store.writeProcRecord(WORKER, {
      attempt: 1,
      pid: stat.pid,
      pgid: stat.pid,
      startTime: String(Number(stat.startTime) - 1),
      stdoutStart: 0,
      stderrStart: 0,
      launchedAt: new Date().toISOString(),
      argv: [FAKE_AGENT],
    });
    writeFileSync(files().stdout, '');
    store.close();

    const o = orchestrator({});
    const exit = await o.exited();
    expect(exit.outcome).toBe('failed');
    expect(exit.failure).toMatchObject({ kind: 'crashed', exitCode: null, signal: null });
    expect(exit.failure?.message).toMatch(/ended while the orchestrator was not running and left no exit status/);
    expect(launches()).toEqual([]);
    expect(isSameProcessAlive(stat.pid, stat.startTime)).toBe(true);
    expect(readProcStat(stat.pid)?.state).not.toBe('T');
  });

  it('re-attached to a live agent, TERMINATE still ends its whole group (it is not our child)', async () => {
    const first = orchestrator({ lines: 2, holdMs: 60_000, spawnChild: true });
    const started = await poll(() => first.received.find((e) => e.type === 'PROCESS.STARTED'), 10_000, 'started');
    const pgid = (started as { pid: number }).pid;
    await poll(() => groupMembers(pgid).length === 3, 10_000, 'wrapper, agent and its child');
    first.crash();
    const second = orchestrator({ lines: 2, holdMs: 60_000, spawnChild: true });
    await poll(() => second.received.find((e) => e.type === 'PROCESS.STARTED'), 5000, 're-attached');
    second.send({ type: 'PROCESS.TERMINATE' });
    const exit = await second.exited();
    expect(exit.outcome).toBe('stopped');
    await poll(() => groupMembers(pgid).length === 0, 3000, 'the group gone');
    expect(launches()).toHaveLength(1);
  });

  it('re-attached to a SIGSTOPped (paused) agent, PROCESS.RESUME continues it', async () => {
    const first = orchestrator({ lines: 30, delayMs: 40 });
    const started = await poll(() => first.received.find((e) => e.type === 'PROCESS.STARTED'), 10_000, 'started');
    const pgid = (started as { pid: number }).pid;
    first.send({ type: 'PROCESS.PAUSE' });
    await poll(
      () => groupStopped(pgid),
      5000,
      () => `stopped: ${JSON.stringify(groupMembers(pgid))}`,
    );
    first.crash();

    const second = orchestrator({ lines: 30, delayMs: 40 });
    await poll(() => second.received.find((e) => e.type === 'PROCESS.STARTED'), 5000, 're-attached');
    expect(groupStopped(pgid)).toBe(true);
    second.send({ type: 'PROCESS.RESUME' });
    await poll(() => groupRunning(pgid), 2000, 'the agent continued');
  });

  // Same bug: the re-attached actor arms the stall timer although the agent is paused, so paused time counts.
  it('re-attached to a SIGSTOPped (paused) agent, the stall timer stands still', async () => {
    // Output for 12 s: however late the pause lands on a loaded machine, it lands on an agent at work.
    const first = orchestrator({ lines: 300, delayMs: 40 }, input({ stallTimeoutMs: 700 }));
    const started = await poll(() => first.received.find((e) => e.type === 'PROCESS.STARTED'), 10_000, 'started');
    const pgid = (started as { pid: number }).pid;
    first.send({ type: 'PROCESS.PAUSE' });
    await poll(
      () => groupStopped(pgid),
      5000,
      () => `stopped: ${JSON.stringify(groupMembers(pgid))}`,
    );
    first.crash();

    const second = orchestrator({ lines: 300, delayMs: 40 }, input({ stallTimeoutMs: 700 }));
    await poll(() => second.received.find((e) => e.type === 'PROCESS.STARTED'), 5000, 're-attached');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(second.received.filter((e) => e.type === 'PROCESS.EXITED')).toEqual([]);
    expect(groupMembers(pgid).length).toBeGreaterThan(0);
  });
});
