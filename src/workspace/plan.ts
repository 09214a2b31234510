/**
 * A new session's isolation, decided before it starts: in a git repository its base commit is captured (HEAD
 * plus the uncommitted changes, or `--base REF`) and its workers get checkouts; outside git, or with
 * `--in-place`, they edit the target directory itself, and one warning line says so.
 */
import { resolve } from 'node:path';
import { checkoutsDirFor, type Isolation, type IsolationRequest } from '../domain/isolation.js';
import { UsageError } from '../domain/usage-error.js';
import { BaseError, captureBase, findRepo } from './repo.js';

export async function planIsolation(
  targetDir: string,
  request: IsolationRequest = {},
  workspace?: string,
): Promise<Isolation> {
  if (request.inPlace && request.base !== undefined)
    throw new UsageError('--base and --in-place do not go together: a session in place edits the checkout as it is');
  const repo = await findRepo(targetDir);
  if (request.inPlace) {
    return {
      mode: 'in-place',
      reason: `--in-place: agents edit ${targetDir} directly${repo ? ', not checkouts of their own' : ''}`,
    };
  }
  if (!repo) {
    if (request.base !== undefined)
      throw new UsageError(`--base ${request.base} needs a git repository, and ${targetDir} is not in one`);
    return {
      mode: 'in-place',
      reason:
        `${targetDir} is not a git repository, so agents edit it in place ` +
        `(no branches, no apply or discard; run \`git init\` there to isolate them)`,
    };
  }
  try {
    const base = await captureBase(repo, { ref: request.base });
    const where = { root: repo.root, commonDir: repo.commonDir };
    return {
      mode: 'checkouts',
      repo: { ...where, prefix: repo.prefix },
      base,
      ...(workspace ? { checkoutsDir: checkoutsDirFor(resolve(workspace), where) } : {}),
    };
  } catch (error) {
    if (error instanceof BaseError) throw new UsageError(error.message);
    throw error;
  }
}
