/**
 * `orchestrate parse --agent A [FILE|-] [--exit-code N [--stderr FILE]]`: the adapters as a tool. Every
 * non-blank input line becomes one or more normalized payloads (JSONL, each with its line number); with an
 * exit code, one last line says whether the run succeeded or how it failed.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { AgentPayload } from '../domain/events.js';
import { getAdapter } from '../agents/registry.js';
import { asUsageError, checkReadableFile } from './fs-errors.js';

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
  const fromStdin = !options.file || options.file === '-';
  // Both files are checked before any output, so a wrong path never leaves half a result behind.
  if (!fromStdin) checkReadableFile(options.file as string, 'transcript');
  if (options.stderrFile) checkReadableFile(options.stderrFile, '--stderr');
  const input = fromStdin ? process.stdin : createReadStream(options.file as string);
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  const recent: AgentPayload[] = [];
  let n = 0;
  try {
    for await (const line of lines) {
      n++;
      if (line.trim() === '') continue;
      for (const payload of adapter.parseLine(line)) {
        options.out.write(`${JSON.stringify({ line: n, ...payload })}\n`);
        recent.push(payload);
        if (recent.length > RECENT * 2) recent.splice(0, recent.length - RECENT);
      }
    }
  } catch (error) {
    throw asUsageError(error, 'transcript', fromStdin ? 'stdin' : options.file);
  }
  if (options.exitCode === undefined) return;
  let stderrTail = '';
  try {
    stderrTail = options.stderrFile ? readFileSync(options.stderrFile, 'utf8').slice(-16 * 1024) : '';
  } catch (error) {
    throw asUsageError(error, '--stderr', options.stderrFile);
  }
  const signal = adapter.classifyFailure({
    exitCode: options.exitCode,
    signal: null,
    stderrTail,
    events: recent.slice(-RECENT),
    now: new Date(),
  });
  options.out.write(`${JSON.stringify(signal ? { type: 'failure', signal } : { type: 'exit', ok: true })}\n`);
}
