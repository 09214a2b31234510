/**
 * One session's safety monitor: the policy on every batch of agent payloads, budgets on every usage change,
 * resource limits from /proc while workers run. It records `safety` events and, for `pause`/`stop`, sends the
 * session INTERVENE (the worker is paused or stopped, and a blocker raised with retry / skip / stop).
 *
 * This is detection after the fact: the agent reports a command when it runs it (or just before), usage when a
 * turn ends. What must not happen at all is the sandbox's job (src/safety/sandbox.ts).
 */
import type { AgentProcessInput } from '../actors/agent-process.js';
import { groupMembers, type ProcStat } from '../fs/proc.js';
import type { AgentPayload, BlockerKind, NewEvent, Usage } from '../domain/events.js';
import { addUsage } from '../domain/output-facts.js';
import type { SafetyAction, SafetySettings, SessionSpec } from '../domain/spec.js';
import type { SessionContext } from '../domain/supervisor/context.js';
import type { SessionRuntime } from '../runtime/session-runtime.js';
import {
  BUDGET_WARNING_FRACTION,
  describeBudgetWarning,
  describeCrossing,
  exceededBudgets,
  groupSample,
  ResourceTracker,
  type Crossing,
  type ResourceLimit,
} from './limits.js';
import { actionFor, checkPayloads, type PolicyContext, type Violation } from './policy.js';
import { RefusalReader } from './refusals.js';
import { safetyEvent } from './safety-event.js';

export { safetyEvent } from './safety-event.js';

export interface MonitorOptions {
  spec: SessionSpec;
  /** The policy context of one launch (its cwd and allowed roots). */
  policyContext(input: AgentProcessInput): PolicyContext;
  /** How often running workers' process groups are sampled (ms). */
  sampleMs?: number;
  readGroup?: (pgid: number) => ProcStat[];
  clockTicksPerSec?: number;
  pageSize?: number;
}

/** The blockers a monitor raises (budgets, resources, the policy). */
const MONITOR_BLOCKERS = new Set<BlockerKind>(['BUDGET_EXCEEDED', 'RESOURCE_LIMIT', 'SAFETY_VIOLATION']);

export class SafetyMonitor {
  private runtime: SessionRuntime | null = null;
  private readonly settings: Partial<SafetySettings>;
  /** Payloads already judged (codex reports a command when it starts and again when it ends). */
  private readonly seen = new Set<string>();
  /** Limits already reported (seeded from the log after a restart), so each crossing is acted on once. */
  private readonly crossed = new Set<string>();
  /** Budgets already told to be at 80% (BUDGET_WARNING_FRACTION), by crossing key. */
  private readonly warned = new Set<string>();
  private readonly trackers = new Map<string, ResourceTracker>();
  /** Usage of earlier incarnations of a worker (a worker retried after it failed starts counting anew). */
  private readonly usage = new Map<string, { incarnation: number; base: Usage; last: Usage }>();
  /** Blockers this monitor raised (id -> worker, or null for the session): their answers are followed up here. */
  private readonly raised = new Map<string, string | null>();
  private timer: NodeJS.Timeout | null = null;
  private offChange: (() => void) | null = null;
  private checkQueued = false;
  private readonly refusals = new RefusalReader({
    runtime: () => this.runtime,
    context: () => this.context(),
    record: (events) => this.record(events),
  });

  constructor(private readonly options: MonitorOptions) {
    this.settings = options.spec.safety ?? {};
  }

  attach(runtime: SessionRuntime): void {
    this.runtime = runtime;
    for (const event of runtime.readAfter(0)) {
      if (event.type === 'safety' && (event.rule === 'budget-exceeded' || event.rule === 'resource-limit'))
        this.crossed.add(event.subject);
      if (event.type === 'safety' && event.rule === 'budget-warning') this.warned.add(event.subject);
      this.refusals.count(event);
    }
    // Blockers raised here before a restart (a `--no-server` run that ended waiting, then `resolve` or
    // `resume`): their answers are followed up as if this monitor had raised them.
    for (const b of this.context()?.blockers ?? []) {
      if (b.open && MONITOR_BLOCKERS.has(b.kind)) this.raised.set(b.id, b.workerId ?? null);
    }
    this.offChange = runtime.onChange(() => this.onChange());
    this.onChange();
  }

  close(): void {
    this.offChange?.();
    this.offChange = null;
    this.stopSampling();
    this.refusals.close();
    this.runtime = null;
  }

  /**
   * Record what the agents' proxies refused (./refusals.ts): read when a worker's status changes, and every
   * `everyMs` for an agent that prints nothing meanwhile.
   */
  watchRefusals(everyMs = 500): void {
    if (!this.runtime) return;
    this.refusals.watch(everyMs);
  }

  /** Every batch of parsed payloads of a launch. */
  watchPayloads(runtime: SessionRuntime, input: AgentProcessInput, payloads: readonly AgentPayload[]): void {
    // A resumed session re-reads agent output as it starts, before attach(): act on it all the same.
    this.runtime ??= runtime;
    const fresh = payloads.filter((p) => {
      if ((p.kind !== 'command' && p.kind !== 'file_change' && p.kind !== 'tool_call') || !p.toolId) return true;
      const key = `${input.workerId}#${input.attempt}#${p.kind}#${p.toolId}`;
      if (this.seen.has(key)) return false;
      this.seen.add(key);
      return true;
    });
    // An interactive agent asks before a tool runs, and the permission rules (the built-in ones among them) decide
    // then: what it reports afterwards was allowed, so a violation is only recorded, never acted on twice.
    const violations = checkPayloads(fresh, this.options.policyContext(input)).map((v) =>
      input.interactive ? { ...v, action: 'log' as const } : v,
    );
    if (violations.length === 0) return;
    this.record(
      violations.map((v) => safetyEvent(v.rule, v.subject, v.action, `${v.severity}: ${v.detail}`, input.workerId)),
    );
    const act = strongest(violations.map((v) => v.action));
    if (act === 'log') return;
    const acted = violations.filter((v) => v.action !== 'log');
    this.intervene(input.workerId, act, {
      kind: 'SAFETY_VIOLATION',
      message: `${input.agent} worker ${input.workerId}: ${acted.map(describeViolation).join('; ')}`,
      action:
        act === 'stop'
          ? 'The worker was stopped. Check what it did (orchestrate logs), ' +
            'then answer retry to run it again, skip it, or stop the session.'
          : 'The worker is paused. Check what it did (orchestrate logs); ' +
            'answer retry to let it continue, skip to stop it, or stop the session.',
    });
  }

  // --- budgets and resources -------------------------------------------------------------------------

  private onChange(): void {
    const context = this.context();
    if (!context) return;
    this.refusals.onChange(context);
    this.watchBlockers(context);
    this.manageSampling(context);
    if (this.checkQueued) return;
    this.checkQueued = true;
    // After the step that changed the usage, not inside it.
    queueMicrotask(() => {
      this.checkQueued = false;
      this.checkBudgets();
    });
  }

  private checkBudgets(): void {
    const context = this.context();
    if (!context) return;
    const limits = this.options.spec.limits;
    if (
      limits.maxCostUsd === undefined &&
      limits.maxTokens === undefined &&
      limits.session?.maxCostUsd === undefined &&
      limits.session?.maxTokens === undefined
    )
      return;
    const byWorker: Record<string, Usage> = {};
    for (const w of Object.values(context.workers)) byWorker[w.id] = this.foldUsage(w.id, w.incarnation, w.usage);
    const exceeded = exceededBudgets(byWorker, limits);
    // Nearly spent: said once (a notification), unless it is spent already, which says more.
    for (const crossing of exceededBudgets(byWorker, limits, BUDGET_WARNING_FRACTION)) {
      if (this.warned.has(crossing.key)) continue;
      this.warned.add(crossing.key);
      if (exceeded.some((c) => c.key === crossing.key)) continue;
      const detail = describeBudgetWarning(crossing);
      this.record([
        safetyEvent('budget-warning', crossing.key, 'warn', detail, crossing.workerId, this.runtime?.sessionId),
      ]);
    }
    for (const crossing of exceeded) this.onCrossing('budget-exceeded', crossing);
  }

  private foldUsage(workerId: string, incarnation: number, usage: Usage): Usage {
    const known = this.usage.get(workerId);
    if (!known) {
      this.usage.set(workerId, { incarnation, base: {}, last: usage });
      return usage;
    }
    if (incarnation !== known.incarnation) {
      known.base = addUsage(known.base, known.last);
      known.incarnation = incarnation;
    }
    known.last = usage;
    return addUsage(known.base, usage);
  }

  private manageSampling(context: SessionContext): void {
    const { maxRssMb, maxCpuPercent } = this.options.spec.limits;
    if (maxRssMb === undefined && maxCpuPercent === undefined) return;
    const running = Object.values(context.workers).some((w) => w.status === 'running');
    if (running && !this.timer) {
      this.timer = setInterval(() => this.sample(), this.options.sampleMs ?? 2000);
      this.timer.unref();
    } else if (!running) this.stopSampling();
  }

  private stopSampling(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const tracker of this.trackers.values()) tracker.reset();
  }

  private sample(): void {
    const context = this.context();
    const runtime = this.runtime;
    if (!context || !runtime) return;
    const { maxRssMb, maxCpuPercent } = this.options.spec.limits;
    for (const w of Object.values(context.workers)) {
      let tracker = this.trackers.get(w.id);
      if (w.status !== 'running') {
        tracker?.reset();
        continue;
      }
      const record = runtime.procRecords(w.id).findLast((r) => r.attempt === w.attempt);
      if (!record) continue;
      const members = (this.options.readGroup ?? groupMembers)(record.pgid);
      if (members.length === 0) continue;
      if (!tracker) {
        const above = (['maxRssMb', 'maxCpuPercent'] as ResourceLimit[]).filter((l) =>
          this.crossed.has(`${l}@${w.id}`),
        );
        tracker = new ResourceTracker(w.id, { maxRssMb, maxCpuPercent }, this.options.clockTicksPerSec ?? 100, above);
        this.trackers.set(w.id, tracker);
      }
      for (const crossing of tracker.add(groupSample(members, Date.now(), this.options.pageSize ?? 4096)))
        this.onCrossing('resource-limit', crossing);
    }
  }

  private onCrossing(rule: 'budget-exceeded' | 'resource-limit', crossing: Crossing): void {
    // Resources may cross again after going back under; budgets only grow, so once is all.
    if (rule === 'budget-exceeded' && this.crossed.has(crossing.key)) return;
    this.crossed.add(crossing.key);
    const act = actionFor(rule, this.settings.rules);
    const detail = describeCrossing(crossing);
    this.record([safetyEvent(rule, crossing.key, act, detail, crossing.workerId, this.runtime?.sessionId)]);
    if (act === 'log') return;
    const kind: BlockerKind = rule === 'budget-exceeded' ? 'BUDGET_EXCEEDED' : 'RESOURCE_LIMIT';
    const who = crossing.workerId ? 'it' : 'the session';
    const action =
      act === 'stop'
        ? `Stopped. Raise ${crossing.limit} in the spec's limits if this was expected, ` +
          `then answer retry to run it again, or skip it.`
        : `${crossing.workerId ? 'The worker' : 'The session'} is paused. ` +
          `Answer retry to let ${who} go on (this limit is not enforced again for ${who}), ` +
          `skip, or stop; raise ${crossing.limit} in the spec's limits for next time.`;
    const message = `${detail[0]?.toUpperCase() ?? ''}${detail.slice(1)}`;
    if (crossing.workerId) {
      this.intervene(crossing.workerId, act, { kind, message, action });
      return;
    }
    if (act === 'stop') {
      this.send({ type: 'INTERVENE', act: 'stop', blocker: { kind, message, action } });
      return;
    }
    // Over the session's budget: nothing more of it may run (no new worker, review or relaunch) until a person says so.
    this.send({ type: 'PAUSE' });
    this.send({ type: 'INTERVENE', act: 'pause', blocker: { kind, message, action } });
    this.rememberBlocker(kind, null);
  }

  private rememberBlocker(kind: BlockerKind, workerId: string | null): void {
    const raised = this.context()?.blockers.findLast(
      (b) => b.kind === kind && (b.workerId ?? null) === workerId && b.open,
    );
    if (raised) this.raised.set(raised.id, workerId);
  }

  /**
   * Follow up a person's answer to a blocker raised here. Session budget: the machine resumes workers, not a
   * paused session, so RESUME it here. Worker: make sure `retry` resumes a paused worker even when the
   * session's record of its status lags (an output report can say `running` while it is paused).
   */
  private watchBlockers(context: SessionContext): void {
    for (const [id, workerId] of this.raised) {
      const blocker = context.blockers.find((b) => b.id === id);
      if (!blocker || blocker.open) continue;
      this.raised.delete(id);
      const choice = blocker.resolution?.choice;
      if (workerId === null) {
        if (choice !== 'stop' && context.mode === 'paused') queueMicrotask(() => this.send({ type: 'RESUME' }));
      } else if (choice === 'retry') {
        queueMicrotask(() => {
          if (this.actualStatus(workerId) === 'paused') this.send({ type: 'RESUME', workerId });
        });
      }
    }
  }

  /** The worker's status from its own snapshot (the session's copy is what it last reported). */
  private actualStatus(workerId: string): string | undefined {
    const runtime = this.runtime;
    if (!runtime || runtime.detached) return undefined;
    return runtime.view().workers.find((w) => w.id === workerId)?.status;
  }

  // --- effects -----------------------------------------------------------------------------------------

  private intervene(
    workerId: string,
    act: Exclude<SafetyAction, 'log'>,
    blocker: { kind: BlockerKind; message: string; action: string },
  ): void {
    const context = this.context();
    // A worker already paused for the same reason needs no second blocker for the lines it printed meanwhile.
    if (
      act === 'pause' &&
      context?.blockers.some((b) => b.open && b.workerId === workerId && b.kind === blocker.kind) &&
      this.actualStatus(workerId) === 'paused'
    )
      return;
    this.send({ type: 'INTERVENE', workerId, act, blocker });
    this.rememberBlocker(blocker.kind, workerId);
  }

  private send(event: Parameters<SessionRuntime['send']>[0]): void {
    const runtime = this.runtime;
    if (!runtime || runtime.detached) return;
    try {
      runtime.send(event);
    } catch {
      // The session ended in this process meanwhile: nothing left to pause.
    }
  }

  private record(events: NewEvent[]): void {
    if (this.runtime && !this.runtime.detached) this.runtime.record(events);
  }

  private context(): SessionContext | null {
    const runtime = this.runtime;
    if (!runtime || runtime.detached) return null;
    return runtime.supervisor() as SessionContext;
  }
}

function strongest(actions: SafetyAction[]): SafetyAction {
  return actions.includes('stop') ? 'stop' : actions.includes('pause') ? 'pause' : 'log';
}

function describeViolation(v: Violation): string {
  const subject = v.subject.length > 300 ? `${v.subject.slice(0, 299)}…` : v.subject;
  return v.rule === 'write-outside-target'
    ? `wrote \`${subject}\` (${v.rule}: ${v.detail})`
    : `ran \`${subject}\` (${v.rule}: ${v.detail})`;
}
