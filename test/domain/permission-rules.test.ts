/** Permission rules in Claude Code's syntax: parsing, matching, and deny > ask > allow > default. */
import { describe, expect, it } from 'vitest';
import {
  commandMatches,
  decidePermission,
  describeRequest,
  parseRule,
  pathMatches,
  type PermissionRequest,
  type PermissionRules,
  ruleFor,
} from '../../src/domain/permission-rules.js';
import { SessionSpecSchema } from '../../src/domain/spec.js';

const ctx = { cwd: '/repo/pkg', root: '/repo', home: '/home/u' };
const bash = (command: string): PermissionRequest => ({ tool: 'Bash', command, agent: 'claude', workerId: 'w' });
const edit = (...paths: string[]): PermissionRequest => ({ tool: 'Edit', paths, agent: 'claude', workerId: 'w' });
const rules = (r: Partial<PermissionRules>): PermissionRules => ({
  allow: [],
  deny: [],
  ask: [],
  default: 'ask',
  ...r,
});

describe('parseRule', () => {
  it('reads a tool, a tool with a specifier, and a safety rule', () => {
    expect(parseRule('Bash')).toEqual({ kind: 'tool', tool: 'Bash', specifier: null });
    expect(parseRule('Bash(npm test:*)')).toEqual({ kind: 'tool', tool: 'Bash', specifier: 'npm test:*' });
    expect(parseRule('Bash(*)')).toEqual({ kind: 'tool', tool: 'Bash', specifier: null });
    expect(parseRule('mcp__github__create_issue')).toMatchObject({ tool: 'mcp__github__create_issue' });
    expect(parseRule('safety:rm-rf-root')).toEqual({ kind: 'safety', id: 'rm-rf-root' });
  });

  it('refuses what is not a rule, saying what one looks like', () => {
    expect(parseRule('Bash(npm test')).toHaveProperty('error', expect.stringContaining('Tool(specifier)'));
    expect(parseRule('rm -rf /')).toHaveProperty('error');
    expect(parseRule('safety:')).toHaveProperty('error');
  });
});

describe('commands', () => {
  it('matches exactly, by a `:*` prefix, and with `*` anywhere', () => {
    expect(commandMatches('npm test', 'npm test')).toBe(true);
    expect(commandMatches('npm test', 'npm test --watch')).toBe(false);
    expect(commandMatches('npm run test:*', 'npm run test:unit')).toBe(true);
    expect(commandMatches('npm run test:*', 'npm run build')).toBe(false);
    expect(commandMatches('git * main', 'git push origin main')).toBe(true);
    expect(commandMatches('git * main', 'git push origin dev')).toBe(false);
    expect(commandMatches('* --help', 'ls --help')).toBe(true);
  });

  it('a trailing ` *` also matches the bare command, and the space is a word boundary', () => {
    expect(commandMatches('ls *', 'ls')).toBe(true);
    expect(commandMatches('ls *', 'ls -la')).toBe(true);
    expect(commandMatches('ls *', 'lsof')).toBe(false);
    expect(commandMatches('ls*', 'lsof')).toBe(true);
  });
});

describe('paths (gitignore-style)', () => {
  it('anchors //, ~/, / and relative patterns where Claude Code does', () => {
    expect(pathMatches('//etc/**', '/etc/passwd', ctx)).toBe(true);
    expect(pathMatches('~/.ssh/**', '/home/u/.ssh/id_rsa', ctx)).toBe(true);
    expect(pathMatches('/src/**', '/repo/src/a/b.ts', ctx)).toBe(true);
    expect(pathMatches('/src/**', '/repo/pkg/src/a.ts', ctx)).toBe(false);
    expect(pathMatches('src/**', '/repo/pkg/src/a.ts', ctx)).toBe(true);
    expect(pathMatches('./src/*.ts', '/repo/pkg/src/a.ts', ctx)).toBe(true);
    expect(pathMatches('./src/*.ts', '/repo/pkg/src/deep/a.ts', ctx)).toBe(false);
  });

  it('a pattern without a slash matches a name at any depth; a folder matches what is inside', () => {
    expect(pathMatches('*.env', '/repo/pkg/config/.env', ctx)).toBe(true);
    expect(pathMatches('.env', '/repo/pkg/config/.env', ctx)).toBe(true);
    expect(pathMatches('*.pem', '/repo/pkg/a/b/key.pem', ctx)).toBe(true);
    expect(pathMatches('/dist/', '/repo/dist/x/y.js', ctx)).toBe(true);
    expect(pathMatches('/dist', '/repo/dist/x/y.js', ctx)).toBe(true);
    expect(pathMatches('*.pem', '/elsewhere/key.pem', ctx)).toBe(false);
  });
});

describe('decidePermission', () => {
  it('deny wins over ask and allow, ask over allow, whatever the order or specificity', () => {
    const r = rules({ allow: ['Bash(aws s3 ls)'], ask: ['Bash(aws *)'], deny: ['Bash(aws iam *)'] });
    expect(decidePermission(r, bash('aws s3 ls'), ctx)).toEqual({ decision: 'ask', rule: 'Bash(aws *)', list: 'ask' });
    expect(decidePermission(r, bash('aws iam delete-user x'), ctx).decision).toBe('deny');
    expect(decidePermission(r, bash('echo hi'), ctx)).toEqual({ decision: 'ask', rule: null, list: 'default' });
    expect(decidePermission({ ...r, default: 'allow' }, bash('echo hi'), ctx).decision).toBe('allow');
  });

  it('a joined command is allowed only when each part is; one denied part denies it all', () => {
    const r = rules({ allow: ['Bash(npm test:*)', 'Bash(git status)'], deny: ['Bash(curl *)'] });
    const parts = (command: string, commands: string[]) => decidePermission(r, bash(command), { ...ctx, commands });
    expect(parts('npm test && git status', ['npm test', 'git status'])).toMatchObject({ decision: 'allow' });
    expect(parts('npm test && rm -rf x', ['npm test', 'rm -rf x'])).toMatchObject({ decision: 'ask', list: 'default' });
    expect(parts('npm test; curl evil.sh', ['npm test', 'curl evil.sh'])).toMatchObject({ decision: 'deny' });
  });

  it('Edit covers every writing tool; a request on several files is allowed only when all are', () => {
    const r = rules({ allow: ['Edit(/src/**)'], deny: ['Read(**/.env)'] });
    expect(decidePermission(r, { ...edit('/repo/src/a.ts'), tool: 'Write' }, ctx).decision).toBe('allow');
    expect(decidePermission(r, edit('/repo/src/a.ts', '/repo/README.md'), ctx).decision).toBe('ask');
    const read = { tool: 'Read', paths: ['/repo/pkg/.env'], agent: 'claude', workerId: 'w' };
    expect(decidePermission(r, read, ctx).decision).toBe('deny');
    expect(decidePermission(r, { ...read, tool: 'Grep' }, ctx).decision).toBe('deny');
  });

  it('domains, MCP servers and built-in safety rules', () => {
    const r = rules({
      allow: ['WebFetch(domain:docs.example.com)', 'mcp__github'],
      deny: ['safety:rm-rf-root', 'WebFetch(domain:*.evil.com)'],
    });
    const fetch = (url: string) => ({ tool: 'WebFetch', url, agent: 'a', workerId: 'w' });
    expect(decidePermission(r, fetch('https://docs.example.com/x'), ctx).decision).toBe('allow');
    expect(decidePermission(r, fetch('https://a.evil.com/'), ctx).decision).toBe('deny');
    expect(decidePermission(r, fetch('https://example.com/'), ctx).decision).toBe('ask');
    expect(decidePermission(r, { tool: 'mcp__github__create_issue', agent: 'a', workerId: 'w' }, ctx).decision).toBe(
      'allow',
    );
    expect(decidePermission(r, bash('rm -rf /'), { ...ctx, violations: ['rm-rf-root'] })).toEqual({
      decision: 'deny',
      rule: 'safety:rm-rf-root',
      list: 'deny',
    });
  });
});

describe('what a person allowed always', () => {
  it('is checked after deny and before ask, literally: a `*` in it is that character', () => {
    const r = rules({ ask: ['Bash(npm publish:*)'], deny: ['Bash(rm -rf /tmp/x)'], always: ['Bash(npm publish)'] });
    expect(decidePermission(r, bash('npm publish'), ctx)).toEqual({
      decision: 'allow',
      rule: 'Bash(npm publish)',
      list: 'allow',
    });
    expect(decidePermission(r, bash('npm publish --tag next'), ctx).decision).toBe('ask');
    const star = rules({ always: ['Bash(rm -f *.log)'] });
    expect(decidePermission(star, bash('rm -f *.log'), ctx).decision).toBe('allow');
    expect(decidePermission(star, bash('rm -f ../../important.log'), ctx).decision).toBe('ask');
  });
});

describe('a command as the shell reader unwrapped it', () => {
  it('is denied or asked about by its bare form (a wrapper, a path, sudo), never allowed by it', () => {
    const r = rules({ deny: ['Bash(curl *)'], allow: ['Bash(npm test)'], default: 'allow' });
    for (const [command, part] of [
      ['timeout 5 curl evil.sh', 'curl evil.sh'],
      ['/usr/bin/curl evil.sh', 'curl evil.sh'],
      ['sudo curl evil.sh', 'sudo curl evil.sh'],
    ] as const)
      expect(decidePermission(r, bash(command), { ...ctx, commands: [part] }).decision).toBe('deny');
    const strict = rules({ allow: ['Bash(npm test)'] });
    expect(decidePermission(strict, bash('sudo npm test'), { ...ctx, commands: ['sudo npm test'] }).decision).toBe(
      'ask',
    );
  });
});

describe('ruleFor and describeRequest', () => {
  it('allow-always adds the exact command, file or domain', () => {
    expect(ruleFor(bash('npm test'))).toBe('Bash(npm test)');
    expect(ruleFor(edit('/repo/a.ts'))).toBe('Edit(//repo/a.ts)');
    expect(pathMatches('//repo/a.ts', '/repo/a.ts', ctx)).toBe(true);
    expect(ruleFor({ tool: 'WebFetch', url: 'https://x.org/a', agent: 'a', workerId: 'w' })).toBe(
      'WebFetch(domain:x.org)',
    );
    expect(describeRequest(bash('npm test'))).toBe('Bash: npm test');
  });
});

describe('the spec', () => {
  const spec = { task: 't', workers: [{ id: 'w', agent: 'claude', role: 'implementer' }] };
  it('takes permissions, with allow as the default for what no rule names', () => {
    const parsed = SessionSpecSchema.parse({ ...spec, permissions: { deny: ['Bash(rm *)'] } });
    expect(parsed.permissions).toEqual({ allow: [], deny: ['Bash(rm *)'], ask: [], default: 'allow' });
  });

  it('refuses a rule that does not parse, and an unknown safety rule, by name', () => {
    const bad = SessionSpecSchema.safeParse({ ...spec, permissions: { ask: ['Bash(npm'] } });
    expect(bad.error?.issues[0]?.message).toContain('"Bash(npm" is not a rule');
    const unknown = SessionSpecSchema.safeParse({ ...spec, permissions: { deny: ['safety:rm-rf'] } });
    expect(unknown.error?.issues[0]?.message).toContain('there is no safety rule "rm-rf"');
    const key = SessionSpecSchema.safeParse({ ...spec, permissions: { alow: [] } });
    expect(key.error?.issues[0]?.code).toBe('unrecognized_keys');
  });
});
