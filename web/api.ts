// Talking to the server: the token (from the URL fragment, kept in sessionStorage), fetch with the bearer
// token, and the live event stream (EventSource with ?token=, reconnecting with backoff from the last seq).

import { EVENT_TYPES } from '../src/domain/event-types.js';

export { EVENT_TYPES };

const TOKEN_KEY = 'orchestrator.token';

export class ApiError extends Error {
  status: any;
  details: any;
  constructor(status: number, message: string, details?: unknown) {
    super(message);
    this.status = status;
    this.details = details;
  }
}

/**
 * Take `token=` out of the URL fragment (the CLI prints `/#token=XYZ`), keep it in sessionStorage and
 * rewrite the fragment without it, so the token stays out of the address bar and the history.
 * Returns the fragment that remains (e.g. `#/sessions/<sid>` or '').
 */
export function adoptTokenFromFragment() {
  const raw = location.hash.replace(/^#/, '');
  const match = /(^|[&?])token=([^&]*)/.exec(raw);
  if (!match) return location.hash;
  let token = match[2]!;
  try {
    token = decodeURIComponent(token);
  } catch {
    // keep it as it is
  }
  if (token) setToken(token);
  let rest = raw.slice(0, match.index) + raw.slice(match.index + match[0].length);
  rest = rest.replace(/^[&?]/, '').replace(/[&?]$/, '');
  const hash = rest ? `#${rest}` : '';
  history.replaceState(history.state, '', `${location.pathname}${location.search}${hash}`);
  return hash;
}

/** The token in what a person typed or pasted into the token form: the token itself, or a dashboard URL with token=. */
export function tokenFromInput(text) {
  const value = text.trim();
  const inUrl = /[#&?]token=([^&\s]+)/.exec(value);
  if (!inUrl) return value;
  try {
    return decodeURIComponent(inUrl[1]!);
  } catch {
    return inUrl[1];
  }
}

export function getToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage disabled: the token lives only in this page
  }
  memoryToken = token || null;
}
let memoryToken = null;
const currentToken = () => getToken() ?? memoryToken;

/** Listeners called when the server refuses the token (401): the page shows the token form. */
const unauthorizedListeners = new Set<(message: string | null) => void>();
export function onUnauthorized(listener) {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}
function unauthorized(message) {
  for (const listener of unauthorizedListeners) listener(message);
}

/** fetch a JSON API route; throws ApiError with the server's `error` message on a non-2xx answer. */
export async function api(
  path: string,
  { method = 'GET', body, signal }: { method?: string; body?: unknown; signal?: AbortSignal } = {},
) {
  const { response, text } = await request(path, { method, body, signal, accept: 'application/json' });
  return payloadOf(response, text);
}

/** fetch a route that answers text (the unified diff); errors are JSON and thrown as ApiError like api()'s. */
export async function apiText(path: string, { signal }: { signal?: AbortSignal } = {}) {
  const { response, text } = await request(path, { method: 'GET', signal, accept: 'text/x-diff, application/json' });
  if (response.ok) return text;
  return payloadOf(response, text);
}

async function request(
  path: string,
  { method, body, signal, accept }: { method: string; body?: unknown; signal?: AbortSignal; accept: string },
) {
  const token = currentToken();
  if (!token) {
    unauthorized(null);
    throw new ApiError(401, 'no token');
  }
  const headers: Record<string, string> = { Authorization: `Bearer ${token}`, Accept: accept };
  const init: RequestInit = { method, headers, signal, cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response: Response;
  try {
    response = await fetch(`/api/v1${path}`, init);
  } catch (error) {
    if ((error as Error)?.name === 'AbortError') throw error;
    throw new ApiError(0, `the server cannot be reached (${(error as Error)?.message ?? error})`);
  }
  return { response, text: await response.text() };
}

function payloadOf(response, text) {
  let payload: any = null;
  if (text) {
    try {
      payload = JSON.parse(text);
    } catch {
      payload = { error: text };
    }
  }
  if (response.status === 401) {
    unauthorized(payload?.error ?? 'the server refused the token');
    throw new ApiError(401, payload?.error ?? 'unauthorized');
  }
  if (!response.ok) throw new ApiError(response.status, payload?.error ?? `HTTP ${response.status}`, payload?.details);
  return payload;
}

export const post = (path, body) => api(path, { method: 'POST', body: body ?? {} });

/**
 * The live events of a session. Calls onSnapshot(view) for each `snapshot` (first thing after every
 * (re)connect), onEvent(event) for each event, onStatus('connecting' | 'live' | 'reconnecting' | 'closed').
 *
 * Reconnects itself: on an error the EventSource is closed and a new one opened after a backoff (250 ms,
 * doubling, at most 5 s, with jitter) with `?lastEventId=<last seq seen>`, so nothing is missed or repeated
 * (the caller also ignores seqs it has seen). Before reconnecting after an error it asks the API once
 * whether the token is still good (an EventSource cannot see a 401).
 */
export function openStream(sessionId, { tail = 500, lastSeq = () => 0, onSnapshot, onEvent, onStatus }) {
  let source: EventSource | null = null;
  let closed = false;
  let attempt = 0;
  let timer: number | undefined;
  let everOpen = false;

  const connect = () => {
    if (closed) return;
    const token = currentToken();
    if (!token) {
      unauthorized(null);
      onStatus?.('closed');
      return;
    }
    const params = new URLSearchParams();
    const seq = lastSeq();
    if (seq > 0) params.set('lastEventId', String(seq));
    else params.set('tail', String(tail));
    params.set('token', token);
    onStatus?.(everOpen ? 'reconnecting' : 'connecting');
    const es = new EventSource(`/api/v1/${encodeURIComponent(sessionId)}/events?${params}`);
    source = es;
    es.addEventListener('open', () => {
      if (source !== es) return;
      attempt = 0;
      everOpen = true;
      onStatus?.('live');
    });
    es.addEventListener('snapshot', (e) => {
      if (source !== es) return;
      try {
        onSnapshot?.(JSON.parse(e.data));
      } catch (error) {
        console.error('bad snapshot', error);
      }
    });
    for (const type of EVENT_TYPES) {
      es.addEventListener(type, (e) => {
        if (source !== es) return;
        try {
          onEvent?.(JSON.parse(e.data));
        } catch (error) {
          console.error('bad event', error);
        }
      });
    }
    es.addEventListener('error', () => {
      if (source !== es || closed) return;
      es.close();
      source = null;
      onStatus?.('reconnecting');
      scheduleReconnect();
    });
  };

  const scheduleReconnect = () => {
    clearTimeout(timer);
    const delay = Math.min(5000, 250 * 2 ** Math.min(attempt, 5)) * (0.8 + Math.random() * 0.4);
    attempt++;
    timer = setTimeout(async () => {
      if (closed) return;
      // An EventSource error hides the status: a refused token would loop here forever. Ask once.
      try {
        await api(`/${encodeURIComponent(sessionId)}/state`);
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) {
          onStatus?.('closed');
          return;
        }
        // unreachable or another error: try the stream anyway (it reports again)
      }
      connect();
    }, delay);
  };

  connect();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      source?.close();
      source = null;
    },
    /** Reconnect now (after the token changed). */
    restart() {
      clearTimeout(timer);
      source?.close();
      source = null;
      closed = false;
      attempt = 0;
      connect();
    },
  };
}
