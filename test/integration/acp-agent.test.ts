/**
 * The generic `acp` agent (issue 14): `{"agent": "acp", "command": [...]}` runs whatever ACP agent the command names,
 * here the fake agent speaking ACP as `gemini --acp` does, found by its path. It runs in interactive mode (its spec
 * says so once the session is created), its requests decided by the permission rules before the tool runs (a denied
 * command never runs; an ask is a blocker a person answers), and an `acp` reviewer reviews in its read-only mode.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SessionSpecSchema } from '../../src/domain/spec.js';
import { FAKE_AGENT } from '../support/fake-agent.js';
import { cleanupAfterTest } from '../support/orchestrate.js';
import {
  makeSafetyHarness,
  ofType,
  openBlocker,
  type SafetyHarness,
  waitFor,
  workerStatus,
} from '../safety/support.js';
import { APPROVE, reviewerSays } from './support-review.js';

let harness: SafetyHarness | null = null;
afterEach(async () => {
  await harness?.cleanup();
  harness = null;
  await cleanupAfterTest();
});

const command = [FAKE_AGENT, '--acp'];
const acpWorker = { id: 'impl', agent: 'acp', role: 'implementer', command } as const;

/** What reached the fake's stdin, as JSON-RPC messages. */
function sentToAgent(stateDir: string): Array<Record<string, unknown>> {
  const path = join(stateDir, 'stdin.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { line: Record<string, unknown> }).line);
}

describe('the generic acp agent', () => {
  it(
    'runs the command it names in interactive mode: a denied command never runs, an ask waits for a person, ' +
      'and an acp reviewer reviews in its read-only mode',
    async () => {
      harness = await makeSafetyHarness({
        rules: [reviewerSays('gemini', APPROVE)],
        gemini: {
          commands: [
            { command: 'touch denied.txt', creates: 'denied.txt' },
            { command: 'npm publish', creates: 'published.txt' },
          ],
        },
      });
      const runtime = await harness.start({
        task: 't',
        sandbox: 'none',
        workers: [acpWorker],
        reviews: [{ reviewer: 'acp', target: 'impl', focus: 'implementation', command }],
        permissions: { deny: ['Bash(touch denied.txt)'], ask: ['Bash(npm publish:*)'] },
      });
      // Decided when the session was created, and kept in its spec: interactive for both.
      expect(runtime.spec.workers[0]).toMatchObject({ agent: 'acp', command, mode: 'interactive' });
      expect(runtime.spec.reviews[0]).toMatchObject({ reviewer: 'acp', command, mode: 'interactive' });

      const blocker = await waitFor(() => openBlocker(runtime, 'PERMISSION_REQUEST'), 'the permission request');
      expect(blocker.message).toContain('Bash: npm publish');
      const launch = harness.launches()[0];
      expect(launch?.argv).toEqual(['--acp']);
      const workdir = launch?.workdir ?? '';
      expect(existsSync(join(workdir, 'denied.txt'))).toBe(false);
      expect(existsSync(join(workdir, 'published.txt'))).toBe(false);

      runtime.send({ type: 'RESOLVE', blockerId: blocker.id, choice: 'allow', by: 'alice' });
      expect(await runtime.waitForEnd(true)).toBe('completed');
      expect(existsSync(join(workdir, 'published.txt'))).toBe(true);
      expect(existsSync(join(workdir, 'denied.txt'))).toBe(false);
      expect(ofType(runtime, 'permission').map((e) => [e.command, e.decision, e.by])).toEqual([
        ['touch denied.txt', 'deny', 'rule'],
        ['npm publish', 'ask', 'rule'],
        ['npm publish', 'allow', 'person'],
      ]);
      expect(workerStatus(runtime, 'impl')).toBe('completed');

      // The reviewer: a second run of the command, asked into plan mode before its prompt, and its verdict counted.
      const reviewer = runtime.view().workers.find((w) => w.kind === 'reviewer');
      expect(reviewer).toMatchObject({ agent: 'acp', status: 'completed' });
      const modes = sentToAgent(harness.stateDir).filter((m) => m.method === 'session/set_mode');
      expect(modes).toEqual([expect.objectContaining({ params: expect.objectContaining({ modeId: 'plan' }) })]);
      expect(ofType(runtime, 'review')).toEqual([
        expect.objectContaining({
          reviewer: 'acp',
          target: 'impl',
          valid: true,
          verdict: expect.objectContaining(APPROVE),
        }),
      ]);
    },
  );

  it('a command that is not there is refused before anything starts, with what to do', async () => {
    harness = await makeSafetyHarness({});
    const spec = SessionSpecSchema.parse({
      task: 't',
      sandbox: 'none',
      workers: [{ ...acpWorker, command: ['no-such-acp-agent', 'acp'] }],
    });
    await expect(harness.manager.create(spec, harness.target)).rejects.toThrow(
      "`no-such-acp-agent` (an acp agent's command) is not on PATH. Install it, or give its path.",
    );
  });
});

describe('the named ACP agents: opencode and qwen', () => {
  it.each([
    ['opencode', ['acp']],
    ['qwen', ['--acp', '--approval-mode', 'default', '-m', 'qwen3-coder']],
  ] as const)('%s runs interactive with the argv its CLI takes; a denied command never runs', async (agent, argv) => {
    harness = await makeSafetyHarness({
      gemini: { commands: [{ command: 'touch denied.txt', creates: 'denied.txt' }] },
    });
    const runtime = await harness.start({
      task: 't',
      sandbox: 'none',
      workers: [{ id: 'impl', agent, role: 'implementer', model: agent === 'qwen' ? 'qwen3-coder' : 'oc/m' }],
      permissions: { deny: ['Bash(touch denied.txt)'] },
    });
    expect(runtime.spec.workers[0]?.mode).toBe('interactive');
    expect(await runtime.waitForEnd(true)).toBe('completed');
    const launch = harness.launches()[0];
    expect(launch?.argv).toEqual(argv);
    expect(existsSync(join(launch?.workdir ?? '', 'denied.txt'))).toBe(false);
    expect(ofType(runtime, 'permission').map((e) => [e.command, e.decision])).toEqual([['touch denied.txt', 'deny']]);
    // opencode asks before it acts only where its configuration says so: that, and its model, go in its environment.
    const config = launch?.env.OPENCODE_CONFIG_CONTENT;
    if (agent === 'opencode')
      expect(JSON.parse(config ?? '{}')).toMatchObject({
        model: 'oc/m',
        agent: { build: { permission: { bash: 'ask', edit: 'ask' } }, plan: { permission: { bash: 'ask' } } },
      });
    else expect(config).toBeNull();
  });
});
