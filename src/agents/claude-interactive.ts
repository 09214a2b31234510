/**
 * Claude Code in interactive mode: `claude -p --input-format stream-json --output-format stream-json --verbose
 * --permission-prompt-tool stdio`, the protocol of `@anthropic-ai/claude-agent-sdk` (shared/AGENT-FORMATS.md).
 *
 * - The prompt, and every later message, is a `user` line on stdin with a uuid of ours; a `result` lists the uuids
 *   of the messages its turn covered (`user_message_uuids`). When every message sent has its result, stdin is closed
 *   and claude exits 0: the run ends as in exec mode.
 * - Before a tool runs claude prints `control_request` `can_use_tool` and waits (without a time limit) for our
 *   `control_response`: `{"behavior":"allow"}`, or `{"behavior":"deny","message"}`, which the model reads as the
 *   tool's error and carries on. A repeated or late answer is ignored by claude (the first one wins).
 * - `--settings` makes claude ask about every tool, even what its own settings or defaults allow (reads inside the
 *   working folder, read-only commands): the orchestrator's rules decide each one, and a deny rule in the user's own
 *   settings still denies.
 * - An interrupt is a `control_request` `interrupt`; claude withdraws a pending request with
 *   `control_cancel_request`, which is not answered.
 */
import { createHash } from 'node:crypto';
import { isAbsolute, resolve } from 'node:path';
import type { AgentCommand, LaunchOptions } from './types.js';
import type { AskedPermission, Conversation, ConversationStep, Envelope, InteractiveProtocol } from './conversation.js';

/**
 * Every tool claude asks about when an `ask` rule names it: the tools of claude 2.1.329's `system/init` (captured
 * against the fake model server), and the ones older versions had (Glob, Grep, LS, MultiEdit...). A name claude does
 * not have is ignored by it. MCP tools are off (--strict-mcp-config).
 */
export const CLAUDE_TOOLS = [
  'Bash',
  'Read',
  'Write',
  'Edit',
  'MultiEdit',
  'NotebookEdit',
  'Glob',
  'Grep',
  'LS',
  'WebFetch',
  'WebSearch',
  'Task',
  'TodoWrite',
  'KillShell',
  'BashOutput',
  'AskUserQuestion',
  'CronCreate',
  'CronDelete',
  'CronList',
  'EnterPlanMode',
  'ExitPlanMode',
  'EnterWorktree',
  'ExitWorktree',
  'ListAgents',
  'Monitor',
  'ReportFindings',
  'ScheduleWakeup',
  'SendMessage',
  'Skill',
  'TaskStop',
  'ToolSearch',
  'Workflow',
] as const;

export function buildClaudeInteractiveCommand(options: Omit<LaunchOptions, 'prompt'>): AgentCommand {
  const args = [
    '--print',
    '--input-format',
    'stream-json',
    '--output-format',
    'stream-json',
    '--verbose',
    '--permission-prompt-tool',
    'stdio',
    // The default mode asks (whatever the user's own settings choose); plan keeps a reviewer read-only.
    '--permission-mode',
    options.readOnly ? 'plan' : 'default',
    '--settings',
    JSON.stringify({ permissions: { ask: [...CLAUDE_TOOLS] } }),
    '--strict-mcp-config',
  ];
  for (const dir of [options.targetDir, ...options.includeDirs]) args.push(`--add-dir=${dir}`);
  if (options.model) args.push('--model', options.model);
  if (options.resume) args.push('--resume', options.resume.agentSessionId);
  return { args, env: {} };
}

/** Paths a tool's input names (absolute, against the agent's directory). */
function pathsOf(tool: string, input: Record<string, unknown>, cwd: string, home: string): string[] | undefined {
  const raw =
    tool === 'Glob' || tool === 'Grep' || tool === 'LS'
      ? (input.path ?? cwd)
      : (input.file_path ?? input.notebook_path ?? input.path);
  if (typeof raw !== 'string' || raw === '') return undefined;
  if (raw === '~' || raw.startsWith('~/')) return [resolve(home, raw.slice(2))];
  return [isAbsolute(raw) ? resolve(raw) : resolve(cwd, raw)];
}

export function permissionOf(
  request: Record<string, unknown>,
  cwd: string,
  home = cwd,
): Omit<AskedPermission, 'requestId'> {
  const tool = typeof request.tool_name === 'string' ? request.tool_name : 'unknown';
  const input = (typeof request.input === 'object' && request.input !== null ? request.input : {}) as Record<
    string,
    unknown
  >;
  if (tool === 'Bash' && typeof input.command === 'string') return { tool, command: input.command };
  if (tool === 'WebFetch' && typeof input.url === 'string') return { tool, url: input.url };
  const paths = pathsOf(tool, input, cwd, home);
  return paths ? { tool, paths } : { tool };
}

class ClaudeConversation implements Conversation {
  /** Messages sent whose turn has not ended (their uuids). */
  private readonly open = new Set<string>();
  private readonly requests = new Map<string, AskedPermission>();
  private ended = false;
  /** Interrupted for a stop: the next result is the last. */
  private stopping = false;

  constructor(
    private readonly cwd: string,
    /** Makes the uuids of this run's messages its own (session, worker, attempt). */
    private readonly seed: string,
    private readonly home: string,
  ) {}

  get pending(): AskedPermission[] {
    return [...this.requests.values()];
  }

  opening(prompt: string): Envelope[] {
    return this.say(prompt, 'prompt') ?? [];
  }

  say(text: string, key: string): Envelope[] | null {
    if (this.ended) return null;
    const uuid = messageUuid(this.seed, key);
    this.open.add(uuid);
    const line = {
      type: 'user',
      uuid,
      message: { role: 'user', content: text },
      parent_tool_use_id: null,
      session_id: '',
    };
    return [{ id: `message:${key}`, line: JSON.stringify(line) }];
  }

  answer(requestId: string, decision: 'allow' | 'deny', message?: string): Envelope[] {
    this.requests.delete(requestId);
    const response =
      decision === 'allow'
        ? { behavior: 'allow' }
        : { behavior: 'deny', message: message ?? 'Denied by the orchestrator.' };
    const line = { type: 'control_response', response: { subtype: 'success', request_id: requestId, response } };
    return [{ id: `permission:${requestId}`, line: JSON.stringify(line) }];
  }

  interrupt(key: string): Envelope[] {
    if (this.ended) return [];
    // A stop: the turn's result ends the conversation, and the messages still queued are dropped with it.
    this.stopping = true;
    const line = {
      type: 'control_request',
      request_id: `orchestrator-interrupt-${key}`,
      request: { subtype: 'interrupt', cancel_queued: true },
    };
    return [{ id: `interrupt:${key}`, line: JSON.stringify(line) }];
  }

  onLine(text: string): { consumed: boolean; steps: ConversationStep[] } {
    // The protocol's own lines all start so; an agent line (assistant, user, result, system) never does.
    if (!text.includes('"control_') && !text.includes('"command_lifecycle"') && !text.includes('"result"'))
      return { consumed: false, steps: [] };
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return { consumed: false, steps: [] };
    }
    switch (value.type) {
      case 'control_request': {
        const request = (value.request ?? {}) as Record<string, unknown>;
        const requestId = typeof value.request_id === 'string' ? value.request_id : '';
        if (request.subtype !== 'can_use_tool' || !requestId) return { consumed: true, steps: [] };
        const asked = { requestId, ...permissionOf(request, this.cwd, this.home) };
        this.requests.set(requestId, asked);
        return { consumed: true, steps: [{ kind: 'permission', request: asked }] };
      }
      case 'control_cancel_request': {
        const requestId = typeof value.request_id === 'string' ? value.request_id : '';
        this.requests.delete(requestId);
        return { consumed: true, steps: requestId ? [{ kind: 'withdrawn', requestId }] : [] };
      }
      case 'control_response':
      case 'command_lifecycle':
        return { consumed: true, steps: [] };
      case 'result':
        return { consumed: false, steps: this.turnEnded(value) };
      default:
        return { consumed: false, steps: [] };
    }
  }

  /** A turn ended: the messages it covered are answered; when none is left, the conversation is over. */
  private turnEnded(result: Record<string, unknown>): ConversationStep[] {
    const covered = Array.isArray(result.user_message_uuids) && !this.stopping ? result.user_message_uuids : null;
    if (covered) for (const uuid of covered) this.open.delete(String(uuid));
    // Without the list (an older claude), a result answers everything sent before it.
    else this.open.clear();
    if (this.open.size > 0 || this.ended) return [];
    this.ended = true;
    return [{ kind: 'send', envelopes: [{ id: 'end', end: true }] }];
  }
}

/** A message's uuid: a UUID (version 5 layout) of the run's seed and the message's key, the same after a crash. */
export function messageUuid(seed: string, key: string): string {
  const hex = createHash('sha256').update(`${seed}\u0000${key}`).digest('hex');
  const variant = ((Number.parseInt(hex[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  return (
    `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}` +
    `${hex.slice(17, 20)}-${hex.slice(20, 32)}`
  );
}

export const claudeInteractive: InteractiveProtocol = {
  since: '2.1.329',
  buildCommand: buildClaudeInteractiveCommand,
  conversation: ({ cwd, seed, home }) => new ClaudeConversation(cwd, seed, home),
};
