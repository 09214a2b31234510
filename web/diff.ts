// Drawing a unified diff with diff2html (its "slim" UI bundle, with highlight.js inside, served from the installed
// package by GET /vendor/... and loaded on first use), and pinning reviewers' issues at their file:line in it.
//
// diff2html escapes the diff's text itself (file names and lines are HTML-escaped before they reach innerHTML;
// highlight.js escapes what it colours), so a diff an agent wrote cannot inject markup into the page. Its
// precompiled templates are used: Hogan never compiles one at runtime, so the CSP needs no 'unsafe-eval'.

import { h, pill } from './util.js';

const BUNDLE = '/vendor/diff2html-ui-slim.min.js';

declare global {
  interface Window {
    /** Defined by the diff2html UI bundle, a classic script loaded on demand. */
    Diff2HtmlUI?: any;
  }
}

/** How diffs look: one column (issues pin to a row of it), our own file list above, files collapsible. */
const CONFIG = {
  outputFormat: 'line-by-line',
  drawFileList: false,
  fileListToggle: false,
  fileContentToggle: true,
  stickyFileHeaders: true,
  synchronisedScroll: false,
  highlight: true,
  colorScheme: 'auto',
  matching: 'lines',
  // A file with more changed lines than this, or a line longer, is summarised instead of drawn: a lockfile or a
  // minified bundle would freeze the tab.
  diffMaxChanges: 4000,
  diffMaxLineLength: 4000,
  renderNothingWhenEmpty: false,
};

let loading: Promise<any> | null = null;

/** The Diff2HtmlUI class, loading its bundle (a classic script: it defines window.Diff2HtmlUI) the first time. */
export function loadDiff2Html() {
  if (window.Diff2HtmlUI) return Promise.resolve(window.Diff2HtmlUI);
  loading ??= new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = BUNDLE;
    script.async = true;
    script.addEventListener('load', () => {
      if (window.Diff2HtmlUI) resolve(window.Diff2HtmlUI);
      else reject(new Error(`${BUNDLE} loaded but defined no Diff2HtmlUI`));
    });
    script.addEventListener('error', () => {
      loading = null;
      script.remove();
      reject(
        new Error(
          `the diff viewer could not be loaded (${BUNDLE}); reload the page, or see the diff with \`orchestrate diff\``,
        ),
      );
    });
    document.head.append(script);
  });
  return loading;
}

/** Draw `text` (a unified diff) into `container`, replacing what it held. */
export async function drawDiff(container, text) {
  const Diff2HtmlUI = await loadDiff2Html();
  new Diff2HtmlUI(container, text, CONFIG).draw();
  // diff2html labels the collapse checkbox "Viewed" only by its text next to it; say which file it is.
  for (const wrapper of container.querySelectorAll('.d2h-file-wrapper')) {
    const name = wrapper.querySelector('.d2h-file-name')?.textContent?.trim();
    const box = wrapper.querySelector('.d2h-file-collapse-input');
    if (name && box) box.setAttribute('aria-label', `Viewed: fold ${name}`);
  }
}

/** A path as reviewers write it, compared with the diff's (relative to the repository, '/'-separated). */
export function samePath(issueFile, path) {
  const a = String(issueFile ?? '')
    .replace(/\\/g, '/')
    .replace(/^\.\//, '');
  if (!a || !path) return false;
  if (a === path) return true;
  // An absolute path (the reviewer's checkout) ends with the repository-relative one.
  return a.startsWith('/') && a.endsWith(`/${path}`);
}

/**
 * The wrapper diff2html drew for each file of `files` (in that order): found by name, else by position (a
 * rename's header reads "dir/{old → new}").
 */
export function wrappersByFile(container, files) {
  const wrappers = [...container.querySelectorAll('.d2h-file-wrapper')];
  const byName = new Map();
  for (const wrapper of wrappers) {
    const name = wrapper.querySelector('.d2h-file-name')?.textContent?.trim();
    if (name && !byName.has(name)) byName.set(name, wrapper);
  }
  const result = new Map();
  files.forEach((file, index) => {
    const wrapper = byName.get(file.path) ?? (file.oldPath ? byName.get(file.oldPath) : undefined) ?? wrappers[index];
    if (wrapper) {
      wrapper.dataset.file = file.path;
      result.set(file.path, wrapper);
    }
  });
  return result;
}

/** The row of new-side line `line` in a file's drawn diff (an added or unchanged line), or null. */
function rowOfLine(wrapper, line) {
  for (const num of wrapper.querySelectorAll('.d2h-code-linenumber .line-num2')) {
    if (num.textContent.trim() === String(line)) return num.closest('tr');
  }
  return null;
}

const SEVERITY_TONE = { blocker: 'bad', concern: 'warn', nit: 'idle' };

function issueBody(issue, { withLine }) {
  return h(
    'div',
    { class: `orch-issue sev-${issue.severity}`, role: 'note' },
    pill(issue.severity, SEVERITY_TONE[issue.severity] ?? 'idle', 'issue-sev'),
    withLine && issue.line ? h('span', { class: 'orch-issue-line mono' }, `line ${issue.line}`) : null,
    h('span', { class: 'orch-issue-msg' }, issue.message),
    h('span', { class: 'orch-issue-who muted' }, `${issue.reviewer}${issue.roundId ? ` · ${issue.roundId}` : ''}`),
  );
}

/**
 * Pin each issue ({severity, file, line?, message, reviewer, roundId}) of a drawn diff: under its line when the
 * diff shows that line, else in a box under the file's header ("not in this diff"). Issues on files the diff
 * does not hold are returned for the caller to list. Pins from an earlier call are removed first.
 */
export function pinIssues(container, wrappers, issues) {
  for (const old of container.querySelectorAll('.orch-issue-row, .orch-issues-outside')) old.remove();
  const elsewhere: any[] = [];
  const outside = new Map();
  for (const issue of issues) {
    const entry = [...wrappers].find(([path]) => samePath(issue.file, path));
    if (!entry) {
      elsewhere.push(issue);
      continue;
    }
    const [path, wrapper] = entry;
    const row = issue.line ? rowOfLine(wrapper, issue.line) : null;
    if (!row) {
      if (!outside.has(wrapper)) outside.set(wrapper, []);
      outside.get(wrapper).push(issue);
      continue;
    }
    // Several issues on one line stack under it, in the order given.
    let after = row;
    while (after.nextElementSibling?.classList.contains('orch-issue-row')) after = after.nextElementSibling;
    after.after(
      h(
        'tr',
        {
          class: 'orch-issue-row',
          'data-issue-file': path,
          'data-issue-line': String(issue.line),
          'data-severity': issue.severity,
        },
        h('td', { colspan: '2', class: 'orch-issue-cell' }, issueBody(issue, { withLine: false })),
      ),
    );
  }
  for (const [wrapper, list] of outside) {
    const box = h(
      'div',
      { class: 'orch-issues-outside', 'data-issue-file': wrapper.dataset.file ?? '' },
      h(
        'p',
        { class: 'orch-issues-title' },
        list.some((i) => i.line) ? 'Review issues on lines this diff does not show' : 'Review issues on this file',
      ),
      list.map((issue) => issueBody(issue, { withLine: true })),
    );
    const header = wrapper.querySelector('.d2h-file-header');
    if (header) header.after(box);
    else wrapper.prepend(box);
  }
  return { elsewhere };
}
