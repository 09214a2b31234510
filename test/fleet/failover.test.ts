/**
 * The fleet's failover (issue 16), with real processes: one API node (`orchestrate serve --store`) and three
 * `orchestrate runner`s (dist/cli.js) on one throwaway Postgres cluster and one bare git remote run 20 sessions of
 * fake agents, queued through the API node. One runner is killed with SIGKILL, and every agent it started with it,
 * at a random moment while it holds running sessions. Its sessions are taken over by the other runners once their
 * leases expire, and every session completes: its log gap-free in the database, never written by two runners at once
 * (each lease token belongs to one runner, and the tokens only grow along the log), and its branches on the remote.
 * An SSE client of the API node, watching one of the victim's sessions, gets every event of it once, in order,
 * through the takeover. Skipped loudly where Postgres cannot start.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { agentEnv, FAST_LIMITS } from '../integration/support-recovery.js';
import { cleanupAfterTest, startCli, testSandbox } from '../support/orchestrate.js';
import { poll } from '../support/poll.js';
import { api, fleetCluster, sse, startApiNode, useFleet } from './support.js';

const cluster = await fleetCluster('the fleet failover test');
const available = cluster !== null;
const server = cluster as NonNullable<typeof cluster>;
const fleet = useFleet(cluster);
afterEach(cleanupAfterTest);

const SESSIONS = 20;

/** SIGKILL every agent group a runner's workspace has a launch record of. */
function killAgentsOf(workspace: string): number {
  let killed = 0;
  const sessions = join(workspace, 'sessions');
  for (const sid of existsSync(sessions) ? readdirSync(sessions) : []) {
    const agents = join(sessions, sid, 'agents');
    for (const file of existsSync(agents) ? readdirSync(agents).filter((f) => f.endsWith('.proc.json')) : []) {
      for (const { pgid } of JSON.parse(readFileSync(join(agents, file), 'utf8')) as Array<{ pgid: number }>) {
        try {
          process.kill(-pgid, 'SIGKILL');
          killed++;
        } catch {
          // ended already
        }
      }
    }
  }
  return killed;
}

describe.skipIf(!available)('the fleet, one runner killed', () => {
  it('every session completes on the other runners: gap-free, fenced, its branches pushed', async () => {
    const sandbox = testSandbox({ git: true });
    const remote = join(sandbox.dir, 'remote.git');
    execFileSync('git', ['clone', '--quiet', '--bare', sandbox.target, remote]);
    // Each agent works for a while (lines a few tens of ms apart) and writes a file, so a kill finds work under way.
    const config = {
      claude: { lines: 30, delayMs: 40, writeFiles: [{ path: 'impl.txt', content: 'implemented\n' }] },
      codex: { lines: 30, delayMs: 40, writeFiles: [{ path: 'checked.txt', content: 'verified\n' }] },
    };
    // Queued through an API node, as a person would: POST /api/v1/orchestrate with the repository.
    const { base } = await startApiNode(server.url, join(sandbox.dir, 'api'));
    const ids: string[] = [];
    for (let i = 0; i < SESSIONS; i++) {
      const queued = await api(base, 'POST', '/orchestrate', {
        repo: remote,
        base: 'main',
        spec: {
          task: `task ${i}`,
          sandbox: 'none',
          workers: [
            { id: 'impl', agent: 'claude', role: 'implementer' },
            { id: 'verify', agent: 'codex', role: 'verifier', dependsOn: ['impl'] },
          ],
          limits: FAST_LIMITS,
        },
      });
      expect(queued.status, JSON.stringify(queued.body)).toBe(202);
      ids.push(queued.body.sessionId as string);
    }
    ids.sort();
    const runners = ['a', 'b', 'c'].map((name) => {
      const dir = join(sandbox.dir, `runner-${name}`);
      const cli = startCli(
        ['runner', '--store', server.url, '--slots', '4', '--lease-sec', '3', '--workspace', dir],
        agentEnv(sandbox, config),
        { cwd: sandbox.dir },
      );
      return { name, dir, cli };
    });
    const transcripts = () => runners.map((r) => r.cli.transcript()).join('\n');
    const idOf = async (cli: (typeof runners)[number]['cli']) =>
      poll(
        () => /^runner (\S+):/m.exec(cli.stdout())?.[1],
        30_000,
        () => cli.transcript(),
      );
    const victim = runners[0] as (typeof runners)[number];
    const victimId = await idOf(victim.cli);

    // The victim holds at least one session that is under way (its snapshot saved in the store), then a random
    // moment later it dies with its agents.
    await poll(
      async () => {
        const { rows } = await fleet.admin.query(
          `SELECT count(*) AS n FROM orchestrator.sessions
            WHERE lease_owner = $1 AND status = 'running' AND folder_seq > 0`,
          [victimId],
        );
        return Number(rows[0].n) > 0;
      },
      60_000,
      transcripts,
    );
    await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 600)));
    const { rows: held } = await fleet.admin.query(
      `SELECT id FROM orchestrator.sessions WHERE lease_owner = $1 AND status = 'running'`,
      [victimId],
    );
    // A person watching one of them from the API node across the failover.
    const watchedId = held[0]?.id as string;
    const watched = sse(base, `/api/v1/${watchedId}/events`, 0);
    victim.cli.child.kill('SIGKILL');
    killAgentsOf(join(victim.dir, 'workspace'));
    await victim.cli.exited;

    // Every session ends, completed, on the two runners left.
    await poll(
      async () => {
        const { rows } = await fleet.admin.query(
          `SELECT count(*) AS n FROM orchestrator.sessions WHERE status = 'ended'`,
        );
        return Number(rows[0].n) === SESSIONS;
      },
      240_000,
      transcripts,
    );
    const { rows: ended } = await fleet.admin.query(`SELECT id, outcome FROM orchestrator.sessions ORDER BY id`);
    expect(
      ended.map((r) => [r.id, r.outcome]),
      transcripts(),
    ).toEqual(ids.map((id) => [id, 'completed']));

    // What the watcher got: every event of the table once, in order, through the takeover.
    const table = await fleet.store.readAfter(watchedId, 0);
    await poll(() => watched.frames.filter((f) => f.id !== null).length >= table.length, 60_000, transcripts);
    watched.close();
    const frames = watched.frames.filter((f) => f.id !== null);
    expect(frames.map((f) => f.id)).toEqual(table.map((l) => l.seq));
    expect(frames.map((f) => f.data)).toEqual(table.map((l) => l.line));

    const survivors = runners
      .slice(1)
      .map((r) => r.cli.stdout())
      .join('\n');
    const takenOver = held.map((r) => r.id as string).filter((id) => survivors.includes(`resumed ${id}`));
    expect(takenOver.length, transcripts()).toBeGreaterThan(0);

    for (const id of ids) {
      const lines = await fleet.store.readAfter(id, 0);
      // Gap-free: 1..n.
      expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 1));
      // Fenced: each token is one runner's, and the tokens only grow along the log.
      const writers = await fleet.store.writers(id);
      const owners = new Map<number, string>();
      for (const w of writers) {
        expect(owners.get(w.token) ?? w.runnerId).toBe(w.runnerId);
        owners.set(w.token, w.runnerId);
      }
      const tokens = writers.map((w) => w.token);
      expect(tokens).toEqual([...tokens].sort((x, y) => x - y));
      // The branches of both workers are on the remote, with their work.
      const impl = `refs/heads/orch/${id}/impl`;
      expect(execFileSync('git', ['-C', remote, 'show', `${impl}:impl.txt`], { encoding: 'utf8' })).toBe(
        'implemented\n',
      );
      expect(execFileSync('git', ['-C', remote, 'rev-parse', '--verify', `refs/heads/orch/${id}/verify`]).length).toBe(
        41,
      );
    }
    // Taken over, a session goes on under the new runner's token (one whose work was all done only ends there).
    // One whose agent was at work shows that work again as a new attempt: a recovery of the lost one, or a fresh start
    // where the victim died before it saved its first snapshot.
    let continued = 0;
    for (const id of takenOver) {
      const writers = await fleet.store.writers(id);
      if (writers.at(-1)?.runnerId === victimId) continue;
      continued++;
      const after = writers.findIndex((w) => w.runnerId !== victimId);
      const types = (await fleet.store.readAfter(id, (writers[after]?.seq ?? 1) - 1)).map((l) => l.type);
      expect(types, id).toContain('agent');
    }
    expect(continued, transcripts()).toBeGreaterThan(0);
  }, 300_000);
});
