/** Where sessions live: --workspace, else ORCHESTRATOR_WORKSPACE, else .orchestrator/ in the target directory, else in the cwd. */
import { resolve } from 'node:path';

export function resolveWorkspace(option: string | undefined, targetDir: string | undefined, env = process.env): string {
  if (option) return resolve(option);
  if (env.ORCHESTRATOR_WORKSPACE) return resolve(env.ORCHESTRATOR_WORKSPACE);
  return resolve(targetDir ?? process.cwd(), '.orchestrator');
}
