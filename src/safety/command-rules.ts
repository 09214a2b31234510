/**
 * The rules on commands: a command line an agent reports running, split into simple commands
 * (./shell-words.ts), against destructive patterns (recursive deletes of / or ~, forced pushes to protected
 * branches, downloads piped into a shell, world-writable system directories, disk tools, fork bombs, sudo).
 */
import type { SafetyRuleId } from '../domain/spec.js';
import { violation, type PolicyContext, type Violation } from './rules.js';
import { simpleCommands, type SimpleCommand } from './shell-words.js';

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
      `\\b(?:curl|wget|fetch)\\b[^|;&\\n]*\\|\\s*` +
        `(?:sudo\\s+(?:-\\S+\\s+)*)?(?:env\\s+(?:\\S+=\\S*\\s+)*)?(?:\\S*/)?(?:${INTERPRETER})\\b`,
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
