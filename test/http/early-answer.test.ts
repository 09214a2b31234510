/**
 * Every request gets a complete answer, also those whose bytes the HTTP parser cannot take whole, on Node 20,
 * 22 and 24 alike:
 * - a DELETE or OPTIONS that carries a body its headers do not announce (Node's own client sends one without
 *   a Content-Length) is a complete request followed by stray bytes; Node 24's parser errors on those and reset
 *   the connection before the answer went out (read ECONNRESET in the reliability fuzz test);
 * - a request the parser refuses outright gets a JSON 400, not Node's bare status line.
 * Raw sockets: these requests are what a careless client sends, not what a well-behaved one would.
 */
import { connect } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/http/server.js';
import { makeHarness, removeTempDirs, tempDir } from './helpers.js';

const harness = makeHarness();
const servers: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(() => removeTempDirs());

/** Send raw bytes, read until the server closes: the whole answer, or the socket error that cut it. */
function raw(
  port: number,
  head: string,
  body: Buffer = Buffer.alloc(0),
): Promise<{ answer: string; error: string | null }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    let error: string | null = null;
    socket.on('connect', () => {
      socket.write(head);
      socket.end(body);
    });
    socket.on('data', (d) => (answer += d.toString('latin1')));
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.on('close', () => resolve({ answer, error }));
  });
}

function parse(answer: string): { status: number; headers: string; body: string } {
  const end = answer.indexOf('\r\n\r\n');
  return {
    status: Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0),
    headers: answer.slice(0, end),
    body: answer.slice(end + 4),
  };
}

describe('answers the parser could not get in the way of', () => {
  it('a DELETE and an OPTIONS with an unannounced 3 MB body from a foreign Origin get the whole JSON 403', async () => {
    const server = await startServer({ manager: harness.manager, workspace: tempDir('early-') });
    servers.push(server);
    for (const method of ['DELETE', 'OPTIONS']) {
      for (let i = 0; i < 5; i++) {
        const head =
          `${method} /api/v1/orchestrate HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n` +
          `Authorization: Bearer ${server.token}\r\nOrigin: http://evil.example\r\nConnection: close\r\n\r\n`;
        const { answer } = await raw(server.port, head, Buffer.alloc(3 * 1024 * 1024, '{'));
        const { status, body } = parse(answer);
        expect(status, `${method}: ${answer.slice(0, 200)}`).toBe(403);
        expect(JSON.parse(body) as { error: string }).toEqual({
          error: expect.stringContaining('cross-origin request from "http://evil.example" refused'),
        });
      }
    }
  });

  it('a request the parser refuses gets a 400 with a JSON body naming why, then the connection closes', async () => {
    const server = await startServer({ manager: harness.manager, workspace: tempDir('early-') });
    servers.push(server);
    const { answer } = await raw(server.port, 'NOT A REQUEST\r\n\r\n');
    const { status, headers, body } = parse(answer);
    expect(status).toBe(400);
    expect(headers).toMatch(/content-type: application\/json/i);
    expect((JSON.parse(body) as { error: string }).error).toMatch(/^bad request: /);
  });
});
