/**
 * Shell completion scripts for bash, zsh and fish, made from the command tree (commandSpec.ts) that --help prints,
 * so they never drift from it. Pure: a spec in, the script's text out.
 *
 * All three work the same way: walk the words typed so far, following subcommand names and skipping the value after
 * an option that takes one, to find which command is being completed; then offer that command's subcommands, its
 * options (when the word starts with "-"), an option's fixed values, or file names (option values, arguments).
 */
import { allCommands, optionFlags, type CommandSpec, type OptionSpec } from "./commandSpec.ts";

export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = (typeof SHELLS)[number];

export function completionScript(shell: Shell, spec: CommandSpec): string {
  switch (shell) {
    case "bash":
      return bashCompletion(spec);
    case "zsh":
      return zshCompletion(spec);
    case "fish":
      return fishCompletion(spec);
  }
}

/** The first sentence of a description, for the one line a completion menu shows. */
export function shortDescription(text: string): string {
  const first = /^(.*?[.!?])(\s|$)/.exec(text)?.[1] ?? text;
  return first.replace(/\.$/, "").replace(/\s+/g, " ").trim();
}

/** Every flag (long and short) that takes a value, anywhere in the tree: its next word is a value, not a command. */
function valuedFlags(spec: CommandSpec): string[] {
  const valued = new Set<string>();
  const switches = new Set<string>();
  for (const c of allCommands(spec))
    for (const o of c.options) for (const f of optionFlags(o)) (o.takesValue ? valued : switches).add(f);
  const both = [...valued].filter((f) => switches.has(f));
  // One table serves every command, so a flag must not be a switch in one command and take a value in another.
  if (both.length > 0) throw new Error(`completions: ${both.join(", ")} both take a value and do not`);
  return [...valued].sort();
}

/** Options with fixed values: flag → values. */
function fixedValues(spec: CommandSpec): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const c of allCommands(spec)) for (const o of c.options) if (o.values) for (const f of optionFlags(o)) out.set(f, o.values);
  return out;
}

const flagsOf = (options: OptionSpec[]) => options.flatMap(optionFlags);
const key = (c: CommandSpec) => c.path.join(" ");

// ---- bash ----

function bashCompletion(spec: CommandSpec): string {
  const commands = allCommands(spec);
  const subcommandCases = commands
    .filter((c) => c.subcommands.length > 0)
    .map((c) => `    "${key(c)}") echo "${c.subcommands.map((s) => s.path.at(-1)).join(" ")}" ;;`);
  const optionCases = commands.map((c) => `    "${key(c)}") echo "${flagsOf(c.options).join(" ")}" ;;`);
  const valueCases = [...fixedValues(spec)].map(([flag, values]) => `      ${flag}) COMPREPLY=($(compgen -W "${values.join(" ")}" -- "$cur")); return ;;`);
  return `# bash completion for musicfs (generated from its command definitions: musicfs completions bash)
# Install: musicfs completions bash > ~/.local/share/bash-completion/completions/musicfs

_musicfs_valued="${valuedFlags(spec).join(" ")}"

_musicfs_subcommands() {
  case "$1" in
${subcommandCases.join("\n")}
  esac
}

_musicfs_options() {
  case "$1" in
${optionCases.join("\n")}
  esac
}

_musicfs() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local cmdpath="" word i skip=0
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    if ((skip)); then skip=0; continue; fi
    case "$word" in
      --) break ;;
      --*=*) ;;
      -*) case " $_musicfs_valued " in *" $word "*) skip=1 ;; esac ;;
      *) case " $(_musicfs_subcommands "$cmdpath") " in *" $word "*) cmdpath="\${cmdpath:+$cmdpath }$word" ;; esac ;;
    esac
  done
  if [[ " $_musicfs_valued " == *" $prev "* ]]; then
    case "$prev" in
${valueCases.join("\n")}
    esac
    COMPREPLY=($(compgen -f -- "$cur"))
    return
  fi
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$(_musicfs_options "$cmdpath")" -- "$cur"))
    return
  fi
  local subcommands
  subcommands="$(_musicfs_subcommands "$cmdpath")"
  if [[ -n "$subcommands" ]]; then
    COMPREPLY=($(compgen -W "$subcommands" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}

complete -o filenames -F _musicfs musicfs
`;
}

// ---- zsh ----

/** A zsh single-quoted word. */
const zq = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
/** An entry of a _describe list: "name:description" with the name's colons escaped. */
const describeEntry = (name: string, description: string) => zq(`${name.replace(/:/g, "\\:")}:${shortDescription(description)}`);

function zshCompletion(spec: CommandSpec): string {
  const commands = allCommands(spec);
  const subcommandCases = commands
    .filter((c) => c.subcommands.length > 0)
    .map((c) => `    ${zq(key(c))}) reply=(${c.subcommands.map((s) => describeEntry(s.path.at(-1)!, s.description)).join(" ")}) ;;`);
  const optionCases = commands.map(
    (c) => `    ${zq(key(c))}) reply=(${c.options.flatMap((o) => optionFlags(o).map((f) => describeEntry(f, o.description))).join(" ")}) ;;`,
  );
  const valueCases = [...fixedValues(spec)].map(([flag, values]) => `      ${flag}) compadd -- ${values.join(" ")}; return ;;`);
  return `#compdef musicfs
# zsh completion for musicfs (generated from its command definitions: musicfs completions zsh)
# Install: musicfs completions zsh > "\${fpath[1]}/_musicfs" (or any folder on $fpath), then restart zsh.

_musicfs_subcommands() {
  reply=()
  case "$1" in
${subcommandCases.join("\n")}
  esac
}

_musicfs_options() {
  reply=()
  case "$1" in
${optionCases.join("\n")}
  esac
}

_musicfs() {
  local valued=${zq(valuedFlags(spec).join(" "))}
  local cmdpath="" word i skip=0
  local -a reply names
  for ((i = 2; i < CURRENT; i++)); do
    word="\${words[i]}"
    if ((skip)); then skip=0; continue; fi
    case "$word" in
      --) break ;;
      --*=*) ;;
      -*) [[ " $valued " == *" $word "* ]] && skip=1 ;;
      *)
        _musicfs_subcommands "$cmdpath"
        names=("\${reply[@]%%:*}")
        (( \${names[(Ie)$word]} )) && cmdpath="\${cmdpath:+$cmdpath }$word"
        ;;
    esac
  done
  local prev="\${words[CURRENT-1]}"
  if [[ " $valued " == *" $prev "* ]]; then
    case "$prev" in
${valueCases.join("\n")}
    esac
    _files
    return
  fi
  if [[ "$PREFIX" == -* ]]; then
    _musicfs_options "$cmdpath"
    _describe -t options 'option' reply
    return
  fi
  _musicfs_subcommands "$cmdpath"
  if (( \${#reply} )); then
    _describe -t commands 'command' reply
  else
    _files
  fi
}

if [[ "\${zsh_eval_context[-1]}" == loadautofunc ]]; then
  _musicfs "$@"
else
  compdef _musicfs musicfs
fi
`;
}

// ---- fish ----

/** A fish single-quoted word. */
const fq = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;

function fishCompletion(spec: CommandSpec): string {
  const commands = allCommands(spec);
  const subcommandCases = commands
    .filter((c) => c.subcommands.length > 0)
    .map((c) => `        case ${fq(key(c))}\n            printf '%s\\n' ${c.subcommands.map((s) => s.path.at(-1)).join(" ")}`);
  const lines: string[] = [];
  for (const c of commands) {
    const when = `-n ${fq(`__musicfs_is ${fq(key(c))}`)}`;
    for (const s of c.subcommands) lines.push(`complete -c musicfs ${when} -a ${fq(s.path.at(-1)!)} -d ${fq(shortDescription(s.description))}`);
    for (const o of c.options) {
      const names = [`-l ${o.name}`, ...o.aliases.map((a) => (a.length === 1 ? `-s ${a}` : `-l ${a}`))].join(" ");
      const value = o.values ? ` -x -a ${fq(o.values.join(" "))}` : o.takesValue ? " -r -F" : "";
      lines.push(`complete -c musicfs ${when} ${names}${value} -d ${fq(shortDescription(o.description))}`);
    }
    // Arguments of a command without subcommands are paths (mountpoints, folders) or free text (queries).
    if (c.subcommands.length === 0 && c.positionals.length > 0) lines.push(`complete -c musicfs ${when} -F`);
  }
  return `# fish completion for musicfs (generated from its command definitions: musicfs completions fish)
# Install: musicfs completions fish > ~/.config/fish/completions/musicfs.fish

set -g __musicfs_valued ${valuedFlags(spec).join(" ")}

function __musicfs_subcommands
    switch "$argv[1]"
${subcommandCases.join("\n")}
    end
end

# The command being completed ("", "mount", "cache stats"): subcommand words typed so far, option values skipped.
function __musicfs_cmdpath
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l cmdpath
    set -l skip 0
    for word in $tokens
        if test $skip = 1
            set skip 0
            continue
        end
        switch $word
            case '--'
                break
            case '--*=*'
            case '-*'
                contains -- $word $__musicfs_valued; and set skip 1
            case '*'
                contains -- $word (__musicfs_subcommands "$cmdpath"); and set cmdpath (string join ' ' $cmdpath $word)
        end
    end
    echo "$cmdpath"
end

function __musicfs_is
    test (__musicfs_cmdpath) = "$argv[1]"
end

complete -c musicfs -f
${lines.join("\n")}
`;
}
