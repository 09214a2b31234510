/**
 * `orchestrate doctor`: is this machine ready? Agent CLIs (found, version, credentials that look configured),
 * the sandbox, git, Node, running as root, and the workspace's server and sessions.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ModeDecision } from '../agents/modes.js';
import { agentRegistry } from '../agents/registry.js';
import type { AgentAdapter } from '../agents/types.js';
import { defaultModeOf } from '../runtime/agent-modes.js';
import { findAgentBinary, versionOf, which } from '../runtime/binaries.js';
import { probeBwrap } from '../safety/bwrap-probe.js';
import { agentNetwork, REGISTRY_HOSTS } from '../safety/network.js';
import { hiddenPaths } from '../safety/agent-files.js';
import { SessionStore } from '../store/session-store.js';
import { describeFsError } from './fs-errors.js';
import {
  isServerAlive,
  readServerInfo,
  readTokenFile,
  serverInfoPathOf,
  tokenPathOf,
} from '../http/workspace-files.js';
import type { Style } from './style.js';

type Level = 'ok' | 'warn' | 'error';
interface Check {
  name: string;
  level: Level;
  detail: string;
}

export interface DoctorOptions {
  workspace: string;
  json: boolean;
  out: NodeJS.WritableStream;
  style: Style;
  env?: Record<string, string | undefined>;
  home?: string;
}

export async function doctorCommand(options: DoctorOptions): Promise<number> {
  const env = options.env ?? process.env;
  const home = options.home ?? homedir();
  const checks: Check[] = [];
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  checks.push({
    name: 'node',
    level: major > 20 || (major === 20 && minor >= 19) ? 'ok' : 'error',
    detail: `v${process.versions.node}${major > 20 || (major === 20 && minor >= 19) ? '' : ' (needs >= 20.19)'}`,
  });
  const git = which('git', env.PATH ?? '');
  checks.push({
    name: 'git',
    level: git ? 'ok' : 'warn',
    detail: git
      ? (await versionOf(git, ['--version'])).text
      : 'not found: reviews cannot show a diff, codex needs --skip-git-repo-check',
  });
  let usableAgents = 0;
  const usable: string[] = [];
  for (const adapter of Object.values(agentRegistry)) {
    if (adapter.commandFromSpec) {
      checks.push({
        name: adapter.name,
        level: 'ok',
        detail:
          'any ACP agent, named by its worker: {"agent": "acp", "command": ["opencode", "acp"]}; ' +
          'interactive mode (docs/compatibility.md)',
      });
      continue;
    }
    const bin = findAgentBinary(adapter, env);
    if ('error' in bin) {
      checks.push({
        name: adapter.name,
        level: 'warn',
        detail: `${bin.error}${INSTALL[adapter.name] ? ` (${INSTALL[adapter.name]})` : ''}`,
      });
      continue;
    }
    const version = await versionOf(bin.path, ['--version']);
    if (!version.ok) {
      checks.push({ name: adapter.name, level: 'warn', detail: `${bin.path} does not run: ${version.text}` });
      continue;
    }
    usableAgents++;
    usable.push(adapter.name);
    const credentials = credentialsOf(adapter.name, env, home);
    const modes = modesOf(adapter, defaultModeOf(adapter, bin.path, version.text));
    checks.push({
      name: adapter.name,
      level: credentials.found ? 'ok' : 'warn',
      detail: `${bin.path} (${version.text}); credentials: ${credentials.detail}; ${modes}`,
    });
  }
  if (usableAgents === 0) {
    checks.push({
      name: 'agents',
      level: 'error',
      detail:
        `no agent CLI works, so no session can run: install at least one and log in ` +
        `(${Object.values(INSTALL).join('; ')}), or point ` +
        `${Object.values(agentRegistry)
          .flatMap((a) => (a.binEnvVar ? [a.binEnvVar] : []))
          .join(', ')} at its binary`,
    });
  }
  if (process.getuid?.() === 0) {
    checks.push({
      name: 'root',
      level: 'warn',
      detail:
        'running as root: Claude Code refuses to bypass permissions as root unless it runs in our sandbox ' +
        '(IS_SANDBOX=1 is then set); run as a normal user or use "sandbox": "bwrap"',
    });
  }
  const bwrap = await probeBwrap(env.PATH ?? '');
  checks.push({
    name: 'sandbox',
    level: bwrap.available ? 'ok' : 'warn',
    detail: bwrap.available
      ? `bubblewrap works (${bwrap.version ?? bwrap.path}): "sandbox": "auto" confines agents`
      : `${bwrap.reason}; "sandbox": "auto" runs agents unconfined`,
  });
  if (bwrap.available) checks.push(...confinementChecks(env, home, usable));
  checks.push(...workspaceChecks(options.workspace));
  const leftovers = await leftoverCheck(options.workspace);
  if (leftovers) checks.push(leftovers);
  checks.push({
    name: 'port 7420',
    level: (await portFree(7420)) ? 'ok' : 'warn',
    detail: (await portFree(7420)) ? 'free (orchestrate serve default)' : 'in use: pass --port to orchestrate serve',
  });

  if (options.json) options.out.write(`${JSON.stringify(checks, null, 2)}\n`);
  else {
    const s = options.style;
    for (const c of checks) {
      const mark = c.level === 'ok' ? s.green('ok  ') : c.level === 'warn' ? s.yellow('warn') : s.red('FAIL');
      options.out.write(`${mark} ${c.name.padEnd(10)} ${c.detail}\n`);
    }
  }
  return checks.some((c) => c.level === 'error') ? 1 : 0;
}

/**
 * Which modes a worker of this agent can have (docs/permissions.md), and which one it gets when its spec names
 * none: interactive from the version that mode is tested with, exec before it (src/agents/modes.ts).
 */
function modesOf(adapter: AgentAdapter, decision: ModeDecision): string {
  if (!adapter.interactive) return 'modes: exec only (interactive not yet)';
  return decision.mode === 'interactive'
    ? 'modes: interactive (the default: it asks before each tool runs), exec ("mode": "exec")'
    : `modes: exec (the default here: ${decision.reason}), interactive ("mode": "interactive")`;
}

/**
 * What the default sandbox ("auto", network through the proxy) lets each agent read and reach: the hidden
 * paths that exist here, the hosts of its allowlist (registries counted), the loopback ports forwarded.
 */
function confinementChecks(env: Record<string, string | undefined>, home: string, agents: readonly string[]): Check[] {
  const socat = which('socat', env.PATH ?? '');
  const checks: Check[] = [
    {
      name: 'network',
      level: socat ? 'ok' : 'warn',
      detail: socat
        ? `socat works (${socat}): sandboxed agents reach the network ` +
          `only through a proxy with an allowlist (docs/security.md)`
        : 'socat not found: with "sandbox": "auto" agents get the open network, ' +
          'and "bwrap" is refused; install it (apt-get install socat)',
    },
  ];
  const tilde = (p: string) => (p.startsWith(`${home}/`) ? `~/${p.slice(home.length + 1)}` : p);
  for (const agent of agents) {
    const { hidden } = hiddenPaths(agent, home, env, { denyRead: [], allowRead: [] });
    const present = hidden.filter((p) => existsSync(p)).map(tilde);
    const reach = agentNetwork(agent, env, home, []);
    const hosts = reach.allow.filter((h) => !REGISTRY_HOSTS.includes(h));
    const network = socat
      ? `reaches ${hosts.join(', ')} and ${REGISTRY_HOSTS.length} package registries and GitHub hosts` +
        `${reach.forwards.length ? `; 127.0.0.1:${reach.forwards.join(', 127.0.0.1:')} forwarded` : ''}`
      : 'network open';
    const hides = present.length
      ? present.join(', ')
      : "nothing found here (of ~/.ssh, ~/.aws, … and the other agents' folders)";
    checks.push({ name: `${agent} sbx`, level: 'ok', detail: `hides ${hides}; ${network}` });
  }
  return checks;
}

/** How to install each agent CLI (the npm packages docs/compatibility.md tests with). */
const INSTALL: Record<string, string> = {
  claude: 'claude: npm install -g @anthropic-ai/claude-code',
  codex: 'codex: npm install -g @openai/codex',
  gemini: 'gemini: npm install -g @google/gemini-cli',
  opencode: 'opencode: npm install -g opencode-ai',
  qwen: 'qwen: npm install -g @qwen-code/qwen-code',
};

/** A hint, not a login: whether the usual places hold something. */
function credentialsOf(
  agent: string,
  env: Record<string, string | undefined>,
  home: string,
): { found: boolean; detail: string } {
  const fromEnv = (names: string[]) => names.filter((n) => env[n]?.trim());
  const files = (paths: string[]) => paths.filter((p) => existsSync(join(home, p)));
  const report = (vars: string[], found: string[]) =>
    vars.length || found.length
      ? { found: true, detail: [...vars.map((v) => `$${v}`), ...found.map((f) => `~/${f}`)].join(', ') }
      : null;
  switch (agent) {
    case 'claude':
      return (
        report(
          fromEnv(['ANTHROPIC_API_KEY', 'CLAUDE_CODE_OAUTH_TOKEN', 'ANTHROPIC_AUTH_TOKEN']),
          files(['.claude/.credentials.json']),
        ) ?? { found: false, detail: 'none found: run `claude` and /login, or set ANTHROPIC_API_KEY' }
      );
    case 'codex':
      return (
        report(fromEnv(['OPENAI_API_KEY', 'CODEX_API_KEY']), files(['.codex/auth.json'])) ?? {
          found: false,
          detail: 'none found: run `codex login`, or set OPENAI_API_KEY',
        }
      );
    case 'gemini': {
      const settings = join(home, '.gemini', 'settings.json');
      const selected =
        existsSync(settings) && /"selectedType"/.test(readFileSync(settings, 'utf8'))
          ? ['.gemini/settings.json (auth selected)']
          : [];
      return (
        report(fromEnv(['GEMINI_API_KEY', 'GOOGLE_API_KEY', 'GOOGLE_GENAI_USE_VERTEXAI']), [
          ...selected,
          ...files(['.gemini/oauth_creds.json']),
        ]) ?? {
          found: false,
          detail: 'none found: set GEMINI_API_KEY or choose an auth method in ~/.gemini/settings.json',
        }
      );
    }
    case 'opencode': {
      const data = join(env.XDG_DATA_HOME || join(home, '.local/share'), 'opencode', 'auth.json');
      const config = join(env.XDG_CONFIG_HOME || join(home, '.config'), 'opencode', 'opencode.json');
      const found = [data, config].filter((p) => existsSync(p)).map((p) => p.replace(`${home}/`, ''));
      return (
        report(fromEnv(['ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'OPENROUTER_API_KEY']), found) ?? {
          found: false,
          detail: 'none found: run `opencode auth login`, or configure a provider in ~/.config/opencode/opencode.json',
        }
      );
    }
    case 'qwen':
      return (
        report(fromEnv(['OPENAI_API_KEY', 'DASHSCOPE_API_KEY']), files(['.qwen/oauth_creds.json'])) ?? {
          found: false,
          detail: 'none found: run `qwen` and /auth, or set OPENAI_API_KEY (with OPENAI_BASE_URL and OPENAI_MODEL)',
        }
      );
    default:
      return { found: false, detail: 'unknown agent' };
  }
}

function workspaceChecks(workspace: string): Check[] {
  const checks: Check[] = [];
  // Read-only: a workspace that does not exist is reported, not created.
  let folder: boolean | null;
  try {
    folder = statSync(workspace).isDirectory();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
      return [
        {
          name: 'workspace',
          level: 'error',
          detail: describeFsError(error, '', workspace) ?? `${workspace}: ${(error as Error).message}`,
        },
      ];
    folder = null;
  }
  if (folder === null)
    return [{ name: 'workspace', level: 'ok', detail: `${workspace}: no such folder yet (the first run creates it)` }];
  if (!folder)
    return [
      { name: 'workspace', level: 'error', detail: `${workspace}: not a folder (sessions cannot be kept there)` },
    ];
  const sessions = SessionStore.list(workspace);
  const live = sessions.filter((sid) => SessionStore.lockHolder(SessionStore.dirOf(workspace, sid)) !== null);
  checks.push({
    name: 'workspace',
    level: 'ok',
    detail: `${workspace}: ${sessions.length} session(s), ${live.length} run by a live orchestrator`,
  });
  // As the servers judge them (src/http/workspace-files.ts): an invalid token file is replaced, not used.
  const token = readTokenFile(tokenPathOf(workspace));
  if (token.status === 'valid')
    checks.push({
      name: 'token',
      level: 'ok',
      detail: `${tokenPathOf(workspace)} (0600, shared by the servers of this workspace)`,
    });
  if (token.status === 'invalid') {
    checks.push({
      name: 'token',
      level: 'warn',
      detail: `${tokenPathOf(workspace)} is not used: ${token.reason}; the next server writes a new token in its place`,
    });
  }
  const serverPath = serverInfoPathOf(workspace);
  if (existsSync(serverPath)) {
    const info = readServerInfo(serverPath);
    if (!info)
      checks.push({
        name: 'server',
        level: 'warn',
        detail: `${serverPath} is unreadable; the next server replaces it`,
      });
    else
      checks.push({
        name: 'server',
        level: 'ok',
        detail: isServerAlive(info)
          ? `running at ${info.url} (pid ${info.pid})`
          : `stale server.json (pid ${info.pid} is gone; the next server replaces it)`,
      });
  }
  return checks;
}

/** Checkouts and branches no session of the workspace owns any more (`orchestrate gc` removes them). */
async function leftoverCheck(workspace: string): Promise<Check | null> {
  if (!existsSync(workspace)) return null;
  const { workspaceLeftovers } = await import('../runtime/session-changes.js');
  const found = await workspaceLeftovers(workspace, [process.cwd()]).catch(() => []);
  if (found.length === 0)
    return existsSync(join(workspace, 'checkouts'))
      ? {
          name: 'checkouts',
          level: 'ok',
          detail: 'every checkout and orch/ branch belongs to a session of this workspace',
        }
      : null;
  const unapplied = found.filter((l) => l.unapplied).length;
  const list = found
    .map(
      (l) =>
        `${l.sessionId} (${l.owner === 'gone' ? 'folder gone' : 'discarded'}${l.unapplied ? ', un-applied work' : ''})`,
    )
    .join(', ');
  return {
    name: 'checkouts',
    level: 'warn',
    detail:
      `${found.length} leftover(s) of sessions no longer here: ${list}; \`orchestrate gc\` removes them` +
      `${unapplied ? ` (the ${unapplied} with un-applied work only with --force)` : ''}`,
  };
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
