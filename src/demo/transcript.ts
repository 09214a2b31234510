/**
 * Recorded transcripts (examples/demo/transcripts/<agent>-<role>.jsonl). Each line is either printed as is,
 * after placeholder substitution, or is a directive `{"_demo":{...}}` that is never printed:
 *   {"_demo":{"sleepMs":400}}                                   wait (scaled by DEMO_AGENT_SPEED)
 *   {"_demo":{"write":{"path":"src/a.js","content":"..."}}}      create or replace a file (relative to the work dir)
 *   {"_demo":{"append":{"path":"README.md","content":"..."}}}    append to a file
 * Placeholders (JSON-escaped, so use them inside JSON strings): {{SESSION_ID}}, {{CWD}}, {{TIMESTAMP}} (ISO
 * time of printing), {{MODEL}}, {{PROMPT}} (the prompt received), {{UUID}} (a fresh uuid each time).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { agentRegistry } from '../agents/registry.js';
import { OutputTracker } from '../domain/output-facts.js';
import type { Persona } from './invocation.js';

export type TranscriptEntry =
  | { kind: 'print'; line: string }
  | { kind: 'sleep'; ms: number }
  | { kind: 'write' | 'append'; path: string; content: string };

export interface Placeholders {
  sessionId: string;
  cwd: string;
  model: string;
  prompt: string;
}

/** What each CLI reports as its model when none is asked for. */
export const DEFAULT_MODELS: Record<Persona, string> = { claude: 'claude-opus-5-5', codex: 'gpt-5.5', gemini: 'auto' };

export function transcriptFile(dir: string, persona: Persona, role: string): string {
  return join(dir, `${persona}-${role}.jsonl`);
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Parse a transcript; throws on a malformed directive, naming the source and line. */
export function parseTranscript(text: string, source = 'transcript'): TranscriptEntry[] {
  const entries: TranscriptEntry[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === '') return;
    if (!/^\s*\{\s*"_demo"\s*:/.test(line)) {
      entries.push({ kind: 'print', line });
      return;
    }
    const where = `${source}:${index + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new Error(`${where}: invalid directive: ${(error as Error).message}`);
    }
    if (!isRecord(value) || Object.keys(value).length !== 1 || !isRecord(value._demo)) {
      throw new Error(`${where}: a directive is {"_demo":{...}} and nothing else`);
    }
    entries.push(directive(value._demo, where));
  });
  return entries;
}

function directive(body: Record<string, unknown>, where: string): TranscriptEntry {
  if (typeof body.sleepMs === 'number' && Number.isFinite(body.sleepMs) && body.sleepMs >= 0)
    return { kind: 'sleep', ms: body.sleepMs };
  for (const kind of ['write', 'append'] as const) {
    const file = body[kind];
    if (isRecord(file) && typeof file.path === 'string' && file.path !== '' && typeof file.content === 'string') {
      return { kind, path: file.path, content: file.content };
    }
  }
  throw new Error(`${where}: unknown directive ${JSON.stringify(body)} (expected sleepMs, write or append)`);
}

/** JSON-string-escaped text (without the quotes), so a substituted line stays valid JSON. */
const jsonEscape = (text: string): string => JSON.stringify(text).slice(1, -1);

export function substitute(line: string, vars: Placeholders, now: () => Date = () => new Date()): string {
  return line.replace(/\{\{([A-Z_]+)\}\}/g, (match, name: string) => {
    switch (name) {
      case 'SESSION_ID':
        return jsonEscape(vars.sessionId);
      case 'CWD':
        return jsonEscape(vars.cwd);
      case 'MODEL':
        return jsonEscape(vars.model);
      case 'PROMPT':
        return jsonEscape(vars.prompt);
      case 'TIMESTAMP':
        return now().toISOString();
      case 'UUID':
        return randomUUID();
      default:
        return match;
    }
  });
}

/** UUIDv7, the shape of codex thread ids (`01a1fc97-3f2d-7811-...`): time-ordered. */
export function uuidV7(nowMs = Date.now()): string {
  const hex = nowMs.toString(16).padStart(12, '0').slice(-12) + randomBytes(10).toString('hex');
  const variant = ((parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return (
    `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${hex.slice(13, 16)}-${variant}` +
    `${hex.slice(17, 20)}-${hex.slice(20, 32)}`
  );
}

export function newSessionId(persona: Persona): string {
  return persona === 'codex' ? uuidV7() : randomUUID();
}

/** The agent's final answer in a transcript, read the way the orchestrator reads it (adapter + OutputTracker). */
export function finalMessage(persona: Persona, entries: readonly TranscriptEntry[], vars: Placeholders): string {
  const tracker = new OutputTracker();
  const adapter = agentRegistry[persona];
  for (const entry of entries) if (entry.kind === 'print') tracker.add(adapter.parseLine(substitute(entry.line, vars)));
  return tracker.facts().finalText ?? '';
}

/** A reviewer's verdict object, as bare JSON (the last ```json fence of its answer), or null. */
export function verdictJson(text: string): string | null {
  const fences = [...text.matchAll(/```json\s*\n([\s\S]*?)```/g)];
  const body = fences[fences.length - 1]?.[1];
  return body === undefined ? null : body.trim();
}

const line = (value: unknown): TranscriptEntry => ({ kind: 'print', line: JSON.stringify(value) });
const sleep = (ms: number): TranscriptEntry => ({ kind: 'sleep', ms });

/** Split text into a few chunks at spaces, as gemini streams its deltas. */
function chunks(text: string, size = 120): string[] {
  const out: string[] = [];
  let rest = text;
  while (rest.length > size) {
    const cut = rest.lastIndexOf(' ', size);
    const at = cut > 0 ? cut + 1 : size;
    out.push(rest.slice(0, at));
    rest = rest.slice(at);
  }
  if (rest) out.push(rest);
  return out;
}

/**
 * The short transcript of a resumed session: the agent re-states its final message in its CLI's own format
 * (a reviewer asked again answers with the bare verdict object).
 */
export function resumeTranscript(persona: Persona, text: string): TranscriptEntry[] {
  const ts = '{{TIMESTAMP}}';
  switch (persona) {
    case 'claude': {
      const common = { session_id: '{{SESSION_ID}}', uuid: '{{UUID}}' };
      const usage = {
        input_tokens: 1840,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 12288,
        output_tokens: 96,
      };
      return [
        line({
          type: 'system',
          subtype: 'init',
          cwd: '{{CWD}}',
          ...common,
          tools: ['Task', 'Bash', 'Edit', 'Read', 'TodoWrite', 'Write'],
          mcp_servers: [],
          model: '{{MODEL}}',
          permissionMode: 'bypassPermissions',
          apiKeySource: 'none',
          claude_code_version: '2.1.329',
          output_style: 'default',
        }),
        sleep(600),
        line({
          type: 'assistant',
          message: {
            id: 'msg_01DemoResume7Qx',
            type: 'message',
            role: 'assistant',
            model: '{{MODEL}}',
            content: [{ type: 'text', text }],
            stop_reason: null,
            stop_sequence: null,
            usage,
            context_management: null,
          },
          parent_tool_use_id: null,
          ...common,
          timestamp: ts,
        }),
        sleep(150),
        line({
          type: 'result',
          subtype: 'success',
          is_error: false,
          duration_ms: 2113,
          duration_api_ms: 2004,
          num_turns: 1,
          result: text,
          stop_reason: 'end_turn',
          ...common,
          total_cost_usd: 0.0114,
          usage,
          permission_denials: [],
          terminal_reason: 'completed',
        }),
      ];
    }
    case 'codex':
      return [
        line({ type: 'thread.started', thread_id: '{{SESSION_ID}}' }),
        line({ type: 'turn.started' }),
        sleep(500),
        line({ type: 'item.completed', item: { id: 'item_0', type: 'reasoning', text: '**Restating my answer**' } }),
        sleep(300),
        line({ type: 'item.completed', item: { id: 'item_1', type: 'agent_message', text } }),
        line({
          type: 'turn.completed',
          usage: {
            input_tokens: 9120,
            cached_input_tokens: 8064,
            cache_write_input_tokens: 0,
            output_tokens: 88,
            reasoning_output_tokens: 24,
          },
        }),
      ];
    case 'gemini':
      return [
        line({ type: 'init', timestamp: ts, session_id: '{{SESSION_ID}}', model: '{{MODEL}}' }),
        line({ type: 'message', timestamp: ts, role: 'user', content: '{{PROMPT}}' }),
        sleep(500),
        ...chunks(text).flatMap((piece) => [
          line({ type: 'message', timestamp: ts, role: 'assistant', content: piece, delta: true }),
          sleep(80),
        ]),
        line({
          type: 'result',
          timestamp: ts,
          status: 'success',
          stats: {
            total_tokens: 6210,
            input_tokens: 6118,
            output_tokens: 92,
            cached: 4096,
            input: 2022,
            duration_ms: 1460,
            tool_calls: 0,
            models: {
              'gemini-3-pro-preview': {
                total_tokens: 6210,
                input_tokens: 6118,
                output_tokens: 92,
                cached: 4096,
                input: 2022,
              },
            },
          },
        }),
      ];
  }
}
