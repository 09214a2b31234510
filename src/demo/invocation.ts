/**
 * How the recorded-agent player reads its command line: which CLI it impersonates (persona), and what that
 * CLI would make of the argv: the prompt, the session to resume, the working directory, the model. The flag
 * tables follow each CLI's `--help` (claude 2.1.329, codex 0.169.0, gemini 0.61.0) closely enough to find the
 * prompt where the real parser would; unknown flags are taken as switches. Pure: no I/O.
 */
import { resolve } from 'node:path';

export const PERSONAS = ['claude', 'codex', 'gemini'] as const;
export type Persona = (typeof PERSONAS)[number];

export function isPersona(value: string): value is Persona {
  return (PERSONAS as readonly string[]).includes(value);
}

/** `DEMO_AGENT_PERSONA` wins; else the argv shape: `exec ...` is codex, `--print` claude, `-p`/`--prompt` gemini. */
export function detectPersona(argv: readonly string[], env: Record<string, string | undefined>): Persona | null {
  const forced = env.DEMO_AGENT_PERSONA?.trim();
  if (forced) return isPersona(forced) ? forced : null;
  if (argv[0] === 'exec' || argv[0] === 'e') return 'codex';
  if (argv.includes('--print')) return 'claude';
  if (argv.some((arg) => arg === '-p' || arg === '--prompt' || arg.startsWith('--prompt='))) return 'gemini';
  return null;
}

export interface Invocation {
  persona: Persona;
  /** The prompt, as the real CLI would read it from argv; undefined when there is none. */
  prompt?: string;
  /** The session the launch resumes (claude/gemini `--resume <id>`, codex `exec ... resume <id>`). */
  resumeId?: string;
  /** Where the agent works: codex `-C <dir>`, else the current directory. */
  workDir: string;
  model?: string;
  /** The CLI was asked not to change files (claude/gemini plan mode, codex read-only sandbox). */
  readOnly: boolean;
}

interface FlagTable {
  /** Flags taking exactly one value (`--flag value`, `--flag=value`, `-fvalue`). */
  value: readonly string[];
  /** Flags taking every following value up to the next flag (commander variadic, yargs arrays). */
  many: readonly string[];
  /** Flags whose value is optional: taken when the next argument is not a flag. */
  optional: readonly string[];
  /** Short or alternative names -> the canonical name. */
  alias: Readonly<Record<string, string>>;
}

const CLAUDE: FlagTable = {
  value: [
    '--permission-mode',
    '--output-format',
    '--input-format',
    '--model',
    '--session-id',
    '--max-turns',
    '--max-budget-usd',
    '--fallback-model',
    '--effort',
    '--system-prompt',
    '--append-system-prompt',
    '--settings',
    '--setting-sources',
    '--json-schema',
    '--permission-prompt-tool',
    '--debug-file',
    '--plugin-dir',
    '--name',
  ],
  many: [
    '--add-dir',
    '--allowedTools',
    '--allowed-tools',
    '--disallowedTools',
    '--disallowed-tools',
    '--mcp-config',
    '--tools',
    '--betas',
    '--file',
  ],
  optional: ['--resume', '--debug'],
  alias: { '-r': '--resume', '-d': '--debug', '-n': '--name', '-p': '--print' },
};

const CODEX: FlagTable = {
  value: [
    '--config',
    '--enable',
    '--disable',
    '--image',
    '--model',
    '--local-provider',
    '--profile',
    '--sandbox',
    '--cd',
    '--add-dir',
    '--thread-source',
    '--cyber-access-program',
    '--output-schema',
    '--color',
    '--output-last-message',
  ],
  many: [],
  optional: [],
  alias: {
    '-c': '--config',
    '-i': '--image',
    '-m': '--model',
    '-p': '--profile',
    '-s': '--sandbox',
    '-C': '--cd',
    '-o': '--output-last-message',
  },
};

const GEMINI: FlagTable = {
  value: [
    '--model',
    '--prompt',
    '--prompt-interactive',
    '--worktree',
    '--approval-mode',
    '--resume',
    '--session-file',
    '--session-id',
    '--delete-session',
    '--output-format',
  ],
  many: [
    '--include-directories',
    '--policy',
    '--admin-policy',
    '--allowed-mcp-server-names',
    '--allowed-tools',
    '--extensions',
  ],
  optional: [],
  alias: {
    '-m': '--model',
    '-p': '--prompt',
    '-i': '--prompt-interactive',
    '-w': '--worktree',
    '-r': '--resume',
    '-o': '--output-format',
    '-e': '--extensions',
    '-y': '--yolo',
  },
};

interface Scanned {
  /** Canonical flag name -> its values, in order ('' for a switch). */
  flags: Map<string, string[]>;
  positionals: string[];
}

const looksLikeFlag = (arg: string | undefined): boolean => arg !== undefined && arg.length > 1 && arg.startsWith('-');

function scan(argv: readonly string[], table: FlagTable): Scanned {
  const flags = new Map<string, string[]>();
  const positionals: string[] = [];
  const add = (name: string, value: string) => flags.set(name, [...(flags.get(name) ?? []), value]);
  const takes = (name: string) =>
    table.value.includes(name) || table.many.includes(name) || table.optional.includes(name);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!looksLikeFlag(arg)) {
      positionals.push(arg);
      continue;
    }
    let name = arg;
    let inline: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 2) {
      name = arg.slice(0, eq);
      inline = arg.slice(eq + 1);
    } else if (!arg.startsWith('--') && arg.length > 2) {
      name = arg.slice(0, 2);
      inline = arg.slice(2).replace(/^=/, '');
    }
    name = table.alias[name] ?? name;
    if (inline !== undefined && (takes(name) || arg.startsWith('--'))) {
      add(name, inline);
    } else if (table.value.includes(name)) {
      add(name, argv[i + 1] ?? '');
      i++;
    } else if (table.optional.includes(name)) {
      if (i + 1 < argv.length && !looksLikeFlag(argv[i + 1])) add(name, argv[++i] as string);
      else add(name, '');
    } else if (table.many.includes(name)) {
      while (i + 1 < argv.length && !looksLikeFlag(argv[i + 1])) add(name, argv[++i] as string);
    } else {
      add(name, '');
    }
  }
  return { flags, positionals };
}

const last = (values: string[] | undefined): string | undefined =>
  values && values.length > 0 ? values[values.length - 1] : undefined;
const nonEmpty = (value: string | undefined): string | undefined => (value ? value : undefined);

/** What the impersonated CLI would make of `argv`. */
export function parseInvocation(persona: Persona, argv: readonly string[], cwd: string): Invocation {
  switch (persona) {
    case 'claude': {
      const { flags, positionals } = scan(argv, CLAUDE);
      return {
        persona,
        prompt: positionals.length > 0 ? positionals.join(' ') : undefined,
        resumeId: nonEmpty(last(flags.get('--resume'))),
        workDir: cwd,
        model: nonEmpty(last(flags.get('--model'))),
        readOnly: last(flags.get('--permission-mode')) === 'plan',
      };
    }
    case 'codex': {
      const { flags, positionals } = scan(argv[0] === 'exec' || argv[0] === 'e' ? argv.slice(1) : argv, CODEX);
      const resuming = positionals[0] === 'resume';
      const rest = resuming ? positionals.slice(flags.has('--last') ? 1 : 2) : positionals;
      const cd = last(flags.get('--cd'));
      return {
        persona,
        prompt: rest.length > 0 ? rest[rest.length - 1] : undefined,
        resumeId: resuming && !flags.has('--last') ? nonEmpty(positionals[1]) : undefined,
        workDir: cd ? resolve(cwd, cd) : cwd,
        model: nonEmpty(last(flags.get('--model'))),
        readOnly: last(flags.get('--sandbox')) === 'read-only',
      };
    }
    case 'gemini': {
      const { flags, positionals } = scan(argv, GEMINI);
      const prompt = last(flags.get('--prompt')) ?? (positionals.length > 0 ? positionals.join(' ') : undefined);
      return {
        persona,
        prompt: nonEmpty(prompt),
        resumeId: nonEmpty(last(flags.get('--resume'))),
        workDir: cwd,
        model: nonEmpty(last(flags.get('--model'))),
        readOnly: last(flags.get('--approval-mode')) === 'plan',
      };
    }
  }
}

/**
 * The role a prompt gives (see src/domain/prompts.ts): `architect`, `implementer`, `verifier`, or
 * `reviewer-<role>` for a review prompt ("You review the work of the <role> (..."). null when none.
 */
export function detectRole(prompt: string): string | null {
  if (/You are a REVIEWER\b/.test(prompt)) {
    const target = /You review the work of the ([A-Za-z][\w-]*) \(/.exec(prompt);
    return target ? `reviewer-${(target[1] as string).toLowerCase()}` : null;
  }
  const role = /You are the (ARCHITECT|IMPLEMENTER|VERIFIER)\b/.exec(prompt);
  return role ? (role[1] as string).toLowerCase() : null;
}
