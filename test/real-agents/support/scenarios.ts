/**
 * What the fake model server answers: scripted scenarios, the same vocabulary for every provider. Each
 * provider module (anthropic.ts, openai.ts, gemini.ts) turns a scenario into its own wire format.
 */

export type Provider = 'anthropic' | 'openai' | 'gemini' | 'chat';
export const PROVIDERS: readonly Provider[] = ['anthropic', 'openai', 'gemini', 'chat'];

/** The provider each agent CLI talks to (`chat`: OpenAI Chat Completions, for opencode and qwen). */
export const PROVIDER_OF = {
  claude: 'anthropic',
  codex: 'openai',
  gemini: 'gemini',
  opencode: 'chat',
  qwen: 'chat',
} as const;

export interface VerdictIssue {
  severity: 'blocker' | 'concern' | 'nit';
  file?: string;
  line?: number;
  message: string;
}

export interface Verdict {
  verdict: 'approve' | 'concern' | 'blocker';
  summary: string;
  issues: VerdictIssue[];
}

export type Scenario =
  /** A plain answer. */
  | { kind: 'text'; text?: string }
  /**
   * A tool call that writes `content` to `path` (relative paths are resolved against the working directory
   * the CLI states in its request), then, once the tool result comes back, a final text.
   */
  | { kind: 'write-file'; path: string; content: string; text?: string }
  /**
   * A shell command through the CLI's own tool (claude `Bash`, codex `exec_command`, gemini `run_shell_command`), in
   * the working directory; then, once the tool's result (or its refusal) comes back, a final text.
   */
  | { kind: 'run-command'; command: string; text?: string }
  /** The final message carries a verdict JSON object (in a ```json fence, with a line of prose before it). */
  | { kind: 'verdict'; verdict: Verdict; text?: string }
  | { kind: 'err401' }
  /** 429 that says when to come back (each provider's own way), `resetAfterSec` from the request. */
  | { kind: 'err429'; resetAfterSec?: number }
  | { kind: 'err429-noreset' }
  | { kind: 'err500' };

export type ScenarioKind = Scenario['kind'];

/**
 * One entry of a provider's script: `times` requests are answered with `scenario`, then the next entry
 * takes over; an entry without `times` answers forever. Only model turns count (not the side requests a
 * CLI makes for routing, token counting or model lists).
 */
export interface ScriptStep {
  scenario: Scenario;
  times?: number;
}

export type ScriptInput = Scenario | ScriptStep | ReadonlyArray<Scenario | ScriptStep>;

export function toSteps(input: ScriptInput): ScriptStep[] {
  const list = Array.isArray(input) ? input : [input];
  return list.map((item: Scenario | ScriptStep) => ('scenario' in item ? { ...item } : { scenario: item }));
}

export const DEFAULT_TEXT = 'Hello! This is the fake model.';
export const DEFAULT_AFTER_WRITE = 'I wrote the file. The task is complete.';
export const DEFAULT_AFTER_COMMAND = 'I ran the command (or was told not to). The task is complete.';

/** The final text of a verdict scenario: prose, then the verdict in a fence, as models usually answer. */
export function verdictText(scenario: Extract<Scenario, { kind: 'verdict' }>): string {
  const prose = scenario.text ?? 'I reviewed the change.';
  return `${prose}\n\n\`\`\`json\n${JSON.stringify(scenario.verdict)}\n\`\`\``;
}

export function isError(scenario: Scenario): scenario is Extract<Scenario, { kind: `err${string}` }> {
  return scenario.kind.startsWith('err');
}

/** What one turn of the conversation is, after the provider module has read the request. */
export interface TurnContext {
  /** The request answers our own tool call (the tool result is the last thing in the conversation). */
  afterTool: boolean;
  /**
   * A tool result is anywhere in the conversation: a run-command scenario has run its command (a message a person
   * sent while the command waited may come after the result).
   */
  toolDone: boolean;
  /** The working directory the CLI tells the model about (for relative write-file paths). */
  cwd: string | null;
  model: string | null;
  /** A short unique id for this response's items. */
  id: string;
}
