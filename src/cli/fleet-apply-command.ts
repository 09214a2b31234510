/**
 * `orchestrate apply SID --store postgres://...`: a fleet session's result into the user's checkout (issue 16: code
 * moves by git). Its runners pushed its refs to the session's repository; this fetches them into the checkout's
 * repository (`refs/heads/orch/<sid>/*` and `refs/orch/<sid>/*`, as a local session leaves them) and applies the
 * result, or one worker's change, exactly as a local `apply` does: uncommitted changes by default, `--merge` as
 * commits. Nothing else of the checkout is touched.
 */
import { UsageError } from '../domain/usage-error.js';
import { fleetRow } from '../fleet/api-views.js';
import { FleetStore } from '../fleet/pg-store.js';
import { REPO_PROTOCOLS } from '../fleet/remote.js';
import { applyRange } from '../workspace/apply.js';
import { git } from '../workspace/git.js';
import { findRepo } from '../workspace/repo.js';
import { type Output, printApplied } from './changes-command.js';
import { redacted } from './runner-command.js';

const RESULT = '_result';

export async function fleetApplyCommand(
  url: string,
  sessionId: string,
  options: { worker?: string; merge: boolean; dir: string } & Output,
): Promise<number> {
  const store = FleetStore.connect(url, { applicationName: 'orchestrate apply', max: 1 });
  let row: Awaited<ReturnType<typeof fleetRow>>;
  try {
    row = await fleetRow(store, sessionId).catch((error: Error) => {
      throw new UsageError(`the fleet database ${redacted(url)}: ${error.message}`);
    });
  } finally {
    await store.close();
  }
  if (!row) throw new UsageError(`no session ${sessionId} in the fleet database ${redacted(url)}`);
  const repo = await findRepo(options.dir);
  if (!repo) throw new UsageError(`${options.dir} is not in a git repository: apply into a checkout of ${row.repo}`);

  const fetched = await git(
    repo.root,
    [
      ...[...REPO_PROTOCOLS, 'fetch', '--quiet', '--no-tags', '--', row.repo],
      `+refs/heads/orch/${sessionId}/*:refs/heads/orch/${sessionId}/*`,
      `+refs/orch/${sessionId}/*:refs/orch/${sessionId}/*`,
    ],
    { ok: [0, 1, 128] },
  );
  if (fetched.code !== 0)
    throw new UsageError(`could not fetch the session's branches from ${row.repo}: ${fetched.stderr.trim()}`);

  const name = options.worker ?? RESULT;
  const branch = `orch/${sessionId}/${name}`;
  const from = options.worker ? `refs/orch/${sessionId}/start/${options.worker}` : `refs/orch/${sessionId}/base`;
  const [start, head] = await Promise.all([commitOf(repo.root, from), commitOf(repo.root, `refs/heads/${branch}`)]);
  if (!start || !head) {
    const why = options.worker
      ? `worker "${options.worker}" has no branch on ${row.repo}`
      : row.status === 'ended'
        ? `it ended ${row.outcome ?? ''} without one`.trim()
        : `it is ${row.status}`;
    throw new UsageError(
      `session ${sessionId} has no ${options.worker ? 'change' : 'result'} to apply (${why})` +
        (options.worker ? '' : `; \`orchestrate apply ${sessionId} --worker W --store ...\` applies one worker's`),
    );
  }
  const task = String((row.spec as { task?: unknown }).task ?? '').split('\n')[0] ?? '';
  const outcome = await applyRange(
    repo.root,
    { from: start, to: head, branch },
    { merge: options.merge, sessionId, message: `Merge orchestrate session ${sessionId}: ${task}` },
  );
  if (outcome.files.length > 0) await git(repo.root, ['update-ref', `refs/orch/${sessionId}/applied`, head]);
  return printApplied(outcome, sessionId, options);
}

async function commitOf(root: string, ref: string): Promise<string | null> {
  const out = await git(root, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { ok: [0, 1] });
  return out.code === 0 ? out.stdout.trim() : null;
}
