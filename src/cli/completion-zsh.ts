import type { ArgumentSpec, CommandSpec, OptionSpec, ValueHint } from './completion-spec.js';
import { commandArgIndex, generatedHeader, TARGETS_AWK } from './completion-shell-words.js';

/**
 * The zsh completion script: one `_arguments` function per command (options with descriptions and
 * value actions, positional arguments), and for commands with subcommands a `_describe` list and
 * a dispatch on the subcommand's name. Works autoloaded from $fpath and when sourced after compinit.
 */
export function zshScript(spec: CommandSpec): string {
  return `#compdef jit
${generatedHeader('zsh')}
# Install: jit completion zsh > "\${fpath[1]}/_jit"   (any directory in $fpath; then restart zsh)
#      or: echo 'source <(jit completion zsh)' >> ~/.zshrc   (after compinit)

# The target names of the config in use: -c/--config on the line, else $JIT_CONFIG, else ./jit.yaml.
_jit_targets() {
  local file=\${opt_args[-c]:-\${opt_args[--config]:-$JIT_CONFIG}} expl
  local -a targets
  if [[ -z $file ]]; then
    if [[ -f jit.yaml ]]; then file=jit.yaml; elif [[ -f jit.yml ]]; then file=jit.yml; fi
  fi
  file=\${file/#\\~\\//$HOME/}
  [[ -n $file && -r $file ]] || return 1
  targets=(\${(f)"$(awk '${TARGETS_AWK}' "$file" 2>/dev/null)"})
  _wanted targets expl 'target' compadd -a targets
}
${functionsOf(spec).join('\n')}

if [[ $funcstack[1] == _jit ]]; then
  _jit "$@"
else
  (( $+functions[compdef] )) && compdef _jit jit
fi
`;
}

function functionsOf(command: CommandSpec): string[] {
  const own = command.commands.length > 0 ? groupFunctions(command) : [leafFunction(command)];
  return [...own, ...command.commands.flatMap(functionsOf)];
}

function functionName(command: CommandSpec): string {
  return `_${command.path.join('_').replace(/-/g, '_')}`;
}

function leafFunction(command: CommandSpec): string {
  const specs = [...command.options.map(optionSpec), ...argumentSpecs(command)];
  return `
${functionName(command)}() {
  _arguments -s -S${continued(specs)}
}`;
}

function groupFunctions(command: CommandSpec): string[] {
  const name = functionName(command);
  const specs = [...command.options.map(optionSpec), `'1: :${name}_commands'`, `'*:: :->command'`];
  const context = command.path.join('-');
  const dispatch = command.commands.map(
    (sub) => `        (${[sub.name, ...sub.aliases].join('|')}) ${functionName(sub)} && ret=0 ;;`,
  );
  const entries = command.commands.map((sub) => `    ${quote(`${sub.name}:${sub.description}`)}`);
  return [
    `
${name}() {
  local curcontext=$curcontext state state_descr line ret=1
  typeset -A opt_args
  _arguments -C -s -S${continued(specs)} && ret=0
  case $state in
    (command)
      curcontext=\${curcontext%:*:*}:${context}-$words[1]:
      case $words[1] in
${dispatch.join('\n')}
      esac
      ;;
  esac
  return ret
}`,
    `
${name}_commands() {
  local -a commands
  commands=(
${entries.join('\n')}
  )
  _describe -t commands ${quote(`${command.path.join(' ')} command`)} commands
}`,
  ];
}

function continued(specs: string[]): string {
  return specs.map((spec) => ` \\\n    ${spec}`).join('');
}

/** `'(-c --config)'{-c+,--config=}'[description]:file:_files'` and its simpler forms. */
function optionSpec(option: OptionSpec): string {
  const isHelp = option.long === '--help' || option.long === '--version';
  const forms = [option.short, option.long].filter((flag): flag is string => flag !== undefined);
  const exclusive = isHelp ? '(- *)' : option.repeatable || forms.length < 2 ? '' : `(${forms.join(' ')})`;
  const marker = (flag: string): string => {
    if (option.value === undefined) return flag;
    if (flag.startsWith('--')) return `${flag}=`;
    return `${flag}+`;
  };
  const value =
    option.value === undefined
      ? ''
      : `:${option.value.optional ? ':' : ''}${messageWord(option.value.name)}:${action(option.value.hint)}`;
  const tail = `[${bracketText(option.description)}]${value}`;
  const head = `${option.repeatable ? '*' : ''}${exclusive}`;
  if (forms.length === 1) return quote(`${head}${marker(forms[0] as string)}${tail}`);
  return `${head === '' ? '' : quote(head)}{${forms.map(marker).join(',')}}${quote(tail)}`;
}

function argumentSpecs(command: CommandSpec): string[] {
  const runIndex = commandArgIndex(command);
  return command.args.flatMap((arg, index) => {
    if (index === runIndex && index === 0) {
      // As zsh's own _nice: the command, then its arguments completed as if typed on their own.
      return [`'(-)1:command: _command_names -e'`, `'*::arguments: _normal'`];
    }
    return [argumentSpec(arg, index)];
  });
}

function argumentSpec(arg: ArgumentSpec, index: number): string {
  const hint: ValueHint = arg.hint.kind === 'command' ? { kind: 'file' } : arg.hint;
  const position = arg.variadic ? '*' : String(index + 1);
  const optional = !arg.required && !arg.variadic ? ':' : '';
  return quote(`${position}:${optional}${messageWord(arg.name)}:${action(hint)}`);
}

function action(hint: ValueHint): string {
  switch (hint.kind) {
    case 'file':
    case 'config':
      return '_files';
    case 'directory':
      return '_files -/';
    case 'target':
      return '_jit_targets';
    case 'command':
      return '_command_names -e';
    case 'choices':
      return `(${hint.values.join(' ')})`;
    case 'none':
      return ' ';
    default:
      throw new Error(`unknown value hint ${JSON.stringify(hint)}`);
  }
}

/** The message part of `:message:action` may not hold a colon. */
function messageWord(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/** Text inside `[…]` of an _arguments spec: backslash, `[` and `]` escaped. */
function bracketText(text: string): string {
  return text.replace(/[\\[\]]/g, (c) => `\\${c}`);
}

/** A single-quoted zsh word. */
function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
