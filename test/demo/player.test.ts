/**
 * The recorded-agent player: argv reading for each CLI, then the whole demo (architect, reviews, implementer,
 * verifier) played in a copy of the demo project with the exact argv the orchestrator builds, and the edge
 * cases (resume, SIGTERM, unknown persona or role, directives).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentRegistry } from '../../src/agents/registry.js';
import { extractVerdict } from '../../src/domain/review-policy.js';
import { renderContinuePrompt, renderStrictVerdictRequest } from '../../src/domain/prompts.js';
import { detectPersona, detectRole, parseInvocation, type Persona } from '../../src/demo/invocation.js';
import { copyDemoProject } from '../../src/demo/launchers.js';
import { runRecordedAgent } from '../../src/demo/player.js';
import {
  badPayloads,
  BUILDERS,
  DEMO_STEPS,
  PLAYER,
  reviewPrompt,
  rolePrompt,
  runPlayer,
  stepArgs,
  TSX_LOADER,
  type PlayerRun,
} from './helpers.js';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'demo-player-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function parsed(persona: Persona, run: PlayerRun) {
  const payloads = run.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => agentRegistry[persona].parseLine(line));
  expect(badPayloads(payloads.flat())).toEqual([]);
  return payloads.flat();
}

describe('reading the argv the orchestrator builds', () => {
  const prompts = ['You are the ARCHITECT\nmulti-line "quoted"', '-starts with a dash'];
  it.each(['claude', 'codex', 'gemini'] as const)('%s: persona, prompt, resume id, work dir, read-only', (persona) => {
    for (const prompt of prompts) {
      for (const resume of [undefined, { agentSessionId: 'sess-123' }]) {
        for (const readOnly of [false, true]) {
          const { args } = BUILDERS[persona]({
            prompt,
            targetDir: '/work/target',
            includeDirs: ['/a', '/b'],
            fixes: { skipGitRepoCheck: true, skipTrust: true },
            model: 'm-1',
            resume,
            readOnly,
          });
          expect(detectPersona(args, {})).toBe(persona);
          const inv = parseInvocation(persona, args, '/somewhere/else');
          expect(inv).toEqual({
            persona,
            prompt,
            resumeId: resume?.agentSessionId,
            workDir: persona === 'codex' ? '/work/target' : '/somewhere/else',
            model: 'm-1',
            readOnly,
          });
        }
      }
    }
  });

  it('lets DEMO_AGENT_PERSONA win, and refuses what it cannot tell', () => {
    expect(detectPersona(['exec', 'x'], { DEMO_AGENT_PERSONA: 'gemini' })).toBe('gemini');
    expect(detectPersona(['exec', 'x'], { DEMO_AGENT_PERSONA: 'cursor' })).toBeNull();
    expect(detectPersona(['--help'], {})).toBeNull();
    expect(parseInvocation('gemini', ['--prompt=hi there'], '/').prompt).toBe('hi there');
    expect(parseInvocation('codex', ['exec', '--json', '-C', 'sub', 'do it'], '/base').workDir).toBe('/base/sub');
  });

  it('tells the role from role and review prompts', () => {
    for (const role of ['architect', 'implementer', 'verifier']) expect(detectRole(rolePrompt(role))).toBe(role);
    expect(detectRole(reviewPrompt({ id: 'impl-2', role: 'implementer', agent: 'claude' }, '/t'))).toBe(
      'reviewer-implementer',
    );
    expect(detectRole(reviewPrompt({ id: 'architect', role: 'architect', agent: 'gemini' }, '/t'))).toBe(
      'reviewer-architect',
    );
    expect(detectRole('Say hello')).toBeNull();
  });
});

describe('playing the whole demo in a copy of the demo project', () => {
  const runs = new Map<string, PlayerRun>();
  let project: string;
  let stateDir: string;

  beforeAll(async () => {
    project = (await copyDemoProject(join(tmp, 'project'))).dir;
    stateDir = join(tmp, 'state');
    for (const step of DEMO_STEPS) {
      // No DEMO_AGENT_PERSONA: the player tells the CLI from the argv shape alone.
      runs.set(
        `${step.persona}-${step.role}`,
        await runPlayer(stepArgs(step, project), { cwd: project, env: { DEMO_STATE_DIR: stateDir } }),
      );
    }
  }, 60_000);

  it.each(DEMO_STEPS.map((s) => [`${s.persona}-${s.role}`, s] as const))(
    '%s exits 0 and its output parses cleanly',
    (key, step) => {
      const run = runs.get(key) as PlayerRun;
      expect(run.exitCode, run.stderr).toBe(0);
      const payloads = parsed(step.persona, run);
      expect(payloads[0]).toMatchObject({ kind: 'init' });
      expect(payloads.at(-1)).toMatchObject({ kind: 'result', ok: true });
      expect(run.stdout).not.toMatch(/\{\{[A-Z_]+\}\}/);
      // Paths are absolute, as the real CLIs print them (codex reviewers name no path).
      if (!(step.persona === 'codex' && 'target' in step)) expect(run.stdout).toContain(project);
    },
  );

  it('prints stderr lines like the real CLIs', () => {
    expect(runs.get('codex-verifier')?.stderr).toContain('Reading additional input from stdin...');
    expect(runs.get('gemini-architect')?.stderr).toContain('YOLO mode is enabled');
  });

  it('really changes the project: design, slugify, tests, README; and the tests pass', async () => {
    expect(readFileSync(join(project, 'ARCHITECTURE.md'), 'utf8')).toContain('slugify');
    expect(readFileSync(join(project, 'src/text.js'), 'utf8')).toMatch(/export function slugify\(text\)/);
    expect(readFileSync(join(project, 'test/text.test.js'), 'utf8')).toContain("describe('slugify'");
    expect(readFileSync(join(project, 'README.md'), 'utf8')).toContain('slugify(text)');
    const test = await execa(process.execPath, ['--test'], { cwd: project, reject: false });
    expect(test.exitCode, test.stdout + test.stderr).toBe(0);
    expect(test.stdout).toMatch(/pass 9/);
    const { slugify } = (await import(join(project, 'src/text.js'))) as { slugify: (t: string) => string };
    expect(slugify('Crème Brûlée: 10 Recipes!')).toBe('creme-brulee-10-recipes');
  });

  it('gives each launch its own session id (codex: a time-ordered thread id)', () => {
    const ids = [...runs.values()]
      .map((run) => JSON.parse(run.stdout.split('\n')[0] as string) as Record<string, string>)
      .map((o) => o.session_id ?? o.thread_id);
    expect(new Set(ids).size).toBe(ids.length);
    const codex = JSON.parse(runs.get('codex-verifier')?.stdout.split('\n')[0] as string) as { thread_id: string };
    expect(codex.thread_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('a resumed launch keeps the session id and re-states the final message', async () => {
    const first = JSON.parse(runs.get('claude-implementer')?.stdout.split('\n')[0] as string) as { session_id: string };
    const args = BUILDERS.claude({
      prompt: renderContinuePrompt('resume'),
      targetDir: project,
      includeDirs: [],
      fixes: {},
      resume: { agentSessionId: first.session_id },
    }).args;
    const run = await runPlayer(args, { cwd: project, env: { DEMO_STATE_DIR: stateDir } });
    expect(run.exitCode, run.stderr).toBe(0);
    const payloads = parsed('claude', run);
    expect(payloads[0]).toMatchObject({ kind: 'init', agentSessionId: first.session_id });
    expect(payloads.find((p) => p.kind === 'result')).toMatchObject({
      ok: true,
      text: expect.stringContaining('slugify'),
    });
  });

  it.each(['codex', 'gemini'] as const)('a %s reviewer asked again answers with the bare verdict', async (persona) => {
    const key = `${persona}-reviewer-implementer`;
    const line = JSON.parse(runs.get(key)?.stdout.split('\n')[0] as string) as Record<string, string>;
    const id = (line.thread_id ?? line.session_id) as string;
    const args = BUILDERS[persona]({
      prompt: renderStrictVerdictRequest(),
      targetDir: project,
      includeDirs: [],
      fixes: {},
      resume: { agentSessionId: id },
      readOnly: true,
    }).args;
    const run = await runPlayer(args, { cwd: project, env: { DEMO_STATE_DIR: stateDir } });
    expect(run.exitCode, run.stderr).toBe(0);
    const payloads = parsed(persona, run);
    expect(payloads[0]).toMatchObject({ kind: 'init', agentSessionId: id });
    const text = payloads
      .filter((p) => p.kind === 'message' && p.role === 'assistant')
      .map((p) => (p.kind === 'message' ? p.text : ''))
      .join('');
    expect(text.trim().startsWith('{')).toBe(true);
    expect(extractVerdict(text)?.verdict).toBe(persona === 'codex' ? 'concern' : 'approve');
  });
});

describe('failures and signals', () => {
  it('exits 2 with a message when it cannot tell the persona or the role', async () => {
    const noPersona = await runPlayer(['--help'], { cwd: tmp });
    expect(noPersona.exitCode).toBe(2);
    expect(noPersona.stderr).toMatch(/DEMO_AGENT_PERSONA/);
    const noRole = await runPlayer(
      BUILDERS.claude({ prompt: 'Say hello', targetDir: tmp, includeDirs: [], fixes: {} }).args,
      { cwd: tmp },
    );
    expect(noRole.exitCode).toBe(2);
    expect(noRole.stderr).toMatch(/cannot tell the role/);
    expect(noRole.stdout).toBe('');
    const noTranscript = await runPlayer(
      BUILDERS.claude({ prompt: rolePrompt('architect'), targetDir: tmp, includeDirs: [], fixes: {} }).args,
      { cwd: tmp },
    );
    expect(noTranscript.exitCode).toBe(2);
    expect(noTranscript.stderr).toMatch(/no recorded transcript for claude as architect/);
  });

  it('exits 143 promptly on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmp, 'sigterm-'));
    const child = spawn(process.execPath, ['--import', TSX_LOADER, PLAYER, ...stepArgs(DEMO_STEPS[2], dir)], {
      cwd: dir,
      env: { ...process.env, DEMO_AGENT_SPEED: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    const killedAt = Date.now();
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(code).toBe(143);
    expect(Date.now() - killedAt).toBeLessThan(1500);
  });
});

describe('directives (in-process)', () => {
  async function play(lines: string[], env: Record<string, string> = {}) {
    const dir = mkdtempSync(join(tmp, 'directives-'));
    mkdirSync(join(dir, 'transcripts'));
    writeFileSync(join(dir, 'transcripts', 'codex-verifier.jsonl'), lines.join('\n'));
    const out: string[] = [];
    const err: string[] = [];
    const slept: number[] = [];
    const code = await runRecordedAgent({
      argv: ['exec', '--json', '-C', join(dir, 'work'), rolePrompt('verifier')],
      env: { DEMO_TRANSCRIPTS_DIR: join(dir, 'transcripts'), DEMO_STATE_DIR: join(dir, 'state'), ...env },
      cwd: dir,
      stdout: async (text) => void out.push(text),
      stderr: (text) => void err.push(text),
      sleep: async (ms) => void slept.push(ms),
    });
    return { code, out, err: err.join(''), slept, dir };
  }

  it('prints lines one write each, scales sleeps, and writes and appends under the work dir', async () => {
    const { code, out, slept, dir } = await play(
      [
        '{"type":"thread.started","thread_id":"{{SESSION_ID}}"}',
        '{"_demo":{"sleepMs":400}}',
        '{"_demo":{"write":{"path":"notes/a.txt","content":"one\\n"}}}',
        '{"_demo":{"append":{"path":"notes/a.txt","content":"two\\n"}}}',
        '',
        '{"type":"item.completed","item":{"id":"item_0","type":"agent_message","text":"cwd={{CWD}} model={{MODEL}}"}}',
      ],
      { DEMO_AGENT_SPEED: '0.5' },
    );
    expect(code).toBe(0);
    expect(out).toHaveLength(2);
    expect(out.every((chunk) => chunk.endsWith('\n') && chunk.indexOf('\n') === chunk.length - 1)).toBe(true);
    expect(out[1]).toContain(`cwd=${join(dir, 'work')} model=gpt-5.5`);
    expect(slept).toEqual([200]);
    expect(readFileSync(join(dir, 'work', 'notes/a.txt'), 'utf8')).toBe('one\ntwo\n');
  });

  it('does not sleep at speed 0, and refuses a path outside the work dir', async () => {
    const ok = await play(['{"_demo":{"sleepMs":400}}', '{"type":"turn.started"}'], { DEMO_AGENT_SPEED: '0' });
    expect(ok.slept).toEqual([]);
    const escaped = await play(['{"_demo":{"write":{"path":"../escaped.txt","content":"x"}}}']);
    expect(escaped.code).toBe(2);
    expect(escaped.err).toMatch(/outside the working directory/);
    expect(existsSync(join(escaped.dir, 'escaped.txt'))).toBe(false);
    const bad = await play(['{"_demo":{"explode":true}}']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/unknown directive/);
  });
});
