/** GET /api/v1/{sid}/diff, POST /api/v1/{sid}/apply and /discard, on a real git target with the fake agents. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SessionManager } from '../../../src/runtime/session-manager.js';
import { SessionSpecSchema } from '../../../src/domain/spec.js';
import { fakeAgentVars } from '../../support/fake-agent.js';
import { gitIn, makeRepo, writeFiles } from '../../support/git-repo.js';
import {
  call,
  HOLD,
  json,
  makeHarness,
  removeTempDirs,
  startSession,
  tempDir,
  testApp,
  type Harness,
} from '../helpers.js';

let harness: Harness | null = null;
afterEach(async () => {
  await harness?.cleanup();
  harness = null;
  removeTempDirs();
});

const TWO = SessionSpecSchema.parse({
  task: 'two files',
  workers: [
    { id: 'x', agent: 'claude', role: 'implementer' },
    { id: 'y', agent: 'codex', role: 'implementer' },
  ],
  sandbox: 'none',
});

/** A finished session on a git target whose workers wrote x.txt and y.txt. */
async function finished() {
  const workspace = tempDir('ws');
  const target = makeRepo({ 'README.md': '# target\n' }, join(tempDir('repo'), 'target'));
  const config = {
    claude: { writeFiles: [{ path: 'x.txt', content: 'x\n' }] },
    codex: { writeFiles: [{ path: 'y.txt', content: 'y\n' }] },
  };
  const manager = new SessionManager({
    workspace,
    env: { ...process.env, ...fakeAgentVars(tempDir('fake-state'), config) },
  });
  harness = { manager, workspace, target, cleanup: () => manager.stopAll('test cleanup') };
  const runtime = await manager.create(TWO, target);
  expect(await runtime.waitForEnd()).toBe('completed');
  return { app: testApp(harness), sid: runtime.sessionId, target };
}

describe("a session's changes over the API", () => {
  it("diff: files or unified diff, of the result or one worker's own; 404 unknown worker, 400 bad format", async () => {
    const { app, sid } = await finished();
    const files = await json<{
      ranges: Array<{ branch: string; worker: string | null }>;
      files: Array<Record<string, unknown>>;
      note: string | null;
    }>(await call(app, `/api/v1/${sid}/diff?format=files`));
    expect(files.ranges).toEqual([expect.objectContaining({ branch: `orch/${sid}/_result`, worker: null })]);
    expect(files.files).toEqual([
      { path: 'x.txt', status: 'added', additions: 1, deletions: 0, binary: false, worker: null },
      { path: 'y.txt', status: 'added', additions: 1, deletions: 0, binary: false, worker: null },
    ]);
    const unified = await call(app, `/api/v1/${sid}/diff?worker=x&format=unified`);
    expect(unified.status).toBe(200);
    expect(unified.headers.get('content-type')).toBe('text/x-diff; charset=utf-8');
    const text = await unified.text();
    expect(text).toContain('+++ b/x.txt');
    expect(text).not.toContain('y.txt');
    const unknown = await call(app, `/api/v1/${sid}/diff?worker=nobody`);
    expect(unknown.status).toBe(404);
    expect((await json(unknown)).error).toBe(`session ${sid} has no worker "nobody" (its workers: x, y)`);
    expect((await call(app, `/api/v1/${sid}/diff?format=html`)).status).toBe(400);
  }, 30_000);

  it('apply: the result lands in the checkout as uncommitted changes; ' +
    '--merge refused over uncommitted changes (409); discard after it', async () => {
    const { app, sid, target } = await finished();
    writeFiles(target, { 'x.txt': 'the user has one too\n' });
    const refused = await call(app, `/api/v1/${sid}/apply`, { body: { merge: true } });
    expect(refused.status).toBe(409);
    expect((await json(refused)).error).toMatch(/^apply --merge would touch files with uncommitted changes \(x\.txt\)/);
    expect((await call(app, `/api/v1/${sid}/apply`, { body: { worker: 'y', by: 'dashboard', extra: 1 } })).status).toBe(
      400,
    );
    const applied = await call(app, `/api/v1/${sid}/apply`, { body: { worker: 'y', by: 'dashboard' } });
    expect(applied.status).toBe(200);
    expect(await json(applied)).toMatchObject({
      mode: 'changes',
      conflicts: [],
      files: [{ path: 'y.txt', status: 'added' }],
      range: { worker: 'y' },
    });
    expect(readFileSync(join(target, 'y.txt'), 'utf8')).toBe('y\n');
    expect(readFileSync(join(target, 'x.txt'), 'utf8')).toBe('the user has one too\n');
    const discarded = await call(app, `/api/v1/${sid}/discard`, { body: {} });
    expect(discarded.status).toBe(200);
    expect((await json<{ refs: string[] }>(discarded)).refs).toContain(`refs/heads/orch/${sid}/_result`);
    expect(gitIn(target, 'for-each-ref', 'refs/orch', 'refs/heads/orch')).toBe('');
    const state = await json<{ workspace: { mode: string } }>(await call(app, `/api/v1/${sid}/state`));
    expect(state.workspace.mode).toBe('checkouts');
  }, 30_000);

  it("409 for what the session's state does not allow: " +
    'discard while it runs, apply before there is a result, anything of a session in place', async () => {
    harness = makeHarness(HOLD);
    const inPlace = await startSession(harness);
    const app = testApp(harness);
    const diff = await call(app, `/api/v1/${inPlace.sessionId}/diff`);
    expect(diff.status).toBe(409);
    expect((await json(diff)).error).toMatch(/worked in place \(.* is not a git repository/);
    const target = makeRepo({ 'a.txt': 'a\n' }, join(tempDir('repo'), 'target'));
    const running = await harness.manager.create(
      SessionSpecSchema.parse({
        task: 'hold',
        workers: [{ id: 'w1', agent: 'claude', role: 'implementer' }],
        sandbox: 'none',
      }),
      target,
    );
    const discard = await call(app, `/api/v1/${running.sessionId}/discard`, { body: { force: true } });
    expect(discard.status).toBe(409);
    expect((await json(discard)).error).toMatch(/is still running: stop it first/);
    const apply = await call(app, `/api/v1/${running.sessionId}/apply`, { body: {} });
    expect(apply.status).toBe(409);
    expect((await json(apply)).error).toMatch(/has no result to apply yet \(it is running\)/);
    expect(existsSync(join(target, '.git'))).toBe(true);
  }, 30_000);
});
