/**
 * Just enough of the POSIX shell grammar to find the simple commands in a command line an agent reports
 * (`rm -rf "$HOME"; git push -f origin main`, codex's `/bin/bash -lc '...'`): words with quotes and escapes
 * resolved, command separators, output redirections, and the scripts of `sh -c`, `bash -lc`, `su -c` and
 * `eval`, parsed in turn. Pure. It does not expand variables, globs or aliases: the rules match `$HOME` and
 * `~` as written, because that is how a destructive command is usually written.
 */
import { basename } from 'node:path';

export interface SimpleCommand {
  /** The command name without its directory (`/bin/rm` -> `rm`), after wrappers such as sudo or env. */
  name: string;
  args: string[];
  /** Targets of output redirections (`> file`, `>> file`, `&> file`). */
  redirects: string[];
  /** Run through sudo, doas, su or pkexec. */
  privileged: boolean;
}

interface RawCommand {
  words: string[];
  redirects: string[];
}

const SHELLS = new Set(['sh', 'bash', 'zsh', 'dash', 'ksh', 'ash', 'mksh', 'fish']);
const MAX_DEPTH = 4;

/** Every simple command in a command line, nested `sh -c` scripts included. */
export function simpleCommands(line: string, depth = 0): SimpleCommand[] {
  const out: SimpleCommand[] = [];
  for (const raw of lex(line)) {
    const command = unwrap(raw);
    if (!command) continue;
    out.push(command);
    if (depth >= MAX_DEPTH) continue;
    const script = nestedScript(command);
    if (script !== null)
      out.push(...simpleCommands(script, depth + 1).map((c) => (command.privileged ? { ...c, privileged: true } : c)));
  }
  return out;
}

/** Split into simple commands; words with quoting removed. */
function lex(line: string): RawCommand[] {
  const commands: RawCommand[] = [];
  let words: string[] = [];
  let redirects: string[] = [];
  let word: string | null = null;
  let redirectNext = false;
  let skipNext = false;

  const endWord = () => {
    if (word === null) return;
    if (skipNext) skipNext = false;
    else if (redirectNext) {
      redirects.push(word);
      redirectNext = false;
    } else words.push(word);
    word = null;
  };
  const endCommand = () => {
    endWord();
    if (words.length > 0 || redirects.length > 0) commands.push({ words, redirects });
    words = [];
    redirects = [];
    redirectNext = false;
    skipNext = false;
  };

  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    const next = line[i + 1];
    if (c === '\\') {
      if (next === '\n') i++;
      else if (next !== undefined) {
        word = (word ?? '') + next;
        i++;
      }
      continue;
    }
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      const stop = end === -1 ? line.length : end;
      word = (word ?? '') + line.slice(i + 1, stop);
      i = stop;
      continue;
    }
    if (c === '"') {
      let text = '';
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && j + 1 < line.length && '"\\$`\n'.includes(line[j + 1] as string)) {
          j++;
          if (line[j] !== '\n') text += line[j];
        } else text += line[j];
      }
      word = (word ?? '') + text;
      i = j;
      continue;
    }
    if (c === ' ' || c === '\t') {
      endWord();
      continue;
    }
    if (c === '#' && word === null) {
      const end = line.indexOf('\n', i);
      i = end === -1 ? line.length : end - 1;
      continue;
    }
    if (c === '$' && next === '(') {
      endCommand();
      i++;
      continue;
    }
    if ((c === '<' || c === '>') && next === '(') {
      endCommand();
      i++;
      continue;
    }
    if (c === '>' || c === '<' || (c === '&' && next === '>')) {
      // A word of digits right before is a file descriptor number (2>), not an argument.
      if (word !== null && /^\d+$/.test(word)) word = null;
      endWord();
      let j = i;
      if (c === '&') j++;
      const output = line[j] === '>';
      if (line[j + 1] === line[j] || line[j + 1] === '|') j++;
      if (line[j + 1] === '&') {
        // >&2, <&0, >&-: duplicating a descriptor, no file.
        j++;
        const m = /^\d+|^-/.exec(line.slice(j + 1));
        if (m) {
          i = j + m[0].length;
          continue;
        }
      }
      i = j;
      if (output) redirectNext = true;
      else skipNext = true;
      continue;
    }
    // `{ ...; }` groups: a brace is a separator only where a word would start.
    if (';&|\n()`'.includes(c) || ((c === '{' || c === '}') && word === null)) {
      endCommand();
      continue;
    }
    word = (word ?? '') + c;
  }
  endCommand();
  return commands;
}

/** Leading assignments and wrapper commands (sudo, env, nice, timeout ...) removed. */
function unwrap(raw: RawCommand): SimpleCommand | null {
  const words = [...raw.words];
  let privileged = false;
  for (;;) {
    while (words.length > 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0] as string)) words.shift();
    const head = words[0];
    if (head === undefined) return null;
    const name = basename(head);
    const wrapper = WRAPPERS[name];
    if (!wrapper) break;
    if (name === 'sudo' || name === 'doas' || name === 'pkexec') privileged = true;
    words.shift();
    while (words.length > 0) {
      const w = words[0] as string;
      if (w === '--') {
        words.shift();
        break;
      }
      if (name === 'env' && /^[A-Za-z_][A-Za-z0-9_]*=/.test(w)) {
        words.shift();
        continue;
      }
      if (!w.startsWith('-') || w === '-') break;
      words.shift();
      if (wrapper.withValue.includes(w)) words.shift();
    }
    for (let k = 0; k < wrapper.positional; k++) words.shift();
  }
  const [head, ...args] = words;
  if (head === undefined) return null;
  const name = basename(head);
  if (name === 'su') privileged = true;
  return { name, args, redirects: raw.redirects, privileged };
}

const WRAPPERS: Record<string, { withValue: string[]; positional: number }> = {
  sudo: { withValue: ['-u', '-g', '-h', '-p', '-C', '-D', '-r', '-t', '-U', '-T'], positional: 0 },
  doas: { withValue: ['-u', '-C'], positional: 0 },
  pkexec: { withValue: ['--user'], positional: 0 },
  env: { withValue: ['-u', '-C', '-S', '--unset', '--chdir'], positional: 0 },
  nohup: { withValue: [], positional: 0 },
  time: { withValue: ['-f', '-o'], positional: 0 },
  nice: { withValue: ['-n'], positional: 0 },
  ionice: { withValue: ['-c', '-n', '-t'], positional: 0 },
  exec: { withValue: ['-a'], positional: 0 },
  command: { withValue: [], positional: 0 },
  builtin: { withValue: [], positional: 0 },
  stdbuf: { withValue: [], positional: 0 },
  timeout: { withValue: ['-s', '-k', '--signal', '--kill-after'], positional: 1 },
  xargs: { withValue: ['-I', '-n', '-P', '-L', '-d', '-E', '-s', '-a'], positional: 0 },
  watch: { withValue: ['-n', '-d'], positional: 0 },
};

/** The script of `sh -c SCRIPT`, `su -c SCRIPT` or `eval WORDS`, else null. */
function nestedScript(command: SimpleCommand): string | null {
  if (command.name === 'eval') return command.args.join(' ');
  if (!SHELLS.has(command.name) && command.name !== 'su') return null;
  for (let i = 0; i < command.args.length; i++) {
    const arg = command.args[i] as string;
    if (arg === '--command' || /^-[A-Za-z]*c[A-Za-z]*$/.test(arg)) return command.args[i + 1] ?? null;
    if (arg.startsWith('--command=')) return arg.slice('--command='.length);
  }
  return null;
}
