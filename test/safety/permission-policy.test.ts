/** The session's permission policy: the built-in safety rules as deny and ask entries, and a request decided. */
import { describe, expect, it } from 'vitest';
import type { PermissionRequest } from '../../src/domain/permission-rules.js';
import { decideRequest, sessionPermissionRules } from '../../src/safety/permission-policy.js';

const site = {
  cwd: '/repo',
  root: '/repo',
  policy: { cwd: '/repo', allowedRoots: ['/repo', '/tmp'], home: '/home/u', protectedBranches: ['main'] },
};
const bash = (command: string): PermissionRequest => ({ tool: 'Bash', command, agent: 'claude', workerId: 'w' });

describe('sessionPermissionRules', () => {
  it('adds the built-in rules: critical ones denied, risky ones asked, the rest only logged', () => {
    const rules = sessionPermissionRules(undefined);
    expect(rules.deny).toEqual(['safety:rm-rf-root', 'safety:rm-rf-home', 'safety:disk-tool', 'safety:fork-bomb']);
    expect(rules.ask).toEqual([
      'safety:git-force-push-protected',
      'safety:chmod-777-root',
      'safety:write-outside-target',
    ]);
    expect(rules.allow).toEqual([]);
    expect(rules.default).toBe('allow');
  });

  it('safety.rules moves a built-in rule (stop denies, pause asks, log lets through); a listed one stays put', () => {
    const rules = sessionPermissionRules(
      { allow: ['safety:write-outside-target'], deny: [], ask: [], default: 'ask' },
      { 'curl-pipe-shell': 'stop', 'rm-rf-home': 'pause', 'disk-tool': 'log' },
    );
    expect(rules.deny).toContain('safety:curl-pipe-shell');
    expect(rules.ask).toContain('safety:rm-rf-home');
    expect([...rules.deny, ...rules.ask]).not.toContain('safety:disk-tool');
    expect(rules.ask).not.toContain('safety:write-outside-target');
    expect(rules.allow).toEqual(['safety:write-outside-target']);
  });
});

describe('decideRequest', () => {
  const rules = sessionPermissionRules({ allow: ['Bash(npm test:*)'], deny: [], ask: [], default: 'ask' });

  it('denies a destructive command by its built-in rule, also inside a joined or nested command', () => {
    expect(decideRequest(rules, bash('rm -rf /'), site)).toMatchObject({ decision: 'deny', rule: 'safety:rm-rf-root' });
    expect(decideRequest(rules, bash('npm test && bash -c "rm -rf ~"'), site)).toMatchObject({
      decision: 'deny',
      rule: 'safety:rm-rf-home',
    });
  });

  it('asks about a forced push to a protected branch and a write outside the allowed folders', () => {
    expect(decideRequest(rules, bash('git push --force origin main'), site)).toMatchObject({ decision: 'ask' });
    const outside = { tool: 'Write', paths: ['/etc/hosts'], agent: 'claude', workerId: 'w' };
    expect(decideRequest(rules, outside, site)).toMatchObject({ decision: 'ask', rule: 'safety:write-outside-target' });
    const inside = { ...outside, paths: ['/repo/a.ts'] };
    expect(decideRequest(rules, inside, site)).toMatchObject({ decision: 'ask', list: 'default' });
  });

  it('allows a joined command only when each of its parts is allowed', () => {
    expect(decideRequest(rules, bash('npm test -- a && npm test -- b'), site)).toMatchObject({ decision: 'allow' });
    expect(decideRequest(rules, bash('npm test && touch x'), site)).toMatchObject({ decision: 'ask' });
  });
});
