/**
 * `orchestrate parse --agent A [FILE|-] [--exit-code N [--stderr FILE]]`: the adapters as a tool. Every
 * non-blank input line becomes one or more normalized payloads (JSONL, each with its line number); with an
 * exit code, one last line says whether the run succeeded or how it failed.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { AgentPayload } from '../domain/events.js';
import { getAdapter } from '../agents/registry.js';

export interface ParseOptions {
  agent: string;
  file?: string;
  exitCode?: number;
  stderrFile?: string;
  out: NodeJS.WritableStream;
}

/** How many payloads of the end of the run the classifier looks at (the actor keeps the same). */
const RECENT = 200;

export async function parseCommand(options: ParseOptions): Promise<void> {
  const adapter = getAdapter(options.agent);
  const input = !options.file || options.file === '-' ? process.stdin : createReadStream(options.file);
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  const recent: AgentPayload[] = [];
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() === '') continue;
    for (const payload of adapter.parseLine(line)) {
      options.out.write(`${JSON.stringify({ line: n, ...payload })}\n`);
      recent.push(payload);
      if (recent.length > RECENT * 2) recent.splice(0, recent.length - RECENT);
    }
  }
  if (options.exitCode === undefined) return;
  const stderrTail = options.stderrFile ? readFileSync(options.stderrFile, 'utf8').slice(-16 * 1024) : '';
  const signal = adapter.classifyFailure({ exitCode: options.exitCode, signal: null, stderrTail, events: recent.slice(-RECENT), now: new Date() });
  options.out.write(`${JSON.stringify(signal ? { type: 'failure', signal } : { type: 'exit', ok: true })}\n`);
}
