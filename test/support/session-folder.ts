/**
 * Reading a session folder the way the durability tests judge it (test/integration/durability.test.ts,
 * serve-resume-all.test.ts): its events as written so far, its view, its launch records, and the three
 * durability assertions: every agent line became events exactly once, no actor logged a transition twice, and
 * no attempt launched twice.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { expect } from 'vitest';
import { getAdapter } from '../../src/agents/registry.js';
import type { OrchestratorEvent } from '../../src/domain/events.js';
import { buildSessionView, type SessionView } from '../../src/runtime/view.js';
import { SessionStore, type ProcRecord } from '../../src/store/session-store.js';
import { eventsOfType, launches, sessionIds, type Sandbox } from './orchestrate.js';

export function sessionDirOf(sandbox: Sandbox, sid: string): string {
  return join(sandbox.workspace, 'sessions', sid);
}

/** The events of a session that is being written to (complete lines only). */
export function peekEvents(sandbox: Sandbox, sid: string): OrchestratorEvent[] {
  const path = join(sessionDirOf(sandbox, sid), 'events.jsonl');
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as OrchestratorEvent);
}

/** The session's view from its files (snapshot and meta), as `status --json` builds it. */
export function folderView(sandbox: Sandbox, sid: string): SessionView {
  const snapshot = SessionStore.readSnapshotOf(sandbox.workspace, sid)?.snapshot ?? null;
  return buildSessionView(SessionStore.readMeta(sandbox.workspace, sid), snapshot, 0);
}

/** The workers (and reviewers) that launched an agent: they have launch records. */
export function workerIds(sandbox: Sandbox, sid: string): string[] {
  const dir = join(sessionDirOf(sandbox, sid), 'agents');
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.proc.json'))
        .map((f) => f.slice(0, -'.proc.json'.length))
    : [];
}

export function procRecords(sandbox: Sandbox, sid: string, workerId: string): ProcRecord[] {
  const path = join(sessionDirOf(sandbox, sid), 'agents', `${workerId}.proc.json`);
  return existsSync(path)
    ? (JSON.parse(readFileSync(path, 'utf8')) as ProcRecord[]).sort((a, b) => a.attempt - b.attempt)
    : [];
}

/**
 * Every non-blank stdout line of every attempt of every agent became events exactly once: per line end offset,
 * exactly as many events as the adapter makes of that line, in one contiguous run, in file order.
 */
export function expectEveryLineExactlyOnce(sandbox: Sandbox, sid: string, events: OrchestratorEvent[]): number {
  const spec = SessionStore.readMeta(sandbox.workspace, sid).spec;
  let checked = 0;
  for (const workerId of workerIds(sandbox, sid)) {
    const agent = spec.workers.find((w) => w.id === workerId)?.agent ?? workerId.split('-')[1] ?? '';
    const adapter = getAdapter(agent);
    const file = readFileSync(join(sessionDirOf(sandbox, sid), 'agents', `${workerId}.stdout.jsonl`));
    const records = procRecords(sandbox, sid, workerId);
    records.forEach((record, i) => {
      const rangeEnd = records[i + 1]?.stdoutStart ?? file.length;
      const expected: Array<{ end: number; count: number }> = [];
      let offset = record.stdoutStart;
      for (const line of file.subarray(record.stdoutStart, rangeEnd).toString('utf8').split('\n')) {
        const end = Math.min(offset + Buffer.byteLength(line) + 1, rangeEnd);
        offset = end;
        if (line.trim() === '') continue;
        expected.push({ end, count: Math.max(1, adapter.parseLine(line).length) });
      }
      const runs: Array<{ end: number; count: number }> = [];
      for (const e of events) {
        if (e.type !== 'agent' || e.workerId !== workerId || e.at?.attempt !== record.attempt) continue;
        const last = runs.at(-1);
        if (last && last.end === e.at.end) last.count++;
        else runs.push({ end: e.at.end, count: 1 });
      }
      expect(runs, `${workerId} attempt ${record.attempt}: line end offsets and events per line`).toEqual(expected);
      checked += expected.length;
    });
  }
  return checked;
}

/**
 * The agent's own arguments in a launch record: after `bwrap <options> -- <agent>` when sandboxed, after the
 * network bridge's `orchestrator-bridge <socat> <folder> <ports> -- <agent>` when its network is proxied.
 */
export function agentArgs(argv: string[]): string[] {
  const bridge = argv.indexOf('orchestrator-bridge');
  if (bridge >= 0) return argv.slice(argv.indexOf('--', bridge) + 2);
  const separator = argv.indexOf('--');
  return basename(argv[0] ?? '') === 'bwrap' && separator >= 0 ? argv.slice(separator + 2) : argv.slice(1);
}

/**
 * Each attempt launched exactly once: the fake agent's launches (argv) are exactly the recorded launches of the
 * given sessions (all of the workspace by default), attempts 1..N, as many as each worker's attempt number.
 */
export function expectNoDoubleLaunch(sandbox: Sandbox, sids: string | string[] = sessionIds(sandbox.workspace)): void {
  const recorded: string[] = [];
  for (const sid of typeof sids === 'string' ? [sids] : sids) {
    const finalView = folderView(sandbox, sid);
    for (const workerId of workerIds(sandbox, sid)) {
      const records = procRecords(sandbox, sid, workerId);
      expect(
        records.map((r) => r.attempt),
        `${sid} ${workerId}: attempts`,
      ).toEqual(records.map((_, i) => i + 1));
      expect(records.length, `${sid} ${workerId}: launches = attempts`).toBe(
        finalView.workers.find((w) => w.id === workerId)?.attempt,
      );
      for (const r of records) recorded.push(JSON.stringify(agentArgs(r.argv)));
    }
  }
  expect(
    launches(sandbox)
      .map((l) => JSON.stringify(l.argv))
      .sort(),
  ).toEqual(recorded.sort());
}

/** No actor logged a transition twice: each state event starts where the previous one of that actor ended. */
export function expectStateChains(events: OrchestratorEvent[]): void {
  const last = new Map<string, string>();
  for (const e of eventsOfType(events, 'state')) {
    const key = `${e.machine}:${e.id}`;
    expect(e.from, `${key} seq ${e.seq}: ${e.from} -> ${e.to}`).toBe(last.get(key) ?? null);
    last.set(key, e.to);
  }
}
