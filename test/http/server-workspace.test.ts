/**
 * Servers sharing a workspace: one token per workspace (reused, never taken over), server.json naming a live
 * server (never overwritten while that server lives, replaced when stale), and listen failures as one-line
 * usage errors (`serve` on a port in use, or on a host it cannot bind).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { listenFailure, startCliServer } from '../../src/cli/serve.js';
import { createStyle } from '../../src/cli/style.js';
import { callServer } from '../../src/cli/control.js';
import { startServer, type RunningServer } from '../../src/http/server.js';
import { readTokenFile, workspaceToken } from '../../src/http/workspace-files.js';
import { SessionManager } from '../../src/runtime/session-manager.js';
import { readProcStat } from '../../src/actors/process-group.js';
import { makeHarness, removeTempDirs, tempDir, waitFor } from './helpers.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const harness = makeHarness();
const servers: RunningServer[] = [];
const children: ChildProcess[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) child.kill('SIGKILL');
  }
});
afterAll(() => removeTempDirs());

async function start(
  workspace: string,
  options: Partial<Parameters<typeof startServer>[0]> = {},
): Promise<RunningServer> {
  const server = await startServer({ manager: harness.manager, workspace, ...options });
  servers.push(server);
  return server;
}

const status = async (server: { url: string }, token: string) =>
  (await fetch(`${server.url}/api/v1/sessions`, { headers: { authorization: `Bearer ${token}` } })).status;
const fileToken = (workspace: string) => readFileSync(join(workspace, 'token'), 'utf8').trim();
const serverJson = (workspace: string) =>
  JSON.parse(readFileSync(join(workspace, 'server.json'), 'utf8')) as { pid: number; port: number; url: string };

/** The environment of a child orchestrate: no token from ours, no colors. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.ORCHESTRATOR_TOKEN;
  return env;
}

/** A process that just lives (a stand-in for another orchestrator), or one that already exited. */
function sleeper(): ChildProcess {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' });
  children.push(child);
  return child;
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** `orchestrate <args>` from dist (built before the tests run), with its output collected. */
function orchestrate(args: string[]) {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const out = { stdout: '', stderr: '' };
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out.stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (out.stderr += d));
  return { child, out, exited: exited(child) };
}

describe('one token per workspace', () => {
  it('a second server of the workspace reuses the token file: both accept the token the file holds', async () => {
    const ws = tempDir('ws-shared');
    const first = await start(ws);
    const second = await start(ws);
    expect(second.token).toBe(first.token);
    expect(fileToken(ws)).toBe(first.token);
    expect(statSync(join(ws, 'token')).mode & 0o777).toBe(0o600);
    expect(await status(first, fileToken(ws))).toBe(200);
    expect(await status(second, fileToken(ws))).toBe(200);
    // A later start (after both closed) keeps it too: the token lives as long as the file.
    await Promise.all(servers.splice(0).map((s) => s.close()));
    expect((await start(ws)).token).toBe(first.token);
  });

  it('the first server works on after another (`orchestrate serve`, then in-process) started and stopped', async () => {
    const ws = tempDir('ws-cli');
    const serve = orchestrate(['serve', '--workspace', ws, '--port', '0']);
    const url = await waitFor(
      () => /Dashboard: (http:\/\/127\.0\.0\.1:\d+)\//.exec(serve.out.stdout)?.[1],
      'the serve URL on stdout',
      30_000,
    );
    const token = fileToken(ws);
    expect(serverJson(ws)).toMatchObject({ pid: serve.child.pid, url });

    const second = await start(ws);
    expect(second.token).toBe(token);
    expect(second.sharedWith).toMatchObject({ pid: serve.child.pid, url });
    expect(serverJson(ws)).toMatchObject({ pid: serve.child.pid, url });
    await second.close();
    expect(serverJson(ws)).toMatchObject({ pid: serve.child.pid, url });

    // What the CLI does to reach a session's server: the token file, then the API.
    expect(await status({ url }, fileToken(ws))).toBe(200);
    expect(await callServer({ url, token: fileToken(ws) }, 'GET', '/api/v1/sessions')).toEqual({ sessions: [] });

    serve.child.kill('SIGTERM');
    expect((await serve.exited).code).toBe(0);
    expect(existsSync(join(ws, 'server.json'))).toBe(false);
    expect(fileToken(ws)).toBe(token);
  });

  it('an invalid token file is replaced by a new token (mode, content, symlink, not a file)', () => {
    const warnings: string[] = [];
    const logger = { warn: (m: string) => warnings.push(m) };

    const loose = tempDir('ws-mode');
    writeFileSync(join(loose, 'token'), 'readable-by-all-0123456789\n');
    chmodSync(join(loose, 'token'), 0o644);
    expect(readTokenFile(join(loose, 'token'))).toEqual({
      status: 'invalid',
      reason: expect.stringMatching(/mode 0644/),
    });
    const fresh = workspaceToken(loose, undefined, logger);
    expect(fresh.token).not.toBe('readable-by-all-0123456789');
    expect(fresh.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(fileToken(loose)).toBe(fresh.token);
    expect(statSync(join(loose, 'token')).mode & 0o777).toBe(0o600);
    expect(warnings.at(-1)).toMatch(/not usable \(its mode 0644 .*\): replaced by a new token/);

    const garbage = tempDir('ws-garbage');
    writeFileSync(join(garbage, 'token'), 'has spaces in it\n', { mode: 0o600 });
    expect(workspaceToken(garbage, undefined, logger).token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const empty = tempDir('ws-empty');
    writeFileSync(join(empty, 'token'), '', { mode: 0o600 });
    expect(workspaceToken(empty, undefined, logger).token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const linked = tempDir('ws-link');
    const elsewhere = join(tempDir('elsewhere'), 'secret');
    writeFileSync(elsewhere, 'somebody-elses-token\n', { mode: 0o600 });
    symlinkSync(elsewhere, join(linked, 'token'));
    expect(readTokenFile(join(linked, 'token'))).toEqual({ status: 'invalid', reason: 'it is a symbolic link' });
    const replaced = workspaceToken(linked, undefined, logger);
    expect(replaced.token).not.toBe('somebody-elses-token');
    expect(statSync(join(linked, 'token')).isFile()).toBe(true);
    expect(readFileSync(elsewhere, 'utf8')).toBe('somebody-elses-token\n');

    const dir = tempDir('ws-dir');
    mkdirSync(join(dir, 'token'));
    expect(readTokenFile(join(dir, 'token'))).toEqual({ status: 'invalid', reason: 'it is not a regular file' });
  });

  it('a valid token file (0600, ours, well-formed) is kept as it is', () => {
    const ws = tempDir('ws-valid');
    writeFileSync(join(ws, 'token'), 'a-token-written-earlier_0123\n', { mode: 0o600 });
    expect(workspaceToken(ws, undefined)).toEqual({ token: 'a-token-written-earlier_0123', inFile: true });
    expect(readFileSync(join(ws, 'token'), 'utf8')).toBe('a-token-written-earlier_0123\n');
  });

  it('ORCHESTRATOR_TOKEN wins and goes to the file, unless that holds the token of another live server', async () => {
    const ws = tempDir('ws-env');
    const first = await start(ws);
    const warnings: string[] = [];
    // The file is the first server's token, and it runs: the given token is used but the file is left alone.
    const second = await start(ws, { token: 'given-token-0123456789', logger: { warn: (m) => warnings.push(m) } });
    expect(second.token).toBe('given-token-0123456789');
    expect(second.tokenFile).toBeNull();
    expect(fileToken(ws)).toBe(first.token);
    expect(warnings).toEqual([
      expect.stringMatching(
        /holds the token of the server http:\/\/127\.0\.0\.1:\d+ \(pid \d+\), which is still running/,
      ),
    ]);
    expect(await status(first, fileToken(ws))).toBe(200);
    expect(await status(second, 'given-token-0123456789')).toBe(200);

    // No server runs any more: the given token becomes the workspace's token.
    await Promise.all(servers.splice(0).map((s) => s.close()));
    const third = await start(ws, { token: 'given-token-0123456789' });
    expect(third.tokenFile).toBe(join(ws, 'token'));
    expect(fileToken(ws)).toBe('given-token-0123456789');
  });
});

describe('server.json names a live server', () => {
  it('is not overwritten while the server it names runs elsewhere, nor removed by one it does not name', async () => {
    const ws = tempDir('ws-other');
    const other = sleeper();
    await waitFor(() => readProcStat(other.pid as number), 'the other process');
    const theirs = {
      pid: other.pid,
      procStartTime: readProcStat(other.pid as number)?.startTime,
      host: '127.0.0.1',
      port: 1,
      url: 'http://127.0.0.1:1',
      startedAt: new Date().toISOString(),
    };
    writeFileSync(join(ws, 'server.json'), JSON.stringify(theirs));
    const server = await start(ws);
    expect(server.sharedWith).toMatchObject({ pid: other.pid, url: 'http://127.0.0.1:1' });
    expect(serverJson(ws)).toEqual(theirs);
    await server.close();
    expect(serverJson(ws)).toEqual(theirs);
  });

  it('replaces a stale one: its process is gone, or its pid now belongs to another process', async () => {
    const ws = tempDir('ws-stale');
    const gone = sleeper();
    const pid = gone.pid as number;
    gone.kill('SIGKILL');
    await exited(gone);
    writeFileSync(
      join(ws, 'server.json'),
      JSON.stringify({ pid, host: '127.0.0.1', port: 1, url: 'http://127.0.0.1:1', startedAt: 'x' }),
    );
    const server = await start(ws);
    expect(server.sharedWith).toBeNull();
    expect(serverJson(ws)).toMatchObject({ pid: process.pid, port: server.port, url: server.url });
    await server.close();
    expect(existsSync(join(ws, 'server.json'))).toBe(false);

    const reused = sleeper();
    await waitFor(() => readProcStat(reused.pid as number), 'the process');
    writeFileSync(
      join(ws, 'server.json'),
      JSON.stringify({
        pid: reused.pid,
        procStartTime: '1',
        host: '127.0.0.1',
        port: 1,
        url: 'http://127.0.0.1:1',
        startedAt: 'x',
      }),
    );
    const again = await start(ws);
    expect(again.sharedWith).toBeNull();
    expect(serverJson(ws)).toMatchObject({ pid: process.pid, port: again.port });
  });

  it('two servers in one process: the first keeps server.json; the second closing does not remove it', async () => {
    const ws = tempDir('ws-inproc');
    const first = await start(ws);
    const second = await start(ws);
    expect(second.sharedWith).toMatchObject({ pid: process.pid, port: first.port });
    expect(serverJson(ws)).toMatchObject({ port: first.port });
    await second.close();
    expect(serverJson(ws)).toMatchObject({ port: first.port });
    await first.close();
    expect(existsSync(join(ws, 'server.json'))).toBe(false);
  });
});

describe('listen failures are usage errors', () => {
  const style = createStyle(false);

  it('a port in use: one line that says what to do', async () => {
    const busy = await start(tempDir('ws-busy'));
    const manager = new SessionManager({ workspace: tempDir('ws-second') });
    const failed = startCliServer(manager, { server: true, port: busy.port, host: '127.0.0.1' }, style);
    await expect(failed).rejects.toMatchObject({
      name: 'UsageError',
      message:
        `127.0.0.1:${busy.port} is in use (another orchestrate serve?); ` +
        `choose another --port, or --port 0 for any free port`,
    });
  });

  it('a host that is not an address of this machine', async () => {
    const manager = new SessionManager({ workspace: tempDir('ws-host') });
    await expect(startCliServer(manager, { server: true, port: 0, host: '192.0.2.1' }, style)).rejects.toMatchObject({
      name: 'UsageError',
      message: expect.stringMatching(
        new RegExp(
          String.raw`^cannot listen on 192\.0\.2\.1: it is not an address of this machine \(EADDRNOTAVAIL\); ` +
            'pass an address of this machine to --host',
        ),
      ),
    });
  });

  it('maps the errors of listen and getaddrinfo; anything else is not its business', () => {
    const error = (code: string, syscall: string) => Object.assign(new Error(`${syscall} ${code}`), { code, syscall });
    expect(listenFailure(error('ENOTFOUND', 'getaddrinfo'), '999.1.1.1', 0)).toBe(
      'cannot listen on 999.1.1.1: no such host or address (ENOTFOUND); ' +
        'pass an address of this machine to --host (default 127.0.0.1)',
    );
    expect(listenFailure(error('EADDRINUSE', 'listen'), '::1', 7420)).toMatch(/^\[::1\]:7420 is in use/);
    expect(listenFailure(error('EACCES', 'listen'), '127.0.0.1', 80)).toMatch(
      /^cannot listen on 127\.0\.0\.1:80: permission denied \(ports below 1024 need privileges\)/,
    );
    expect(listenFailure(error('EMFILE', 'listen'), '127.0.0.1', 1)).toBe(
      'cannot listen on 127.0.0.1:1: listen EMFILE',
    );
    expect(listenFailure(error('ENOENT', 'open'), '127.0.0.1', 1)).toBeNull();
    expect(listenFailure('not an error', '127.0.0.1', 1)).toBeNull();
  });

  it('`orchestrate serve` on a port in use or a host it cannot bind: exit 1, one line, no stack trace', async () => {
    const busy = await start(tempDir('ws-busy2'));
    const inUse = orchestrate(['serve', '--workspace', tempDir('ws-cli2'), '--port', String(busy.port)]);
    expect((await inUse.exited).code).toBe(1);
    expect(inUse.out.stderr).toBe(
      `error: 127.0.0.1:${busy.port} is in use (another orchestrate serve?); ` +
        `choose another --port, or --port 0 for any free port\n`,
    );

    const badHost = orchestrate(['serve', '--workspace', tempDir('ws-cli3'), '--port', '0', '--host', '192.0.2.1']);
    expect((await badHost.exited).code).toBe(1);
    expect(badHost.out.stderr).toMatch(
      /^error: cannot listen on 192\.0\.2\.1: it is not an address of this machine \(EADDRNOTAVAIL\); [^\n]*\n$/,
    );
  });
});
