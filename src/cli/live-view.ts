/**
 * The terminal view of a running session. On a terminal: notable events scroll by, and below them a block
 * with a line per worker (state, progress bar, last activity) redrawn in place. Elsewhere (pipes, CI logs):
 * the notable events and state changes only, one line each.
 */
import type { OrchestratorEvent, Usage } from '../domain/events.js';
import { describePermissionEvent } from '../domain/permission-rules.js';
import type { SessionRuntime } from '../runtime/session-runtime.js';
import type { SessionView, WorkerView } from '../runtime/view.js';
import { fit, visibleLength, type Style } from './style.js';

const REDRAW_MS = 100;

export class LiveView {
  private blockLines = 0;
  private timer: NodeJS.Timeout | null = null;
  private dirty = false;
  private unsubscribe: (() => void) | null = null;
  private offChange: (() => void) | null = null;
  private readonly startedAt = Date.now();

  constructor(
    private readonly runtime: SessionRuntime,
    private readonly out: NodeJS.WriteStream,
    private readonly style: Style,
    private readonly tty: boolean,
  ) {}

  /** Show events after `afterSeq` (those before were printed already or are not interesting). */
  start(afterSeq = 0): void {
    for (const event of this.runtime.store.log.readAfter(afterSeq)) this.onEvent(event);
    this.unsubscribe = this.runtime.store.log.subscribe((events) => {
      for (const event of events) this.onEvent(event);
    });
    this.offChange = this.runtime.onChange(() => this.markDirty());
    if (this.tty) {
      this.timer = setInterval(() => this.redrawIfDirty(), REDRAW_MS);
      this.timer.unref();
      this.redraw();
    }
  }

  stop(): void {
    this.unsubscribe?.();
    this.offChange?.();
    if (this.timer) clearInterval(this.timer);
    if (this.tty) {
      this.redraw();
      this.out.write('\n');
      this.blockLines = 0;
    }
  }

  /** Print a line above the block (or just a line when there is no block). */
  print(line: string): void {
    if (!this.tty) {
      this.out.write(`${line}\n`);
      return;
    }
    this.clearBlock();
    this.out.write(`${line}\n`);
    this.drawBlock();
  }

  private onEvent(event: OrchestratorEvent): void {
    const line = describeNotable(event, this.style);
    if (line) this.print(line);
    else this.markDirty();
  }

  private markDirty(): void {
    this.dirty = true;
  }

  private redrawIfDirty(): void {
    if (this.dirty) this.redraw();
  }

  private redraw(): void {
    this.dirty = false;
    this.clearBlock();
    this.drawBlock();
  }

  private clearBlock(): void {
    if (this.blockLines === 0) return;
    // Up to the first line of the block, then clear to the end of the screen.
    this.out.write(`\u001b[${this.blockLines}F\u001b[0J`);
    this.blockLines = 0;
  }

  private drawBlock(): void {
    const view = this.runtime.view();
    const width = Math.max(40, (this.out.columns ?? 100) - 1);
    const s = this.style;
    const elapsed = formatDuration(Date.now() - this.startedAt);
    const lines = [
      s.dim('─'.repeat(Math.min(width, 100))),
      `${s.bold('session')} ${view.sessionId}  ${stateColor(view.state, s)}  ${s.dim(elapsed)}`,
    ];
    for (const w of view.workers) {
      if (w.kind === 'reviewer' && ['completed', 'stopped', 'skipped'].includes(w.status)) continue;
      lines.push(fit(workerLine(w, s, width), width));
    }
    this.out.write(`${lines.join('\n')}\n`);
    this.blockLines = lines.length;
  }
}

/**
 * What a worker row shows at a terminal width: the id, state and percentage always, then as much of its activity
 * as fits. From 100 columns the agent and a short bar join them, from 120 the role and the full bar.
 */
function rowLayout(width: number): { id: number; who: 'agent/role' | 'agent' | null; bar: number } {
  // `width` is what a row may use: the terminal's columns less one (the view keeps the last column free).
  if (width >= 119) return { id: 26, who: 'agent/role', bar: 14 };
  if (width >= 99) return { id: 20, who: 'agent', bar: 8 };
  return { id: 16, who: null, bar: 0 };
}

export function workerLine(w: WorkerView, s: Style, width = 120): string {
  const layout = rowLayout(width);
  const name = padFit(`${w.kind === 'reviewer' ? '  ↳ ' : ''}${w.id}`, layout.id);
  const who =
    layout.who === 'agent/role'
      ? `${padFit(`${w.agent}/${w.role}`, 20)} `
      : layout.who === 'agent'
        ? `${padFit(w.agent, 7)} `
        : '';
  const status = stateColor(w.status, s, 11);
  const pct = `${String(Math.round(Math.max(0, Math.min(1, w.progress)) * 100)).padStart(3)}%`;
  const bar = layout.bar > 0 ? progressBar(w.progress, layout.bar) : pct;
  const attempt = w.attempt > 1 ? s.yellow(` #${w.attempt}`) : '';
  const activity =
    w.status === 'blocked' && w.lastFailure
      ? s.red(`${w.lastFailure.kind}: ${w.lastFailure.message}`)
      : s.dim(w.lastActivity ?? '');
  const head = `${name} ${who}${status} ${bar}${attempt} `;
  return `${head}${fit(activity, Math.max(0, width - visibleLength(head)))}`;
}

/** `text` in exactly `width` columns: padded, or cut with an ellipsis. */
function padFit(text: string, width: number): string {
  return text.length <= width ? text.padEnd(width) : `${text.slice(0, width - 1)}…`;
}

export function progressBar(progress: number, width: number): string {
  const filled = Math.round(Math.max(0, Math.min(1, progress)) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round(progress * 100)).padStart(3)}%`;
}

export function stateColor(state: string, s: Style, pad = 0): string {
  const text = state.padEnd(pad);
  if (state.startsWith('completed')) return s.green(text);
  if (state.startsWith('running')) return s.cyan(text);
  if (['blocked', 'failed', 'stopped', 'stopping', 'waiting'].some((x) => state.startsWith(x))) return s.red(text);
  if (['recovering', 'paused', 'reviewing', 'partial', 'integrating'].some((x) => state.startsWith(x)))
    return s.yellow(text);
  return s.dim(text);
}

/** One line for the events a person watching should notice; null for the rest. */
export function describeNotable(event: OrchestratorEvent, s: Style): string | null {
  switch (event.type) {
    case 'state':
      // A worker's birth (∅ -> spawned) is implied by its first real transition; review rounds show through
      // their reviewers, reviews and decisions.
      if (event.machine === 'worker' && event.from === null) return null;
      if (event.machine === 'worker' || event.machine === 'session') return describeState(event, s);
      return null;
    case 'recovery':
      return (
        `${s.dim(time(event.ts))} ${s.yellow('↻ recovery')} ${event.workerId}: ${event.signal.kind} → ` +
        `${event.action}${event.backoffMs ? ` in ${formatDuration(event.backoffMs)}` : ''}` +
        `${event.change ? ` (${event.change})` : ''} ` +
        `${s.dim(`attempt ${event.attempt}: ${event.signal.message.slice(0, 160)}`)}`
      );
    case 'blocker':
      if (event.resolution)
        return (
          `${s.dim(time(event.ts))} ${s.green('✓ answered')} ${event.blockerId} ${event.kind}: ` +
          `${event.resolution.choice}${event.resolution.text ? ` "${event.resolution.text.slice(0, 80)}"` : ''}`
        );
      return (
        `${s.dim(time(event.ts))} ${s.red(`⛔ ${event.kind}`)} ${event.blockerId}` +
        `${event.workerId ? ` ${event.workerId}` : ''}: ${event.message}\n   ${s.bold('→')} ${event.action}`
      );
    case 'review':
      return (
        `${s.dim(time(event.ts))} ${s.magenta('✎ review')} ${event.reviewer} on ` +
        `${event.target} (${event.focus}): ${verdictColor(event.verdict.verdict, s)}` +
        `${event.valid ? '' : s.dim(' (no valid verdict)')} ${s.dim(event.verdict.summary.slice(0, 160))}`
      );
    case 'decision': {
      const { approve, concern, blocker } = event.counts;
      const counts = `(${approve} approve, ${concern} concern, ${blocker} blocker)`;
      return (
        `${s.dim(time(event.ts))} ${s.magenta('⚖ decision')} ${event.roundId} ${event.target}: ` +
        `${s.bold(event.decision)} ${s.dim(`${counts} ${event.action}`)}`
      );
    }
    case 'safety': {
      if (event.rule === 'sandbox') {
        const mark = event.action === 'warn' ? s.yellow('⚠ sandbox') : s.cyan('⛨ sandbox');
        return `${s.dim(time(event.ts))} ${mark} ${event.subject.replace(' -> ', ' → ')}: ${s.dim(event.detail)}`;
      }
      const mark =
        event.action === 'log'
          ? s.cyan('• safety')
          : event.action === 'warn'
            ? s.yellow('⚠ safety')
            : s.red('⚠ safety');
      return (
        `${s.dim(time(event.ts))} ${mark} ${event.workerId ? `${event.workerId} ` : ''}` +
        `${event.rule}: ${event.action} ${s.dim(event.subject.slice(0, 160))}`
      );
    }
    case 'permission': {
      const mark =
        event.decision === 'allow'
          ? s.cyan('✓ permission')
          : event.decision === 'ask'
            ? s.yellow('? permission')
            : s.red('✗ permission');
      return `${s.dim(time(event.ts))} ${mark} ${event.workerId} ${describePermissionEvent(event)}`;
    }
    case 'notification':
      return event.ok
        ? `${s.dim(time(event.ts))} ${s.cyan('✉ notified')} ${event.kind} via ${event.channel} ${s.dim(event.target)}`
        : `${s.dim(time(event.ts))} ${s.yellow('✉ not notified')} ${event.kind} via ${event.channel} ` +
            `${s.dim(`${event.target}: ${event.error ?? 'failed'} (${event.attempts} tries)`)}`;
    default:
      return null;
  }
}

/**
 * Any state change as one line: `session: ∅ → created`, `impl: ∅ → spawned`, `round-1: requesting → collecting
 * (ROUND.LAUNCHED)`. The first state of a machine (from null, cause xstate.init) shows as `∅ → <state>`.
 */
export function describeState(event: Extract<OrchestratorEvent, { type: 'state' }>, s: Style): string {
  const who = event.machine === 'session' ? s.bold('session') : event.id;
  const cause =
    event.machine !== 'session' && event.cause && event.cause !== 'xstate.init' ? s.dim(` (${event.cause})`) : '';
  return `${s.dim(time(event.ts))} ${who}: ${event.from ?? '∅'} → ${stateColor(event.to, s)}${cause}`;
}

function verdictColor(verdict: string, s: Style): string {
  return verdict === 'approve' ? s.green(verdict) : verdict === 'concern' ? s.yellow(verdict) : s.red(verdict);
}

/** The local time of an event, HH:MM:SS. */
export function time(ts: string): string {
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? '--:--:--' : d.toTimeString().slice(0, 8);
}

/**
 * 1234567 as `1,234,567`. What `toLocaleString('en-US')` prints, without loading ICU's number formats at the first
 * call (19 ms of a cold `orchestrate status SID`).
 */
export function grouped(n: number): string {
  if (!Number.isSafeInteger(n)) return n.toLocaleString('en-US');
  return String(n).replace(/\B(?=(\d{3})+$)/g, ',');
}

/**
 * A worker's usage as status and the end-of-run summary show it: `2,482 tokens, $0.3184`, `18,744 tokens`,
 * `$0.0100`, or '' when the agent reported none. Tokens: the agent's total, else input + output.
 */
export function formatUsage(usage: Usage): string {
  const tokens = usage.totalTokens ?? (usage.inputTokens ?? 0) + (usage.outputTokens ?? 0);
  return [
    tokens > 0 ? `${grouped(tokens)} tokens` : '',
    usage.costUsd !== undefined ? `$${usage.costUsd.toFixed(4)}` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

/**
 * The budget and resource limits of a session's spec, as status shows them beside its usage: `session $5.00,
 * 1,000,000 tokens; per worker $1.00; 2,048 MB RSS, 150% CPU`, or '' when the spec sets none.
 */
export function formatLimits(limits: SessionView['limits']): string {
  const budget = (b: { maxCostUsd?: number; maxTokens?: number }) =>
    [
      b.maxCostUsd !== undefined ? `$${b.maxCostUsd.toFixed(2)}` : '',
      b.maxTokens !== undefined ? `${grouped(b.maxTokens)} tokens` : '',
    ]
      .filter(Boolean)
      .join(', ');
  const resources = [
    limits.maxRssMb !== undefined ? `${grouped(limits.maxRssMb)} MB RSS` : '',
    limits.maxCpuPercent !== undefined ? `${limits.maxCpuPercent}% CPU` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return [
    budget(limits.session ?? {}) && `session ${budget(limits.session ?? {})}`,
    budget(limits) && `per worker ${budget(limits)}`,
    resources && `per worker ${resources}`,
  ]
    .filter(Boolean)
    .join('; ');
}

export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}
