/**
 * Shared by the browser tests: a real server (startServer) over a SessionManager whose agents are the fake
 * agent, and Debian's Chromium driven by playwright-core (never a downloaded browser). Screenshots go to
 * test-results/browser/. Everything started here is stopped by `close()`: the browser, the sessions (STOP,
 * then waitForEnd), the server, and any fake agent process group still alive.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { SessionSpecSchema, type SessionSpecInput } from '../../src/domain/spec.js';
import { startServer, type RunningServer } from '../../src/http/server.js';
import { SessionManager } from '../../src/runtime/session-manager.js';
import type { SessionRuntime } from '../../src/runtime/session-runtime.js';
import { fakeAgentVars } from '../support/fake-agent.js';
import { poll } from '../support/poll.js';

export const CHROMIUM = process.env.ORCHESTRATOR_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
export const SCREENSHOTS = fileURLToPath(new URL('../../test-results/browser/', import.meta.url));
export const TOKEN = 'browser-test-token-0123456789';

/** Fail loudly, never skip: the browser suite is part of the test run. */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `The browser tests need Debian's Chromium at ${CHROMIUM} (set ORCHESTRATOR_CHROMIUM to use another binary). ` +
        'Install it with `apt-get install -y chromium` (.ci/run does this). ' +
        'playwright-core never downloads a browser here.',
    );
  }
}

export interface BrowserHarness {
  manager: SessionManager;
  server: RunningServer;
  browser: Browser;
  context: BrowserContext;
  target: string;
  url: string;
  /** Start a session on the fake agents, on the harness's target (a plain folder) or on `targetDir`. */
  start(spec: SessionSpecInput, targetDir?: string): Promise<SessionRuntime>;
  /** A new tab on `path` (e.g. `/#/sessions/<sid>`), with the token handed over in the fragment. */
  open(path: string): Promise<Page>;
  /** Close the server (its streams end) and start it again on the same port with the same token. */
  restartServer(): Promise<void>;
  stopServer(): Promise<void>;
  startServerAgain(): Promise<void>;
  /** A JSON API call from the test (bearer token). */
  api<T = Record<string, unknown>>(path: string, init?: { method?: string; body?: unknown }): Promise<T>;
  screenshot(page: Page, name: string): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(fakeConfig: object, name: string): Promise<BrowserHarness> {
  requireChromium();
  mkdirSync(SCREENSHOTS, { recursive: true });
  const folders: string[] = [];
  const temp = (prefix: string) => {
    const dir = mkdtempSync(join(tmpdir(), `orch-browser-${name}-${prefix}-`));
    folders.push(dir);
    return dir;
  };
  const workspace = temp('ws');
  const target = temp('target');
  const fakeState = temp('fake-state');
  const manager = new SessionManager({
    workspace,
    env: { ...process.env, ...fakeAgentVars(fakeState, fakeConfig) },
  });
  let server = await startServer({ manager, workspace, port: 0, heartbeatMs: 500, token: TOKEN, closeTimeoutMs: 500 });
  const port = server.port;
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const context = await browser.newContext({
    viewport: { width: 1360, height: 900 },
    colorScheme: 'light',
    reducedMotion: 'no-preference',
  });
  context.setDefaultTimeout(15_000);
  let serverUp = true;

  const harness: BrowserHarness = {
    manager,
    get server() {
      return server;
    },
    browser,
    context,
    target,
    get url() {
      return server.url;
    },
    start: (spec, targetDir = target) => manager.create(SessionSpecSchema.parse(spec), targetDir),
    async open(path) {
      const page = await context.newPage();
      page.on('pageerror', (error) => console.error(`[${name}] page error: ${error.message}`));
      const [base, fragment = ''] = path.split('#');
      // The token rides in the fragment, as in the address the CLI prints; the page moves it to sessionStorage.
      await page.goto(`${server.url}${base}#${fragment ? `${fragment}&` : ''}token=${encodeURIComponent(TOKEN)}`);
      return page;
    },
    async stopServer() {
      if (!serverUp) return;
      serverUp = false;
      await server.close();
    },
    async startServerAgain() {
      if (serverUp) return;
      server = await startServer({ manager, workspace, port, heartbeatMs: 500, token: TOKEN, closeTimeoutMs: 500 });
      serverUp = true;
    },
    async restartServer() {
      await harness.stopServer();
      await harness.startServerAgain();
    },
    async api(path, init = {}) {
      const res = await fetch(`${server.url}/api/v1${path}`, {
        method: init.method ?? (init.body !== undefined ? 'POST' : 'GET'),
        headers: {
          authorization: `Bearer ${TOKEN}`,
          ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      });
      const body = (await res.json()) as Record<string, unknown>;
      if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status} ${JSON.stringify(body)}`);
      return body as never;
    },
    async screenshot(page, file) {
      await page.screenshot({ path: join(SCREENSHOTS, `${file}.png`), fullPage: true, animations: 'disabled' });
    },
    async close() {
      await browser.close().catch(() => undefined);
      await manager.stopAll('test cleanup');
      if (serverUp) await server.close();
      serverUp = false;
      reapFakeAgents(fakeState);
      for (const dir of folders) rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** Kill the process group of any fake agent launch that is still alive (there should be none). */
export function reapFakeAgents(stateDir: string): number[] {
  const file = join(stateDir, 'launches.jsonl');
  if (!existsSync(file)) return [];
  const survivors: number[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const launch = JSON.parse(line) as { pid?: number; argv?: string[] };
    const pid = launch.pid;
    // A zombie has exited already (its parent, this process, reaps it soon): not a leftover.
    if (!pid || !isAlive(pid) || procState(pid) === 'Z') continue;
    survivors.push(pid);
    console.warn(
      `fake agent ${pid} still alive: ${procState(pid)} ` +
        `${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').slice(0, 200)}`,
    );
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }
  if (survivors.length) console.warn(`killed leftover fake agents: ${survivors.join(', ')}`);
  return survivors;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The scheduler state of a process from /proc/<pid>/stat: R, S, T (stopped) ... */
export function procState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces: the state follows the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? null;
  } catch {
    return null;
  }
}

/** poll() with the `what` before the timeout, as the browser tests call it. */
export const waitFor = <T>(
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  what: string,
  timeoutMs = 15_000,
) => poll(probe, timeoutMs, what);
