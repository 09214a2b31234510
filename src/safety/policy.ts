/**
 * The safety policy, pure: which agent payloads break a rule, and what to do about it.
 *
 * Commands come from `command` payloads (codex command_execution, claude Bash, gemini run_shell_command) and
 * are checked against destructive patterns (./command-rules.ts). Paths come from `file_change` payloads (claude
 * Write/Edit, codex file_change, gemini write_file/replace) and from write-like `tool_call`s, and must lie inside
 * the allowed roots. The agent reports what it does, so this detects; the sandbox (src/safety/sandbox.ts)
 * prevents. The rules themselves: ./rules.ts.
 */
import type { AgentPayload } from '../domain/events.js';
import { checkCommand } from './command-rules.js';
import { resolvePath, isInside } from './paths.js';
import { violation, type PolicyContext, type Violation } from './rules.js';

export { checkCommand } from './command-rules.js';
export {
  actionFor,
  RULES,
  violation,
  type PolicyContext,
  type RuleInfo,
  type Severity,
  type Violation,
} from './rules.js';

/** Every violation in a batch of payloads, in order. */
export function checkPayloads(payloads: readonly AgentPayload[], ctx: PolicyContext): Violation[] {
  const out: Violation[] = [];
  for (const payload of payloads) {
    if (payload.kind === 'command') out.push(...checkCommand(payload.command, ctx, payload.toolId));
    else if (payload.kind === 'file_change') {
      for (const change of payload.changes) {
        const v = checkWritePath(change.path, ctx, payload.toolId);
        if (v) out.push(v);
      }
    } else if (payload.kind === 'tool_call') {
      for (const path of writtenPaths(payload.name, payload.input)) {
        const v = checkWritePath(path, ctx, payload.toolId);
        if (v) out.push(v);
      }
    }
  }
  return out;
}

// --- paths -----------------------------------------------------------------------------------------------

const WRITE_TOOL = /write|edit|create|save|replace|append|insert|patch|move|rename|delete|remove|mkdir|copy|upload/i;
const PATH_KEYS = [
  'file_path',
  'filePath',
  'path',
  'absolute_path',
  'notebook_path',
  'filename',
  'file',
  'destination',
  'dest',
  'target_file',
  'new_path',
];

/** Paths a write-like tool call names in its input (MCP filesystem tools and the like). */
export function writtenPaths(toolName: string, input: unknown): string[] {
  if (!WRITE_TOOL.test(toolName) || !input || typeof input !== 'object') return [];
  const record = input as Record<string, unknown>;
  return PATH_KEYS.map((k) => record[k]).filter((v): v is string => typeof v === 'string' && v.length > 0);
}

/** A write to `path` outside every allowed root, or null. */
export function checkWritePath(path: string, ctx: PolicyContext, toolId?: string): Violation | null {
  const real = ctx.realpath ?? ((p: string) => p);
  const absolute = real(resolvePath(path, ctx.cwd, ctx.home));
  const roots = ctx.allowedRoots.map((r) => real(resolvePath(r, ctx.cwd, ctx.home)));
  if (roots.some((root) => isInside(absolute, root))) return null;
  return violation(
    'write-outside-target',
    path,
    `writes ${absolute}, outside the allowed directories (${roots.join(', ')})`,
    ctx,
    toolId,
  );
}
