/**
 * The permission policy of a session: the spec's `permissions` plus the built-in safety rules as deny and ask
 * entries of their own, and the decision for one request before its tool runs (src/domain/permission-rules.ts
 * matches; this file does the shell parsing and the safety checks a decision needs).
 *
 * Each built-in rule that a request can break becomes `safety:<id>` in a list: the critical ones (recursive deletes
 * of / or ~, disk tools, fork bombs) are denied, forced pushes to a protected branch, world-writable system folders
 * and writes outside the allowed folders are asked about, and a download piped into a shell or sudo are only
 * logged (as after the fact). `safety.rules` moves one: `stop` denies, `pause` asks, `log` lets it through.
 */
import {
  decidePermission,
  type Decided,
  type DecisionContext,
  type PermissionDecision,
  type PermissionRequest,
  type PermissionRules,
} from '../domain/permission-rules.js';
import type { Permissions, SafetyAction, SafetyRuleId } from '../domain/spec.js';
import { checkCommand } from './command-rules.js';
import { checkWritePath } from './policy.js';
import type { PolicyContext } from './rules.js';
import { simpleCommands } from './shell-words.js';

/** The rules a request can break before it runs (budgets and resources are watched while it runs). */
export const REQUEST_RULES = [
  'rm-rf-root',
  'rm-rf-home',
  'disk-tool',
  'fork-bomb',
  'git-force-push-protected',
  'chmod-777-root',
  'write-outside-target',
  'curl-pipe-shell',
  'privilege-escalation',
] as const satisfies readonly SafetyRuleId[];

/** What each is, before the tool runs, unless `safety.rules` says otherwise. */
export const BUILT_IN_PERMISSION: Readonly<Record<(typeof REQUEST_RULES)[number], PermissionDecision>> = {
  'rm-rf-root': 'deny',
  'rm-rf-home': 'deny',
  'disk-tool': 'deny',
  'fork-bomb': 'deny',
  'git-force-push-protected': 'ask',
  'chmod-777-root': 'ask',
  'write-outside-target': 'ask',
  'curl-pipe-shell': 'allow',
  'privilege-escalation': 'allow',
};

const FROM_ACTION: Record<SafetyAction, PermissionDecision> = { stop: 'deny', pause: 'ask', log: 'allow' };

/** The session's rules: the spec's, then the built-in ones (a rule the spec lists itself is not added again). */
export function sessionPermissionRules(
  permissions: Permissions | undefined,
  safetyRules: Partial<Record<SafetyRuleId, SafetyAction>> = {},
): PermissionRules {
  const rules = {
    allow: [...(permissions?.allow ?? [])],
    deny: [...(permissions?.deny ?? [])],
    ask: [...(permissions?.ask ?? [])],
    default: permissions?.default ?? 'allow',
  };
  const listed = new Set([...rules.allow, ...rules.deny, ...rules.ask]);
  for (const id of REQUEST_RULES) {
    const entry = `safety:${id}`;
    if (listed.has(entry)) continue;
    const action = safetyRules[id];
    const decision = action ? FROM_ACTION[action] : BUILT_IN_PERMISSION[id];
    if (decision !== 'allow') rules[decision].push(entry);
  }
  return rules;
}

/** Where a worker's requests are decided: its directory, the project root, and what the safety policy needs. */
export interface RequestSite {
  cwd: string;
  root: string;
  policy: PolicyContext;
}

/** Decide a request: split its command, check it against the built-in rules, then the session's rules. */
export function decideRequest(rules: PermissionRules, request: PermissionRequest, site: RequestSite): Decided {
  return decidePermission(rules, request, decisionContext(request, site));
}

export function decisionContext(request: PermissionRequest, site: RequestSite): DecisionContext {
  const violations = new Set<string>();
  let commands: string[] | undefined;
  if (request.command !== undefined) {
    const parts = simpleCommands(request.command);
    commands = parts.map((c) => [...(c.privileged ? ['sudo'] : []), c.name, ...c.args].join(' '));
    for (const v of checkCommand(request.command, site.policy)) violations.add(v.rule);
  }
  if (request.paths && isWrite(request.tool))
    for (const path of request.paths) {
      const v = checkWritePath(path, site.policy);
      if (v) violations.add(v.rule);
    }
  return {
    cwd: site.cwd,
    root: site.root,
    home: site.policy.home,
    ...(commands ? { commands } : {}),
    violations: [...violations],
  };
}

const WRITE_TOOLS = new Set(['Edit', 'Write', 'MultiEdit', 'NotebookEdit']);
function isWrite(tool: string): boolean {
  return WRITE_TOOLS.has(tool) || /write|edit|create|delete|move|patch/i.test(tool);
}
