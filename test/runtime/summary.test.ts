/**
 * A listing's summary of a session on disk (src/runtime/summary.ts) is read from its snapshot and the header of its
 * session.json, without the spec's schema; it must say what the summary of the full view (src/runtime/view.ts)
 * says, for every kind of worker and blocker a snapshot holds.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SessionSpecSchema } from '../../src/domain/spec.js';
import { summariesOnDisk, summaryOnDisk } from '../../src/runtime/summary.js';
import { runnerOnDisk, summaryOf, viewOnDisk } from '../../src/runtime/view.js';
import { readSessionHeader } from '../../src/store/layout.js';
import { SessionStore } from '../../src/store/session-store.js';

const spec = SessionSpecSchema.parse({
  task: 'fix the bug\nand say why',
  workers: [
    { id: 'impl', agent: 'claude', role: 'implementer' },
    { id: 'docs', agent: 'gemini', role: 'implementer' },
    { id: 'check', agent: 'codex', role: 'verifier', dependsOn: ['impl'] },
    { id: 'extra', agent: 'claude', role: 'implementer' },
  ],
});

let root: string;
let workspace: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'orch-summary-'));
  workspace = join(root, 'workspace');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function entry(id: string, agent: string, status: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    agent,
    role: 'implementer',
    kind: 'worker',
    actorId: `worker-${id}`,
    incarnation: 1,
    status,
    started: status !== 'pending',
    attempt: 1,
    finalText: null,
    planDone: 0,
    reviewedAtPlanDone: 0,
    usage: {},
    agentSessionId: null,
    dependsOn: [],
    reason: null,
    pending: false,
    ...extra,
  };
}

function child(value: unknown, progress: number) {
  return {
    snapshot: {
      status: 'active',
      value,
      context: { progress, attempt: 1, usageByAttempt: {}, fixes: {}, filesChanged: [] },
    },
  };
}

/** A persisted session snapshot as the session actor writes it: the context's entries and the workers' actors. */
function persisted(outcome: string | null, value: unknown) {
  return {
    status: outcome ? 'done' : 'active',
    value,
    context: {
      workers: {
        impl: entry('impl', 'claude', 'running'),
        docs: entry('docs', 'gemini', 'skipped', { actorId: 'worker-docs-2' }),
        check: entry('check', 'codex', 'completed', { actorId: 'worker-check-gone' }),
        extra: entry('extra', 'claude', 'pending'),
        'r1-codex-impl': entry('r1-codex-impl', 'codex', 'running', {
          kind: 'reviewer',
          roundId: 'round-1',
          actorId: 'r1-codex-impl',
        }),
      },
      blockers: [
        { id: 'b1', kind: 'WORKER_FAILED', workerId: 'docs', message: 'x', action: 'y', open: true },
        { id: 'b2', kind: 'PERMISSION_REQUEST', workerId: 'impl', message: 'x', action: 'y', open: false },
        { id: 'b3', kind: 'AGENT_QUESTION', workerId: 'impl', message: 'x', action: 'y', open: true },
      ],
      rounds: [],
      outcome,
    },
    children: {
      'worker-impl': child({ running: 'paused' }, 0.4),
      'worker-docs-2': child('failed', 0.2),
      'r1-codex-impl': child({ running: 'active' }, 0.1),
    },
  };
}

function sessionWith(snapshot: unknown | null): string {
  const store = SessionStore.create(workspace, spec, join(root, 'target'), null);
  if (snapshot !== null) store.writeSnapshot(snapshot, 0);
  store.close();
  return store.sessionId;
}

describe('the summary of a session on disk', () => {
  it.each([
    ['before its first snapshot', null],
    ['running, with open blockers and workers in every state', persisted(null, { running: 'blocked' })],
    ['ended (its blockers are history)', persisted('escalated', 'escalated')],
  ])('is the summary of its full view: %s', (_what, snapshot) => {
    const sessionId = sessionWith(snapshot);
    const fromView = summaryOf(viewOnDisk(workspace, sessionId), false, runnerOnDisk(workspace, sessionId));
    expect(summaryOnDisk(workspace, sessionId)).toEqual(fromView);
  });

  it('counts what a person must answer and shows each worker as the view does', () => {
    const sessionId = sessionWith(persisted(null, { running: 'blocked' }));
    const summary = summaryOnDisk(workspace, sessionId);
    expect(summary).toMatchObject({ state: 'running.blocked', outcome: null, openBlockers: 2, live: false });
    expect(summary.workers.map((w) => [w.id, w.status, w.progress])).toEqual([
      ['impl', 'paused', 0.4],
      ['docs', 'skipped', 0.2],
      ['check', 'completed', 1],
      ['extra', 'pending', 0],
      ['r1-codex-impl', 'running', 0.1],
    ]);
  });

  it('lists every session newest first, as sessionsOnDisk does', () => {
    const first = sessionWith(null);
    const second = sessionWith(persisted('completed', 'completed'));
    const listed = summariesOnDisk(workspace);
    expect(listed.map((s) => s.sessionId).sort()).toEqual([first, second].sort());
    expect(listed).toEqual(
      listed.map((s) => summaryOf(viewOnDisk(workspace, s.sessionId), false, runnerOnDisk(workspace, s.sessionId))),
    );
  });
});

describe('the header of a session.json', () => {
  it('is its id, creation time, target and task', () => {
    const sessionId = sessionWith(null);
    expect(readSessionHeader(workspace, sessionId)).toEqual({
      sessionId,
      createdAt: expect.any(String),
      targetDir: join(root, 'target'),
      task: 'fix the bug\nand say why',
    });
  });

  it.each([
    ['not JSON', '{"version": 1,', /session\.json is not valid JSON: /],
    ['another version', '{"version": 2}', /session\.json is not a version 1 session file with a session id$/],
    ['without a task', null, /session\.json lacks its createdAt, targetDir or spec\.task$/],
  ])('refuses a file that is %s, in one line naming it', (_what, text, message) => {
    const sessionId = sessionWith(null);
    const path = join(workspace, 'sessions', sessionId, 'session.json');
    const content =
      text ?? JSON.stringify({ version: 1, sessionId, createdAt: 'now', targetDir: '/t', spec: { workers: [] } });
    writeFileSync(path, content);
    expect(() => readSessionHeader(workspace, sessionId)).toThrow(message);
    expect(() => summaryOnDisk(workspace, sessionId)).toThrow(message);
  });

  it('one that cannot be read keeps its error code (the CLI says it in one line)', () => {
    const sessionId = sessionWith(null);
    const path = join(workspace, 'sessions', sessionId, 'session.json');
    rmSync(path);
    mkdirSync(path);
    expect(() => readSessionHeader(workspace, sessionId)).toThrow(expect.objectContaining({ code: 'EISDIR' }));
  });
});
