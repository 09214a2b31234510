/**
 * `orchestrate serve --store postgres://...`: a fleet API node (src/fleet/api.ts, docs/fleet.md). The dashboard
 * and the API over the fleet's database: sessions are queued with a `repo` and run by `orchestrate runner`s;
 * nothing runs here. Any number of nodes may serve one database. SIGINT or SIGTERM closes it.
 */
import { UsageError } from '../domain/usage-error.js';
import { FleetFeeds } from '../fleet/api-feed.js';
import { createFleetApp } from '../fleet/api.js';
import { ReplyWaiter } from '../fleet/commands.js';
import { FleetStore } from '../fleet/pg-store.js';
import { FLEET_SCHEMA, FLEET_SCHEMA_VERSION } from '../fleet/schema.js';
import { dashboardUrl, startServer } from '../http/server.js';
import { redacted } from './runner-command.js';
import { listenFailure } from './serve.js';
import type { Style } from './style.js';

export interface FleetServeOptions {
  store: string;
  host: string;
  port: number;
  /** Where the node's token is kept (`<workspace>/token`), unless ORCHESTRATOR_TOKEN gives it. */
  workspace: string;
  /** How long a relayed request waits for its runner's answer. */
  replyWaitMs: number;
}

/** `serve` with a fleet database: its options checked (what only a workspace's server does is refused by name). */
export function fleetServe(
  url: string,
  opts: {
    host: string;
    port: number;
    workspace: string;
    replyWaitSec: number;
    resumeAll?: boolean;
    recordedAgents?: boolean;
    inspect?: string;
    notify?: unknown[];
  },
  style: Style,
): Promise<number> {
  if (!/^postgres(ql)?:\/\//.test(url) || !URL.canParse(url))
    throw new UsageError('ORCHESTRATOR_DATABASE_URL must be a postgres:// URL (or give --store)');
  const refused = [
    opts.resumeAll ? '--resume-all' : null,
    opts.recordedAgents ? '--recorded-agents' : null,
    opts.inspect ? '--inspect' : null,
    opts.notify?.length ? '--notify' : null,
  ].filter(Boolean);
  if (refused.length)
    throw new UsageError(
      `${refused.join(', ')}: not for a fleet API node (--store): its sessions run on the runners, not here`,
    );
  const { host, port, workspace, replyWaitSec } = opts;
  return fleetServeCommand({ store: url, host, port, workspace, replyWaitMs: replyWaitSec * 1000 }, style);
}

export async function fleetServeCommand(opts: FleetServeOptions, style: Style): Promise<number> {
  const url = opts.store;
  const store = FleetStore.connect(url, { applicationName: 'orchestrate api', max: 8 });
  const feeds = new FleetFeeds(store, (message) => process.stderr.write(`${style.yellow('warning:')} ${message}\n`));
  const replies = new ReplyWaiter(store);
  try {
    await checkSchema(store, url);
    try {
      await feeds.open();
      await replies.open();
    } catch (error) {
      throw new UsageError(`the fleet database ${redacted(url)}: ${(error as Error).message}`);
    }
    let server: Awaited<ReturnType<typeof startServer>>;
    try {
      server = await startServer({
        workspace: opts.workspace,
        host: opts.host,
        port: opts.port,
        logger: { warn: (message) => process.stderr.write(`${style.yellow('warning:')} ${message}\n`) },
        app: (deps) => createFleetApp({ ...deps, store, feeds, replies, replyWaitMs: opts.replyWaitMs }),
      });
    } catch (error) {
      const message = listenFailure(error, opts.host, opts.port);
      if (message === null) throw error;
      throw new UsageError(message);
    }
    const out = process.stdout;
    out.write(`${style.bold('Dashboard')}: ${dashboardUrl(server.url, server.token)}\n`);
    const where = server.tokenFile ? `the token is in ${server.tokenFile}` : 'the token is ORCHESTRATOR_TOKEN';
    out.write(style.dim(`API: ${server.url}/api/v1 (Authorization: Bearer <token>; ${where})\n`));
    out.write(style.dim(`Fleet: sessions in ${redacted(url)}; runners run them (orchestrate runner)\n`));
    await new Promise<void>((done) => {
      process.once('SIGINT', () => done());
      process.once('SIGTERM', () => done());
    });
    await server.close();
    return 0;
  } finally {
    await replies.close().catch(() => undefined);
    await feeds.close().catch(() => undefined);
    await store.close();
  }
}

/** One line for a database that is not there, or not migrated to the tables this node reads. */
async function checkSchema(store: FleetStore, url: string): Promise<void> {
  let version: string | undefined;
  try {
    const { rows } = await store.pool.query(`SELECT value FROM ${FLEET_SCHEMA}.meta WHERE key = 'schema_version'`);
    version = rows[0]?.value;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === '42P01' || code === '3F000')
      throw new UsageError(
        `the fleet database ${redacted(url)} has no fleet tables: ` +
          'run `orchestrate runner --migrate` once as their owner',
      );
    throw new UsageError(`the fleet database ${redacted(url)}: ${(error as Error).message}`);
  }
  if (Number(version) < FLEET_SCHEMA_VERSION)
    throw new UsageError(
      `the fleet tables of ${redacted(url)} are version ${version ?? '?'}, this node needs ${FLEET_SCHEMA_VERSION}: ` +
        'run `orchestrate runner --migrate` once as their owner',
    );
}
