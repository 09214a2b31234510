/**
 * The host patterns of the sandbox's network allowlist (`sandbox.allowHosts`, src/safety/network.ts): one
 * parser, for the spec's validation and for the proxy, so a pattern the spec takes is one the proxy applies.
 */

/** One allowlist entry as the proxy reads it: host (lower case, `*.` for subdomains) and port (null: any). */
export interface HostRule {
  host: string;
  port: number | null;
}

/** `example.com`, `*.example.com`, `127.0.0.1:8080`, `[::1]:8080` as a rule; null when it is none of these. */
export function parseHostRule(pattern: string): HostRule | null {
  const bracketed = /^\[([0-9a-f:.]+)\](?::(\d{1,5}))?$/i.exec(pattern);
  const plain = /^((?:\*\.)?[a-z0-9.-]+)(?::(\d{1,5}))?$/i.exec(pattern);
  const match = bracketed ?? plain;
  if (!match?.[1]) return null;
  const port = match[2] === undefined ? null : Number(match[2]);
  if (port !== null && (port < 1 || port > 65535)) return null;
  return { host: match[1].toLowerCase(), port };
}
