/**
 * Controlling a session from another process (src/cli/control.ts): the lock names the server, and a server that
 * cannot be reached is told apart from a session that ended while the command was on its way. A session that
 * ends lets go of its lock, then closes its server: a command that read the lock just before finds nothing
 * listening, and must say that the session is no longer running, not that the server is unreachable.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { controlSession, resolveBlocker } from '../../src/cli/control.js';
import { acquireLock, releaseLock } from '../../src/store/lock.js';

const SID = 'orch_20261121_093000_ab12';
let workspace: string;
let sessionDir: string;
let server: Server | null = null;

beforeEach(() => {
  workspace = mkdtempSync(join(tmpdir(), 'orch-control-'));
  sessionDir = join(workspace, 'sessions', SID);
  mkdirSync(sessionDir, { recursive: true });
  writeFileSync(join(sessionDir, 'session.json'), '{}\n');
  writeFileSync(join(workspace, 'token'), 'control-test-token\n');
});

afterEach(async () => {
  releaseLock(sessionDir);
  if (server?.listening) await new Promise((done) => server?.close(done));
  server = null;
  rmSync(workspace, { recursive: true, force: true });
});

/** A TCP port that takes a request, calls `onRequest` and cuts the connection without an answer. */
async function listen(onRequest: () => void): Promise<string> {
  server = createServer((socket) => {
    // (Cut before the request arrives, Node 20's fetch never settles: once it is in, it fails as it should.)
    socket.once('data', () => {
      onRequest();
      socket.destroy();
    });
  });
  await new Promise<void>((done) => server?.listen(0, '127.0.0.1', done));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return `http://127.0.0.1:${address.port}`;
}

/** The way a session's end looks from outside: the lock let go of, then the server closed. */
function endTheSession(): void {
  releaseLock(sessionDir);
  server?.close();
}

describe('a session whose server cannot be reached', () => {
  it('ended while `pause` was on its way (the lock let go of): says it is no longer running', async () => {
    const url = await listen(endTheSession);
    acquireLock(sessionDir, SID, { serverUrl: url });
    const error = await controlSession(workspace, SID, 'pause', {}).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe(
      `session ${SID} is no longer running: orchestrator process ${process.pid} let go of it ` +
        `while pause was on its way to ${url}; \`orchestrate status ${SID}\` shows where it stands`,
    );
  });

  it('the same for the answer to a blocker', async () => {
    const url = await listen(endTheSession);
    acquireLock(sessionDir, SID, { serverUrl: url });
    await expect(resolveBlocker(workspace, SID, 'b1', 'retry')).rejects.toThrow(
      `session ${SID} is no longer running: ` +
        `orchestrator process ${process.pid} let go of it while the answer to b1 was on its way`,
    );
  });

  it('still held by its process: the server really is unreachable, and the error says so with the cause', async () => {
    const url = await listen(() => server?.close());
    acquireLock(sessionDir, SID, { serverUrl: url });
    await expect(controlSession(workspace, SID, 'resume', {})).rejects.toThrow(
      new RegExp(`^cannot reach the orchestrator server at ${url}: fetch failed`),
    );
    // Nothing listens at all now (ECONNREFUSED): the same.
    await expect(controlSession(workspace, SID, 'pause', {})).rejects.toThrow(/fetch failed \(ECONNREFUSED\)/);
  });
});
