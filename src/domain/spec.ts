/**
 * The session spec: which workers run which agent in which role, who reviews whom, limits, sandbox.
 * `orchestrate run --spec FILE` and `POST /api/v1/orchestrate` both validate with SessionSpecSchema.
 */
import * as z from 'zod';
import { parseHostRule } from './host-rules.js';
import { parseRule } from './permission-rules.js';
import { AgentNameSchema } from './agent-name.js';
import { ROLE_INSTRUCTIONS } from './prompts.js';
import { agentUses, commandIssue } from './spec-agents.js';

export { agentRuns, agentUses, type AgentUse, GENERIC_ACP_AGENT } from './spec-agents.js';

/** Roles with instructions of their own (src/domain/prompts.ts); a worker in any other role needs its `prompt`. */
export const BUILT_IN_ROLES: readonly string[] = Object.keys(ROLE_INSTRUCTIONS);

const WorkerIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'worker ids are letters, digits, "_" and "-" (they name files)');

/** A program and its arguments, as an argv array (no shell): `["opencode", "acp"]`. */
const CommandSchema = z.array(z.string().min(1).max(4096)).min(1, 'a command needs at least its program').max(64);

export const WorkerSpecSchema = z.strictObject({
  id: WorkerIdSchema,
  agent: AgentNameSchema,
  role: z.string().min(1).max(64),
  /** Replaces the role's built-in instructions (the task is still included). */
  prompt: z.string().max(100_000).optional(),
  dependsOn: z.array(WorkerIdSchema).default([]),
  model: z.string().max(128).optional(),
  /** Extra directories the agent may use besides the target directory. */
  includeDirs: z.array(z.string()).default([]),
  /**
   * `interactive`: over the CLI's own two-way protocol, asking the permission rules before each tool runs (claude's
   * stream-json, `codex app-server`, gemini's ACP); `exec`: the one-shot run with approvals bypassed. Unset: decided
   * when the session is created, interactive from the CLI version that mode is tested with, exec before it
   * (src/runtime/agent-modes.ts), and written into the session's spec.
   */
  mode: z.enum(['interactive', 'exec']).optional(),
  /** Agent `acp` only: the ACP agent to run, as an argv array (`["opencode", "acp"]`), found on PATH. */
  command: CommandSchema.optional(),
});
export type WorkerSpec = z.infer<typeof WorkerSpecSchema>;

export const ReviewPairSchema = z.strictObject({
  /** The agent that reviews (a fresh process of that agent CLI). */
  reviewer: AgentNameSchema,
  /** The worker whose work is reviewed. */
  target: WorkerIdSchema,
  focus: z.string().min(1).max(200),
  /** Agent `acp` only: the ACP agent that reviews, as an argv array. */
  command: CommandSchema.optional(),
  /**
   * Unset: exec mode, or interactive for an agent that has only that (ACP agents), decided when the session is
   * created. `interactive`: the reviewer's requests are decided by the permission rules (it only reads).
   */
  mode: z.enum(['interactive', 'exec']).optional(),
});
export type ReviewPair = z.infer<typeof ReviewPairSchema>;

export const ReviewTriggerSchema = z.union([
  z.literal('on-complete'),
  z.literal('manual'),
  z.strictObject({ everyPlanItems: z.number().int().positive() }),
]);

export const ReviewSettingsSchema = z.strictObject({
  trigger: ReviewTriggerSchema.default('on-complete'),
  /** Review rounds per session at most, so review loops cannot run forever. */
  maxRounds: z.number().int().nonnegative().default(3),
  /** Per-reviewer timeout. */
  timeoutSec: z.number().positive().default(600),
  /** The target's diff is cut past this many bytes (with a note in the prompt). */
  diffLimitBytes: z.number().int().positive().default(60_000),
});
export type ReviewSettings = z.infer<typeof ReviewSettingsSchema>;

export const BudgetSchema = z.strictObject({
  maxCostUsd: z.number().positive().optional(),
  maxTokens: z.number().int().positive().optional(),
});

export const LimitsSchema = z.strictObject({
  /** Restart intensity (Erlang/OTP): more than maxRestarts within restartWindowSec -> the worker fails. */
  maxRestarts: z.number().int().nonnegative().default(3),
  restartWindowSec: z.number().positive().default(60),
  /** No output for this long -> the process group is killed and the failure classified `stalled`. */
  stallTimeoutSec: z.number().positive().default(600),
  /** Bounds a worker's whole run (time paused does not count). */
  workerTimeoutSec: z.number().positive().default(3600),
  /** Exponential backoff with jitter for transient failures. */
  backoffBaseMs: z.number().int().nonnegative().default(2_000),
  backoffMaxMs: z.number().int().nonnegative().default(120_000),
  /** A `retryAt` further away than this is capped to it. */
  maxRetryWaitSec: z.number().nonnegative().default(3_600),
  /** SIGTERM, then SIGKILL after this grace period. */
  killGraceMs: z.number().int().nonnegative().default(5_000),
  maxRssMb: z.number().positive().optional(),
  maxCpuPercent: z.number().positive().optional(),
  /** Per worker. */
  maxCostUsd: z.number().positive().optional(),
  maxTokens: z.number().int().positive().optional(),
  /** For the whole session. */
  session: BudgetSchema.default({}),
});
export type Limits = z.infer<typeof LimitsSchema>;

export const SandboxModeSchema = z.enum(['auto', 'bwrap', 'none']);
export type SandboxMode = z.infer<typeof SandboxModeSchema>;

/** A path in `denyRead` / `allowRead`: absolute, or `~/` for the home directory. */
const ReadPathSchema = z
  .string()
  .min(1)
  .refine((p) => p.startsWith('/') || p === '~' || p.startsWith('~/'), 'an absolute path, or one under ~/');
/** A host the agents may reach through the proxy: `example.com`, `*.example.com`, `127.0.0.1:8080`. */
const HostPatternSchema = z
  .string()
  .min(1)
  .refine((p) => parseHostRule(p) !== null, 'a host name, "*.domain", or host:port (port 1 to 65535)');

/**
 * The sandbox (src/safety/sandbox.ts, docs/security.md). The string form is the mode alone; the object form
 * also says what the agents may read and reach.
 */
export const SandboxSettingsSchema = z.strictObject({
  mode: SandboxModeSchema.default('auto'),
  /** "proxy": the agents' only way out is a proxy with an allowlist; "open": the network as it is (a warning). */
  network: z.enum(['proxy', 'open']).default('proxy'),
  /** Hosts reachable besides each agent's model API and the package registries. */
  allowHosts: z.array(HostPatternSchema).default([]),
  /** Hidden besides the credentials that are hidden by default. */
  denyRead: z.array(ReadPathSchema).default([]),
  /** Re-opened, although hidden by default or by denyRead. */
  allowRead: z.array(ReadPathSchema).default([]),
});
export type SandboxSettings = z.infer<typeof SandboxSettingsSchema>;

/** The spec's `sandbox`, either form, as the full settings. */
export function sandboxSettings(value: SandboxMode | SandboxSettings | undefined): SandboxSettings {
  if (value === undefined || typeof value === 'string') return SandboxSettingsSchema.parse({ mode: value ?? 'auto' });
  return value;
}

// --- safety (src/safety owns the rules; docs/security.md explains each) ---------------------------------
/** The safety policy's rules, each configurable to log, pause or stop (src/safety/policy.ts). */
export const SAFETY_RULE_IDS = [
  'rm-rf-root',
  'rm-rf-home',
  'git-force-push-protected',
  'curl-pipe-shell',
  'chmod-777-root',
  'disk-tool',
  'fork-bomb',
  'privilege-escalation',
  'write-outside-target',
  'budget-exceeded',
  'resource-limit',
] as const;
export type SafetyRuleId = (typeof SAFETY_RULE_IDS)[number];
export const SafetyActionSchema = z.enum(['log', 'pause', 'stop']);
export type SafetyAction = z.infer<typeof SafetyActionSchema>;

export const SafetySettingsSchema = z.strictObject({
  /**
   * Action per rule; rules not named keep their default (destructive commands and outside writes pause, the rest log).
   */
  rules: z.partialRecord(z.enum(SAFETY_RULE_IDS), SafetyActionSchema).default({}),
  /** Directories agents may write besides the target and their includeDirs (absolute, or ~/...). */
  allowedRoots: z.array(z.string().min(1)).default([]),
  /** Branches a forced push (or a deletion) of is a violation; `*` matches within a path segment. */
  protectedBranches: z.array(z.string().min(1)).default(['main', 'master']),
});
export type SafetySettings = z.infer<typeof SafetySettingsSchema>;

/** A path inside the target directory: relative, with no `..` (it names a file to copy or link into a checkout). */
const InsidePathSchema = z
  .string()
  .min(1)
  .refine(
    (p) => !p.startsWith('/') && !p.split('/').includes('..') && !p.startsWith('.git/') && p !== '.git',
    'a path inside the target directory: relative, without ".." and not in .git',
  );

/** How each worker's checkout is set up before its agent first runs (src/workspace). */
export const WorkspaceSettingsSchema = z.strictObject({
  /** Files or folders copied from the target into each checkout (`.env`): never committed. */
  copy: z.array(InsidePathSchema).default([]),
  /** Folders linked from the target into each checkout (`node_modules`): never committed. */
  symlink: z.array(InsidePathSchema).default([]),
  /** Commands run in each checkout before its first attempt, as argv arrays (`["npm", "ci"]`): no shell. */
  setup: z.array(z.array(z.string().min(1)).min(1, 'a setup command needs at least its program')).default([]),
  /** A setup command still running after this long fails. */
  setupTimeoutSec: z.number().positive().default(1800),
});
export type WorkspaceSettings = z.infer<typeof WorkspaceSettingsSchema>;

// --- permissions (src/domain/permission-rules.ts decides; docs/permissions.md explains) ---------------------
/** One rule in Claude Code's syntax (`Bash(npm test:*)`, `Edit(src/**)`), or `safety:<rule>` for a built-in one. */
const PermissionRuleSchema = z
  .string()
  .min(1)
  .superRefine((text, ctx) => {
    const rule = parseRule(text);
    if ('error' in rule) ctx.addIssue({ code: 'custom', message: rule.error });
    else if (rule.kind === 'safety' && !(SAFETY_RULE_IDS as readonly string[]).includes(rule.id))
      ctx.addIssue({
        code: 'custom',
        message: `"${text}": there is no safety rule "${rule.id}" (they are ${SAFETY_RULE_IDS.join(', ')})`,
      });
  });

/**
 * What an agent in interactive mode may do without asking, must ask a person for, or may never do: decided before
 * the tool runs. Deny wins, then ask, then allow; `default` is for what no rule names. The built-in safety rules
 * are added as deny and ask entries of their own (src/safety/permission-policy.ts).
 */
export const PermissionsSchema = z.strictObject({
  allow: z.array(PermissionRuleSchema).default([]),
  deny: z.array(PermissionRuleSchema).default([]),
  ask: z.array(PermissionRuleSchema).default([]),
  default: z.enum(['allow', 'ask', 'deny']).default('allow'),
});
export type Permissions = z.infer<typeof PermissionsSchema>;

/** Where a session's notifications go (src/notify): a webhook (JSON POST, Slack-compatible), or the desktop. */
export const NotifyTargetSchema = z.union([
  z.strictObject({
    webhook: z
      .string()
      .url()
      .refine((u) => /^https?:\/\//.test(u), 'a webhook is an http:// or https:// URL'),
  }),
  z.strictObject({ desktop: z.literal(true) }),
]);
export type NotifyTarget = z.infer<typeof NotifyTargetSchema>;

export const SessionSpecSchema = z
  .strictObject({
    task: z.string().min(1, 'the task must say what to do').max(100_000),
    workers: z.array(WorkerSpecSchema).min(1, 'a session needs at least one worker'),
    reviews: z.array(ReviewPairSchema).default([]),
    review: ReviewSettingsSchema.default(ReviewSettingsSchema.parse({})),
    limits: LimitsSchema.default(LimitsSchema.parse({})),
    sandbox: z.union([SandboxModeSchema, SandboxSettingsSchema]).default('auto'),
    safety: SafetySettingsSchema.optional(),
    workspace: WorkspaceSettingsSchema.optional(),
    /** Who is told when a worker needs a person, when the session ends, when a budget is nearly spent. */
    notify: z.array(NotifyTargetSchema).optional(),
    /** Permission rules for interactive workers: what they may do without asking a person. */
    permissions: PermissionsSchema.optional(),
  })
  .superRefine((spec, ctx) => {
    const ids = new Set<string>();
    for (const [i, w] of spec.workers.entries()) {
      if (ids.has(w.id))
        ctx.addIssue({ code: 'custom', path: ['workers', i, 'id'], message: `duplicate worker id "${w.id}"` });
      ids.add(w.id);
    }
    for (const [i, w] of spec.workers.entries()) {
      for (const dep of w.dependsOn) {
        if (!ids.has(dep)) {
          ctx.addIssue({
            code: 'custom',
            path: ['workers', i, 'dependsOn'],
            message: `"${w.id}" depends on unknown worker "${dep}"`,
          });
        }
      }
    }
    for (const [i, w] of spec.workers.entries()) {
      if (!w.prompt && !BUILT_IN_ROLES.includes(w.role)) {
        ctx.addIssue({
          code: 'custom',
          path: ['workers', i, 'role'],
          message:
            `the role "${w.role}" of worker "${w.id}" has no built-in instructions ` +
            `(the built-in roles are ${BUILT_IN_ROLES.filter((r) => r !== 'reviewer').join(', ')}): ` +
            'give the worker a "prompt" that says what it does',
        });
      }
    }
    const cycle = findDependencyCycle(spec.workers);
    if (cycle) ctx.addIssue({ code: 'custom', path: ['workers'], message: `dependency cycle: ${cycle.join(' -> ')}` });
    for (const use of agentUses(spec)) commandIssue(use, ctx);
    for (const [i, r] of spec.reviews.entries()) {
      if (!ids.has(r.target)) {
        ctx.addIssue({
          code: 'custom',
          path: ['reviews', i, 'target'],
          message: `review target "${r.target}" is not a worker id`,
        });
      }
    }
  });
export type SessionSpec = z.infer<typeof SessionSpecSchema>;
export type SessionSpecInput = z.input<typeof SessionSpecSchema>;

/** A cycle in dependsOn as a list of ids (first repeated at the end), or null. */
export function findDependencyCycle(workers: ReadonlyArray<Pick<WorkerSpec, 'id' | 'dependsOn'>>): string[] | null {
  const deps = new Map(workers.map((w) => [w.id, w.dependsOn]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | null => {
    if (state.get(id) === 'done') return null;
    if (state.get(id) === 'visiting') return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, 'visiting');
    stack.push(id);
    for (const dep of deps.get(id) ?? []) {
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(id, 'done');
    return null;
  };
  for (const w of workers) {
    const cycle = visit(w.id);
    if (cycle) return cycle;
  }
  return null;
}

/** The seed's trio and its three reviews: used when no spec is given. */
export function defaultSpec(task: string): SessionSpec {
  return SessionSpecSchema.parse({
    task,
    workers: [
      { id: 'architect', agent: 'gemini', role: 'architect', dependsOn: [] },
      { id: 'implementer', agent: 'claude', role: 'implementer', dependsOn: ['architect'] },
      { id: 'verifier', agent: 'codex', role: 'verifier', dependsOn: ['implementer'] },
    ],
    reviews: [
      { reviewer: 'gemini', target: 'implementer', focus: 'implementation' },
      { reviewer: 'codex', target: 'architect', focus: 'architecture' },
      { reviewer: 'codex', target: 'implementer', focus: 'implementation' },
    ],
  });
}

/**
 * Keep only the workers running the given agents, and only the reviews whose reviewer agent and target worker
 * are both still present. Dependencies on removed workers are dropped (there is nothing to wait for).
 */
export function restrictToAgents(spec: SessionSpec, agents: readonly string[]): SessionSpec {
  const keep = new Set(agents);
  const workers = spec.workers.filter((w) => keep.has(w.agent));
  const ids = new Set(workers.map((w) => w.id));
  return {
    ...spec,
    workers: workers.map((w) => ({ ...w, dependsOn: w.dependsOn.filter((d) => ids.has(d)) })),
    reviews: spec.reviews.filter((r) => keep.has(r.reviewer) && ids.has(r.target)),
  };
}
