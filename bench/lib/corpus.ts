/**
 * Real agent output to replay: every line of the recorded transcripts in test/fixtures/transcripts, per
 * agent, cycled to any length. Each generated file ends with a successful final line of that agent, so the
 * worker that "printed" it completes (no recovery relaunch muddles a figure).
 */
import { closeSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { getAdapter } from '../../src/agents/registry.js';
import type { AgentPayload } from '../../src/domain/events.js';
import { ROOT } from './paths.js';

export type BenchAgent = 'claude' | 'codex' | 'gemini';
export const BENCH_AGENTS: BenchAgent[] = ['claude', 'codex', 'gemini'];

const TRANSCRIPTS = join(ROOT, 'test', 'fixtures', 'transcripts');

/** The final success line of each agent (a real captured one). */
const SUCCESS_FILE: Record<BenchAgent, string> = {
  claude: 'captured/mock-success-text.jsonl',
  codex: 'captured/mock-command-execution.jsonl',
  gemini: 'captured/mock-success-stream-json.jsonl',
};

/**
 * Every non-empty line of every .jsonl transcript of an agent, in a fixed order, except the lines the
 * orchestrator rightly ends an agent for (a retry that cannot succeed, such as a rejected API key): a
 * benchmark agent must run to its end.
 */
export function transcriptLines(agent: BenchAgent): string[] {
  const adapter = getAdapter(agent) as {
    parseLine(line: string): AgentPayload[];
    isHopelessRetry?: (p: AgentPayload) => boolean;
  };
  return allTranscriptLines(agent).filter(
    (line) => !adapter.isHopelessRetry || !adapter.parseLine(line).some((p) => adapter.isHopelessRetry?.(p)),
  );
}

function allTranscriptLines(agent: BenchAgent): string[] {
  const dir = join(TRANSCRIPTS, agent);
  const files = [
    ...readdirSync(dir)
      .filter((f) => f.endsWith('.jsonl'))
      .map((f) => join(dir, f)),
    ...readdirSync(join(dir, 'captured'))
      .filter((f) => f.endsWith('.jsonl'))
      .map((f) => join(dir, 'captured', f)),
  ].sort();
  const lines: string[] = [];
  for (const file of files)
    for (const line of readFileSync(file, 'utf8').split('\n')) if (line.trim() !== '') lines.push(line);
  return lines;
}

export function successLine(agent: BenchAgent): string {
  const lines = readFileSync(join(TRANSCRIPTS, agent, SUCCESS_FILE[agent]), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  return lines[lines.length - 1] as string;
}

/**
 * A file of `count` lines: the agent's transcript lines cycled, the last one its success line.
 * Returns the number of bytes written.
 */
export function writeCorpus(path: string, agent: BenchAgent, count: number): number {
  const lines = transcriptLines(agent);
  const fd = openSync(path, 'w');
  let bytes = 0;
  try {
    let chunk: string[] = [];
    let chunkBytes = 0;
    const flush = () => {
      if (chunk.length === 0) return;
      const buffer = Buffer.from(chunk.join(''), 'utf8');
      let written = 0;
      while (written < buffer.length) written += writeSync(fd, buffer, written, buffer.length - written);
      bytes += buffer.length;
      chunk = [];
      chunkBytes = 0;
    };
    for (let i = 0; i < count; i++) {
      const line = `${i === count - 1 ? successLine(agent) : (lines[i % lines.length] as string)}\n`;
      chunk.push(line);
      chunkBytes += line.length;
      if (chunkBytes > 4 << 20) flush();
    }
    flush();
  } finally {
    closeSync(fd);
  }
  return bytes;
}

/** A real claude assistant text line, with its text replaced (the latency probe rides in it). */
export function claudeTextLine(text: string): string {
  const template = transcriptLines('claude').find((l) => {
    try {
      const v = JSON.parse(l) as { type?: string; message?: { content?: Array<{ type?: string }> }; error?: unknown };
      return (
        v.type === 'assistant' && !v.error && v.message?.content?.length === 1 && v.message.content[0]?.type === 'text'
      );
    } catch {
      return false;
    }
  });
  if (!template) throw new Error('no claude assistant text line in the fixtures');
  const value = JSON.parse(template) as { message: { content: Array<{ text: string }> } };
  (value.message.content[0] as { text: string }).text = text;
  return JSON.stringify(value);
}
