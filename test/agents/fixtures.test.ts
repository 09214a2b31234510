/**
 * Every captured and public transcript of test/fixtures/transcripts through the adapters: each line parses
 * into valid payloads (no `unknown` unless its type is listed with a reason), each public transcript yields the
 * normalized kinds its lines really hold, and each captured run classifies as the table below says.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AgentPayloadSchema, type AgentPayload, type FailureKind } from '../../src/domain/events.js';
import type { AgentAdapter } from '../../src/agents/types.js';
import { claudeAdapter } from '../../src/agents/claude.js';
import { codexAdapter } from '../../src/agents/codex.js';
import { geminiAdapter } from '../../src/agents/gemini.js';

const ROOT = fileURLToPath(new URL('../fixtures/transcripts/', import.meta.url));
const SHARED = '/work/shared/fixtures';
const ADAPTERS = { claude: claudeAdapter, codex: codexAdapter, gemini: geminiAdapter } as const;
type Agent = keyof typeof ADAPTERS;
const AGENTS = Object.keys(ADAPTERS) as Agent[];
const STDOUT_FILE = /(\.jsonl|\.stdout\.txt|\.stdout\.json|\.stdout\.empty\.txt)$/;
const NOW = new Date('2026-11-21T12:00:00Z');

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

function stdoutFiles(agent: Agent): string[] {
  return filesUnder(join(ROOT, agent))
    .filter((file) => STDOUT_FILE.test(file))
    .sort();
}

function parseFile(adapter: AgentAdapter, file: string): { line: string; payloads: AgentPayload[] }[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => ({ line, payloads: adapter.parseLine(line) }));
}

/** Types a current CLI prints that have no normalized payload yet, and why that is fine. */
const ALLOWED_UNKNOWN: Record<Agent, Record<string, string>> = {
  claude: {
    stream_event: 'partial-message deltas (only with --include-partial-messages); the complete assistant line follows',
    'system/status': 'a "requesting" progress notice without content',
  },
  codex: {},
  gemini: {},
};

describe('the fixture copy', () => {
  it('holds transcripts of all three CLIs', () => {
    for (const agent of AGENTS) expect(stdoutFiles(agent).length).toBeGreaterThan(5);
  });

  it.skipIf(!existsSync(SHARED))('is byte-identical to /work/shared/fixtures', () => {
    const ours = filesUnder(ROOT)
      .map((file) => relative(ROOT, file))
      .sort();
    const theirs = filesUnder(SHARED)
      .map((file) => relative(SHARED, file))
      .sort();
    expect(ours).toEqual(theirs);
    for (const file of theirs) {
      expect(readFileSync(join(ROOT, file)).equals(readFileSync(join(SHARED, file))), file).toBe(true);
    }
  });
});

describe.each(AGENTS)('%s transcripts parse', (agent) => {
  const adapter = ADAPTERS[agent];
  it.each(stdoutFiles(agent).map((file) => relative(ROOT, file)))('%s', (file) => {
    for (const { line, payloads } of parseFile(adapter, join(ROOT, file))) {
      if (line.trim() === '') {
        expect(payloads).toEqual([]);
        continue;
      }
      expect(payloads.length, line.slice(0, 200)).toBeGreaterThanOrEqual(1);
      for (const payload of payloads) {
        AgentPayloadSchema.parse(payload);
        // Captured and public transcripts alike: an `unknown` payload must be a type listed with its reason.
        if (payload.kind === 'unknown') {
          expect(ALLOWED_UNKNOWN[agent], `unexpected unknown ${payload.originalType} in ${file}`).toHaveProperty([
            payload.originalType,
          ]);
        }
      }
    }
  });
});

// Every public transcript, line by line: the raw `type` (with `/subtype` for claude, `:item.type` for codex
// items) read from the file, and the normalized kinds the adapter must make of it. Written out by hand from the
// files, so a transcript that parsed to `unknown` (or to anything else it does not hold) fails here.
type LineKinds = readonly [rawType: string, kinds: readonly AgentPayload['kind'][]];
const PUBLIC_KINDS: Record<Agent, Record<string, readonly LineKinds[]>> = {
  claude: {
    'public-gleam-golden-basic-query.jsonl': [
      ['system/init', ['init']],
      ['assistant', ['message']], // content: one text block
      ['result/success', ['usage', 'result']],
    ],
    'public-gleam-tool-use-run.jsonl': [
      ['system/init', ['init']],
      ['assistant', ['command']], // content: one tool_use block, Bash `ls -la`
      ['user', ['tool_result']], // content: one tool_result block
      ['result/success', ['usage', 'result']],
    ],
    'public-issue38673-rate-limit-event-empty-result.jsonl': [
      ['system/init', ['init']],
      ['assistant', ['message']],
      ['rate_limit_event', ['error']], // status "allowed": a warning, not a failure
      ['result/success', ['usage', 'result']],
    ],
    'public-issue98-error-max-turns.jsonl': [['result/error_max_turns', ['usage', 'result']]],
  },
  codex: {
    'public-agentcmd-simple-answer.jsonl': [
      ['thread.started', ['init']],
      ['turn.started', ['message']], // a system "turn started" message
      ['item.completed:reasoning', ['reasoning']],
      ['item.completed:agent_message', ['message']],
      ['turn.completed', ['usage', 'result']],
    ],
    'public-issue37676-rollout-budget-turn-failed.jsonl': [
      ['thread.started', ['init']],
      ['item.completed:error', ['error']], // a warning item, before turn.started
      ['turn.started', ['message']],
      ['item.completed:agent_message', ['message']],
      ['error', ['error']],
      ['turn.failed', ['result']],
    ],
    'public-openai-codex-docs-exec-sample.jsonl': [
      ['thread.started', ['init']],
      ['turn.started', ['message']],
      ['item.completed:reasoning', ['reasoning']],
      ['item.started:command_execution', ['command']],
      ['item.completed:command_execution', ['command']],
      ['item.completed:reasoning', ['reasoning']],
      ['item.completed:agent_message', ['message']],
      ['turn.completed', ['usage', 'result']],
    ],
  },
  gemini: {
    'public-gemini-cli-snapshot-loop-detected.jsonl': [
      ['init', ['init']],
      ['message', ['message']], // role user
      ['error', ['error']], // severity warning
      ['result', ['usage', 'result']],
    ],
    'public-gemini-cli-snapshot-max-session-turns.jsonl': [
      ['init', ['init']],
      ['message', ['message']],
      ['error', ['error']], // severity error
      ['result', ['usage', 'result']],
    ],
    'public-gemini-cli-snapshot-stream-with-tool.jsonl': [
      ['init', ['init']],
      ['message', ['message']], // role user
      ['message', ['message']], // assistant delta
      ['tool_use', ['tool_call']],
      ['tool_result', ['tool_result']],
      ['message', ['message']], // assistant delta
      ['result', ['usage', 'result']],
    ],
    'public-issue740-assistant-deltas.jsonl': [
      ['message', ['message']],
      ['message', ['message']],
      ['message', ['message']],
    ],
  },
};

/** `public-*` transcripts of an agent have no `unknown` line allowed: none is listed, so none may appear. */
const PUBLIC_ALLOWED_UNKNOWN: Record<Agent, Record<string, string>> = { claude: {}, codex: {}, gemini: {} };

function publicFiles(agent: Agent): string[] {
  return readdirSync(join(ROOT, agent))
    .filter((name) => name.startsWith('public-') && STDOUT_FILE.test(name))
    .sort();
}

function rawType(agent: Agent, line: string): string {
  const value = JSON.parse(line) as { type: string; subtype?: string; item?: { type?: string } };
  if (agent === 'claude' && value.subtype !== undefined) return `${value.type}/${value.subtype}`;
  if (agent === 'codex' && value.item?.type !== undefined) return `${value.type}:${value.item.type}`;
  return value.type;
}

describe.each(AGENTS)('%s public transcripts yield the kinds they hold', (agent) => {
  const adapter = ADAPTERS[agent];

  it('the table covers every public transcript', () => {
    expect(publicFiles(agent).length).toBeGreaterThan(0);
    expect(Object.keys(PUBLIC_KINDS[agent]).sort()).toEqual(publicFiles(agent));
  });

  it.each(publicFiles(agent))('%s', (file) => {
    const expected = PUBLIC_KINDS[agent][file] ?? [];
    const lines = parseFile(adapter, join(ROOT, agent, file)).filter(({ line }) => line.trim() !== '');
    // Line by line: the raw type read from the file, and the kinds the adapter made of it.
    expect(lines.map(({ line, payloads }) => [rawType(agent, line), payloads.map((p) => p.kind)])).toEqual(expected);
    // The multiset of kinds over the whole file, as the same table says.
    const count = (kinds: string[]) =>
      kinds.reduce<Record<string, number>>((acc, k) => ({ ...acc, [k]: (acc[k] ?? 0) + 1 }), {});
    expect(count(lines.flatMap(({ payloads }) => payloads.map((p) => p.kind)))).toEqual(
      count(expected.flatMap(([, kinds]) => [...kinds])),
    );
    for (const { line, payloads } of lines) {
      for (const payload of payloads) {
        if (payload.kind === 'unknown')
          expect(
            PUBLIC_ALLOWED_UNKNOWN[agent],
            `unexpected unknown ${payload.originalType} in ${file}: ${line.slice(0, 200)}`,
          ).toHaveProperty([payload.originalType]);
        if (payload.kind === 'malformed') expect.fail(`malformed line in ${file}: ${line.slice(0, 200)}`);
      }
    }
  });
});

describe('non-JSON stdout becomes malformed payloads', () => {
  it.each([
    ['gemini', 'gemini/captured/mock-success-json.stdout.json'],
    ['claude', 'claude/captured/offline-not-logged-in-text.stdout.txt'],
    ['claude', 'claude/captured/mock-api-429-rate-limit-text.stdout.txt'],
  ] as const)('%s %s', (agent, file) => {
    const lines = parseFile(ADAPTERS[agent], join(ROOT, file)).filter(({ line }) => line.trim() !== '');
    expect(lines.length).toBeGreaterThan(0);
    for (const { line, payloads } of lines) {
      expect(payloads).toEqual([expect.objectContaining({ kind: 'malformed', line, truncated: false })]);
    }
  });
});

interface Expected {
  kind: FailureKind | null;
  /** A fragment of the agent's own words the signal must quote. */
  says?: string;
  httpStatus?: number;
}

// Every captured run with a meta.json. null: the run succeeded (exit 0).
const EXPECTED: Record<Agent, Record<string, Expected>> = {
  claude: {
    'mock-api-401-auth': { kind: 'auth', says: 'Invalid API key', httpStatus: 401 },
    'mock-api-429-rate-limit-json': { kind: 'rate_limit', says: 'Request rejected (429)', httpStatus: 429 },
    // Text mode: the only evidence is the printed line, which reaches the classifier as a malformed payload.
    'mock-api-429-rate-limit-text': { kind: 'rate_limit', says: 'Request rejected (429)', httpStatus: 429 },
    'mock-api-429-rate-limit': { kind: 'rate_limit', says: 'Request rejected (429)', httpStatus: 429 },
    'mock-error-max-turns': { kind: 'max_turns', says: 'Reached maximum number of turns (2)' },
    'mock-resume-turn1-json': { kind: null },
    'mock-resume-turn2-json': { kind: null },
    'mock-success-include-partial-messages': { kind: null },
    'mock-success-text': { kind: null },
    'mock-tool-bypass-permissions-success': { kind: null },
    // IS_SANDBOX=1 got past the root check: what is left is the missing login.
    'offline-IS_SANDBOX-root-bypass-not-logged-in': { kind: 'auth', says: 'Not logged in' },
    'offline-not-logged-in-json': { kind: 'auth', says: 'Not logged in' },
    'offline-not-logged-in-stream-json': { kind: 'auth', says: 'Not logged in' },
    'offline-not-logged-in-text': { kind: 'auth', says: 'Not logged in' },
    'offline-root-dangerously-skip-refused': { kind: 'root_bypass_refused', says: 'root/sudo privileges' },
    'offline-root-permission-mode-bypass-refused': { kind: 'root_bypass_refused', says: 'root/sudo privileges' },
    'offline-root-refused-with-STARTUP_FAILURE_RESULTS': { kind: 'root_bypass_refused', says: 'root/sudo privileges' },
    'offline-stream-json-without-verbose': { kind: 'invalid_args', says: 'requires --verbose' },
  },
  codex: {
    // The provider says the model does not exist: a launch option to fix, not something to retry.
    'mock-api-400-model-not-found': { kind: 'invalid_args', says: 'does not exist or you do not have access' },
    'mock-api-401': { kind: 'auth', says: '401 Unauthorized', httpStatus: 401 },
    'mock-api-429-insufficient-quota': { kind: 'quota', says: 'Quota exceeded' },
    'mock-api-429-rate-limit': { kind: 'rate_limit', says: '429 Too Many Requests', httpStatus: 429 },
    'mock-api-500': { kind: 'server_error', says: 'high demand' },
    'mock-command-execution': { kind: null },
    // Ten retry notices about a WebSocket 404 come first; the final turn.failed (401) decides.
    'mock-no-credentials-401-default-provider-ws-fallback': { kind: 'auth', says: '401 Unauthorized', httpStatus: 401 },
    'mock-readonly-sandbox-denied-no-item': { kind: null },
    'mock-resume-turn1': { kind: null },
    'mock-resume-turn2': { kind: null },
    'mock-sandbox-helper-missing-home-under-tmp': { kind: null },
    'mock-success-ws-fallback-default-provider': { kind: null },
    'mock-workspace-write-sandbox-ok': { kind: null },
    // Exit 124 is `timeout` killing codex; only the retry notices say why it never finished.
    'offline-no-network-killed-by-timeout60': { kind: 'network', says: 'waiting for network' },
    'offline-no-network-timeout590': { kind: 'network', says: 'waiting for network' },
    'offline-nogit-with-bypass-flag-no-check': { kind: 'network', says: 'waiting for network' },
    'offline-not-inside-trusted-directory': { kind: 'not_git_repo', says: '--skip-git-repo-check was not specified' },
    'resume-unknown-thread': { kind: 'resume_not_found', says: 'no rollout found for thread id' },
  },
  gemini: {
    // HTTP 400, but the reason is API_KEY_INVALID: auth, not invalid_args.
    'mock-api-400-invalid-key-json': { kind: 'auth', says: 'API key not valid', httpStatus: 400 },
    'mock-api-400-invalid-key-stream-json': { kind: 'auth', says: 'API key not valid', httpStatus: 400 },
    'mock-api-403-json': { kind: 'auth', says: 'unregistered callers', httpStatus: 403 },
    // Exit 173 (429), but a daily quota does not clear in seconds: quota, not rate_limit.
    'mock-api-429-daily-quota-json': { kind: 'quota', says: 'exhausted your daily quota', httpStatus: 429 },
    'mock-api-429-daily-quota-stream-json': { kind: 'quota', says: 'exhausted your daily quota', httpStatus: 429 },
    'mock-api-429-retryable-stream-json': { kind: 'rate_limit', says: 'Resource has been exhausted', httpStatus: 429 },
    'mock-api-500-stream-json': { kind: 'server_error', says: 'An internal error has occurred', httpStatus: 500 },
    'mock-max-session-turns-json': { kind: 'max_turns', says: 'Reached max session turns' },
    'mock-max-session-turns-stream-json': { kind: 'max_turns', says: 'Reached max session turns' },
    'mock-no-yolo-shell-tools-not-offered': { kind: null },
    'mock-resume-by-uuid-stream-json': { kind: null },
    'mock-shell-nonzero-exit-reported-as-success': { kind: null },
    'mock-success-json': { kind: null },
    'mock-success-stream-json': { kind: null },
    'mock-tool-not-registered-error': { kind: null },
    'mock-untrusted-folder-json': { kind: 'untrusted_folder', says: 'not running in a trusted directory' },
    'offline-network-failure-after-retries': { kind: 'network', says: 'fetch failed' },
    'offline-network-failure-killed-by-timeout60': { kind: 'network', says: 'fetch failed' },
    // The folder is also untrusted here ("Approval mode overridden"), but gemini checks auth first (exit 41).
    'offline-no-auth-json': { kind: 'auth', says: 'Please set an Auth method' },
    'offline-no-auth-stream-json': { kind: 'auth', says: 'Please set an Auth method' },
    'offline-no-auth-text': { kind: 'auth', says: 'Please set an Auth method' },
    'resume-unknown-session': { kind: 'resume_not_found', says: 'Invalid session identifier' },
  },
};

function capturedRuns(agent: Agent): string[] {
  return readdirSync(join(ROOT, agent, 'captured'))
    .filter((name) => name.endsWith('.meta.json'))
    .map((name) => name.slice(0, -'.meta.json'.length))
    .sort();
}

describe.each(AGENTS)('%s captured runs classify', (agent) => {
  const adapter = ADAPTERS[agent];
  const dir = join(ROOT, agent, 'captured');

  it('the table covers every captured run', () => {
    expect(Object.keys(EXPECTED[agent]).sort()).toEqual(capturedRuns(agent));
  });

  it.each(capturedRuns(agent))('%s', (run) => {
    const meta = JSON.parse(readFileSync(join(dir, `${run}.meta.json`), 'utf8')) as { exit_code: number };
    const stdout = readdirSync(dir).find((name) => name.startsWith(`${run}.`) && STDOUT_FILE.test(name));
    expect(stdout, `stdout file of ${run}`).toBeDefined();
    const events = parseFile(adapter, join(dir, stdout ?? '')).flatMap(({ payloads }) => payloads);
    const stderrPath = join(dir, `${run}.stderr.txt`);
    const stderrTail = existsSync(stderrPath) ? readFileSync(stderrPath, 'utf8') : '';
    const signal = adapter.classifyFailure({ exitCode: meta.exit_code, signal: null, stderrTail, events, now: NOW });
    const expected = EXPECTED[agent][run];
    expect(expected, `no expectation for ${run}`).toBeDefined();
    if (!expected?.kind) {
      expect(signal).toBeNull();
      return;
    }
    expect(signal?.kind).toBe(expected.kind);
    expect(signal?.message).toContain(expected.says);
    expect(signal?.exitCode).toBe(meta.exit_code);
    if (expected.httpStatus !== undefined) expect(signal?.httpStatus).toBe(expected.httpStatus);
  });
});

// The parseLine contract on input no CLI printed yet: never throws, a non-blank line always yields valid payloads.
describe.each(AGENTS)('%s parseLine on arbitrary input', (agent) => {
  const adapter = ADAPTERS[agent];
  const KNOWN_TYPES = [
    'system',
    'assistant',
    'user',
    'result',
    'rate_limit_event',
    'stream_event',
    'thread.started',
    'turn.started',
    'item.started',
    'item.updated',
    'item.completed',
    'turn.completed',
    'turn.failed',
    'error',
    'init',
    'message',
    'tool_use',
    'tool_result',
  ];
  const check = (line: string) => {
    const payloads = adapter.parseLine(line);
    if (line.trim() === '') expect(payloads).toEqual([]);
    else expect(payloads.length).toBeGreaterThanOrEqual(1);
    for (const payload of payloads) AgentPayloadSchema.parse(payload);
  };

  it('any string', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), check), { numRuns: 300 });
  });

  it('any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => check(JSON.stringify(value))),
      { numRuns: 300 },
    );
  });

  it('objects of known types with arbitrary fields', () => {
    const field = fc.oneof(
      fc.jsonValue(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.constantFrom('init', 'api_retry', 'text', 'tool_use', 'Bash', 'completed', 1e300, -1, 2 ** 53 + 2),
    );
    const number = fc.oneof(field, fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer());
    const shaped = fc.record(
      {
        type: fc.constantFrom(...KNOWN_TYPES),
        subtype: field,
        message: fc.oneof(
          field,
          fc.record({ id: field, content: fc.array(fc.record({ type: field, text: field, input: field, id: field })) }),
        ),
        item: fc.oneof(
          field,
          fc.record({ id: field, type: field, status: field, changes: field, items: field, text: field }),
        ),
        error: field,
        usage: fc.oneof(field, fc.record({ input_tokens: number, output_tokens: number, cached_input_tokens: number })),
        stats: fc.oneof(field, fc.record({ input_tokens: number, duration_ms: number, cached: number })),
        api_error_status: number,
        num_turns: number,
        duration_ms: number,
        total_cost_usd: number,
        error_status: number,
        role: field,
        content: field,
        parameters: field,
        tool_name: field,
        is_error: field,
        rate_limit_info: field,
      },
      { requiredKeys: ['type'] },
    );
    fc.assert(
      fc.property(shaped, (value) => check(JSON.stringify(value))),
      { numRuns: 1000 },
    );
  });
});
