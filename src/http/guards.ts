/**
 * Host and Origin checks. The API can make agents run code on this machine, so a web page must not reach
 * it: a DNS-rebinding page arrives with a foreign Host, a cross-site request with a foreign Origin. Both
 * get 403 before anything else runs, on every route (pages included).
 */
import { networkInterfaces, hostname } from 'node:os';
import type { MiddlewareHandler } from 'hono';
import { HttpError } from './errors.js';

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

/** How a host goes into a URL or a Host header: IPv6 literals in brackets. */
export function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/**
 * The Host values this server answers to: 127.0.0.1, localhost and [::1] with the bound port, the bound host
 * itself, and (bound to a wildcard address) this machine's interface addresses and hostname. The port is
 * set once the server listens (port 0 picks one).
 */
export class HostPolicy {
  private readonly names: string[];
  private allowed = new Set<string>();

  constructor(
    readonly bindHost: string,
    private currentPort = 0,
  ) {
    const names = new Set(LOOPBACK_NAMES);
    if (isWildcardHost(bindHost)) {
      for (const list of Object.values(networkInterfaces()))
        for (const i of list ?? []) names.add(hostForUrl(i.address.replace(/%.*$/, '')));
      names.add(hostname());
    } else {
      names.add(hostForUrl(bindHost));
    }
    this.names = [...names];
    this.rebuild();
  }

  get port(): number {
    return this.currentPort;
  }

  set port(port: number) {
    this.currentPort = port;
    this.rebuild();
  }

  /** The normalized `host[:port]` strings accepted in a Host header. */
  get hosts(): string[] {
    return [...this.allowed];
  }

  allowsHost(value: string | undefined): boolean {
    const normalized = value === undefined ? null : normalizeHost(value);
    return normalized !== null && this.allowed.has(normalized);
  }

  /** An Origin is ours when it is exactly `http://` + an allowed host (no path, no user, no other scheme). */
  allowsOrigin(value: string): boolean {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return false;
    }
    return (
      url.protocol === 'http:' && url.origin === value.toLowerCase().replace(/\/$/, '') && this.allowed.has(url.host)
    );
  }

  private rebuild(): void {
    this.allowed = new Set(
      this.names.map((name) => normalizeHost(`${name}:${this.currentPort}`)).filter((h): h is string => h !== null),
    );
  }
}

/** `Host` as the URL parser sees it (lowercase, default port dropped), or null when it is not a plain host[:port]. */
function normalizeHost(value: string): string | null {
  if (value === '' || /[/?#@\\\s]/.test(value)) return null;
  try {
    return new URL(`http://${value}`).host;
  } catch {
    return null;
  }
}

export function hostOriginGuard(policy: HostPolicy): MiddlewareHandler {
  return async (c, next) => {
    const host = c.req.header('host');
    if (!policy.allowsHost(host)) {
      throw new HttpError(
        403,
        host === undefined
          ? 'missing Host header'
          : `Host "${host}" is not this server; use http://127.0.0.1:${policy.port}`,
      );
    }
    const origin = c.req.header('origin');
    if (origin !== undefined && !policy.allowsOrigin(origin)) {
      throw new HttpError(403, `cross-origin request from "${origin}" refused`);
    }
    await next();
  };
}

export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'";

/** Headers on every response; the CSP on HTML; API answers are never cached. */
export function securityHeaders(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const headers = c.res.headers;
    const added = securityHeadersFor(c.req.path, headers.get('content-type'), headers.has('cache-control'));
    for (const [name, value] of Object.entries(added)) headers.set(name, value);
  };
}

/** The security headers of a response to `path` (also for one written straight to the socket, such as SSE). */
export function securityHeadersFor(path: string, contentType: string | null, cached: boolean): Record<string, string> {
  const headers: Record<string, string> = { 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' };
  if ((contentType ?? '').startsWith('text/html')) {
    headers['Content-Security-Policy'] = CONTENT_SECURITY_POLICY;
    headers['X-Frame-Options'] = 'DENY';
  }
  if (path.startsWith('/api/') && !cached) headers['Cache-Control'] = 'no-store';
  return headers;
}
