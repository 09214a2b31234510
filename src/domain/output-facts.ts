/**
 * What a worker needs to know about its agent's output, folded from the normalized payloads of one attempt:
 * the agent's own session id (for native resume), plan progress, the final summary (for reviews and the
 * next worker), cumulative usage (for budgets), and a one-line description of the latest activity.
 */
import type { AgentPayload, OrchestratorEvent, Usage } from './events.js';

export interface OutputFacts {
  agentSessionId?: string;
  model?: string;
  plan?: { done: number; total: number };
  /** Substantive steps seen (messages, tool calls, commands, file changes): progress when there is no plan. */
  steps: number;
  lastActivity?: string;
  /** The agent's final answer: its result text, else its last assistant message (gemini deltas joined). */
  finalText?: string;
  resultOk?: boolean;
  /** Totals for this attempt, as the agent last reported them. */
  usage?: Usage;
  lineCount: number;
  filesChanged: string[];
}

const RECENT_LIMIT = 200;
/** The payload kinds adapters classify a failure from (payloadEvidence, and the last result). */
const EVIDENCE: ReadonlySet<AgentPayload['kind']> = new Set(['result', 'error', 'malformed']);
const FILES_LIMIT = 200;
const FINAL_TEXT_LIMIT = 20_000;

export class OutputTracker {
  private state: OutputFacts = { steps: 0, lineCount: 0, filesChanged: [] };
  /**
   * The payloads a failure is classified from (results, errors, unparsed lines), each with its place in the run. Only
   * these are kept: holding every payload of the last few hundred made each one outlive the young generation, and the
   * copying of them was most of every scavenge's pause while an agent talked.
   */
  private evidence: Array<{ at: number; payload: AgentPayload }> = [];
  private payloadCount = 0;
  /** The assistant message being streamed in deltas (gemini). */
  private assistantText = '';
  private lastWasDelta = false;
  private resultText: string | undefined;
  /** The latest payload, described only when the facts are asked for (most payloads are never described). */
  private lastPayload: AgentPayload | undefined;

  get lineCount(): number {
    return this.state.lineCount;
  }

  /** Fold payloads in; true when anything changed. */
  add(payloads: readonly AgentPayload[]): boolean {
    if (payloads.length === 0) return false;
    for (const payload of payloads) {
      this.fold(payload);
      this.payloadCount++;
      if (EVIDENCE.has(payload.kind)) this.evidence.push({ at: this.payloadCount, payload });
    }
    // The last RECENT_LIMIT payloads hold at most RECENT_LIMIT of these.
    if (this.evidence.length > RECENT_LIMIT * 2) this.evidence = this.evidence.slice(-RECENT_LIMIT);
    return true;
  }

  /** Of the run's last RECENT_LIMIT payloads, those a failure is classified from, in order (FailureInput.events). */
  recent(): AgentPayload[] {
    const from = this.payloadCount - RECENT_LIMIT;
    return this.evidence.filter((e) => e.at > from).map((e) => e.payload);
  }

  facts(): OutputFacts {
    const finalText = this.resultText || this.assistantText || undefined;
    return {
      ...this.state,
      ...(this.lastPayload ? { lastActivity: describePayload(this.lastPayload) } : {}),
      filesChanged: [...this.state.filesChanged],
      ...(finalText ? { finalText: finalText.slice(-FINAL_TEXT_LIMIT) } : {}),
    };
  }

  private fold(payload: AgentPayload): void {
    const s = this.state;
    s.lineCount++;
    this.lastPayload = payload;
    switch (payload.kind) {
      case 'init':
        if (payload.agentSessionId) s.agentSessionId = payload.agentSessionId;
        if (payload.model) s.model = payload.model;
        break;
      case 'message':
        if (payload.role !== 'assistant') break;
        s.steps++;
        if (payload.delta && this.lastWasDelta) this.assistantText += payload.text;
        else this.assistantText = payload.text;
        this.lastWasDelta = payload.delta === true;
        return;
      case 'plan':
        s.plan = { done: payload.items.filter((i) => i.done).length, total: payload.items.length };
        break;
      case 'tool_call':
      case 'command':
        s.steps++;
        break;
      case 'file_change':
        s.steps++;
        for (const change of payload.changes) {
          if (!s.filesChanged.includes(change.path) && s.filesChanged.length < FILES_LIMIT)
            s.filesChanged.push(change.path);
        }
        break;
      case 'usage':
        s.usage = payload.cumulative ? { ...payload.usage } : addUsage(s.usage, payload.usage);
        break;
      case 'result':
        s.resultOk = payload.ok;
        if (payload.text) this.resultText = payload.text;
        break;
      default:
        break;
    }
    this.lastWasDelta = false;
  }
}

/**
 * The output facts of each attempt of each worker, folded from a log's agent events: what a store reopening a
 * session hands each re-attached process actor (its snapshot may be older than the last events).
 */
export class AttemptOutputs {
  private trackers = new Map<string, OutputTracker>();

  add(event: OrchestratorEvent): void {
    if (event.type !== 'agent' || !event.at) return;
    const key = `${event.workerId}#${event.at.attempt}`;
    let tracker = this.trackers.get(key);
    if (!tracker) this.trackers.set(key, (tracker = new OutputTracker()));
    tracker.add([event as AgentPayload]);
  }

  /** The facts of one attempt, taken once: a second call gets undefined. */
  take(workerId: string, attempt: number): OutputTracker | undefined {
    const key = `${workerId}#${attempt}`;
    const tracker = this.trackers.get(key);
    this.trackers.delete(key);
    return tracker;
  }
}

export function addUsage(a: Usage | undefined, b: Usage | undefined): Usage {
  const out: Usage = { ...(a ?? {}) };
  for (const key of ['inputTokens', 'outputTokens', 'cachedInputTokens', 'reasoningTokens', 'costUsd'] as const) {
    const v = b?.[key];
    if (v !== undefined) out[key] = (out[key] ?? 0) + v;
  }
  // A total is the total of both sides: one that gives only input + output (claude, codex) counts with those,
  // or a session of a gemini worker (which gives a total) and a codex worker would count only gemini's tokens.
  if (a?.totalTokens !== undefined || b?.totalTokens !== undefined) out.totalTokens = tokensOf(a) + tokensOf(b);
  return out;
}

/** Tokens that count against a budget: the total when the agent gives one, else input + output. */
export function tokensOf(usage: Usage | undefined): number {
  if (!usage) return 0;
  return usage.totalTokens ?? (usage.inputTokens ?? 0) + (usage.outputTokens ?? 0);
}

/** The input fields that say what a tool call is about, most telling first (claude, gemini and codex tools). */
const TOOL_ARGUMENT_KEYS = [
  'command',
  'file_path',
  'absolute_path',
  'pattern',
  'query',
  'url',
  'path',
  'description',
  'prompt',
];

/** The main argument of a tool call: the file, the command, the pattern... (null when none is recognised). */
export function toolArgument(input: unknown): string | null {
  let value = input;
  if (typeof input === 'string') {
    // codex passes a function call's arguments as a JSON string.
    if (!input.trimStart().startsWith('{')) return input.trim() || null;
    try {
      value = JSON.parse(input);
    } catch {
      return input.trim() || null;
    }
  }
  if (!value || typeof value !== 'object') return null;
  const fields = value as Record<string, unknown>;
  for (const key of TOOL_ARGUMENT_KEYS) {
    const field = fields[key];
    if (typeof field === 'string' && field.trim()) return field.trim();
  }
  return null;
}

/** A tool's output in a few words: its first line, and how many more there are. */
export function outputSummary(output: string | undefined): string {
  const lines = (output ?? '').split('\n').filter((line) => line.trim() !== '');
  if (lines.length === 0) return 'no output';
  const first = lines[0]!.replace(/\s+/g, ' ').trim();
  const cut = first.length > 80 ? `${first.slice(0, 79)}…` : first;
  return lines.length > 1 ? `${cut} (+${lines.length - 1} lines)` : cut;
}

/**
 * How describePayload draws what differs between a terminal and a page: the arrow to a command's exit code,
 * and a usage report. The CLI's is plain ASCII and raw numbers; the dashboard's (web/) has its own.
 */
export interface DescribeStyle {
  arrow: string;
  usage(usage: Usage): string;
}

export const PLAIN_STYLE: DescribeStyle = {
  arrow: '->',
  usage: (usage) => {
    const cost = usage.costUsd !== undefined ? ` $${usage.costUsd.toFixed(4)}` : '';
    return `usage ${usage.inputTokens ?? 0} in / ${usage.outputTokens ?? 0} out${cost}`;
  },
};

/** One short line for a person: what the agent is doing now. */
export function describePayload(payload: AgentPayload, style: DescribeStyle = PLAIN_STYLE): string {
  const one = (text: string, limit = 140) => {
    const flat = text.replace(/\s+/g, ' ').trim();
    return flat.length > limit ? `${flat.slice(0, limit - 1)}…` : flat;
  };
  switch (payload.kind) {
    case 'init':
      return `started${payload.model ? ` (${payload.model})` : ''}`;
    case 'message':
      return `${payload.role === 'assistant' ? '' : `${payload.role}: `}${one(payload.text)}`;
    case 'reasoning':
      return `thinking: ${one(payload.text)}`;
    case 'tool_call': {
      const argument = toolArgument(payload.input);
      return `tool ${payload.name}${argument ? ` ${one(argument, 120)}` : ''}`;
    }
    case 'tool_result':
      return `tool result${payload.ok ? '' : ' (error)'}: ${outputSummary(payload.output)}`;
    case 'command': {
      const exit =
        payload.exitCode !== undefined && payload.exitCode !== null ? ` ${style.arrow} ${payload.exitCode}` : '';
      return `$ ${one(payload.command, 120)}${exit}`;
    }
    case 'file_change': {
      const verb = payload.status === 'proposed' ? 'writing' : 'changed';
      return `${verb} ${payload.changes.map((c) => c.path).join(', ')}`;
    }
    case 'plan':
      return `plan ${payload.items.filter((i) => i.done).length}/${payload.items.length}`;
    case 'usage':
      return style.usage(payload.usage);
    case 'error':
      return `${payload.retrying ? 'retrying' : payload.warning ? 'warning' : 'error'}: ${one(payload.message)}`;
    case 'result':
      return payload.ok ? 'finished' : `failed: ${one(payload.text ?? payload.reason ?? '')}`;
    case 'unknown':
      return `(${payload.originalType})`;
    case 'malformed':
      return `unparsed output: ${one(payload.line, 80)}`;
  }
}
