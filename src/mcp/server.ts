/**
 * `orchestrate mcp`: the orchestrator as an MCP server on stdio (@modelcontextprotocol/sdk), for the coding agent
 * a person already works in (Claude Code, Codex, Gemini CLI). Its tools do what the CLI commands do, with the same
 * one-line errors (a tool error carries the message): start a session, list them, read one's status, events and
 * diff, pause / resume / stop it, start a review, answer a blocker.
 *
 * Sessions it starts run in this process, behind a loopback API server of its own, so another terminal's
 * `orchestrate` and the dashboard reach them like any other. Sessions another process runs are controlled
 * through that process's server, as the CLI does; a session nobody runs is resumed here when asked to go on.
 */
import { Writable } from 'node:stream';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import * as z from 'zod';
import { diffCommand } from '../cli/changes-command.js';
import { controlSession, findRunner, resolveBlocker, stopOffline } from '../cli/control.js';
import { formatLogLine } from '../cli/logs-command.js';
import { buildSpec, resolveTargetDir } from '../cli/session-options.js';
import { statusCommand } from '../cli/status-command.js';
import { createStyle } from '../cli/style.js';
import { UsageError } from '../domain/usage-error.js';
import { checkAnswer } from '../runtime/blocker-answer.js';
import type { SessionManager } from '../runtime/session-manager.js';
import { planIsolation } from '../workspace/plan.js';

export interface McpDeps {
  manager: SessionManager;
  /** The loopback server of this process (its URL, and the dashboard link with its token). */
  server: { url: string; dashboard: string };
  version: string;
}

const plain = createStyle(false);
const SessionArg = z.string().min(1).describe('the session id (orch_YYYYMMDD_HHMMSS_xxxx; see list_sessions)');
/** At most this much of a diff goes into one answer. */
const DIFF_LIMIT = 100_000;

/** What a command printed, as text: a stream that collects what is written to it (never a terminal). */
function capture(): { stream: NodeJS.WriteStream; text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => chunks.join('') };
}

const answer = (text: string) => ({ content: [{ type: 'text' as const, text: text.trimEnd() || '(nothing)' }] });

export function createMcpServer(deps: McpDeps): McpServer {
  const { manager } = deps;
  const workspace = manager.workspace;
  const mcp = new McpServer({ name: 'orchestrate', version: deps.version });

  mcp.registerTool(
    'start_session',
    {
      title: 'Start a session',
      description:
        'Start a session of AI coding agents on a repository: workers in dependency order, ' +
        'each on its own branch, recovered when they fail, reviewed by each other. ' +
        'Without a spec: the default trio (gemini architect, claude implementer, codex reviewer). ' +
        'It runs in this MCP server; follow it with session_status.',
      inputSchema: {
        task: z.string().min(1).describe('what to do'),
        dir: z.string().min(1).describe('the repository the agents work on (an absolute path)'),
        spec: z
          .record(z.string(), z.unknown())
          .optional()
          .describe('a session spec (workers, reviews, limits, sandbox...), as `orchestrate run --spec` takes'),
        agents: z.string().optional().describe('only workers of these agents, comma-separated'),
      },
    },
    async ({ task, dir, spec, agents }) => {
      const targetDir = resolveTargetDir(dir);
      const parsed = buildSpec({ task, ...(spec ? { spec } : {}), ...(agents ? { agents } : {}) });
      manager.preflight(parsed, targetDir);
      const isolation = await planIsolation(targetDir, {}, workspace);
      const runtime = await manager.create(parsed, targetDir, { isolation });
      const workers = parsed.workers.map((w) => `${w.id} (${w.agent}, ${w.role})`).join(', ');
      return answer(
        [
          `Session ${runtime.sessionId} started on ${targetDir}: ${workers}.`,
          isolation.mode === 'checkouts'
            ? `Base ${isolation.base.summary}; each worker works on its own branch; ` +
              `the repository is not touched until an apply.`
            : `Warning: ${isolation.reason}.`,
          `Follow it with session_status; the dashboard: ${deps.server.dashboard}`,
        ].join('\n'),
      );
    },
  );

  mcp.registerTool(
    'list_sessions',
    { title: 'List sessions', description: 'The sessions of the workspace, newest first, with their state.' },
    async () => {
      const out = capture();
      statusCommand(manager, workspace, undefined, { json: false, out: out.stream, style: plain });
      return answer(out.text());
    },
  );

  mcp.registerTool(
    'session_status',
    {
      title: 'Session status',
      description: "A session's state, workers (status, progress, usage), open blockers and how to answer them.",
      inputSchema: { session: SessionArg },
    },
    async ({ session }) => {
      const out = capture();
      statusCommand(manager, workspace, session, { json: false, out: out.stream, style: plain });
      return answer(out.text());
    },
  );

  const control = (action: 'pause' | 'resume' | 'stop', description: string) =>
    mcp.registerTool(
      `${action}_session`,
      {
        title: `${action[0]!.toUpperCase()}${action.slice(1)} a session`,
        description,
        inputSchema: {
          session: SessionArg,
          worker: z.string().min(1).optional().describe('only this worker'),
          ...(action === 'stop' ? { reason: z.string().optional().describe('why (recorded in the session)') } : {}),
        },
      },
      async (args: { session: string; worker?: string; reason?: string }) => {
        const { session, worker } = args;
        if (findRunner(workspace, session).kind === 'none' && !worker) {
          if (action === 'stop') return answer(await stopOffline(manager, session));
          if (action === 'resume') {
            if (manager.view(session).outcome !== null) throw new UsageError(`session ${session} has ended`);
            manager.resume(session);
            return answer(`session ${session} goes on in this MCP server; follow it with session_status`);
          }
        }
        const body: Record<string, string> = {
          ...(worker ? { workerId: worker } : {}),
          ...(args.reason ? { reason: args.reason } : {}),
        };
        return answer(await controlSession(workspace, session, action, body));
      },
    );
  control('pause', 'Pause a session (its agents are stopped with SIGSTOP), or one worker of it.');
  control('resume', 'Resume a paused session or worker; a session nobody runs any more goes on in this MCP server.');
  control('stop', 'Stop a session (its agents end), or one worker of it (the session goes on without it).');

  mcp.registerTool(
    'start_review',
    {
      title: 'Start a review',
      description:
        'Start a peer-review round now: of one worker, or of every reviewed worker. ' +
        'Unfinished work is reviewed once it is finished.',
      inputSchema: { session: SessionArg, target: z.string().min(1).optional().describe('the worker to review') },
    },
    async ({ session, target }) => answer(await controlSession(workspace, session, 'review', target ? { target } : {})),
  );

  mcp.registerTool(
    'answer_blocker',
    {
      title: 'Answer a blocker',
      description:
        'Answer what a session waits for a person on ' +
        '(see session_status for its blockers and their choices): retry, skip, stop, ' +
        'answer (a clarification, with text), or agent (an agent resolves a merge conflict).',
      inputSchema: {
        session: SessionArg,
        blocker: z.string().min(1).describe('the blocker id (b1, b2 ...)'),
        choice: z.enum(['retry', 'skip', 'stop', 'answer', 'agent']),
        text: z.string().optional().describe('the answer to a clarification (choice "answer")'),
        agent: z.string().optional().describe('the agent that resolves a merge conflict (choice "agent")'),
      },
    },
    async ({ session, blocker, choice, text, agent }) => {
      if (choice === 'answer' && !text) throw new UsageError('an answer needs text');
      if (agent && choice !== 'agent')
        throw new UsageError('agent goes with the choice "agent" (an agent resolves a merge conflict)');
      if (findRunner(workspace, session).kind !== 'none')
        return answer(await resolveBlocker(workspace, session, blocker, choice, text, agent));
      // Nobody runs it (it ended waiting for a person): an answer means "go on", here.
      const check = checkAnswer(session, manager.view(session).blockers, blocker, choice);
      if (!check.ok) throw new UsageError(check.message);
      const runtime = manager.resume(session);
      runtime.send({
        type: 'RESOLVE',
        blockerId: blocker,
        choice,
        ...(text ? { text } : {}),
        ...(agent ? { agent } : {}),
        by: 'mcp',
      });
      return answer(`${blocker}: answered ${choice}; session ${session} goes on in this MCP server`);
    },
  );

  mcp.registerTool(
    'session_events',
    {
      title: 'Session events',
      description:
        "The last events of a session as readable lines (state changes, agents' output, recoveries, reviews).",
      inputSchema: { session: SessionArg, last: z.number().int().min(1).max(1000).default(40) },
    },
    async ({ session, last }) => {
      const lastSeq = manager.view(session).lastSeq;
      const events = manager.readEvents(session, Math.max(0, lastSeq - last));
      return answer(events.map((e) => formatLogLine(e, plain)).join('\n'));
    },
  );

  mcp.registerTool(
    'session_diff',
    {
      title: 'Session diff',
      description:
        "A session's result as a unified diff (or one worker's own change), against the commit it started from.",
      inputSchema: {
        session: SessionArg,
        worker: z.string().min(1).optional().describe("only this worker's own change"),
        stat: z.boolean().default(false).describe('files and +/- counts only'),
      },
    },
    async ({ session, worker, stat }) => {
      const out = capture();
      const err = capture();
      await diffCommand(manager, session, worker, { stat, out: out.stream, err: err.stream, style: plain });
      let text = out.text() || err.text();
      if (text.length > DIFF_LIMIT)
        text =
          `${text.slice(0, DIFF_LIMIT)}\n… (${text.length - DIFF_LIMIT} more bytes: ` +
          `\`orchestrate diff ${session}\` shows it all)`;
      return answer(text);
    },
  );

  return mcp;
}
