/** Turning `run` options into a validated session spec, with errors a person can act on. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type * as z from 'zod';
import { agentProblems, knownAgents } from '../agents/registry.js';
import { defaultSpec, restrictToAgents, SessionSpecSchema, type SessionSpec } from '../domain/spec.js';
import { describeUnknownKey, findUnknownKey } from '../domain/spec-keys.js';
import { UsageError } from '../domain/usage-error.js';
import { asUsageError, checkReadableFile } from './fs-errors.js';

export interface SpecOptions {
  task?: string;
  specFile?: string;
  agents?: string;
  /** A spec as data (an MCP tool's argument), instead of a file. */
  spec?: Record<string, unknown>;
}

/**
 * A spec given as data (a file's JSON, an MCP tool's argument), checked: a typo in a key is refused on one line,
 * with the key it was probably meant to be. `where` names it in the message (`spec file /x/spec.json`).
 */
export function parseSpec(raw: unknown, where: string): SessionSpec {
  const parsed = SessionSpecSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const unknown = findUnknownKey(parsed.error.issues);
  if (unknown) throw new UsageError(`${where}: ${describeUnknownKey(unknown.key, unknown.path)}`);
  throw new UsageError(`${where} is not a valid session spec:\n${formatIssues(parsed.error)}`);
}

export function buildSpec(options: SpecOptions): SessionSpec {
  let spec: SessionSpec;
  if (options.spec) {
    spec = parseSpec({ ...options.spec, ...(options.task ? { task: options.task } : {}) }, 'the spec');
  } else if (options.specFile) {
    const path = resolve(options.specFile);
    if (!existsSync(path)) throw new UsageError(`spec file ${path} does not exist`);
    checkReadableFile(path, 'spec file');
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw asUsageError(error, 'spec file', path);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (error) {
      throw new UsageError(`spec file ${path} is not valid JSON: ${(error as Error).message}`);
    }
    if (options.task && raw && typeof raw === 'object') (raw as Record<string, unknown>).task = options.task;
    spec = parseSpec(raw, `spec file ${path}`);
  } else {
    if (!options.task || options.task.trim() === '') {
      throw new UsageError('say what to do: `orchestrate run "the task" -C DIR`, or give a spec with --spec FILE');
    }
    spec = defaultSpec(options.task);
  }
  const problem = agentProblems(spec);
  if (problem) throw new UsageError(problem);
  if (options.agents) {
    spec = restrictToAgents(spec, agentList(options.agents));
    if (spec.workers.length === 0)
      throw new UsageError(`--agents ${options.agents}: no worker of the spec uses these agents`);
  }
  return spec;
}

export function resolveTargetDir(dir: string | undefined): string {
  const target = resolve(dir ?? process.cwd());
  if (!existsSync(target) || !statSync(target).isDirectory()) throw new UsageError(`-C ${target}: not a directory`);
  return target;
}

export function formatIssues(error: z.ZodError): string {
  return error.issues.map((i) => `  - ${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`).join('\n');
}

/** `--agents a,b`: the agent names, each one we know; otherwise a usage error that names the others. */
export function agentList(value: string): string[] {
  const agents = value
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  const bad = agents.filter((a) => !knownAgents().includes(a));
  if (bad.length) throw new UsageError(`--agents: unknown agent(s) ${bad.join(', ')}: use ${knownAgents().join(', ')}`);
  return agents;
}
