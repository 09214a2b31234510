/**
 * The real-agent suite's versions (test/real-agents/support/install.ts) and its run log
 * (scripts/real-agents/record.ts): pure parts, tested here because the suite itself needs the real CLIs.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendRunRecord, runRecord } from '../../scripts/real-agents/record.js';
import { installDir, PINNED, requestedVersions, resolveVersions, versionsVar } from '../real-agents/support/install.js';

const VAR = 'ORCHESTRATOR_REAL_AGENTS_VERSIONS';

describe('ORCHESTRATOR_REAL_AGENTS_VERSIONS', () => {
  it('overrides the pins it names; the others stay pinned', () => {
    const pinned = { opencode: PINNED.opencode.version, qwen: PINNED.qwen.version };
    expect(requestedVersions({})).toEqual({
      claude: PINNED.claude.version,
      codex: PINNED.codex.version,
      gemini: PINNED.gemini.version,
      ...pinned,
    });
    expect(requestedVersions({ [VAR]: 'claude@latest, codex@0.171.0, qwen@0.25.0' })).toEqual({
      claude: 'latest',
      codex: '0.171.0',
      gemini: PINNED.gemini.version,
      opencode: PINNED.opencode.version,
      qwen: '0.25.0',
    });
  });

  it.each([
    ['codex', '"codex" is not AGENT@VERSION'],
    ['copilot@1.0.0', 'unknown agent "copilot" (use claude, codex, gemini, opencode, qwen)'],
    ['claude@1.2', '"1.2" for claude is neither a version nor an npm dist-tag'],
  ])('refuses %s by name', (value, message) => {
    expect(() => requestedVersions({ [VAR]: value })).toThrow(message);
  });

  it('resolves dist-tags to exact versions once; the cache folder needs them exact', () => {
    const asked: string[] = [];
    const exact = resolveVersions(
      requestedVersions({ [VAR]: 'claude@latest,gemini@0.62.1' }),
      (spec) => (asked.push(spec), '2.1.340'),
    );
    expect(asked).toEqual(['@anthropic-ai/claude-code@latest']);
    const { opencode, qwen } = { opencode: PINNED.opencode.version, qwen: PINNED.qwen.version };
    expect(exact).toEqual({ claude: '2.1.340', codex: PINNED.codex.version, gemini: '0.62.1', opencode, qwen });
    const env = { [VAR]: versionsVar(exact), ORCHESTRATOR_REAL_AGENTS_CACHE: '/cache' };
    expect(installDir(env)).toBe(
      `/cache/claude-2.1.340_codex-${PINNED.codex.version}_gemini-0.62.1_opencode-${opencode}_qwen-${qwen}`,
    );
    expect(() => installDir({ [VAR]: 'claude@latest' })).toThrow('claude@latest is a dist-tag');
  });
});

describe('the run log', () => {
  const facts = {
    date: new Date('2026-12-06T10:00:00Z'),
    versions: { claude: '2.1.340', codex: '0.171.0', gemini: '0.61.0' },
    node: 'v24.21.0',
    root: true,
    counts: { numPassedTests: 55, numFailedTests: 2, numPendingTests: 0 },
    seconds: 101,
    exitCode: 1,
    subset: false,
  };

  it('one row: date, exact versions, node, counts (failures in bold), duration', () => {
    expect(runRecord(facts)).toBe(
      '| 2026-12-06 | claude 2.1.340, codex 0.171.0, gemini 0.61.0 | ' +
        'v24.21.0, root | 55 passed, **2 failed** | 101 s |',
    );
    expect(runRecord({ ...facts, root: false, counts: null, subset: true, exitCode: null })).toBe(
      '| 2026-12-06 | claude 2.1.340, codex 0.171.0, gemini 0.61.0 | ' +
        'v24.21.0 | no report (exit killed) (a subset) | 101 s |',
    );
  });

  it("is appended at the end of the table under '## Run log', the rest of the document untouched", () => {
    const dir = mkdtempSync(join(tmpdir(), 'run-log-'));
    try {
      const path = join(dir, 'compatibility.md');
      writeFileSync(path, '# C\n\n## Run log\n\ntext\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n## Next\n\n| x |\n|---|\n');
      appendRunRecord(path, '| 3 | 4 |');
      expect(readFileSync(path, 'utf8')).toBe(
        '# C\n\n## Run log\n\ntext\n\n| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |\n\n## Next\n\n| x |\n|---|\n',
      );
      expect(() => appendRunRecord(join(dir, 'compatibility.md').replace('compatibility', 'missing'), 'x')).toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('docs/compatibility.md has the section and its table', () => {
    const doc = readFileSync(new URL('../../docs/compatibility.md', import.meta.url), 'utf8');
    expect(doc).toMatch(/^## Run log\n[\s\S]*?\n\| date \| versions \| node \| result \| duration \|\n\|---/m);
  });
});
