/**
 * The session view: what people and programs see of a session (`orchestrate status`, GET /api/v1/{sid}/state, the
 * SSE `snapshot`, the dashboard), and the one fold that moves it forward with the session's events. Pure, and
 * free of Node: the runtime builds a view from a persisted snapshot (src/runtime/view.ts), the dashboard (web/)
 * folds the events that come after it with foldSessionEvent, and both read worker statuses, final states and the
 * progress cap from domain/worker-status.ts.
 */
import type { BlockerFields, Decision, FailureSignal, OrchestratorEvent, Usage } from './events.js';
import type { ChangeStat } from './isolation.js';
import { type DescribeStyle, describePayload, PLAIN_STYLE } from './output-facts.js';
import { isFinalWorkerStatus, PLAN_PROGRESS_CAP, type WorkerStatus, workerStatusOf } from './worker-status.js';

export interface WorkerView {
  id: string;
  agent: string;
  role: string;
  kind: 'worker' | 'reviewer';
  roundId: string | null;
  status: WorkerStatus;
  state: string;
  progress: number;
  plan: { done: number; total: number } | null;
  attempt: number;
  pid: number | null;
  agentSessionId: string | null;
  dependsOn: string[];
  usage: Usage;
  lastActivity: string | null;
  summary: string | null;
  lastFailure: FailureSignal | null;
  blockerId: string | null;
  reason: string | null;
  fixes: Record<string, boolean>;
  filesChanged: string[];
  /**
   * Its branch and change so far (start..head), in a session with checkouts; null in place or before its first attempt.
   */
  change: ChangeStat | null;
  /** The agents that review it (the spec's reviews; a conflict resolver gets those of the worker it resolves for). */
  reviewers: string[];
  /** `interactive`: its agent asks before it acts and takes messages while it runs (docs/permissions.md). */
  mode: 'interactive' | 'exec';
  /** Waiting to be relaunched after a failure (its backoff, or the time its agent said to retry): until when. */
  retryAt: string | null;
}

/** Where the session's agents work: checkouts of their own from a base, or the target itself. */
export type WorkspaceView =
  | {
      mode: 'checkouts';
      base: { commit: string; summary: string };
      /** `<workspace>/checkouts/<sid>`: one checkout per worker and reviewer, and `_result`. */
      checkouts: string;
      /** orch/<sid>/_result once the workers' branches are integrated. */
      result: {
        branch: string;
        status: 'pending' | 'blocked' | 'done';
        head: string | null;
        change: { files: number; additions: number; deletions: number } | null;
        excluded: string[];
      };
    }
  | { mode: 'in-place'; reason: string };

/** A blocker as the view shows it (the session machine's BlockerRecord): its fields, its id, open or answered. */
export type BlockerView = BlockerFields & { id: string; open: boolean };

/** A review round, with the round machine's state while it runs (`requesting`, `collecting` ...), else `done`. */
export interface RoundView {
  roundId: string;
  targets: string[];
  reason: string;
  decision: Decision | null;
  state: string;
}

/**
 * A budget as the spec's limits give it (domain/spec.ts, which the view does not import: its zod schemas and prompts
 * are no business of the browser).
 */
export interface BudgetLimits {
  maxCostUsd?: number;
  maxTokens?: number;
}

export type SessionOutcome = 'completed' | 'partial' | 'stopped' | 'escalated' | null;

export interface SessionView {
  sessionId: string;
  createdAt: string;
  task: string;
  targetDir: string;
  baseCommit: string | null;
  workspace: WorkspaceView;
  state: string;
  outcome: SessionOutcome;
  stopReason: string | null;
  workers: WorkerView[];
  blockers: BlockerView[];
  rounds: RoundView[];
  usage: Usage;
  /**
   * What usage and resources are judged against (src/safety, docs/security.md): crossings are safety events and
   * blockers.
   */
  limits: BudgetLimits & { maxRssMb?: number; maxCpuPercent?: number; session: BudgetLimits };
  lastSeq: number;
}

/** A line of `orchestrate status` and of GET /api/v1/sessions. */
export interface SessionSummary {
  sessionId: string;
  createdAt: string;
  task: string;
  targetDir: string;
  state: string;
  outcome: SessionView['outcome'];
  /** The session runs in this process (its controls work here). */
  live: boolean;
  /** The process that runs it, this one or another (null: none does). */
  runner: { pid: number; host: string | null; serverUrl: string | null } | null;
  workers: Array<{ id: string; agent: string; status: string; progress: number }>;
  openBlockers: number;
}

/** The text of a state value as views and `state` events carry it: `running.paused`, `a.b,c.d`. */
export function stateValueString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object')
    return Object.entries(value)
      .map(([k, v]) => `${k}.${stateValueString(v)}`)
      .join(',');
  return String(value);
}

/**
 * Fold one event into a view, in place: what each kind of event says about the workers, blockers, rounds and the
 * result. Idempotent for events the view already includes. `style` draws a worker's last activity. Worker fields
 * that only the machines' context holds (pid, usage, fixes...) stay as the view had them, but for the pid of a
 * worker that ended.
 */
export function foldSessionEvent(view: SessionView, e: OrchestratorEvent, style: DescribeStyle = PLAIN_STYLE): void {
  const worker = (id: string | undefined) => (id === undefined ? undefined : view.workers.find((w) => w.id === id));
  switch (e.type) {
    case 'state': {
      if (e.machine === 'session') {
        view.state = e.to;
      } else if (e.machine === 'worker') {
        let w = worker(e.id);
        if (!w) {
          w = placeholderWorker(e.id);
          view.workers.push(w);
        }
        w.state = e.to;
        w.status = w.status === 'skipped' ? 'skipped' : workerStatusOf(e.to);
        if (typeof e.progress === 'number') w.progress = e.progress;
        if (w.status === 'completed') w.progress = 1;
        if (w.status !== 'blocked') w.blockerId = null;
        if (isFinalWorkerStatus(w.status)) w.pid = null;
      } else if (e.machine === 'review') {
        const round = view.rounds.find((r) => r.roundId === e.id);
        if (!round) view.rounds.push(roundFromEvents({ roundId: e.id, targets: [], reason: '', decision: null }));
      }
      break;
    }
    case 'agent': {
      const w = worker(e.workerId);
      if (!w) break;
      if (e.kind !== 'usage' && e.kind !== 'unknown') w.lastActivity = describePayload(e, style);
      if (e.kind === 'plan' && Array.isArray(e.items) && e.items.length > 0) {
        const done = e.items.filter((i) => i.done).length;
        w.plan = { done, total: e.items.length };
        w.progress = Math.max(w.progress ?? 0, Math.min(PLAN_PROGRESS_CAP, done / e.items.length));
      }
      if (e.kind === 'result' && e.ok && e.text) w.summary = e.text;
      break;
    }
    case 'blocker': {
      const existing = view.blockers.find((b) => b.id === e.blockerId);
      if (e.resolution) {
        if (existing) {
          existing.open = false;
          existing.resolution = e.resolution;
        }
      } else if (!existing) {
        view.blockers.push({
          id: e.blockerId,
          kind: e.kind,
          ...(e.workerId ? { workerId: e.workerId } : {}),
          ...(e.roundId ? { roundId: e.roundId } : {}),
          ...(e.targets ? { targets: e.targets } : {}),
          ...(e.conflict ? { conflict: e.conflict } : {}),
          message: e.message,
          action: e.action,
          options: e.options,
          open: true,
        });
        const w = e.workerId ? worker(e.workerId) : undefined;
        if (w) w.blockerId = e.blockerId;
      }
      break;
    }
    case 'decision': {
      if (e.roundId === 'none') break;
      const round = view.rounds.find((r) => r.roundId === e.roundId);
      if (round) round.decision = e.decision;
      else
        view.rounds.push(
          roundFromEvents({ roundId: e.roundId, targets: e.target.split(','), reason: '', decision: e.decision }),
        );
      break;
    }
    case 'recovery': {
      const w = worker(e.workerId);
      if (w) w.lastFailure = e.signal;
      // Until the next view says otherwise: relaunched after its backoff.
      if (w && e.backoffMs !== undefined) w.retryAt = new Date(Date.parse(e.ts) + e.backoffMs).toISOString();
      break;
    }
    case 'workspace': {
      // The rest comes with the next view; these make a worker's +/- and the result move with the event itself.
      if (e.action === 'commit' && e.workerId && e.change) {
        const w = worker(e.workerId);
        if (w)
          w.change = {
            branch: e.branch ?? w.change?.branch ?? '',
            start: w.change?.start ?? null,
            head: e.commit ?? w.change?.head ?? null,
            ...e.change,
          };
      } else if (e.action === 'integrate' && view.workspace?.mode === 'checkouts') {
        view.workspace = {
          ...view.workspace,
          result: {
            ...view.workspace.result,
            status: 'done',
            head: e.commit ?? view.workspace.result.head,
            change: e.change ?? view.workspace.result.change,
          },
        };
      }
      break;
    }
    default:
      break;
  }
}

/** A round the view did not know: no event says its machine's state, so it has none until the next view. */
const roundFromEvents = (round: Omit<RoundView, 'state'>) => round as RoundView;

/** A worker the view does not know yet (a reviewer launched since): r<round>-<agent>-<target>. */
export function placeholderWorker(id: string): WorkerView {
  const m = /^r(\d+)-([a-z][a-z0-9-]*?)-(.+)$/.exec(id);
  return {
    id,
    agent: m?.[2] ?? '?',
    role: m ? 'reviewer' : 'worker',
    kind: m ? 'reviewer' : 'worker',
    roundId: m ? `round-${m[1]}` : null,
    status: 'spawned',
    state: 'spawned',
    progress: 0,
    plan: null,
    attempt: 1,
    pid: null,
    agentSessionId: null,
    dependsOn: [],
    usage: {},
    lastActivity: null,
    summary: null,
    lastFailure: null,
    blockerId: null,
    reason: null,
    fixes: {},
    filesChanged: [],
    change: null,
    reviewers: [],
    mode: 'exec',
    retryAt: null,
  };
}
