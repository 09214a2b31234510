/**
 * The network of a session's agents, decided with its sandbox: open without bwrap, else each agent behind a proxy
 * of its own with an allowlist (src/safety/network.ts, src/safety/net-proxy.ts), or open when the spec says so.
 */
import { existsSync } from 'node:fs';
import type { SandboxSettings } from '../domain/spec.js';
import { distFile } from '../package-root.js';
import { which } from '../runtime/binaries.js';
import { UsageError } from '../runtime/session-manager.js';
import type { SandboxDecision } from './sandbox.js';

/** The proxy process's script (compiled: it runs with node, outside the sandbox). */
export const NET_PROXY_SCRIPT = distFile('safety', 'net-proxy.js');

export interface NetworkDecision {
  decision: SandboxDecision;
  /** Set when agents reach the network through their proxy. */
  proxied: { socatPath: string; proxyScript: string } | null;
  reason: string;
  /** Set when the network is open although the spec did not ask for it ("auto" without socat). */
  warning: string | null;
}

/**
 * The network of a session's agents. Inside bwrap with `network: "proxy"` (the default) each agent gets its
 * proxy; that needs socat (the bridge inside). Without it, "bwrap" is refused with how to fix it and "auto"
 * leaves the network open with a warning, as it leaves the sandbox out without bwrap.
 */
export function decideNetwork(
  sandbox: SandboxSettings,
  decision: SandboxDecision,
  env: Record<string, string | undefined>,
  proxyScript = NET_PROXY_SCRIPT,
): NetworkDecision {
  if (decision.mode !== 'bwrap')
    return { decision, proxied: null, reason: 'no sandbox: the network is open', warning: null };
  if (sandbox.network === 'open') {
    const warning = '"sandbox.network": "open": agents reach any host, and whatever they read can leave the machine';
    return { decision, proxied: null, reason: warning, warning };
  }
  const socatPath = which('socat', env.PATH ?? '');
  const missing = !socatPath
    ? 'socat is not on PATH'
    : !existsSync(proxyScript)
      ? `the proxy script ${proxyScript} is missing (run npm run build)`
      : null;
  if (missing) {
    if (sandbox.mode === 'bwrap') {
      throw new UsageError(
        `the sandbox confines the network through a proxy, but ${missing}. Install socat (apt-get install socat), ` +
          `or set "sandbox": {"mode": "bwrap", "network": "open"} to leave the network open.`,
      );
    }
    const warning =
      `agents run in bubblewrap, but their network is open: ${missing} ` +
      '(install socat for the proxy with an allowlist: apt-get install socat)';
    // The CLI warns of a fallback, as it does when "auto" gets no bubblewrap at all.
    return { decision: { ...decision, reason: warning, fellBack: true }, proxied: null, reason: warning, warning };
  }
  const reason =
    'each agent reaches the network only through its proxy: ' +
    'its model API, the package registries, GitHub and sandbox.allowHosts';
  return { decision, proxied: { socatPath: socatPath as string, proxyScript }, reason, warning: null };
}
