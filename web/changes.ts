// The Changes view: what the workers of a session changed, for the whole session (its integrated result, or each
// worker's own change until the result exists) and for each worker alone. The base it started from, the result
// branch and its status, the files with their +/- counts, then the diff drawn by diff2html with each reviewer's
// issue pinned at its file:line. Apply and Discard act on the user's repository, so each asks first.

import { ApiError, api, apiText, post } from './api.js';
import { drawDiff, pinIssues, samePath, wrappersByFile } from './diff.js';
import { FINAL_SESSION_STATES } from '../src/domain/worker-status.js';
import { changeText, fill, h, icon, pill, reconcile, setText, stateTone } from './util.js';

/** Past this many characters a diff is only listed: drawing (and highlighting) it would freeze the tab. */
const MAX_DIFF_CHARS = 3_000_000;
const STATUS_LETTER = { added: 'A', modified: 'M', deleted: 'D', renamed: 'R', copied: 'C', 'type-changed': 'T' };
const SESSION = 'session';
const SEVERITY_RANK = { blocker: 0, concern: 1, nit: 2 };

export class ChangesView {
  panel: any;
  root: any;
  dialogs: any;
  state: any;
  generation: any;
  path: any;
  scope: any;
  loadedSignature: any;
  pendingSignature: any;
  issuesSignature: any;
  sections: any;
  pendingFocus: any;
  where: any;
  applyButton: any;
  discardButton: any;
  hint: any;
  scopes: any;
  outcome: any;
  note: any;
  fileList: any;
  elsewhere: any;
  diff: any;
  timer: any;
  controller: any;
  pendingApply: any;
  pendingDiscard: any;
  /**
   * @param panel the <section> holding the view (hidden until a session with a view is shown)
   * @param root where the view draws itself
   * @param dialogs {apply, discard}: <dialog>s with a form method=dialog (apply: radios name=mode)
   */
  constructor(panel, root, dialogs) {
    this.panel = panel;
    this.root = root;
    this.dialogs = dialogs;
    this.state = null;
    this.generation = 0;
    dialogs.apply.addEventListener('close', () => {
      if (dialogs.apply.returnValue !== 'apply' || !this.pendingApply) return;
      const merge = dialogs.apply.querySelector('input[name="mode"]:checked')?.value === 'merge';
      void this.apply({ ...this.pendingApply, merge });
    });
    dialogs.discard.addEventListener('close', () => {
      if (dialogs.discard.returnValue !== 'discard' || !this.pendingDiscard) return;
      void this.discard(this.pendingDiscard);
    });
  }

  /** A new session on screen: everything from the previous one goes. */
  reset(state, path) {
    this.controller?.abort();
    this.generation++;
    this.state = state;
    this.path = path;
    this.scope = SESSION;
    this.loadedSignature = null;
    this.pendingSignature = null;
    this.issuesSignature = null;
    this.sections = [];
    this.pendingFocus = null;
    clearTimeout(this.timer);
    this.panel.hidden = true;
    this.root.classList.remove('loading');
    this.root.removeAttribute('aria-busy');

    this.where = h('div', { class: 'changes-where' });
    this.applyButton = h(
      'button',
      { type: 'button', class: 'btn primary', 'data-changes-action': 'apply', onclick: () => this.openApply() },
      icon('apply'),
      'Apply…',
    );
    this.discardButton = h(
      'button',
      { type: 'button', class: 'btn danger', 'data-changes-action': 'discard', onclick: () => this.openDiscard() },
      icon('trash'),
      'Discard…',
    );
    this.hint = h('span', { class: 'changes-hint muted small' });
    this.scopes = h('div', { class: 'scopes', role: 'group', 'aria-label': 'Show the changes of' });
    this.outcome = h('div', { class: 'changes-outcome', hidden: true, 'data-changes-outcome': '' });
    this.note = h('p', { class: 'changes-note muted small', hidden: true });
    this.fileList = h('ol', { class: 'file-list', 'aria-label': 'Changed files' });
    this.elsewhere = h('div', { class: 'issues-elsewhere', hidden: true });
    this.diff = h('div', { class: 'changes-diff', 'data-changes-diff': '' });
    fill(
      this.root,
      h(
        'div',
        { class: 'changes-head' },
        this.where,
        h('span', { class: 'spacer' }),
        h('div', { class: 'changes-actions' }, this.hint, this.applyButton, this.discardButton),
      ),
      this.scopes,
      this.outcome,
      this.note,
      this.fileList,
      this.elsewhere,
      this.diff,
    );
  }

  /** After any change of the session's state: refresh the header, the scope buttons, and the diff when it moved. */
  update() {
    const view = this.state?.view;
    if (!view?.workspace) return;
    this.panel.hidden = false;
    const ws = view.workspace;
    this.renderWhere(view, ws);
    this.renderScopes(view, ws);
    this.renderActions(view, ws);
    const signature = this.signature(view, ws);
    // pendingSignature: scheduled or loading already; a newer one replaces it (and aborts its load).
    if (signature !== this.loadedSignature && signature !== this.pendingSignature) {
      this.pendingSignature = signature;
      // Busy from now: what is on screen is about to be replaced (tests and screen readers can tell).
      this.root.setAttribute('aria-busy', 'true');
      clearTimeout(this.timer);
      // Commits come in bursts (one per worker at the end of a round): one load for the burst.
      this.timer = setTimeout(() => void this.load(signature), this.loadedSignature === null ? 0 : 250);
    }
    const issues = this.issuesKey();
    if (issues !== this.issuesSignature && this.sections.length) this.repin();
  }

  /** Show one worker's change (its id) or the whole session's ('session'). */
  select(scope) {
    if (scope === this.scope) return;
    this.scope = scope;
    this.outcome.hidden = true;
    this.update();
  }

  /** From a review issue elsewhere on the page: the change it is about, scrolled to its pin. */
  showIssue({ target, file, line }) {
    const ws = this.state?.view?.workspace;
    if (ws?.mode !== 'checkouts') return;
    const scope = ws.result.status === 'done' || !this.state.worker(target) ? SESSION : target;
    this.pendingFocus = { file, line };
    this.panel.scrollIntoView({ behavior: 'smooth', block: 'start' });
    if (scope !== this.scope) this.select(scope);
    else this.focusPending();
  }

  signature(view, ws) {
    if (ws.mode !== 'checkouts') return `in-place|${ws.reason}`;
    const discarded = this.state.discarded ? 'discarded' : '';
    if (this.scope !== SESSION) {
      const w = this.state.worker(this.scope);
      return `worker|${this.scope}|${w?.change?.start ?? ''}|${w?.change?.head ?? ''}|${discarded}`;
    }
    const heads = view.workers.filter((w) => w.kind === 'worker').map((w) => `${w.id}:${w.change?.head ?? ''}`);
    return `session|${ws.result.status}|${ws.result.head ?? ''}|${heads.join(',')}|${discarded}`;
  }

  // --- header, scopes, actions ----------------------------------------------------------------------------

  renderWhere(view, ws) {
    const key =
      ws.mode === 'checkouts'
        ? `c|${ws.base.summary}|${ws.result.status}|${ws.result.head}|` +
          `${JSON.stringify(ws.result.change)}|${ws.result.excluded.join(',')}|${view.state}`
        : `p|${ws.reason}`;
    if (this.where.dataset.key === key) return;
    this.where.dataset.key = key;
    if (ws.mode !== 'checkouts') {
      // The reason below says it all.
      this.where.replaceChildren();
      return;
    }
    const result = ws.result;
    const status = result.status === 'pending' && view.state.startsWith('integrating') ? 'integrating' : result.status;
    fill(
      this.where,
      h(
        'span',
        { class: 'where-item', 'data-field': 'base', title: `base commit ${ws.base.commit}` },
        h('span', { class: 'where-label' }, 'Base'),
        h('code', {}, ws.base.summary),
      ),
      h('span', { class: 'where-arrow', 'aria-hidden': 'true' }, '→'),
      h(
        'span',
        { class: 'where-item', 'data-field': 'result' },
        h('span', { class: 'where-label' }, 'Result'),
        h('code', { title: result.head ? `${result.branch} at ${result.head}` : result.branch }, result.branch),
        pill(status, status === 'integrating' ? 'run' : stateTone(status), 'result-status'),
        result.change ? counts(result.change) : null,
      ),
      result.excluded.length
        ? h(
            'span',
            { class: 'where-item warn-text', 'data-field': 'excluded' },
            `left out of the result: ${result.excluded.join(', ')}`,
          )
        : null,
    );
  }

  renderScopes(view, ws) {
    if (ws.mode !== 'checkouts') {
      this.scopes.hidden = true;
      return;
    }
    this.scopes.hidden = false;
    const workers = view.workers.filter((w) => w.kind === 'worker');
    if (this.scope !== SESSION && !workers.some((w) => w.id === this.scope)) this.scope = SESSION;
    const items = [{ id: SESSION }, ...workers];
    reconcile(
      this.scopes,
      items,
      (item) => item.id,
      (item) =>
        h(
          'button',
          {
            type: 'button',
            class: 'scope',
            'data-scope': item.id,
            'aria-pressed': 'false',
            onclick: () => this.select(item.id),
          },
          h('span', { class: 'scope-name' }, item.id === SESSION ? 'Whole session' : item.id),
          h('span', { class: 'scope-counts', 'data-field': 'counts' }),
        ),
      (el, item) => {
        el.setAttribute('aria-pressed', String(item.id === this.scope));
        const change = item.id === SESSION ? ws.result.change : item.change;
        const key = change ? `${change.additions}|${change.deletions}|${change.files}` : '';
        const slot = el.querySelector('[data-field="counts"]');
        if (slot.dataset.key !== key) {
          slot.dataset.key = key;
          fill(slot, change ? counts(change, { files: false }) : null);
        }
        el.title =
          item.id === SESSION
            ? ws.result.status === 'done'
              ? `the integrated result, ${ws.result.branch}`
              : "each worker's own change, until the result is integrated"
            : `${item.change?.branch ?? 'no branch yet'}${item.change ? `: ${changeText(item.change)}` : ''}`;
      },
    );
  }

  renderActions(view, ws) {
    const checkouts = ws.mode === 'checkouts';
    this.applyButton.hidden = !checkouts;
    this.discardButton.hidden = !checkouts;
    if (!checkouts) {
      setText(this.hint, '');
      return;
    }
    const busy = this.applyButton.classList.contains('busy') || this.discardButton.classList.contains('busy');
    const ended = FINAL_SESSION_STATES.includes(view.state) || view.outcome !== null || !this.state.live;
    const worker = this.scope === SESSION ? null : this.state.worker(this.scope);
    const hasChange = (change) => Boolean(change && change.head && change.head !== change.start);
    let applyWhy = '';
    if (this.state.discarded) applyWhy = 'discarded: nothing left to apply';
    else if (worker && !hasChange(worker.change)) applyWhy = `${worker.id} has changed nothing yet`;
    else if (!worker && ws.result.status !== 'done')
      applyWhy = view.workers.some((w) => w.kind === 'worker' && hasChange(w.change))
        ? 'no result yet: pick a worker to apply its change alone'
        : 'no result yet';
    const discardWhy = this.state.discarded ? '' : ended ? '' : 'discard once the session has ended';
    this.applyButton.disabled = busy || Boolean(applyWhy);
    this.applyButton.title = applyWhy
      ? `Apply: ${applyWhy}`
      : worker
        ? `Apply ${worker.id}'s change to ${view.targetDir}`
        : `Apply the session's result to ${view.targetDir}`;
    setText(this.applyButton.lastChild, worker ? `Apply ${worker.id}…` : 'Apply…');
    this.discardButton.disabled = busy || Boolean(this.state.discarded) || !ended;
    this.discardButton.title = this.state.discarded
      ? 'Discarded already'
      : discardWhy
        ? `Discard: ${discardWhy}`
        : "Delete the session's checkouts and branches";
    setText(this.hint, this.state.discarded ? 'discarded' : applyWhy || discardWhy);
  }

  // --- the files and the diff ----------------------------------------------------------------------------

  async load(signature) {
    const generation = ++this.generation;
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    const { signal } = controller;
    const view = this.state.view;
    const ws = view.workspace;
    const scope = this.scope;
    this.root.classList.add('loading');
    this.root.setAttribute('aria-busy', 'true');
    try {
      if (ws.mode !== 'checkouts') {
        this.showMessage(
          h(
            'div',
            { class: 'changes-empty in-place', 'data-changes-empty': 'in-place' },
            h(
              'p',
              {},
              pill('in place', 'idle'),
              ' ',
              h('strong', {}, 'This session worked in place: '),
              ws.reason,
              '.',
            ),
          ),
        );
        return;
      }
      if (this.state.discarded) {
        this.showMessage(
          h(
            'div',
            { class: 'changes-empty', 'data-changes-empty': 'discarded' },
            h('p', {}, h('strong', {}, 'Discarded. '), this.state.discarded.detail),
          ),
        );
        return;
      }
      if (scope !== SESSION && !this.state.worker(scope)?.change) {
        this.showMessage(
          h(
            'div',
            { class: 'changes-empty', 'data-changes-empty': 'no-branch' },
            h('p', { class: 'muted' }, `${scope} has no branch yet: its checkout is made when it starts.`),
          ),
        );
        return;
      }
      const query = scope === SESSION ? '' : `?worker=${encodeURIComponent(scope)}`;
      const listing = await api(`${this.path}/diff${query}`, { signal });
      // Until the result is integrated, the session's changes are each worker's own: one section each.
      const perWorker = scope === SESSION && listing.ranges.some((r) => r.worker !== null);
      const sections = perWorker
        ? listing.ranges.map((range) => ({
            range,
            worker: range.worker,
            files: listing.files.filter((f) => f.worker === range.worker),
          }))
        : [{ range: listing.ranges[0] ?? null, worker: scope === SESSION ? null : scope, files: listing.files }];
      const texts = await Promise.all(
        sections.map((s) =>
          s.files.length === 0
            ? ''
            : apiText(`${this.path}/diff?${s.worker ? `worker=${encodeURIComponent(s.worker)}&` : ''}format=unified`, {
                signal,
              }),
        ),
      );
      if (generation !== this.generation) return;
      await this.showDiff(listing, sections, texts, { perWorker, generation });
    } catch (error) {
      if (signal.aborted || generation !== this.generation) return;
      const message = error instanceof ApiError ? error.message : ((error as Error)?.message ?? String(error));
      this.showMessage(
        h(
          'p',
          { class: 'form-error', role: 'alert', 'data-changes-error': '' },
          `The changes cannot be shown: ${message}`,
        ),
      );
    } finally {
      if (generation === this.generation) {
        this.loadedSignature = signature;
        if (this.pendingSignature === signature) this.pendingSignature = null;
        this.root.classList.remove('loading');
        if (this.pendingSignature === null) this.root.removeAttribute('aria-busy');
      }
    }
  }

  showMessage(node) {
    this.sections = [];
    this.note.hidden = true;
    this.fileList.replaceChildren();
    this.elsewhere.hidden = true;
    fill(this.diff, node);
  }

  async showDiff(listing, sections, texts, { perWorker, generation }) {
    this.note.hidden = !listing.note;
    setText(this.note, listing.note ?? '');
    this.renderFileList(listing.files, perWorker);
    if (listing.files.length === 0) {
      this.sections = [];
      this.elsewhere.hidden = true;
      fill(
        this.diff,
        h(
          'div',
          { class: 'changes-empty', 'data-changes-empty': 'none' },
          h(
            'p',
            { class: 'muted' },
            this.scope === SESSION ? 'No change yet.' : `${this.scope} has changed nothing yet.`,
          ),
        ),
      );
      return;
    }
    const total = texts.reduce((n, t) => n + t.length, 0);
    const drawn: any[] = [];
    const nodes: any[] = [];
    for (const [index, section] of sections.entries()) {
      if (section.files.length === 0) continue;
      const body = h('div', { class: 'diff-body' });
      const head = perWorker
        ? h(
            'header',
            { class: 'diff-section-head' },
            h('h3', {}, section.worker),
            h('code', { class: 'muted', title: `${section.range.from}..${section.range.to}` }, section.range.branch),
            counts(sum(section.files)),
          )
        : null;
      nodes.push(h('section', { class: 'diff-section', 'data-section': section.worker ?? SESSION }, head, body));
      drawn.push({ body, text: texts[index], files: section.files, targets: section.worker ? [section.worker] : null });
    }
    fill(this.diff, nodes);
    if (total > MAX_DIFF_CHARS) {
      this.sections = [];
      for (const d of drawn) {
        fill(
          d.body,
          h(
            'p',
            { class: 'changes-empty muted' },
            `This diff is too large to draw here (${Math.round(total / 1e6)} MB). ` +
              `\`orchestrate diff ${this.state.sessionId}\` prints it.`,
          ),
        );
      }
      return;
    }
    for (const d of drawn) {
      await drawDiff(d.body, d.text);
      // Another load started while the viewer's script came: its content wins.
      if (generation !== this.generation) return;
      d.wrappers = wrappersByFile(d.body, d.files);
    }
    this.sections = drawn;
    this.repin();
  }

  renderFileList(files, perWorker) {
    fill(
      this.fileList,
      files.map((f) =>
        h(
          'li',
          {
            class: `file status-${f.status}`,
            'data-file': f.path,
            ...(f.worker ? { 'data-file-worker': f.worker } : {}),
          },
          h('span', { class: `file-status fs-${f.status}`, title: f.status }, STATUS_LETTER[f.status] ?? '?'),
          h(
            'button',
            {
              type: 'button',
              class: 'file-path',
              title: `Show ${f.path} in the diff`,
              onclick: () => this.scrollToFile(f.path, f.worker),
            },
            f.oldPath ? h('span', { class: 'muted' }, `${f.oldPath} → `) : null,
            f.path,
          ),
          perWorker && f.worker ? h('span', { class: 'file-worker' }, f.worker) : null,
          h('span', { class: 'file-issues', 'data-field': 'issues', hidden: true }),
          h('span', { class: 'spacer' }),
          f.binary
            ? h('span', { class: 'muted small' }, 'binary')
            : h(
                'span',
                { class: 'file-counts' },
                h('span', { class: 'add' }, `+${f.additions}`),
                h('span', { class: 'del' }, `−${f.deletions}`),
              ),
          f.binary ? null : bar(f.additions, f.deletions),
        ),
      ),
    );
  }

  scrollToFile(path, worker) {
    const section = this.sections.find(
      (s) => s.wrappers?.has(path) && (!worker || !s.targets || s.targets.includes(worker)),
    );
    const wrapper = section?.wrappers.get(path);
    if (!wrapper) return;
    wrapper.scrollIntoView({ behavior: 'smooth', block: 'start' });
    flash(wrapper);
  }

  // --- review issues --------------------------------------------------------------------------------------

  /** The issues of the latest review of each worker: earlier rounds' issues were answered by later changes. */
  issuesFor(targets) {
    const latest = new Map();
    for (const review of this.state.reviews) {
      if (targets && !targets.includes(review.target)) continue;
      const round = roundNumber(review.roundId);
      const known = latest.get(review.target);
      if (!known || round > known.round) latest.set(review.target, { round, reviews: [review] });
      else if (round === known.round) known.reviews.push(review);
    }
    const issues: any[] = [];
    for (const { reviews } of latest.values()) {
      for (const review of reviews) {
        for (const issue of review.verdict?.issues ?? []) {
          if (issue.file)
            issues.push({ ...issue, reviewer: review.reviewer, roundId: review.roundId, target: review.target });
        }
      }
    }
    return issues.sort((a, b) => (SEVERITY_RANK[a.severity] ?? 3) - (SEVERITY_RANK[b.severity] ?? 3));
  }

  issuesKey() {
    return this.state.reviews.map((r) => r.seq).join(',');
  }

  repin() {
    this.issuesSignature = this.issuesKey();
    const elsewhere: any[] = [];
    const perFile = new Map();
    for (const section of this.sections) {
      if (!section.wrappers) continue;
      const issues = this.issuesFor(section.targets);
      const result = pinIssues(section.body, section.wrappers, issues);
      elsewhere.push(...result.elsewhere);
      for (const issue of issues) {
        const path = [...section.wrappers.keys()].find((p) => samePath(issue.file, p));
        if (!path) continue;
        if (!perFile.has(path)) perFile.set(path, []);
        perFile.get(path).push(issue);
      }
    }
    for (const li of this.fileList.children) {
      const slot = li.querySelector('[data-field="issues"]');
      const list = perFile.get(li.dataset.file) ?? [];
      slot.hidden = list.length === 0;
      if (!list.length) continue;
      const worst = list.reduce((a, b) =>
        (SEVERITY_RANK[b.severity] ?? 3) < (SEVERITY_RANK[a.severity] ?? 3) ? b : a,
      );
      const tone = worst.severity === 'blocker' ? 'bad' : worst.severity === 'concern' ? 'warn' : 'idle';
      slot.className = `file-issues badge tone-${tone}`;
      setText(slot, `${list.length} ${list.length === 1 ? 'issue' : 'issues'}`);
      slot.title = list.map((i) => `${i.severity}${i.line ? ` line ${i.line}` : ''}: ${i.message}`).join('\n');
    }
    this.elsewhere.hidden = elsewhere.length === 0;
    fill(
      this.elsewhere,
      h('p', { class: 'orch-issues-title' }, 'Review issues on files this change does not touch'),
      h(
        'ul',
        { class: 'issues' },
        elsewhere.map((i) =>
          h(
            'li',
            { class: `issue sev-${i.severity}` },
            pill(
              i.severity,
              i.severity === 'blocker' ? 'bad' : i.severity === 'concern' ? 'warn' : 'idle',
              'issue-sev',
            ),
            h('code', { class: 'loc' }, `${i.file}${i.line ? `:${i.line}` : ''}`),
            h('span', {}, i.message),
            h('span', { class: 'muted' }, ` — ${i.reviewer}`),
          ),
        ),
      ),
    );
    this.focusPending();
  }

  focusPending() {
    const focus = this.pendingFocus;
    if (!focus || !this.sections.some((s) => s.wrappers)) return;
    this.pendingFocus = null;
    const rows = [...this.diff.querySelectorAll('.orch-issue-row, .orch-issues-outside')];
    const target =
      rows.find(
        (el) =>
          samePath(focus.file, el.dataset.issueFile) && (!focus.line || el.dataset.issueLine === String(focus.line)),
      ) ?? rows.find((el) => samePath(focus.file, el.dataset.issueFile));
    if (!target) return;
    target.scrollIntoView({ behavior: 'smooth', block: 'center' });
    flash(target);
  }

  // --- apply and discard ------------------------------------------------------------------------------------

  openApply() {
    const view = this.state.view;
    const dialog = this.dialogs.apply;
    const worker = this.scope === SESSION ? null : this.state.worker(this.scope);
    const change = worker ? worker.change : view.workspace.result.change;
    this.pendingApply = { worker: worker?.id ?? null };
    setText(
      dialog.querySelector('[data-field="title"]'),
      worker ? `Apply ${worker.id}'s change?` : "Apply the session's result?",
    );
    fill(
      dialog.querySelector('[data-field="what"]'),
      worker ? `${worker.id}'s own change` : 'The result of the session',
      change ? ` (${changeText(change)})` : '',
      ' goes into ',
      h('code', {}, view.targetDir),
      '.',
    );
    dialog.querySelector('input[name="mode"][value="changes"]').checked = true;
    dialog.returnValue = '';
    dialog.showModal();
  }

  async apply({ worker, merge }) {
    await this.run(this.applyButton, async () => {
      const result = await post(`${this.path}/apply`, {
        ...(worker ? { worker } : {}),
        ...(merge ? { merge: true } : {}),
        by: 'dashboard',
      });
      this.showApplied(result);
    });
  }

  showApplied(result) {
    const conflicts = result.conflicts ?? [];
    const target = this.state.view?.targetDir ?? '';
    this.showOutcome(
      conflicts.length ? 'warn' : 'ok',
      'applied',
      h(
        'strong',
        {},
        conflicts.length
          ? `Applied, with ${conflicts.length} ${conflicts.length === 1 ? 'conflict' : 'conflicts'}`
          : result.mode === 'merge'
            ? 'Merged'
            : 'Applied',
      ),
      h('p', {}, result.summary),
      conflicts.length
        ? [
            h(
              'p',
              {},
              result.mode === 'merge'
                ? 'These files could not be merged; resolve them in '
                : 'These files hold conflict markers (<<<<<<<) to resolve in ',
              h('code', {}, target),
              ':',
            ),
            h(
              'ul',
              { class: 'conflict-files', 'data-field': 'conflicts' },
              conflicts.map((f) => h('li', {}, h('code', {}, f))),
            ),
          ]
        : null,
      result.backup
        ? h(
            'p',
            { class: 'muted small' },
            'Your checkout as it was before is kept as commit ',
            h('code', {}, result.backup.slice(0, 12)),
            '.',
          )
        : null,
    );
  }

  openDiscard() {
    const view = this.state.view;
    const dialog = this.dialogs.discard;
    // The server refuses to throw away work that was never applied unless told to: the question says so.
    const force = !this.state.applied;
    this.pendingDiscard = { force };
    const change =
      view.workspace.result.change ??
      sum(view.workers.filter((w) => w.kind === 'worker' && w.change).map((w) => w.change));
    setText(
      dialog.querySelector('[data-field="title"]'),
      force ? "Throw this session's work away?" : "Discard this session's branches?",
    );
    fill(
      dialog.querySelector('[data-field="what"]'),
      force
        ? [
            h('strong', {}, 'Its work was never applied: it will be thrown away for good. '),
            change && change.files
              ? `Its changes (${change.files} ${change.files === 1 ? 'file' : 'files'}, ` +
                `+${change.additions} −${change.deletions}) are lost. `
              : '',
            `Its checkouts and branches (orch/${this.state.sessionId}/…) are deleted; its log stays.`,
          ]
        : `What you applied stays in your checkout. Its checkouts and branches ` +
            `(orch/${this.state.sessionId}/…) are deleted; its log stays.`,
    );
    setText(dialog.querySelector('[data-confirm="discard"]'), force ? 'Throw the work away' : 'Discard');
    dialog.returnValue = '';
    dialog.showModal();
  }

  async discard({ force }) {
    await this.run(this.discardButton, async () => {
      const result = await post(`${this.path}/discard`, { ...(force ? { force: true } : {}), by: 'dashboard' });
      this.showOutcome('idle', 'discarded', h('strong', {}, 'Discarded'), h('p', {}, result.summary));
    });
  }

  async run(button, fn) {
    this.outcome.hidden = true;
    button.classList.add('busy');
    button.disabled = true;
    try {
      await fn();
    } catch (error) {
      // A refusal (409: nothing to apply yet, uncommitted changes in the way, still running...) says why: show it.
      this.showOutcome(
        'bad',
        'error',
        h('strong', {}, button === this.applyButton ? 'Not applied' : 'Not discarded'),
        h('p', { 'data-field': 'error' }, (error as Error)?.message ?? String(error)),
      );
    } finally {
      button.classList.remove('busy');
      this.update();
    }
  }

  showOutcome(tone, kind, ...children) {
    this.outcome.hidden = false;
    this.outcome.className = `changes-outcome tone-${tone}`;
    this.outcome.dataset.changesOutcome = kind;
    this.outcome.setAttribute('role', tone === 'bad' ? 'alert' : 'status');
    fill(
      this.outcome,
      h('div', { class: 'outcome-text' }, children),
      h(
        'button',
        {
          type: 'button',
          class: 'btn ghost small outcome-close',
          'aria-label': 'Dismiss',
          onclick: () => (this.outcome.hidden = true),
        },
        '×',
      ),
    );
  }
}

/** "+12 −3" (and "· 2 files") as coloured spans. */
function counts(change, { files = true } = {}) {
  return h(
    'span',
    { class: 'counts' },
    h('span', { class: 'add' }, `+${change.additions}`),
    h('span', { class: 'del' }, `−${change.deletions}`),
    files ? h('span', { class: 'muted' }, `${change.files} ${change.files === 1 ? 'file' : 'files'}`) : null,
  );
}

/** Five blocks, green for additions and red for deletions, in proportion (as GitHub draws them). */
function bar(additions, deletions) {
  const total = additions + deletions;
  const add = total === 0 ? 0 : Math.round((additions / total) * 5);
  const del = total === 0 ? 0 : Math.min(5 - add, Math.round((deletions / total) * 5));
  const blocks: any[] = [];
  for (let i = 0; i < 5; i++) blocks.push(h('span', { class: i < add ? 'b-add' : i < add + del ? 'b-del' : 'b-none' }));
  return h('span', { class: 'file-bar', 'aria-hidden': 'true' }, blocks);
}

function sum(list) {
  return list.reduce(
    (acc, f) => ({
      files: acc.files + (f.files ?? 1),
      additions: acc.additions + f.additions,
      deletions: acc.deletions + f.deletions,
    }),
    { files: 0, additions: 0, deletions: 0 },
  );
}

function roundNumber(id) {
  const m = /(\d+)$/.exec(id ?? '');
  return m ? Number(m[1]) : 0;
}

function flash(el) {
  el.classList.remove('flash');
  // Restart the animation when the same element is asked for twice.
  void el.offsetWidth;
  el.classList.add('flash');
}
