/** Reference for the fan-out figure: a bare node:http server writing the same pre-built frames to N clients. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export async function bareFanout(
  frames: string[],
  clients: number,
  pool: {
    open(o: { url: string; token: string; count: number }): Promise<void>;
    reach(seq: number, t: number): Promise<number>;
  },
): Promise<number> {
  const payloads: Buffer[] = [];
  for (let i = 0; i < frames.length; i += 200) payloads.push(Buffer.from(frames.slice(i, i + 200).join('')));
  let connected = 0;
  let allConnected: () => void = () => undefined;
  const ready = new Promise<void>((r) => (allConnected = r));
  const responses: http.ServerResponse[] = [];
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    responses.push(res);
    if (++connected === clients) allConnected();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  await pool.open({ url, token: 'none', count: clients });
  await ready;
  const t0 = performance.timeOrigin + performance.now();
  const reached = pool.reach(frames.length, 120_000);
  // Each response writes its frames respecting backpressure, as our SSE path does.
  for (const res of responses) {
    let i = 0;
    const pump = () => {
      while (i < payloads.length) if (!res.write(payloads[i++])) return void res.once('drain', pump);
    };
    pump();
  }
  const at = await reached;
  for (const res of responses) res.destroy();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  return (frames.length * clients) / ((at - t0) / 1000);
}
