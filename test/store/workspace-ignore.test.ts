import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSpec } from '../../src/domain/spec.js';
import { SessionStore } from '../../src/store/session-store.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('the workspace in a project', () => {
  it('ignores itself in git: sessions and the token never show up in git status', () => {
    const project = mkdtempSync(join(tmpdir(), 'ws-ignore-'));
    dirs.push(project);
    execFileSync('git', ['-c', 'init.defaultBranch=main', 'init', '-q'], { cwd: project });
    writeFileSync(join(project, 'README.md'), '# p\n');
    const workspace = join(project, '.orchestrator');
    const store = SessionStore.create(workspace, defaultSpec('t'), project, null);
    writeFileSync(join(workspace, 'token'), 'secret\n');
    store.close();
    const status = execFileSync('git', ['status', '--porcelain', '--untracked-files=all'], {
      cwd: project,
      encoding: 'utf8',
    });
    expect(status.trim().split('\n')).toEqual(['?? README.md']);
  });

  it('keeps a .gitignore the user wrote', () => {
    const workspace = mkdtempSync(join(tmpdir(), 'ws-ignore-own-'));
    dirs.push(workspace);
    writeFileSync(join(workspace, '.gitignore'), 'token\n');
    SessionStore.create(workspace, defaultSpec('t'), workspace, null).close();
    expect(readFileSync(join(workspace, '.gitignore'), 'utf8')).toBe('token\n');
  });
});
