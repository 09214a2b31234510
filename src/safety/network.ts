/**
 * What a sandboxed agent may reach, and how (docs/security.md, "Network").
 *
 * An agent runs in a network namespace of its own: loopback only. Its one way out is an HTTP proxy
 * (src/safety/net-proxy.ts) that runs OUTSIDE the sandbox, in the agent's process group, and listens on unix
 * sockets in the worker's net folder. Inside, socat turns `127.0.0.1:3128` into that socket (BRIDGE_SCRIPT), and
 * HTTP(S)_PROXY point there. The proxy lets through what the allowlist names: the agent's model API hosts (its
 * vendor's, and the host of its base-URL setting), the package registries a build needs, GitHub, and the
 * spec's `sandbox.allowHosts`. A model server on the host's loopback (a base URL such as
 * http://127.0.0.1:8080, or `127.0.0.1:8080` in allowHosts) is also forwarded port for port: inside,
 * 127.0.0.1:8080 reaches it. Nothing else of the host's loopback is reachable.
 *
 * The proxy is a process of the agent's group, not of the orchestrator: it lives exactly as long as the
 * agent, survives an orchestrator crash with it, and is killed with the group.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseHostRule } from '../domain/host-rules.js';

export { parseHostRule, type HostRule } from '../domain/host-rules.js';

/** The proxy's port inside every sandbox (HTTP_PROXY=http://127.0.0.1:3128). */
export const PROXY_PORT = 3128;

/** Package registries and source hosts a build or `git fetch` needs (docs/security.md lists them). */
export const REGISTRY_HOSTS: readonly string[] = [
  'registry.npmjs.org',
  'registry.yarnpkg.com',
  'pypi.org',
  'files.pythonhosted.org',
  'crates.io',
  'index.crates.io',
  'static.crates.io',
  'proxy.golang.org',
  'sum.golang.org',
  'deb.debian.org',
  'security.debian.org',
  'github.com',
  'codeload.github.com',
  'objects.githubusercontent.com',
];

/** Each agent's own vendor hosts (its API, its sign-in): reachable by that agent only. */
export const MODEL_HOSTS: Readonly<Record<string, readonly string[]>> = {
  claude: ['api.anthropic.com', '*.anthropic.com', 'claude.ai', '*.claude.ai', '*.claude.com'],
  codex: ['api.openai.com', '*.openai.com', 'chatgpt.com', '*.chatgpt.com'],
  gemini: [
    'generativelanguage.googleapis.com',
    'cloudcode-pa.googleapis.com',
    'oauth2.googleapis.com',
    'www.googleapis.com',
  ],
  // opencode's own service and model catalogue; the providers a user configured are theirs to add (allowHosts).
  opencode: ['opencode.ai', '*.opencode.ai', 'models.dev'],
  qwen: ['dashscope.aliyuncs.com', 'dashscope-intl.aliyuncs.com', 'chat.qwen.ai', 'portal.qwen.ai'],
};

/** The environment variables that move an agent's API (their hosts are allowed for that agent). */
export const BASE_URL_VARS: Readonly<Record<string, readonly string[]>> = {
  claude: ['ANTHROPIC_BASE_URL', 'ANTHROPIC_BEDROCK_BASE_URL', 'ANTHROPIC_VERTEX_BASE_URL'],
  codex: ['OPENAI_BASE_URL'],
  gemini: ['GOOGLE_GEMINI_BASE_URL', 'GOOGLE_VERTEX_BASE_URL'],
  qwen: ['OPENAI_BASE_URL'],
};

/** The rule (as written) that lets `host:port` through, or null. */
export function allowedBy(host: string, port: number, rules: readonly string[]): string | null {
  const name = host
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
  for (const pattern of rules) {
    const rule = parseHostRule(pattern);
    if (!rule || (rule.port !== null && rule.port !== port)) continue;
    if (rule.host.startsWith('*.') ? name.endsWith(rule.host.slice(1)) : name === rule.host) return pattern;
  }
  return null;
}

/** A host on this machine's loopback: reachable only port for port, through a forward (never through the proxy). */
export function isLoopback(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[|\]$/g, '');
  return (
    name === 'localhost' ||
    name.endsWith('.localhost') ||
    /^127\.\d+\.\d+\.\d+$/.test(name) ||
    name === '::1' ||
    name === '0.0.0.0'
  );
}

/** host and port of a URL (the scheme's default port when it names none); null when it does not parse. */
export function hostOfUrl(url: string): { host: string; port: number } | null {
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return null;
    const host = parsed.hostname.replace(/^\[|\]$/g, '');
    return { host, port: parsed.port ? Number(parsed.port) : parsed.protocol === 'https:' ? 443 : 80 };
  } catch {
    return null;
  }
}

/**
 * The base URLs an agent is configured with: its environment variables and, for codex, every `base_url` in
 * $CODEX_HOME/config.toml (its model providers). These hosts are what it talks to instead of its vendor's.
 */
export function agentBaseUrls(agent: string, env: Record<string, string | undefined>, home: string): string[] {
  const urls = (BASE_URL_VARS[agent] ?? []).map((name) => env[name]?.trim() ?? '').filter(Boolean);
  if (agent === 'codex') {
    const config = join(env.CODEX_HOME || join(home, '.codex'), 'config.toml');
    if (existsSync(config)) {
      try {
        for (const m of readFileSync(config, 'utf8').matchAll(/^\s*base_url\s*=\s*["']([^"']+)["']/gm))
          if (m[1]) urls.push(m[1]);
      } catch {
        // Unreadable: its vendor's hosts stay allowed, nothing more.
      }
    }
  }
  return urls;
}

/** What one agent may reach: the allowlist the proxy applies, and the loopback ports forwarded to the host. */
export interface AgentNetwork {
  allow: string[];
  forwards: number[];
}

export function agentNetwork(
  agent: string,
  env: Record<string, string | undefined>,
  home: string,
  allowHosts: readonly string[],
): AgentNetwork {
  const allow = new Set<string>([...(MODEL_HOSTS[agent] ?? []), ...REGISTRY_HOSTS]);
  const forwards = new Set<number>();
  // A loopback host:port is also forwarded port for port (clients send loopback past any proxy, NO_PROXY).
  const add = (host: string, port: number | null) => {
    allow.add(port === null ? host : `${host.includes(':') ? `[${host}]` : host}:${port}`);
    if (isLoopback(host) && port !== null && port !== PROXY_PORT) forwards.add(port);
  };
  for (const url of agentBaseUrls(agent, env, home)) {
    const target = hostOfUrl(url);
    if (target) add(target.host, target.port);
  }
  for (const pattern of allowHosts) {
    const rule = parseHostRule(pattern);
    if (rule) add(rule.host, rule.port);
  }
  return { allow: [...allow], forwards: [...forwards].sort((a, b) => a - b) };
}

/** The environment inside: the proxy for every client that reads one, loopback never through it. */
export function proxyEnv(): Record<string, string> {
  const proxy = `http://127.0.0.1:${PROXY_PORT}`;
  const noProxy = 'localhost,127.0.0.1,::1';
  // NODE_USE_ENV_PROXY: Node 24's own fetch and http honour the variables only when told to.
  return {
    HTTP_PROXY: proxy,
    HTTPS_PROXY: proxy,
    http_proxy: proxy,
    https_proxy: proxy,
    ALL_PROXY: proxy,
    all_proxy: proxy,
    NO_PROXY: noProxy,
    no_proxy: noProxy,
    NODE_USE_ENV_PROXY: '1',
  };
}

/**
 * The worker's net folder: the proxy's sockets, its policy and its refusals. In the session folder when the
 * socket path fits (a unix socket path has at most 107 bytes), else a folder of the same name's hash in the
 * temp dir. Deterministic, so a resumed orchestrator finds it again.
 */
export function netDirFor(sessionDir: string, workerId: string, tmp = tmpdir()): string {
  const dir = join(netRootOf(sessionDir), workerId);
  if (Buffer.byteLength(join(dir, '65535.sock')) <= 100) return dir;
  return join(tmp, `orchestrate-net-${createHash('sha256').update(dir).digest('hex').slice(0, 16)}`);
}

/** The folder of a session's net folders (those that fit there). */
export function netRootOf(sessionDir: string): string {
  return join(sessionDir, 'net');
}

/** The policy file the proxy reads (written before each launch). */
export interface NetPolicyFile {
  worker: string;
  agent: string;
  allow: string[];
  forwards: number[];
  proxyPort: number;
}

/** One refused request, a line of `refused.jsonl` in the net folder (the safety monitor makes it an event). */
export interface Refusal {
  ts: string;
  host: string;
  port: number;
  method: string;
}

/**
 * Inside the sandbox, before the agent: one socat per port (127.0.0.1:PORT -> DIR/PORT.sock), waits until each
 * listens, then runs the agent as a child and ends the bridges with it (they would keep the namespace alive).
 * A signal to the group reaches the agent directly; the script waits for it (its trap is reset for the agent).
 * Fixed text: the folder, socat's path, the ports and the agent's argv arrive as arguments.
 * $1 socat, $2 folder, then ports up to `--`, then the agent's argv.
 */
export const BRIDGE_SCRIPT = [
  'socat=$1; dir=$2; shift 2; pids=""',
  'while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do',
  '  "$socat" "TCP-LISTEN:$1,bind=127.0.0.1,fork,reuseaddr" "UNIX-CONNECT:$dir/$1.sock" </dev/null & pids="$pids $!"',
  '  hex=$(printf "%04X" "$1"); n=0',
  '  while [ "$n" -lt 500 ] && ! grep -q "0100007F:$hex 00000000:0000 0A" /proc/net/tcp; ' +
    'do sleep 0.01; n=$((n + 1)); done',
  '  shift',
  'done',
  'shift',
  "trap ':' TERM INT HUP",
  '"$@"; code=$?',
  'kill $pids 2>/dev/null',
  'exit "$code"',
].join('\n');
