// Review rounds (each reviewer's verdict with its issues, and the round's decision) and recoveries.

import type { SessionState } from './store.js';
import { duration, fill, h, pill, reconcile, stateTone, timeEl } from './util.js';

/** The roundId of the decision recorded when a requested review could not run. */
const NOT_REVIEWED = 'none';

/**
 * Rounds, newest first: the view's rounds plus any the events mention.
 * @param onIssue optional ({target, file, line}) => void: an issue's file:line becomes a link to it (the Changes view)
 */
export function renderReviews(container, state: SessionState, onIssue) {
  const rounds = new Map();
  for (const r of state.view?.rounds ?? []) if (r.roundId !== NOT_REVIEWED) rounds.set(r.roundId, { ...r });
  for (const e of [...state.reviews, ...state.decisions]) {
    // A review that did not happen (no reviewer for the target, or the round cap reached) is a note, not a round.
    if (e.roundId === NOT_REVIEWED)
      rounds.set(`skipped-${e.seq}`, {
        roundId: `skipped-${e.seq}`,
        skipped: e,
        targets: [e.target],
        reason: '',
        decision: e.type === 'decision' ? e.decision : undefined,
      });
    else if (!rounds.has(e.roundId))
      rounds.set(e.roundId, { roundId: e.roundId, targets: [e.target], reason: '', decision: null });
  }
  const list = [...rounds.values()].sort((a, b) => roundNumber(b.roundId) - roundNumber(a.roundId));
  if (list.length === 0) {
    fill(container, h('p', { class: 'empty' }, 'No review round yet.'));
    return;
  }
  if (container.querySelector('.empty')) container.replaceChildren();
  reconcile(
    container,
    list,
    (r) => r.roundId,
    (r) => h('article', { class: 'round', 'data-round': r.roundId }),
    (el, r) => {
      if (r.skipped) {
        if (el.dataset.signature === 'skipped') return;
        el.dataset.signature = 'skipped';
        el.classList.add('skipped');
        fill(
          el,
          h(
            'header',
            { class: 'round-head' },
            h('strong', {}, 'not reviewed'),
            h('span', { class: 'muted' }, ` · ${r.skipped.target}`),
            h('span', { class: 'spacer' }),
            timeEl(r.skipped.ts),
          ),
          h('p', { class: 'muted small' }, r.skipped.action),
        );
        return;
      }
      const reviews = state.reviews.filter((e) => e.roundId === r.roundId);
      const decision = state.decisions.find((e) => e.roundId === r.roundId);
      const signature = `${reviews.length}|${decision?.seq ?? ''}|${r.decision ?? ''}|${r.targets.join(',')}`;
      if (el.dataset.signature === signature) return;
      el.dataset.signature = signature;
      fill(
        el,
        h(
          'header',
          { class: 'round-head' },
          h('strong', {}, r.roundId),
          h('span', { class: 'muted' }, r.targets.length ? ` on ${r.targets.join(', ')}` : ''),
          r.reason ? h('span', { class: 'muted' }, ` · ${r.reason}`) : null,
          h('span', { class: 'spacer' }),
          r.decision ? pill(r.decision, stateTone(r.decision), 'decision') : pill('in review', 'run'),
        ),
        reviews.length === 0 ? h('p', { class: 'muted small' }, 'Waiting for the reviewers…') : null,
        reviews.map((e) => reviewItem(e, onIssue)),
        decision
          ? h(
              'p',
              { class: 'decision-action', 'data-decision': decision.decision },
              h('span', { class: 'muted' }, 'Decision: '),
              decision.action,
            )
          : null,
      );
    },
  );
}

function reviewItem(e, onIssue) {
  const v = e.verdict ?? { verdict: 'concern', summary: '', issues: [] };
  return h(
    'div',
    { class: 'review', 'data-reviewer': e.reviewer, 'data-verdict': v.verdict },
    h(
      'div',
      { class: 'review-head' },
      pill(v.verdict, stateTone(v.verdict), 'verdict'),
      h('span', {}, ` ${e.reviewer} → ${e.target}`),
      h('span', { class: 'muted' }, ` · ${e.focus}`),
      e.valid
        ? null
        : h(
            'span',
            { class: 'muted', title: 'the reviewer gave no valid verdict; it counts as a concern' },
            ' · no valid verdict',
          ),
      h('span', { class: 'spacer' }),
      timeEl(e.ts),
    ),
    v.summary ? h('p', { class: 'review-summary' }, v.summary) : null,
    v.issues?.length
      ? h(
          'ul',
          { class: 'issues' },
          v.issues.map((i) =>
            h(
              'li',
              { class: `issue sev-${i.severity}` },
              h(
                'span',
                {
                  class: `badge tone-${i.severity === 'blocker' ? 'bad' : i.severity === 'concern' ? 'warn' : 'idle'}`,
                },
                i.severity,
              ),
              i.file && onIssue
                ? h(
                    'button',
                    {
                      type: 'button',
                      class: 'loc link mono',
                      title: 'Show it in the changes',
                      onclick: () => onIssue({ target: e.target, file: i.file, line: i.line }),
                    },
                    `${i.file}${i.line ? `:${i.line}` : ''}`,
                  )
                : i.file
                  ? h('code', { class: 'loc' }, `${i.file}${i.line ? `:${i.line}` : ''}`)
                  : null,
              h('span', {}, i.message),
            ),
          ),
        )
      : null,
  );
}

function roundNumber(id) {
  const m = /(\d+)$/.exec(id);
  return m ? Number(m[1]) : 0;
}

export function renderRecoveries(container, state: SessionState) {
  const list = [...state.recoveries].sort((a, b) => b.seq - a.seq);
  if (list.length === 0) {
    fill(container, h('p', { class: 'empty' }, 'No recovery so far.'));
    return;
  }
  if (container.querySelector('.empty')) container.replaceChildren();
  reconcile(
    container,
    list,
    (e) => e.seq,
    (e) =>
      h(
        'article',
        { class: 'recovery', 'data-worker': e.workerId, 'data-action': e.action },
        h(
          'div',
          { class: 'review-head' },
          pill(e.signal.kind, e.action === 'escalate' || e.action === 'give_up' ? 'bad' : 'warn'),
          h('strong', {}, ` ${e.workerId}`),
          h(
            'span',
            { class: 'muted' },
            ` · ${e.action.replaceAll('_', ' ')}${e.attempt ? ` · attempt ${e.attempt}` : ''}` +
              `${e.backoffMs ? ` · in ${duration(e.backoffMs)}` : ''}`,
          ),
          h('span', { class: 'spacer' }),
          timeEl(e.ts),
        ),
        h('p', { class: 'small' }, e.detail),
        e.change ? h('p', { class: 'small muted' }, `Change: ${e.change}`) : null,
        h(
          'details',
          { class: 'small' },
          h('summary', {}, 'what the agent said'),
          h('pre', { class: 'message' }, e.signal.message),
        ),
      ),
  );
}
