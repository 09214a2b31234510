/**
 * `orchestrate mcp [--workspace DIR]`: the MCP server on stdio (src/mcp/server.ts). Sessions it starts run in this
 * process, behind a loopback API server of its own (named in each session's lock, as `run` does), so the
 * dashboard and `orchestrate` in another terminal reach them. stdout carries only the protocol; notes go to
 * stderr. When the client goes away (stdin ends) or on SIGINT/SIGTERM, the sessions it runs are stopped, their
 * agents included: nothing is left running without an orchestrator.
 */
import type { Managers } from './managers.js';
import type { Style } from './style.js';
import { resolveWorkspace } from './workspace.js';

export async function mcpCommand(
  opts: { workspace?: string; notify?: string[] },
  managers: Pick<Managers, 'managerFor'>,
  style: Style,
  version: string,
): Promise<void> {
  const workspace = resolveWorkspace(opts.workspace, undefined);
  const manager = await managers.managerFor(workspace, { notify: opts.notify });
  const { dashboardUrl, startServer } = await import('../http/server.js');
  const server = await startServer({
    manager,
    workspace,
    host: '127.0.0.1',
    port: 0,
    logger: { warn: (message) => process.stderr.write(`${style.yellow('warning:')} ${message}\n`) },
  });
  manager.serverUrl = server.url;
  const { createMcpServer } = await import('../mcp/server.js');
  const { StdioServerTransport } = await import('@modelcontextprotocol/sdk/server/stdio.js');
  const mcp = createMcpServer({
    manager,
    server: { url: server.url, dashboard: dashboardUrl(server.url, server.token) },
    version,
  });
  const ended = new Promise<string>((resolve) => {
    process.stdin.once('end', () => resolve('the MCP client disconnected'));
    mcp.server.onclose = () => resolve('the MCP client disconnected');
    process.once('SIGINT', () => resolve('orchestrate mcp received SIGINT'));
    process.once('SIGTERM', () => resolve('orchestrate mcp received SIGTERM'));
  });
  await mcp.connect(new StdioServerTransport());
  process.stderr.write(style.dim(`orchestrate mcp: serving on stdio; its sessions' dashboard is at ${server.url}\n`));
  const reason = await ended;
  await manager.stopAll(reason);
  await mcp.close();
  await server.close();
}
