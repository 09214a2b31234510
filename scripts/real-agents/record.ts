/**
 * The run log of docs/compatibility.md: one table row per run of the real-agent suite, appended by run.ts, so
 * the document says which versions passed, when, on which Node, and how.
 */
import { readFileSync, writeFileSync } from 'node:fs';

export const RUN_LOG_HEADING = '## Run log';

export interface RunFacts {
  date: Date;
  versions: Record<string, string>;
  node: string;
  root: boolean;
  counts: { numPassedTests: number; numFailedTests: number; numPendingTests: number } | null;
  seconds: number;
  exitCode: number | null;
  /** Only some tests ran (arguments were passed on to vitest). */
  subset: boolean;
}

/** `| 2026-12-06 | claude 2.1.329, codex 0.169.0, gemini 0.61.0 | v20.20.2, root | 57 passed | 95 s |` */
export function runRecord(facts: RunFacts): string {
  const versions = Object.entries(facts.versions)
    .map(([agent, version]) => `${agent} ${version}`)
    .join(', ');
  const counts = facts.counts
    ? [
        `${facts.counts.numPassedTests} passed`,
        facts.counts.numFailedTests ? `**${facts.counts.numFailedTests} failed**` : '',
        facts.counts.numPendingTests ? `${facts.counts.numPendingTests} skipped` : '',
      ]
        .filter(Boolean)
        .join(', ')
    : `no report (exit ${facts.exitCode ?? 'killed'})`;
  return (
    `| ${facts.date.toISOString().slice(0, 10)} | ${versions} | ${facts.node}` +
    `${facts.root ? ', root' : ''} | ${counts}${facts.subset ? ' (a subset)' : ''} | ${facts.seconds} s |`
  );
}

/** Insert `row` at the end of the run log's table (the first table after its heading). */
export function appendRunRecord(path: string, row: string): void {
  const lines = readFileSync(path, 'utf8').split('\n');
  const heading = lines.indexOf(RUN_LOG_HEADING);
  if (heading === -1) throw new Error(`${path} has no "${RUN_LOG_HEADING}" section`);
  let at = lines.findIndex((line, i) => i > heading && line.startsWith('|'));
  if (at === -1) throw new Error(`${path}: no table under "${RUN_LOG_HEADING}"`);
  while (lines[at + 1]?.startsWith('|')) at++;
  lines.splice(at + 1, 0, row);
  writeFileSync(path, lines.join('\n'));
}
