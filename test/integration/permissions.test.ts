/**
 * Interactive mode (issue 14), for each agent that has it: claude over its stream-json protocol (control_request
 * can_use_tool), codex over `codex app-server` (item/commandExecution/requestApproval), the fake agent asking before
 * each tool runs through the stdin relay, and the session's permission rules deciding: a denied command never runs
 * and the agent carries on; an `ask` is a PERMISSION_REQUEST blocker a person answers, while the agent waits with its
 * stall timer held; allow-always adds the rule for the rest of the session; a message reaches the running agent; and
 * a request waiting across an orchestrator's kill -9 is answered once.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupAfterTest,
  eventsOfType,
  poll,
  readEvents,
  runCli,
  sandboxWith,
  sessionIds,
  startCli,
  lockServerUrl,
} from '../support/orchestrate.js';
import {
  makeSafetyHarness,
  ofType,
  openBlocker,
  type SafetyHarness,
  waitFor,
  workerStatus,
} from '../safety/support.js';

let harness: SafetyHarness | null = null;
afterEach(async () => {
  await harness?.cleanup();
  harness = null;
  await cleanupAfterTest();
});

type StdinRecord = { line: Record<string, unknown> & { type?: string; method?: string } };

/** The fake's record of what reached its stdin (messages, permission answers), in a state folder. */
function stdinRecords(stateDir: string): StdinRecord[] {
  const path = join(stateDir, 'stdin.jsonl');
  return existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
    : [];
}
const stdinLines = (h: SafetyHarness) => stdinRecords(h.stateDir);

/** How each protocol's lines on the agent's stdin read: the answers to its requests, and the messages. */
const PROTOCOLS = {
  claude: {
    answers: (lines: StdinRecord[]) => lines.filter((l) => l.line.type === 'control_response'),
    answerId: (a: StdinRecord) => (a.line.response as { request_id?: string }).request_id,
    allowed: { behavior: 'allow' },
    answerOf: (a: StdinRecord) => (a.line.response as { response?: unknown }).response,
    messages: (lines: StdinRecord[]) => lines.filter((l) => l.line.type === 'user'),
  },
  codex: {
    answers: (lines: StdinRecord[]) => lines.filter((l) => l.line.method === undefined && 'result' in l.line),
    answerId: (a: StdinRecord) => String(a.line.id),
    allowed: { decision: 'accept' },
    answerOf: (a: StdinRecord) => a.line.result,
    messages: (lines: StdinRecord[]) =>
      lines.filter((l) => l.line.method === 'turn/start' || l.line.method === 'turn/steer'),
  },
  gemini: {
    answers: (lines: StdinRecord[]) =>
      lines.filter((l) => l.line.method === undefined && (l.line.result as { outcome?: unknown })?.outcome),
    answerId: (a: StdinRecord) => String(a.line.id),
    allowed: { outcome: { outcome: 'selected', optionId: 'proceed_once' } },
    answerOf: (a: StdinRecord) => a.line.result,
    messages: (lines: StdinRecord[]) => lines.filter((l) => l.line.method === 'session/prompt'),
  },
} as const;
type Agent = keyof typeof PROTOCOLS;

const interactiveWorker = (agent: Agent) => ({ id: 'impl', agent, role: 'implementer', mode: 'interactive' }) as const;
const worker = interactiveWorker('claude');

describe.each(['claude', 'codex', 'gemini'] as const)(
  'interactive %s: permissions decided before a tool runs',
  (agent) => {
    const worker = interactiveWorker(agent);
    const protocol = PROTOCOLS[agent];
    it('a denied command never runs, the agent is told why and carries on, and the session completes', async () => {
      harness = await makeSafetyHarness({
        [agent]: {
          commands: [
            { command: 'touch denied.txt', creates: 'denied.txt' },
            { command: 'touch allowed.txt', creates: 'allowed.txt' },
            // Denied by the built-in rule before it runs; the exec-mode monitor,
            // which sees it reported first, only logs.
            { command: 'rm -rf /', creates: 'wiped.txt' },
          ],
        },
      });
      const runtime = await harness.start({
        task: 't',
        sandbox: 'none',
        workers: [worker],
        permissions: { deny: ['Bash(touch denied.txt)'], allow: ['Bash(touch *)'] },
      });
      expect(await runtime.waitForEnd(true)).toBe('completed');
      const workdir = launchDir(harness);
      expect(existsSync(join(workdir, 'denied.txt'))).toBe(false);
      expect(existsSync(join(workdir, 'allowed.txt'))).toBe(true);

      const decisions = ofType(runtime, 'permission');
      expect(decisions).toEqual([
        expect.objectContaining({
          workerId: 'impl',
          tool: 'Bash',
          command: 'touch denied.txt',
          decision: 'deny',
          by: 'rule',
          rule: 'Bash(touch denied.txt)',
        }),
        expect.objectContaining({ command: 'touch allowed.txt', decision: 'allow', by: 'rule', rule: 'Bash(touch *)' }),
        expect.objectContaining({ command: 'rm -rf /', decision: 'deny', by: 'rule', rule: 'safety:rm-rf-root' }),
      ]);
      expect(existsSync(join(workdir, 'wiped.txt'))).toBe(false);
      expect(ofType(runtime, 'blocker')).toEqual([]);
      expect(ofType(runtime, 'safety').filter((e) => e.rule === 'rm-rf-root')).toEqual([
        expect.objectContaining({ action: 'log' }),
      ]);
      // The agent was told (claude: the reason, as the tool's error; codex: declined) and went on to the next command.
      const agentEvents = JSON.stringify(ofType(runtime, 'agent'));
      if (agent === 'claude')
        expect(agentEvents).toContain("Denied by the orchestrator's permission rules (Bash(touch denied.txt))");
      else if (agent === 'codex')
        expect(ofType(runtime, 'agent')).toContainEqual(
          expect.objectContaining({ kind: 'command', command: 'touch denied.txt', status: 'declined' }),
        );
      // gemini's only sign is the rejection itself (ACP's reject_once option): no update follows a rejected call.
      else
        expect(protocol.answers(stdinLines(harness)).map(protocol.answerOf)).toContainEqual({
          outcome: { outcome: 'selected', optionId: 'cancel' },
        });
      // Each answer reached the agent once; the relay closed its stdin when the turn ended (the agent exited 0).
      const answers = protocol.answers(stdinLines(harness));
      expect(answers).toHaveLength(3);
      expect(new Set(answers.map(protocol.answerId)).size).toBe(3);
      expect(workerStatus(runtime, 'impl')).toBe('completed');
    });

    it(
      'ask: a PERMISSION_REQUEST blocker names the command; the agent waits (its stall timer held) ' +
        'until it is answered allow, then the command runs',
      async () => {
        harness = await makeSafetyHarness({
          [agent]: { commands: [{ command: 'npm publish', creates: 'published.txt' }] },
        });
        const runtime = await harness.start({
          task: 't',
          sandbox: 'none',
          workers: [worker],
          limits: { stallTimeoutSec: 1 },
          permissions: { ask: ['Bash(npm publish:*)'] },
        });
        const blocker = await waitFor(() => openBlocker(runtime, 'PERMISSION_REQUEST'), 'the permission request');
        expect(blocker.message).toContain('Bash: npm publish');
        expect(blocker.options).toEqual(['allow', 'deny', 'allow-always', 'skip', 'stop']);
        expect(await runtime.waitForEnd(true)).toBe('waiting');
        // Three stall timeouts later the agent still waits: time asked does not count.
        await new Promise((r) => setTimeout(r, 3_000));
        expect(ofType(runtime, 'recovery')).toEqual([]);
        expect(workerStatus(runtime, 'impl')).toBe('running');
        expect(existsSync(join(launchDir(harness), 'published.txt'))).toBe(false);

        runtime.send({ type: 'RESOLVE', blockerId: blocker.id, choice: 'allow', by: 'alice' });
        expect(await runtime.waitForEnd(true)).toBe('completed');
        expect(existsSync(join(launchDir(harness), 'published.txt'))).toBe(true);
        expect(ofType(runtime, 'permission')).toEqual([
          expect.objectContaining({ command: 'npm publish', decision: 'ask', by: 'rule', rule: 'Bash(npm publish:*)' }),
          expect.objectContaining({ command: 'npm publish', decision: 'allow', by: 'person', person: 'alice' }),
        ]);
      },
    );

    it('allow-always adds the exact rule for the rest of the session: that command is not asked again', async () => {
      harness = await makeSafetyHarness({
        [agent]: {
          commands: [
            { command: 'make deploy', creates: 'one.txt' },
            { command: 'make deploy', creates: 'two.txt' },
          ],
        },
      });
      const runtime = await harness.start({
        task: 't',
        sandbox: 'none',
        workers: [worker],
        permissions: { default: 'ask' },
      });
      const blocker = await waitFor(() => openBlocker(runtime, 'PERMISSION_REQUEST'), 'the permission request');
      runtime.send({ type: 'RESOLVE', blockerId: blocker.id, choice: 'allow-always', by: 'bob' });
      expect(await runtime.waitForEnd(true)).toBe('completed');
      expect(runtime.permissionRules()).toEqual(['Bash(make deploy)']);
      const decisions = ofType(runtime, 'permission').map((e) => [e.decision, e.by, e.rule]);
      expect(decisions).toEqual([
        ['ask', 'default', undefined],
        ['allow', 'person', 'Bash(make deploy)'],
        ['allow', 'rule', 'Bash(make deploy)'],
      ]);
      expect(ofType(runtime, 'blocker').filter((b) => !b.resolution)).toHaveLength(1);
    });
  },
);

describe.each(['claude', 'codex', 'gemini'] as const)('interactive %s: live messages', (agent) => {
  const worker = interactiveWorker(agent);
  const protocol = PROTOCOLS[agent];
  it('a message sent mid-run reaches the running agent now (its stdin), is recorded, and is answered', async () => {
    const release = join(tmpdir(), `orch-release-${process.pid}-${Date.now()}`);
    harness = await makeSafetyHarness({ [agent]: { holdUntil: release, heartbeatMs: 200 } });
    const runtime = await harness.start({ task: 't', sandbox: 'none', workers: [worker] });
    const h = harness;
    await waitFor(() => stdinLines(h).length > 0 && workerStatus(runtime, 'impl') === 'running', 'the agent at work');
    runtime.send({ type: 'SAY', workerId: 'impl', text: 'Also update the changelog.', by: 'alice' });
    // In the agent's stdin now; an ACP agent has no steer: its message is the next prompt, once this one ends.
    const taken = () =>
      agent === 'gemini'
        ? ofType(runtime, 'agent').some((e) => e.kind === 'message' && e.role === 'user')
        : protocol.messages(stdinLines(h)).some((l) => JSON.stringify(l.line).includes('changelog'));
    await waitFor(taken, 'the message in the agent');
    writeFileSync(release, '');
    try {
      expect(await runtime.waitForEnd(true)).toBe('completed');
    } finally {
      rmSync(release, { force: true });
    }
    const events = ofType(runtime, 'agent');
    expect(events).toContainEqual(
      expect.objectContaining({ kind: 'message', role: 'user', text: 'Also update the changelog.' }),
    );
    // The agent took the message in (claude folds a message sent between tool steps, codex steers the turn, an ACP
    // agent gets it as its next prompt) and answered it before its conversation ended.
    const said = events.map((e) =>
      (e.kind === 'message' && e.role === 'assistant') || e.kind === 'result' ? (e.text ?? '') : '',
    );
    expect(said.join('')).toContain('Noted: Also update the changelog.');
    expect(protocol.messages(stdinLines(h))).toHaveLength(2);
    expect(JSON.stringify(protocol.messages(stdinLines(h))[1])).toContain('Also update the changelog.');
  });
});

describe.each(['claude', 'codex', 'gemini'] as const)('interactive %s: a stop', (agent) => {
  it('interrupts via the protocol first: the agent ends its turn and exits of itself, before any signal', async () => {
    const release = join(tmpdir(), `orch-release-stop-${agent}-${process.pid}-${Date.now()}`);
    harness = await makeSafetyHarness({ [agent]: { holdUntil: release, heartbeatMs: 200 } });
    // A grace far longer than the test may take: only the agent ending of itself lets the stop finish in time.
    const runtime = await harness.start({
      task: 't',
      sandbox: 'none',
      workers: [interactiveWorker(agent)],
      limits: { killGraceMs: 600_000 },
    });
    const h = harness;
    // At work: its turn has started and it said so (a stop before that has nothing to interrupt, and is a signal).
    await waitFor(
      () =>
        ofType(runtime, 'agent').some(
          (e) => e.kind === 'reasoning' || (e.kind === 'message' && e.role === 'assistant'),
        ),
      'the agent at work',
    );
    await waitFor(() => workerStatus(runtime, 'impl') === 'running', 'the worker running');
    runtime.send({ type: 'STOP_WORKER', workerId: 'impl', by: 'alice' });
    try {
      await waitFor(() => ['stopped', 'skipped'].includes(workerStatus(runtime, 'impl') ?? ''), 'the worker ended');
    } finally {
      writeFileSync(release, '');
      rmSync(release, { force: true });
    }
    const interrupts = stdinLines(h).filter((l) =>
      agent === 'claude'
        ? (l.line.request as { subtype?: string } | undefined)?.subtype === 'interrupt'
        : l.line.method === (agent === 'codex' ? 'turn/interrupt' : 'session/cancel'),
    );
    expect(interrupts).toHaveLength(1);
    // The launch wrapper wrote the agent's own exit status: no signal ended it (a killed group leaves none).
    const sid = runtime.sessionId;
    const exit = join(h.workspace, 'sessions', sid, 'agents', 'impl.1.exit');
    expect(readFileSync(exit, 'utf8').trim()).toBe('0');
  });
});

describe('interactive claude through the CLI and the API', () => {
  it("`orchestrate resolve SID b1 allow` answers the request through the run's server; the command runs", async () => {
    const { sandbox, specPath, env } = sandboxWith(
      {
        task: 'publish it',
        sandbox: 'none',
        workers: [worker],
        permissions: { ask: ['Bash(npm publish:*)'] },
      },
      { claude: { commands: [{ command: 'npm publish', creates: 'published.txt' }] } },
    );
    const run = startCli(
      ['run', '--spec', specPath, '-C', sandbox.target, '--workspace', sandbox.workspace, '--json', '--port', '0'],
      env,
    );
    const ws = sandbox.workspace;
    await poll(
      () =>
        sessionIds(ws).length > 0 &&
        eventsOfType(readEvents(ws), 'blocker').some((b) => b.kind === 'PERMISSION_REQUEST' && !b.resolution),
      30_000,
      () => `the permission request\n${run.transcript()}`,
    );
    const sid = sessionIds(ws)[0] as string;
    const resolved = await runCli(['resolve', sid, 'b1', 'allow', '--workspace', ws], { env });
    expect(resolved.exitCode, resolved.stderr).toBe(0);
    const end = await run.exited;
    expect(end.exitCode, run.transcript()).toBe(0);
    const events = readEvents(ws);
    expect(eventsOfType(events, 'permission').map((e) => [e.decision, e.by])).toEqual([
      ['ask', 'rule'],
      ['allow', 'person'],
    ]);
    const checkout = JSON.parse(readFileSync(join(sandbox.stateDir, 'launches.jsonl'), 'utf8').split('\n')[0] ?? '{}');
    expect(existsSync(join(checkout.workdir, 'published.txt'))).toBe(true);
  });

  it('`orchestrate say SID WORKER TEXT` reaches an interactive worker; an exec one is refused with why', async () => {
    const release = join(tmpdir(), `orch-release-say-${process.pid}-${Date.now()}`);
    const { sandbox, specPath, env } = sandboxWith(
      {
        task: 'two workers',
        sandbox: 'none',
        workers: [worker, { id: 'plain', agent: 'claude', role: 'verifier' }],
      },
      { claude: { holdUntil: release, heartbeatMs: 200 } },
    );
    const ws = sandbox.workspace;
    const run = startCli(
      ['run', '--spec', specPath, '-C', sandbox.target, '--workspace', ws, '--json', '--port', '0'],
      env,
    );
    try {
      await poll(
        () =>
          sessionIds(ws).length > 0 &&
          ['impl', 'plain'].every((id) =>
            eventsOfType(readEvents(ws), 'state').some((e) => e.id === id && e.to === 'running.active'),
          ) &&
          existsSync(join(sandbox.stateDir, 'stdin.jsonl')),
        30_000,
        () => `both workers at work\n${run.transcript()}`,
      );
      const sid = sessionIds(ws)[0] as string;
      const said = await runCli(['say', sid, 'impl', 'Keep the API stable.', '--workspace', ws], { env });
      expect(said.exitCode, said.stderr).toBe(0);
      expect(said.stdout).toContain('message to impl: sent to http://127.0.0.1:');
      const refused = await runCli(['say', sid, 'plain', 'hello', '--workspace', ws], { env });
      expect(refused.exitCode).toBe(1);
      expect(refused.stderr).toBe(
        'error: worker plain runs in exec mode: a message reaches only an interactive worker ("mode": "interactive")\n',
      );
      await poll(
        () => readFileSync(join(sandbox.stateDir, 'stdin.jsonl'), 'utf8').includes('Keep the API stable.'),
        30_000,
        'the message in the agent',
      );
    } finally {
      writeFileSync(release, '');
    }
    const end = await run.exited;
    rmSync(release, { force: true });
    expect(end.exitCode, run.transcript()).toBe(0);
  });
});

describe.each(['claude', 'codex', 'gemini'] as const)('interactive %s across an orchestrator crash', (agent) => {
  const protocol = PROTOCOLS[agent];
  it(
    'kill -9 while a request waits, then resume: the agent still waits, ' +
      'the request is asked once and answered once, and the session completes',
    async () => {
      const { sandbox, specPath, env } = sandboxWith(
        {
          task: 'publish it',
          sandbox: 'none',
          workers: [interactiveWorker(agent)],
          permissions: { ask: ['Bash(npm publish:*)'] },
        },
        { [agent]: { commands: [{ command: 'npm publish', creates: 'published.txt' }] } },
      );
      const ws = sandbox.workspace;
      const first = startCli(['run', '--spec', specPath, '-C', sandbox.target, '--workspace', ws, '--no-server'], env);
      const asked = () => eventsOfType(readEvents(ws), 'blocker').filter((b) => b.kind === 'PERMISSION_REQUEST');
      await poll(
        () => sessionIds(ws).length > 0 && asked().length > 0,
        30_000,
        () => `the request\n${first.transcript()}`,
      );
      first.child.kill('SIGKILL');
      await first.exited;
      const sid = sessionIds(ws)[0] as string;

      const resumed = startCli(['resume', sid, '--workspace', ws, '--json', '--port', '0'], env);
      // The resumed orchestrator serves the session (its lock names its server) before it is answered.
      await poll(
        () => lockServerUrl(ws, sid, resumed.child.pid),
        30_000,
        () => `the resumed run's server\n${resumed.transcript()}`,
      );
      const resolved = await runCli(['resolve', sid, 'b1', 'allow', '--workspace', ws], { env });
      expect(resolved.exitCode, resolved.stderr).toBe(0);
      const end = await resumed.exited;
      expect(end.exitCode, resumed.transcript()).toBe(0);

      const events = readEvents(ws);
      expect(eventsOfType(events, 'permission').map((e) => [e.decision, e.by])).toEqual([
        ['ask', 'rule'],
        ['allow', 'person'],
      ]);
      expect(asked().filter((b) => !b.resolution)).toHaveLength(1);
      // One launch, one answer: the agent lived through the crash and got the answer exactly once.
      const launches = readFileSync(join(sandbox.stateDir, 'launches.jsonl'), 'utf8').trim().split('\n');
      expect(launches).toHaveLength(1);
      const answers = protocol.answers(stdinRecords(sandbox.stateDir));
      expect(answers).toHaveLength(1);
      expect(protocol.answerOf(answers[0] as StdinRecord)).toEqual(protocol.allowed);
      expect(existsSync(join(JSON.parse(launches[0] ?? '{}').workdir, 'published.txt'))).toBe(true);
    },
  );
});

/** Where the fake agent worked (its checkout): the workdir of its first launch. */
function launchDir(h: SafetyHarness): string {
  const path = join(h.stateDir, 'launches.jsonl');
  const first = JSON.parse(readFileSync(path, 'utf8').split('\n')[0] ?? '{}') as { workdir?: string };
  return first.workdir ?? '';
}
