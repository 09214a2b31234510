/**
 * What a runner needs, besides the session's log, to resume a session another runner started (issue 16, failover):
 * the small files of its session folder, kept in the fleet store (`sessions.folder`) and written back into the next
 * runner's workspace.
 *
 * - `session.json` (the spec, the target, the isolation), `snapshot.json` (the session actor's state and the seq it
 *   reflects), each worker's launch records (`agents/<worker>.proc.json`: a restored worker finds its attempt was
 *   launched, sees the process is not there, and recovers with a new attempt, as after a crash), and the
 *   bookkeeping of its checkouts (`<checkouts>/<sid>/.state/*.json`: where each worker's change starts).
 * - Paths in them name the first runner's folders (its clone of the repository, its workspace, its checkouts):
 *   they are moved to the next runner's on the way back.
 *
 * The agents' output files, the checkouts themselves and anything an agent left uncommitted stay behind: the work
 * goes on from the branches the runner pushed (src/fleet/runner.ts), and a lost attempt is a new attempt.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sessionCheckoutsDir } from '../domain/isolation.js';
import { writeFileAtomic } from '../fs/atomic.js';
import { sessionsDir } from '../store/layout.js';
import type { SessionMeta } from '../store/meta.js';
import { type FleetStore, type Lease, SeqGapError } from './pg-store.js';

/** The folders whose paths a session's files name. */
export interface FolderRoots {
  /** The runner's clone of the repository: the session's target. */
  target: string;
  /** The runner's workspace (sessions/, checkouts/). */
  workspace: string;
  /** The folder of the session's checkouts. */
  checkouts: string;
}

export interface SessionFolder {
  version: 1;
  roots: FolderRoots;
  /** The files as they are, by path: `session.json`, `snapshot.json`, `agents/<w>.proc.json`, `.state/<name>.json`. */
  files: Record<string, string>;
  /** The last seq the snapshot reflects (0 before the first snapshot). */
  seq: number;
}

/** The roots of a session in `workspace`, from its meta. */
export function folderRoots(workspace: string, meta: SessionMeta): FolderRoots {
  const checkouts =
    meta.isolation?.mode === 'checkouts'
      ? sessionCheckoutsDir(workspace, meta.sessionId, meta.isolation)
      : join(workspace, 'checkouts', meta.sessionId);
  return { target: meta.targetDir, workspace, checkouts };
}

/** The session's folder files as they are now in `workspace`. */
export function captureFolder(workspace: string, sessionId: string): SessionFolder {
  const dir = join(sessionsDir(workspace), sessionId);
  const read = (path: string) => readFileSync(path, 'utf8');
  const meta = JSON.parse(read(join(dir, 'session.json'))) as SessionMeta;
  const roots = folderRoots(workspace, meta);
  const files: Record<string, string> = { 'session.json': read(join(dir, 'session.json')) };
  let seq = 0;
  if (existsSync(join(dir, 'snapshot.json'))) {
    files['snapshot.json'] = read(join(dir, 'snapshot.json'));
    seq = (JSON.parse(files['snapshot.json']) as { seq: number }).seq;
  }
  for (const name of listDir(join(dir, 'agents')))
    if (name.endsWith('.proc.json')) files[`agents/${name}`] = read(join(dir, 'agents', name));
  for (const name of listDir(join(roots.checkouts, '.state')))
    if (name.endsWith('.json')) files[`.state/${name}`] = read(join(roots.checkouts, '.state', name));
  return { version: 1, roots, files, seq };
}

/**
 * Write a captured folder into `workspace` with its paths moved to `target` (the new clone) and this workspace;
 * the log (`events.jsonl`) is written apart, from the store. Returns the session's meta as written.
 */
export function restoreFolder(folder: SessionFolder, workspace: string, target: string): SessionMeta {
  const moveTarget = mover(folder.roots.target, target);
  const moveWorkspace = mover(folder.roots.workspace, workspace);
  const metaText = moveWorkspace(moveTarget(folder.files['session.json'] ?? ''));
  const meta = JSON.parse(metaText) as SessionMeta;
  if (meta.isolation?.mode === 'checkouts') {
    // The repository is the new clone; its checkouts go where this runner keeps them.
    meta.isolation = {
      ...meta.isolation,
      repo: { ...meta.isolation.repo, root: target, commonDir: join(target, '.git') },
      checkoutsDir: join(workspace, 'checkouts'),
    };
  }
  const roots = folderRoots(workspace, meta);
  const moveCheckouts = mover(folder.roots.checkouts, roots.checkouts);
  const move = (text: string) => moveWorkspace(moveTarget(moveCheckouts(text)));
  const dir = join(sessionsDir(workspace), meta.sessionId);
  mkdirSync(join(dir, 'agents'), { recursive: true });
  writeFileAtomic(join(dir, 'session.json'), `${JSON.stringify(meta, null, 2)}\n`);
  for (const [name, text] of Object.entries(folder.files)) {
    if (name === 'session.json') continue;
    if (name.startsWith('.state/')) {
      mkdirSync(join(roots.checkouts, '.state'), { recursive: true });
      writeFileSync(join(roots.checkouts, name), move(text));
    } else writeFileAtomic(join(dir, name), move(text));
  }
  return meta;
}

/**
 * A session taken over, written into `workspace` from the store: what was there of it before goes (a session this
 * runner had once), its folder is restored for the clone `target`, and its log is the store's, seq 1 to the
 * lease's last, line for line. Returns its meta.
 */
export async function restoreSession(
  store: Pick<FleetStore, 'readAfter'>,
  lease: Pick<Lease, 'sessionId' | 'lastSeq'>,
  folder: SessionFolder,
  workspace: string,
  target: string,
): Promise<SessionMeta> {
  const sid = lease.sessionId;
  const dir = join(sessionsDir(workspace), sid);
  rmSync(dir, { recursive: true, force: true });
  rmSync(join(workspace, 'checkouts', sid), { recursive: true, force: true });
  const meta = restoreFolder(folder, workspace, target);
  const lines: string[] = [];
  for (let after = 0; after < lease.lastSeq; ) {
    const batch = await store.readAfter(sid, after, 1000);
    if (batch.length === 0) break;
    for (const line of batch) if (line.seq <= lease.lastSeq) lines.push(line.line);
    after = (batch.at(-1) as { seq: number }).seq;
  }
  if (lines.length !== lease.lastSeq) throw new SeqGapError(sid, lines.length + 1, lease.lastSeq);
  writeFileSync(join(dir, 'events.jsonl'), `${lines.join('\n')}\n`);
  return meta;
}

/** Replace `from` with `to` where it is a whole path or a path's start, in JSON text. */
function mover(from: string, to: string): (text: string) => string {
  if (from === to || from === '') return (text) => text;
  const escaped = JSON.stringify(from)
    .slice(1, -1)
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(`${escaped}(?=["/])`, 'g');
  const replacement = JSON.stringify(to).slice(1, -1);
  return (text) => text.replace(pattern, () => replacement);
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
