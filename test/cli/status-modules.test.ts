/**
 * What a cold `orchestrate status` loads (dist/cli.js, built by `npm test` before vitest runs), recorded by a load
 * hook in the real process: a listing loads no schema (zod) and not node:crypto, which were most of its start; the
 * view of one session loads zod, which validates its session.json (and shows that the record sees zod). And what
 * it says of a session.json that is not what the orchestrator wrote: one line naming the file.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionSpecSchema } from '../../src/domain/spec.js';
import { SessionStore } from '../../src/store/session-store.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const RECORDER = fileURLToPath(new URL('../support/record-modules.mjs', import.meta.url));

let root: string;
let workspace: string;
let sessionId: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'orch-status-modules-'));
  workspace = join(root, 'workspace');
  const spec = SessionSpecSchema.parse({ task: 'count', workers: [{ id: 'w', agent: 'claude', role: 'implementer' }] });
  const store = SessionStore.create(workspace, spec, root, null);
  sessionId = store.sessionId;
  store.close();
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The modules `orchestrate ARGS` loaded: our files (with their text) and Node's built-ins. */
function loadedBy(args: string[]): { files: Map<string, string>; builtins: string[]; stdout: string } {
  const record = join(root, `modules-${args.length}.txt`);
  const run = spawnSync(process.execPath, ['--import', RECORDER, CLI, ...args, '--workspace', workspace], {
    env: { ...process.env, RECORD_MODULES: record, NO_COLOR: '1' },
    encoding: 'utf8',
  });
  expect(run.status, run.stderr).toBe(0);
  const lines = readFileSync(record, 'utf8').split('\n');
  const files = new Map(
    lines.filter((l) => l.startsWith('file:')).map((url) => [url, readFileSync(fileURLToPath(url), 'utf8')] as const),
  );
  const builtins = lines.filter((l) => l.startsWith('NativeModule ')).map((l) => l.slice('NativeModule '.length));
  return { files, builtins, stdout: run.stdout };
}

const withZod = (files: Map<string, string>) => [...files].filter(([, text]) => text.includes('$ZodType'));

describe('a cold orchestrate status', () => {
  it('lists the sessions without loading zod or node:crypto', () => {
    const { files, builtins, stdout } = loadedBy(['status']);
    expect(stdout).toContain(sessionId);
    expect(files.has(`file://${CLI}`)).toBe(true);
    expect(withZod(files).map(([url]) => url)).toEqual([]);
    expect(builtins.filter((name) => name === 'crypto' || name.startsWith('internal/crypto/'))).toEqual([]);
  });

  it('the view of one session loads zod, to validate its session.json', () => {
    const { files, stdout } = loadedBy(['status', sessionId]);
    expect(stdout).toContain('task:   count');
    expect(withZod(files).length).toBeGreaterThan(0);
  });
});

describe('a session.json that is not what the orchestrator wrote', () => {
  /** `orchestrate status ...ARGS` with session.json replaced by `content` for the run. */
  function statusWith(content: (original: string) => string, args: string[]) {
    const original = readFileSync(metaPath(), 'utf8');
    writeFileSync(metaPath(), content(original));
    try {
      return spawnSync(process.execPath, [CLI, 'status', ...args, '--workspace', workspace], {
        env: { ...process.env, NO_COLOR: '1' },
        encoding: 'utf8',
      });
    } finally {
      writeFileSync(metaPath(), original);
    }
  }

  it('not JSON: the listing and the view say so in one line naming the file, exit 1', () => {
    for (const args of [[], [sessionId]]) {
      const run = statusWith(() => '{"version": 1,', args);
      expect(run.status, run.stderr).toBe(1);
      expect(run.stderr).toMatch(/^error: \S+session\.json is not valid JSON: [^\n]+\n$/);
    }
  });

  it('a spec that is not one: the view names the field in one line; the listing shows the header it reads', () => {
    const broken = (original: string) => JSON.stringify({ ...JSON.parse(original), spec: { task: 't', workers: 7 } });
    const view = statusWith(broken, [sessionId]);
    expect(view.status, view.stderr).toBe(1);
    expect(view.stderr).toMatch(
      /^error: \S+session\.json is not a session file this orchestrator reads \(spec\.workers: [^\n]+\)\n$/,
    );
    const listing = statusWith(broken, []);
    expect(listing.status, listing.stderr).toBe(0);
    expect(listing.stdout).toContain(sessionId);
  });
});

function metaPath(): string {
  return join(workspace, 'sessions', sessionId, 'session.json');
}
