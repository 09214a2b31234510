import { describe, expect, it } from 'vitest';
import { getAdapter } from '../../src/agents/registry.js';
import type { LaunchOptions } from '../../src/agents/types.js';
import { checkDirectories, validateLaunch, type LaunchCheck } from '../../src/safety/launch-check.js';

const launch: Omit<LaunchOptions, 'prompt'> = {
  targetDir: '/work/repo',
  includeDirs: ['/work/docs'],
  fixes: {},
  model: 'opus',
};
const home = '/home/dev';

function check(agent: string, overrides: Partial<LaunchCheck> = {}): LaunchCheck {
  return {
    adapter: getAdapter(agent),
    expectedBinary: `/usr/bin/${agent}`,
    launch,
    allowedRoots: ['/work/repo', '/work/docs'],
    home,
    ...overrides,
  };
}

function request(agent: string, prompt = 'do the task', options: Partial<LaunchOptions> = {}) {
  const command = getAdapter(agent).buildCommand({ ...launch, ...options, prompt });
  return { file: `/usr/bin/${agent}`, args: command.args, cwd: options.targetDir ?? launch.targetDir };
}

describe('validateLaunch', () => {
  it.each(['claude', 'codex', 'gemini'])("%s: the adapter's own command passes, whatever the prompt", (agent) => {
    expect(validateLaunch(request(agent), check(agent))).toEqual([]);
    expect(validateLaunch(request(agent, '--dangerously looking prompt\nwith lines'), check(agent))).toEqual([]);
    expect(validateLaunch(request(agent, ''), check(agent))).toEqual([]);
  });

  it('a resumed launch with fixes passes when the input says so', () => {
    const resumed = { ...launch, resume: { agentSessionId: 'abc-123' }, fixes: { skipGitRepoCheck: true } };
    const req = {
      file: '/usr/bin/codex',
      args: getAdapter('codex').buildCommand({ ...resumed, prompt: 'go on' }).args,
      cwd: '/work/repo',
    };
    expect(validateLaunch(req, check('codex', { launch: resumed }))).toEqual([]);
    // The same argv against an input without the fix: a flag the adapter did not build.
    expect(validateLaunch(req, check('codex'))).not.toEqual([]);
  });

  it('refuses another binary, a shell, an added flag, a flag-like model, a cwd outside the roots', () => {
    const ok = request('claude');
    expect(validateLaunch({ ...ok, file: '/usr/local/bin/claude' }, check('claude')).join()).toMatch(
      /not the Claude Code binary/,
    );
    expect(
      validateLaunch({ ...ok, file: '/bin/bash' }, check('claude', { expectedBinary: '/bin/bash' })).join(),
    ).toMatch(/shell/);
    expect(
      validateLaunch(
        { ...ok, args: [...ok.args.slice(0, -1), '--mcp-config', 'x.json', ok.args.at(-1) as string] },
        check('claude'),
      ).join(),
    ).toMatch(/arguments/);
    expect(validateLaunch(ok, check('claude', { expectedBinary: null })).join()).toMatch(/no Claude Code binary/);
    const model = { ...launch, model: '--add-dir=/' };
    expect(
      validateLaunch(request('claude', 'x', { model: '--add-dir=/' }), check('claude', { launch: model })).join(),
    ).toMatch(/looks like a flag/);
    expect(validateLaunch({ ...ok, cwd: '/work/elsewhere' }, check('claude')).join()).toMatch(
      /outside the allowed roots/,
    );
  });
});

describe('checkDirectories', () => {
  it('refuses /, the home directory and its parents, system directories', () => {
    const problems = (targetDir: string, includeDirs: string[] = [], allowedRoots: string[] = []) =>
      checkDirectories({ targetDir, includeDirs, allowedRoots, home });
    expect(problems('/work/repo', ['../docs', '/data'], ['~/cache'])).toEqual([]);
    expect(problems('/').join()).toMatch(/root directory/);
    expect(problems('/home/dev').join()).toMatch(/home directory/);
    expect(problems('/work/repo', ['~']).join()).toMatch(/includeDirs entry ~ .*home directory/);
    expect(problems('/work/repo', [], ['/home']).join()).toMatch(/contains the home directory/);
    expect(problems('/etc').join()).toMatch(/system directory/);
    expect(problems('/work/repo', ['../../usr']).join()).toMatch(/system directory/);
  });
});
