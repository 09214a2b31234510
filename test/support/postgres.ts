/**
 * A throwaway Postgres cluster for a test file: `initdb` in a temp folder, `pg_ctl start -w` on a free loopback
 * port with its socket in that folder, `stop()` with `pg_ctl stop -m immediate` and the folder removed.
 *
 * initdb refuses to run as root: as root the cluster belongs to the `postgres` OS user (Debian's package makes
 * it), and every command runs through `runuser -u postgres --` (argv arrays, no shell). Where Postgres is not
 * installed, or cannot start, `startPostgres` returns the reason and the tests skip loudly, as the sandbox
 * tests do; `.ci/run` installs Debian's postgresql.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPostgres {
  /** postgres://postgres@127.0.0.1:PORT/postgres (trust authentication: loopback test cluster only). */
  url: string;
  port: number;
  /** A URL for another database or role of this cluster. */
  urlFor(options: { database?: string; user?: string; password?: string }): string;
  stop(): void;
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
  const run = (file: string, args: string[]) => {
    const argv = asRoot ? ['runuser', '-u', 'postgres', '--', file, ...args] : [file, ...args];
    const result = spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (result.status !== 0)
      throw new Error(`${file} ${args[0] ?? ''} failed: ${(result.stderr || result.stdout).trim()}`);
  };
  try {
    if (owner) {
      chownSync(dir, owner.uid, owner.gid);
      chmodSync(dir, 0o700);
    }
    run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    const port = await freePort();
    const options = [
      `-p ${port}`,
      `-k ${dir}`,
      "-c listen_addresses='127.0.0.1'",
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
      '-c max_connections=200',
    ].join(' ');
    run(join(bin, 'pg_ctl'), ['start', '-w', '-t', '60', '-D', data, '-l', join(dir, 'server.log'), '-o', options]);
    const urlFor = (o: { database?: string; user?: string; password?: string }) => {
      const who = `${o.user ?? 'postgres'}${o.password ? `:${o.password}` : ''}`;
      return `postgres://${who}@127.0.0.1:${port}/${o.database ?? 'postgres'}`;
    };
    let stopped = false;
    return {
      url: urlFor({}),
      port,
      urlFor,
      stop() {
        if (stopped) return;
        stopped = true;
        try {
          run(join(bin, 'pg_ctl'), ['stop', '-m', 'immediate', '-w', '-D', data]);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    return { unavailable: `a test cluster could not start: ${(error as Error).message.split('\n')[0]}` };
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
