/**
 * The safety policy, pure: which agent payloads break a rule, and what to do about it.
 *
 * Commands come from `command` payloads (codex command_execution, claude Bash, gemini run_shell_command) and
 * are checked against destructive patterns. Paths come from `file_change` payloads (claude Write/Edit, codex
 * file_change, gemini write_file/replace) and from write-like `tool_call`s, and must lie inside the allowed
 * roots. The agent reports what it does, so this detects; the sandbox (src/safety/sandbox.ts) prevents.
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { AgentPayload } from '../domain/events.js';
import type { SafetyAction, SafetyRuleId } from '../domain/spec.js';
import { simpleCommands, type SimpleCommand } from './shell-words.js';

export type Severity = 'critical' | 'high' | 'medium';

export interface RuleInfo {
  severity: Severity;
  defaultAction: SafetyAction;
  /** What it catches, for people (docs/security.md lists the same). */
  description: string;
}

export const RULES: Record<SafetyRuleId, RuleInfo> = {
  'rm-rf-root': {
    severity: 'critical',
    defaultAction: 'pause',
    description: 'recursive delete of / (rm -r /, rm -rf /*, find / -delete)',
  },
  'rm-rf-home': {
    severity: 'critical',
    defaultAction: 'pause',
    description: 'recursive delete of the home directory (~, $HOME, its absolute path)',
  },
  'git-force-push-protected': {
    severity: 'high',
    defaultAction: 'pause',
    description: 'git push --force / +refspec / --delete / --mirror to a protected branch (or to an unnamed one)',
  },
  'curl-pipe-shell': {
    severity: 'high',
    defaultAction: 'log',
    description: 'a download piped into a shell or interpreter (curl ... | sh, bash <(curl ...))',
  },
  'chmod-777-root': {
    severity: 'high',
    defaultAction: 'pause',
    description: 'recursive world-writable chmod of /, a system directory or the home directory',
  },
  'disk-tool': {
    severity: 'critical',
    defaultAction: 'pause',
    description: 'disk tools: mkfs, fdisk, parted, wipefs, dd of=/dev/sdX, writes to block devices',
  },
  'fork-bomb': {
    severity: 'critical',
    defaultAction: 'pause',
    description: 'a fork bomb (:(){ :|:& };:, fork while fork)',
  },
  'privilege-escalation': { severity: 'medium', defaultAction: 'log', description: 'sudo, su, doas, pkexec' },
  'write-outside-target': {
    severity: 'high',
    defaultAction: 'pause',
    description: 'a file written outside the target directory and the allowed roots',
  },
  'budget-exceeded': {
    severity: 'high',
    defaultAction: 'pause',
    description: 'maxCostUsd / maxTokens of a worker or of the session crossed',
  },
  'resource-limit': {
    severity: 'high',
    defaultAction: 'pause',
    description: "maxRssMb / maxCpuPercent of a worker's process group crossed",
  },
};

export interface PolicyContext {
  /** The agent's working directory: relative paths resolve against it. */
  cwd: string;
  /** Where writes are allowed: the target (or worktree), includeDirs, safety.allowedRoots, a private /tmp. */
  allowedRoots: readonly string[];
  home: string;
  protectedBranches: readonly string[];
  rules?: Partial<Record<SafetyRuleId, SafetyAction>>;
  /** Resolves symlinks (the caller's I/O); identity when absent. */
  realpath?: (path: string) => string;
}

export interface Violation {
  rule: SafetyRuleId;
  severity: Severity;
  action: SafetyAction;
  /** The command or path, as the agent reported it. */
  subject: string;
  detail: string;
  toolId?: string;
}

export function actionFor(rule: SafetyRuleId, rules: PolicyContext['rules']): SafetyAction {
  return rules?.[rule] ?? RULES[rule].defaultAction;
}

export function violation(
  rule: SafetyRuleId,
  subject: string,
  detail: string,
  ctx: Pick<PolicyContext, 'rules'>,
  toolId?: string,
): Violation {
  return {
    rule,
    severity: RULES[rule].severity,
    action: actionFor(rule, ctx.rules),
    subject,
    detail,
    ...(toolId ? { toolId } : {}),
  };
}

/** Every violation in a batch of payloads, in order. */
export function checkPayloads(payloads: readonly AgentPayload[], ctx: PolicyContext): Violation[] {
  const out: Violation[] = [];
  for (const payload of payloads) {
    if (payload.kind === 'command') out.push(...checkCommand(payload.command, ctx, payload.toolId));
    else if (payload.kind === 'file_change') {
      for (const change of payload.changes) {
        const v = checkWritePath(change.path, ctx, payload.toolId);
        if (v) out.push(v);
      }
    } else if (payload.kind === 'tool_call') {
      for (const path of writtenPaths(payload.name, payload.input)) {
        const v = checkWritePath(path, ctx, payload.toolId);
        if (v) out.push(v);
      }
    }
  }
  return out;
}

// --- paths -----------------------------------------------------------------------------------------------

const WRITE_TOOL = /write|edit|create|save|replace|append|insert|patch|move|rename|delete|remove|mkdir|copy|upload/i;
const PATH_KEYS = [
  'file_path',
  'filePath',
  'path',
  'absolute_path',
  'notebook_path',
  'filename',
  'file',
  'destination',
  'dest',
  'target_file',
  'new_path',
];

/** Paths a write-like tool call names in its input (MCP filesystem tools and the like). */
export function writtenPaths(toolName: string, input: unknown): string[] {
  if (!WRITE_TOOL.test(toolName) || !input || typeof input !== 'object') return [];
  const record = input as Record<string, unknown>;
  return PATH_KEYS.map((k) => record[k]).filter((v): v is string => typeof v === 'string' && v.length > 0);
}

/** A write to `path` outside every allowed root, or null. */
export function checkWritePath(path: string, ctx: PolicyContext, toolId?: string): Violation | null {
  const real = ctx.realpath ?? ((p: string) => p);
  const absolute = real(resolvePath(path, ctx.cwd, ctx.home));
  const roots = ctx.allowedRoots.map((r) => real(resolvePath(r, ctx.cwd, ctx.home)));
  if (roots.some((root) => isInside(absolute, root))) return null;
  return violation(
    'write-outside-target',
    path,
    `writes ${absolute}, outside the allowed directories (${roots.join(', ')})`,
    ctx,
    toolId,
  );
}

/** Absolute and normalized (`..` and `.` resolved); `~` is the home directory; relative to `cwd`. */
export function resolvePath(path: string, cwd: string, home: string): string {
  if (path === '~' || path.startsWith('~/')) return resolve(home, path.slice(2));
  return resolve(cwd, path);
}

export function isInside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

// --- commands --------------------------------------------------------------------------------------------

/** Every rule a command line breaks (each rule once). */
export function checkCommand(line: string, ctx: PolicyContext, toolId?: string): Violation[] {
  const found = new Map<SafetyRuleId, string>();
  const add = (rule: SafetyRuleId, detail: string) => {
    if (!found.has(rule)) found.set(rule, detail);
  };
  for (const rule of RAW_PATTERNS) if (rule.pattern.test(line)) add(rule.rule, rule.detail);
  for (const command of simpleCommands(line)) {
    if (command.privileged) add('privilege-escalation', `runs ${command.name} with elevated privileges`);
    checkRm(command, ctx, add);
    checkChmod(command, ctx, add);
    checkGitPush(command, ctx, add);
    checkDiskTool(command, add);
  }
  return [...found].map(([rule, detail]) => violation(rule, line, detail, ctx, toolId));
}

type Add = (rule: SafetyRuleId, detail: string) => void;

const INTERPRETER = '(?:ba|z|da|k|fi|a)?sh|python[0-9.]*|perl|ruby|node|php';
const RAW_PATTERNS: Array<{ rule: SafetyRuleId; pattern: RegExp; detail: string }> = [
  {
    rule: 'curl-pipe-shell',
    pattern: new RegExp(
      `\\b(?:curl|wget|fetch)\\b[^|;&\\n]*\\|\\s*(?:sudo\\s+(?:-\\S+\\s+)*)?(?:env\\s+(?:\\S+=\\S*\\s+)*)?(?:\\S*/)?(?:${INTERPRETER})\\b`,
    ),
    detail: 'pipes a download into a shell or interpreter',
  },
  {
    rule: 'curl-pipe-shell',
    pattern: new RegExp(
      `(?:^|[\\s;&|(/])(?:${INTERPRETER}|source|\\.)\\s[^|;&\\n]*(?:<\\(|\\$\\(|\`)\\s*(?:curl|wget)\\b`,
    ),
    detail: 'runs a downloaded script',
  },
  {
    rule: 'fork-bomb',
    pattern: /(\S+)\s*\(\)\s*\{\s*\1\s*\|\s*\1\s*&\s*;?\s*\}/,
    detail: 'a function that pipes itself into itself in the background',
  },
  {
    rule: 'fork-bomb',
    pattern: /\bfork\s+while\s+fork\b|while\s*\(?\s*(?:1|true|True)\s*\)?\s*[:{]?\s*(?:os\.)?fork\s*\(/,
    detail: 'forks in an endless loop',
  },
];

const SYSTEM_DIRS = [
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/lib',
  '/lib32',
  '/lib64',
  '/opt',
  '/proc',
  '/root',
  '/sbin',
  '/srv',
  '/sys',
  '/usr',
  '/var',
  '/home',
];

/** '/', '~' or the path, after quotes-free normalization: trailing `/`, `/*`, `/.` removed, $HOME written as ~. */
function normalizeTarget(word: string, home: string): string {
  let t = word.replace(/^\$\{HOME\}|^\$HOME/, '~');
  if (t === home || t.startsWith(`${home}/`)) t = `~${t.slice(home.length)}`;
  for (;;) {
    const next = t.replace(/\/\*$/, '').replace(/\/\.$/, '').replace(/\/+$/, '');
    if (next === t) break;
    t = next;
  }
  return t === '' ? '/' : t;
}

function splitFlags(args: string[]): { flags: string[]; operands: string[] } {
  const flags: string[] = [];
  const operands: string[] = [];
  let ended = false;
  for (const a of args) {
    if (!ended && a === '--') ended = true;
    else if (!ended && a.startsWith('-') && a !== '-') flags.push(a);
    else operands.push(a);
  }
  return { flags, operands };
}

const hasShortFlag = (flags: string[], letters: string) =>
  flags.some((f) => /^-[^-]/.test(f) && [...letters].some((l) => f.includes(l)));

function checkRm(command: SimpleCommand, ctx: PolicyContext, add: Add): void {
  if (command.name === 'rm') {
    const { flags, operands } = splitFlags(command.args);
    if (!(flags.includes('--recursive') || hasShortFlag(flags, 'rR'))) return;
    for (const operand of operands) destroys(normalizeTarget(operand, ctx.home), 'rm -r', add);
  } else if (command.name === 'find' && command.args.includes('-delete')) {
    const start = command.args.find((a) => !a.startsWith('-'));
    if (start) destroys(normalizeTarget(start, ctx.home), 'find -delete', add);
  }
}

function destroys(target: string, how: string, add: Add): void {
  if (target === '/') add('rm-rf-root', `${how} of the root directory`);
  else if (target === '~') add('rm-rf-home', `${how} of the home directory`);
}

function checkChmod(command: SimpleCommand, ctx: PolicyContext, add: Add): void {
  if (command.name !== 'chmod') return;
  const { flags, operands } = splitFlags(command.args);
  if (!(flags.includes('--recursive') || hasShortFlag(flags, 'R'))) return;
  const [mode, ...targets] = operands;
  if (!mode || !worldWritable(mode)) return;
  for (const t of targets) {
    const target = normalizeTarget(t, ctx.home);
    if (target === '/' || target === '~' || SYSTEM_DIRS.includes(target)) {
      add('chmod-777-root', `makes ${target === '~' ? 'the home directory' : target} world-writable, recursively`);
      return;
    }
  }
}

function worldWritable(mode: string): boolean {
  if (/^[0-7]{3,4}$/.test(mode)) return (Number.parseInt(mode.slice(-1), 8) & 2) !== 0;
  return mode
    .split(',')
    .some((clause) => /^[ugoa]*[oa][ugoa]*[+=][rwxXst]*w/.test(clause) || /^[+=][rwxXst]*w/.test(clause));
}

const GIT_OPTIONS_WITH_VALUE = ['-C', '-c', '--git-dir', '--work-tree', '--namespace', '--exec-path', '--config-env'];

function checkGitPush(command: SimpleCommand, ctx: PolicyContext, add: Add): void {
  if (command.name !== 'git') return;
  let i = 0;
  while (i < command.args.length && (command.args[i] as string).startsWith('-'))
    i += GIT_OPTIONS_WITH_VALUE.includes(command.args[i] as string) ? 2 : 1;
  if (command.args[i] !== 'push') return;
  const { flags, operands } = splitFlags(command.args.slice(i + 1));
  const force =
    flags.some((f) => f === '--force' || f.startsWith('--force-with-lease') || f === '--mirror') ||
    hasShortFlag(flags, 'f');
  const del = flags.includes('--delete') || hasShortFlag(flags, 'd');
  const refspecs = operands.slice(1);
  const branches: string[] = [];
  let destructive = force || del;
  for (const spec of refspecs) {
    const forced = spec.startsWith('+');
    const body = forced ? spec.slice(1) : spec;
    const colon = body.lastIndexOf(':');
    const dst = (colon === -1 ? body : body.slice(colon + 1)).replace(/^refs\/heads\//, '');
    if (forced || (colon === 0 && dst)) destructive = true;
    branches.push(dst);
  }
  if (!destructive) return;
  const named = branches.filter((b) => b && b !== 'HEAD');
  if (named.length === 0 || flags.includes('--all') || flags.includes('--mirror')) {
    add('git-force-push-protected', 'forced push without naming the branch: the current branch may be protected');
    return;
  }
  const hit = named.find((b) => ctx.protectedBranches.some((p) => globMatch(p, b)));
  if (hit) add('git-force-push-protected', `${del ? 'deletes' : 'force-pushes'} the protected branch ${hit}`);
}

function globMatch(pattern: string, value: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('[^/]*')}$`,
  );
  return re.test(value);
}

const BLOCK_DEVICE =
  /^\/dev\/(?:sd[a-z]|hd[a-z]|vd[a-z]|xvd[a-z]|nvme\d|mmcblk\d|md\d|dm-\d|loop\d|sr\d|disk\/|mapper\/)/;
const DISK_TOOLS = new Set([
  'mke2fs',
  'mkswap',
  'cfdisk',
  'blkdiscard',
  'wipefs',
  'fdisk',
  'sfdisk',
  'gdisk',
  'sgdisk',
  'parted',
]);
/** Flags that make a disk tool only list or print. */
const LISTING = new Set(['-l', '--list', '-p', '--print', '-d', '--dump', '-V', '--version', '-h', '--help']);

function checkDiskTool(command: SimpleCommand, add: Add): void {
  const { name, args } = command;
  if (name.startsWith('mkfs')) {
    add('disk-tool', `${name} formats a filesystem`);
    return;
  }
  if (DISK_TOOLS.has(name)) {
    const listing = args.some((a) => LISTING.has(a)) || (name === 'parted' && args.includes('print'));
    const wipefsListOnly =
      name === 'wipefs' &&
      !args.some((a) => a === '-a' || a === '--all' || a.startsWith('-o') || a.startsWith('--offset'));
    if (!listing && !wipefsListOnly) add('disk-tool', `${name} changes partitions or wipes a disk`);
    return;
  }
  if (name === 'dd') {
    const of = args.find((a) => a.startsWith('of='))?.slice(3);
    if (of && BLOCK_DEVICE.test(of)) add('disk-tool', `dd writes to the block device ${of}`);
    return;
  }
  if (name === 'shred' && args.some((a) => BLOCK_DEVICE.test(a))) {
    add('disk-tool', 'shred overwrites a block device');
    return;
  }
  if (name === 'cryptsetup' && args.some((a) => a === 'luksFormat' || a === 'erase' || a === 'luksErase')) {
    add('disk-tool', 'cryptsetup formats or erases a device');
    return;
  }
  const device = command.redirects.find((r) => BLOCK_DEVICE.test(r));
  if (device) add('disk-tool', `output redirected onto the block device ${device}`);
}
