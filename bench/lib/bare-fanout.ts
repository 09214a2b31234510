/**
 * Reference for the fan-out figure: a bare node:http server writing the same pre-built frames to N clients.
 * `withConnections`: timed from before the clients connect, each sent its frames as it connects (the span our
 * figure measures); without it, timed from when all are connected (the reference before 2026-12-07).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export async function bareFanout(
  frames: string[],
  clients: number,
  pool: {
    open(o: { url: string; token: string; count: number }): Promise<void>;
    reach(seq: number, t: number): Promise<number>;
  },
  options: { withConnections?: boolean } = {},
): Promise<number> {
  const payloads: Buffer[] = [];
  for (let i = 0; i < frames.length; i += 200) payloads.push(Buffer.from(frames.slice(i, i + 200).join('')));
  // Each response writes its frames respecting backpressure, as our SSE path does.
  const pump = (res: http.ServerResponse) => {
    let i = 0;
    const next = () => {
      while (i < payloads.length) if (!res.write(payloads[i++])) return void res.once('drain', next);
    };
    next();
  };
  let connected = 0;
  let allConnected: () => void = () => undefined;
  const ready = new Promise<void>((r) => (allConnected = r));
  const responses: http.ServerResponse[] = [];
  let eager = false;
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    responses.push(res);
    // Like ours: a client connecting is sent its frames at once.
    if (eager) pump(res);
    if (++connected === clients) allConnected();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  let t0: number;
  let reached: Promise<number>;
  if (options.withConnections) {
    // The same span as ours: from the first connection to the last frame at every client.
    eager = true;
    t0 = performance.timeOrigin + performance.now();
    reached = pool.reach(frames.length, 120_000);
    await pool.open({ url, token: 'none', count: clients });
  } else {
    await pool.open({ url, token: 'none', count: clients });
    await ready;
    t0 = performance.timeOrigin + performance.now();
    reached = pool.reach(frames.length, 120_000);
    for (const res of responses) pump(res);
  }
  const at = await reached;
  for (const res of responses) res.destroy();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  return (frames.length * clients) / ((at - t0) / 1000);
}
