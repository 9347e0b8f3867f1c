# bash completion for jit. Generated from jit's command tree by `jit completion bash`; do not edit.
# Install: jit completion bash > ~/.local/share/bash-completion/completions/jit
#      or: echo 'source <(jit completion bash)' >> ~/.bashrc

# _jit_spec PATH sets the facts of one command (PATH: its names from the root, space-separated):
# _jit_subs "word:name …" for its subcommands and their aliases, _jit_cmds and _jit_opts to offer,
# _jit_vals "flag:hint …" for options that take a value, _jit_args "hint …" for its positional
# arguments (the last ends in ... when it repeats).
_jit_spec() {
  _jit_subs='' _jit_cmds='' _jit_opts='' _jit_vals='' _jit_args=''
  case $1 in
    'jit')
      _jit_subs='login:login logout:logout whoami:whoami run:run proxy:proxy watch:watch approve:approve grants:grants demo:demo policy:policy audit:audit completion:completion doctor:doctor broker:broker help:help'
      _jit_cmds='login logout whoami run proxy watch approve grants demo policy audit completion doctor broker help'
      _jit_opts='-v --version -h --help'
      ;;
    'jit login')
      _jit_opts='-c --config --issuer --client-id --ca --no-browser -h --help'
      _jit_vals='-c:config --config:config --issuer:none --client-id:none --ca:file'
      ;;
    'jit logout')
      _jit_opts='-c --config --issuer --client-id --ca -h --help'
      _jit_vals='-c:config --config:config --issuer:none --client-id:none --ca:file'
      ;;
    'jit whoami')
      _jit_opts='-c --config --issuer --client-id --ca --json --ci --client-secret-env -h --help'
      _jit_vals='-c:config --config:config --issuer:none --client-id:none --ca:file --client-secret-env:none'
      ;;
    'jit run')
      _jit_opts='-c --config -t --target --reason --policy --audit-log --ci --client-id --client-secret-env --ttl -q --quiet --tui --events --fail-on-block -h --help'
      _jit_vals='-c:config --config:config -t:target --target:target --reason:none --policy:file --audit-log:file --client-id:none --client-secret-env:none --ttl:none --events:file'
      _jit_args='command...'
      ;;
    'jit proxy')
      _jit_opts='-c --config -t --target --reason --policy --audit-log --ci --client-id --client-secret-env -p --port --ttl -q --quiet --no-tui --events --fail-on-block -h --help'
      _jit_vals='-c:config --config:config -t:target --target:target --reason:none --policy:file --audit-log:file --client-id:none --client-secret-env:none -p:none --port:none --ttl:none --events:file'
      ;;
    'jit watch')
      _jit_opts='-s --session --json --no-color -h --help'
      _jit_vals='-s:none --session:none'
      ;;
    'jit approve')
      _jit_opts='-c --config --broker --list --json --approve --deny --fingerprint --reason -s --session --no-color -h --help'
      _jit_vals='-c:config --config:config --reason:none -s:none --session:none'
      _jit_args='none'
      ;;
    'jit grants')
      _jit_subs='list:list revoke:revoke gc:gc help:help'
      _jit_cmds='list revoke gc help'
      _jit_opts='-h --help'
      ;;
    'jit grants list')
      _jit_opts='-c --config -t --target --json --all -h --help'
      _jit_vals='-c:config --config:config -t:target --target:target'
      ;;
    'jit grants revoke')
      _jit_opts='-c --config -t --target --json --reason -h --help'
      _jit_vals='-c:config --config:config -t:target --target:target --reason:none'
      _jit_args='none'
      ;;
    'jit grants gc')
      _jit_opts='-c --config -t --target --json -h --help'
      _jit_vals='-c:config --config:config -t:target --target:target'
      ;;
    'jit grants help')
      _jit_args='choices=list,revoke,gc'
      ;;
    'jit demo')
      _jit_opts='-h --help'
      _jit_args='command...'
      ;;
    'jit policy')
      _jit_subs='check:check test:test help:help'
      _jit_cmds='check test help'
      _jit_opts='-h --help'
      ;;
    'jit policy check')
      _jit_opts='-h --help'
      _jit_args='file'
      ;;
    'jit policy test')
      _jit_opts='--sql --script --json -h --help'
      _jit_vals='--sql:none --script:file'
      _jit_args='file'
      ;;
    'jit policy help')
      _jit_args='choices=check,test'
      ;;
    'jit audit')
      _jit_subs='verify:verify show:show tail:tail export:export push:push help:help'
      _jit_cmds='verify show tail export push help'
      _jit_opts='-h --help'
      ;;
    'jit audit verify')
      _jit_opts='--audit-dir -h --help'
      _jit_vals='--audit-dir:directory'
      _jit_args='file'
      ;;
    'jit audit show')
      _jit_opts='--audit-dir --session --decision --kind --since --json --broker --sub --email --target --until --limit -c --config --ci --client-id --client-secret-env -h --help'
      _jit_vals='--audit-dir:directory --session:none --decision:none --kind:none --since:none --sub:none --email:none --target:target --until:none --limit:none -c:config --config:config --client-id:none --client-secret-env:none'
      _jit_args='file'
      ;;
    'jit audit tail')
      _jit_opts='--audit-dir -n --lines -f --follow --json -h --help'
      _jit_vals='--audit-dir:directory -n:none --lines:none'
      _jit_args='file'
      ;;
    'jit audit export')
      _jit_opts='--audit-dir --format -o --output -h --help'
      _jit_vals='--audit-dir:directory --format:none -o:file --output:file'
      _jit_args='file'
      ;;
    'jit audit push')
      _jit_opts='--audit-dir -c --config --ci --client-id --client-secret-env -h --help'
      _jit_vals='--audit-dir:directory -c:config --config:config --client-id:none --client-secret-env:none'
      _jit_args='file'
      ;;
    'jit audit help')
      _jit_args='choices=verify,show,tail,export,push'
      ;;
    'jit completion')
      _jit_opts='-h --help'
      _jit_args='choices=bash,zsh,fish'
      ;;
    'jit doctor')
      _jit_opts='-c --config -t --target --json -h --help'
      _jit_vals='-c:config --config:config -t:target --target:target'
      ;;
    'jit broker')
      _jit_opts='-c --config --check -h --help'
      _jit_vals='-c:config --config:config'
      ;;
    'jit help')
      _jit_args='choices=login,logout,whoami,run,proxy,watch,approve,grants,demo,policy,audit,completion,doctor,broker'
      ;;
  esac
}

# _jit_find LIST WORD: sets _jit_reply to what LIST ("word:value …") maps WORD to, or fails.
_jit_find() {
  local entry
  _jit_reply=''
  for entry in $1; do
    if [[ ${entry%%:*} == "$2" ]]; then
      _jit_reply=${entry#*:}
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
  local file=${_jit_config:-${JIT_CONFIG:-}}
  if [[ -z $file ]]; then
    if [[ -f jit.yaml ]]; then file=jit.yaml; elif [[ -f jit.yml ]]; then file=jit.yml; fi
  fi
  [[ $file == '~/'* ]] && file=$HOME/${file#'~/'}
  [[ -n $file && -r $file ]] || return 0
  awk '/^targets:[ \t]*(#.*)?$/ { t = 1; n = -1; next }
t && /^[^ \t#]/ { t = 0 }
t && /^[ \t]+[A-Za-z0-9_.-]+[ \t]*:/ {
  match($0, /^[ \t]+/); i = RLENGTH
  if (n < 0) n = i
  if (i == n) { k = substr($0, i + 1); sub(/[ \t]*:.*/, "", k); print k }
}' "$file" 2>/dev/null
}

# _jit_value HINT CUR [PREFIX]: completes a value of the given kind.
_jit_value() {
  local cur=$2 prefix=${3-}
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
      local words=${1#choices=}
      _jit_add "$prefix" compgen -W "${words//,/ }" -- "$cur"
      ;;
  esac
}

_jit() {
  local cur=${COMP_WORDS[COMP_CWORD]} path=jit word hint='' prefix='' i=1 npos=0 dashdash=0 start=0
  local _jit_subs _jit_cmds _jit_opts _jit_vals _jit_args _jit_reply _jit_config=''
  local -a args
  COMPREPLY=()
  _jit_spec "$path"
  while ((i < COMP_CWORD)); do
    word=${COMP_WORDS[i]}
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
      _jit_find "$_jit_vals" "${word%%=*}" && [[ $_jit_reply == config ]] && _jit_config=${word#*=}
    elif ((dashdash == 0)) && [[ $word == -?* ]]; then
      _jit_find "$_jit_vals" "$word" && hint=$_jit_reply
    elif ((dashdash == 0 && npos == 0)) && _jit_find "$_jit_subs" "$word"; then
      path="$path $_jit_reply"
      _jit_spec "$path"
    else
      args=($_jit_args)
      [[ ${args[npos]-} == command* ]] && start=$i
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
    _jit_find "$_jit_vals" "${cur%%=*}" || return 0
    hint=$_jit_reply
    prefix=${cur%%=*}=
    _jit_value "$hint" "${cur#*=}" "$prefix"
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
  if ((npos < ${#args[@]})); then
    hint=${args[npos]}
  elif ((${#args[@]} > 0)); then
    hint=${args[${#args[@]} - 1]}
    [[ $hint == *... ]] || hint=''
  fi
  _jit_value "${hint%...}" "$cur"
  return 0
}
complete -F _jit jit
