/**
 * Claude Code refuses --dangerously-skip-permissions as root (unless IS_SANDBOX=1). When the suite runs
 * as root, the runs that must complete use a dedicated unprivileged user, created here once with
 * useradd (util-linux/passwd); everything it must write (HOME, TMPDIR, target, workspace) is chowned to it.
 * scripts/real-agents/run.ts removes the user again when the run created it (and says so).
 * When the suite does not run as root, there is nothing to do: the current user is already unprivileged.
 */
import { spawnSync } from 'node:child_process';
import { chownSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const TEST_USER = 'meta-orch-e2e';

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

function lookup(name: string): TestUser | null {
  const result = spawnSync('getent', ['passwd', name], { encoding: 'utf8' });
  if (result.status !== 0) return null;
  const fields = result.stdout.trim().split(':');
  return { name, uid: Number(fields[2]), gid: Number(fields[3]) };
}

/** Whether the test user exists on this machine (scripts/real-agents/run.ts removes it if the run created it). */
export const testUserExists = (): boolean => lookup(TEST_USER) !== null;

/** The unprivileged user to run agents as: null when we are not root (run as ourselves). */
export function ensureTestUser(): TestUser | null {
  if (!isRoot()) return null;
  const existing = lookup(TEST_USER);
  if (existing) return existing;
  const created = spawnSync(
    'useradd',
    [
      '--system',
      '--user-group',
      '--no-create-home',
      '--home-dir',
      '/nonexistent',
      '--shell',
      '/usr/sbin/nologin',
      TEST_USER,
    ],
    {
      encoding: 'utf8',
    },
  );
  const user = lookup(TEST_USER);
  if (!user)
    throw new Error(
      `could not create the unprivileged test user ${TEST_USER}: ${created.stderr || created.error?.message}`,
    );
  return user;
}

/** chown -R without following symlinks. */
export function chownTree(path: string, user: TestUser | null): void {
  if (!user) return;
  const stat = lstatSync(path);
  chownSync(path, user.uid, user.gid);
  if (stat.isDirectory()) for (const entry of readdirSync(path)) chownTree(join(path, entry), user);
}
