/**
 * The network proxy of one sandboxed agent, and the agent's parent (src/safety/network.ts says why).
 *
 *   node net-proxy.js <net folder> -- bwrap … -- /bin/sh -c BRIDGE … -- <agent argv>
 *
 * It reads `<folder>/policy.json`, listens on `<folder>/<port>.sock` for each port the bridge inside opens (the
 * proxy's, and each forwarded loopback port), then runs the rest of its argv as a child in the same process
 * group, with the same stdin, stdout and stderr. It ends when the child ends, with the child's status (a signal
 * N as 128 + N, as the launch wrapper reads it). A signal to the group reaches the child directly; this process
 * waits for it rather than die first, so the exit status is the agent's.
 *
 * Requests: CONNECT host:port (https) and absolute-form requests (http://host/...) are let through when the
 * allowlist names the host; anything else gets 403 and a line in `<folder>/refused.jsonl`. Nothing is ever
 * written to stdout: it is the agent's event stream.
 */
import { appendFileSync, readFileSync, rmSync } from 'node:fs';
import {
  createServer as createHttpServer,
  request as httpRequest,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { runGroupChild } from '../fs/group-child.js';
import { allowedBy, type NetPolicyFile, type Refusal } from './network.js';

const HOP_BY_HOP = new Set([
  'proxy-connection',
  'proxy-authorization',
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export function startProxy(dir: string, policy: NetPolicyFile): Server[] {
  const refuse = (host: string, port: number, method: string) => {
    const refusal: Refusal = { ts: new Date().toISOString(), host, port, method };
    try {
      appendFileSync(join(dir, 'refused.jsonl'), `${JSON.stringify(refusal)}\n`);
    } catch {
      // The folder is gone (the session was discarded): the refusal itself still happens.
    }
  };
  const servers: Server[] = [];
  const listen = (server: Server, port: number) => {
    const path = join(dir, `${port}.sock`);
    rmSync(path, { force: true });
    server.on('error', () => undefined);
    server.listen(path);
    servers.push(server);
  };

  const proxy = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '');
    } catch {
      res
        .writeHead(400, { 'content-type': 'text/plain' })
        .end('orchestrate proxy: only absolute-form requests (http://host/...) and CONNECT\n');
      return;
    }
    const port = url.port ? Number(url.port) : 80;
    if (url.protocol !== 'http:' || !allowedBy(url.hostname, port, policy.allow)) {
      refuse(url.hostname, port, req.method ?? 'GET');
      res
        .writeHead(403, { 'content-type': 'text/plain' })
        .end(`orchestrate sandbox: ${url.host} is not on this agent's allowlist (sandbox.allowHosts)\n`);
      return;
    }
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => !HOP_BY_HOP.has(name)));
    const upstream = httpRequest(
      { host: url.hostname, port, method: req.method, path: `${url.pathname}${url.search}`, headers },
      (answer) => {
        res.writeHead(
          answer.statusCode ?? 502,
          Object.fromEntries(Object.entries(answer.headers).filter(([name]) => !HOP_BY_HOP.has(name))),
        );
        answer.pipe(res);
      },
    );
    upstream.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`orchestrate proxy: ${error.message}\n`);
    });
    req.pipe(upstream);
  });
  proxy.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(req.url ?? '');
    const host = match?.[1] ?? req.url ?? '';
    const port = Number(match?.[2] ?? 0);
    client.on('error', () => client.destroy());
    if (!match || !allowedBy(host, port, policy.allow)) {
      refuse(host, port, 'CONNECT');
      client.end(
        'HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\n\r\n' +
          `orchestrate sandbox: ${host}:${port} is not on this agent's allowlist (sandbox.allowHosts)\n`,
      );
      return;
    }
    const upstream = connect(port, host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => {
      if (upstream.connecting) client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
      else client.destroy();
    });
    client.on('close', () => upstream.destroy());
  });
  listen(proxy, policy.proxyPort);

  for (const port of policy.forwards) {
    listen(
      createServer((client) => {
        const upstream = connect(port, '127.0.0.1');
        client.pipe(upstream).pipe(client);
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
      }),
      port,
    );
  }
  return servers;
}

/** The process: proxy, then the child; exit with its status. */
export function main(argv: readonly string[]): void {
  const [dir, separator, file, ...args] = argv;
  if (!dir || separator !== '--' || !file) {
    process.stderr.write('orchestrate net-proxy: usage: net-proxy.js <folder> -- <command> [args...]\n');
    process.exit(2);
  }
  let policy: NetPolicyFile;
  try {
    policy = JSON.parse(readFileSync(join(dir, 'policy.json'), 'utf8')) as NetPolicyFile;
  } catch (error) {
    process.stderr.write(
      `orchestrate net-proxy: cannot read ${join(dir, 'policy.json')}: ${(error as Error).message}\n`,
    );
    process.exit(2);
  }
  startProxy(dir, policy);
  // The group's signals are for the agent: wait for it to end, and report its status.
  runGroupChild('net-proxy', file, args, 'inherit');
}

if (process.argv[1] && import.meta.url.endsWith('/net-proxy.js') && process.argv[1].endsWith('net-proxy.js'))
  main(process.argv.slice(2));
