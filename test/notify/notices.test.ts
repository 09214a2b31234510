/** What a person is told (src/notify/notices.ts), and the desktop channel with a notify-send of the test's own. */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { OrchestratorEvent } from '../../src/domain/events.js';
import { desktopChannel, desktopNotifier } from '../../src/notify/channels.js';
import { channelsFor } from '../../src/notify/notifier.js';
import { noticeFor, type NoticeContext } from '../../src/domain/notices.js';

const context: NoticeContext = {
  answerCommand: (b) => `orchestrate resolve S ${b.id} <${b.options.join('|')}>`,
  outcome: () => ({ outcome: 'partial', reason: 'not every worker completed: w2 skipped' }),
};
const base = {
  seq: 7,
  ts: '2026-12-06T10:00:00.000Z',
  sessionId: 'S',
  source: { kind: 'supervisor', id: 'S' },
} as const;
const blocker = (extra: Record<string, unknown> = {}) =>
  ({
    ...base,
    type: 'blocker',
    blockerId: 'b2',
    kind: 'QUOTA_EXCEEDED',
    workerId: 'w1',
    message: 'usage limit reached\nsecond line',
    action: 'wait',
    options: ['retry', 'skip', 'stop'],
    ...extra,
  }) as OrchestratorEvent;

describe('notices', () => {
  it('an open blocker: needs input, naming the worker, the kind, the first line and the command', () => {
    expect(noticeFor(blocker(), context)).toEqual({
      key: 'needs-input:b2',
      kind: 'needs-input',
      sessionId: 'S',
      title: 'w1 needs input (QUOTA_EXCEEDED)',
      text:
        'Session S: w1 needs input. QUOTA_EXCEEDED: ' +
        'usage limit reached Answer with: orchestrate resolve S b2 <retry|skip|stop>',
      workerId: 'w1',
      blockerId: 'b2',
      command: 'orchestrate resolve S b2 <retry|skip|stop>',
    });
  });

  it('an answered blocker, or one nobody can answer, tells nobody', () => {
    expect(noticeFor(blocker({ resolution: { choice: 'retry' } }), context)).toBeNull();
    expect(noticeFor(blocker({ options: [] }), context)).toBeNull();
  });

  it("the session's end: done, with its outcome and why; other state changes tell nobody", () => {
    const end = {
      ...base,
      type: 'state',
      machine: 'session',
      id: 'S',
      from: 'integrating',
      to: 'completed',
      cause: 'x',
    };
    expect(noticeFor(end as OrchestratorEvent, context)).toMatchObject({
      key: 'done:S',
      kind: 'done',
      outcome: 'partial',
      text: 'Session S ended: partial (not every worker completed: w2 skipped). See: orchestrate status S',
    });
    expect(noticeFor({ ...end, machine: 'worker', id: 'w1' } as OrchestratorEvent, context)).toBeNull();
    expect(noticeFor({ ...end, to: 'waiting' } as OrchestratorEvent, context)).toBeNull();
  });

  it('a budget warning of the safety monitor: budget', () => {
    const warning = {
      ...base,
      type: 'safety',
      rule: 'budget-warning',
      subject: 'maxCostUsd',
      action: 'warn',
      detail: 'the session has spent $4.00 of its $5.00',
    } as OrchestratorEvent;
    expect(noticeFor(warning, context)).toMatchObject({ key: 'budget:maxCostUsd', kind: 'budget' });
  });
});

describe('the desktop channel', () => {
  it('runs notify-send with the title and the text as arguments (no shell)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orch-notify-'));
    try {
      const log = join(dir, 'args.json');
      const fake = join(dir, 'notify-send');
      writeFileSync(
        fake,
        // import(), not require: the temp dir may sit under a package.json of "type": "module".
        `#!${process.execPath}\n` +
          `import('node:fs').then((fs) => ` +
          `fs.writeFileSync(${JSON.stringify(log)}, JSON.stringify(process.argv.slice(2))));\n`,
      );
      chmodSync(fake, 0o755);
      const env = { PATH: dir };
      expect(desktopNotifier(env, 'linux')?.file).toBe(fake);
      const channel = desktopChannel(env);
      const text = 'it said "$(rm -rf ~)" and `that`';
      await channel?.send({ key: 'k', kind: 'done', sessionId: 'S', title: 'session completed', text });
      expect(JSON.parse(readFileSync(log, 'utf8'))).toEqual([
        '--app-name=orchestrate',
        'orchestrate: session completed',
        text,
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('where nothing shows notifications: no channel, and one note that says so', () => {
    expect(desktopNotifier({ PATH: '/nonexistent' }, 'linux')).toBeNull();
    const { channels, notes } = channelsFor(['desktop', 'desktop', 'https://example.com/hook'], { PATH: '' });
    expect(channels.map((c) => [c.kind, c.target])).toEqual([['webhook', 'https://example.com']]);
    expect(notes).toEqual([
      '--notify desktop: neither notify-send nor osascript is on PATH, so no desktop notification shows',
    ]);
  });
});
