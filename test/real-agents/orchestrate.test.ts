/**
 * `orchestrate run` end to end with the real CLIs: the default trio completing with files really written by
 * agents and reviewed, a review round with real reviewers (a strict retry, a warning, a blocker), and every
 * error scenario classified and recovered or escalated as src/domain/recovery-policy.ts says.
 *
 * As root, the orchestrator runs as the unprivileged test user (claude refuses to bypass permissions as
 * root); one scenario runs it as root on purpose to see the refusal become a PERMISSION_BLOCKER.
 *
 * The default trio names no mode, so its workers get the default of the pinned CLIs: interactive (they ask the
 * permission rules before each tool). The other scenarios are about exec mode's recovery table and name it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SessionSpecInput } from '../../src/domain/spec.js';
import type { ProcRecord } from '../../src/store/session-store.js';
import { probeBwrap } from '../../src/safety/bwrap-probe.js';
import { startFakeModelServer, type FakeModelServer } from './fake-model-server.js';
import {
  assertUserCanRunCli,
  cliBuilt,
  CLI,
  describeOrchestrate,
  finalWorkerStates,
  ofType,
  removeOrchestrateRun,
  runOrchestrate,
  type OrchestrateRun,
} from './support/orchestrate.js';
import { binaryPath, type RealAgent } from './support/install.js';
import { PROVIDER_OF, type Scenario, type Verdict } from './support/scenarios.js';
import { ensureTestUser, isRoot, type TestUser } from './support/test-user.js';

/** .ci/run installs bubblewrap; a machine without user namespaces cannot run it at all. */
const bwrapUsable = (await probeBwrap()).available;

const REVIEWER = 'You are a REVIEWER in a team of AI coding agents';
const APPROVE: Verdict = { verdict: 'approve', summary: 'The change does what the task asks.', issues: [] };
const CONCERN: Verdict = {
  verdict: 'concern',
  summary: 'It works, but nothing tests it.',
  issues: [{ severity: 'concern', file: 'hello.txt', message: 'Add a test.' }],
};
const BLOCKER: Verdict = {
  verdict: 'blocker',
  summary: 'The file holds the wrong greeting.',
  issues: [{ severity: 'blocker', file: 'hello.txt', line: 1, message: 'Wrong greeting.' }],
};

/** Fast recovery for tests: short backoff, and a retry time capped at a few seconds. */
const FAST_LIMITS = {
  backoffBaseMs: 200,
  backoffMaxMs: 1_000,
  maxRetryWaitSec: 4,
  stallTimeoutSec: 90,
  workerTimeoutSec: 150,
  killGraceMs: 1_000,
};

/**
 * Every launch of a run, from the session's `agents/<worker>.proc.json` records (argv as executed, sandbox included).
 */
function launchRecords(run: OrchestrateRun): Array<ProcRecord & { workerId: string }> {
  const sessions = join(run.workspace, 'sessions');
  return readdirSync(sessions).flatMap((sid) => {
    const agents = join(sessions, sid, 'agents');
    if (!existsSync(agents)) return [];
    return readdirSync(agents)
      .filter((f) => f.endsWith('.proc.json'))
      .flatMap((f) =>
        (JSON.parse(readFileSync(join(agents, f), 'utf8')) as ProcRecord[]).map((r) => ({
          ...r,
          workerId: f.slice(0, -'.proc.json'.length),
        })),
      );
  });
}

if (!cliBuilt()) {
  console.warn(
    `orchestrate-level real-agent tests skipped: ${CLI} does not exist (npm run build; src/cli.ts must exist).`,
  );
}

describe.skipIf(!cliBuilt())('orchestrate run with the real CLIs', () => {
  let server: FakeModelServer;
  let user: TestUser | null;
  let run: OrchestrateRun | null = null;

  beforeAll(async () => {
    server = await startFakeModelServer();
    user = ensureTestUser();
    assertUserCanRunCli(user);
  });
  afterAll(async () => {
    await server?.close();
  });
  beforeEach(() => {
    server.reset();
    run = null;
  });
  afterEach((ctx) => {
    // Keep a failed run's folder for a look (its path is in the failure message); remove the others.
    if (run && ctx.task.result?.state !== 'fail') removeOrchestrateRun(run);
  });

  it('the default trio completes: files really written by gemini and claude, reviews approve, exit 0', async () => {
    server.setScenario('gemini', {
      kind: 'write-file',
      path: 'ARCHITECTURE.md',
      content: '# Design\n\nOne file, hello.txt, holding a greeting.\n',
      text: 'Design: one file, hello.txt, with a greeting.',
    });
    server.setScenario('anthropic', {
      kind: 'write-file',
      path: 'hello.txt',
      content: 'Hello from claude\n',
      text: 'Implemented hello.txt as the design says.',
    });
    server.setScenario('openai', { kind: 'text', text: 'Verified: hello.txt exists and holds the greeting.' });
    server.route('gemini', REVIEWER, { kind: 'verdict', verdict: APPROVE });
    server.route('openai', REVIEWER, { kind: 'verdict', verdict: APPROVE });

    run = await runOrchestrate(server, { task: 'Create hello.txt with a greeting.', user });
    const why = describeOrchestrate(run);
    expect(run.badLines, why).toEqual([]);
    expect(run.exitCode, why).toBe(0);
    // Each worker wrote its own checkout; the session's result branch holds both files, the target neither.
    const sid = run.events[0]?.sessionId ?? '';
    expect(fileOnBranch(run.target, `orch/${sid}/_result`, 'ARCHITECTURE.md'), why).toContain('# Design');
    expect(fileOnBranch(run.target, `orch/${sid}/_result`, 'hello.txt'), why).toBe('Hello from claude\n');
    expect(existsSync(join(run.target, 'hello.txt')), why).toBe(false);
    expect(finalWorkerStates(run.events), why).toMatchObject({
      architect: 'completed',
      implementer: 'completed',
      verifier: 'completed',
    });
    const changed = ofType(run.events, 'agent')
      .filter((e) => e.kind === 'file_change')
      .flatMap((e) => (e.kind === 'file_change' ? e.changes.map((c) => `${e.workerId}:${c.path}`) : []));
    expect(changed, why).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^architect:.*\/architect\/ARCHITECTURE\.md$/),
        expect.stringMatching(/^implementer:.*\/implementer\/hello\.txt$/),
      ]),
    );
    // gemini's one-shot run (-p) refuses a fresh process in the untrusted folder (exit 55); over ACP (the architect,
    // interactive by default) it does not. So the gemini reviewer's first launch pays, once: the supervisor then
    // remembers --skip-trust per agent (learnedFixes).
    const recoveries = ofType(run.events, 'recovery').map((e) => `${e.workerId}:${e.signal.kind}->${e.action}`);
    expect(recoveries, why).toEqual(['r2-gemini-implementer:untrusted_folder->relaunch_with_flag']);
    const geminiLaunches = launchRecords(run)
      .filter((l) => l.argv.includes(binaryPath('gemini')))
      .map(
        (l) =>
          `${l.workerId.replace(/^r\d+-/, 'reviewer ')}#${l.attempt}` +
          `${l.argv.includes('--skip-trust') ? ' --skip-trust' : ''}`,
      )
      .sort();
    expect(geminiLaunches, why).toEqual([
      'architect#1',
      'reviewer gemini-implementer#1',
      'reviewer gemini-implementer#2 --skip-trust',
    ]);
    // Workers that name no mode get the pinned CLIs' default: interactive.
    expect(
      launchRecords(run)
        .filter((l) => !l.workerId.startsWith('r'))
        .map((l) => `${l.workerId}:${l.argv.some((a) => a === '--acp' || a === 'app-server' || a === 'stream-json')}`)
        .sort(),
      why,
    ).toEqual(['architect:true', 'implementer:true', 'verifier:true']);
    // The default spec's three reviews, all real processes, all approve.
    const reviews = ofType(run.events, 'review')
      .map((e) => `${e.reviewer}->${e.target}:${e.verdict.verdict}:${e.valid}`)
      .sort();
    expect(reviews, why).toEqual([
      'codex->architect:approve:true',
      'codex->implementer:approve:true',
      'gemini->implementer:approve:true',
    ]);
    expect(
      ofType(run.events, 'decision').every((e) => e.decision === 'CONTINUE'),
      why,
    ).toBe(true);
    // Each worker got the summary of the one before it.
    const claudeAsk = server.turns('anthropic')[0]?.body ?? '';
    expect(claudeAsk, "the implementer is told the architect's summary").toContain(
      'Design: one file, hello.txt, with a greeting.',
    );
    const codexAsk = server.turns('openai').find((q) => !q.route)?.body ?? '';
    expect(codexAsk, "the verifier is told the implementer's summary").toContain(
      'Implemented hello.txt as the design says.',
    );
    expect(run.leftovers, why).toEqual([]);
  });

  it(
    'a review round with real reviewers: ' +
      'an unparseable answer gets one strict retry (native resume), one concern -> LOG_WARNING',
    async () => {
      server.setScenario('anthropic', {
        kind: 'write-file',
        path: 'hello.txt',
        content: 'Hello\n',
        text: 'Wrote hello.txt.',
      });
      server.route('gemini', REVIEWER, [
        { scenario: { kind: 'text', text: 'Looks fine to me overall.' }, times: 1 },
        { kind: 'verdict', verdict: APPROVE },
      ]);
      server.route('openai', REVIEWER, { kind: 'verdict', verdict: CONCERN });
      const spec: SessionSpecInput = {
        task: 'Create hello.txt.',
        workers: [{ id: 'implementer', agent: 'claude', role: 'implementer', mode: 'exec' }],
        reviews: [
          { reviewer: 'gemini', target: 'implementer', focus: 'implementation' },
          { reviewer: 'codex', target: 'implementer', focus: 'tests' },
        ],
        limits: FAST_LIMITS,
      };
      run = await runOrchestrate(server, { task: spec.task, spec, user });
      const why = describeOrchestrate(run);
      expect(run.badLines, why).toEqual([]);
      expect(run.exitCode, why).toBe(0);
      const reviews = ofType(run.events, 'review')
        .map((e) => `${e.reviewer}:${e.verdict.verdict}:${e.valid}`)
        .sort();
      expect(reviews, why).toEqual(['codex:concern:true', 'gemini:approve:true']);
      expect(
        ofType(run.events, 'decision').map((e) => e.decision),
        why,
      ).toEqual(['LOG_WARNING']);
      const geminiReviews = server.turns('gemini').filter((q) => q.route === REVIEWER);
      expect(
        geminiReviews.map((q) => q.scenario),
        why,
      ).toEqual(['text', 'verdict']);
      expect(geminiReviews[1]?.body, 'the strict retry asks for the verdict only').toContain(
        'did not contain a valid verdict',
      );
      // The reviewers were read-only launches and did not touch the target.
      expect(run.leftovers, why).toEqual([]);
    },
  );

  it('a review blocker from claude (plan mode) stops the session: STOP_AND_ESCALATE, exit 2', async () => {
    server.setScenario('openai', {
      kind: 'write-file',
      path: 'hello.txt',
      content: 'Goodbye\n',
      text: 'Wrote hello.txt.',
    });
    server.route('anthropic', REVIEWER, { kind: 'verdict', verdict: BLOCKER });
    const spec: SessionSpecInput = {
      task: 'Create hello.txt with a greeting.',
      workers: [{ id: 'implementer', agent: 'codex', role: 'implementer', mode: 'exec' }],
      reviews: [{ reviewer: 'claude', target: 'implementer', focus: 'correctness' }],
      limits: FAST_LIMITS,
    };
    run = await runOrchestrate(server, { task: spec.task, spec, user });
    const why = describeOrchestrate(run);
    expect(run.exitCode, why).toBe(2);
    expect(fileOnBranch(run.target, `orch/${run.events[0]?.sessionId ?? ''}/implementer`, 'hello.txt'), why).toBe(
      'Goodbye\n',
    );
    expect(
      ofType(run.events, 'review').map((e) => `${e.reviewer}:${e.verdict.verdict}`),
      why,
    ).toEqual(['claude:blocker']);
    expect(
      ofType(run.events, 'decision').map((e) => e.decision),
      why,
    ).toEqual(['STOP_AND_ESCALATE']);
    expect(ofType(run.events, 'blocker').length, why).toBeGreaterThan(0);
  });

  describe('errors: classified, then recovered or escalated as the recovery table says', () => {
    /** The agents with an exec mode (opencode and qwen speak only ACP: acp-agents.test.ts has their errors). */
    type ExecAgent = Exclude<RealAgent, 'opencode' | 'qwen'>;
    /**
     * Model requests one launch makes for each error with our retry settings (see the per-CLI tests): the
     * script fails exactly the first launch, so a recovery that relaunches sees a working model.
     */
    const PER_LAUNCH: Record<ExecAgent, Record<string, number>> = {
      claude: { err401: 2, err429: 2, 'err429-noreset': 2, err500: 2 },
      codex: { err401: 2, err429: 1, 'err429-noreset': 1, err500: 4 },
      gemini: { err401: 1, err429: 1, 'err429-noreset': 1, err500: 1 },
    };
    /**
     * `then`: recoveries that follow the first one. gemini advertises a session id in `init` but saves no
     * session when its first model call fails, so the native resume is refused ("Error resuming session: No
     * previous sessions found for this project.", exit 42) and the supervisor relaunches fresh.
     */
    // biome-ignore lint/suspicious/noThenProperty: `then` is what follows in the scenario's expectation, not a promise.
    const GEMINI_RESUME_REFUSED = { then: ['resume_not_found->relaunch_fresh'], resumed: false };
    const EXPECTED: Record<
      ExecAgent,
      Record<string, { action: string; blocker?: string; then?: string[]; resumed?: boolean }>
    > = {
      claude: {
        err401: { action: 'escalate', blocker: 'AUTH_REQUIRED' },
        err429: { action: 'backoff_and_relaunch' },
        'err429-noreset': { action: 'backoff_and_relaunch' },
        err500: { action: 'backoff_and_relaunch' },
      },
      codex: {
        err401: { action: 'escalate', blocker: 'AUTH_REQUIRED' },
        err429: { action: 'wait_and_resume' },
        'err429-noreset': { action: 'backoff_and_relaunch' },
        err500: { action: 'backoff_and_relaunch' },
      },
      gemini: {
        err401: { action: 'escalate', blocker: 'AUTH_REQUIRED' },
        err429: { action: 'wait_and_resume', ...GEMINI_RESUME_REFUSED },
        'err429-noreset': { action: 'backoff_and_relaunch', ...GEMINI_RESUME_REFUSED },
        err500: { action: 'backoff_and_relaunch', ...GEMINI_RESUME_REFUSED },
      },
    };
    const SIGNAL: Record<string, string> = {
      err401: 'auth',
      err429: 'rate_limit',
      'err429-noreset': 'rate_limit',
      err500: 'server_error',
    };

    for (const agent of ['claude', 'codex', 'gemini'] as const) {
      for (const name of ['err401', 'err429', 'err429-noreset', 'err500'] as const) {
        const want = EXPECTED[agent][name]!;
        const outcome = want.blocker ? `${want.blocker}, exit 2` : 'relaunch with native resume, completed, exit 0';
        it(`${agent} ${name}: ${SIGNAL[name]} -> ${want.action} (${outcome})`, async () => {
          const error: Scenario = name === 'err429' ? { kind: 'err429', resetAfterSec: 2 } : { kind: name };
          server.setScenario(PROVIDER_OF[agent], [
            { scenario: error, times: PER_LAUNCH[agent][name]! },
            { kind: 'text', text: 'Recovered and done.' },
          ]);
          const spec: SessionSpecInput = {
            task: 'Say hello.',
            workers: [{ id: 'worker', agent, role: 'implementer', mode: 'exec' }],
            reviews: [],
            limits: FAST_LIMITS,
          };
          run = await runOrchestrate(server, { task: spec.task, spec, user });
          const why = describeOrchestrate(run);
          expect(run.badLines, why).toEqual([]);
          // gemini's untrusted-folder refusal comes first in a fresh folder: not the scenario's concern here.
          const recoveries = ofType(run.events, 'recovery').filter((e) => e.signal.kind !== 'untrusted_folder');
          expect(recoveries.map((e) => `${e.signal.kind}->${e.action}`)[0], why).toBe(
            `${SIGNAL[name]}->${want.action}`,
          );
          if (want.blocker) {
            expect(run.exitCode, why).toBe(2);
            expect(
              ofType(run.events, 'blocker').map((e) => e.kind),
              why,
            ).toEqual([want.blocker]);
            expect(recoveries, why).toHaveLength(1);
          } else {
            expect(run.exitCode, why).toBe(0);
            expect(finalWorkerStates(run.events).worker, why).toBe('completed');
            expect(recoveries.map((e) => `${e.signal.kind}->${e.action}`).slice(1), why).toEqual(want.then ?? []);
            const last = ofType(run.events, 'agent')
              .filter((e) => e.kind === 'result')
              .pop();
            expect(last?.kind === 'result' && last.ok, why).toBe(true);
            // The first recovery relaunches with the agent's native resume (its session id is known).
            expect(recoveries[0]?.change ?? '', why).toMatch(/^resume agent session /);
            const turns = server.turns(PROVIDER_OF[agent]);
            expect(turns.at(-1)?.scenario, why).toBe('text');
            // Resumed: the working turn continues the session with the continue prompt; else the task again.
            if (want.resumed === false)
              expect(turns.at(-1)?.body, why).not.toContain('Your previous run was interrupted by an error.');
            else expect(turns.at(-1)?.body, why).toContain('Your previous run was interrupted by an error.');
          }
          expect(run.leftovers, why).toEqual([]);
        });
      }
    }
  });

  it.runIf(isRoot())('claude as root (no sandbox): the real refusal becomes a PERMISSION_BLOCKER, exit 2', async () => {
    const spec: SessionSpecInput = {
      task: 'Say hello.',
      workers: [{ id: 'worker', agent: 'claude', role: 'implementer', mode: 'exec' }],
      reviews: [],
      limits: FAST_LIMITS,
      sandbox: 'none',
    };
    run = await runOrchestrate(server, { task: spec.task, spec, user: null });
    const why = describeOrchestrate(run);
    expect(run.exitCode, why).toBe(2);
    const recoveries = ofType(run.events, 'recovery');
    expect(
      recoveries.map((e) => `${e.signal.kind}->${e.action}`),
      why,
    ).toEqual(['root_bypass_refused->escalate']);
    expect(recoveries[0]?.signal.message, why).toContain(
      '--dangerously-skip-permissions cannot be used with root/sudo privileges',
    );
    expect(
      ofType(run.events, 'blocker').map((e) => e.kind),
      why,
    ).toEqual(['PERMISSION_BLOCKER']);
    expect(server.turns('anthropic'), 'claude never reached the model').toHaveLength(0);
    expect(existsSync(join(run.target, 'hello.txt'))).toBe(false);
  });

  it.runIf(isRoot() && bwrapUsable)(
    'claude as root inside our bubblewrap sandbox: the refusal is recovered with IS_SANDBOX=1 and the run completes',
    async () => {
      const spec: SessionSpecInput = {
        task: 'Say hello.',
        workers: [{ id: 'worker', agent: 'claude', role: 'implementer', mode: 'exec' }],
        reviews: [],
        limits: FAST_LIMITS,
        sandbox: 'bwrap',
      };
      run = await runOrchestrate(server, { task: spec.task, spec, user: null });
      const why = describeOrchestrate(run);
      expect(run.exitCode, why).toBe(0);
      const recoveries = ofType(run.events, 'recovery');
      expect(
        recoveries.map((e) => `${e.signal.kind}->${e.action}`),
        why,
      ).toEqual(['root_bypass_refused->relaunch_with_env']);
      expect(recoveries[0]?.change, why).toContain('IS_SANDBOX=1');
      expect(ofType(run.events, 'blocker'), why).toEqual([]);
      expect(server.turns('anthropic').length, 'the relaunched claude reached the model').toBeGreaterThan(0);
      expect(run.leftovers, why).toEqual([]);
    },
  );
});

/** A file as a branch of the target repository holds it (the target belongs to the test user: safe.directory). */
function fileOnBranch(repo: string, branch: string, path: string): string {
  return execFileSync('git', ['-c', 'safe.directory=*', 'show', `${branch}:${path}`], { cwd: repo, encoding: 'utf8' });
}
