/**
 * Tells people about a session (notices.ts) through its channels (channels.ts), without ever holding it up: a
 * notice is sent in the background, each channel retried with backoff, and every notice sent or given up is a
 * `notification` event in the session's log. `flush` waits (bounded) for what is still on its way, before the
 * process exits.
 */
import type { NewEvent, OrchestratorEvent } from '../domain/events.js';
import type { NotifyTarget } from '../domain/spec.js';
import { type Channel, desktopChannel, webhookChannel } from './channels.js';
import { endedWaiting, type Notice, type NoticeContext, noticeFor } from '../domain/notices.js';

/** The waits before the 2nd and 3rd tries of a channel. */
export const RETRY_DELAYS_MS = [1000, 4000];

export interface NotifierOptions {
  /** Append events to the session's log (live, or on disk once this process let go of it). */
  record: (events: NewEvent[]) => void;
  retryDelaysMs?: readonly number[];
}

export interface WatchedSession {
  sessionId: string;
  subscribe(listener: (events: readonly OrchestratorEvent[]) => void): () => void;
  context: NoticeContext;
}

export class Notifier {
  private readonly told = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly delays: readonly number[];

  constructor(
    private readonly channels: readonly Channel[],
    private readonly options: NotifierOptions,
  ) {
    this.delays = options.retryDelaysMs ?? RETRY_DELAYS_MS;
  }

  get enabled(): boolean {
    return this.channels.length > 0;
  }

  /** Notices for what the session logs from now on; returns the unsubscribe. */
  watch(session: WatchedSession): () => void {
    if (!this.enabled) return () => undefined;
    return session.subscribe((events) => {
      for (const event of events) {
        const notice = noticeFor(event, session.context);
        if (notice) this.tell(notice);
      }
    });
  }

  /** A session this process lets go of while it waits for a person (nobody here will answer). */
  endedWaiting(sessionId: string, openBlockers: number): void {
    this.tell(endedWaiting(sessionId, openBlockers));
  }

  /** Send a notice on every channel, once per key; returns at once. */
  tell(notice: Notice): void {
    if (this.told.has(notice.key)) return;
    this.told.add(notice.key);
    for (const channel of this.channels) {
      const delivery = this.deliver(channel, notice).finally(() => this.inFlight.delete(delivery));
      this.inFlight.add(delivery);
    }
  }

  /** Wait for the notices on their way, at most `timeoutMs`; what is still not delivered then is recorded so. */
  async flush(timeoutMs: number): Promise<void> {
    if (this.inFlight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inFlight]),
      new Promise((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }

  private async deliver(channel: Channel, notice: Notice): Promise<void> {
    let error = '';
    let attempts = 0;
    for (let i = 0; i <= this.delays.length; i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, this.delays[i - 1]).unref());
      attempts++;
      try {
        await channel.send(notice);
        this.recordOutcome(channel, notice, attempts, null);
        return;
      } catch (failure) {
        error = errorText(failure);
      }
    }
    this.recordOutcome(channel, notice, attempts, error);
  }

  private recordOutcome(channel: Channel, notice: Notice, attempts: number, error: string | null): void {
    try {
      this.options.record([
        {
          type: 'notification',
          source: { kind: 'session', id: notice.sessionId },
          kind: notice.kind,
          channel: channel.kind,
          target: channel.target,
          ok: error === null,
          attempts,
          ...(notice.workerId ? { workerId: notice.workerId } : {}),
          ...(notice.blockerId ? { blockerId: notice.blockerId } : {}),
          text: notice.text,
          ...(error !== null ? { error } : {}),
        },
      ]);
    } catch {
      // The session's log is held by another process now: the notice went out all the same.
    }
  }
}

function errorText(error: unknown): string {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  const cause = e.cause ? ` (${e.cause.code ?? e.cause.message})` : '';
  return `${e.name === 'TimeoutError' ? 'timed out' : e.message}${cause}`;
}

/** The channels of `--notify` values (a URL, or `desktop`) and a spec's `notify` list, each once. */
export function channelsFor(
  targets: ReadonlyArray<NotifyTarget | string>,
  env: Record<string, string | undefined> = process.env,
): { channels: Channel[]; notes: string[] } {
  const channels: Channel[] = [];
  const notes: string[] = [];
  const seen = new Set<string>();
  for (const target of targets) {
    const key = typeof target === 'string' ? target : 'webhook' in target ? target.webhook : 'desktop';
    if (seen.has(key)) continue;
    seen.add(key);
    if (key === 'desktop') {
      const desktop = desktopChannel(env);
      if (desktop) channels.push(desktop);
      else
        notes.push('--notify desktop: neither notify-send nor osascript is on PATH, so no desktop notification shows');
    } else channels.push(webhookChannel(key));
  }
  return { channels, notes };
}
