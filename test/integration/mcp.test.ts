/**
 * `orchestrate mcp` driven over stdio by the MCP SDK's own client, as Claude Code would: it lists the tools,
 * starts a session of the fake agents, follows it with session_status, answers its blocker with answer_blocker,
 * and sees it complete. Errors are tool errors with the CLI's one-line messages.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, cleanupAfterTest, eventsOfType, readEvents, sandboxWith, sessionIds } from '../support/orchestrate.js';
import { poll } from '../support/poll.js';

const clients: Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await cleanupAfterTest();
});

async function connect(workspace: string, env: Record<string, string>): Promise<Client> {
  const client = new Client({ name: 'orchestrate-test', version: '1.0.0' });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [CLI, 'mcp', '--workspace', workspace],
      env,
      stderr: 'pipe',
    }),
  );
  clients.push(client);
  return client;
}

type ToolResult = { content: Array<{ type: string; text?: string }>; isError?: boolean };
const textOf = (result: unknown) => ((result as ToolResult).content ?? []).map((c) => c.text ?? '').join('\n');

describe('orchestrate mcp', () => {
  it('lists its tools; starts a session, follows it, answers its blocker, and sees it complete', async () => {
    const { sandbox, env } = sandboxWith(null, { claude: { fail: 'auth', failTimes: 1 } });
    const client = await connect(sandbox.workspace, env);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([
      'answer_blocker',
      'list_sessions',
      'pause_session',
      'resume_session',
      'session_diff',
      'session_events',
      'session_status',
      'start_review',
      'start_session',
      'stop_session',
    ]);
    const started = await client.callTool({
      name: 'start_session',
      arguments: {
        task: 'add a file',
        dir: sandbox.target,
        spec: { workers: [{ id: 'w1', agent: 'claude', role: 'implementer' }], sandbox: 'none' },
      },
    });
    expect(textOf(started)).toMatch(/^Session orch_\S+ started on /);
    const sid = sessionIds(sandbox.workspace)[0] as string;

    const blocked = await poll(
      async () => {
        const status = textOf(await client.callTool({ name: 'session_status', arguments: { session: sid } }));
        return status.includes('AUTH_REQUIRED') ? status : null;
      },
      30_000,
      'the AUTH_REQUIRED blocker in session_status',
      200,
    );
    expect(blocked).toContain('b1');
    const answered = await client.callTool({
      name: 'answer_blocker',
      arguments: { session: sid, blocker: 'b1', choice: 'retry' },
    });
    expect(textOf(answered)).toBe('b1: answered retry');
    await poll(
      async () =>
        /completed/.test(textOf(await client.callTool({ name: 'session_status', arguments: { session: sid } }))),
      30_000,
      'the session completed',
      200,
    );
    const events = readEvents(sandbox.workspace, sid);
    expect(eventsOfType(events, 'blocker').map((b) => [b.blockerId, b.resolution?.choice ?? null])).toEqual([
      ['b1', null],
      ['b1', 'retry'],
    ]);
    const lines = textOf(await client.callTool({ name: 'session_events', arguments: { session: sid, last: 5 } }));
    expect(lines.split('\n')).toHaveLength(5);
    const listed = textOf(await client.callTool({ name: 'list_sessions', arguments: {} }));
    expect(listed).toContain(sid);
  });

  it("tool errors carry the CLI's one-line messages", async () => {
    const { sandbox, env } = sandboxWith(null, {});
    const client = await connect(sandbox.workspace, env);
    const unknown = (await client.callTool({
      name: 'session_status',
      arguments: { session: 'orch_20261206_000000_none' },
    })) as ToolResult;
    expect(unknown.isError).toBe(true);
    expect(textOf(unknown)).toMatch(/no session orch_20261206_000000_none/);
    const typo = (await client.callTool({
      name: 'start_session',
      arguments: { task: 't', dir: sandbox.target, spec: { workers: [], reviewz: [] } },
    })) as ToolResult;
    expect(typo.isError).toBe(true);
    expect(textOf(typo)).toContain('unknown key "reviewz" (did you mean "reviews"?)');
  });
});
