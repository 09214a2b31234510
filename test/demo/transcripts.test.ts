/**
 * The recorded transcripts of `orchestrate demo`: every printed line has the shape the real CLI prints (it parses
 * with the matching adapter, with no malformed or unknown payloads), the reviewers' answers hold the intended
 * verdicts, and the whole demo lasts 15 to 25 seconds at speed 1.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentRegistry } from '../../src/agents/registry.js';
import { AgentPayloadSchema, type AgentPayload } from '../../src/domain/events.js';
import { OutputTracker } from '../../src/domain/output-facts.js';
import { decide, extractVerdict } from '../../src/domain/review-policy.js';
import type { Persona } from '../../src/demo/invocation.js';
import { DEFAULT_TRANSCRIPTS_DIR } from '../../src/demo/paths.js';
import {
  finalMessage,
  parseTranscript,
  substitute,
  type Placeholders,
  type TranscriptEntry,
} from '../../src/demo/transcript.js';
import { badPayloads, DEMO_STEPS } from './helpers.js';

const FILES = DEMO_STEPS.map((step) => `${step.persona}-${step.role}.jsonl`);
const VARS: Placeholders = {
  sessionId: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
  cwd: '/tmp/demo "project"',
  model: 'test-model',
  prompt: 'You are the "ARCHITECT"\nline two',
};

function load(file: string): {
  persona: Persona;
  entries: TranscriptEntry[];
  lines: string[];
  payloads: AgentPayload[][];
} {
  const persona = file.split('-')[0] as Persona;
  const entries = parseTranscript(readFileSync(join(DEFAULT_TRANSCRIPTS_DIR, file), 'utf8'), file);
  const lines = entries.flatMap((e) => (e.kind === 'print' ? [substitute(e.line, VARS)] : []));
  return { persona, entries, lines, payloads: lines.map((line) => agentRegistry[persona].parseLine(line)) };
}

const sleepMs = (entries: TranscriptEntry[]) => entries.reduce((sum, e) => sum + (e.kind === 'sleep' ? e.ms : 0), 0);

describe('demo transcripts', () => {
  it('has exactly one transcript per step of the demo', () => {
    expect(
      readdirSync(DEFAULT_TRANSCRIPTS_DIR)
        .filter((f) => f.endsWith('.jsonl'))
        .sort(),
    ).toEqual([...FILES].sort());
  });

  describe.each(FILES)('%s', (file) => {
    const { persona, entries, lines, payloads } = load(file);

    it('prints only JSON objects that parse into valid payloads, none malformed or unknown', () => {
      expect(lines.length).toBeGreaterThan(5);
      lines.forEach((line, i) => {
        expect(() => JSON.parse(line), line).not.toThrow();
        expect(payloads[i]?.length, line).toBeGreaterThan(0);
        expect(badPayloads(payloads[i] ?? []), line).toEqual([]);
        for (const payload of payloads[i] ?? [])
          expect(AgentPayloadSchema.safeParse(payload).success, JSON.stringify(payload)).toBe(true);
      });
    });

    it('substitutes every placeholder', () => {
      for (const line of lines) expect(line).not.toMatch(/\{\{[A-Z_]+\}\}/);
      expect(lines.join('\n')).toContain(VARS.sessionId);
    });

    it('starts with the session, ends with a successful result, and reports usage', () => {
      const flat = payloads.flat();
      expect(flat[0]).toMatchObject({ kind: 'init', agentSessionId: VARS.sessionId });
      expect(flat.at(-1)).toMatchObject({ kind: 'result', ok: true });
      expect(flat.some((p) => p.kind === 'usage')).toBe(true);
      expect(finalMessage(persona, entries, VARS).length).toBeGreaterThan(50);
    });

    it('has the line shapes of its CLI', () => {
      const objects = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      if (persona === 'claude') {
        for (const o of objects) expect(o.session_id, JSON.stringify(o)).toBe(VARS.sessionId);
        for (const o of objects.filter((x) => x.type === 'assistant')) {
          const message = o.message as { id?: string; content?: unknown[] };
          expect(message.id).toMatch(/^msg_/);
          expect(message.content).toHaveLength(1);
        }
        expect(objects[0]).toMatchObject({ type: 'system', subtype: 'init' });
        expect(objects.at(-1)).toMatchObject({ type: 'result', is_error: false, subtype: 'success' });
        expect(objects.at(-1)?.total_cost_usd).toBeGreaterThan(0);
      }
      if (persona === 'codex') {
        expect(objects[0]).toEqual({ type: 'thread.started', thread_id: VARS.sessionId });
        expect(objects[1]).toEqual({ type: 'turn.started' });
        expect(objects.at(-1)?.type).toBe('turn.completed');
      }
      if (persona === 'gemini') {
        for (const o of objects) expect(typeof o.timestamp).toBe('string');
        expect(objects[0]).toMatchObject({ type: 'init', session_id: VARS.sessionId, model: VARS.model });
        expect(objects[1]).toMatchObject({ type: 'message', role: 'user', content: VARS.prompt });
        expect(objects.at(-1)).toMatchObject({ type: 'result', status: 'success' });
      }
    });

    it('only uses known directives, with pauses of at most a second and a half', () => {
      for (const entry of entries) if (entry.kind === 'sleep') expect(entry.ms).toBeLessThanOrEqual(1500);
      expect(sleepMs(entries)).toBeGreaterThan(1000);
    });
  });

  it('lasts 15 to 25 seconds in all at speed 1', () => {
    const total = FILES.reduce((sum, file) => sum + sleepMs(load(file).entries), 0);
    expect(total).toBeGreaterThanOrEqual(15_000);
    expect(total).toBeLessThanOrEqual(25_000);
  });

  it('gives the intended verdicts: the architect round continues, the implementer round logs a warning', () => {
    const verdict = (file: string) => {
      const { persona, entries } = load(file);
      return extractVerdict(finalMessage(persona, entries, VARS));
    };
    const architect = verdict('codex-reviewer-architect.jsonl');
    const byGemini = verdict('gemini-reviewer-implementer.jsonl');
    const byCodex = verdict('codex-reviewer-implementer.jsonl');
    expect(architect?.verdict).toBe('approve');
    expect(byGemini?.verdict).toBe('approve');
    expect(byCodex).toMatchObject({ verdict: 'concern', issues: [{ severity: 'concern', file: 'src/text.js' }] });
    expect(byCodex?.issues).toHaveLength(1);
    expect(byCodex?.issues[0]?.line).toBeGreaterThan(0);
    expect(decide([architect!])).toBe('CONTINUE');
    expect(decide([byGemini!, byCodex!])).toBe('LOG_WARNING');
  });

  it('the architect reads files, keeps a todo list and writes ARCHITECTURE.md', () => {
    const { entries, payloads } = load('gemini-architect.jsonl');
    const flat = payloads.flat();
    expect(flat.filter((p) => p.kind === 'tool_call' && p.name === 'read_file').length).toBeGreaterThanOrEqual(2);
    expect(flat).toContainEqual(
      expect.objectContaining({ kind: 'file_change', changes: [{ path: `${VARS.cwd}/ARCHITECTURE.md`, kind: 'add' }] }),
    );
    expect(entries).toContainEqual(expect.objectContaining({ kind: 'write', path: 'ARCHITECTURE.md' }));
    const plans = flat.filter((p) => p.kind === 'plan');
    expect(plans.length).toBeGreaterThanOrEqual(3);
    expect(plans.at(-1)?.items.every((i) => i.done)).toBe(true);
    expect(flat.filter((p) => p.kind === 'message' && p.role === 'assistant' && p.delta).length).toBeGreaterThan(5);
  });

  it('the implementer works through a plan of at least 4 items, edits, tests and summarises', () => {
    const { entries, payloads } = load('claude-implementer.jsonl');
    const tracker = new OutputTracker();
    const progress: string[] = [];
    for (const line of payloads) {
      tracker.add(line);
      const plan = tracker.facts().plan;
      if (plan && progress.at(-1) !== `${plan.done}/${plan.total}`) progress.push(`${plan.done}/${plan.total}`);
    }
    expect(progress.length).toBeGreaterThanOrEqual(5);
    expect(progress.at(-1)).toMatch(/^(\d+)\/\1$/);
    expect(Number(progress.at(-1)?.split('/')[1])).toBeGreaterThanOrEqual(4);
    const facts = tracker.facts();
    expect(facts.filesChanged).toEqual(
      expect.arrayContaining([`${VARS.cwd}/src/text.js`, `${VARS.cwd}/test/text.test.js`]),
    );
    expect(facts.resultOk).toBe(true);
    expect(facts.usage?.costUsd).toBeGreaterThan(0);
    const flat = payloads.flat();
    expect(flat).toContainEqual(expect.objectContaining({ kind: 'command', command: 'npm test' }));
    expect(flat.filter((p) => p.kind === 'tool_result').every((p) => p.kind === 'tool_result' && p.ok)).toBe(true);
    expect(flat.find((p) => p.kind === 'tool_result' && /pass 9/.test(p.output ?? ''))).toBeDefined();
    const written = entries.filter((e) => e.kind === 'write').map((e) => e.kind === 'write' && e.path);
    expect(written).toEqual(expect.arrayContaining(['src/text.js', 'test/text.test.js']));
  });

  it('the verifier updates its todo list, runs the tests and documents the helper', () => {
    const { lines, payloads } = load('codex-verifier.jsonl');
    const todo = lines
      .map((l) => JSON.parse(l) as { type: string; item?: { type?: string } })
      .filter((o) => o.item?.type === 'todo_list');
    expect(todo.map((o) => o.type)).toEqual(expect.arrayContaining(['item.started', 'item.updated', 'item.completed']));
    const flat = payloads.flat();
    const npmTest = flat.find((p) => p.kind === 'command' && p.status === 'completed' && /npm test/.test(p.command));
    expect(npmTest).toMatchObject({ exitCode: 0 });
    expect(npmTest?.kind === 'command' && npmTest.output).toMatch(/pass 9[\s\S]*fail 0/);
    expect(flat).toContainEqual(expect.objectContaining({ kind: 'file_change', status: 'completed' }));
  });
});
