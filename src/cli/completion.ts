/** Shell completion scripts, generated from the commander program (commands and their options). */
import type { Command } from 'commander';

export function completionScript(shell: 'bash' | 'zsh' | 'fish', program: Command): string {
  const commands = program.commands.map((c) => ({ name: c.name(), options: c.options.flatMap((o) => [o.long, o.short].filter((x): x is string => !!x)) }));
  const names = commands.map((c) => c.name).join(' ');
  if (shell === 'fish') {
    const lines = [`complete -c orchestrate -f -n '__fish_use_subcommand' -a '${names}'`];
    for (const c of commands) {
      for (const option of c.options.filter((o) => o.startsWith('--'))) {
        lines.push(`complete -c orchestrate -f -n '__fish_seen_subcommand_from ${c.name}' -l ${option.slice(2)}`);
      }
    }
    return `${lines.join('\n')}\n`;
  }
  const cases = commands.map((c) => `    ${c.name}) opts="${c.options.join(' ')}" ;;`).join('\n');
  const bash = `# orchestrate completion (bash): eval "$(orchestrate completion bash)"
_orchestrate() {
  local cur cmd opts
  cur="\${COMP_WORDS[COMP_CWORD]}"
  cmd="\${COMP_WORDS[1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${names} --help --version" -- "$cur") )
    return
  fi
  case "$cmd" in
${cases}
    *) opts="" ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$opts --help" -- "$cur") )
  else
    local sessions
    sessions=$(ls "\${ORCHESTRATOR_WORKSPACE:-.orchestrator}/sessions" 2>/dev/null)
    COMPREPLY=( $(compgen -W "$sessions" -- "$cur") $(compgen -f -- "$cur") )
  fi
}
complete -F _orchestrate orchestrate
`;
  return shell === 'zsh' ? `# orchestrate completion (zsh): eval "$(orchestrate completion zsh)"\nautoload -U +X bashcompinit && bashcompinit\n${bash}` : bash;
}
