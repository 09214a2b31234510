/**
 * Where sessions live: --workspace, else ORCHESTRATOR_WORKSPACE, else .orchestrator/ in the target directory, else in
 * the cwd.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../domain/usage-error.js';
import { asUsageError } from './fs-errors.js';

export function resolveWorkspace(option: string | undefined, targetDir: string | undefined, env = process.env): string {
  if (option) return resolve(option);
  if (env.ORCHESTRATOR_WORKSPACE) return resolve(env.ORCHESTRATOR_WORKSPACE);
  return resolve(targetDir ?? process.cwd(), '.orchestrator');
}

/**
 * For the commands that only read (status, logs, doctor): whether the workspace folder exists. They never create
 * it (a repository nobody ran a session in has no .orchestrator/ yet); a path that is not a folder is a usage error.
 */
export function workspaceExists(workspace: string): boolean {
  let folder: boolean;
  try {
    folder = statSync(workspace).isDirectory();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw asUsageError(error, 'workspace', workspace);
  }
  if (!folder) throw new UsageError(`workspace ${workspace}: not a folder`);
  return true;
}
