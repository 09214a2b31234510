/**
 * The one reader of /proc/<pid>/stat: what a process is (its state, parent, group, CPU, memory) and, with its
 * start time, whether a pid still names the same process (pids are reused).
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcStat {
  pid: number;
  comm: string;
  /** R running, S sleeping, T stopped, Z zombie ... */
  state: string;
  ppid: number;
  pgrp: number;
  utimeTicks: number;
  stimeTicks: number;
  /** Clock ticks after boot; with the pid it identifies a process for life. */
  startTime: string;
  rssPages: number;
}

/** Parse /proc/<pid>/stat; null when the process does not exist. */
export function readProcStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // comm may hold spaces and parentheses: the fields after it start after the LAST ')'.
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  const fields = text
    .slice(close + 2)
    .trim()
    .split(' ');
  return {
    pid,
    comm: text.slice(open + 1, close),
    state: fields[0] ?? '?',
    ppid: Number(fields[1]),
    pgrp: Number(fields[2]),
    utimeTicks: Number(fields[11]),
    stimeTicks: Number(fields[12]),
    startTime: fields[19] ?? '',
    rssPages: Number(fields[21]),
  };
}

/** True when `pid` is the very process launched at `startTime` and it has not ended (zombies count as ended). */
export function isSameProcessAlive(pid: number, startTime: string): boolean {
  const stat = readProcStat(pid);
  return stat !== null && stat.startTime === startTime && stat.state !== 'Z' && stat.state !== 'X';
}

/** Every live process in a process group. */
export function groupMembers(pgid: number): ProcStat[] {
  const members: ProcStat[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return members;
  }
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const stat = readProcStat(pid);
    if (stat && stat.pgrp === pgid && stat.state !== 'Z' && stat.state !== 'X') members.push(stat);
  }
  return members;
}
