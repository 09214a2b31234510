/**
 * Running git for the workspace: argv arrays (never a shell), the repository named by `cwd` only, and settings
 * that keep git from doing anything besides what it was asked.
 *
 * Worker checkouts are written by agents, so git must not execute anything an agent could have planted there:
 * hooks are off (`core.hooksPath=/dev/null` plus `--no-verify` where a command has it), so are fsmonitor, signing
 * prompts and automatic gc/maintenance. The checkout's own `.git/config` is read-only inside the sandbox (see
 * src/safety/sandbox.ts), so an agent cannot define filter drivers or an external diff for us to run. Inherited
 * variables that would point git at another repository or index are removed, `GIT_OPTIONAL_LOCKS=0` keeps
 * `git status` from rewriting the user's index, and messages are in the C locale so they can be parsed.
 */
import { spawn } from 'node:child_process';

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface GitOptions {
  /** Added to the environment (after the repository variables are removed). */
  env?: Record<string, string>;
  /** Written to git's stdin. */
  input?: string | Buffer;
  /** Exit codes that are not an error (default: only 0). */
  ok?: readonly number[];
  /** Run the user's hooks (only for what the user asked to happen in their own repository: `apply --merge`). */
  userHooks?: boolean;
  timeoutMs?: number;
  /** Run git inside a sandbox (the git of a checkout an agent could write: see checkouts.ts). */
  confine?: Confine;
}

/** Wraps a command so that it runs confined (src/safety builds it from the session's sandbox). */
export type Confine = (command: { file: string; args: string[]; cwd: string }) => { file: string; args: string[] };

/** A git command that failed: its argv, exit code and stderr, in one line a person can read. */
export class GitError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly result: GitResult,
  ) {
    const why = result.stderr.trim().split('\n').filter(Boolean).slice(-3).join(' / ') || `exit ${result.code}`;
    super(`git ${args.join(' ')} failed: ${why}`);
    this.name = 'GitError';
  }
}

/** Variables that would make git use another repository, work tree, index or object store than `cwd`'s. */
const REPOSITORY_VARS = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_COMMON_DIR',
  'GIT_NAMESPACE',
  'GIT_PREFIX',
  'GIT_CEILING_DIRECTORIES',
  'GIT_DISCOVERY_ACROSS_FILESYSTEM',
  'GIT_CONFIG_PARAMETERS',
  'GIT_CONFIG_COUNT',
  'GIT_QUARANTINE_PATH',
];

const SETTINGS = [
  'core.fsmonitor=false',
  'commit.gpgSign=false',
  'tag.gpgSign=false',
  'gc.auto=0',
  'maintenance.auto=false',
  'advice.detachedHead=false',
  'core.quotePath=false',
  'merge.renames=true',
];

const DEFAULT_TIMEOUT_MS = 10 * 60_000;

export function gitEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !REPOSITORY_VARS.includes(key)) env[key] = value;
  }
  return {
    ...env,
    LC_ALL: 'C',
    LANGUAGE: 'C',
    GIT_TERMINAL_PROMPT: '0',
    GIT_OPTIONAL_LOCKS: '0',
    GIT_MERGE_AUTOEDIT: 'no',
    ...extra,
  };
}

function argv(args: readonly string[], options: GitOptions): string[] {
  const config = options.userHooks ? SETTINGS : ['core.hooksPath=/dev/null', ...SETTINGS];
  return [...config.flatMap((c) => ['-c', c]), ...args];
}

/** Run git in `cwd`; a non-zero exit outside `ok` throws a GitError. */
export async function git(cwd: string, args: readonly string[], options: GitOptions = {}): Promise<GitResult> {
  const command = { file: 'git', args: argv(args, options), cwd };
  const { file, args: fullArgs } = options.confine ? options.confine(command) : command;
  const result = await runFile(file, fullArgs, cwd, options);
  const out: GitResult = { code: result.code, stdout: result.stdout.toString('utf8'), stderr: result.stderr };
  if (!(options.ok ?? [0]).includes(out.code)) throw new GitError(args, out);
  return out;
}

/** Run git and return its stdout as bytes (patches must reach `git apply` byte for byte). */
export async function gitBytes(cwd: string, args: readonly string[], options: GitOptions = {}): Promise<Buffer> {
  const result = await runFile('git', argv(args, options), cwd, { ...options, input: undefined });
  if (!(options.ok ?? [0]).includes(result.code))
    throw new GitError(args, { code: result.code, stdout: '', stderr: result.stderr });
  return result.stdout;
}

/**
 * One git process: argv, no shell, the environment of gitEnv only, stdin from `input` or none, all of stdout as
 * bytes. node:child_process directly rather than execa, which the rest of the code uses: git runs some ten
 * times per agent run, and execa's own work per call doubled what a call cost the orchestrator (9.5 against
 * 4.9 ms of CPU, measured). A git that cannot start is exit code -1 with the reason as its stderr.
 */
function runFile(
  file: string,
  args: readonly string[],
  cwd: string,
  options: GitOptions,
): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      cwd,
      env: gitEnv(options.env),
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let settled = false;
    const settle = (code: number, why?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(stdout), stderr: why ?? Buffer.concat(stderr).toString('utf8') });
    };
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      settle(-1, `timed out after ${timeoutMs} ms`);
    }, timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error) => settle(-1, error.message));
    child.on('close', (code) => settle(code ?? -1));
    if (options.input !== undefined && child.stdin) {
      // git may exit before reading everything (a failing command): its closed stdin is not our error.
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.input);
    }
  });
}

/** stdout, trimmed of its final newline. */
export async function gitLine(cwd: string, args: readonly string[], options: GitOptions = {}): Promise<string> {
  return (await git(cwd, args, options)).stdout.trim();
}

/** True when git exits 0, false when it exits 1 (`merge-base --is-ancestor`, `diff --quiet`); other codes throw. */
export async function gitTest(cwd: string, args: readonly string[]): Promise<boolean> {
  return (await git(cwd, args, { ok: [0, 1] })).code === 0;
}

/** NUL-separated output (`-z`) as a list. */
export function splitZ(text: string): string[] {
  return text.split('\0').filter((s) => s !== '');
}

/** The commit a revision names, or null when it names none. */
export async function resolveCommit(cwd: string, rev: string): Promise<string | null> {
  if (rev.startsWith('-') || rev.trim() === '') return null;
  const out = await git(cwd, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`], { ok: [0, 1] });
  const sha = out.stdout.trim();
  return out.code === 0 && /^[0-9a-f]{40,64}$/.test(sha) ? sha : null;
}
