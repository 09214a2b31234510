/**
 * File-system errors on paths a person gave (a transcript, --stderr, --workspace, --spec ...) are usage errors:
 * one line naming the path and what is wrong with it, exit code 1, never a stack trace.
 */
import { statSync } from 'node:fs';
import { UsageError } from '../domain/usage-error.js';

const REASONS: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EISDIR: 'is a folder, not a file',
  ENOTDIR: 'not a folder (a part of the path is a file)',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EEXIST: 'a file is in the way (a folder is needed there)',
  EROFS: 'read-only file system',
};

/** A Node file-system error with one of the codes above. */
export function isUserFsError(error: unknown): error is NodeJS.ErrnoException & { code: string } {
  return (
    error instanceof Error &&
    typeof (error as NodeJS.ErrnoException).code === 'string' &&
    (error as NodeJS.ErrnoException).code! in REASONS &&
    typeof (error as NodeJS.ErrnoException).syscall === 'string'
  );
}

/**
 * `<what> <path>: <reason>` for a file-system error, or null for any other error. `path` is the path the person
 * gave (the error's own path, if it has one, is used otherwise: a read error of a stream has none).
 */
export function describeFsError(error: unknown, what?: string, path?: string): string | null {
  if (!isUserFsError(error)) return null;
  const where = path ?? error.path;
  const reason = REASONS[error.code] as string;
  return `${what ? `${what} ` : ''}${where ?? ''}${where ? ': ' : ''}${reason}`;
}

/** A usage error for a file-system error (see describeFsError); any other error unchanged. */
export function asUsageError(error: unknown, what?: string, path?: string): unknown {
  const message = describeFsError(error, what, path);
  return message === null ? error : new UsageError(message);
}

/**
 * A file a command is about to read: it must exist and be a file (not a folder), else a usage error naming it.
 * (`open` succeeds on a folder; the error would only come from the first read, without the path.)
 */
export function checkReadableFile(path: string, what: string): void {
  let folder: boolean;
  try {
    folder = statSync(path).isDirectory();
  } catch (error) {
    throw asUsageError(error, what, path);
  }
  // Devices and pipes (/dev/null, <(...)) are fine.
  if (folder) throw new UsageError(`${what} ${path}: ${REASONS.EISDIR}`);
}
