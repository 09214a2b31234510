/**
 * An interactive agent in real bubblewrap, behind its network proxy, outlives a `run --no-server` that ends by itself
 * (exit 2) because its request waits for a person: nothing of the run's end (its pipes closing, its exit, the relay
 * and proxy left without it) reaches the agent's group, and `resume` takes the same agent up and answers it once.
 * Skipped where bwrap cannot run. (permissions.test.ts has the same without a sandbox, across a kill -9.)
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { groupMembers } from '../../src/actors/process-group.js';
import { probeBwrap } from '../../src/safety/bwrap-probe.js';
import {
  cleanupAfterTest,
  eventsOfType,
  launches,
  procRecordsOf,
  readEvents,
  runCli,
  sandboxWith,
  sessionIds,
  startCli,
  lockServerUrl,
} from '../support/orchestrate.js';
import { poll } from '../support/poll.js';

const probe = await probeBwrap();
afterEach(() => cleanupAfterTest());

describe.runIf(probe.available)('interactive claude in bubblewrap, once a --no-server run ends waiting', () => {
  it('its agent lives on, waiting; resume takes it up, and the request is answered once', async () => {
    const { sandbox, specPath, env } = sandboxWith(
      {
        task: 'publish it',
        sandbox: 'bwrap',
        workers: [{ id: 'impl', agent: 'claude', role: 'implementer', mode: 'interactive' }],
        permissions: { ask: ['Bash(npm publish:*)'] },
      },
      { claude: { commands: [{ command: 'npm publish', creates: 'published.txt' }] } },
    );
    const ws = sandbox.workspace;
    const first = await runCli(['run', '--spec', specPath, '-C', sandbox.target, '--workspace', ws, '--no-server'], {
      env,
    });
    expect(first.exitCode, first.stderr).toBe(2);
    const sid = sessionIds(ws)[0] as string;
    const asked = eventsOfType(readEvents(ws), 'blocker').filter((b) => b.kind === 'PERMISSION_REQUEST');
    expect(asked, first.stderr).toHaveLength(1);
    // The run is over; its agent's group is not, and left no exit status. Not at once, nor a moment later (the relay
    // and the proxy outlive the orchestrator's pipes and exit).
    const [record] = procRecordsOf(sandbox);
    expect(record).toBeDefined();
    const pgid = record?.pgid ?? 0;
    const exitFile = join(ws, 'sessions', sid, 'agents', 'impl.1.exit');
    for (let i = 0; i < 5; i++) {
      // The wrapper, the relay, the proxy, bwrap (twice), the bridge, its socat, the agent.
      expect(groupMembers(pgid).length, `the group ${pgid} of the agent`).toBeGreaterThanOrEqual(8);
      expect(existsSync(exitFile)).toBe(false);
      await new Promise((r) => setTimeout(r, 200));
    }

    const resumed = startCli(['resume', sid, '--workspace', ws, '--json', '--port', '0'], env);
    await poll(
      () => lockServerUrl(ws, sid, resumed.child.pid),
      30_000,
      () => `the resumed run's server\n${resumed.transcript()}`,
    );
    const resolved = await runCli(['resolve', sid, 'b1', 'allow', '--workspace', ws], { env });
    expect(resolved.exitCode, resolved.stderr).toBe(0);
    const end = await resumed.exited;
    expect(end.exitCode, resumed.transcript()).toBe(0);

    expect(eventsOfType(readEvents(ws), 'permission').map((e) => [e.decision, e.by])).toEqual([
      ['ask', 'rule'],
      ['allow', 'person'],
    ]);
    // One launch: the agent the first run started is the one that got the answer, and ran the command.
    expect(launches(sandbox)).toHaveLength(1);
    expect(existsSync(join(launches(sandbox)[0]?.workdir ?? '', 'published.txt'))).toBe(true);
    // It ended of itself, with its status written; nothing of its group is left.
    expect(readFileSync(exitFile, 'utf8')).toBe('0\n');
    await poll(() => groupMembers(pgid).length === 0, 5_000, `the end of the group ${pgid}`);
  });
});
