// The dashboard (GET /): routing by fragment (#/ = sessions, #/sessions/<sid> = one session), the token
// form, the connection banner and the wiring of the views to the session state.

import {
  ApiError,
  adoptTokenFromFragment,
  api,
  getToken,
  onUnauthorized,
  openStream,
  post,
  setToken,
  tokenFromInput,
} from './api.js';
import { renderBlockers } from './blockers.js';
import { renderCards } from './cards.js';
import { ChangesView } from './changes.js';
import { createControls, updateControls } from './controls.js';
import { EventLog } from './events-log.js';
import { renderRecoveries, renderReviews } from './reviews.js';
import { SessionNotifier, setupBell } from './notifications.js';
import { renderSessions } from './sessions.js';
import { SessionState } from './store.js';
import {
  h,
  setText,
  startClock,
  stateTone,
  throttle,
  updatePill,
  updateTimeEl,
  usageText,
  limitsText,
} from './util.js';

const $ = (selector) => document.querySelector(selector);
const views = { auth: $('#auth-view'), sessions: $('#sessions-view'), session: $('#session-view') };
const banner = $('#conn');
let current: { dispose(): void } | null = null;

// --- connection banner ------------------------------------------------------------------------------------

const BANNER_TEXT = {
  idle: '',
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Connection lost — reconnecting…',
  offline: 'Server unreachable — retrying…',
  closed: 'Disconnected',
  ondisk: 'Not running in this server (read-only)',
};

function setBanner(state) {
  if (banner.dataset.state === state) return;
  banner.dataset.state = state;
  banner.hidden = state === 'idle';
  setText(banner.querySelector('.conn-text'), BANNER_TEXT[state] ?? state);
  const trouble = state === 'reconnecting' || state === 'offline' || state === 'closed';
  document.body.classList.toggle('conn-trouble', trouble);
  const strip = $('#conn-strip');
  strip.hidden = !trouble;
  strip.classList.toggle('bad', state === 'closed');
  setText(strip, STRIP_TEXT[state] ?? '');
}

const STRIP_TEXT = {
  reconnecting:
    'The live connection to the server was lost. Reconnecting… nothing is missed: the events catch up when it is back.',
  offline: 'The server cannot be reached. Retrying…',
  closed: 'Disconnected from the server.',
};

// --- routing -------------------------------------------------------------------------------------------------

function show(name) {
  for (const [key, el] of Object.entries(views)) el.hidden = key !== name;
}

function route() {
  adoptTokenFromFragment();
  current?.dispose();
  current = null;
  if (!getToken()) {
    showAuth(null);
    return;
  }
  const match = /^#\/sessions\/([^/?&#]+)/.exec(location.hash);
  if (match) current = openSession(decodeURIComponent(match[1]!));
  else current = openSessionList();
}

// --- the token form ----------------------------------------------------------------------------------------

function showAuth(message) {
  current?.dispose();
  current = null;
  setBanner('idle');
  show('auth');
  document.title = 'meta-orchestrator — token';
  const error = $('#auth-error');
  error.hidden = !message;
  setText(error, message ?? '');
  $('#auth-token').value = '';
  $('#auth-token').focus();
}

$('#auth-form').addEventListener('submit', (event) => {
  event.preventDefault();
  // A pasted dashboard URL works too: its token= part is taken.
  const value = tokenFromInput($('#auth-token').value);
  if (!value) return;
  setToken(value);
  route();
});

onUnauthorized((message) => {
  setToken(null);
  showAuth(message ? `The server refused the token (${message}). Paste the current one.` : null);
});

// --- the session list --------------------------------------------------------------------------------------

function openSessionList() {
  show('sessions');
  document.title = 'meta-orchestrator — sessions';
  setBanner('connecting');
  const list = $('#sessions-list');
  let timer: number | undefined;
  let disposed = false;
  const refresh = async () => {
    clearTimeout(timer);
    try {
      const { sessions } = await api('/sessions');
      if (disposed) return;
      renderSessions(list, sessions);
      setText(
        $('#sessions-count'),
        `${sessions.length} session${sessions.length === 1 ? '' : 's'} · ${sessions.filter((s) => s.live).length} live`,
      );
      setBanner('live');
    } catch (error) {
      if (disposed || (error instanceof ApiError && error.status === 401)) return;
      setBanner('offline');
    }
    if (!disposed) timer = setTimeout(refresh, document.hidden ? 15_000 : 3_000);
  };
  const onFocus = () => void refresh();
  window.addEventListener('focus', onFocus);
  document.addEventListener('visibilitychange', onFocus);
  void refresh();
  return {
    dispose() {
      disposed = true;
      clearTimeout(timer);
      window.removeEventListener('focus', onFocus);
      document.removeEventListener('visibilitychange', onFocus);
    },
  };
}

// --- one session -------------------------------------------------------------------------------------------

const log = new EventLog($('#log'));
const changes = new ChangesView($('#changes-panel'), $('#changes'), {
  apply: $('#apply-dialog'),
  discard: $('#discard-dialog'),
});
let activeSession: SessionState | null = null;
/** The commands of the session on screen (the buttons are made once). */
let sessionCommands:
  | (Record<'pause' | 'resume' | 'review', () => Promise<unknown>> & {
      stop(reason?: string): Promise<unknown>;
    })
  | null = null;
const noSession = () => Promise.reject(new Error('no session'));
const controlsApi = createControls($('#controls'), $('#stop-dialog'), {
  pause: () => (sessionCommands?.pause ?? noSession)(),
  resume: () => (sessionCommands?.resume ?? noSession)(),
  review: () => (sessionCommands?.review ?? noSession)(),
  stop: (reason) => (sessionCommands?.stop ?? noSession)(reason),
});
$('#controls').addEventListener('controls-done', () => {
  if (activeSession) updateControls($('#controls'), activeSession);
});

function openSession(sid) {
  show('session');
  document.title = `meta-orchestrator — ${sid}`;
  setBanner('connecting');
  const state = new SessionState(sid);
  activeSession = state;
  const path = `/${encodeURIComponent(sid)}`;
  let disposed = false;

  log.reset();
  changes.reset(state, path);
  for (const id of ['#cards', '#blockers-open', '#blockers-done', '#reviews', '#recoveries']) $(id).replaceChildren();
  setText($('#s-task'), 'Loading…');
  setText($('#s-id'), sid);
  $('#s-inspect').href = `/inspect/${encodeURIComponent(sid)}`;
  $('#load-error').hidden = true;

  let notFound = false;
  const refreshState = async () => {
    try {
      const s = await api(`${path}/state`);
      if (!disposed) state.applyState(s);
      return true;
    } catch (error) {
      if (disposed) return false;
      if (error instanceof ApiError && error.status === 404) {
        notFound = true;
        const el = $('#load-error');
        el.hidden = false;
        setText(el, `No session ${sid} in this workspace.`);
        setText($('#s-task'), 'Unknown session');
        setBanner('idle');
        stream?.close();
      }
      return false;
    }
  };
  // The stream carries the facts; GET /state brings what only the server computes (usage totals, summaries,
  // review rounds...). Ask again, at most once a second, after the events that change those.
  const resync = throttle(() => void refreshState(), 1000);

  const command = async (what, body?) => {
    const result = await post(`${path}/${what}`, body);
    resync();
    return result;
  };
  const actions = {
    pauseWorker: (id) => command('pause', { workerId: id }).catch(showCardError(id)),
    resumeWorker: (id) => command('resume', { workerId: id }).catch(showCardError(id)),
    reviewWorker: (id) => command('review', { target: id }).catch(showCardError(id)),
    stopWorker: (id) => command('stop', { workerId: id, by: 'dashboard' }).catch(showCardError(id)),
    sayToWorker: (id, text) =>
      command(`workers/${encodeURIComponent(id)}/messages`, { text, by: 'dashboard' }).catch(showCardError(id)),
    showChanges: (id) => {
      changes.select(id);
      $('#changes-panel').scrollIntoView({ behavior: 'smooth', block: 'start' });
    },
  };
  sessionCommands = {
    pause: () => command('pause'),
    resume: () => command('resume'),
    review: () => command('review'),
    stop: (reason) => command('stop', reason ? { reason } : {}),
  };
  const answer = async (id, choice, { text, agent }: { text?: string; agent?: string } = {}) => {
    await post(`${path}/blockers/${encodeURIComponent(id)}`, {
      choice,
      ...(text !== undefined && text !== '' ? { text } : {}),
      ...(agent ? { agent } : {}),
      by: 'dashboard',
    });
    resync();
  };

  state.subscribe(() => render(state, answer, actions));
  const notifier = new SessionNotifier({
    answerCommand: (b) => `orchestrate resolve ${sid} ${b.id} <${b.options.join('|')}>, or in this dashboard`,
    outcome: () => {
      const view = state.view;
      return view?.outcome ? { outcome: view.outcome, reason: view.stopReason ?? null } : null;
    },
  });
  state.onEvent((e) => {
    notifier.onEvent(e);
    log.add(e);
    if (e.type !== 'agent' || e.kind === 'usage' || e.kind === 'result' || e.kind === 'init') resync();
  });

  let stream: ReturnType<typeof openStream> | null = null;
  void (async () => {
    await refreshState();
    if (disposed || notFound) return;
    stream = openStream(sid, {
      tail: 500,
      lastSeq: () => state.lastSeq,
      onSnapshot: (view) => {
        notifier.startAfter(view.lastSeq);
        state.applySnapshot(view);
        resync();
      },
      onEvent: (e) => state.applyEvent(e),
      onStatus: (status) => setBanner(status),
    });
  })();

  return {
    dispose() {
      disposed = true;
      stream?.close();
      if (activeSession === state) {
        activeSession = null;
        sessionCommands = null;
      }
    },
  };
}

function showCardError(workerId) {
  return (error) => {
    const card = document.querySelector(`[data-worker="${CSS.escape(workerId)}"]`);
    if (!card) return;
    let note = card.querySelector<HTMLElement>('.card-error');
    if (!note) {
      note = h('p', { class: 'form-error card-error', role: 'alert' });
      card.querySelector('.card-actions')!.before(note);
    }
    setText(note, error?.message ?? String(error));
    setTimeout(() => note!.remove(), 8000);
  };
}

function render(state, answer, actions) {
  const view = state.view;
  if (!view) return;
  const task = view.task.split('\n')[0];
  setText($('#s-task'), task);
  $('#s-task').title = view.task;
  const outcome = view.outcome && view.outcome !== view.state ? ` · ${view.outcome}` : '';
  updatePill(
    $('#s-state'),
    `${view.state}${outcome}`,
    stateTone(view.outcome === 'escalated' ? 'escalated' : view.state),
  );
  $('#s-state').dataset.state = view.state;
  updateTimeEl($('#s-created'), view.createdAt);
  setText($('#s-target'), view.targetDir);
  $('#s-target').title = view.targetDir;
  const limits = limitsText(view.limits);
  setText($('#s-usage'), `${usageText(view.usage) || 'no usage yet'}${limits ? ` (${limits})` : ''}`);
  // Only a session that has not ended and runs elsewhere (or nowhere) is read-only here: say who runs it.
  const live = $('#s-live');
  const ended = view.state === 'completed' || view.state === 'stopped';
  live.hidden = state.live || ended;
  const runner = state.runner;
  setText(
    live,
    runner
      ? `run by process ${runner.pid}${runner.host ? ` on ${runner.host}` : ''}` +
          `${runner.serverUrl ? ` (${runner.serverUrl})` : ''}`
      : 'not running',
  );
  live.title = runner
    ? 'Another orchestrator process runs this session: ' +
      'control it from its own dashboard or with orchestrate pause/stop.'
    : `Nothing runs this session: \`orchestrate resume ${view.sessionId}\` continues it (then control it here).`;
  const stop = $('#s-stop-reason');
  stop.hidden = !view.stopReason;
  setText(stop, view.stopReason ? `Stopped: ${view.stopReason}` : '');

  updateControls($('#controls'), state);
  renderCards($('#cards'), state, actions);
  const counts = renderBlockers($('#blockers-open'), $('#blockers-done'), state, answer);
  $('#blockers-panel').hidden = counts.open === 0;
  setText($('#blockers-count'), counts.open ? String(counts.open) : '');
  $('#blockers-done-panel').hidden = counts.done === 0;
  renderReviews($('#reviews'), state, (issue) => changes.showIssue(issue));
  changes.update();
  renderRecoveries($('#recoveries'), state);
  log.offerSubjects(['session', ...view.workers.map((w) => w.id)]);
  document.title = `${counts.open ? `(${counts.open}) ` : ''}${view.state} — ${task.slice(0, 60)}`;
}

// --- keyboard ------------------------------------------------------------------------------------------------

document.addEventListener('keydown', (event) => {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (
    target instanceof HTMLElement &&
    (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName))
  )
    return;
  if (document.querySelector('dialog[open]')) return;
  if (event.key === '?') {
    const help = $('#keys-help');
    help.hidden = !help.hidden;
    return;
  }
  if (!activeSession || views.session.hidden) return;
  switch (event.key) {
    case '/':
      event.preventDefault();
      log.focusSearch();
      break;
    case 'f':
      log.toggleFollow();
      break;
    case 'p':
      controlsApi.togglePause();
      break;
    case 'r':
      controlsApi.review();
      break;
    case 'i':
      location.href = $('#s-inspect').href;
      break;
    case 'Escape':
      $('#keys-help').hidden = true;
      break;
    default:
      break;
  }
});

setupBell($('#notify-toggle') as HTMLButtonElement);
$('#keys-toggle').addEventListener('click', () => {
  const help = $('#keys-help');
  help.hidden = !help.hidden;
});

window.addEventListener('hashchange', route);
startClock();
route();
