/**
 * Parser fuzzing (fast-check): random bytes, truncated and mutated real lines, invalid UTF-8, NUL bytes and
 * 10 MB lines -> no crash, every line accounted for, memory bounded.
 *
 * "Every line becomes exactly one event", as we read it: a parser may turn one line into several payloads
 * (a claude `result` line gives `usage` + `result`), so the rule checked is that every non-blank input line
 * yields >= 1 payload, all of them for that line only (events carry the line's end offset, so lines are
 * never merged, split or dropped), and a blank line yields none. Every payload must validate against the zod
 * schema of the event vocabulary (the adapters promise it), and stay small: a line over the follower's
 * limit is cut and marked `malformed`, `truncated: true`, with its full length in `bytes`.
 */
import { mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { agentRegistry } from '../../src/agents/registry.js';
import {
  AgentEventSchema,
  AgentPayloadSchema,
  MALFORMED_LINE_LIMIT,
  TEXT_LIMIT,
  type AgentPayload,
  type OrchestratorEvent,
} from '../../src/domain/events.js';
import { LineFollower, type FollowedLine } from '../../src/actors/line-follower.js';
import { transcriptLines, successLine, type BenchAgent } from '../../bench/lib/corpus.js';
import { agentEnv, benchSpec, createSession, makeHarness } from '../../bench/lib/harness.js';
import { SIZES, report } from './sizes.js';

const AGENTS: BenchAgent[] = ['claude', 'codex', 'gemini'];
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function temp(): string {
  const d = mkdtempSync(join(tmpdir(), 'orch-rel-fuzz-'));
  dirs.push(d);
  return d;
}

// --- arbitraries --------------------------------------------------------------------------------------

const realLines = (agent: BenchAgent) => fc.constantFrom(...transcriptLines(agent));

/** Set one random place of a real line's JSON to a random JSON value (wrong types where the parser expects others). */
function mutateJson(line: string): fc.Arbitrary<string> {
  const value = JSON.parse(line) as unknown;
  const paths: Array<Array<string | number>> = [];
  const walk = (v: unknown, path: Array<string | number>) => {
    paths.push(path);
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
  };
  walk(value, []);
  return fc.tuple(fc.nat(paths.length - 1), fc.jsonValue({ maxDepth: 3 })).map(([i, replacement]) => {
    const copy = JSON.parse(line) as Record<string, unknown>;
    const path = paths[i] as Array<string | number>;
    if (path.length === 0) return JSON.stringify(replacement);
    let node: Record<string | number, unknown> = copy;
    for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
    node[path[path.length - 1] as string | number] = replacement;
    return JSON.stringify(copy);
  });
}

/** What LineFollower hands the parser: bytes decoded as UTF-8 (invalid sequences become U+FFFD), no newline. */
const fromBytes = (bytes: Uint8Array) => Buffer.from(bytes.filter((b) => b !== 0x0a)).toString('utf8');

function lineArbitrary(agent: BenchAgent): fc.Arbitrary<string> {
  return fc.oneof(
    realLines(agent),
    realLines(agent).chain((l) => fc.nat(l.length).map((n) => l.slice(0, n))), // truncated JSON
    realLines(agent).chain(mutateJson),
    realLines(agent).chain((l) =>
      fc
        .tuple(fc.nat(l.length), fc.string({ unit: 'binary', maxLength: 4 }))
        .map(([n, s]) => l.slice(0, n) + s + l.slice(n + 1)),
    ),
    fc.uint8Array({ maxLength: 400 }).map(fromBytes), // random bytes, invalid UTF-8, NUL
    fc.string({ unit: 'binary', maxLength: 300 }), // any code points, lone surrogates
    fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
    fc
      .record({
        type: fc.string({ maxLength: 12 }),
        subtype: fc.option(fc.string({ maxLength: 8 })),
        item: fc.jsonValue({ maxDepth: 3 }),
      })
      .map((v) => JSON.stringify(v)),
    realLines(agent).map((l) => l.replace(/"/, '"\u0000')), // a NUL byte inside
    fc.constantFrom(
      '',
      ' ',
      '\t',
      '\r',
      '{',
      '}',
      '[]',
      'null',
      '{"type":null}',
      '{"type":"__proto__"}',
      '{"type":"constructor"}',
      '{"__proto__":{"type":"result"}}',
    ),
  );
}

/** Checks one line's payloads; returns a reason when the contract is broken. */
function contractBreach(line: string, payloads: AgentPayload[]): string | null {
  if (!Array.isArray(payloads)) return 'parseLine did not return an array';
  if (line.trim() !== '' && payloads.length === 0) return 'a non-blank line gave no payload';
  for (const payload of payloads) {
    const valid = AgentPayloadSchema.safeParse(payload);
    if (!valid.success)
      return (
        `payload does not validate: ${JSON.stringify(valid.error.issues).slice(0, 400)} ` +
        `payload=${JSON.stringify(payload).slice(0, 300)}`
      );
    if (payload.kind === 'malformed' && Buffer.byteLength(payload.line, 'utf8') > MALFORMED_LINE_LIMIT)
      return 'malformed line not cut to the limit';
    for (const key of ['text', 'message'] as const) {
      const text = (payload as Record<string, unknown>)[key];
      if (typeof text === 'string' && text.length > TEXT_LIMIT + 100)
        return `${key} of ${text.length} characters not clipped`;
    }
    JSON.stringify(payload);
  }
  return null;
}

// --- parseLine, property-based -----------------------------------------------------------------------

describe.each(AGENTS)('%s parseLine under fuzzing', (agent) => {
  const adapter = agentRegistry[agent];
  it(`never throws; every non-blank line gives >= 1 valid, bounded payload (${SIZES.fuzzRuns} runs)`, () => {
    fc.assert(
      fc.property(lineArbitrary(agent), (line) => {
        let payloads: AgentPayload[];
        try {
          payloads = adapter.parseLine(line);
        } catch (error) {
          throw new Error(`parseLine threw on ${JSON.stringify(line).slice(0, 300)}: ${(error as Error).message}`);
        }
        const breach = contractBreach(line, payloads);
        if (breach) throw new Error(`${breach}\nline: ${JSON.stringify(line).slice(0, 300)}`);
      }),
      { numRuns: SIZES.fuzzRuns },
    );
  });

  it('10 MB lines: valid JSON, garbage and NUL-filled, parse without crash and stay bounded', () => {
    const big = 10 * 1024 * 1024;
    const lines = [
      JSON.stringify({ type: 'assistant', message: { content: [{ type: 'text', text: 'x'.repeat(big) }] } }),
      JSON.stringify({ type: 'item.completed', item: { type: 'agent_message', text: 'y'.repeat(big) } }),
      JSON.stringify({ type: 'message', role: 'assistant', content: 'z'.repeat(big), delta: true }),
      `{"type":"result","result":"${'a'.repeat(big)}`, // truncated
      '\u0000'.repeat(big),
      Buffer.alloc(big, 0xff).toString('utf8'),
    ];
    for (const line of lines) {
      const payloads = adapter.parseLine(line);
      expect(contractBreach(line, payloads)).toBeNull();
      // Text fields are clipped; only an `unknown` payload keeps the raw value (see the pipeline test).
      for (const p of payloads)
        if (p.kind !== 'unknown' && p.kind !== 'tool_call') expect(JSON.stringify(p).length).toBeLessThan(64 * 1024);
    }
  });
});

// --- LineFollower: every line once, cut when oversize ---------------------------------------------------

describe('LineFollower under fuzzing', () => {
  it('emits every line once with its end offset, whatever the bytes and however they are split in writes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b.filter((x) => x !== 0x0a))),
          { maxLength: 40 },
        ),
        fc.array(fc.nat(400), { maxLength: 10 }),
        async (lineBytes, cuts) => {
          const dir = temp();
          const file = join(dir, 'out.jsonl');
          writeFileSync(file, '');
          const content = Buffer.concat(lineBytes.flatMap((b) => [b, Buffer.from('\n')]));
          const seen: FollowedLine[] = [];
          const follower = new LineFollower(file, 0, { maxLineBytes: 256, onLines: (l) => seen.push(...l) });
          follower.start();
          // The writer's chunks fall anywhere, mid-line and mid-character included.
          let at = 0;
          for (const cut of [...cuts.sort((a, b) => a - b), content.length]) {
            const end = Math.min(content.length, Math.max(at, cut));
            appendFileSync(file, content.subarray(at, end));
            at = end;
            follower.drain();
          }
          follower.finish();
          follower.stop();
          expect(seen.length).toBe(lineBytes.length);
          let offset = 0;
          lineBytes.forEach((bytes, i) => {
            offset += bytes.length + 1;
            const got = seen[i] as FollowedLine;
            expect(got.end).toBe(offset);
            if (bytes.length > 256) {
              expect(got.oversizeBytes).toBe(bytes.length);
              expect(Buffer.byteLength(got.text)).toBeLessThanOrEqual(4096 * 3);
            } else {
              expect(got.oversizeBytes).toBeUndefined();
              expect(got.text).toBe(bytes.toString('utf8').replace(/\r$/, ''));
            }
          });
          rmSync(dir, { recursive: true, force: true });
        },
      ),
      { numRuns: Math.max(50, Math.floor(SIZES.fuzzRuns / 10)) },
    );
  });
});

// --- the whole pipeline: agent file -> events.jsonl ------------------------------------------------------

describe('pipeline under fuzzing: a real agent process prints garbage, the session accounts for every line', () => {
  it(
    `${SIZES.pipelineLines} fuzzed lines + 10 MB lines -> ` +
      `every non-blank line gives >= 1 event, none merged or lost, memory bounded`,
    async () => {
      const dir = temp();
      const corpus = join(dir, 'claude.jsonl');
      const rng = fc.sample(lineArbitrary('claude'), { numRuns: SIZES.pipelineLines, seed: 42 });
      const big = 10 * 1024 * 1024;
      const lines: Buffer[] = rng.map((l) => Buffer.from(l.replace(/[\n]/g, ' '), 'utf8'));
      // Three 10 MB lines in the middle: valid JSON, NUL bytes, invalid UTF-8.
      const at = Math.floor(lines.length / 2);
      lines.splice(
        at,
        0,
        Buffer.from(
          JSON.stringify({ type: 'assistant', message: { content: [{ type: 'text', text: 'x'.repeat(big) }] } }),
        ),
        Buffer.alloc(big, 0),
        Buffer.alloc(big, 0xfe),
      );
      lines.push(Buffer.from(successLine('claude')));
      writeFileSync(corpus, Buffer.concat(lines.flatMap((b) => [b, Buffer.from('\n')])));

      const harness = await makeHarness({
        env: agentEnv({ BENCH_AGENT_MODE: 'bulk', BENCH_CORPUS: corpus }),
        server: false,
      });
      try {
        globalThis.gc?.();
        const rss0 = process.memoryUsage().rss;
        let peak = rss0;
        const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
        const runtime = await createSession(harness, benchSpec(1, ['claude']));
        const end = await runtime.waitForEnd(true);
        clearInterval(sampler);
        const events = runtime.store.log.readAfter(0) as OrchestratorEvent[];
        const agentEvents = events.filter(
          (e): e is Extract<OrchestratorEvent, { type: 'agent' }> => e.type === 'agent',
        );
        for (const e of agentEvents) {
          const valid = AgentEventSchema.safeParse(e);
          expect(
            valid.success,
            `event ${e.seq} does not validate: ` +
              `${valid.success ? '' : JSON.stringify(valid.error.issues).slice(0, 300)}`,
          ).toBe(true);
        }
        // Group events by the line they came from (its end offset) and compare with the file's lines.
        const byEnd = new Map<number, number>();
        for (const e of agentEvents) byEnd.set(e.at!.end, (byEnd.get(e.at!.end) ?? 0) + 1);
        let offset = 0;
        let nonBlank = 0;
        const missing: number[] = [];
        for (const [i, line] of lines.entries()) {
          offset += line.length + 1;
          const blank = line.toString('utf8').trim() === '';
          if (blank) {
            expect(byEnd.has(offset), `blank line ${i} gave an event`).toBe(false);
            continue;
          }
          nonBlank++;
          if (!byEnd.has(offset)) missing.push(i);
        }
        expect(missing, 'lines that gave no event').toEqual([]);
        expect(byEnd.size).toBe(nonBlank);
        const cut = agentEvents.filter((e) => e.kind === 'malformed' && e.truncated && e.bytes >= big);
        expect(cut.length, 'each 10 MB line is cut and said so').toBe(3);
        const largest = Math.max(...events.map((e) => JSON.stringify(e).length));
        const growthMb = (peak - rss0) / 2 ** 20;
        report('pipeline fuzz', {
          lines: lines.length,
          nonBlank,
          events: agentEvents.length,
          end,
          largestEventBytes: largest,
          peakRssGrowthMb: Math.round(growthMb),
        });
        expect(largest).toBeLessThan(64 * 1024);
        expect(growthMb, 'RSS growth while following 3 x 10 MB lines').toBeLessThan(256);
      } finally {
        await harness.cleanup();
      }
    },
  );
});
