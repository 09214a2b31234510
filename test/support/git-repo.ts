/**
 * Real git repositories for tests: make one, commit in it, and take a snapshot of a checkout (HEAD, the index
 * byte for byte, and every file: tracked, untracked and ignored) to prove nothing touched it.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';

const IDENTITY = [
  '-c',
  'user.name=t',
  '-c',
  'user.email=t@t',
  '-c',
  'commit.gpgSign=false',
  '-c',
  'init.defaultBranch=main',
];

/** git in `cwd`, its stdout (trimmed); throws with stderr on failure. */
export function gitIn(cwd: string, ...args: string[]): string {
  return execFileSync('git', [...IDENTITY, ...args], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
}

/** A repository with one commit of `files` (in a new temp folder unless `dir` is given). */
export function makeRepo(
  files: Record<string, string> = { 'README.md': '# repo\n' },
  dir = mkdtempSync(join(tmpdir(), 'orch-git-')),
): string {
  mkdirSync(dir, { recursive: true });
  gitIn(dir, 'init', '-q');
  writeFiles(dir, files);
  gitIn(dir, 'add', '-A');
  gitIn(dir, 'commit', '-q', '-m', 'init');
  return dir;
}

export function commitAll(dir: string, message: string): string {
  gitIn(dir, 'add', '-A');
  gitIn(dir, 'commit', '-q', '-m', message);
  return gitIn(dir, 'rev-parse', 'HEAD');
}

export interface CheckoutSnapshot {
  head: string;
  symbolicHead: string;
  index: string;
  files: Record<string, string>;
}

/**
 * What a person sees of a checkout: HEAD, the index file's bytes, and the content of every file and symlink
 * outside .git (ignored ones included), except under `skip` (the orchestrator's workspace, when it lives there).
 */
export function snapshotCheckout(dir: string, skip: readonly string[] = []): CheckoutSnapshot {
  const files: Record<string, string> = {};
  const walk = (at: string) => {
    for (const entry of readdirSync(at)) {
      const path = join(at, entry);
      const rel = relative(dir, path);
      if (rel === '.git' || skip.includes(rel)) continue;
      const stat = lstatSync(path);
      if (stat.isDirectory()) walk(path);
      else if (stat.isSymbolicLink()) files[rel] = `-> ${readlinkSync(path)}`;
      else files[rel] = `${stat.mode.toString(8)} ${createHash('sha1').update(readFileSync(path)).digest('hex')}`;
    }
  };
  walk(dir);
  let index = '';
  try {
    index = createHash('sha1')
      .update(readFileSync(join(dir, '.git', 'index')))
      .digest('hex');
  } catch {
    index = 'none';
  }
  return {
    head: gitIn(dir, 'rev-parse', 'HEAD'),
    symbolicHead: gitIn(dir, 'symbolic-ref', '-q', 'HEAD'),
    index,
    files,
  };
}
