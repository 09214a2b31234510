/** Claude's interactive conversation, pure: the lines it sends, what the agent's protocol lines ask of it. */
import { describe, expect, it } from 'vitest';
import { buildClaudeInteractiveCommand, claudeInteractive, messageUuid } from '../../src/agents/claude-interactive.js';
import { agentProblems } from '../../src/agents/registry.js';

const launch = { targetDir: '/repo', includeDirs: ['/shared'], fixes: {} };
const run = {
  cwd: '/repo',
  seed: 'sid/impl/1',
  home: '/home/u',
  launch: { targetDir: '/repo', includeDirs: [], fixes: {} },
};
const request = (id: string, tool: string, input: object) =>
  JSON.stringify({
    type: 'control_request',
    request_id: id,
    request: { subtype: 'can_use_tool', tool_name: tool, display_name: tool, input, tool_use_id: 'toolu_1' },
  });
const line = (envelope: { id: string } & ({ line: string } | { end: true })) =>
  'line' in envelope ? JSON.parse(envelope.line) : envelope;

describe('claude interactive command', () => {
  it('speaks stream-json both ways, asks the host about every tool, and has no prompt in argv', () => {
    const { args } = buildClaudeInteractiveCommand({ ...launch, model: 'opus' });
    expect(args.slice(0, 8)).toEqual([
      '--print',
      '--input-format',
      'stream-json',
      '--output-format',
      'stream-json',
      '--verbose',
      '--permission-prompt-tool',
      'stdio',
    ]);
    expect(args).not.toContain('--dangerously-skip-permissions');
    const settings = JSON.parse(args[args.indexOf('--settings') + 1] as string);
    expect(settings.permissions.ask).toEqual(expect.arrayContaining(['Bash', 'Read', 'Write', 'Edit', 'WebFetch']));
    expect(args).toEqual(expect.arrayContaining(['--add-dir=/repo', '--add-dir=/shared', '--model', 'opus']));
    expect(args).toEqual(expect.arrayContaining(['--permission-mode', 'default']));
    expect(buildClaudeInteractiveCommand({ ...launch, readOnly: true }).args).toEqual(
      expect.arrayContaining(['--permission-mode', 'plan']),
    );
  });

  it('is accepted for every agent that has it (claude, codex, gemini)', () => {
    const workers = ['claude', 'codex', 'gemini'].map((agent) => ({ id: agent, agent, mode: 'interactive' as const }));
    expect(agentProblems({ workers, reviews: [] })).toBeNull();
  });
});

describe('claude conversation', () => {
  it("message uuids are UUIDs of the run and the key: the same after a crash, another run's differ", () => {
    const uuid = messageUuid('sid/impl/1', 'prompt');
    expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(messageUuid('sid/impl/1', 'prompt')).toBe(uuid);
    expect(messageUuid('sid/impl/2', 'prompt')).not.toBe(uuid);
  });

  it('a path with ~ is in the home folder', () => {
    const c = claudeInteractive.conversation(run);
    expect(c.onLine(request('r1', 'Read', { file_path: '~/.ssh/id_rsa' })).steps[0]).toMatchObject({
      request: { paths: ['/home/u/.ssh/id_rsa'] },
    });
  });

  it('opens with the prompt as a user message whose uuid its result will name', () => {
    const c = claudeInteractive.conversation(run);
    const [opening] = c.opening('Fix the bug');
    expect(opening?.id).toBe('message:prompt');
    expect(line(opening!)).toEqual({
      type: 'user',
      uuid: messageUuid('sid/impl/1', 'prompt'),
      message: { role: 'user', content: 'Fix the bug' },
      parent_tool_use_id: null,
      session_id: '',
    });
  });

  it('turns can_use_tool into one request form: a command, absolute paths, a URL', () => {
    const c = claudeInteractive.conversation(run);
    expect(c.onLine(request('r1', 'Bash', { command: 'npm test', description: 'd' }))).toEqual({
      consumed: true,
      steps: [{ kind: 'permission', request: { requestId: 'r1', tool: 'Bash', command: 'npm test' } }],
    });
    expect(c.onLine(request('r2', 'Edit', { file_path: 'src/a.ts' })).steps[0]).toMatchObject({
      request: { tool: 'Edit', paths: ['/repo/src/a.ts'] },
    });
    expect(c.onLine(request('r3', 'WebFetch', { url: 'https://x.org/a' })).steps[0]).toMatchObject({
      request: { tool: 'WebFetch', url: 'https://x.org/a' },
    });
    expect(c.onLine(request('r4', 'Grep', { pattern: 'x' })).steps[0]).toMatchObject({
      request: { tool: 'Grep', paths: ['/repo'] },
    });
    expect(c.pending.map((r) => r.requestId)).toEqual(['r1', 'r2', 'r3', 'r4']);
  });

  it('answers allow or deny (with the reason the model reads), keyed by the request id', () => {
    const c = claudeInteractive.conversation(run);
    c.onLine(request('r1', 'Bash', { command: 'rm -rf x' }));
    const [deny] = c.answer('r1', 'deny', 'Denied by a rule.');
    expect(deny?.id).toBe('permission:r1');
    expect(line(deny!)).toEqual({
      type: 'control_response',
      response: {
        subtype: 'success',
        request_id: 'r1',
        response: { behavior: 'deny', message: 'Denied by a rule.' },
      },
    });
    expect(c.pending).toEqual([]);
    expect(line(c.answer('r2', 'allow')[0]!).response.response).toEqual({ behavior: 'allow' });
  });

  it('a withdrawn request needs no answer; protocol lines are consumed, agent lines are not', () => {
    const c = claudeInteractive.conversation(run);
    c.onLine(request('r1', 'Bash', { command: 'sleep 9' }));
    expect(c.onLine(JSON.stringify({ type: 'control_cancel_request', request_id: 'r1' }))).toEqual({
      consumed: true,
      steps: [{ kind: 'withdrawn', requestId: 'r1' }],
    });
    expect(c.pending).toEqual([]);
    expect(c.onLine(JSON.stringify({ type: 'command_lifecycle', state: 'queued' })).consumed).toBe(true);
    expect(c.onLine(JSON.stringify({ type: 'assistant', message: { content: [] } }))).toEqual({
      consumed: false,
      steps: [],
    });
    expect(c.onLine('not json').consumed).toBe(false);
  });

  it('closes stdin once every message sent has its result, not before', () => {
    const c = claudeInteractive.conversation(run);
    c.opening('task');
    c.say('also this', 'm1');
    const result = (keys: string[]) =>
      JSON.stringify({
        type: 'result',
        subtype: 'success',
        user_message_uuids: keys.map((k) => messageUuid(run.seed, k)),
      });
    expect(c.onLine(result(['prompt']))).toEqual({ consumed: false, steps: [] });
    expect(c.onLine(result(['m1'])).steps).toEqual([{ kind: 'send', envelopes: [{ id: 'end', end: true }] }]);
    // Ended: nothing more is sent.
    expect(c.say('late', 'm2')).toBeNull();
    expect(c.onLine(result([])).steps).toEqual([]);
  });

  it('a stop interrupts (queued messages cancelled) and the next result ends the conversation', () => {
    const c = claudeInteractive.conversation(run);
    c.opening('task');
    c.say('also this', 'm1');
    const [interrupt] = c.interrupt('k');
    expect(interrupt && 'line' in interrupt ? JSON.parse(interrupt.line) : null).toEqual({
      type: 'control_request',
      request_id: 'orchestrator-interrupt-k',
      request: { subtype: 'interrupt', cancel_queued: true },
    });
    const aborted = {
      type: 'result',
      subtype: 'error_during_execution',
      is_error: true,
      user_message_uuids: [messageUuid(run.seed, 'prompt')],
    };
    expect(c.onLine(JSON.stringify(aborted)).steps).toEqual([{ kind: 'send', envelopes: [{ id: 'end', end: true }] }]);
    expect(c.interrupt('again')).toEqual([]);
  });

  it('a result without the uuid list (an older claude) answers everything sent before it', () => {
    const c = claudeInteractive.conversation(run);
    c.opening('task');
    expect(c.onLine(JSON.stringify({ type: 'result', subtype: 'success' })).steps).toEqual([
      { kind: 'send', envelopes: [{ id: 'end', end: true }] },
    ]);
  });
});
