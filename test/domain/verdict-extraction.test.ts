/**
 * Verdict extraction (extractVerdict) from a reviewer's final message as each CLI really delivers it, and the
 * review prompt (renderReviewPrompt / renderStrictVerdictRequest / the diff the process host reads).
 *
 * The CLI cases start from captured transcripts (test/fixtures/transcripts, identical to /work/shared/fixtures):
 * the model text is swapped for a review, the lines go through the real adapter (parseXxxLine) and the real
 * OutputTracker, and extraction runs on the finalText the review round would receive.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { parseClaudeLine } from '../../src/agents/claude.js';
import { parseCodexLine } from '../../src/agents/codex.js';
import { parseGeminiLine } from '../../src/agents/gemini.js';
import type { AgentPayload, Verdict } from '../../src/domain/events.js';
import { OutputTracker } from '../../src/domain/output-facts.js';
import {
  renderReviewPrompt,
  renderStrictVerdictRequest,
  VERDICT_FORMAT,
  type ReviewPromptSpec,
} from '../../src/domain/prompts.js';
import { extractVerdict } from '../../src/domain/review-policy.js';
import { renderPrompt } from '../../src/runtime/process-host.js';
import { makeSandbox as makeSupportSandbox, ROOT, type Sandbox } from '../support/orchestrate.js';

// ---------------------------------------------------------------------------------------------------------
// Real final-message shapes
// ---------------------------------------------------------------------------------------------------------

type Json = Record<string, unknown>;
const TRANSCRIPTS = join(ROOT, 'test', 'fixtures', 'transcripts');
const jsonl = (agent: string, file: string): Json[] =>
  readFileSync(join(TRANSCRIPTS, agent, file), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Json);

/** What the review round receives: the adapter's payloads folded by the OutputTracker. */
function finalTextOf(lines: Json[], parse: (line: string) => AgentPayload[]): string | undefined {
  const tracker = new OutputTracker();
  for (const line of lines) tracker.add(parse(JSON.stringify(line)));
  return tracker.facts().finalText;
}

const BLOCKER: Verdict = {
  verdict: 'blocker',
  summary: 'The migration drops the users table.',
  issues: [
    { severity: 'blocker', file: 'db/migrate/002.sql', line: 12, message: 'DROP TABLE users without a backup' },
    { severity: 'nit', message: 'typo in the commit message' },
  ],
};
const CONCERN: Verdict = {
  verdict: 'concern',
  summary: 'No test for the empty input.',
  issues: [{ severity: 'concern', file: 'src/parse.ts', line: 40, message: 'empty input is not handled' }],
};
const APPROVE: Verdict = { verdict: 'approve', summary: 'Looks good.', issues: [] };

const fenced = (v: unknown) =>
  `I read the diff and ran the tests in my head.\n\nHere is my verdict:\n\n\`\`\`json\n` +
  `${JSON.stringify(v, null, 2)}\n\`\`\`\n\nLet me know if you want me to look at anything else.`;

/** claude stream-json: the final text is in result.result and in the last assistant text block. */
function claudeRun(text: string, resultText: string = text): Json[] {
  const [init, assistant, result] = jsonl('claude', 'captured/mock-success-text.jsonl') as [Json, Json, Json];
  const message = structuredClone(assistant.message) as Json;
  message.content = [{ type: 'text', text }];
  return [init, { ...assistant, message }, { ...result, result: resultText }];
}

/** codex --json: the final text is the last agent_message item. */
function codexRun(...messages: string[]): Json[] {
  const lines = jsonl('codex', 'captured/mock-command-execution.jsonl');
  const turnCompleted = lines.at(-1) as Json;
  const before = lines.slice(0, -2); // thread.started, turn.started, command item started/completed, reasoning
  const items = messages.map((text, i) => ({
    type: 'item.completed',
    item: { id: `item_${10 + i}`, type: 'agent_message', text },
  }));
  return [...before, ...items, turnCompleted];
}

/** gemini stream-json: the final text is the concatenation of the assistant `message` deltas. */
function geminiRun(chunks: string[]): Json[] {
  const lines = jsonl('gemini', 'captured/mock-success-stream-json.jsonl');
  const [init, user] = lines as [Json, Json];
  const delta = lines[2] as Json;
  const result = lines.at(-1) as Json;
  return [init, user, ...chunks.map((content) => ({ ...delta, content })), result];
}

/** Cut `text` at the given offsets (sorted, deduplicated, inside the text). */
function splitAt(text: string, offsets: number[]): string[] {
  const cuts = [...new Set(offsets.filter((o) => o > 0 && o < text.length))].sort((a, b) => a - b);
  const parts: string[] = [];
  let from = 0;
  for (const cut of cuts) {
    parts.push(text.slice(from, cut));
    from = cut;
  }
  parts.push(text.slice(from));
  return parts;
}

describe("extractVerdict on each CLI's real final-message shape", () => {
  it('the captured transcripts really have the shapes the tests rebuild', () => {
    expect(finalTextOf(jsonl('claude', 'captured/mock-success-text.jsonl'), parseClaudeLine)).toBe(
      'Hello! This is the mock model.',
    );
    expect(finalTextOf(jsonl('codex', 'captured/mock-command-execution.jsonl'), parseCodexLine)).toBe(
      'Hello! This is the mock model.',
    );
    // gemini: two deltas, "Hello! " + "This is the mock model."
    expect(finalTextOf(jsonl('gemini', 'captured/mock-success-stream-json.jsonl'), parseGeminiLine)).toBe(
      'Hello! This is the mock model.',
    );
  });

  describe('claude (result.result, else the last assistant text block)', () => {
    it('a ```json fenced verdict with prose around it', () => {
      const text = finalTextOf(claudeRun(fenced(BLOCKER)), parseClaudeLine);
      expect(text).toBe(fenced(BLOCKER));
      expect(extractVerdict(text ?? '')).toEqual(BLOCKER);
    });

    it('the result text wins over earlier assistant blocks (an example quoted while working does not count)', () => {
      const lines = claudeRun(fenced(APPROVE), fenced(CONCERN));
      expect(extractVerdict(finalTextOf(lines, parseClaudeLine) ?? '')).toEqual(CONCERN);
    });

    it('an empty result (seen in the wild, issue 38673) falls back to the last assistant text block', () => {
      const lines = claudeRun(`Review: ${JSON.stringify(CONCERN)}`, '');
      expect(extractVerdict(finalTextOf(lines, parseClaudeLine) ?? '')).toEqual(CONCERN);
    });

    it('a run that used tools first (tool_use / tool_result lines) still ends on the verdict', () => {
      const lines = jsonl('claude', 'captured/mock-tool-bypass-permissions-success.jsonl');
      const last = lines.length - 1;
      const result = { ...(lines[last] as Json), result: fenced(APPROVE) };
      const assistant = structuredClone(lines[last - 1] as Json);
      (assistant.message as Json).content = [{ type: 'text', text: fenced(APPROVE) }];
      expect(
        extractVerdict(finalTextOf([...lines.slice(0, last - 1), assistant, result], parseClaudeLine) ?? ''),
      ).toEqual(APPROVE);
    });

    it('the stricter retry answer (resumed turn: only the JSON, as the captured turn-2 result line)', () => {
      const [turn2] = jsonl('claude', 'captured/mock-resume-turn2-json.jsonl') as [Json];
      const text = finalTextOf([{ ...turn2, type: 'result', result: JSON.stringify(CONCERN) }], parseClaudeLine);
      expect(extractVerdict(text ?? '')).toEqual(CONCERN);
    });

    it('a long review (20 KB of findings, then the verdict) keeps its verdict through the adapter', () => {
      const findings = Array.from(
        { length: 400 },
        (_, i) => `- finding ${i}: the handler at src/h${i}.ts does too much work.`,
      ).join('\n');
      const review = `${findings}\n\n${fenced(BLOCKER)}`;
      expect(review.length).toBeGreaterThan(20_000);
      expect(extractVerdict(finalTextOf(claudeRun(review), parseClaudeLine) ?? '')).toEqual(BLOCKER);
    });
  });

  describe('codex (the last agent_message item)', () => {
    it('bare JSON as the whole message', () => {
      const text = finalTextOf(codexRun(JSON.stringify(BLOCKER, null, 2)), parseCodexLine);
      expect(extractVerdict(text ?? '')).toEqual(BLOCKER);
    });

    it('an earlier agent_message quoting an example does not count: the last message is the answer', () => {
      const lines = codexRun(
        `I will answer in this form: ${JSON.stringify(APPROVE)}`,
        `After reading the diff: ${JSON.stringify(CONCERN)} - that is all.`,
      );
      expect(extractVerdict(finalTextOf(lines, parseCodexLine) ?? '')).toEqual(CONCERN);
    });

    it('a last message without JSON has no verdict, even when an earlier one had one', () => {
      const lines = codexRun(`Draft: ${JSON.stringify(APPROVE)}`, 'On second thought I need more time.');
      expect(extractVerdict(finalTextOf(lines, parseCodexLine) ?? '')).toBeNull();
    });
  });

  describe('gemini (assistant deltas concatenated)', () => {
    it('deltas split in the middle of the JSON (inside keys, strings and numbers) join back to the verdict', () => {
      const review = fenced(BLOCKER);
      const start = review.indexOf('{');
      const chunks = splitAt(review, [
        start - 3,
        start + 1,
        start + 5,
        review.indexOf('users'),
        review.indexOf('12') + 1,
        review.indexOf('```', start) + 1,
      ]);
      expect(chunks.length).toBeGreaterThanOrEqual(6);
      const text = finalTextOf(geminiRun(chunks), parseGeminiLine);
      expect(text).toBe(review);
      expect(extractVerdict(text ?? '')).toEqual(BLOCKER);
    });

    it('any split of the deltas gives the same verdict (property)', () => {
      const review = `Summary of my review.\n${JSON.stringify(CONCERN)}\nThanks.`;
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 1, max: review.length - 1 }), { maxLength: 12 }), (offsets) => {
          expect(extractVerdict(finalTextOf(geminiRun(splitAt(review, offsets)), parseGeminiLine) ?? '')).toEqual(
            CONCERN,
          );
        }),
        { numRuns: 200 },
      );
    });

    it('the real public delta shape (issue 740: long prose streamed in pieces) followed by the verdict', () => {
      const prose = jsonl('gemini', 'public-issue740-assistant-deltas.jsonl').map((l) => String(l.content));
      const text = finalTextOf(
        geminiRun([...prose, '\n\nVerdict: ', JSON.stringify(CONCERN).slice(0, 20), JSON.stringify(CONCERN).slice(20)]),
        parseGeminiLine,
      );
      expect(text?.startsWith('` returns early')).toBe(true);
      expect(extractVerdict(text ?? '')).toEqual(CONCERN);
    });

    it('one long message line (20 KB of findings, then the verdict) keeps its verdict through the adapter', () => {
      const findings = Array.from(
        { length: 400 },
        (_, i) => `- finding ${i}: the handler at src/h${i}.ts does too much work.`,
      ).join('\n');
      const review = `${findings}\n\n${fenced(BLOCKER)}`;
      expect(review.length).toBeGreaterThan(20_000);
      expect(extractVerdict(finalTextOf(geminiRun([review]), parseGeminiLine) ?? '')).toEqual(BLOCKER);
    });

    it('a tool call between two assistant messages starts a new message: only the last one is the answer', () => {
      const lines = geminiRun([`Planned answer ${JSON.stringify(APPROVE)}`]);
      const tool = {
        type: 'tool_use',
        timestamp: '2026-11-21T05:33:12.970Z',
        tool_name: 'read_file',
        tool_id: 't1',
        parameters: { absolute_path: '/x' },
      };
      const second = { ...(lines[2] as Json), content: `Final: ${JSON.stringify(BLOCKER)}` };
      const text = finalTextOf([...lines.slice(0, -1), tool, second, lines.at(-1) as Json], parseGeminiLine);
      expect(text).toBe(`Final: ${JSON.stringify(BLOCKER)}`);
      expect(extractVerdict(text ?? '')).toEqual(BLOCKER);
    });
  });
});

// ---------------------------------------------------------------------------------------------------------
// Extraction rules on plain text
// ---------------------------------------------------------------------------------------------------------

describe('extractVerdict rules', () => {
  it('a ```json fence, a bare ``` fence and an upper-case JSON fence', () => {
    expect(extractVerdict(fenced(CONCERN))).toEqual(CONCERN);
    expect(extractVerdict(`Verdict:\n\`\`\`\n${JSON.stringify(APPROVE)}\n\`\`\``)).toEqual(APPROVE);
    expect(extractVerdict(`\`\`\`JSON\n${JSON.stringify(BLOCKER)}\n\`\`\``)).toEqual(BLOCKER);
  });

  it('bare JSON: compact and pretty-printed, with surrounding whitespace', () => {
    expect(extractVerdict(JSON.stringify(BLOCKER))).toEqual(BLOCKER);
    expect(extractVerdict(`\n\n  ${JSON.stringify(BLOCKER, null, 4)}  \n`)).toEqual(BLOCKER);
  });

  it('inline in prose, before and after', () => {
    expect(
      extractVerdict(`I reviewed the change. My verdict is ${JSON.stringify(CONCERN)} and I stand by it.`),
    ).toEqual(CONCERN);
  });

  it('stray braces in the prose before the verdict do not hide it', () => {
    expect(extractVerdict(`The handler uses { without closing it, and "quotes {". ${JSON.stringify(APPROVE)}`)).toEqual(
      APPROVE,
    );
  });

  it('two JSON objects (the format quoted, then the answer): the last valid one wins', () => {
    const quoted = `You asked for ${VERDICT_FORMAT}, e.g. ${JSON.stringify(APPROVE)}.`;
    expect(extractVerdict(`${quoted}\nMy answer: ${JSON.stringify(BLOCKER)}`)).toEqual(BLOCKER);
    // a fenced example first, the bare answer last
    expect(extractVerdict(`${fenced(APPROVE)}\n\nActually: ${JSON.stringify(CONCERN)}`)).toEqual(CONCERN);
    // a bare example first, the fenced answer last
    expect(extractVerdict(`Example: ${JSON.stringify(APPROVE)}\n${fenced(BLOCKER)}`)).toEqual(BLOCKER);
  });

  it('the last VALID one wins: a later object that is not a verdict does not erase the answer', () => {
    expect(extractVerdict(`${fenced(CONCERN)}\nFor the record: {"tests": 12, "passed": 12}`)).toEqual(CONCERN);
    expect(extractVerdict(`${JSON.stringify(BLOCKER)} and a broken one {"verdict": "approve", `)).toEqual(BLOCKER);
  });

  it('the answer format itself (VERDICT_FORMAT, or the whole prompt echoed back) is not a verdict', () => {
    expect(extractVerdict(VERDICT_FORMAT)).toBeNull();
    expect(extractVerdict(renderReviewPrompt(promptSpec(), 'diff --git a/x b/x\n+{"verdict":"approve"}'))).toBeNull();
    expect(extractVerdict(renderStrictVerdictRequest())).toBeNull();
  });

  it('upper-case and padded enums are normalised (verdict and severity)', () => {
    const text = JSON.stringify({
      verdict: ' BLOCKER ',
      summary: 's',
      issues: [
        { severity: 'Concern', message: 'm' },
        { severity: 'NIT', message: 'n' },
      ],
    });
    expect(extractVerdict(text)).toEqual({
      verdict: 'blocker',
      summary: 's',
      issues: [
        { severity: 'concern', message: 'm' },
        { severity: 'nit', message: 'n' },
      ],
    });
  });

  it('a line given as a numeric string becomes a number; null line/file are dropped', () => {
    const text = JSON.stringify({
      verdict: 'concern',
      summary: 's',
      issues: [
        { severity: 'concern', file: 'a.ts', line: '12', message: 'm' },
        { severity: 'nit', file: null, line: null, message: 'n' },
      ],
    });
    expect(extractVerdict(text)).toEqual({
      verdict: 'concern',
      summary: 's',
      issues: [
        { severity: 'concern', file: 'a.ts', line: 12, message: 'm' },
        { severity: 'nit', message: 'n' },
      ],
    });
  });

  it('issues may be left out (defaults to none); unknown extra keys are ignored', () => {
    expect(extractVerdict('{"verdict":"approve","summary":"fine"}')).toEqual({
      verdict: 'approve',
      summary: 'fine',
      issues: [],
    });
    expect(extractVerdict('{"verdict":"approve","summary":"fine","confidence":0.9}')).toEqual({
      verdict: 'approve',
      summary: 'fine',
      issues: [],
    });
  });

  it('broken JSON, no verdict: trailing comma (the fake\'s "broken" style), single quotes, comments, cut off', () => {
    const pretty = JSON.stringify(BLOCKER, null, 2);
    expect(extractVerdict(`Here is my verdict:\n\n\`\`\`json\n${pretty.replace(/\n\}$/, ',\n')}\n\`\`\``)).toBeNull();
    expect(extractVerdict("{'verdict':'approve','summary':'ok'}")).toBeNull();
    expect(extractVerdict('```json\n{"verdict":"approve", // fine\n"summary":"ok"}\n```')).toBeNull();
    expect(extractVerdict(JSON.stringify(BLOCKER).slice(0, -5))).toBeNull();
  });

  it('JSON that is valid but not a verdict gives no verdict', () => {
    for (const text of [
      '{"status":"ok"}',
      '{"verdict":"lgtm","summary":"fine"}', // not one of the three
      '{"verdict":"approve"}', // no summary
      '{"verdict":"approve","summary":42}',
      '{"verdict":"concern","summary":"s","issues":[{"severity":"major","message":"m"}]}', // unknown severity
      '{"verdict":"concern","summary":"s","issues":[{"severity":"concern"}]}', // issue without message
      // line not an integer
      '{"verdict":"concern","summary":"s","issues":[{"severity":"concern","line":3.5,"message":"m"}]}',
      '{"verdict":"concern","summary":"s","issues":"none"}',
      '["approve"]',
      '"approve"',
      'approve',
      '',
    ]) {
      expect(extractVerdict(text), text).toBeNull();
    }
  });

  it('the prose-only answer (the fake\'s "none" style) gives no verdict', () => {
    expect(extractVerdict('I reviewed the change. Verdict: blocker. The migration drops the users table.')).toBeNull();
  });

  it('braces and escaped quotes inside JSON strings do not confuse the object boundaries', () => {
    const tricky: Verdict = {
      verdict: 'concern',
      summary: 'Use `if (x) { return "}" }` instead of {{template}} and "\\"quoted\\"" {',
      issues: [{ severity: 'concern', file: 'src/{a}.ts', line: 3, message: 'the string "}{" breaks the parser }}}' }],
    };
    expect(extractVerdict(`Before: ${JSON.stringify(tricky)} after.`)).toEqual(tricky);
    expect(extractVerdict(fenced(tricky))).toEqual(tricky);
  });

  it('a fenced verdict is found even when prose braces enclose the whole fence', () => {
    expect(
      extractVerdict(`The block \`if (ok) {\` is fine.\n${fenced(CONCERN)}\nBut its closing \`}\` is missing.`),
    ).toEqual(CONCERN);
  });

  it('an inline verdict between a prose "{" and a later prose "}" is still found', () => {
    const text =
      `The block \`if (ok) {\` lacks a test. My verdict: ` +
      `${JSON.stringify(CONCERN)} Also its closing \`}\` is misindented.`;
    expect(extractVerdict(text)).toEqual(CONCERN);
  });

  it('unicode in the verdict survives', () => {
    const v: Verdict = {
      verdict: 'approve',
      summary: 'Très bien 👍 — 日本語',
      issues: [{ severity: 'nit', message: 'naïve façade' }],
    };
    expect(extractVerdict(`Voilà: ${JSON.stringify(v)}`)).toEqual(v);
  });

  it('a 200 KB message: long review prose and code, the verdict at the end, found quickly', () => {
    const block = 'The function `handle(req) { return next(req); }` should validate input. '.repeat(20);
    const prose = Array.from(
      { length: 150 },
      (_, i) => `## Finding ${i}\n${block}\n\`\`\`ts\nfunction f${i}() { return { a: ${i} }; }\n\`\`\`\n`,
    ).join('\n');
    const text = `${prose}\n${fenced(BLOCKER)}`;
    expect(text.length).toBeGreaterThan(200_000);
    const started = performance.now();
    expect(extractVerdict(text)).toEqual(BLOCKER);
    expect(performance.now() - started).toBeLessThan(2_000);
    // and at the start of the message, followed by 200 KB of prose
    expect(extractVerdict(`${JSON.stringify(CONCERN)}\n${prose}`)).toEqual(CONCERN);
  });
});

// ---------------------------------------------------------------------------------------------------------
// The review prompt
// ---------------------------------------------------------------------------------------------------------

function promptSpec(overrides: Partial<ReviewPromptSpec> = {}): ReviewPromptSpec {
  return {
    kind: 'review',
    task: 'Add a --dry-run flag to the deploy script',
    targetId: 'implementer',
    targetRole: 'implementer',
    targetAgent: 'claude',
    targetSummary: 'Added --dry-run to scripts/deploy.sh and a test in test/deploy.bats.',
    focus: 'implementation',
    targetDir: '/repo',
    baseCommit: '0123456789abcdef0123456789abcdef01234567',
    diffLimitBytes: 60_000,
    strict: false,
    ...overrides,
  };
}

const DIFF = [
  'diff --git a/scripts/deploy.sh b/scripts/deploy.sh',
  'index 1111111..2222222 100755',
  '--- a/scripts/deploy.sh',
  '+++ b/scripts/deploy.sh',
  '@@ -1,3 +1,6 @@',
  '+if [ "$1" = "--dry-run" ]; then',
  '+  echo "would deploy"; exit 0',
  '+fi',
].join('\n');

describe('renderReviewPrompt', () => {
  it("holds the task, the target's id/role/agent, its summary, the focus, the diff and the exact answer format", () => {
    const prompt = renderReviewPrompt(promptSpec(), DIFF);
    expect(prompt).toContain('You are a REVIEWER');
    expect(prompt).toContain('do not change any file');
    expect(prompt).toContain('TASK the team works on:\nAdd a --dry-run flag to the deploy script');
    expect(prompt).toContain('You review the work of the implementer (implementer, claude). Focus: implementation.');
    expect(prompt).toContain(
      'Its final summary:\nAdded --dry-run to scripts/deploy.sh and a test in test/deploy.bats.',
    );
    expect(prompt).toContain(`Its changes (git diff against commit 0123456789ab):\n\`\`\`diff\n${DIFF}\n\`\`\``);
    expect(prompt).toContain(
      `Your final message must contain exactly one JSON object of this form:\n${VERDICT_FORMAT}`,
    );
    expect(prompt).not.toContain('[diff truncated]');
    expect(prompt).not.toContain('IMPORTANT');
  });

  it("the issue's answer format: verdict approve|concern|blocker, summary, issues (severity/file/line/message)", () => {
    expect(VERDICT_FORMAT).toBe(
      '{"verdict":"approve"|"concern"|"blocker","summary":"...",' +
        '"issues":[{"severity":"blocker"|"concern"|"nit","file":"...","line":12,"message":"..."}]}',
    );
  });

  it('a target without a summary is said so', () => {
    expect(renderReviewPrompt(promptSpec({ targetSummary: '' }), DIFF)).toContain(
      'Its final summary:\n(it gave no summary)',
    );
  });

  it('past diffLimitBytes the diff is cut, with a note giving both sizes and "[diff truncated]"', () => {
    const big = `${DIFF}\n${'+echo line\n'.repeat(500)}`;
    const bytes = Buffer.byteLength(big);
    const prompt = renderReviewPrompt(promptSpec({ diffLimitBytes: 1000 }), big);
    expect(prompt).toContain(
      `Its changes (git diff against commit 0123456789ab; ${bytes} bytes, ` +
        `cut to the first 1000: read the files for the rest):`,
    );
    expect(prompt).toContain('[diff truncated]');
    const quoted = prompt.slice(prompt.indexOf('```diff\n') + 8, prompt.indexOf('\n```\n[diff truncated]'));
    expect(quoted).toBe(big.slice(0, 1000));
  });

  it('a diff of exactly diffLimitBytes is not cut; one byte more is', () => {
    const exact = `${DIFF}\n${'x'.repeat(100)}`;
    const limit = Buffer.byteLength(exact);
    expect(renderReviewPrompt(promptSpec({ diffLimitBytes: limit }), exact)).not.toContain('[diff truncated]');
    expect(renderReviewPrompt(promptSpec({ diffLimitBytes: limit - 1 }), exact)).toContain('[diff truncated]');
  });

  it('the cut never splits a UTF-8 character', () => {
    const diff = `+${'é'.repeat(50)}`; // 1 + 100 bytes
    const prompt = renderReviewPrompt(promptSpec({ diffLimitBytes: 50 }), diff); // byte 50 is the middle of an é
    expect(prompt).not.toContain('\uFFFD');
  });

  it('no git repository: the prompt says there is no diff and to inspect the files', () => {
    const prompt = renderReviewPrompt(promptSpec({ baseCommit: null }), null);
    expect(prompt).toContain(
      'No git diff is available (the target directory is not a git repository). Inspect the files directly.',
    );
    expect(prompt).not.toContain('```diff');
  });

  it('an empty diff is said to be empty (against the base commit, or the start of the session)', () => {
    expect(renderReviewPrompt(promptSpec(), '')).toContain('The diff against commit 0123456789ab is empty.');
    expect(renderReviewPrompt(promptSpec({ baseCommit: null }), '  \n')).toContain(
      'The diff against the start of the session is empty.',
    );
  });

  it('the strict variant adds the "ONLY the JSON object" instruction', () => {
    const prompt = renderReviewPrompt(promptSpec({ strict: true }), DIFF);
    expect(prompt).toContain(
      'IMPORTANT: your previous answer had no valid verdict. Reply with ONLY the JSON object, no prose, no code fence,',
    );
  });

  it('renderStrictVerdictRequest (the follow-up sent by native resume) repeats the exact format', () => {
    expect(renderStrictVerdictRequest()).toBe(
      [
        'Your previous answer did not contain a valid verdict.',
        'Reply with ONLY one JSON object, no prose and no code fence, exactly of this form:',
        VERDICT_FORMAT,
      ].join('\n'),
    );
  });
});

describe('the review prompt as the process host renders it (real git)', () => {
  const sandboxes: Sandbox[] = [];
  const makeSandbox = (options: Parameters<typeof makeSupportSandbox>[0]) => {
    const sandbox = makeSupportSandbox(options);
    sandboxes.push(sandbox);
    return sandbox;
  };
  afterEach(() => {
    for (const s of sandboxes.splice(0)) rmSync(s.dir, { recursive: true, force: true });
  });
  const git = (cwd: string, ...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd, encoding: 'utf8' }).trim();

  it("quotes the diff against the session's base: tracked changes, commits since, new untracked files", async () => {
    const sandbox = makeSandbox({ git: true, files: { 'README.md': '# target\n', 'app.js': 'console.log(1);\n' } });
    const base = git(sandbox.target, 'rev-parse', 'HEAD');
    writeFileSync(join(sandbox.target, 'app.js'), 'console.log(2);\n');
    writeFileSync(join(sandbox.target, 'committed.txt'), 'committed after the start\n');
    git(sandbox.target, 'add', 'committed.txt');
    git(sandbox.target, 'commit', '-q', '-m', 'agent commit');
    writeFileSync(join(sandbox.target, 'new-file.txt'), 'brand new\n');
    const prompt = await renderPrompt(promptSpec({ targetDir: sandbox.target, baseCommit: base }));
    expect(prompt).toContain(`Its changes (git diff against commit ${base.slice(0, 12)}):`);
    expect(prompt).toContain('-console.log(1);\n+console.log(2);');
    expect(prompt).toContain('+committed after the start');
    expect(prompt).toContain('+++ b/new-file.txt');
    expect(prompt).toContain('+brand new');
    expect(prompt).not.toContain('README');
  });

  it('truncates the real diff past diffLimitBytes', async () => {
    const sandbox = makeSandbox({ git: true });
    const base = git(sandbox.target, 'rev-parse', 'HEAD');
    writeFileSync(join(sandbox.target, 'big.txt'), 'a line of text\n'.repeat(200));
    const prompt = await renderPrompt(promptSpec({ targetDir: sandbox.target, baseCommit: base, diffLimitBytes: 300 }));
    expect(prompt).toMatch(/bytes, cut to the first 300: read the files for the rest\)/);
    expect(prompt).toContain('[diff truncated]');
  });

  it('a target that is not a git repository gets the no-diff note', async () => {
    const sandbox = makeSandbox({ git: false });
    const prompt = await renderPrompt(promptSpec({ targetDir: sandbox.target, baseCommit: null }));
    expect(prompt).toContain('No git diff is available (the target directory is not a git repository)');
  });
});
