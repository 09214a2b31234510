/**
 * The dashboard's Changes view in a real browser (Debian's Chromium, headless) against a real server and
 * sessions of fake agents on a real git repository, so each worker gets its own checkout and branch: the
 * session's result and one worker's change (files with +/- counts, the diff drawn by diff2html and coloured by
 * highlight.js), a reviewer's issue pinned at its file:line, Apply and Discard after their confirmation (checked
 * in the target repository itself), a session in place, and a merge conflict answered with an agent.
 * Screenshots: test-results/browser/changes*.png, conflict.png.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionSpecInput } from '../../src/domain/spec.js';
import { gitIn, makeRepo } from '../support/git-repo.js';
import { SCREENSHOTS, startHarness, type BrowserHarness } from './harness.js';

const UTIL = Array.from({ length: 30 }, (_, i) => `export const v${i + 1} = ${i + 1};`).join('\n') + '\n';
const GREET = 'export function greet(name: string): string {\n  return `hello ${name}`;\n}\n';
const USAGE = '# Usage\n\n```sh\nnpx greet world\n```\n';

const ISSUES = [
  { severity: 'concern', file: 'src/greet.ts', line: 2, message: 'Say what greet returns for an empty name.' },
  { severity: 'nit', file: 'src/util.ts', line: 3, message: 'v3 could be derived from v1 and v2.' },
  { severity: 'nit', file: 'README.md', message: 'Mention greet in the README.' },
];

const FAKE_CONFIG = {
  rules: [
    // One concern: the decision is LOG_WARNING and the session goes on to its result.
    {
      match: { promptIncludes: 'You are a REVIEWER' },
      scenario: {
        delayMs: 20,
        lines: 1,
        verdict: { verdict: 'concern', summary: 'Works; two things to tidy.', issues: ISSUES },
      },
    },
    // CONFLICT-TASK: both workers change the same line of src/util.ts, each its own way.
    {
      match: { promptIncludes: 'CONFLICT-TASK', agent: 'codex' },
      scenario: {
        delayMs: 20,
        lines: 1,
        writeFiles: [{ path: 'src/util.ts', content: UTIL.replace('v20 = 20', 'v20 = 3000') }],
      },
    },
    {
      match: { agent: 'codex' },
      scenario: { delayMs: 20, lines: 1, writeFiles: [{ path: 'docs/usage.md', content: USAGE }] },
    },
  ],
  default: {
    delayMs: 20,
    lines: 1,
    writeFiles: [
      { path: 'src/greet.ts', content: GREET },
      { path: 'src/util.ts', content: UTIL.replace('v20 = 20', 'v20 = 2000') },
    ],
  },
};

const SPEC: SessionSpecInput = {
  task: 'Add a greeting helper and document it',
  sandbox: 'none',
  workers: [
    { id: 'implementer', agent: 'claude', role: 'implementer' },
    { id: 'docs', agent: 'codex', role: 'implementer' },
  ],
  reviews: [{ reviewer: 'gemini', target: 'implementer', focus: 'implementation' }],
  review: { maxRounds: 1 },
};

/** The little of the DOM the page callbacks below use (tsconfig has no DOM lib; these run in the page). */
interface PageElement {
  dataset: Record<string, string | undefined>;
  textContent: string | null;
  previousElementSibling: PageElement | null;
  querySelector(selector: string): PageElement | null;
}

/** Runs in every page before its scripts: the CSP violations it meets (the Changes view must need none). */
const RECORD_CSP = `window.cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) =>
  window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI),
);`;

let h: BrowserHarness;
const repos: string[] = [];
beforeAll(async () => {
  h = await startHarness(FAKE_CONFIG, 'changes');
  await h.context.addInitScript(RECORD_CSP);
}, 30_000);
afterAll(async () => {
  await h?.close();
  for (const dir of repos) rmSync(dir, { recursive: true, force: true });
}, 30_000);

const poll = <T>(fn: () => T | Promise<T>, options: { timeout?: number } = {}) =>
  expect.poll(fn, { timeout: options.timeout ?? 10_000, interval: 50 });
const changes = (page: Page) => page.locator('#changes');
const fileRow = (page: Page, path: string) => changes(page).locator(`.file-list > li[data-file="${path}"]`);
const wrapper = (page: Page, path: string) => changes(page).locator(`.d2h-file-wrapper[data-file="${path}"]`);
const refsOf = (repo: string) => gitIn(repo, 'for-each-ref', 'refs/orch', 'refs/heads/orch');

/** A git repository to work on, and a session of SPEC (or `spec`) on it that has run to its end. */
async function finishedSession(
  spec: SessionSpecInput = SPEC,
  end = 'completed',
): Promise<{ sid: string; repo: string }> {
  const repo = makeRepo({ 'README.md': '# greeter\n', 'src/util.ts': UTIL });
  repos.push(repo);
  const runtime = await h.start(spec, repo);
  expect(await runtime.waitForEnd()).toBe(end);
  return { sid: runtime.sessionId, repo };
}

/**
 * The first two tests look at the same finished session: the first only reads it, the second applies and
 * discards it (one session run fewer).
 */
let sharedSession: Promise<{ sid: string; repo: string }> | null = null;
const sharedFinishedSession = () => (sharedSession ??= finishedSession());

/** The Changes view has drawn what it was asked for last (no load scheduled or running). */
async function settled(page: Page): Promise<void> {
  await page.locator('#changes:not([aria-busy])').waitFor();
}

async function openChanges(sid: string): Promise<Page> {
  const page = await h.open(`/#/sessions/${sid}`);
  await page.locator('#changes-panel').waitFor();
  return page;
}

/** The file list as [path, status letter, "+a −d"]. */
async function listedFiles(page: Page): Promise<string[][]> {
  return changes(page)
    .locator('.file-list > li')
    .evaluateAll((rows) =>
      (rows as PageElement[]).map((r) => [
        r.dataset.file ?? '',
        r.querySelector('.file-status')?.textContent ?? '',
        r.querySelector('.file-counts')?.textContent?.replace(/(\d)(−)/, '$1 $2') ?? '',
      ]),
    );
}

/** The +/- counts a line shows, as ["+a", "−d", "n files"]. */
function countsOf(counts: Locator): Promise<string[]> {
  return counts.locator(':scope > span').allTextContents();
}

async function cspViolations(page: Page): Promise<string[]> {
  return (await page.evaluate('window.cspViolations')) as string[];
}

describe('the Changes view', () => {
  it("shows the session's result and one worker's change: files with +/- counts, " +
    'the diff drawn and highlighted, review issues pinned at their lines', async () => {
    const { sid } = await sharedFinishedSession();
    const page = await openChanges(sid);
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));

    // Base and result, with its status.
    await poll(() => changes(page).locator('[data-field="base"]').textContent()).toMatch(/Base\s*main @ [0-9a-f]{12}/);
    const result = changes(page).locator('[data-field="result"]');
    await poll(() => result.textContent()).toContain(`orch/${sid}/_result`);
    expect(await result.locator('.pill').textContent()).toBe('done');
    expect(await countsOf(result.locator('.counts'))).toEqual(['+9', '−1', '3 files']);

    // The whole session: its three files with their counts, each drawn by diff2html.
    await poll(() => listedFiles(page)).toEqual([
      ['docs/usage.md', 'A', '+5 −0'],
      ['src/greet.ts', 'A', '+3 −0'],
      ['src/util.ts', 'M', '+1 −1'],
    ]);
    await poll(() => changes(page).locator('.d2h-file-wrapper').count()).toBe(3);
    expect(await changes(page).locator('[data-scope="session"]').getAttribute('aria-pressed')).toBe('true');
    // highlight.js coloured the TypeScript: `export` and `function` are keywords.
    const greet = wrapper(page, 'src/greet.ts');
    expect(await greet.getAttribute('data-lang')).toBe('ts');
    expect(await greet.locator('.d2h-code-line-ctn.hljs').count()).toBe(3);
    expect(await greet.locator('.hljs-keyword').allTextContents()).toEqual(
      expect.arrayContaining(['export', 'function']),
    );
    // The modified file shows its context and the changed line, old and new.
    expect(await wrapper(page, 'src/util.ts').locator('.d2h-del .d2h-code-line-ctn').textContent()).toContain(
      'v20 = 20',
    );
    expect(await wrapper(page, 'src/util.ts').locator('.d2h-ins .d2h-code-line-ctn').textContent()).toContain(
      'v20 = 2000',
    );

    // The reviewer's concern sits right under line 2 of src/greet.ts (the new side's numbering).
    const pin = greet.locator('tr.orch-issue-row[data-issue-line="2"]');
    await pin.waitFor();
    expect(await pin.textContent()).toContain('Say what greet returns for an empty name.');
    expect(await pin.textContent()).toContain('gemini');
    expect(await pin.getAttribute('data-severity')).toBe('concern');
    expect(
      await pin.evaluate((row) =>
        (row as unknown as PageElement).previousElementSibling?.querySelector('.line-num2')?.textContent?.trim(),
      ),
    ).toBe('2');
    // Line 3 of src/util.ts is not in the diff: listed under the file instead. README.md is not in it at all.
    const outside = wrapper(page, 'src/util.ts').locator('.orch-issues-outside');
    expect(await outside.textContent()).toContain('line 3');
    expect(await outside.textContent()).toContain('v3 could be derived from v1 and v2.');
    expect(await changes(page).locator('.issues-elsewhere').textContent()).toContain('README.md');
    expect(await fileRow(page, 'src/greet.ts').locator('[data-field="issues"]').textContent()).toBe('1 issue');

    // Each worker's card shows its branch and what it changed there.
    const implementerBranch = page.locator('[data-worker="implementer"].card [data-field="branch"]');
    expect(await implementerBranch.getAttribute('data-branch')).toBe(`orch/${sid}/implementer`);
    expect(await countsOf(implementerBranch.locator('[data-field="change"]'))).toEqual(['+4', '−1', '2 files']);
    expect(await countsOf(page.locator('[data-worker="docs"].card [data-field="change"]'))).toEqual([
      '+5',
      '−0',
      '1 file',
    ]);
    expect(await page.locator('[data-worker="r1-gemini-implementer"].card [data-field="branch"]').isHidden()).toBe(
      true,
    );

    // The workspace events read as sentences in the log.
    const workspaceRows = page.locator('[data-log] > li[data-type="workspace"]');
    await poll(() =>
      workspaceRows.evaluateAll((rows) => [...new Set((rows as PageElement[]).map((r) => r.dataset.kind))].sort()),
    ).toEqual(['base', 'checkout', 'commit', 'integrate']);
    expect(await page.locator('[data-log] > li[data-kind="integrate"] .text').textContent()).toContain(
      `the result is orch/${sid}/_result: 3 files, +9 -1`,
    );
    await h.screenshot(page, 'changes');

    // One worker, from its card: only its own change.
    await page.locator('[data-worker="docs"].card [data-action="changes"]').click();
    await poll(() => changes(page).locator('[data-scope="docs"]').getAttribute('aria-pressed')).toBe('true');
    await poll(() => listedFiles(page)).toEqual([['docs/usage.md', 'A', '+5 −0']]);
    await poll(() => changes(page).locator('.d2h-file-wrapper').count()).toBe(1);
    // Markdown, highlighted as such.
    await poll(() => wrapper(page, 'docs/usage.md').locator('.hljs-section').count()).toBeGreaterThan(0);
    // The reviews were of the implementer: nothing pinned here.
    expect(await changes(page).locator('.orch-issue-row, .orch-issues-outside').count()).toBe(0);
    expect(await changes(page).locator('.issues-elsewhere').isHidden()).toBe(true);

    await changes(page).locator('[data-scope="implementer"]').click();
    await poll(() => listedFiles(page)).toEqual([
      ['src/greet.ts', 'A', '+3 −0'],
      ['src/util.ts', 'M', '+1 −1'],
    ]);
    await wrapper(page, 'src/greet.ts').locator('tr.orch-issue-row[data-issue-line="2"]').waitFor();
    // The review panel's file:line leads back to the pin.
    await page.locator('[data-round="round-1"] .issue .loc.link', { hasText: 'src/greet.ts:2' }).click();
    await poll(() => changes(page).locator('[data-scope="session"]').getAttribute('aria-pressed')).toBe('true');
    await wrapper(page, 'src/greet.ts').locator('tr.orch-issue-row.flash').waitFor();
    await changes(page).locator('[data-scope="implementer"]').click();
    await settled(page);
    expect(await listedFiles(page)).toEqual([
      ['src/greet.ts', 'A', '+3 −0'],
      ['src/util.ts', 'M', '+1 −1'],
    ]);
    await wrapper(page, 'src/greet.ts').locator('tr.orch-issue-row').waitFor();
    await page
      .locator('#changes-panel')
      .screenshot({ path: join(SCREENSHOTS, 'changes-worker.png'), animations: 'disabled' });
    // The same in the dark: diff2html's colours, highlight.js's dark theme and the page's follow the system.
    await page.emulateMedia({ colorScheme: 'dark' });
    await poll(() => page.evaluate('getComputedStyle(document.body).backgroundColor')).toBe('rgb(13, 17, 23)');
    await page
      .locator('#changes-panel')
      .screenshot({ path: join(SCREENSHOTS, 'changes-dark.png'), animations: 'disabled' });
    await page.emulateMedia({ colorScheme: 'light' });

    expect(await cspViolations(page)).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('applies the result after its confirmation (the files land in the checkout, uncommitted); ' +
    'a refused merge shows why; discards after its confirmation', async () => {
    const { sid, repo } = await sharedFinishedSession();
    const head = gitIn(repo, 'rev-parse', 'HEAD');
    const page = await openChanges(sid);
    await changes(page).locator('.d2h-file-wrapper').first().waitFor();
    const dialog = page.locator('#apply-dialog');

    // Cancelled: nothing happens.
    await changes(page).locator('[data-changes-action="apply"]').click();
    await dialog.waitFor({ state: 'visible' });
    expect(await dialog.locator('[data-field="title"]').textContent()).toBe("Apply the session's result?");
    expect(await dialog.locator('[data-field="what"]').textContent()).toContain(repo);
    expect(await dialog.locator('input[value="changes"]').isChecked()).toBe(true);
    await dialog.locator('button[value="cancel"]').click();
    await dialog.waitFor({ state: 'hidden' });
    expect(existsSync(join(repo, 'src/greet.ts'))).toBe(false);

    // Confirmed, as uncommitted changes (the default).
    await changes(page).locator('[data-changes-action="apply"]').click();
    await dialog.locator('[data-confirm="apply"]').click();
    const outcome = changes(page).locator('[data-changes-outcome]');
    await poll(() => outcome.getAttribute('data-changes-outcome')).toBe('applied');
    expect(await outcome.textContent()).toContain('Applied');
    expect(readFileSync(join(repo, 'src/greet.ts'), 'utf8')).toBe(GREET);
    expect(readFileSync(join(repo, 'docs/usage.md'), 'utf8')).toBe(USAGE);
    expect(gitIn(repo, 'rev-parse', 'HEAD')).toBe(head);
    expect(
      gitIn(repo, 'status', '--porcelain', '--untracked-files=all')
        .split('\n')
        .map((l) => l.trim())
        .sort(),
    ).toEqual(['?? docs/usage.md', '?? src/greet.ts', 'M src/util.ts']);
    await poll(() => page.locator('[data-log] > li[data-kind="apply"]').count()).toBe(1);
    await h.screenshot(page, 'changes-applied');

    // Merging as commits over those uncommitted changes is refused: the server's reason is on the page.
    await changes(page).locator('[data-changes-action="apply"]').click();
    await dialog.locator('input[value="merge"]').check();
    await dialog.locator('[data-confirm="apply"]').click();
    await poll(() => outcome.getAttribute('data-changes-outcome')).toBe('error');
    expect(await outcome.getAttribute('role')).toBe('alert');
    expect(await outcome.locator('[data-field="error"]').textContent()).toMatch(
      /^apply --merge would touch files with uncommitted changes \(.*src\/util\.ts.*\)/,
    );
    expect(gitIn(repo, 'rev-parse', 'HEAD')).toBe(head);

    // Discard: it was applied, so nothing is thrown away and no force is sent.
    const bodies: unknown[] = [];
    page.on('request', (request: Request) => {
      if (request.url().endsWith(`/api/v1/${sid}/discard`)) bodies.push(request.postDataJSON());
    });
    expect(refsOf(repo)).not.toBe('');
    await changes(page).locator('[data-changes-action="discard"]').click();
    const discard = page.locator('#discard-dialog');
    await discard.waitFor({ state: 'visible' });
    expect(await discard.locator('[data-field="what"]').textContent()).toContain(
      'What you applied stays in your checkout',
    );
    await discard.locator('[data-confirm="discard"]').click();
    await poll(() => outcome.getAttribute('data-changes-outcome')).toBe('discarded');
    expect(await outcome.textContent()).toContain(`discarded session ${sid}`);
    expect(bodies).toEqual([{ by: 'dashboard' }]);
    expect(refsOf(repo)).toBe('');
    // The view says so, and offers nothing more.
    await changes(page).locator('[data-changes-empty="discarded"]').waitFor();
    expect(await changes(page).locator('[data-changes-action="apply"]').isDisabled()).toBe(true);
    expect(await changes(page).locator('[data-changes-action="discard"]').isDisabled()).toBe(true);
    // What was applied stays.
    expect(readFileSync(join(repo, 'src/greet.ts'), 'utf8')).toBe(GREET);
    expect(await cspViolations(page)).toEqual([]);
    await page.close();
  }, 60_000);

  it('discarding work that was never applied says it is thrown away, and sends force', async () => {
    const { sid, repo } = await finishedSession({
      ...SPEC,
      workers: [{ id: 'implementer', agent: 'claude', role: 'implementer' }],
      reviews: [],
    });
    const page = await openChanges(sid);
    await changes(page).locator('.d2h-file-wrapper').first().waitFor();
    const bodies: unknown[] = [];
    page.on('request', (request: Request) => {
      if (request.url().endsWith(`/api/v1/${sid}/discard`)) bodies.push(request.postDataJSON());
    });
    await changes(page).locator('[data-changes-action="discard"]').click();
    const discard = page.locator('#discard-dialog');
    await discard.waitFor({ state: 'visible' });
    expect(await discard.locator('[data-field="title"]').textContent()).toBe("Throw this session's work away?");
    expect(await discard.locator('[data-field="what"]').textContent()).toMatch(
      /never applied: it will be thrown away for good\. Its changes \(2 files, \+4 −1\) are lost\./,
    );
    await h.screenshot(page, 'changes-discard');
    // Cancel first: the branches stay.
    await discard.locator('button[value="cancel"]').click();
    await discard.waitFor({ state: 'hidden' });
    expect(bodies).toEqual([]);
    expect(refsOf(repo)).not.toBe('');

    await changes(page).locator('[data-changes-action="discard"]').click();
    await discard.locator('[data-confirm="discard"]').click();
    await poll(() => changes(page).locator('[data-changes-outcome]').getAttribute('data-changes-outcome')).toBe(
      'discarded',
    );
    expect(bodies).toEqual([{ force: true, by: 'dashboard' }]);
    expect(refsOf(repo)).toBe('');
    expect(existsSync(join(repo, 'src/greet.ts'))).toBe(false);
    await page.close();
  }, 60_000);

  it('a session that worked in place shows why instead of a diff, and offers no apply or discard', async () => {
    // The harness's own target is a plain folder, not a repository.
    const runtime = await h.start({
      task: 'in place',
      sandbox: 'none',
      workers: [{ id: 'w1', agent: 'claude', role: 'implementer' }],
    });
    expect(await runtime.waitForEnd()).toBe('completed');
    const page = await openChanges(runtime.sessionId);
    const empty = changes(page).locator('[data-changes-empty="in-place"]');
    await empty.waitFor();
    expect(await empty.textContent()).toMatch(/This session worked in place: .*not a git repository/);
    expect(await changes(page).locator('.d2h-file-wrapper').count()).toBe(0);
    expect(await changes(page).locator('[data-changes-action="apply"]').isHidden()).toBe(true);
    expect(await changes(page).locator('[data-changes-action="discard"]').isHidden()).toBe(true);
    expect(await page.locator('.card [data-field="branch"]').first().isHidden()).toBe(true);
    await page.close();
  }, 40_000);

  it('a merge conflict shows its files and checkout; an agent picked on the page resolves it', async () => {
    const repo = makeRepo({ 'README.md': '# greeter\n', 'src/util.ts': UTIL });
    repos.push(repo);
    const runtime = await h.start(
      {
        task: 'CONFLICT-TASK change v20',
        sandbox: 'none',
        workers: [
          { id: 'left', agent: 'claude', role: 'implementer' },
          { id: 'right', agent: 'codex', role: 'implementer' },
        ],
      },
      repo,
    );
    const sid = runtime.sessionId;
    const page = await h.open(`/#/sessions/${sid}`);
    const blocker = page.locator('#blockers-open .blocker').first();
    await blocker.waitFor({ timeout: 20_000 });
    expect(await blocker.locator('.pill').first().textContent()).toBe('MERGE_CONFLICT');
    expect(await blocker.locator('[data-field="conflict-files"]').textContent()).toContain('src/util.ts');
    const dir = await blocker.locator('[data-field="conflict-dir"]').textContent();
    expect(dir).toContain(sid);
    expect(readFileSync(join(dir ?? '', 'src/util.ts'), 'utf8')).toContain('<<<<<<<');
    expect(
      await blocker
        .locator('button[data-choice]')
        .evaluateAll((bs) => (bs as unknown as Array<{ value: string }>).map((b) => b.value)),
    ).toEqual(['retry', 'agent', 'skip', 'stop']);
    // The picker offers the named agents (not the generic acp, which needs a command); the worker's own preselected.
    const picker = blocker.locator('select[name="agent"]');
    expect(
      await picker
        .locator('option')
        .evaluateAll((os) => (os as unknown as Array<{ value: string }>).map((o) => o.value)),
    ).toEqual(['claude', 'codex', 'gemini', 'opencode', 'qwen']);
    const own = await picker.inputValue();
    expect(['claude', 'codex']).toContain(own);
    await h.screenshot(page, 'conflict');

    // Pick the other worker's agent: its version of the line wins, which proves which agent ran.
    const chosen = own === 'codex' ? 'claude' : 'codex';
    const bodies: unknown[] = [];
    page.on('request', (request: Request) => {
      if (request.method() === 'POST' && request.url().includes(`/api/v1/${sid}/blockers/`))
        bodies.push(request.postDataJSON());
    });
    await picker.selectOption(chosen);
    await blocker.locator('[data-choice="agent"]').click();
    await poll(() => bodies).toEqual([{ choice: 'agent', agent: chosen, by: 'dashboard' }]);
    await poll(() => page.locator('#blockers-done .blocker-done [data-field="resolution"]').first().textContent(), {
      timeout: 15_000,
    }).toContain(`answered agent (${chosen}) by dashboard`);
    expect(await runtime.waitForEnd()).toBe('completed');
    await poll(() => page.locator('#s-state').getAttribute('data-state'), { timeout: 15_000 }).toBe('completed');
    await poll(() => changes(page).locator('[data-field="result"] .pill').textContent()).toBe('done');
    await poll(() => wrapper(page, 'src/util.ts').locator('.d2h-ins .d2h-code-line-ctn').textContent()).toContain(
      chosen === 'codex' ? 'v20 = 3000' : 'v20 = 2000',
    );
    await page.close();
  }, 60_000);
});
