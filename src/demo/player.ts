/**
 * The recorded-agent player: impersonates claude, codex or gemini for `orchestrate demo`. It reads the argv the
 * orchestrator built, picks the transcript for its persona and the role the prompt gives, prints its lines in
 * the CLI's real output format and really performs the file changes the transcript records. No model, no key.
 * The entry point is recorded-agent.ts; this module only exports functions (tests call them in-process).
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { detectPersona, detectRole, parseInvocation, type Invocation, type Persona } from './invocation.js';
import { transcriptsDir } from './paths.js';
import {
  DEFAULT_MODELS,
  finalMessage,
  newSessionId,
  parseTranscript,
  resumeTranscript,
  substitute,
  transcriptFile,
  verdictJson,
  type Placeholders,
  type TranscriptEntry,
} from './transcript.js';

export interface PlayerIO {
  argv: readonly string[];
  env: Record<string, string | undefined>;
  cwd: string;
  /** Write one chunk to stdout; resolves once written. */
  stdout: (text: string) => Promise<void>;
  stderr: (text: string) => void;
  sleep: (ms: number) => Promise<void>;
  now?: () => Date;
}

/** Exit code for a player that cannot tell what to play (bad persona, role, argv or transcript). */
export const USAGE_EXIT = 2;

class UsageError extends Error {}

/** `DEMO_AGENT_SPEED`: a multiplier of the recorded sleeps (0: no sleeps; default 1). */
export function speedFrom(env: Record<string, string | undefined>): number {
  const raw = env.DEMO_AGENT_SPEED?.trim();
  if (!raw) return 1;
  const speed = Number(raw);
  return Number.isFinite(speed) && speed >= 0 ? speed : 1;
}

/** What the real CLI prints on stderr before its first line (the orchestrator keeps stderr as evidence). */
function stderrPreamble(inv: Invocation, argv: readonly string[]): string {
  switch (inv.persona) {
    case 'claude':
      return '';
    case 'codex':
      return 'Reading additional input from stdin...\n';
    case 'gemini':
      return argv.includes('--yolo') || argv.includes('-y')
        ? 'YOLO mode is enabled. All tool calls will be automatically approved.\n'
        : '';
  }
}

// Which role a session played, so a resumed launch (whose prompt names no role) can re-state its answer.
interface SessionRecord {
  persona: Persona;
  role: string;
}

function stateDir(env: Record<string, string | undefined>): string {
  return env.DEMO_STATE_DIR?.trim() || join(tmpdir(), 'orchestrate-demo-sessions');
}

function recordSession(env: Record<string, string | undefined>, sessionId: string, record: SessionRecord): void {
  try {
    const dir = stateDir(env);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${sessionId.replace(/[^\w.-]/g, '_')}.json`), JSON.stringify(record));
  } catch {
    // Best effort: without the record a resume still works when its prompt names the role.
  }
}

function recalledSession(env: Record<string, string | undefined>, sessionId: string): SessionRecord | null {
  try {
    const value: unknown = JSON.parse(
      readFileSync(join(stateDir(env), `${sessionId.replace(/[^\w.-]/g, '_')}.json`), 'utf8'),
    );
    const record = value as Partial<SessionRecord>;
    return typeof record.role === 'string' && typeof record.persona === 'string' ? (record as SessionRecord) : null;
  } catch {
    return null;
  }
}

function loadTranscript(dir: string, persona: Persona, role: string): TranscriptEntry[] {
  const file = transcriptFile(dir, persona, role);
  if (!existsSync(file)) throw new UsageError(`no recorded transcript for ${persona} as ${role} (looked for ${file})`);
  return parseTranscript(readFileSync(file, 'utf8'), file);
}

/** The entries to play for this launch, and the role they belong to. */
function planRun(
  inv: Invocation,
  env: Record<string, string | undefined>,
  vars: Placeholders,
): { role: string; entries: TranscriptEntry[] } {
  const dir = transcriptsDir(env);
  const fromPrompt = inv.prompt ? detectRole(inv.prompt) : null;
  if (inv.resumeId) {
    const role = recalledSession(env, inv.resumeId)?.role ?? fromPrompt;
    const text = role ? finalMessage(inv.persona, loadTranscript(dir, inv.persona, role), vars) : '';
    const answer = role?.startsWith('reviewer-') ? (verdictJson(text) ?? text) : text;
    return {
      role: role ?? 'unknown',
      entries: resumeTranscript(
        inv.persona,
        answer || 'Picking up where I left off: the work is complete and nothing is left to do.',
      ),
    };
  }
  if (!fromPrompt) {
    throw new UsageError(
      'cannot tell the role from the prompt: expected "You are the ARCHITECT|IMPLEMENTER|VERIFIER" ' +
        'or a review prompt ("You are a REVIEWER ... You review the work of the <role> (...")',
    );
  }
  return { role: fromPrompt, entries: loadTranscript(dir, inv.persona, fromPrompt) };
}

/** A path from a transcript, inside the work dir (a recorded `../x` must not escape it). */
function targetPath(workDir: string, path: string): string {
  const full = resolve(workDir, path);
  const rel = relative(workDir, full);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel))
    throw new UsageError(`transcript path ${JSON.stringify(path)} is outside the working directory`);
  return full;
}

async function play(
  entries: readonly TranscriptEntry[],
  inv: Invocation,
  vars: Placeholders,
  io: PlayerIO,
  speed: number,
): Promise<void> {
  for (const entry of entries) {
    switch (entry.kind) {
      case 'sleep':
        if (speed > 0 && entry.ms > 0) await io.sleep(entry.ms * speed);
        break;
      case 'print':
        await io.stdout(`${substitute(entry.line, vars, io.now)}\n`);
        break;
      case 'write':
      case 'append': {
        const file = targetPath(inv.workDir, entry.path);
        mkdirSync(dirname(file), { recursive: true });
        if (entry.kind === 'write') writeFileSync(file, entry.content);
        else appendFileSync(file, entry.content);
        break;
      }
    }
  }
}

/** Run the player; resolves to the process exit code. */
export async function runRecordedAgent(io: PlayerIO): Promise<number> {
  const persona = detectPersona(io.argv, io.env);
  if (!persona) {
    const forced = io.env.DEMO_AGENT_PERSONA?.trim();
    io.stderr(
      forced
        ? `recorded-agent: unknown persona "${forced}" in DEMO_AGENT_PERSONA (use claude, codex or gemini)\n`
        : 'recorded-agent: cannot tell which CLI to impersonate from the arguments; ' +
            'set DEMO_AGENT_PERSONA to claude, codex or gemini\n',
    );
    return USAGE_EXIT;
  }
  try {
    const inv = parseInvocation(persona, io.argv, io.cwd);
    if (!inv.prompt && !inv.resumeId) throw new UsageError('no prompt in the arguments');
    const sessionId = inv.resumeId ?? newSessionId(persona);
    const vars: Placeholders = {
      sessionId,
      cwd: inv.workDir,
      model: inv.model ?? DEFAULT_MODELS[persona],
      prompt: inv.prompt ?? '',
    };
    const { role, entries } = planRun(inv, io.env, vars);
    if (!inv.resumeId) recordSession(io.env, sessionId, { persona, role });
    io.stderr(stderrPreamble(inv, io.argv));
    await play(entries, inv, vars, io, speedFrom(io.env));
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`recorded-agent (${persona}): ${error.message}\n`);
      return USAGE_EXIT;
    }
    io.stderr(`recorded-agent (${persona}): ${(error as Error).stack ?? String(error)}\n`);
    return 1;
  }
}
