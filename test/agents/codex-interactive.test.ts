/**
 * Codex's interactive mode (`codex app-server`): the parser on what codex 0.169.0 really printed (captured against
 * the loopback fake model server: test/fixtures/protocols/codex), and the conversation that
 * answers its requests, pure.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  classifyCodexAppServerFailure,
  parseCodexAppServerLine,
  unwrapShell,
} from '../../src/agents/codex-app-server.js';
import { codexInteractive } from '../../src/agents/codex-interactive.js';
import type { Envelope } from '../../src/agents/conversation.js';
import type { LaunchOptions } from '../../src/agents/types.js';
import type { AgentPayload } from '../../src/domain/events.js';

const CAPTURED = join(import.meta.dirname, '../fixtures/protocols/codex');
const captured = (name: string) =>
  readFileSync(join(CAPTURED, `${name}.jsonl`), 'utf8')
    .split('\n')
    .filter(Boolean);

const launch: Omit<LaunchOptions, 'prompt'> = { targetDir: '/repo', includeDirs: [], fixes: {} };
const conversation = (
  over: Partial<typeof launch> & { resume?: { agentSessionId: string }; readOnly?: boolean } = {},
) => codexInteractive.conversation({ cwd: '/repo', seed: 's/w/1', home: '/home/u', launch: { ...launch, ...over } });

/** The agent's payloads of a captured run: its lines the conversation leaves, parsed. */
function payloadsOf(name: string): AgentPayload[] {
  const c = conversation();
  return captured(name).flatMap((line) => (c.onLine(line).consumed ? [] : parseCodexAppServerLine(line)));
}

const lines = (envelopes: readonly Envelope[] | null) =>
  (envelopes ?? []).map((e) => ('line' in e ? JSON.parse(e.line) : { end: e.id }));
const sent = (steps: ReadonlyArray<{ kind: string }>) =>
  steps.flatMap((s) => ('envelopes' in s ? lines(s.envelopes as Envelope[]) : []));
const json = (value: unknown) => JSON.stringify(value);
const THREAD = '01a24d27-5b9f-7fc3-8cfe-9e16a39d8f17';
const notify = (method: string, params: object) => json({ method, params });
const turnDone = (turn: string, status = 'completed') =>
  notify('turn/completed', { threadId: THREAD, turn: { id: turn, items: [], status, error: null } });

describe('codex app-server lines', () => {
  it('what the real codex printed: every line is protocol or a known payload, none unknown or malformed', () => {
    for (const name of ['text-file-errors', 'untrusted-decline', 'steer-interrupt']) {
      const odd = payloadsOf(name).filter((p) => p.kind === 'unknown' || p.kind === 'malformed');
      expect(odd, name).toEqual([]);
    }
  });

  it('a thread with a message, a file change it asked for, a usage limit and a rejected key', () => {
    const payloads = payloadsOf('text-file-errors');
    expect(payloads[0]).toMatchObject({ kind: 'init', agentSessionId: '01a24d37-17f9-7532-8d19-4763d9b1fd11' });
    expect(payloads).toContainEqual(
      expect.objectContaining({ kind: 'message', role: 'assistant', text: 'Hello! This is the fake model.' }),
    );
    const changes = payloads.filter((p) => p.kind === 'file_change');
    expect(changes.map((p) => p.status)).toEqual(['proposed', 'completed']);
    expect(changes[0]).toMatchObject({ changes: [{ path: expect.stringMatching(/\/hello\.txt$/), kind: 'add' }] });
    // `last` of each model request: increments, not the thread's running total.
    const usage = payloads.filter((p) => p.kind === 'usage');
    expect(usage.every((p) => p.kind === 'usage' && !p.cumulative && p.usage.inputTokens === 1200)).toBe(true);
    const results = payloads.filter((p) => p.kind === 'result');
    expect(results.map((p) => p.kind === 'result' && p.ok)).toEqual([true, true, false, false]);
    expect(results[2]).toMatchObject({ reason: 'usageLimitExceeded', text: expect.stringContaining('usage limit') });
    expect(results[3]).toMatchObject({ reason: 'httpConnectionFailed', httpStatus: 401 });
    // "Reconnecting... 1/1" says why only in its details: the 401 makes it a hopeless retry.
    expect(payloads).toContainEqual(
      expect.objectContaining({ kind: 'error', retrying: true, message: expect.stringContaining('401 Unauthorized') }),
    );
  });

  it('commands as written (not `/bin/bash -lc`), declined ones, and an interrupted turn', () => {
    const payloads = payloadsOf('untrusted-decline');
    const commands = payloads.filter((p) => p.kind === 'command');
    expect(commands[0]).toMatchObject({
      command: 'echo hello > cmd-write.txt && cat cmd-write.txt',
      status: 'started',
    });
    expect(commands[1]).toMatchObject({ status: 'declined' });
    expect(payloads.filter((p) => p.kind === 'file_change').map((p) => p.status)).toEqual(['proposed', 'failed']);
    expect(payloads.filter((p) => p.kind === 'result')).toContainEqual(
      expect.objectContaining({ ok: false, reason: 'interrupted' }),
    );
  });

  it('the script of a shell call, and only of one', () => {
    expect(unwrapShell(`/bin/bash -lc 'echo hello > a.txt && cat a.txt'`)).toBe('echo hello > a.txt && cat a.txt');
    expect(unwrapShell(`/bin/bash -lc 'it'\\''s'`)).toBe("it's");
    expect(unwrapShell(`bash -lc "say \\"hi\\""`)).toBe('say "hi"');
    expect(unwrapShell('/bin/bash -lc ls')).toBe('ls');
    expect(unwrapShell(`/bin/bash -lc 'a' b`)).toBeNull();
    expect(unwrapShell('npm test')).toBeNull();
  });

  it('a run that exited 0 failed when its last turn did, or when no turn ended', () => {
    const base = { signal: null, stderrTail: '', now: new Date() };
    const ok = { kind: 'result', ok: true } as const;
    expect(classifyCodexAppServerFailure({ ...base, exitCode: 0, events: [ok] })).toBeNull();
    const failed = classifyCodexAppServerFailure({
      ...base,
      exitCode: 0,
      events: [
        { kind: 'error', message: "You've hit your usage limit. Try again at 9:17 PM." },
        { kind: 'result', ok: false, text: "You've hit your usage limit." },
      ],
    });
    expect(failed?.kind).toBe('rate_limit');
    const lost = classifyCodexAppServerFailure({
      ...base,
      exitCode: 0,
      events: [{ kind: 'error', message: 'thread not found: 0190' }],
    });
    expect(lost?.kind).toBe('resume_not_found');
  });
});

describe('codex app-server conversation', () => {
  it('opens with the handshake and a thread that asks before every command; the prompt goes once it is there', () => {
    const c = conversation({ model: 'gpt-5.5' });
    const opening = lines(c.opening('Fix the bug.'));
    expect(opening.map((l) => l.method)).toEqual(['initialize', 'initialized', 'thread/start']);
    expect(opening[2].params).toEqual({
      cwd: '/repo',
      approvalPolicy: 'untrusted',
      sandbox: 'danger-full-access',
      model: 'gpt-5.5',
    });
    expect(c.onLine(json({ id: 'initialize', result: {} }))).toEqual({ consumed: true, steps: [] });
    const started = c.onLine(json({ id: 'thread', result: { thread: { id: THREAD } } }));
    expect(started.consumed).toBe(true);
    expect(sent(started.steps)).toEqual([
      {
        id: 'message:prompt',
        method: 'turn/start',
        params: { threadId: THREAD, input: [{ type: 'text', text: 'Fix the bug.', text_elements: [] }] },
      },
    ]);
  });

  it('a reviewer is read-only; a resumed thread is given its policy and sandbox again', () => {
    const c = conversation({ readOnly: true, resume: { agentSessionId: THREAD } });
    const thread = lines(c.opening('Review.'))[2];
    expect(thread).toMatchObject({
      method: 'thread/resume',
      params: { threadId: THREAD, approvalPolicy: 'untrusted', sandbox: 'read-only', excludeTurns: true },
    });
  });

  it('approval requests become permissions (command as written, a change with its paths), answered by id', () => {
    const c = started();
    const change = notify('item/started', {
      item: { type: 'fileChange', id: 'call_3_0', changes: [{ path: '/repo/a.txt', kind: { type: 'add' } }] },
      threadId: THREAD,
      turnId: 'T1',
    });
    expect(c.onLine(change).consumed).toBe(false);
    const fileAsk = c.onLine(
      json({
        method: 'item/fileChange/requestApproval',
        id: 1,
        params: { threadId: THREAD, turnId: 'T1', itemId: 'call_3_0' },
      }),
    );
    expect(fileAsk.steps).toEqual([
      { kind: 'permission', request: { requestId: '1', tool: 'Edit', paths: ['/repo/a.txt'] } },
    ]);
    const commandAsk = c.onLine(
      json({
        method: 'item/commandExecution/requestApproval',
        id: 2,
        params: { threadId: THREAD, turnId: 'T1', itemId: 'call_4_0', command: "/bin/bash -lc 'npm test'" },
      }),
    );
    expect(commandAsk.steps).toEqual([
      { kind: 'permission', request: { requestId: '2', tool: 'Bash', command: 'npm test' } },
    ]);
    expect(c.pending.map((r) => r.requestId)).toEqual(['1', '2']);
    expect(lines(c.answer('1', 'allow'))).toEqual([{ id: 1, result: { decision: 'accept' } }]);
    expect(c.answer('2', 'deny', 'no')[0]).toEqual({
      id: 'permission:2',
      line: json({ id: 2, result: { decision: 'decline' } }),
    });
    // Resolved after our answer: nothing; a request codex took back unanswered: withdrawn.
    expect(c.onLine(notify('serverRequest/resolved', { threadId: THREAD, requestId: 1 }))).toEqual({
      consumed: true,
      steps: [],
    });
    c.onLine(json({ method: 'item/commandExecution/requestApproval', id: 3, params: { command: 'ls' } }));
    expect(c.onLine(notify('serverRequest/resolved', { threadId: THREAD, requestId: 3 })).steps).toEqual([
      { kind: 'withdrawn', requestId: '3' },
    ]);
    expect(c.pending).toEqual([]);
  });

  it('a request the orchestrator does not answer gets an error at once, so no turn waits on it', () => {
    const c = started();
    const asked = c.onLine(json({ method: 'mcpServer/elicitation/request', id: 7, params: {} }));
    expect(sent(asked.steps)).toEqual([
      { id: 7, error: { code: -32601, message: 'mcpServer/elicitation/request is not answered by the orchestrator' } },
    ]);
  });

  it('a message steers the running turn; one as the turn ends starts its own; stdin closes after the last', () => {
    const c = started();
    c.onLine(json({ id: 'message:prompt', result: { turn: { id: 'T1', status: 'inProgress' } } }));
    c.onLine(notify('turn/started', { threadId: THREAD, turn: { id: 'T1' } }));
    const steer = lines(c.say('Also the docs.', 'm1'));
    expect(steer).toEqual([
      {
        id: 'message:m1',
        method: 'turn/steer',
        params: {
          threadId: THREAD,
          expectedTurnId: 'T1',
          input: [{ type: 'text', text: 'Also the docs.', text_elements: [] }],
        },
      },
    ]);
    c.say('And the tests.', 'm2');
    c.onLine(json({ id: 'message:m1', result: { turnId: 'T1' } }));
    // m2's steer lost the race with the turn's end: it is sent again as a turn of its own.
    expect(sent(c.onLine(turnDone('T1')).steps)).toEqual([]);
    const retried = c.onLine(json({ id: 'message:m2', error: { code: -32600, message: 'no active turn to steer' } }));
    expect(retried.consumed).toBe(true);
    expect(sent(retried.steps)).toEqual([
      {
        id: 'turn:m2',
        method: 'turn/start',
        params: { threadId: THREAD, input: [{ type: 'text', text: 'And the tests.', text_elements: [] }] },
      },
    ]);
    c.onLine(json({ id: 'turn:m2', result: { turn: { id: 'T2' } } }));
    c.onLine(notify('turn/started', { threadId: THREAD, turn: { id: 'T2' } }));
    expect(sent(c.onLine(turnDone('T2')).steps)).toEqual([{ end: 'end' }]);
    expect(c.say('too late', 'm3')).toBeNull();
  });

  it('a failed turn ends the conversation; a thread that cannot start does too, its error left to the parser', () => {
    const c = started();
    c.onLine(json({ id: 'message:prompt', result: { turn: { id: 'T1' } } }));
    expect(c.onLine(turnDone('T1', 'failed'))).toEqual({
      consumed: false,
      steps: [{ kind: 'send', envelopes: [{ id: 'end', end: true }] }],
    });

    const lost = conversation({ resume: { agentSessionId: 'gone' } });
    lost.opening('Go on.');
    const error = json({ id: 'thread', error: { code: -32600, message: 'thread not found: gone' } });
    expect(lost.onLine(error)).toEqual({
      consumed: false,
      steps: [{ kind: 'send', envelopes: [{ id: 'end', end: true }] }],
    });
    expect(parseCodexAppServerLine(error)).toEqual([{ kind: 'error', message: 'thread not found: gone' }]);
  });

  it('interrupt stops the running turn through the protocol', () => {
    const c = started();
    expect(c.interrupt('k')).toEqual([]);
    c.onLine(notify('turn/started', { threadId: THREAD, turn: { id: 'T1' } }));
    expect(lines(c.interrupt('k'))).toEqual([
      { id: 'interrupt:k', method: 'turn/interrupt', params: { threadId: THREAD, turnId: 'T1' } },
    ]);
  });

  it("after an interrupt (a stop) the turn's end is the conversation's, whatever messages still wait", () => {
    const c = started();
    c.onLine(json({ id: 'message:prompt', result: { turn: { id: 'T1' } } }));
    c.onLine(notify('turn/started', { threadId: THREAD, turn: { id: 'T1' } }));
    c.say('one more thing', 'm1');
    c.interrupt('k');
    expect(sent(c.onLine(turnDone('T1', 'interrupted')).steps)).toEqual([{ end: 'end' }]);
    expect(c.interrupt('again')).toEqual([]);
  });

  it('streamed pieces and bookkeeping are the protocol: pieces count as progress, bookkeeping does not', () => {
    const c = started();
    expect(c.onLine(notify('item/agentMessage/delta', { delta: 'Hel' }))).toEqual({
      consumed: true,
      steps: [],
      progress: true,
    });
    expect(c.onLine(notify('thread/status/changed', { status: { type: 'idle' } }))).toEqual({
      consumed: true,
      steps: [],
    });
    expect(c.onLine(notify('item/completed', { item: { type: 'agentMessage', text: 'Hello' } })).consumed).toBe(false);
  });

  it('after a crash: a conversation fed the same lines says the same, and the prompt waits for its text', () => {
    const c = conversation();
    c.opening('');
    // The thread was there before the crash but the prompt never went: it needs the text rendered again.
    expect(c.onLine(json({ id: 'thread', result: { thread: { id: THREAD } } })).steps).toEqual([]);
    expect(c.opening('Fix the bug.').map((e) => e.id)).toEqual([
      'initialize',
      'initialized',
      'thread',
      'message:prompt',
    ]);
    // A message delivered before the crash (its text not kept) is waited for by its turn, never sent again.
    const d = started();
    expect(d.say('', 'm1')).toEqual([]);
    d.onLine(json({ id: 'message:prompt', result: { turn: { id: 'T1' } } }));
    d.onLine(json({ id: 'message:m1', result: { turnId: 'T2' } }));
    expect(sent(d.onLine(turnDone('T1')).steps)).toEqual([]);
    expect(sent(d.onLine(turnDone('T2')).steps)).toEqual([{ end: 'end' }]);
  });
});

/** A conversation whose thread has started and whose prompt went out. */
function started() {
  const c = conversation();
  c.opening('Fix the bug.');
  c.onLine(json({ id: 'thread', result: { thread: { id: THREAD } } }));
  return c;
}
