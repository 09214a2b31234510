/**
 * Where notices go. A webhook gets a JSON POST (Slack-compatible: its `text` is the message); the desktop gets
 * `notify-send` (Linux) or `osascript` (macOS), run without a shell, the text passed as arguments. A channel's
 * send resolves when the notice was delivered and rejects with why it was not; the notifier retries.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Notice } from '../domain/notices.js';

export interface Channel {
  kind: 'webhook' | 'desktop';
  /** What the log may say of it (a webhook's origin: its path is often the secret). */
  target: string;
  send(notice: Notice): Promise<void>;
}

/** How long one try may take. */
const TRY_TIMEOUT_MS = 10_000;

export function webhookChannel(url: string): Channel {
  return {
    kind: 'webhook',
    target: new URL(url).origin,
    async send(notice) {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          sessionId: notice.sessionId,
          kind: notice.kind,
          title: notice.title,
          text: notice.text,
          ...(notice.workerId ? { workerId: notice.workerId } : {}),
          ...(notice.blockerId ? { blockerId: notice.blockerId } : {}),
          ...(notice.command ? { command: notice.command } : {}),
          ...(notice.outcome ? { outcome: notice.outcome } : {}),
        }),
        signal: AbortSignal.timeout(TRY_TIMEOUT_MS),
      });
      // The body is not read; it is released so the connection can be reused or closed.
      await response.body?.cancel();
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
    },
  };
}

/** The program on PATH that shows a desktop notification here, or null (then the desktop channel does nothing). */
export function desktopNotifier(
  env: Record<string, string | undefined> = process.env,
  platform: NodeJS.Platform = process.platform,
): { file: string; args: (title: string, text: string) => string[] } | null {
  if (platform === 'darwin') {
    const file = onPath('osascript', env);
    // The text goes in as arguments of the script, never into its source.
    const script = ['on run argv', 'display notification (item 2 of argv) with title (item 1 of argv)', 'end run'];
    return file ? { file, args: (title, text) => [...script.flatMap((l) => ['-e', l]), title, text] } : null;
  }
  const file = onPath('notify-send', env);
  return file ? { file, args: (title, text) => ['--app-name=orchestrate', title, text] } : null;
}

/** The desktop channel, or null where nothing shows notifications (a quiet no-op: the caller says so once). */
export function desktopChannel(env: Record<string, string | undefined> = process.env): Channel | null {
  const notifier = desktopNotifier(env);
  if (!notifier) return null;
  return {
    kind: 'desktop',
    target: 'desktop',
    send(notice) {
      return new Promise<void>((resolve, reject) => {
        const child = spawn(notifier.file, notifier.args(`orchestrate: ${notice.title}`, notice.text), {
          stdio: 'ignore',
          env: env as NodeJS.ProcessEnv,
          timeout: TRY_TIMEOUT_MS,
        });
        child.once('error', reject);
        child.once('exit', (code, signal) =>
          code === 0 ? resolve() : reject(new Error(`${notifier.file} exited ${signal ?? code}`)),
        );
      });
    },
  };
}

function onPath(name: string, env: Record<string, string | undefined>): string | null {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return null;
}
