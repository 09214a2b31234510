import { existsSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { dashboardUrl, startServer, type RunningServer } from '../../src/http/server.js';
import { makeHarness, removeTempDirs, tempDir } from './helpers.js';

const harness = makeHarness();
const servers: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  delete process.env.ORCHESTRATOR_TOKEN;
});
afterAll(() => removeTempDirs());

async function start(options: Partial<Parameters<typeof startServer>[0]> = {}): Promise<RunningServer> {
  const server = await startServer({ manager: harness.manager, workspace: harness.workspace, ...options });
  servers.push(server);
  return server;
}

/** A raw request, so that the Host header is what the test says. */
function rawGet(
  port: number,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers, agent: false, setHost: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('startServer', () => {
  it('listens on 127.0.0.1 with a random port and a random token', async () => {
    const server = await start();
    expect(server.host).toBe('127.0.0.1');
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(server.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const res = await fetch(`${server.url}/api/v1/sessions`, { headers: { authorization: `Bearer ${server.token}` } });
    expect(res.status).toBe(200);
    expect((await fetch(`${server.url}/api/v1/sessions`)).status).toBe(401);
  });

  it('writes the token 0600 and server.json into the workspace; close() removes server.json', async () => {
    const server = await start();
    const tokenPath = join(harness.workspace, 'token');
    expect(readFileSync(tokenPath, 'utf8')).toBe(`${server.token}\n`);
    expect(statSync(tokenPath).mode & 0o777).toBe(0o600);
    const info = JSON.parse(readFileSync(join(harness.workspace, 'server.json'), 'utf8'));
    expect(info).toMatchObject({ pid: process.pid, host: '127.0.0.1', port: server.port, url: server.url });
    expect(Date.parse(info.startedAt)).not.toBeNaN();
    await server.close();
    expect(existsSync(join(harness.workspace, 'server.json'))).toBe(false);
    expect(existsSync(tokenPath)).toBe(true);
    await server.close(); // twice is fine
  });

  it('takes the token from the option, else from ORCHESTRATOR_TOKEN', async () => {
    process.env.ORCHESTRATOR_TOKEN = 'from-the-environment-123';
    expect((await start()).token).toBe('from-the-environment-123');
    expect((await start({ token: 'from-the-option-456', workspace: tempDir('ws2') })).token).toBe(
      'from-the-option-456',
    );
    await expect(start({ token: 'has a space' })).rejects.toThrow(/the token must be/);
  });

  it('warns when bound to something other than loopback', async () => {
    const warnings: string[] = [];
    const server = await start({ host: '0.0.0.0', logger: { warn: (m) => warnings.push(m) } });
    expect(warnings).toEqual([expect.stringMatching(/^listening on 0\.0\.0\.0, not on loopback/)]);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    const quiet: string[] = [];
    await start({ workspace: tempDir('ws3'), logger: { warn: (m) => quiet.push(m) } });
    expect(quiet).toEqual([]);
  });

  it('refuses a rebinding Host and a foreign Origin over real HTTP', async () => {
    const server = await start();
    const auth = { authorization: `Bearer ${server.token}` };
    expect((await rawGet(server.port, '/api/v1/sessions', { ...auth, host: `localhost:${server.port}` })).status).toBe(
      200,
    );
    const rebinding = await rawGet(server.port, '/api/v1/sessions', {
      ...auth,
      host: `attacker.example:${server.port}`,
    });
    expect(rebinding.status).toBe(403);
    expect(JSON.parse(rebinding.body)).toEqual({
      error: `Host "attacker.example:${server.port}" is not this server; use http://127.0.0.1:${server.port}`,
    });
    const cross = await rawGet(server.port, '/api/v1/sessions', {
      ...auth,
      host: `127.0.0.1:${server.port}`,
      origin: 'http://attacker.example',
    });
    expect(cross.status).toBe(403);
  });

  it('fails to start on a port in use', async () => {
    const server = await start();
    await expect(start({ port: server.port, workspace: tempDir('ws4') })).rejects.toThrow(/EADDRINUSE/);
  });

  it('the dashboard URL carries the token in the fragment only', () => {
    expect(dashboardUrl('http://127.0.0.1:1', 'a+b/c')).toBe('http://127.0.0.1:1/#token=a%2Bb%2Fc');
  });
});
