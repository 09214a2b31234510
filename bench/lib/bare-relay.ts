/**
 * The physical reference for the SSE figures: the least a relay can do. Follows a file with fs.watch, splits
 * complete lines and writes each one as an SSE frame to every connected client (node:http), with no parsing,
 * no store, no validation. What our pipeline costs beyond this is ours.
 */
import { closeSync, fstatSync, openSync, readSync, watch, type FSWatcher } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BareRelay {
  url: string;
  close(): Promise<void>;
}

export async function startBareRelay(file: string): Promise<BareRelay> {
  const clients = new Set<http.ServerResponse>();
  let seq = 0;
  let offset = 0;
  let rest = '';
  const fd = openSync(file, 'r');
  const buffer = Buffer.alloc(1 << 20);
  const drain = () => {
    const size = fstatSync(fd).size;
    while (offset < size) {
      const n = readSync(fd, buffer, 0, Math.min(buffer.length, size - offset), offset);
      if (n === 0) break;
      offset += n;
      const parts = (rest + buffer.toString('utf8', 0, n)).split('\n');
      rest = parts.pop() ?? '';
      if (parts.length === 0) continue;
      let frames = '';
      for (const line of parts) frames += `id: ${++seq}\nevent: agent\ndata: ${line}\n\n`;
      for (const res of clients) res.write(frames);
    }
  };
  const watcher: FSWatcher = watch(file, () => drain());
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    clients.add(res);
    req.on('close', () => clients.delete(res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/events`,
    close: async () => {
      watcher.close();
      closeSync(fd);
      for (const res of clients) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
