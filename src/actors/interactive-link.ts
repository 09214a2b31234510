/**
 * One interactive run's link to its agent (src/agents/conversation.ts): the FIFO its stdin relay reads, the
 * conversation over it, and the permission requests the agent makes before each tool runs.
 *
 * A request is decided at once by the permission rules (the host's `decidePermission`) and answered, or, when the
 * rules say `ask`, the worker is told (a blocker for a person) and the run clock holds until the answer comes. Each
 * decision is a `permission` event, written before the answer goes to the agent.
 *
 * After an orchestrator crash the link is made again from what is on disk: the agent's lines of this attempt are fed
 * to a new conversation (which so learns what is pending and what was said), the relay's sent log says what the
 * agent already got, and the session log says what was decided. Whatever was decided but not delivered is sent again
 * (the relay forwards an id once), a question a person had not answered is asked again, and a request nobody decided
 * is decided now.
 */
import type { AskedPermission, Conversation, Envelope, InteractiveProtocol } from '../agents/conversation.js';
import type { AgentAdapter } from '../agents/types.js';
import type { NewEvent } from '../domain/events.js';
import type { Decided } from '../domain/permission-rules.js';
import type { AgentProcessCommand, AgentProcessEvent, AgentProcessInput } from '../machines/agent-process-protocol.js';
import { randomUUID } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { AgentChannel, deliveredIds, makeFifo } from './agent-channel.js';
import type { RunClock } from './run-clock.js';

/** What the log says of one request of this attempt (src/runtime folds it from permission and blocker events). */
export interface PermissionRecord {
  decision?: 'allow' | 'deny';
  /** The decision has a `permission` event of its own (a person's answer may be only in its blocker's event). */
  recorded?: boolean;
  /** The rule a person allowed always with it. */
  rule?: string;
  /** A person was asked and has not answered (as far as the log knows). */
  asked?: boolean;
  reason?: string;
}

export interface LinkHost {
  decidePermission(input: AgentProcessInput, request: AskedPermission): Decided;
  permissionHistory?(workerId: string, attempt: number): Map<string, PermissionRecord>;
  publish(events: NewEvent[]): void;
}

/** The decision when the host has no rules (a test host): everything runs, as in exec mode. */
export const allowEverything = (): Decided => ({ decision: 'allow', rule: null, list: 'default' });

/** The complete lines of a file from `from` on, each with the offset just past it. */
export function readLines(path: string, from: number): Array<{ text: string; end: number }> {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const buffer = Buffer.alloc(Math.max(0, size - from));
    readSync(fd, buffer, 0, buffer.length, from);
    const lines: Array<{ text: string; end: number }> = [];
    let start = 0;
    for (let nl = buffer.indexOf(10); nl !== -1; nl = buffer.indexOf(10, start)) {
      lines.push({ text: buffer.toString('utf8', start, nl), end: from + nl + 1 });
      start = nl + 1;
    }
    return lines;
  } finally {
    closeSync(fd);
  }
}

export class InteractiveLink {
  private readonly conversation: Conversation;
  private channel: AgentChannel | null = null;
  /** Requests a person was asked about and has not answered: the clock holds for each. */
  private readonly asking = new Set<string>();
  /** After a re-attach: the lines up to here were fed to the conversation already (and which were protocol). */
  private replayedTo = -1;
  private readonly replayedProtocol = new Set<number>();
  private closed = false;

  constructor(
    private readonly host: LinkHost,
    private readonly input: AgentProcessInput,
    protocol: InteractiveProtocol,
    private readonly files: { stdin: string; sent: string },
    private readonly clock: RunClock,
    private readonly send: (event: AgentProcessEvent) => void,
  ) {
    this.conversation = protocol.conversation({
      cwd: input.launch.targetDir,
      seed: `${input.sessionId}/${input.workerId}/${input.attempt}`,
      home: process.env.HOME ?? input.launch.targetDir,
      launch: input.launch,
    });
  }

  /** Before a fresh launch: make the FIFO and put the prompt in (the relay reads it once it runs). */
  open(prompt: string): void {
    makeFifo(this.files.stdin);
    this.channel = new AgentChannel(this.files.stdin);
    this.write(this.conversation.opening(prompt));
  }

  /**
   * Re-attach to a running agent: `lines` are its lines of this attempt that the log already holds; `prompt` renders
   * the opening again if the agent never got it.
   */
  reattach(lines: ReadonlyArray<{ text: string; end: number }>, prompt: () => Promise<string>): void {
    makeFifo(this.files.stdin);
    this.channel = new AgentChannel(this.files.stdin);
    // A line the orchestrator that died left half-written in the pipe ends here, alone (the relay skips it).
    this.channel.newline();
    const delivered = deliveredIds(this.files.sent);
    const resend: Envelope[] = [];
    // The opening again, for its message ids; its text (rendered again) only when the agent never got the prompt
    // (before it, the agent cannot have asked or said anything; what the opening sends first goes again, once).
    this.conversation.opening('');
    if (!delivered.has('message:prompt'))
      prompt().then(
        (text) => this.write(this.conversation.opening(text)),
        // The agent never gets its prompt: it prints nothing, and the stall timer ends the attempt.
        () => undefined,
      );
    // The messages it got after the prompt wait for their turn's result too.
    for (const id of delivered)
      if (id.startsWith('message:') && id !== 'message:prompt') this.conversation.say('', id.slice(8));
    for (const line of lines) {
      const { consumed, steps } = this.conversation.onLine(line.text);
      if (consumed) this.replayedProtocol.add(line.end);
      this.replayedTo = line.end;
      for (const step of steps) if (step.kind === 'send') resend.push(...step.envelopes);
    }
    const history = this.host.permissionHistory?.(this.input.workerId, this.input.attempt) ?? new Map();
    for (const request of this.conversation.pending) {
      const known = history.get(request.requestId);
      if (known?.decision) {
        // Decided before the crash: a person's answer the log has but its event does not is recorded now, and the
        // session hears it (its blocker may still be open in the snapshot, the rule allowed always not yet added).
        if (!known.recorded)
          this.record(request, { decision: known.decision, by: 'person', ...(known.rule ? { rule: known.rule } : {}) });
        this.settled(request.requestId, known.rule ? 'allow-always' : known.decision, known.rule);
        resend.push(...this.conversation.answer(request.requestId, known.decision, known.reason));
      } else if (known?.asked) this.ask(request);
      else this.decide(request);
    }
    this.write(resend.filter((e) => !delivered.has(e.id)));
  }

  /** A line of the agent's stdout: true when it was the protocol's, not agent output. */
  onLine(line: string, end: number): boolean {
    if (end <= this.replayedTo) return this.replayedProtocol.has(end);
    const { consumed, steps, progress } = this.conversation.onLine(line);
    // Closed (the run ended, or its agent ended while nobody watched): a line is still told apart, never acted on.
    if (this.closed) return consumed;
    if (progress) this.clock.progress();
    for (const step of steps) {
      if (step.kind === 'send') this.write(step.envelopes);
      else if (step.kind === 'permission') this.decide(step.request);
      else {
        // Withdrawn (an interrupt): nobody needs to answer it, and its blocker closes.
        if (this.asking.delete(step.requestId)) this.clock.release();
        this.settled(step.requestId, 'withdrawn');
      }
    }
    return consumed;
  }

  /** What the worker tells the run's agent: a person's answer to a permission, a message. */
  command(
    command:
      | Extract<AgentProcessCommand, { type: 'PROCESS.ANSWER' }>
      | Extract<AgentProcessCommand, { type: 'PROCESS.SAY' }>,
  ): void {
    if (command.type === 'PROCESS.ANSWER') this.answered(command);
    else this.say(command.text);
  }

  /**
   * A message into the running agent, recorded as the user's message of its conversation. Its key is new for good
   * (a message is never sent again after a crash, so nothing has to recognize it then).
   */
  say(text: string): void {
    const envelopes = this.conversation.say(text, randomUUID());
    if (envelopes === null) return;
    this.host.publish([
      {
        type: 'agent',
        source: { kind: 'worker', id: this.input.workerId },
        agent: this.input.agent,
        workerId: this.input.workerId,
        kind: 'message',
        role: 'user',
        text,
      },
    ]);
    this.write(envelopes);
  }

  /** A person answered (the session's PERMISSION_REQUEST blocker). */
  answered(answer: {
    requestId: string;
    decision: 'allow' | 'deny';
    blockerId: string;
    rule?: string;
    by?: string;
  }): void {
    const request = this.conversation.pending.find((r) => r.requestId === answer.requestId);
    if (!request) return;
    const reason = answer.decision === 'deny' ? `Denied by ${answer.by ?? 'a person'} (orchestrator).` : undefined;
    this.record(request, {
      decision: answer.decision,
      by: 'person',
      blockerId: answer.blockerId,
      ...(answer.rule ? { rule: answer.rule } : {}),
      ...(answer.by ? { person: answer.by } : {}),
      ...(reason ? { reason } : {}),
    });
    this.write(this.conversation.answer(request.requestId, answer.decision, reason));
    if (this.asking.delete(request.requestId)) this.clock.release();
  }

  /** Ask the agent to end its turn through the protocol (a stop); false when there is nothing to interrupt. */
  interrupt(): boolean {
    if (this.closed || !this.channel) return false;
    const envelopes = this.conversation.interrupt(randomUUID());
    this.write(envelopes);
    return envelopes.length > 0;
  }

  close(): void {
    this.closed = true;
    this.channel?.close();
    this.channel = null;
  }

  /** Tell the session a request needs nobody any more: decided before a restart, or withdrawn by the agent. */
  private settled(requestId: string, settled: 'allow' | 'deny' | 'allow-always' | 'withdrawn', rule?: string): void {
    this.send({
      type: 'PROCESS.PERMISSION',
      attempt: this.input.attempt,
      requestId,
      request: { tool: '' },
      settled,
      ...(rule ? { rule } : {}),
    });
  }

  private decide(request: AskedPermission): void {
    const decided = this.host.decidePermission(this.input, request);
    const by = decided.list === 'default' ? 'default' : 'rule';
    if (decided.decision === 'ask') {
      this.record(request, { decision: 'ask', by, ...(decided.rule ? { rule: decided.rule } : {}) });
      this.ask(request);
      return;
    }
    const reason =
      decided.decision === 'deny'
        ? `Denied by the orchestrator's permission rules${decided.rule ? ` (${decided.rule})` : ''}. Do something else.`
        : undefined;
    this.record(request, {
      decision: decided.decision,
      by,
      ...(decided.rule ? { rule: decided.rule } : {}),
      ...(reason ? { reason } : {}),
    });
    this.write(this.conversation.answer(request.requestId, decided.decision, reason));
  }

  private ask(request: AskedPermission): void {
    if (!this.asking.has(request.requestId)) {
      this.asking.add(request.requestId);
      this.clock.hold();
    }
    const { requestId, ...what } = request;
    this.send({ type: 'PROCESS.PERMISSION', attempt: this.input.attempt, requestId, request: what });
  }

  private record(
    request: AskedPermission,
    decision: Pick<NewEvent & { type: 'permission' }, 'decision' | 'by'> &
      Partial<Pick<NewEvent & { type: 'permission' }, 'rule' | 'person' | 'blockerId' | 'reason'>>,
  ): void {
    const { requestId, ...what } = request;
    this.host.publish([
      {
        type: 'permission',
        source: { kind: 'worker', id: this.input.workerId },
        workerId: this.input.workerId,
        agent: this.input.agent,
        attempt: this.input.attempt,
        requestId,
        ...what,
        ...decision,
      },
    ]);
  }

  private write(envelopes: readonly Envelope[]): void {
    for (const envelope of envelopes) this.channel?.send(envelope);
  }
}

/** The link of a run, when its worker asks for interactive mode and its agent has it; null otherwise. */
export function linkFor(
  host: Partial<LinkHost> & Pick<LinkHost, 'publish'>,
  input: AgentProcessInput,
  adapter: AgentAdapter,
  files: { stdin: (attempt: number) => string; sent: (attempt: number) => string },
  clock: RunClock,
  send: (event: AgentProcessEvent) => void,
  closed = false,
): InteractiveLink | null {
  const protocol = input.interactive ? adapter.interactive : undefined;
  if (!protocol) return null;
  const linkHost: LinkHost = {
    decidePermission: host.decidePermission ?? allowEverything,
    ...(host.permissionHistory ? { permissionHistory: host.permissionHistory } : {}),
    publish: (events) => host.publish(events),
  };
  const paths = { stdin: files.stdin(input.attempt), sent: files.sent(input.attempt) };
  const link = new InteractiveLink(linkHost, input, protocol, paths, clock, send);
  if (closed) link.close();
  return link;
}
