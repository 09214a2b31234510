/**
 * A throwaway Postgres cluster for a test file: `initdb` in a temp folder, then `postgres` itself in the
 * foreground (not `pg_ctl`, which moves the server into a session of its own, where a crashed test would leak
 * it) in a process group of its own, on a free loopback port with its socket in that folder. Ready when it says
 * so on stderr (no sleeping); `stop()` is SIGQUIT (`pg_ctl stop -m immediate`), then the whole group is checked
 * gone and the folder removed.
 *
 * initdb and postgres refuse to run as root: as root the cluster belongs to the `postgres` OS user (Debian's
 * package makes it), and each command runs through `setpriv` (argv arrays, no shell), which execs it (the child
 * is the server itself) with `--pdeathsig SIGQUIT`: if the test process dies, the kernel stops the server.
 * Where Postgres is not installed or cannot start, `startPostgres` returns why, and the tests skip loudly, as
 * the sandbox tests do; `.ci/run` installs Debian's postgresql.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPostgres {
  /** postgres://postgres@127.0.0.1:PORT/postgres (trust authentication: loopback test cluster only). */
  url: string;
  port: number;
  /** A URL for another database or role of this cluster. */
  urlFor(options: { database?: string; user?: string; password?: string }): string;
  stop(): Promise<void>;
}

/** The folder of Postgres's server binaries (initdb, pg_ctl, postgres), the newest installed; null if none. */
export function postgresBinDir(): string | null {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return null;
  const versions = readdirSync(base)
    .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(base, versions[0], 'bin') : null;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Start a cluster, or say why it cannot start (the caller skips its tests with that reason). */
export async function startPostgres(): Promise<TestPostgres | { unavailable: string }> {
  const bin = postgresBinDir();
  if (!bin) return { unavailable: 'Postgres is not installed (apt-get install postgresql)' };
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? userIds('postgres') : null;
  if (asRoot && !owner) return { unavailable: 'running as root and there is no `postgres` OS user to own a cluster' };
  const dir = mkdtempSync(join(tmpdir(), 'orch-pg-'));
  const data = join(dir, 'data');
  const prefix = [
    ...(owner ? [`--reuid=${owner.uid}`, `--regid=${owner.gid}`, '--init-groups'] : []),
    '--pdeathsig',
    'SIGQUIT',
    '--',
  ];
  const env = { ...process.env, LC_ALL: 'C', LANG: 'C' };
  let server: ReturnType<typeof spawn> | null = null;
  try {
    if (owner) chownSync(dir, owner.uid, owner.gid);
    execFileSync(
      'setpriv',
      [...prefix, join(bin, 'initdb'), '-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8'],
      { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const port = await freePort();
    const settings = ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off', 'max_connections=200'];
    const args = ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1'];
    for (const setting of settings) args.push('-c', setting);
    const child = spawn('setpriv', [...prefix, join(bin, 'postgres'), ...args], {
      cwd: dir,
      env,
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    server = child;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await whenReady(child, exited);
    const urlFor = (o: { database?: string; user?: string; password?: string }) => {
      const who = `${o.user ?? 'postgres'}${o.password ? `:${o.password}` : ''}`;
      return `postgres://${who}@127.0.0.1:${port}/${o.database ?? 'postgres'}`;
    };
    let stopped = false;
    return {
      url: urlFor({}),
      port,
      urlFor,
      async stop() {
        if (stopped) return;
        stopped = true;
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGQUIT');
          await exited;
        }
        killGroup(child.pid);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    if (server?.pid) killGroup(server.pid);
    rmSync(dir, { recursive: true, force: true });
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    return { unavailable: `a test cluster could not start: ${(stderr || (error as Error).message).split('\n')[0]}` };
  }
}

/** Resolves when the server says it accepts connections; rejects if it exits first. Drains stderr for good. */
function whenReady(child: ReturnType<typeof spawn>, exited: Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    let log = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      log = (log + chunk).slice(-20_000);
      if (log.includes('database system is ready to accept connections')) resolve();
    });
    void exited.then(() => reject(new Error(`postgres exited before it was ready: ${log.trim().split('\n').at(-1)}`)));
  });
}

/** The server's children share its process group: make sure none is left. */
function killGroup(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // the group is gone already
  }
}

function userIds(name: string): { uid: number; gid: number } | null {
  try {
    const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8', stdio: 'pipe' }).trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    return null;
  }
}
