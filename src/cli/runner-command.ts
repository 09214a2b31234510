/**
 * `orchestrate runner`: a fleet runner on this machine (src/fleet/runner.ts, docs/fleet.md). It claims sessions
 * queued in Postgres that it has the agents and labels for, runs them with `run`'s safety layer, and says what it
 * claims and how each ends. SIGINT or SIGTERM: it claims no more and stops its sessions (each ends `stopped` in
 * the database), then exits.
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { KNOWN_AGENT_NAMES } from '../agents/names.js';
import { getAdapter } from '../agents/registry.js';
import { UsageError } from '../domain/usage-error.js';
import { FleetStore } from '../fleet/pg-store.js';
import { Runner, type RunnerEvent } from '../fleet/runner.js';
import { findAgentBinary } from '../runtime/binaries.js';
import type { SessionManager } from '../runtime/session-manager.js';
import { agentList } from './session-options.js';
import type { Style } from './style.js';

export interface RunnerCommandOptions {
  store?: string;
  slots: number;
  agents?: string;
  labels?: string;
  leaseSec: number;
  workspace?: string;
  migrate?: boolean;
}

/** `--labels a,b`. */
const list = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

/** The URL without its password, for saying where the runner claims from. */
export function redacted(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

export async function runnerCommand(
  opts: RunnerCommandOptions,
  managerFor: (workspace: string) => Promise<SessionManager>,
  style: Style,
  env: Record<string, string | undefined> = process.env,
): Promise<number> {
  const url = opts.store ?? env.ORCHESTRATOR_DATABASE_URL;
  if (!url)
    throw new UsageError('runner needs the fleet database: --store postgres://... or ORCHESTRATOR_DATABASE_URL');
  const agents = opts.agents
    ? agentList(opts.agents)
    : KNOWN_AGENT_NAMES.filter((a) => !('error' in findAgentBinary(getAdapter(a), env)));
  if (agents.length === 0) throw new UsageError('no agent CLI is installed here (orchestrate doctor): nothing to run');
  const workspace = resolve(opts.workspace ?? '.orchestrator-runner');
  const store = FleetStore.connect(url, { applicationName: 'orchestrate runner' });
  try {
    if (opts.migrate) {
      await store.migrate().catch((error: Error) => {
        // One line, as any bad start: a database that is not there is not a crash of ours.
        throw new UsageError(`--migrate: the fleet database ${redacted(url)} failed: ${error.message}`);
      });
    }
    const manager = await managerFor(resolve(workspace, 'workspace'));
    const id = `${hostname()}-${process.pid}`;
    const say = (text: string) => process.stdout.write(`${text}\n`);
    const runner = new Runner({
      store,
      manager,
      id,
      agents,
      labels: list(opts.labels),
      slots: opts.slots,
      leaseSec: opts.leaseSec,
      workDir: resolve(workspace, 'work'),
      onEvent: (event: RunnerEvent) => say(describe(event, style)),
    });
    say(
      `runner ${id}: ${opts.slots} slot(s), agents ${agents.join(', ')}` +
        `${opts.labels ? `, labels ${list(opts.labels).join(', ')}` : ''}; claiming from ${redacted(url)}`,
    );
    runner.start();
    await new Promise<void>((done) => {
      const stop = () => done();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    say('stopping: no more claims; stopping the sessions running here');
    await runner.shutdown();
    manager.detachAll();
    return 0;
  } finally {
    await store.close();
  }
}

function describe(event: RunnerEvent, style: Style): string {
  switch (event.type) {
    case 'claimed':
      return `claimed ${event.sessionId} (lease token ${event.token})`;
    case 'ended':
      return `ended ${event.sessionId}: ${event.outcome}`;
    case 'deferred':
      return `deferred ${event.sessionId} until ${event.until}: its workers wait to retry; the slot is free`;
    case 'resumed':
      return `resumed ${event.sessionId} from seq ${event.lastSeq}, started by a runner that went away`;
    case 'lost':
      return `${style.yellow('lost')} ${event.sessionId}: another runner holds it now; its agents here were stopped`;
    case 'error':
      return `${style.red('error')} ${event.sessionId || '(claiming)'}: ${event.message}`;
  }
}
