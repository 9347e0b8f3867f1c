import { allCommands, flagsOf, type CommandSpec } from './completion-spec.js';
import { generatedHeader, hintWord, TARGETS_AWK, valueOptions } from './completion-shell-words.js';

/**
 * The bash completion script. The command tree becomes one `case` of facts per command; a fixed
 * function walks COMP_WORDS with them (subcommands, options and the values they take, positional
 * arguments, `--`) and fills COMPREPLY. Works without bash-completion (and on bash 3.2); with it,
 * the command after `jit run --` gets its own completion.
 */
export function bashScript(spec: CommandSpec): string {
  const cases = allCommands(spec).map(bashCase).join('\n');
  return `${generatedHeader('bash')}
# Install: jit completion bash > ~/.local/share/bash-completion/completions/jit
#      or: echo 'source <(jit completion bash)' >> ~/.bashrc

# _jit_spec PATH sets the facts of one command (PATH: its names from the root, space-separated):
# _jit_subs "word:name …" for its subcommands and their aliases, _jit_cmds and _jit_opts to offer,
# _jit_vals "flag:hint …" for options that take a value, _jit_args "hint …" for its positional
# arguments (the last ends in ... when it repeats).
_jit_spec() {
  _jit_subs='' _jit_cmds='' _jit_opts='' _jit_vals='' _jit_args=''
  case $1 in
${cases}
  esac
}
${BASH_RUNTIME}
complete -F _jit jit
`;
}

function bashCase(command: CommandSpec): string {
  const lines: string[] = [];
  const set = (name: string, words: string[]): void => {
    if (words.length > 0) lines.push(`      ${name}='${words.join(' ')}'`);
  };
  set(
    '_jit_subs',
    command.commands.flatMap((sub) => [sub.name, ...sub.aliases].map((word) => `${word}:${sub.name}`)),
  );
  set(
    '_jit_cmds',
    command.commands.map((sub) => sub.name),
  );
  set('_jit_opts', command.options.flatMap(flagsOf));
  set(
    '_jit_vals',
    valueOptions(command).flatMap((option) =>
      flagsOf(option).map((flag) => `${flag}:${hintWord(option.value?.hint ?? { kind: 'none' })}`),
    ),
  );
  set(
    '_jit_args',
    command.args.map((arg) => `${hintWord(arg.hint)}${arg.variadic ? '...' : ''}`),
  );
  return [`    '${command.path.join(' ')}')`, ...lines, '      ;;'].join('\n');
}

/** The part that does not depend on the tree (a plain template: `\${` is bash's `${`). */
const BASH_RUNTIME = `
# _jit_find LIST WORD: sets _jit_reply to what LIST ("word:value …") maps WORD to, or fails.
_jit_find() {
  local entry
  _jit_reply=''
  for entry in $1; do
    if [[ \${entry%%:*} == "$2" ]]; then
      _jit_reply=\${entry#*:}
      return 0
    fi
  done
  return 1
}

# _jit_add PREFIX COMMAND…: adds each line COMMAND prints, after PREFIX, to COMPREPLY.
_jit_add() {
  local prefix=$1 line
  shift
  while IFS= read -r line; do
    COMPREPLY+=("$prefix$line")
  done < <("$@")
}

# The target names of the config in use: -c/--config on the line, else $JIT_CONFIG, else ./jit.yaml.
_jit_targets() {
  local file=\${_jit_config:-\${JIT_CONFIG:-}}
  if [[ -z $file ]]; then
    if [[ -f jit.yaml ]]; then file=jit.yaml; elif [[ -f jit.yml ]]; then file=jit.yml; fi
  fi
  [[ $file == '~/'* ]] && file=$HOME/\${file#'~/'}
  [[ -n $file && -r $file ]] || return 0
  awk '${TARGETS_AWK}' "$file" 2>/dev/null
}

# _jit_value HINT CUR [PREFIX]: completes a value of the given kind.
_jit_value() {
  local cur=$2 prefix=\${3-}
  case $1 in
    file | config)
      compopt -o filenames 2>/dev/null
      _jit_add "$prefix" compgen -f -- "$cur"
      ;;
    directory)
      compopt -o filenames 2>/dev/null
      _jit_add "$prefix" compgen -d -- "$cur"
      ;;
    command) _jit_add "$prefix" compgen -c -- "$cur" ;;
    target) _jit_add "$prefix" compgen -W "$(_jit_targets)" -- "$cur" ;;
    choices=*)
      local words=\${1#choices=}
      _jit_add "$prefix" compgen -W "\${words//,/ }" -- "$cur"
      ;;
  esac
}

_jit() {
  local cur=\${COMP_WORDS[COMP_CWORD]} path=jit word hint='' prefix='' i=1 npos=0 dashdash=0 start=0
  local _jit_subs _jit_cmds _jit_opts _jit_vals _jit_args _jit_reply _jit_config=''
  local -a args
  COMPREPLY=()
  _jit_spec "$path"
  while ((i < COMP_CWORD)); do
    word=\${COMP_WORDS[i]}
    if ((start)); then
      : # a word of the command jit runs
    elif [[ -n $hint ]]; then
      # The value of the option before it ("=" is a word of its own where COMP_WORDBREAKS has it).
      if [[ $word != = ]]; then
        [[ $hint == config ]] && _jit_config=$word
        hint=''
      fi
    elif ((dashdash == 0)) && [[ $word == -- ]]; then
      dashdash=1
    elif ((dashdash == 0)) && [[ $word == --*=* ]]; then
      _jit_find "$_jit_vals" "\${word%%=*}" && [[ $_jit_reply == config ]] && _jit_config=\${word#*=}
    elif ((dashdash == 0)) && [[ $word == -?* ]]; then
      _jit_find "$_jit_vals" "$word" && hint=$_jit_reply
    elif ((dashdash == 0 && npos == 0)) && _jit_find "$_jit_subs" "$word"; then
      path="$path $_jit_reply"
      _jit_spec "$path"
    else
      args=($_jit_args)
      [[ \${args[npos]-} == command* ]] && start=$i
      npos=$((npos + 1))
    fi
    i=$((i + 1))
  done

  if ((start)); then
    # Complete the command jit runs as bash would on its own (bash-completion), else its files.
    if declare -F _command_offset >/dev/null; then
      _command_offset "$start"
    else
      _jit_value file "$cur"
    fi
    return 0
  fi
  if [[ -n $hint ]]; then
    [[ $cur == = ]] && cur=''
    _jit_value "$hint" "$cur"
    return 0
  fi
  if ((dashdash == 0)) && [[ $cur == --*=* ]]; then
    _jit_find "$_jit_vals" "\${cur%%=*}" || return 0
    hint=$_jit_reply
    prefix=\${cur%%=*}=
    _jit_value "$hint" "\${cur#*=}" "$prefix"
    return 0
  fi
  if ((dashdash == 0)) && [[ $cur == -* ]]; then
    _jit_add '' compgen -W "$_jit_opts" -- "$cur"
    return 0
  fi
  if ((dashdash == 0 && npos == 0)) && [[ -n $_jit_cmds ]]; then
    _jit_add '' compgen -W "$_jit_cmds" -- "$cur"
    return 0
  fi
  args=($_jit_args)
  if ((npos < \${#args[@]})); then
    hint=\${args[npos]}
  elif ((\${#args[@]} > 0)); then
    hint=\${args[\${#args[@]} - 1]}
    [[ $hint == *... ]] || hint=''
  fi
  _jit_value "\${hint%...}" "$cur"
  return 0
}`;
