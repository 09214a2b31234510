/**
 * opencode 1.18.33 (`opencode acp`) and Qwen Code 0.24.4 (`qwen --acp`) over ACP: the parser and the conversation on
 * what they really printed (captured offline against a loopback fake model: test/fixtures/protocols/{opencode,qwen}),
 * and their failures classified by the adapters. Pure.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AcpConversation, parseAcpLine } from '../../src/agents/acp.js';
import { agentRegistry } from '../../src/agents/registry.js';
import type { AgentPayload } from '../../src/domain/events.js';

const captured = (agent: string, name: string) =>
  readFileSync(join(import.meta.dirname, '../fixtures/protocols', agent, `${name}.jsonl`), 'utf8')
    .split('\n')
    .filter(Boolean);
const launch = { targetDir: '/repo', includeDirs: [], fixes: {} };

/** The run as the orchestrator sees it: payloads (bookkeeping left out), permissions asked, and what it sent back. */
function run(agent: string, name: string) {
  const c = new AcpConversation(launch);
  const payloads: AgentPayload[] = [];
  const asked: unknown[] = [];
  const replies: Array<Record<string, unknown>> = [];
  for (const line of captured(agent, name)) {
    // The research host's ids are numbers, ours are names: its responses are told apart by shape here.
    if (!line.includes('"method"')) {
      if (/"sessionId"|"stopReason"|"error"/.test(line)) payloads.push(...parseAcpLine(line));
      continue;
    }
    const step = c.onLine(line);
    for (const s of step.steps) {
      if (s.kind === 'permission') asked.push(s.request);
      if (s.kind === 'send') for (const e of s.envelopes) if ('line' in e) replies.push(JSON.parse(e.line));
    }
    if (!step.consumed) payloads.push(...parseAcpLine(line));
  }
  return { payloads, asked, replies };
}
const ofKind = <K extends AgentPayload['kind']>(payloads: AgentPayload[], kind: K) =>
  payloads.filter((p): p is Extract<AgentPayload, { kind: K }> => p.kind === kind);
const classify = (agent: 'opencode' | 'qwen', name: string) =>
  agentRegistry[agent].classifyFailure({
    exitCode: 0,
    signal: null,
    stderrTail: '',
    now: new Date('2026-12-07T10:00:00Z'),
    events: run(agent, name).payloads,
  });

describe.each(['opencode', 'qwen'] as const)('%s over ACP, as captured', (agent) => {
  it('parses with nothing malformed, and nothing unknown but the slash-command list', () => {
    for (const name of ['cmd-allow', 'cmd-reject', 'write-allow', 'err401']) {
      const odd = run(agent, name).payloads.filter(
        (p) => p.kind === 'malformed' || (p.kind === 'unknown' && !p.originalType.includes('available_commands')),
      );
      expect(odd, name).toEqual([]);
    }
  });

  it('a command is asked for as Bash with its command line, and shown ended only once it ran', () => {
    const { payloads, asked } = run(agent, 'cmd-allow');
    expect(asked).toEqual([expect.objectContaining({ tool: 'Bash', command: 'touch made-by-agent.txt' })]);
    const commands = ofKind(payloads, 'command');
    expect(commands.map((c) => c.status)).toEqual(commands.map(() => 'started'));
    expect(commands.at(-1)?.command).toBe(
      agent === 'qwen' ? 'touch made-by-agent.txt (Run the command)' : 'touch made-by-agent.txt',
    );
    // Its end names no kind (only the call's start does): it is the call's result, after every start.
    const ended = payloads.findIndex((p) => p.kind === 'tool_result');
    expect(payloads[ended]).toMatchObject({ toolId: commands[0]?.toolId, ok: true });
    expect(payloads.findLastIndex((p) => p.kind === 'command')).toBeLessThan(ended);
    expect(ofKind(payloads, 'result')).toEqual([expect.objectContaining({ ok: true, reason: 'end_turn' })]);
    expect(ofKind(payloads, 'init')[0]?.model).toBe(
      agent === 'qwen' ? '$runtime|openai|fake-model(openai)' : 'fake/fake-model',
    );
    expect(ofKind(payloads, 'usage').length).toBeGreaterThan(0);
    expect(ofKind(payloads, 'usage')[0]?.usage).toMatchObject({ inputTokens: 1200, outputTokens: 34 });
  });

  it('a write is asked for as Edit of its path', () => {
    const { asked, replies } = run(agent, 'write-allow');
    expect(asked).toEqual([
      expect.objectContaining({ tool: 'Edit', paths: [expect.stringMatching(/written-by-agent/)] }),
    ]);
    // opencode tells the host of the write it made itself: acknowledged with null (an error fills its stderr).
    if (agent === 'opencode') expect(replies).toContainEqual(expect.objectContaining({ result: null }));
  });

  it('a rejected command ends the turn, which is no failure', () => {
    const { payloads } = run(agent, 'cmd-reject');
    // The call's end, failed (opencode names it a command again, qwen only the call).
    const end = payloads.findLast((p) => p.kind === 'tool_result' || (p.kind === 'command' && p.status !== 'started'));
    expect(end?.kind === 'command' ? end.status : end?.kind === 'tool_result' && end.ok).toBe(
      end?.kind === 'command' ? 'failed' : false,
    );
    expect(ofKind(payloads, 'result').at(-1)).toMatchObject({ ok: true });
  });

  it('a rejected key is auth, with what the API said', () => {
    expect(classify(agent, 'err401')).toMatchObject({
      kind: 'auth',
      message: expect.stringMatching(/Incorrect API key/),
    });
  });
});

describe('qwen specifics', () => {
  it('its mid-turn queue request is refused as not offered, and it carries on', () => {
    const { replies } = run('qwen', 'cmd-allow');
    expect(replies).toContainEqual(expect.objectContaining({ error: expect.objectContaining({ code: -32601 }) }));
  });

  it('a 401 names its status in the details; a 429 in the code: a rate limit', () => {
    expect(classify('qwen', 'err401')).toMatchObject({ httpStatus: 401 });
    expect(classify('qwen', 'err429')).toMatchObject({ kind: 'rate_limit', httpStatus: 429 });
  });
});
