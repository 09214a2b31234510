/**
 * The checks before anything runs, pure: a session's directories (at create/resume: a usage error) and each
 * launch's command line (in wrapLaunch: the launch is refused). A launch must run the agent binary this
 * orchestrator resolved for that agent (never a shell), with exactly the arguments the agent's adapter builds
 * (the prompt being the one free argument), in a directory inside the allowed roots.
 */
import { basename } from 'node:path';
import type { AgentAdapter, LaunchOptions } from '../agents/types.js';
import { isInside, resolvePath } from './paths.js';

/** Directories an agent must never get as its target, include dir or allowed root: too much to hand over. */
const SYSTEM_DIRS = [
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/lib',
  '/lib32',
  '/lib64',
  '/proc',
  '/sbin',
  '/sys',
  '/usr',
  '/var',
  '/run',
  '/home',
  '/root',
  '/opt',
  '/srv',
  '/tmp',
  '/var/tmp',
];
const SHELLS = new Set([
  'sh',
  'bash',
  'zsh',
  'dash',
  'ksh',
  'ash',
  'mksh',
  'fish',
  'csh',
  'tcsh',
  'env',
  'busybox',
  'sudo',
  'su',
  'doas',
  'xargs',
  'python',
  'python3',
  'perl',
  'ruby',
]);

/** Why `dir` is too broad to give an agent write access to, or null. */
export function tooBroad(dir: string, home: string): string | null {
  if (dir === '/') return 'it is the root directory';
  if (isInside(home, dir)) return dir === home ? 'it is the home directory' : 'it contains the home directory';
  if (SYSTEM_DIRS.includes(dir)) return 'it is a system directory';
  return null;
}

export interface DirectoryCheck {
  targetDir: string;
  includeDirs: readonly string[];
  allowedRoots: readonly string[];
  home: string;
}

/**
 * Problems with a session's directories (empty: fine). Every path is resolved first (`~`, `..`, relative to the
 * target).
 */
export function checkDirectories(check: DirectoryCheck): string[] {
  const problems: string[] = [];
  const named: Array<[string, string]> = [
    ['the target directory', check.targetDir],
    ...check.includeDirs.map((d): [string, string] => ['includeDirs entry', d]),
    ...check.allowedRoots.map((d): [string, string] => ['safety.allowedRoots entry', d]),
  ];
  for (const [what, dir] of named) {
    const why = tooBroad(resolvePath(dir, check.targetDir, check.home), check.home);
    if (why) problems.push(`${what} ${dir} cannot be handed to an agent: ${why}`);
  }
  return problems;
}

export interface LaunchCheck {
  adapter: AgentAdapter;
  /** The binary this orchestrator resolves for the agent (PATH or ORCHESTRATOR_*_BIN); null when it resolves none. */
  expectedBinary: string | null;
  launch: Omit<LaunchOptions, 'prompt'>;
  /** Interactive mode: the adapter's interactive command, which has no prompt in it. */
  interactive?: boolean;
  /** Where the agent may work: the target, its include dirs and the allowed roots (absolute). */
  allowedRoots: readonly string[];
  home: string;
}

const PLACEHOLDER = 'orchestrator-safety-prompt-placeholder';

/** Problems with one launch (empty: fine). */
export function validateLaunch(
  request: { file: string; args: readonly string[]; cwd: string },
  check: LaunchCheck,
): string[] {
  const problems: string[] = [];
  const name = basename(request.file);
  if (SHELLS.has(name)) problems.push(`the agent binary ${request.file} is a shell or launcher, not an agent CLI`);
  else if (check.expectedBinary === null)
    problems.push(`no ${check.adapter.displayName} binary resolves here, yet ${request.file} was to run`);
  else if (request.file !== check.expectedBinary)
    problems.push(
      `${request.file} is not the ${check.adapter.displayName} binary ` +
        `this orchestrator resolved (${check.expectedBinary})`,
    );

  if (!argsFromAdapter(request.args, check)) {
    problems.push(
      `the arguments are not the ones ${check.adapter.displayName}'s adapter builds for this launch: ` +
        `${JSON.stringify(request.args.filter((a) => a.startsWith('-')))}`,
    );
  }
  const launch = check.launch;
  if (launch.model?.startsWith('-')) problems.push(`the model "${launch.model}" looks like a flag`);
  if (launch.resume?.agentSessionId.startsWith('-'))
    problems.push(`the resume id "${launch.resume.agentSessionId}" looks like a flag`);
  for (const dir of launch.includeDirs)
    if (dir.startsWith('-')) problems.push(`the include dir "${dir}" looks like a flag`);

  const cwd = resolvePath(request.cwd, '/', check.home);
  if (!check.allowedRoots.some((root) => isInside(cwd, root)))
    problems.push(`the working directory ${cwd} is outside the allowed roots (${check.allowedRoots.join(', ')})`);
  const broad = tooBroad(cwd, check.home);
  if (broad) problems.push(`the working directory ${cwd} cannot be handed to an agent: ${broad}`);
  return problems;
}

/**
 * The adapter's own command for this launch with a placeholder prompt must match the request element by
 * element, the prompt's element being free (prompts starting with "-" are built differently: both tried).
 */
function argsFromAdapter(args: readonly string[], check: LaunchCheck): boolean {
  const interactive = check.interactive ? check.adapter.interactive : undefined;
  if (interactive) {
    const built = interactive.buildCommand(check.launch).args;
    return built.length === args.length && built.every((expected, i) => args[i] === expected);
  }
  return [PLACEHOLDER, `-${PLACEHOLDER}`].some((prompt) => {
    let built: string[];
    try {
      built = check.adapter.buildCommand({ ...check.launch, prompt }).args;
    } catch {
      return false;
    }
    if (built.length !== args.length) return false;
    return built.every((expected, i) => {
      const actual = args[i] as string;
      const at = expected.indexOf(prompt);
      if (at === -1) return actual === expected;
      const prefix = expected.slice(0, at);
      const suffix = expected.slice(at + prompt.length);
      const promptText = actual.slice(prefix.length, actual.length - suffix.length);
      return (
        actual.startsWith(prefix) &&
        actual.endsWith(suffix) &&
        actual.length >= prefix.length + suffix.length &&
        promptText.startsWith('-') === prompt.startsWith('-')
      );
    });
  });
}
