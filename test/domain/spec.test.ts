/**
 * The session spec: unknown keys are refused by name (with the key meant), and a role outside the built-in ones needs a
 * prompt.
 */
import { describe, expect, it } from 'vitest';
import { agentRuns, BUILT_IN_ROLES, SessionSpecSchema } from '../../src/domain/spec.js';
import { agentProblems } from '../../src/agents/registry.js';
import { closest, describeUnknownKey, findUnknownKey, specKeysAt } from '../../src/domain/spec-keys.js';

const worker = { id: 'w', agent: 'claude', role: 'implementer' };

describe('unknown spec keys', () => {
  it('are refused at every level, each named where it is', () => {
    const parsed = SessionSpecSchema.safeParse({
      task: 't',
      reviewz: [],
      workers: [{ ...worker, extra: 1 }],
      limits: { maxRestart: 2 },
      workspace: { copy: [], setups: [] },
    });
    expect(parsed.success).toBe(false);
    const unknown = parsed.error?.issues
      .filter((i) => i.code === 'unrecognized_keys')
      .map((i) => [i.path.join('.'), (i as { keys: string[] }).keys]);
    expect(unknown).toEqual(
      expect.arrayContaining([
        ['', ['reviewz']],
        ['workers.0', ['extra']],
        ['limits', ['maxRestart']],
        ['workspace', ['setups']],
      ]),
    );
  });

  it('are described with the nearest known key, or the known ones when none is near', () => {
    expect(describeUnknownKey('reviewz', [])).toBe('unknown key "reviewz" (did you mean "reviews"?)');
    expect(describeUnknownKey('dependOn', ['workers', 3])).toBe(
      'unknown key "dependOn" in workers.3 (did you mean "dependsOn"?)',
    );
    expect(describeUnknownKey('maxRestart', ['limits'])).toBe(
      'unknown key "maxRestart" in limits (did you mean "maxRestarts"?)',
    );
    expect(describeUnknownKey('extra', ['workers', 0])).toBe(
      'unknown key "extra" in workers.0 (known: id, agent, role, prompt, dependsOn, model, includeDirs, mode, command)',
    );
    expect(specKeysAt(['review', 'trigger'])).toEqual(['everyPlanItems']);
    expect(closest('sandbx', ['sandbox', 'safety'])).toBe('sandbox');
    expect(closest('zzzzzz', ['sandbox'])).toBeNull();
  });

  it("inside the sandbox's object form too (a union with the mode alone)", () => {
    const parsed = SessionSpecSchema.safeParse({
      task: 't',
      workers: [worker],
      sandbox: { mode: 'auto', allowHost: ['x.com'] },
    });
    expect(parsed.success).toBe(false);
    const found = findUnknownKey(parsed.error?.issues ?? []);
    expect(found).toEqual({ key: 'allowHost', path: ['sandbox'] });
    expect(describeUnknownKey(found!.key, found!.path)).toBe(
      'unknown key "allowHost" in sandbox (did you mean "allowHosts"?)',
    );
  });
});

describe('roles', () => {
  it('a role outside the built-in ones needs its own prompt', () => {
    expect(BUILT_IN_ROLES).toEqual(expect.arrayContaining(['architect', 'implementer', 'verifier']));
    const bare = SessionSpecSchema.safeParse({ task: 't', workers: [{ ...worker, id: 'docs', role: 'writer' }] });
    expect(bare.error?.issues[0]?.message).toBe(
      'the role "writer" of worker "docs" has no built-in instructions ' +
        '(the built-in roles are architect, implementer, verifier): give the worker a "prompt" that says what it does',
    );
    expect(
      SessionSpecSchema.safeParse({ task: 't', workers: [{ ...worker, role: 'writer', prompt: 'Write the docs.' }] })
        .success,
    ).toBe(true);
  });
});

describe('the generic acp agent', () => {
  const acp = { id: 'oc', agent: 'acp', role: 'implementer', command: ['opencode', 'acp'] };
  const messages = (spec: object) => SessionSpecSchema.safeParse(spec).error?.issues.map((i) => i.message) ?? [];

  it('names its command; no other agent takes one, and it takes no model', () => {
    expect(messages({ task: 't', workers: [acp] })).toEqual([]);
    expect(messages({ task: 't', workers: [{ ...acp, command: undefined }] })).toEqual([
      'worker "oc" runs agent "acp" and needs a "command": the ACP agent to run, e.g. ["opencode", "acp"]',
    ]);
    expect(messages({ task: 't', workers: [{ ...worker, command: ['x'] }] })).toEqual([
      `worker "${worker.id}": "command" is for agent "acp" only (agent "${worker.agent}" is found by its own name)`,
    ]);
    expect(messages({ task: 't', workers: [{ ...acp, command: [] }] })).toEqual([
      'a command needs at least its program',
    ]);
    expect(messages({ task: 't', workers: [{ ...acp, model: 'm' }] })).toEqual([
      `worker "oc": agent "acp" takes its model from its own settings or its command's arguments, not "model"`,
    ]);
    expect(messages({ task: 't', workers: [acp], reviews: [{ reviewer: 'acp', target: 'oc', focus: 'f' }] })).toEqual([
      'the reviewer of "oc" runs agent "acp" and needs a "command": the ACP agent to run, e.g. ["opencode", "acp"]',
    ]);
  });

  it('runs in interactive mode only: exec is refused for its workers and reviewers, by name', () => {
    const spec = (mode: string, reviewMode?: string) =>
      SessionSpecSchema.parse({
        task: 't',
        workers: [{ ...acp, mode }],
        reviews: [{ reviewer: 'acp', target: 'oc', focus: 'f', command: ['qwen', '--acp'], mode: reviewMode }],
      });
    expect(agentProblems(spec('interactive'))).toBeNull();
    expect(agentProblems(spec('exec'))).toBe(
      'mode "exec" is not offered by acp (worker "oc"): it speaks only ACP, so leave "mode" out or say "interactive"',
    );
    expect(agentProblems(spec('interactive', 'exec'))).toContain('acp (the reviewer of "oc")');
    expect(agentProblems({ workers: [{ id: 'a', agent: 'aider' }], reviews: [] })).toBe(
      'unknown agent(s) aider: use claude, codex, gemini, opencode, qwen, acp',
    );
  });

  it('the agents a spec runs: each once, an acp agent once per command', () => {
    const spec = SessionSpecSchema.parse({
      task: 't',
      workers: [acp, { ...acp, id: 'oc2' }, { ...worker, id: 'w2' }],
      reviews: [
        { reviewer: 'acp', target: 'oc', focus: 'f', command: ['qwen', '--acp'] },
        { reviewer: worker.agent, target: 'oc', focus: 'f' },
      ],
    });
    expect(agentRuns(spec)).toEqual([
      { agent: 'acp', command: ['opencode', 'acp'] },
      { agent: worker.agent },
      { agent: 'acp', command: ['qwen', '--acp'] },
    ]);
  });
});
