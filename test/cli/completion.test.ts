/**
 * Shell completion as a person meets it: session ids come from the workspace the command line names
 * (--workspace DIR, --workspace=DIR, ~/DIR), else $ORCHESTRATOR_WORKSPACE, else ./.orchestrator; after
 * `completion` come the shell names. Runs the generated bash script in real bash (no network, no agents).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from '../support/orchestrate.js';

const script = (shell: string) => spawnSync(process.execPath, [CLI, 'completion', shell], { encoding: 'utf8' }).stdout;

let home: string;
let cwd: string;
const NAMED = 'orch_20261121_093000_ab12';
const FROM_ENV = 'orch_20261121_093000_cd34';
const DEFAULT = 'orch_20261121_093000_ef56';

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'orch-completion-'));
  mkdirSync(join(home, 'named', 'sessions', NAMED), { recursive: true });
  mkdirSync(join(home, 'from-env', 'sessions', FROM_ENV), { recursive: true });
  cwd = join(home, 'repo');
  mkdirSync(join(cwd, '.orchestrator', 'sessions', DEFAULT), { recursive: true });
});

afterAll(() => rmSync(home, { recursive: true, force: true }));

/** COMPREPLY for the words typed so far (the last one is the word being completed), run in `cwd`. */
function complete(words: string[], env: Record<string, string> = {}): string[] {
  const bash = script('bash');
  const program =
    `${bash}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); ` +
    `COMP_CWORD=${words.length - 1}; _orchestrate; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const result = spawnSync('bash', ['-c', program], {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: home, ...env },
  });
  expect(result.status, result.stderr).toBe(0);
  return result.stdout.split('\n').filter(Boolean);
}

describe('bash completion of session ids', () => {
  it('uses the --workspace given on the command line', () => {
    expect(complete(['orchestrate', 'status', '--workspace', join(home, 'named'), 'orch_'])).toEqual([NAMED]);
    expect(complete(['orchestrate', 'logs', '--workspace', join(home, 'named'), ''])).toContain(NAMED);
    // bash splits --workspace=DIR into three words.
    expect(complete(['orchestrate', 'resume', '--workspace', '=', join(home, 'named'), 'orch_'])).toEqual([NAMED]);
    expect(complete(['orchestrate', 'status', '--workspace', '~/named', 'orch_'])).toEqual([NAMED]);
  });

  it('without one: $ORCHESTRATOR_WORKSPACE, else ./.orchestrator', () => {
    expect(complete(['orchestrate', 'status', 'orch_'], { ORCHESTRATOR_WORKSPACE: join(home, 'from-env') })).toEqual([
      FROM_ENV,
    ]);
    expect(complete(['orchestrate', 'status', 'orch_'])).toEqual([DEFAULT]);
  });

  it('session ids only, not the files of the current folder; parse completes files', () => {
    writeFileSync(join(cwd, 'notes.txt'), 'x');
    expect(complete(['orchestrate', 'status', ''])).toEqual([DEFAULT]);
    expect(complete(['orchestrate', 'parse', 'no'])).toEqual(['notes.txt']);
  });

  it('--workspace itself completes folders', () => {
    expect(complete(['orchestrate', 'status', '--workspace', `${home}/na`])).toEqual([join(home, 'named')]);
  });
});

describe('completion of `orchestrate completion`', () => {
  it('bash (and zsh, which uses the bash script) complete the shell names', () => {
    expect(complete(['orchestrate', 'completion', ''])).toEqual(['bash', 'zsh', 'fish']);
    expect(complete(['orchestrate', 'completion', 'f'])).toEqual(['fish']);
    expect(script('zsh')).toContain(script('bash'));
  });

  it('fish completes the shell names', () => {
    expect(script('fish')).toContain(
      "complete -c orchestrate -f -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'",
    );
  });
});

describe('parse --agent', () => {
  it('completes the agent names', () => {
    expect(complete(['orchestrate', 'parse', '--agent', ''])).toEqual([
      'claude',
      'codex',
      'gemini',
      'opencode',
      'qwen',
      'acp',
    ]);
  });
});
