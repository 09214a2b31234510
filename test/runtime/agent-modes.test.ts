/**
 * The mode of workers that name none, decided at create from the installed CLI (src/runtime/agent-modes.ts): the
 * version from the npm package's package.json (no process), else from `--version` (the fake agent, which says the
 * pinned versions when run under a CLI's name, test/fixtures/bin).
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getAdapter } from '../../src/agents/registry.js';
import { SessionSpecSchema } from '../../src/domain/spec.js';
import { agentVersion, withModes } from '../../src/runtime/agent-modes.js';
import { FAKE_AGENT } from '../support/fake-agent.js';

const root = mkdtempSync(join(tmpdir(), 'orch-modes-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const BIN = join(import.meta.dirname, '..', 'fixtures', 'bin');

const spec = (workers: object[]) => SessionSpecSchema.parse({ task: 't', workers });

describe('agentVersion', () => {
  it("reads an npm-installed CLI's package.json, through the bin symlink, without running it", async () => {
    const pkg = join(root, 'lib', 'node_modules', '@anthropic-ai', 'claude-code');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: '@anthropic-ai/claude-code', version: '2.2.0' }));
    // Run, it would say something else and fail: the version must come from the package.
    writeFileSync(join(pkg, 'cli.js'), '#!/bin/sh\necho 0.0.1\nexit 3\n');
    chmodSync(join(pkg, 'cli.js'), 0o755);
    mkdirSync(join(root, 'bin'), { recursive: true });
    symlinkSync(join(pkg, 'cli.js'), join(root, 'bin', 'claude'));
    expect(await agentVersion(getAdapter('claude'), join(root, 'bin', 'claude'), process.env)).toBe('2.2.0');
  });

  it('else asks the binary for --version', async () => {
    expect(await agentVersion(getAdapter('codex'), join(BIN, 'codex'), process.env)).toBe('codex-cli 0.169.0');
    expect(await agentVersion(getAdapter('claude'), FAKE_AGENT, process.env)).toBeNull();
    expect(await agentVersion(getAdapter('claude'), join(root, 'missing'), process.env)).toBeNull();
  });
});

describe('withModes', () => {
  const env = (vars: Record<string, string>) => ({ ...process.env, ...vars });

  it('gives workers that name no mode interactive mode where the installed CLI is tested with it', async () => {
    const { spec: decided, notes } = await withModes(
      spec([
        { id: 'a', agent: 'claude', role: 'implementer' },
        { id: 'b', agent: 'gemini', role: 'verifier', mode: 'exec' },
      ]),
      env({ ORCHESTRATOR_CLAUDE_BIN: join(BIN, 'claude'), ORCHESTRATOR_GEMINI_BIN: join(BIN, 'gemini') }),
    );
    expect(decided.workers.map((w) => [w.id, w.mode])).toEqual([
      ['a', 'interactive'],
      ['b', 'exec'],
    ]);
    expect(notes).toEqual([]);
  });

  it('falls back to exec for an older CLI, and logs it as a safety warning', async () => {
    // Another path to the fake codex (versions are cached per binary), claiming an older version.
    mkdirSync(join(root, 'old'));
    symlinkSync(join(BIN, 'codex'), join(root, 'old', 'codex'));
    const { spec: decided, notes } = await withModes(
      spec([{ id: 'a', agent: 'codex', role: 'implementer' }]),
      env({ ORCHESTRATOR_CODEX_BIN: join(root, 'old', 'codex'), FAKE_AGENT_VERSION: '0.120.0' }),
    );
    expect(decided.workers[0]?.mode).toBe('exec');
    expect(notes).toEqual([
      expect.objectContaining({
        type: 'safety',
        rule: 'exec-mode',
        action: 'warn',
        subject: 'codex 0.120.0',
        detail: expect.stringMatching(/older than 0\.169\.0.*exec mode, acting without asking/),
      }),
    ]);
  });

  it('runs exec quietly when the version cannot be read (an agent launched by path), or when told to', async () => {
    const byPath = await withModes(
      spec([{ id: 'a', agent: 'claude', role: 'implementer' }]),
      env({ ORCHESTRATOR_CLAUDE_BIN: FAKE_AGENT }),
    );
    expect([byPath.spec.workers[0]?.mode, byPath.notes]).toEqual(['exec', []]);
    const recorded = await withModes(
      spec([{ id: 'a', agent: 'claude', role: 'implementer' }]),
      env({ ORCHESTRATOR_CLAUDE_BIN: join(BIN, 'claude') }),
      'exec',
    );
    expect(recorded.spec.workers[0]?.mode).toBe('exec');
  });
});
