/** The safety rules: what each catches, how grave it is, what is done by default; a violation of one. */
import type { SafetyAction, SafetyRuleId } from '../domain/spec.js';

export type Severity = 'critical' | 'high' | 'medium';

export interface RuleInfo {
  severity: Severity;
  defaultAction: SafetyAction;
  /** What it catches, for people (docs/security.md lists the same). */
  description: string;
}

export const RULES: Record<SafetyRuleId, RuleInfo> = {
  'rm-rf-root': {
    severity: 'critical',
    defaultAction: 'pause',
    description: 'recursive delete of / (rm -r /, rm -rf /*, find / -delete)',
  },
  'rm-rf-home': {
    severity: 'critical',
    defaultAction: 'pause',
    description: 'recursive delete of the home directory (~, $HOME, its absolute path)',
  },
  'git-force-push-protected': {
    severity: 'high',
    defaultAction: 'pause',
    description: 'git push --force / +refspec / --delete / --mirror to a protected branch (or to an unnamed one)',
  },
  'curl-pipe-shell': {
    severity: 'high',
    defaultAction: 'log',
    description: 'a download piped into a shell or interpreter (curl ... | sh, bash <(curl ...))',
  },
  'chmod-777-root': {
    severity: 'high',
    defaultAction: 'pause',
    description: 'recursive world-writable chmod of /, a system directory or the home directory',
  },
  'disk-tool': {
    severity: 'critical',
    defaultAction: 'pause',
    description: 'disk tools: mkfs, fdisk, parted, wipefs, dd of=/dev/sdX, writes to block devices',
  },
  'fork-bomb': {
    severity: 'critical',
    defaultAction: 'pause',
    description: 'a fork bomb (:(){ :|:& };:, fork while fork)',
  },
  'privilege-escalation': { severity: 'medium', defaultAction: 'log', description: 'sudo, su, doas, pkexec' },
  'write-outside-target': {
    severity: 'high',
    defaultAction: 'pause',
    description: 'a file written outside the target directory and the allowed roots',
  },
  'budget-exceeded': {
    severity: 'high',
    defaultAction: 'pause',
    description: 'maxCostUsd / maxTokens of a worker or of the session crossed',
  },
  'resource-limit': {
    severity: 'high',
    defaultAction: 'pause',
    description: "maxRssMb / maxCpuPercent of a worker's process group crossed",
  },
};

export interface PolicyContext {
  /** The agent's working directory: relative paths resolve against it. */
  cwd: string;
  /** Where writes are allowed: the target (or worktree), includeDirs, safety.allowedRoots, a private /tmp. */
  allowedRoots: readonly string[];
  home: string;
  protectedBranches: readonly string[];
  rules?: Partial<Record<SafetyRuleId, SafetyAction>>;
  /** Resolves symlinks (the caller's I/O); identity when absent. */
  realpath?: (path: string) => string;
}

export interface Violation {
  rule: SafetyRuleId;
  severity: Severity;
  action: SafetyAction;
  /** The command or path, as the agent reported it. */
  subject: string;
  detail: string;
  toolId?: string;
}

export function actionFor(rule: SafetyRuleId, rules: PolicyContext['rules']): SafetyAction {
  return rules?.[rule] ?? RULES[rule].defaultAction;
}

export function violation(
  rule: SafetyRuleId,
  subject: string,
  detail: string,
  ctx: Pick<PolicyContext, 'rules'>,
  toolId?: string,
): Violation {
  return {
    rule,
    severity: RULES[rule].severity,
    action: actionFor(rule, ctx.rules),
    subject,
    detail,
    ...(toolId ? { toolId } : {}),
  };
}
