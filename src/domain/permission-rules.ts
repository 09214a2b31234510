/**
 * Permission rules, pure: the spec's `permissions` in Claude Code's rule syntax, and the decision for one request
 * an agent makes before a tool runs (docs/permissions.md).
 *
 *   Bash                      every command          Bash(npm test)        exactly that command
 *   Bash(npm run test:*)      a command starting so  Bash(git * main)      `*` is any text; a trailing ` *` also
 *                                                                          matches the bare command (`git`)
 *   Edit(src/**)  Read(*.env) files, gitignore-style: `//abs`, `~/home`, `/from-the-project-root`, else from the
 *                             agent's directory; a pattern without a slash matches a name at any depth below it
 *   WebFetch(domain:example.com)  (or *.example.com)  mcp__server  mcp__server__tool
 *   safety:rm-rf-root         a built-in safety rule (src/safety/rules.ts) the request breaks
 *
 * `Edit` covers every tool that writes a file (Write, MultiEdit, NotebookEdit); `Read` every one that reads (Grep,
 * Glob, LS). A command joined from several (`a && b`, `a | b`) is allowed only when each part is; one part that is
 * denied or asked about decides for all. Deny wins, then ask, then allow; what no rule names gets the default.
 */

export type PermissionDecision = 'allow' | 'deny' | 'ask';
export type PermissionList = 'deny' | 'ask' | 'allow';

/** One request, as every protocol's is mapped to: which tool, on what, by whom. */
export interface PermissionRequest {
  /** Claude Code's name for the tool (Bash, Edit, Write, Read, WebFetch, mcp__server__tool ...), or the agent's. */
  tool: string;
  /** The command line of a shell tool. */
  command?: string;
  /** The files it reads or writes, absolute. */
  paths?: string[];
  url?: string;
  agent: string;
  workerId: string;
}

/** What the caller knows around the request (I/O it did): where paths resolve, the command's parts, violations. */
export interface DecisionContext {
  /** The agent's working directory: `path` and `./path` patterns resolve against it. */
  cwd: string;
  /** The project root: `/path` patterns resolve against it. */
  root: string;
  home: string;
  /** The simple commands of `command` (`a && b` -> [a, b]), wrappers such as `timeout` or `nice` taken off. */
  commands?: string[];
  /** The built-in safety rules the request breaks, by id. */
  violations?: readonly string[];
}

export interface PermissionRules {
  allow: readonly string[];
  deny: readonly string[];
  ask: readonly string[];
  /**
   * What a person allowed always in this session (`ruleFor` of a request): checked after deny and before ask, and
   * literally (a `*` in a command allowed always is that character, not any text).
   */
  always?: readonly string[];
  /** For a request no rule names. */
  default: PermissionDecision;
}

export interface Decided {
  decision: PermissionDecision;
  /** The rule that decided, as written; null when the default did. */
  rule: string | null;
  list: PermissionList | 'default';
}

/** A rule, parsed. */
export type ParsedRule = { kind: 'tool'; tool: string; specifier: string | null } | { kind: 'safety'; id: string };

const TOOL_NAME = /^[A-Za-z_][\w-]*$/;

/** Parse one rule; a string that is not one gives an error a person can act on. */
export function parseRule(text: string): ParsedRule | { error: string } {
  const rule = text.trim();
  if (rule.startsWith('safety:')) {
    const id = rule.slice('safety:'.length);
    return id ? { kind: 'safety', id } : { error: `"${text}": name a safety rule after "safety:"` };
  }
  const open = rule.indexOf('(');
  if (open === -1) {
    if (!TOOL_NAME.test(rule))
      return { error: `"${text}" is not a rule (Tool or Tool(specifier), e.g. Bash(npm test))` };
    return { kind: 'tool', tool: rule, specifier: null };
  }
  const tool = rule.slice(0, open);
  if (!TOOL_NAME.test(tool) || !rule.endsWith(')'))
    return { error: `"${text}" is not a rule (Tool or Tool(specifier), e.g. Bash(npm test))` };
  const specifier = rule.slice(open + 1, -1).trim();
  // `Bash()` and `Bash(*)` mean every use, as in Claude Code.
  return { kind: 'tool', tool, specifier: specifier === '' || specifier === '*' ? null : specifier };
}

/** The tools a rule's name covers. */
const TOOL_GROUPS: Readonly<Record<string, readonly string[]>> = {
  Edit: ['Edit', 'Write', 'MultiEdit', 'NotebookEdit'],
  Write: ['Write', 'Edit', 'MultiEdit', 'NotebookEdit'],
  Read: ['Read', 'Grep', 'Glob', 'LS', 'NotebookRead'],
};

function coversTool(ruleTool: string, tool: string): boolean {
  if (ruleTool === tool) return true;
  if (TOOL_GROUPS[ruleTool]?.includes(tool)) return true;
  // mcp__server covers each of its tools.
  return ruleTool.startsWith('mcp__') && !ruleTool.slice(5).includes('__') && tool.startsWith(`${ruleTool}__`);
}

type Match = 'all' | 'some' | 'none';

/**
 * How far a rule matches the request: `all` of it, `some` of it (one part of a joined command: enough to deny or
 * ask, not to allow), or `none`.
 */
export function ruleMatches(rule: ParsedRule, request: PermissionRequest, ctx: DecisionContext): Match {
  if (rule.kind === 'safety') return ctx.violations?.includes(rule.id) ? 'all' : 'none';
  if (!coversTool(rule.tool, request.tool)) return 'none';
  if (rule.specifier === null) return 'all';
  const spec = rule.specifier;
  if (request.command !== undefined && (rule.tool === 'Bash' || request.tool === rule.tool)) {
    // A joined command is matched part by part: `Bash(npm test:*)` must not cover `npm test && rm -rf x`. Each part
    // is also tried as the shell reader unwrapped it (`timeout 5 curl`, `/usr/bin/curl`, `FOO=1 curl`, `"curl"`) and
    // without its sudo: enough to deny or ask about it (`some`), never to allow it.
    const parts = ctx.commands ?? [];
    const raw = parts.length > 1 ? parts : [request.command];
    const exact = raw.filter((part) => commandMatches(spec, part)).length;
    if (exact === raw.length) return 'all';
    const loose = (part: string) => commandMatches(spec, part) || commandMatches(spec, part.replace(/^sudo /, ''));
    return exact > 0 || parts.some(loose) ? 'some' : 'none';
  }
  if (spec.startsWith('domain:')) {
    const host = hostOf(request.url);
    return host !== null && domainMatches(spec.slice('domain:'.length), host) ? 'all' : 'none';
  }
  const paths = request.paths ?? [];
  if (paths.length === 0) return 'none';
  const hits = paths.filter((path) => pathMatches(spec, path, ctx)).length;
  return hits === 0 ? 'none' : hits === paths.length ? 'all' : 'some';
}

/** Decide one request: deny wins, then ask, then allow; the default when no rule names it. */
export function decidePermission(rules: PermissionRules, request: PermissionRequest, ctx: DecisionContext): Decided {
  for (const text of rules.deny) {
    const rule = parseRule(text);
    if (!('error' in rule) && ruleMatches(rule, request, ctx) !== 'none')
      return { decision: 'deny', rule: text, list: 'deny' };
  }
  const always = ruleFor(request);
  if (rules.always?.includes(always)) return { decision: 'allow', rule: always, list: 'allow' };
  for (const text of rules.ask) {
    const rule = parseRule(text);
    if (!('error' in rule) && ruleMatches(rule, request, ctx) !== 'none')
      return { decision: 'ask', rule: text, list: 'ask' };
  }
  for (const text of rules.allow) {
    const rule = parseRule(text);
    if (!('error' in rule) && ruleMatches(rule, request, ctx) === 'all')
      return { decision: 'allow', rule: text, list: 'allow' };
  }
  // A joined command whose parts are each allowed by some rule is allowed.
  const parts = ctx.commands && ctx.commands.length > 1 ? ctx.commands : null;
  if (parts && request.command !== undefined) {
    const allowedBy = parts.map((part) =>
      rules.allow.find((text) => {
        const rule = parseRule(text);
        return (
          !('error' in rule) && ruleMatches(rule, { ...request, command: part }, { ...ctx, commands: [part] }) === 'all'
        );
      }),
    );
    if (allowedBy.every((rule) => rule !== undefined))
      return { decision: 'allow', rule: [...new Set(allowedBy)].join(', '), list: 'allow' };
  }
  return { decision: rules.default, rule: null, list: 'default' };
}

/** The rule `allow-always` adds for a request: the exact command, the exact file, the domain, or the tool. */
export function ruleFor(request: PermissionRequest): string {
  if (request.command !== undefined) return `${request.tool}(${request.command})`;
  // `//` starts an absolute path in the rule syntax; a request's paths are absolute.
  if (request.paths && request.paths.length === 1)
    return `${request.tool}(//${(request.paths[0] ?? '').replace(/^\/+/, '')})`;
  const host = hostOf(request.url);
  if (host) return `${request.tool}(domain:${host})`;
  return request.tool;
}

/** One line for people: `Bash: npm test`, `Edit: /repo/src/a.ts`, `WebFetch: https://...`. */
export function describeRequest(request: PermissionRequest): string {
  const subject = request.command ?? request.paths?.join(', ') ?? request.url;
  return subject ? `${request.tool}: ${subject}` : request.tool;
}

// --- commands ----------------------------------------------------------------------------------------------

/** Claude Code's command patterns: `prefix:*`, `*` as any text, a trailing ` *` that may also be absent. */
export function commandMatches(pattern: string, command: string): boolean {
  const cmd = command.trim();
  if (pattern.endsWith(':*')) return cmd.startsWith(pattern.slice(0, -2));
  if (!pattern.includes('*')) return cmd === pattern;
  let source = pattern.split('*').map(escapeRegExp).join('.*');
  if (pattern.endsWith(' *')) source = `${source.slice(0, -' .*'.length)}(?: .*)?`;
  return new RegExp(`^${source}$`, 's').test(cmd);
}

// --- paths -------------------------------------------------------------------------------------------------

/** A gitignore-style path pattern against an absolute path. */
export function pathMatches(
  pattern: string,
  path: string,
  ctx: Pick<DecisionContext, 'cwd' | 'root' | 'home'>,
): boolean {
  let base: string;
  let rest: string;
  if (pattern.startsWith('//')) {
    base = '/';
    rest = pattern.slice(2);
  } else if (pattern === '~' || pattern.startsWith('~/')) {
    base = ctx.home;
    rest = pattern.slice(2);
  } else if (pattern.startsWith('/')) {
    base = ctx.root;
    rest = pattern.slice(1);
  } else {
    base = ctx.cwd;
    rest = pattern.startsWith('./') ? pattern.slice(2) : pattern;
  }
  const relative = relativeInside(path, base);
  if (relative === null) return false;
  if (rest === '' || rest === '**') return true;
  // A trailing slash names a folder: everything below it.
  if (rest.endsWith('/')) rest = `${rest}**`;
  // Without a slash (but a trailing one), the name matches at any depth, as in .gitignore.
  if (!rest.includes('/')) rest = `**/${rest}`;
  return globToRegExp(rest).test(relative);
}

function relativeInside(path: string, base: string): string | null {
  const root = base.endsWith('/') ? base : `${base}/`;
  if (path === base || path === root.slice(0, -1)) return '';
  return path.startsWith(root) ? path.slice(root.length) : null;
}

/** `**` any depth (also none), `*` within one segment, `?` one character; a folder also matches what is inside. */
function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*' && glob[i + 1] === '*') {
      const slash = glob[i + 2] === '/';
      out += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += escapeRegExp(c);
  }
  return new RegExp(`^${out}(?:/.*)?$`, 's');
}

// --- domains -----------------------------------------------------------------------------------------------

function hostOf(url: string | undefined): string | null {
  if (!url) return null;
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return null;
  }
}

function domainMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase();
  return p.startsWith('*.') ? host.endsWith(p.slice(1)) : host === p;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A `permission` event as one line: `allowed Bash: npm test (rule Bash(npm test:*))`, `asked a person: ...`. */
export function describePermissionEvent(e: {
  decision: PermissionDecision;
  by: 'rule' | 'default' | 'person';
  tool: string;
  command?: string;
  paths?: string[];
  url?: string;
  rule?: string;
  person?: string;
  blockerId?: string;
}): string {
  const what = describeRequest({ ...e, agent: '', workerId: '' });
  if (e.decision === 'ask') return `asks a person${e.blockerId ? ` (${e.blockerId})` : ''}: ${what}`;
  const verb = e.decision === 'allow' ? 'allowed' : 'denied';
  const who =
    e.by === 'person'
      ? `by ${e.person ?? 'a person'}${e.rule ? `, from now on ${e.rule}` : ''}`
      : e.by === 'rule'
        ? `rule ${e.rule}`
        : 'no rule named it';
  return `${verb} ${what} (${who})`;
}
