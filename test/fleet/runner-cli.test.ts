/**
 * `orchestrate runner` as a process (dist/cli.js): against a throwaway Postgres cluster and a bare git remote,
 * with fake agents. It runs what is queued, ends a session another runner started but left nothing to resume from
 * (failover.test.ts has the resumes) instead of starting it over, and on SIGTERM stops its sessions and leaves
 * nothing running.
 * Skipped loudly where Postgres cannot start.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { agentEnv, FAST_LIMITS, leftovers, NOTHING_LEFT } from '../integration/support-recovery.js';
import { cleanupAfterTest, runCli, startCli, testSandbox } from '../support/orchestrate.js';
import { poll } from '../support/poll.js';
import { fleetCluster, useFleet } from './support.js';

const cluster = await fleetCluster('the fleet runner CLI tests');
const available = cluster !== null;
const server = cluster as NonNullable<typeof cluster>;
const fleet = useFleet(cluster);
afterEach(cleanupAfterTest);

describe.skipIf(!available)('orchestrate runner', () => {
  it('runs queued sessions, ends one another runner started, and stops its sessions on SIGTERM', async () => {
    const sandbox = testSandbox({ git: true });
    const remote = join(sandbox.dir, 'remote.git');
    execFileSync('git', ['clone', '--quiet', '--bare', sandbox.target, remote]);
    // A prompt that says "hold" keeps its agent running until the test is over.
    const config = { rules: [{ match: { promptIncludes: 'hold on' }, scenario: { holdUntil: 'never-released' } }] };
    const queue = (id: string, task: string) =>
      fleet.store.enqueue({
        id,
        spec: { task, workers: [{ id: 'impl', agent: 'claude', role: 'implementer' }], limits: FAST_LIMITS },
        repo: remote,
        base: 'main',
        agents: ['claude'],
      });
    const runner = startCli(
      ['runner', '--store', server.url, '--slots', '2', '--workspace', join(sandbox.dir, 'runner')],
      agentEnv(sandbox, config),
      { cwd: sandbox.dir },
    );
    const said = (text: string) =>
      poll(
        () => runner.stdout().includes(text),
        60_000,
        () => runner.transcript(),
      );

    await queue('orch_20261207_130000_cli1', 'write the code');
    await said('ended orch_20261207_130000_cli1: completed');
    expect(await fleet.store.session('orch_20261207_130000_cli1')).toMatchObject({ status: 'ended', owner: null });
    expect((await fleet.store.readAfter('orch_20261207_130000_cli1', 0)).length).toBeGreaterThan(3);

    // A session whose runner went away (its log is in the database, its lease expired) without saving its folder.
    await queue('orch_20261207_130000_cli2', 'write the code');
    await fleet.admin.query(`UPDATE orchestrator.sessions SET last_seq = 5, lease_token = 1 WHERE id = $1`, [
      'orch_20261207_130000_cli2',
    ]);
    await said('ended orch_20261207_130000_cli2: stopped');
    expect(runner.stdout()).toContain('was started by a runner that saved nothing to resume from');

    await queue('orch_20261207_130000_cli3', 'hold on while the runner stops');
    await said('claimed orch_20261207_130000_cli3');
    await poll(
      async () => (await fleet.store.session('orch_20261207_130000_cli3')).lastSeq > 0,
      30_000,
      'the held session to be running',
    );
    runner.child.kill('SIGTERM');
    const exit = await runner.exited;
    expect(exit.exitCode, runner.transcript()).toBe(0);
    expect(exit.stdout).toContain('ended orch_20261207_130000_cli3: stopped');
    expect(await fleet.store.session('orch_20261207_130000_cli3')).toMatchObject({ status: 'ended', owner: null });
    // Nothing of its agents is left running.
    expect(leftovers({ ...sandbox, workspace: join(sandbox.dir, 'runner', 'workspace') })).toEqual(NOTHING_LEFT);
  });
});

describe('orchestrate runner, refused at start', () => {
  it('a database it cannot reach for --migrate is one line and exit 1, not a stack trace', async () => {
    // Port 1 on loopback: nothing listens there.
    const result = await runCli(
      ['runner', '--store', 'postgres://orch:secret@127.0.0.1:1/orch', '--migrate', '--agents', 'claude'],
      {
        env: { ORCHESTRATOR_DATABASE_URL: '' },
      },
    );
    expect(result.exitCode).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^error: --migrate: the fleet database postgres:\/\/orch:\*\*\*@127\.0\.0\.1:1\/orch failed: /,
      ),
    ]);
  });
});

describe('orchestrate serve --store, refused at start', () => {
  it('a database it cannot reach is one line and exit 1; so is an option only a workspace server has', async () => {
    const unreachable = await runCli(['serve', '--store', 'postgres://orch:secret@127.0.0.1:1/orch', '--port', '0'], {
      env: { ORCHESTRATOR_DATABASE_URL: '' },
    });
    expect(unreachable.exitCode).toBe(1);
    expect(unreachable.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^error: the fleet database postgres:\/\/orch:\*\*\*@127\.0\.0\.1:1\/orch: /),
    ]);
    const mixed = await runCli(['serve', '--resume-all', '--port', '0'], {
      env: { ORCHESTRATOR_DATABASE_URL: 'postgres://orch@127.0.0.1:1/orch' },
    });
    expect(mixed.exitCode).toBe(1);
    expect(mixed.stderr.trim()).toBe(
      'error: --resume-all: not for a fleet API node (--store): its sessions run on the runners, not here',
    );
  });
});

describe.skipIf(!available)('orchestrate serve --store, on tables not migrated', () => {
  it('says to migrate, in one line', async () => {
    await fleet.admin.query('CREATE DATABASE bare');
    const url = server.url.replace(/\/postgres$/, '/bare');
    const result = await runCli(['serve', '--store', url, '--port', '0'], { env: { ORCHESTRATOR_DATABASE_URL: '' } });
    expect(result.exitCode).toBe(1);
    expect(result.stderr.trim()).toMatch(
      /has no fleet tables: run `orchestrate runner --migrate` once as their owner$/,
    );
  });
});
