/** The demo's launchers (one executable per agent CLI) and the git copy of the demo project. */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGeminiLine } from '../../src/agents/gemini.js';
import { copyDemoProject, demoAgentModulePath, writeDemoLaunchers } from '../../src/demo/launchers.js';
import { DEMO_PROJECT_DIR } from '../../src/demo/paths.js';
import { badPayloads, DEMO_STEPS, PLAYER, stepArgs, TSX_LOADER } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'demo-launchers-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// Under vitest the player is TypeScript: the launchers import src/demo/recorded-agent.ts, with tsx preloaded.
const TSX_ENV = { NODE_OPTIONS: `--import=${TSX_LOADER}`, DEMO_AGENT_SPEED: '0' };

describe('writeDemoLaunchers', () => {
  it('writes one executable #!node script per persona that imports the player', () => {
    const dir = join(tmp, 'bin');
    const paths = writeDemoLaunchers(dir, '/opt/node/bin/node');
    expect(Object.keys(paths).sort()).toEqual(['claude', 'codex', 'gemini']);
    for (const [persona, path] of Object.entries(paths)) {
      expect(path).toBe(join(dir, persona));
      expect(statSync(path).mode & 0o777).toBe(0o755);
      const text = readFileSync(path, 'utf8');
      expect(text.startsWith('#!/opt/node/bin/node\n')).toBe(true);
      expect(text).toContain(`process.env.DEMO_AGENT_PERSONA = "${persona}";`);
      expect(text).toContain('file://');
      expect(text).toContain('recorded-agent.js');
    }
  });

  it('points at the built player, an entry point of `npm run build`', () => {
    expect(demoAgentModulePath()).toBe(join(ROOT, 'dist', 'demo', 'recorded-agent.js'));
    expect(existsSync(demoAgentModulePath())).toBe(true);
  });

  it('a launcher given --help-like garbage exits 2 with an error message', async () => {
    const paths = writeDemoLaunchers(join(tmp, 'bin-help'), process.execPath, PLAYER);
    const run = await execa(paths.claude, ['--help', '--bogus'], {
      cwd: tmp,
      env: TSX_ENV,
      reject: false,
      stdin: 'ignore',
    });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/recorded-agent \(claude\): no prompt/);
    expect(run.stdout).toBe('');
  });

  it('a launcher plays its persona, even under a "type": "module" package', async () => {
    const dir = join(tmp, 'esm');
    const paths = writeDemoLaunchers(join(dir, 'bin'), process.execPath, PLAYER);
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
    const project = (await copyDemoProject(join(dir, 'project'))).dir;
    const run = await execa(paths.gemini, stepArgs(DEMO_STEPS[0], project), {
      cwd: project,
      env: TSX_ENV,
      reject: false,
      stdin: 'ignore',
    });
    expect(run.exitCode, run.stderr).toBe(0);
    const payloads = run.stdout.split('\n').flatMap((line) => parseGeminiLine(line));
    expect(badPayloads(payloads)).toEqual([]);
    expect(payloads.at(-1)).toMatchObject({ kind: 'result', ok: true });
    expect(existsSync(join(project, 'ARCHITECTURE.md'))).toBe(true);
  });
});

describe('copyDemoProject', () => {
  it('copies the example project into a git repository with one clean commit', async () => {
    const copy = await copyDemoProject(join(tmp, 'copy'));
    expect(copy).toEqual({ dir: join(tmp, 'copy'), git: true });
    for (const file of ['package.json', 'README.md', 'src/text.js', 'test/text.test.js']) {
      expect(readFileSync(join(copy.dir, file), 'utf8')).toBe(readFileSync(join(DEMO_PROJECT_DIR, file), 'utf8'));
    }
    const git = (...args: string[]) => execa('git', args, { cwd: copy.dir });
    expect((await git('rev-list', '--count', 'HEAD')).stdout).toBe('1');
    expect((await git('log', '-1', '--format=%s|%an')).stdout).toBe('demo project|orchestrate demo');
    expect((await git('status', '--porcelain')).stdout).toBe('');
    const tests = await execa(process.execPath, ['--test'], { cwd: copy.dir, reject: false });
    expect(tests.exitCode, tests.stdout).toBe(0);
  });

  it('still copies, and says so, when git is missing', async () => {
    const path = process.env.PATH;
    process.env.PATH = join(tmp, 'no-such-bin');
    try {
      const copy = await copyDemoProject(join(tmp, 'copy-nogit'));
      expect(copy.git).toBe(false);
      expect(copy.note).toMatch(/git/);
      expect(existsSync(join(copy.dir, 'src/text.js'))).toBe(true);
      expect(existsSync(join(copy.dir, '.git'))).toBe(false);
    } finally {
      process.env.PATH = path;
    }
  });
});
