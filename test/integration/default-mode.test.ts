/**
 * A worker that names no mode (issue 14): interactive where the installed CLI is tested with it, exec for an
 * older one, with a warning in the log. The fake agent run under each CLI's name (test/fixtures/bin) says the
 * pinned versions, or FAKE_AGENT_VERSION.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SessionSpecSchema } from '../../src/domain/spec.js';
import { SessionManager } from '../../src/runtime/session-manager.js';
import { SessionStore } from '../../src/store/session-store.js';
import { readLaunches } from '../support/fake-agent.js';
import { cleanupAfterTest, eventsOfType, readEvents, testSandbox } from '../support/orchestrate.js';
import { agentEnv, FAST_LIMITS } from './support-recovery.js';

afterEach(cleanupAfterTest);
const BIN = join(import.meta.dirname, '..', 'fixtures', 'bin');

async function runOne(agent: 'claude' | 'codex', extra: Record<string, string>) {
  const sandbox = testSandbox({ git: true });
  const manager = new SessionManager({
    workspace: sandbox.workspace,
    env: { ...process.env, ...agentEnv(sandbox, {}), ...extra },
  });
  const spec = SessionSpecSchema.parse({
    task: 'the default mode',
    workers: [{ id: 'w', agent, role: 'implementer' }],
    limits: FAST_LIMITS,
  });
  const runtime = await manager.create(spec, sandbox.target);
  try {
    expect(await runtime.waitForEnd()).toBe('completed');
  } finally {
    runtime.detach();
  }
  const meta = SessionStore.readMeta(sandbox.workspace, runtime.sessionId);
  return { sandbox, meta, events: readEvents(sandbox.workspace), launches: readLaunches(sandbox.stateDir) };
}

describe('the mode of a worker that names none', () => {
  it('is interactive with a CLI version that has it tested, and stays written in the session', async () => {
    const { meta, events, launches } = await runOne('claude', { ORCHESTRATOR_CLAUDE_BIN: join(BIN, 'claude') });
    expect(meta.spec.workers[0]?.mode).toBe('interactive');
    expect(launches[0]?.argv).toEqual(expect.arrayContaining(['--input-format', 'stream-json']));
    expect(launches[0]?.argv).not.toContain('--dangerously-skip-permissions');
    expect(eventsOfType(events, 'safety').filter((e) => e.rule === 'exec-mode')).toEqual([]);
  });

  it('is exec with an older CLI, and the log warns that its workers act without asking', async () => {
    const { meta, events, launches } = await runOne('codex', {
      ORCHESTRATOR_CODEX_BIN: join(BIN, 'codex'),
      FAKE_AGENT_VERSION: '0.150.2',
    });
    expect(meta.spec.workers[0]?.mode).toBe('exec');
    expect(launches[0]?.argv.slice(0, 2)).toEqual(['exec', '--json']);
    expect(eventsOfType(events, 'safety')).toEqual([
      expect.objectContaining({ rule: 'exec-mode', action: 'warn', subject: 'codex 0.150.2' }),
    ]);
  });
});
