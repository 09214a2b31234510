/** Shell completion scripts, generated from the commander program (commands and their options). */
import type { Command } from 'commander';
import { KNOWN_AGENT_NAMES } from '../agents/names.js';

/** The shells `orchestrate completion` writes a script for. */
export const SHELLS = ['bash', 'zsh', 'fish'] as const;

export function completionScript(shell: 'bash' | 'zsh' | 'fish', program: Command): string {
  const commands = program.commands.map((c) => ({
    name: c.name(),
    options: c.options.flatMap((o) => [o.long, o.short].filter((x): x is string => !!x)),
  }));
  const names = commands.map((c) => c.name).join(' ');
  if (shell === 'fish') {
    const lines = [`complete -c orchestrate -f -n '__fish_use_subcommand' -a '${names}'`];
    for (const c of commands) {
      for (const option of c.options.filter((o) => o.startsWith('--'))) {
        lines.push(`complete -c orchestrate -f -n '__fish_seen_subcommand_from ${c.name}' -l ${option.slice(2)}`);
      }
    }
    lines.push(`complete -c orchestrate -f -n '__fish_seen_subcommand_from completion' -a '${SHELLS.join(' ')}'`);
    lines.push(
      `complete -c orchestrate -f -n '__fish_seen_subcommand_from parse' -l agent -a '${KNOWN_AGENT_NAMES.join(' ')}'`,
    );
    return `${lines.join('\n')}\n`;
  }
  const cases = commands.map((c) => `    ${c.name}) opts="${c.options.join(' ')}" ;;`).join('\n');
  // Session ids are the folders in <workspace>/sessions, the workspace being the --workspace on the command
  // line (also --workspace=DIR), else $ORCHESTRATOR_WORKSPACE, else ./.orchestrator, as for the commands.
  const bash = `# orchestrate completion (bash): eval "$(orchestrate completion bash)"
_orchestrate() {
  local cur prev cmd opts workspace i
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  cmd="\${COMP_WORDS[1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${names} --help --version" -- "$cur") )
    return
  fi
  case "$prev" in
    --workspace|-C|--dir) COMPREPLY=( $(compgen -d -- "$cur") ); return ;;
    --spec) COMPREPLY=( $(compgen -f -- "$cur") ); return ;;
    --stderr) if [ "$cmd" = parse ]; then COMPREPLY=( $(compgen -f -- "$cur") ); return; fi ;;
    --agent) COMPREPLY=( $(compgen -W "${KNOWN_AGENT_NAMES.join(' ')}" -- "$cur") ); return ;;
  esac
  case "$cmd" in
${cases}
    *) opts="" ;;
  esac
  if [ "$cmd" = completion ]; then
    COMPREPLY=( $(compgen -W "${SHELLS.join(' ')}" -- "$cur") )
    return
  fi
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$opts --help" -- "$cur") )
    return
  fi
  workspace="\${ORCHESTRATOR_WORKSPACE:-.orchestrator}"
  for ((i = 2; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in
      --workspace)
        # bash splits --workspace=DIR into three words: --workspace, =, DIR.
        if [ "\${COMP_WORDS[i+1]}" = "=" ]; then workspace="\${COMP_WORDS[i+2]}"
        else workspace="\${COMP_WORDS[i+1]}"; fi ;;
      --workspace=*) workspace="\${COMP_WORDS[i]#--workspace=}" ;;
    esac
  done
  workspace="\${workspace/#~/$HOME}"
  local sessions
  sessions=$(ls "$workspace/sessions" 2>/dev/null)
  # parse reads a transcript file; every other command takes a session id.
  if [ "$cmd" = parse ]; then COMPREPLY=( $(compgen -f -- "$cur") ); return; fi
  COMPREPLY=( $(compgen -W "$sessions" -- "$cur") )
}
complete -F _orchestrate orchestrate
`;
  return shell === 'zsh'
    ? `# orchestrate completion (zsh): eval "$(orchestrate completion zsh)"\n` +
        `autoload -U +X bashcompinit && bashcompinit\n${bash}`
    : bash;
}
