/** Small helpers the provider modules share: SSE framing, JSON answers, paths. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isAbsolute, resolve } from 'node:path';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = Record<string, unknown>;

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** An SSE stream: `event:` lines when a name is given (Anthropic, OpenAI), bare `data:` lines otherwise (Gemini). */
export class SseWriter {
  constructor(private readonly res: ServerResponse) {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  }

  event(name: string | null, data: unknown): void {
    const head = name ? `event: ${name}\n` : '';
    this.res.write(`${head}data: ${JSON.stringify(data)}\n\n`);
  }

  end(): void {
    this.res.end();
  }
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** A write-file path as the tool call should carry it: absolute, resolved against the CLI's working directory. */
export function targetPath(path: string, cwd: string | null): string {
  if (isAbsolute(path)) return path;
  if (!cwd)
    throw new Error(
      `fake model server: cannot resolve the relative path "${path}": the request names no working directory`,
    );
  return resolve(cwd, path);
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((done, fail) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => done(Buffer.concat(chunks).toString('utf8')));
    req.on('error', fail);
  });
}

/** Epoch seconds `afterSec` from now, rounded up. */
export function epochIn(afterSec: number): number {
  return Math.ceil(Date.now() / 1000 + afterSec);
}
