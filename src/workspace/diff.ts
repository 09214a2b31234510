/**
 * Diffs between two commits of the user's repository: the unified diff (for people, reviewers and `git apply`)
 * and the list of files with their +/- counts (for `status`, `diff --stat`, the API and the dashboard).
 */
import { git, gitBytes, splitZ } from './git.js';

export type FileStatus = 'added' | 'modified' | 'deleted' | 'renamed' | 'copied' | 'type-changed';

export interface DiffFile {
  path: string;
  /** For renames and copies: where it came from. */
  oldPath?: string;
  status: FileStatus;
  additions: number;
  deletions: number;
  binary: boolean;
}

export type { ChangeStat } from '../domain/isolation.js';

const STATUS: Record<string, FileStatus> = {
  A: 'added',
  M: 'modified',
  D: 'deleted',
  R: 'renamed',
  C: 'copied',
  T: 'type-changed',
};

/** The files that differ between two commits, with their line counts (renames found). */
export async function diffFiles(root: string, from: string, to: string): Promise<DiffFile[]> {
  const [names, counts] = await Promise.all([
    git(root, ['diff', '--no-color', '--no-ext-diff', '--no-textconv', '-M', '--name-status', '-z', from, to]),
    git(root, ['diff', '--no-color', '--no-ext-diff', '--no-textconv', '-M', '--numstat', '-z', from, to]),
  ]);
  return zipDiff(splitNameStatus(names.stdout), splitNumstat(counts.stdout));
}

/** The unified diff from one commit to another; `binary` includes binary changes as `git apply` takes them. */
export async function unifiedDiff(
  root: string,
  from: string,
  to: string,
  options: { binary?: boolean; paths?: readonly string[] } = {},
): Promise<Buffer> {
  return gitBytes(root, [
    'diff',
    '--no-color',
    '--no-ext-diff',
    '--no-textconv',
    '-M',
    ...(options.binary ? ['--binary'] : []),
    from,
    to,
    '--',
    ...(options.paths ?? []),
  ]);
}

/** `git diff --stat` of a range, for a terminal. */
export async function diffStatText(root: string, from: string, to: string, width = 80): Promise<string> {
  return (await git(root, ['diff', '--no-color', '-M', `--stat=${width}`, from, to])).stdout;
}

interface NameStatus {
  status: FileStatus;
  path: string;
  oldPath?: string;
}

/** `--name-status -z`: `M\0path\0`, `R100\0old\0new\0`. */
export function splitNameStatus(text: string): NameStatus[] {
  const parts = splitZ(text);
  const out: NameStatus[] = [];
  for (let i = 0; i < parts.length; ) {
    const code = parts[i++] as string;
    const status = STATUS[code[0] ?? 'M'] ?? 'modified';
    if (status === 'renamed' || status === 'copied') {
      const oldPath = parts[i++] as string;
      out.push({ status, oldPath, path: parts[i++] as string });
    } else {
      out.push({ status, path: parts[i++] as string });
    }
  }
  return out;
}

interface Numstat {
  additions: number;
  deletions: number;
  binary: boolean;
}

/** `--numstat -z`: `add\tdel\tpath\0`, or for a rename `add\tdel\t\0old\0new\0`; binary files count `-`. */
export function splitNumstat(text: string): Numstat[] {
  const parts = text.split('\0');
  const out: Numstat[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    const match = /^(-|\d+)\t(-|\d+)\t(.*)$/s.exec(part);
    if (!match) continue;
    if (match[3] === '') i += 2; // a rename: old and new path follow
    out.push({
      additions: match[1] === '-' ? 0 : Number(match[1]),
      deletions: match[2] === '-' ? 0 : Number(match[2]),
      binary: match[1] === '-',
    });
  }
  return out;
}

function zipDiff(names: NameStatus[], counts: Numstat[]): DiffFile[] {
  return names.map((name, i) => ({ ...name, ...(counts[i] ?? { additions: 0, deletions: 0, binary: false }) }));
}
