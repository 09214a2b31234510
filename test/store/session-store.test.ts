/**
 * The session folder (src/store/session-store.ts) on a real disk: layout, the log opened with repair or
 * read-only, where each worker's output continues after a restart, atomic snapshots (hammered by a reader in
 * another process), launch records, and the lock that keeps two orchestrators off one session.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewEvent } from '../../src/domain/events.js';
import { SessionSpecSchema } from '../../src/domain/spec.js';
import {
  newSessionId,
  SESSION_ID_PATTERN,
  SessionLockedError,
  SessionNotFoundError,
  SessionStore,
  sessionsDir,
  SNAPSHOT_VERSION,
  type ProcRecord,
} from '../../src/store/session-store.js';
import { writeFileAtomic } from '../../src/fs/atomic.js';
import { poll } from '../support/poll.js';

const spec = SessionSpecSchema.parse({
  task: 'fix the bug',
  workers: [{ id: 'impl', agent: 'claude', role: 'implementer' }],
});

let root: string;
let workspace: string;
const stores: SessionStore[] = [];
const children = new Set<ChildProcess>();

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'orch-store-'));
  workspace = join(root, 'workspace');
});

afterEach(() => {
  for (const store of stores.splice(0)) if (!store.log.isClosed) store.close();
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
  rmSync(root, { recursive: true, force: true });
});

function create(now = new Date()): SessionStore {
  const store = SessionStore.create(workspace, spec, join(root, 'target'), 'abc123', now);
  stores.push(store);
  return store;
}

function track(store: SessionStore): SessionStore {
  stores.push(store);
  return store;
}

function agentEvent(workerId: string, attempt: number, end: number): NewEvent {
  return {
    type: 'agent',
    source: { kind: 'worker', id: workerId },
    agent: 'claude',
    workerId,
    at: { attempt, end },
    kind: 'message',
    role: 'assistant',
    text: `up to ${end}`,
  };
}

function procRecord(attempt: number, pid = 4242): ProcRecord {
  return {
    attempt,
    pid,
    pgid: pid,
    startTime: '123456',
    stdoutStart: attempt * 100,
    stderrStart: 0,
    launchedAt: '2026-11-21T09:30:00.000Z',
    argv: ['/bin/agent', '--print', `try ${attempt}`],
  };
}

/** Run a tiny node script as a separate process; resolves once it printed `ready`. */
function runNode(
  script: string,
  args: string[] = [],
): Promise<{ child: ChildProcess; output: () => string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, ['-e', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      output += d;
      if (output.includes('ready')) resolve({ child, output: () => output, exited });
    });
    child.on('exit', (code) =>
      output.includes('ready') ? undefined : reject(new Error(`script exited ${code} before ready: ${output}`)),
    );
  });
}

/** Writes orchestrator.lock naming itself (pid + start time from /proc), like acquireLock, then lives `ms`. */
const LOCK_WRITER = `
const fs = require('node:fs');
const stat = fs.readFileSync('/proc/self/stat', 'utf8');
const startTime = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
fs.writeFileSync(
  process.argv[1] + '/orchestrator.lock',
  JSON.stringify({ pid: process.pid, startTime, serverUrl: 'http://127.0.0.1:9' }) + '\\n',
);
console.log('ready');
setTimeout(() => {}, Number(process.argv[2]));
`;

describe('a session id given by whoever queued it (a fleet runner)', () => {
  it('is the folder and the id; a malformed or taken one is refused', () => {
    const id = 'orch_20261207_120000_fl01';
    const store = track(SessionStore.create(workspace, spec, join(root, 'target'), null, new Date(), undefined, id));
    expect(store.sessionId).toBe(id);
    expect(SessionStore.readMeta(workspace, id).sessionId).toBe(id);
    expect(() => SessionStore.create(workspace, spec, root, null, new Date(), undefined, id)).toThrow(/already exists/);
    expect(() => SessionStore.create(workspace, spec, root, null, new Date(), undefined, '../x')).toThrow(
      /not a session id/,
    );
  });
});

describe('session folder', () => {
  it('create lays out session.json and agents/ under <workspace>/sessions/<id>', () => {
    const store = create(new Date(2026, 10, 21, 9, 30, 5));
    expect(store.sessionId).toMatch(SESSION_ID_PATTERN);
    expect(store.sessionId.startsWith('orch_20261121_093005_')).toBe(true);
    expect(store.dir).toBe(join(sessionsDir(workspace), store.sessionId));
    expect(existsSync(join(store.dir, 'agents'))).toBe(true);
    const meta = SessionStore.readMeta(workspace, store.sessionId);
    expect(meta).toMatchObject({
      version: 1,
      sessionId: store.sessionId,
      targetDir: join(root, 'target'),
      baseCommit: 'abc123',
    });
    expect(meta.spec.workers[0]?.id).toBe('impl');
    expect(store.agentFiles('impl')).toEqual({
      stdout: join(store.dir, 'agents', 'impl.stdout.jsonl'),
      stderr: join(store.dir, 'agents', 'impl.stderr.log'),
      procs: join(store.dir, 'agents', 'impl.proc.json'),
      exit: expect.any(Function),
      stdin: expect.any(Function),
      sent: expect.any(Function),
    });
    expect(store.agentFiles('impl').stdin(2)).toBe(join(store.dir, 'agents', 'impl.2.stdin'));
    expect(store.agentFiles('impl').exit(3)).toBe(join(store.dir, 'agents', 'impl.3.exit'));
    expect(SessionStore.agentFilesOf(workspace, store.sessionId, 'impl').stdout).toBe(store.agentFiles('impl').stdout);
  });

  it('session ids: orch_YYYYMMDD_HHMMSS_xxxx; list is newest first and ignores foreign folders', () => {
    expect(newSessionId(new Date(2026, 0, 2, 3, 4, 5))).toMatch(/^orch_20260102_030405_[a-z0-9]{4}$/);
    const older = create(new Date(2026, 10, 21, 9, 0, 0));
    const newer = create(new Date(2026, 10, 21, 10, 0, 0));
    writeFileSync(join(sessionsDir(workspace), 'README'), 'not a session');
    expect(SessionStore.list(workspace)).toEqual([newer.sessionId, older.sessionId]);
    expect(SessionStore.list(join(root, 'no-such-workspace'))).toEqual([]);
  });

  it('dirOf refuses ids that are not session ids (no path escapes) and sessions that do not exist', () => {
    create();
    for (const bad of ['../../etc', 'orch_20261121_093000_AB12', 'orch_x', '']) {
      expect(() => SessionStore.dirOf(workspace, bad)).toThrow(SessionNotFoundError);
    }
    expect(() => SessionStore.dirOf(workspace, 'orch_20261121_093000_zzzz')).toThrow(
      /no session orch_20261121_093000_zzzz/,
    );
    expect(() => SessionStore.open(workspace, 'orch_20261121_093000_zzzz')).toThrow(SessionNotFoundError);
  });
});

describe('event log of a session', () => {
  it('open repairs a torn last line and the session log continues gap-free', () => {
    const store = create();
    store.append([agentEvent('impl', 1, 10), agentEvent('impl', 1, 20)]);
    store.close();
    appendFileSync(join(store.dir, 'events.jsonl'), '{"seq":3,"ts":"2026');
    const reopened = track(SessionStore.open(workspace, store.sessionId));
    expect(reopened.repairedBytes).toBe('{"seq":3,"ts":"2026'.length);
    expect(reopened.append([agentEvent('impl', 1, 30)])[0]?.seq).toBe(3);
    expect(SessionStore.lastSeqOf(workspace, store.sessionId)).toBe(3);
  });

  it('openReadOnly repairs nothing, writes nothing and refuses to append', () => {
    const store = create();
    store.append([agentEvent('impl', 1, 10)]);
    appendFileSync(join(store.dir, 'events.jsonl'), '{"seq":2,"ts"');
    const size = statSync(join(store.dir, 'events.jsonl')).size;
    const reader = track(SessionStore.openReadOnly(workspace, store.sessionId));
    expect(reader.repairedBytes).toBe(0);
    expect(reader.log.lastSeq).toBe(1);
    expect(() => reader.append([agentEvent('impl', 1, 20)])).toThrow(/read-only/);
    reader.close();
    expect(statSync(join(store.dir, 'events.jsonl')).size).toBe(size);
  });

  it('lastLineEnd: per worker and attempt, the end of the last stdout line turned into events, also reopened', () => {
    const store = create();
    expect(store.lastLineEnd('impl', 1)).toBeUndefined();
    store.append([
      agentEvent('impl', 1, 10),
      agentEvent('impl', 1, 25),
      agentEvent('impl', 2, 40),
      agentEvent('other', 1, 7),
    ]);
    // Several events of one line share its end; an older end never moves the mark back.
    store.append([agentEvent('impl', 1, 25), agentEvent('impl', 1, 5)]);
    expect(store.lastLineEnd('impl', 1)).toBe(25);
    expect(store.lastLineEnd('impl', 2)).toBe(40);
    expect(store.lastLineEnd('other', 1)).toBe(7);
    store.append([
      {
        type: 'state',
        source: { kind: 'worker', id: 'impl' },
        machine: 'worker',
        id: 'impl',
        from: 'a',
        to: 'b',
        cause: 'x',
      },
    ]);
    store.close();
    const reopened = track(SessionStore.open(workspace, store.sessionId));
    expect(reopened.lastLineEnd('impl', 1)).toBe(25);
    expect(reopened.lastLineEnd('impl', 2)).toBe(40);
    expect(reopened.lastLineEnd('other', 1)).toBe(7);
    expect(reopened.lastLineEnd('impl', 3)).toBeUndefined();
  });
});

describe('output facts already in the log (for a re-attached agent)', () => {
  it("folds each attempt's agent events read at open, hands them over once, and ignores events appended later", () => {
    const store = create();
    store.append([
      {
        type: 'agent',
        source: { kind: 'worker', id: 'impl' },
        agent: 'claude',
        workerId: 'impl',
        at: { attempt: 1, end: 10 },
        kind: 'init',
        agentSessionId: 'sess-1',
        model: 'm',
      },
      agentEvent('impl', 1, 20),
      agentEvent('impl', 2, 30),
    ]);
    store.close();
    const reopened = track(SessionStore.open(workspace, store.sessionId));
    reopened.append([agentEvent('impl', 3, 40)]);
    const first = reopened.takeOpenedFacts('impl', 1);
    expect(first?.facts()).toMatchObject({ agentSessionId: 'sess-1', lineCount: 2 });
    expect(reopened.takeOpenedFacts('impl', 1)).toBeUndefined();
    expect(reopened.takeOpenedFacts('impl', 2)?.lineCount).toBe(1);
    expect(reopened.takeOpenedFacts('impl', 3)).toBeUndefined();
    expect(reopened.takeOpenedFacts('other', 1)).toBeUndefined();
  });
});

describe('snapshot.json', () => {
  it('round-trips with the seq it reflects; readSnapshotOf reads it without opening the log', () => {
    const store = create();
    expect(store.readSnapshot()).toBeNull();
    expect(SessionStore.readSnapshotOf(workspace, store.sessionId)).toBeNull();
    store.append([agentEvent('impl', 1, 10), agentEvent('impl', 1, 20)]);
    store.writeSnapshot({ value: 'running', context: { n: 1 } });
    const persisted = store.readSnapshot();
    expect(persisted).toMatchObject({
      version: SNAPSHOT_VERSION,
      seq: 2,
      snapshot: { value: 'running', context: { n: 1 } },
    });
    expect(Date.parse(persisted?.savedAt ?? '')).not.toBeNaN();
    expect(SessionStore.readSnapshotOf(workspace, store.sessionId)?.seq).toBe(2);
    store.writeSnapshot({ value: 'done' }, 7);
    expect(store.readSnapshot()?.seq).toBe(7);
  });

  it('refuses a snapshot of another format version, saying which', () => {
    const store = create();
    writeFileSync(join(store.dir, 'snapshot.json'), JSON.stringify({ version: 99, seq: 1, savedAt: '', snapshot: {} }));
    expect(() => store.readSnapshot()).toThrow(/version 99.*reads version 1/);
  });

  it('is replaced atomically: a reader in another process never sees partial JSON; no temp file is left', async () => {
    const store = create();
    const path = join(store.dir, 'snapshot.json');
    store.writeSnapshot({ n: 0, pad: '' });
    const reader = await runNode(
      `
const fs = require('node:fs');
const [path, doneFile] = process.argv.slice(1);
let reads = 0, bad = 0, last = -1, backwards = 0;
console.log('ready');
for (;;) {
  // Look for the writer's "done" before reading, so the last read sees its last write.
  const finished = fs.existsSync(doneFile);
  let text;
  try { text = fs.readFileSync(path, 'utf8'); } catch (e) { bad++; continue; }
  reads++;
  try { const n = JSON.parse(text).snapshot.n; if (n < last) backwards++; last = n; } catch { bad++; }
  if (finished) break;
}
console.log(JSON.stringify({ reads, bad, backwards, last }));
`,
      [path, join(root, 'done')],
    );
    // Writes of very different sizes (a partial write of a big one would be visible as broken JSON).
    const started = Date.now();
    let n = 0;
    while (Date.now() - started < 1500 || n < 20) {
      n++;
      store.writeSnapshot({ n, pad: 'p'.repeat(n % 2 === 0 ? 200_000 : 10) });
    }
    writeFileSync(join(root, 'done'), '');
    expect(await reader.exited).toBe(0);
    const stats = JSON.parse(
      reader
        .output()
        .split('\n')
        .find((l) => l.startsWith('{')) ?? '{}',
    ) as { reads: number; bad: number; backwards: number; last: number };
    expect(stats.reads).toBeGreaterThan(20);
    expect(stats.bad).toBe(0);
    expect(stats.backwards).toBe(0);
    expect(stats.last).toBe(n);
    expect(readdirSync(store.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('writeFileAtomic keeps the requested mode and leaves only the final file', () => {
    const path = join(root, 'token');
    writeFileAtomic(path, 'secret\n', 0o600);
    expect(readFileSync(path, 'utf8')).toBe('secret\n');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    writeFileAtomic(path, 'other\n', 0o600);
    expect(readFileSync(path, 'utf8')).toBe('other\n');
    expect(readdirSync(root).filter((f) => f.startsWith('token'))).toEqual(['token']);
  });
});

describe('launch records (agents/<worker>.proc.json)', () => {
  it('keeps one record per attempt: a rewrite of an attempt replaces it, other attempts stay', () => {
    const store = create();
    expect(store.readProcRecords('impl')).toEqual([]);
    store.writeProcRecord('impl', procRecord(1));
    store.writeProcRecord('impl', procRecord(2, 5555));
    store.writeProcRecord('impl', { ...procRecord(1), pid: 7777, pgid: 7777 });
    const records = store.readProcRecords('impl');
    expect(records.map((r) => [r.attempt, r.pid])).toEqual([
      [2, 5555],
      [1, 7777],
    ]);
    expect(store.readProcRecords('other')).toEqual([]);
    // pid, process group, start time (a reused pid has another) and where this attempt's output starts.
    expect(Object.keys(records[0] ?? {}).sort()).toEqual([
      'argv',
      'attempt',
      'launchedAt',
      'pgid',
      'pid',
      'startTime',
      'stderrStart',
      'stdoutStart',
    ]);
    expect(readdirSync(join(store.dir, 'agents')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses a corrupt record file instead of guessing', () => {
    const store = create();
    writeFileSync(store.agentFiles('impl').procs, JSON.stringify([{ attempt: 1, pid: 'nope' }]));
    expect(() => store.readProcRecords('impl')).toThrow();
  });
});

describe('orchestrator.lock', () => {
  it('names this process (pid and start time); release removes it; acquiring twice in one process is fine', () => {
    const store = create();
    store.acquireLock({ serverUrl: 'http://127.0.0.1:1234' });
    const holder = SessionStore.lockHolder(store.dir);
    const stat = readFileSync('/proc/self/stat', 'utf8');
    expect(holder).toEqual({
      pid: process.pid,
      startTime: stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19],
      host: hostname(),
      serverUrl: 'http://127.0.0.1:1234',
    });
    expect(() => store.acquireLock()).not.toThrow();
    store.releaseLock();
    expect(existsSync(join(store.dir, 'orchestrator.lock'))).toBe(false);
    expect(SessionStore.lockHolder(store.dir)).toBeNull();
  });

  it('a lock held by another live process is refused, naming that process and its server', async () => {
    const store = create();
    const other = await runNode(LOCK_WRITER, [store.dir, '60000']);
    const pid = other.child.pid as number;
    expect(SessionStore.lockHolder(store.dir)?.pid).toBe(pid);
    let error: unknown;
    try {
      store.acquireLock();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SessionLockedError);
    expect((error as SessionLockedError).holder.pid).toBe(pid);
    expect((error as Error).message).toContain(`orchestrator process ${pid} (server http://127.0.0.1:9)`);
    // Releasing is only for the holder: our release leaves the other process's lock alone.
    store.releaseLock();
    expect(SessionStore.lockHolder(store.dir)?.pid).toBe(pid);

    // Killed with -9 (no cleanup): its lock is now stale and taken over.
    other.child.kill('SIGKILL');
    await other.exited;
    expect(existsSync(join(store.dir, 'orchestrator.lock'))).toBe(true);
    expect(SessionStore.lockHolder(store.dir)).toBeNull();
    store.acquireLock();
    expect(SessionStore.lockHolder(store.dir)?.pid).toBe(process.pid);
  });

  it('a lock of a process that exited is stale and taken over', async () => {
    const store = create();
    const shortLived = await runNode(LOCK_WRITER, [store.dir, '0']);
    await shortLived.exited;
    expect(existsSync(join(store.dir, 'orchestrator.lock'))).toBe(true);
    expect(SessionStore.lockHolder(store.dir)).toBeNull();
    store.acquireLock();
    expect(SessionStore.lockHolder(store.dir)?.pid).toBe(process.pid);
  });

  it('a lock held by a dead but not yet reaped process (zombie) is stale', async () => {
    const store = create();
    // The lock writer exits at once; its parent (`sh` exec'ed into `sleep`) never reaps it: a zombie.
    const parent = spawn(
      '/bin/sh',
      ['-c', `"${process.execPath}" -e "$0" "$1" 0 & exec sleep 30`, LOCK_WRITER, store.dir],
      { stdio: 'ignore' },
    );
    children.add(parent);
    const zombie = await poll(
      () => {
        if (!existsSync(join(store.dir, 'orchestrator.lock'))) return null;
        const { pid } = JSON.parse(readFileSync(join(store.dir, 'orchestrator.lock'), 'utf8')) as { pid: number };
        try {
          return readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ') ? pid : null;
        } catch {
          return null;
        }
      },
      5000,
      'the lock writer, a zombie',
    );
    expect(zombie).toBeGreaterThan(0);
    expect(SessionStore.lockHolder(store.dir)).toBeNull();
  });

  it('a live pid with another start time (the pid was reused) does not hold the lock', () => {
    const store = create();
    writeFileSync(join(store.dir, 'orchestrator.lock'), `${JSON.stringify({ pid: process.ppid, startTime: '1' })}\n`);
    expect(SessionStore.lockHolder(store.dir)).toBeNull();
    writeFileSync(join(store.dir, 'orchestrator.lock'), 'not json');
    expect(SessionStore.lockHolder(store.dir)).toBeNull();
    store.acquireLock();
    expect(SessionStore.lockHolder(store.dir)?.pid).toBe(process.pid);
  });
});
