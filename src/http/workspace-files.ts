/**
 * The two files a server keeps in its workspace, so that the CLI and curl can reach it:
 *
 * - `token`: ONE token per workspace, shared by every server of the workspace (`serve`, and the servers that
 *   `run`, `demo` and `resume` start beside their session). A server reuses the file when it is valid (a
 *   regular file of this user, mode 0600 or stricter, holding a well-formed token) and writes a new random
 *   token only when the file is absent or invalid. ORCHESTRATOR_TOKEN (or the `token` option) still wins.
 *   Rotation: delete the file while no server of the workspace runs; the next server writes a new one.
 * - `server.json`: `{pid, procStartTime, host, port, url, startedAt}` of a server that is running. A server
 *   writes it unless it describes another server that is still alive, replaces a stale one (its process is
 *   gone), and removes it on close only when it is its own.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  linkSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { readProcStat } from '../fs/proc.js';
import { writeFileAtomic } from '../fs/atomic.js';
import { generateToken, isValidToken } from './auth.js';
import type { Logger } from './context.js';

/** A token file larger than this is not a token file. */
const MAX_TOKEN_FILE_BYTES = 4096;

export type TokenFileState =
  | { status: 'absent' }
  | { status: 'valid'; token: string }
  | { status: 'invalid'; reason: string };

export function tokenPathOf(workspace: string): string {
  return join(workspace, 'token');
}

export function serverInfoPathOf(workspace: string): string {
  return join(workspace, 'server.json');
}

/**
 * What the token file holds. Opened without following a symlink, then checked on the open descriptor: a
 * regular file, owned by this user, readable and writable by nobody else, holding one well-formed token.
 */
export function readTokenFile(path: string): TokenFileState {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { status: 'absent' };
    if (code === 'ELOOP') return { status: 'invalid', reason: 'it is a symbolic link' };
    return { status: 'invalid', reason: `it cannot be read (${code ?? (error as Error).message})` };
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) return { status: 'invalid', reason: 'it is not a regular file' };
    const uid = process.getuid?.();
    if (uid !== undefined && info.uid !== uid)
      return { status: 'invalid', reason: `it is owned by uid ${info.uid}, not by this user (uid ${uid})` };
    const mode = info.mode & 0o777;
    if (mode & 0o077)
      return {
        status: 'invalid',
        reason: `its mode ${mode.toString(8).padStart(4, '0')} lets other users at it (it must be 0600)`,
      };
    if (info.size > MAX_TOKEN_FILE_BYTES)
      return { status: 'invalid', reason: `it is ${info.size} bytes long, too long for a token` };
    const buffer = Buffer.alloc(info.size);
    let read = 0;
    while (read < buffer.length) {
      const n = readSync(fd, buffer, read, buffer.length - read, read);
      if (n === 0) break;
      read += n;
    }
    const token = buffer.subarray(0, read).toString('utf8').trim();
    if (token === '') return { status: 'invalid', reason: 'it is empty' };
    if (!isValidToken(token)) return { status: 'invalid', reason: 'it does not hold a well-formed token' };
    return { status: 'valid', token };
  } finally {
    closeSync(fd);
  }
}

/** Create `path` holding `data` (mode 0600) only if it does not exist, atomically: false when it already existed. */
function createExclusive(path: string, data: string): boolean {
  const temp = `${path}.${process.pid}.${randomBytes(3).toString('hex')}.tmp`;
  writeFileAtomic(temp, data, 0o600);
  try {
    // A hard link fails when the name exists, and never shows a half-written file.
    linkSync(temp, path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw error;
    // A file system without hard links: an exclusive create (a reader may see it empty for a moment).
    return createExclusiveNoLink(path, data);
  } finally {
    rmSync(temp, { force: true });
  }
}

function createExclusiveNoLink(path: string, data: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    const buffer = Buffer.from(data, 'utf8');
    let written = 0;
    while (written < buffer.length) written += writeSync(fd, buffer, written, buffer.length - written);
  } finally {
    closeSync(fd);
  }
  return true;
}

export interface WorkspaceToken {
  token: string;
  /**
   * Whether `<workspace>/token` holds this token (false: ORCHESTRATOR_TOKEN differs from the file of a live server).
   */
  inFile: boolean;
}

/**
 * The token of a server of `workspace`. Without an explicit token: the token file when it is valid, else a new
 * random token written to it (0600). With one (ORCHESTRATOR_TOKEN or the option): that token, written to the
 * file unless the file holds another valid token that a live server of the workspace accepts (overwriting it
 * would lock that server's clients out).
 */
export function workspaceToken(workspace: string, explicit: string | undefined, logger?: Logger): WorkspaceToken {
  const path = tokenPathOf(workspace);
  const current = readTokenFile(path);
  if (explicit !== undefined) {
    if (current.status === 'valid' && current.token === explicit) return { token: explicit, inFile: true };
    const other = current.status === 'valid' ? liveServerOf(workspace) : null;
    if (other) {
      logger?.warn(
        `${path} holds the token of the server ${other.url} (pid ${other.pid}), which is still running: ` +
          `left as it is; this server accepts only the token it was given (ORCHESTRATOR_TOKEN)`,
      );
      return { token: explicit, inFile: false };
    }
    writeFileAtomic(path, `${explicit}\n`, 0o600);
    return { token: explicit, inFile: true };
  }
  if (current.status === 'valid') return { token: current.token, inFile: true };
  if (current.status === 'invalid') {
    logger?.warn(`${path} is not usable (${current.reason}): replaced by a new token`);
    rmSync(path, { force: true });
  }
  // Two servers may start at once: the first to create the file wins, the other takes its token.
  for (let attempt = 0; attempt < 3; attempt++) {
    const token = generateToken();
    if (createExclusive(path, `${token}\n`)) return { token, inFile: true };
    const theirs = readTokenFile(path);
    if (theirs.status === 'valid') return { token: theirs.token, inFile: true };
    if (theirs.status === 'invalid') rmSync(path, { force: true });
  }
  const token = generateToken();
  writeFileAtomic(path, `${token}\n`, 0o600);
  return { token, inFile: true };
}

// --- server.json ------------------------------------------------------------------------------------------------

export interface ServerInfo {
  pid: number;
  /** Start time of the process (field 22 of /proc/<pid>/stat): a reused pid has another one. */
  procStartTime?: string;
  host: string;
  port: number;
  url: string;
  startedAt: string;
}

/** Ports of the servers listening in this process (a server.json naming this pid is alive only if its port is here). */
const listeningHere = new Set<number>();

export function ownProcStartTime(): string | undefined {
  return readProcStat(process.pid)?.startTime || undefined;
}

export function readServerInfo(path: string): ServerInfo | null {
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as Partial<ServerInfo>;
    if (
      !Number.isInteger(value.pid) ||
      (value.pid as number) <= 0 ||
      !Number.isInteger(value.port) ||
      typeof value.url !== 'string'
    )
      return null;
    return value as ServerInfo;
  } catch {
    return null;
  }
}

/** Whether the server a server.json describes is still running. */
export function isServerAlive(info: ServerInfo): boolean {
  if (info.pid === process.pid) return listeningHere.has(info.port);
  const stat = readProcStat(info.pid);
  if (stat) {
    if (stat.state === 'Z' || stat.state === 'X') return false;
    return info.procStartTime === undefined || stat.startTime === info.procStartTime;
  }
  // No /proc (or not readable): ask the kernel whether the pid exists.
  try {
    process.kill(info.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The live server described by `<workspace>/server.json`, or null (absent, unreadable, stale). */
export function liveServerOf(workspace: string): ServerInfo | null {
  const info = readServerInfo(serverInfoPathOf(workspace));
  return info && isServerAlive(info) ? info : null;
}

/**
 * Record a server that just started listening: server.json names it unless it names another live server.
 * Returns the live server it was left to, or null when it was written.
 */
export function claimServerInfo(workspace: string, info: ServerInfo): ServerInfo | null {
  listeningHere.add(info.port);
  const path = serverInfoPathOf(workspace);
  const current = readServerInfo(path);
  if (current && !(current.pid === info.pid && current.port === info.port) && isServerAlive(current)) return current;
  writeFileAtomic(path, `${JSON.stringify(info, null, 2)}\n`);
  return null;
}

/** A server closed: forget it, and remove server.json if it names it (another server's is not ours to remove). */
export function releaseServerInfo(workspace: string, info: ServerInfo): void {
  listeningHere.delete(info.port);
  const path = serverInfoPathOf(workspace);
  if (!existsSync(path)) return;
  const current = readServerInfo(path);
  if (current && current.pid === info.pid && current.port === info.port && current.startedAt === info.startedAt)
    rmSync(path, { force: true });
}
