/**
 * ACP (`gemini --acp`): the parser on what gemini 0.61.0 really printed (captured against a loopback fake model
 * server: test/fixtures/protocols/gemini), and the conversation that answers its requests, pure.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AcpConversation, parseAcpLine, readOnlyMode } from '../../src/agents/acp.js';
import type { Envelope } from '../../src/agents/conversation.js';
import { agentRegistry } from '../../src/agents/registry.js';
import type { LaunchOptions } from '../../src/agents/types.js';
import type { AgentPayload } from '../../src/domain/events.js';

const CAPTURED = join(import.meta.dirname, '../fixtures/protocols/gemini');
const captured = (name: string) =>
  readFileSync(join(CAPTURED, `${name}.jsonl`), 'utf8')
    .split('\n')
    .filter(Boolean);
const launch: Omit<LaunchOptions, 'prompt'> = { targetDir: '/repo', includeDirs: [], fixes: {} };
const conversation = (over: Partial<typeof launch> = {}) => new AcpConversation({ ...launch, ...over });

/** What the parser makes of a capture's lines, bookkeeping left out as the conversation leaves it. */
function payloadsOf(name: string): AgentPayload[] {
  const c = conversation();
  return captured(name).flatMap((line) => {
    // The research host's ids are numbers, ours are names: its responses are told apart by shape here (the
    // conversation keeps the handshake's and the mode's; a session, a prompt's end or an error is the agent's).
    if (!line.includes('"method"')) return /"sessionId"|"stopReason"|"error"/.test(line) ? parseAcpLine(line) : [];
    return c.onLine(line).consumed ? [] : parseAcpLine(line);
  });
}
const lines = (envelopes: readonly Envelope[] | null) =>
  (envelopes ?? []).map((e) => ('line' in e ? JSON.parse(e.line) : { end: e.id }));
const sent = (steps: ReadonlyArray<{ kind: string }>) =>
  steps.flatMap((s) => ('envelopes' in s ? lines(s.envelopes as Envelope[]) : []));
const json = (value: unknown) => JSON.stringify({ jsonrpc: '2.0', ...(value as object) });
const SID = 'be5ccea7-abd4-409a-b300-c0923f68bb52';
const OPTIONS = [
  { optionId: 'proceed_always', name: 'Allow for this session', kind: 'allow_always' },
  { optionId: 'proceed_once', name: 'Allow', kind: 'allow_once' },
  { optionId: 'cancel', name: 'Reject', kind: 'reject_once' },
];

describe('gemini --acp lines', () => {
  it('what the real gemini printed parses, with nothing unknown or malformed but the slash-command list', () => {
    for (const name of ['basic', 'permissions', 'errors', 'cancel']) {
      const odd = payloadsOf(name).filter(
        (p) => p.kind === 'malformed' || (p.kind === 'unknown' && !p.originalType.includes('available_commands')),
      );
      expect(odd, name).toEqual([]);
    }
  });

  it('a session, message pieces, a prompt end with its usage', () => {
    const payloads = payloadsOf('basic');
    expect(payloads).toContainEqual(expect.objectContaining({ kind: 'init', agentSessionId: expect.any(String) }));
    const text = payloads
      .filter((p) => p.kind === 'message' && p.role === 'assistant')
      .map((p) => (p.kind === 'message' ? p.text : ''))
      .join('');
    expect(text).toContain('fake model');
    expect(payloads).toContainEqual({
      kind: 'usage',
      cumulative: false,
      usage: { inputTokens: 1250, outputTokens: 19 },
    });
    expect(payloads).toContainEqual({ kind: 'result', ok: true, reason: 'end_turn' });
  });

  it('a permission request shows its call (command started, write proposed with its diff); its update ends it', () => {
    const payloads = payloadsOf('permissions');
    expect(payloads).toContainEqual(
      expect.objectContaining({ kind: 'command', command: 'echo hi > shell.txt && cat shell.txt', status: 'started' }),
    );
    expect(payloads).toContainEqual(
      expect.objectContaining({
        kind: 'command',
        command: 'echo hi > shell.txt && cat shell.txt',
        status: 'completed',
      }),
    );
    expect(payloads).toContainEqual(
      expect.objectContaining({
        kind: 'file_change',
        status: 'proposed',
        changes: [{ path: expect.stringMatching(/notes\.txt$/), kind: 'add' }],
      }),
    );
  });

  it("a model error is the prompt's JSON-RPC error, its code the HTTP status: an error and a failed result", () => {
    const payloads = payloadsOf('errors');
    const failed = payloads.filter((p) => p.kind === 'result' && !p.ok);
    expect(failed.map((p) => (p.kind === 'result' ? p.httpStatus : 0))).toEqual(
      expect.arrayContaining([500, 429, 401]),
    );
  });

  it('the gemini adapter classifies a run that exited 0 by its last prompt', () => {
    const classify = agentRegistry.gemini.interactive?.classifyFailure;
    const base = { signal: null, stderrTail: '', now: new Date() };
    expect(classify?.({ ...base, exitCode: 0, events: [{ kind: 'result', ok: true }] })).toBeNull();
    const limited = classify?.({
      ...base,
      exitCode: 0,
      events: [{ kind: 'result', ok: false, text: 'fake 429', httpStatus: 429 }],
    });
    expect(limited?.kind).toBe('rate_limit');
  });
});

describe('ACP conversation', () => {
  /** A conversation whose session is there and whose prompt went out. */
  function started() {
    const c = conversation();
    c.opening('Fix the bug.');
    c.onLine(json({ id: 'initialize', result: { protocolVersion: 1 } }));
    c.onLine(json({ id: 'session', result: { sessionId: SID } }));
    return c;
  }

  it('opens with initialize (no fs, no terminal), then a session in the folder, then the prompt', () => {
    const c = conversation();
    expect(lines(c.opening('Fix the bug.'))).toEqual([
      {
        jsonrpc: '2.0',
        id: 'initialize',
        method: 'initialize',
        params: {
          protocolVersion: 1,
          clientCapabilities: { fs: { readTextFile: false, writeTextFile: false }, terminal: false },
          clientInfo: { name: 'meta-orchestrator', version: '0.1.0' },
        },
      },
    ]);
    expect(sent(c.onLine(json({ id: 'initialize', result: { protocolVersion: 1 } })).steps)).toEqual([
      { jsonrpc: '2.0', id: 'session', method: 'session/new', params: { cwd: '/repo', mcpServers: [] } },
    ]);
    const session = c.onLine(json({ id: 'session', result: { sessionId: SID } }));
    // The session's response is the agent's init: left to the parser.
    expect(session.consumed).toBe(false);
    expect(sent(session.steps)).toEqual([
      {
        jsonrpc: '2.0',
        id: 'message:prompt',
        method: 'session/prompt',
        params: { sessionId: SID, prompt: [{ type: 'text', text: 'Fix the bug.' }] },
      },
    ]);
  });

  it('a reviewer asks for plan mode before its prompt', () => {
    const c = conversation({ readOnly: true });
    c.opening('Review.');
    c.onLine(json({ id: 'initialize', result: {} }));
    const steps = sent(c.onLine(json({ id: 'session', result: { sessionId: SID } })).steps);
    expect(steps.map((l) => l.method)).toEqual(['session/set_mode', 'session/prompt']);
    expect(steps[0].params).toEqual({ sessionId: SID, modeId: 'plan' });
  });

  it("a reviewer's read-only mode is the one its agent offers: plan, else one named read-only, else none", () => {
    const modes = (...ids: Array<string | { id: string; name?: string; description?: string }>) => ({
      currentModeId: 'default',
      availableModes: ids.map((m) => (typeof m === 'string' ? { id: m, name: m } : m)),
    });
    expect(readOnlyMode(modes('default', 'plan', 'yolo'))).toBe('plan');
    expect(readOnlyMode(modes('build', { id: 'ro', name: 'Read Only' }))).toBe('ro');
    expect(readOnlyMode(modes('build', { id: 'look', name: 'Look', description: 'read-only tools' }))).toBe('look');
    expect(readOnlyMode(modes('build', 'yolo'))).toBeNull();
    expect(readOnlyMode(undefined)).toBe('plan');
    const c = conversation({ readOnly: true });
    c.opening('Review.');
    c.onLine(json({ id: 'initialize', result: {} }));
    const steps = sent(c.onLine(json({ id: 'session', result: { sessionId: SID, modes: modes('build') } })).steps);
    expect(steps.map((l) => l.method)).toEqual(['session/prompt']);
  });

  it('a permission is decided as Bash or Edit, answered by its allow_once or reject_once option, never always', () => {
    const c = started();
    const ask = (id: number, toolCall: object) =>
      c.onLine(
        json({ id, method: 'session/request_permission', params: { sessionId: SID, options: OPTIONS, toolCall } }),
      );
    const command = ask(0, {
      toolCallId: 'run_shell_command__1',
      kind: 'execute',
      title: 'npm test',
      status: 'pending',
    });
    expect(command.consumed).toBe(false);
    expect(command.steps).toEqual([
      { kind: 'permission', request: { requestId: '0', tool: 'Bash', command: 'npm test' } },
    ]);
    const write = ask(1, {
      toolCallId: 'write_file__2',
      kind: 'edit',
      content: [{ type: 'diff', path: '/repo/a.txt', oldText: '', newText: 'x', _meta: { kind: 'add' } }],
    });
    expect(write.steps).toEqual([
      { kind: 'permission', request: { requestId: '1', tool: 'Edit', paths: ['/repo/a.txt'] } },
    ]);
    expect(lines(c.answer('0', 'allow'))).toEqual([
      { jsonrpc: '2.0', id: 0, result: { outcome: { outcome: 'selected', optionId: 'proceed_once' } } },
    ]);
    expect(lines(c.answer('1', 'deny'))).toEqual([
      { jsonrpc: '2.0', id: 1, result: { outcome: { outcome: 'selected', optionId: 'cancel' } } },
    ]);
    expect(c.pending).toEqual([]);
  });

  it('another request of the agent (fs, terminal) gets an error at once', () => {
    const c = started();
    expect(sent(c.onLine(json({ id: 5, method: 'fs/read_text_file', params: {} })).steps)).toEqual([
      {
        jsonrpc: '2.0',
        id: 5,
        error: { code: -32601, message: 'fs/read_text_file is not offered by the orchestrator' },
      },
    ]);
  });

  it('a message waits for the running prompt, then is a prompt of its own; stdin closes after the last result', () => {
    const c = started();
    expect(c.say('Also the docs.', 'm1')).toEqual([]);
    const first = c.onLine(json({ id: 'message:prompt', result: { stopReason: 'end_turn' } }));
    expect(first.consumed).toBe(false);
    expect(sent(first.steps)).toEqual([
      {
        jsonrpc: '2.0',
        id: 'message:m1',
        method: 'session/prompt',
        params: { sessionId: SID, prompt: [{ type: 'text', text: 'Also the docs.' }] },
      },
    ]);
    expect(sent(c.onLine(json({ id: 'message:m1', result: { stopReason: 'end_turn' } })).steps)).toEqual([
      { end: 'end' },
    ]);
    expect(c.say('too late', 'm2')).toBeNull();
  });

  it("a stop cancels the session and answers each pending request cancelled; the prompt's end is the last", () => {
    const c = started();
    c.onLine(
      json({
        id: 3,
        method: 'session/request_permission',
        params: { sessionId: SID, options: OPTIONS, toolCall: { kind: 'execute', title: 'make' } },
      }),
    );
    c.say('later', 'm1');
    expect(lines(c.interrupt('k'))).toEqual([
      { jsonrpc: '2.0', method: 'session/cancel', params: { sessionId: SID } },
      { jsonrpc: '2.0', id: 3, result: { outcome: { outcome: 'cancelled' } } },
    ]);
    expect(sent(c.onLine(json({ id: 'message:prompt', result: { stopReason: 'cancelled' } })).steps)).toEqual([
      { end: 'end' },
    ]);
  });

  it('mode updates and the slash-command list are bookkeeping', () => {
    const c = started();
    const update = (u: object) => json({ method: 'session/update', params: { sessionId: SID, update: u } });
    expect(
      c.onLine(update({ sessionUpdate: 'agent_message_chunk', content: { type: 'text', text: '[MODE_UPDATE] plan' } }))
        .consumed,
    ).toBe(true);
    expect(c.onLine(update({ sessionUpdate: 'available_commands_update', availableCommands: [] })).consumed).toBe(true);
    expect(
      c.onLine(update({ sessionUpdate: 'agent_message_chunk', content: { type: 'text', text: 'Hello' } })).consumed,
    ).toBe(false);
  });

  it('a session that cannot start ends the conversation, its error left to the parser', () => {
    const c = conversation();
    c.opening('x');
    c.onLine(json({ id: 'initialize', result: {} }));
    const failed = json({ id: 'session', error: { code: -32603, message: 'Internal error' } });
    expect(c.onLine(failed)).toEqual({
      consumed: false,
      steps: [{ kind: 'send', envelopes: [{ id: 'end', end: true }] }],
    });
    expect(parseAcpLine(failed)[0]).toMatchObject({ kind: 'error', message: 'Internal error' });
  });
});

describe('ACP-only agents', () => {
  it("the generic acp agent's argv is its command's arguments; interactive only, its binary its command's", () => {
    const acp = agentRegistry.acp;
    const launch = { targetDir: '/repo', includeDirs: [], fixes: {}, command: ['opencode', 'acp', '--print-logs'] };
    expect(acp.interactive?.buildCommand(launch).args).toEqual(['acp', '--print-logs']);
    expect(acp.interactiveOnly).toBe(true);
    expect(acp.commandFromSpec).toBe(true);
  });

  it('a failed turn is classified by the words model APIs use; a turn that ended well is no failure', () => {
    const classify = agentRegistry.acp.classifyFailure;
    const now = new Date('2026-12-07T10:00:00Z');
    const failed = (text: string, httpStatus?: number) =>
      classify({
        exitCode: 0,
        signal: null,
        stderrTail: '',
        now,
        events: [{ kind: 'result', ok: false, text, ...(httpStatus ? { httpStatus } : {}) }],
      });
    expect(failed('Incorrect API key provided', 401)?.kind).toBe('auth');
    expect(failed('Rate limit reached. Please try again in 20s.', 429)).toMatchObject({
      kind: 'rate_limit',
      retryAt: '2026-12-07T10:00:20.000Z',
    });
    expect(failed('The server is overloaded', 529)?.kind).toBe('server_error');
    expect(failed('fetch failed: connect ECONNREFUSED 127.0.0.1:9')?.kind).toBe('network');
    expect(failed('something else')?.kind).toBe('crashed');
    expect(
      classify({ exitCode: 0, signal: null, stderrTail: '', now, events: [{ kind: 'result', ok: true }] }),
    ).toBeNull();
  });
});
