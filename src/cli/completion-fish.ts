import {
  allCommands,
  flagsOf,
  type CommandSpec,
  type OptionSpec,
  type ValueHint,
} from './completion-spec.js';
import {
  commandArgIndex,
  generatedHeader,
  hintWord,
  TARGETS_AWK,
  valueOptions,
} from './completion-shell-words.js';

/**
 * The fish completion script. `__jit_state` walks the command line with the tree's facts (which
 * words are subcommands, which options take a value, where the command `jit run` runs starts);
 * every `complete` line is conditioned on the command it belongs to.
 */
export function fishScript(spec: CommandSpec): string {
  const commands = allCommands(spec);
  return `${generatedHeader('fish')}
# Install: jit completion fish > ~/.config/fish/completions/jit.fish

function __jit_subcommand --description 'The name of the subcommand WORD of PATH, if it is one'
    switch "$argv[1] $argv[2]"
${commands.flatMap(subcommandCases).join('\n')}
    end
end

function __jit_value_hint --description 'What the option FLAG of PATH takes as its value, if anything'
    switch "$argv[1] $argv[2]"
${commands.flatMap(valueHintCases).join('\n')}
    end
end

function __jit_command_arg --description 'Whether positional argument N of PATH is a command to run'
    switch "$argv[1] $argv[2]"
${commands.flatMap(commandArgCases).join('\n')}
        case '*'
            return 1
    end
end
${FISH_RUNTIME}
complete -c jit -f
${commands.flatMap(completeLines).join('\n')}
`;
}

function subcommandCases(command: CommandSpec): string[] {
  const parent = command.path.join(' ');
  return command.commands.flatMap((sub) => [
    `        case ${[sub.name, ...sub.aliases].map((word) => quote(`${parent} ${word}`)).join(' ')}`,
    `            echo ${sub.name}`,
  ]);
}

function valueHintCases(command: CommandSpec): string[] {
  const path = command.path.join(' ');
  return valueOptions(command).flatMap((option) => [
    `        case ${flagsOf(option)
      .map((flag) => quote(`${path} ${flag}`))
      .join(' ')}`,
    `            echo ${hintWord(option.value?.hint ?? { kind: 'none' })}`,
  ]);
}

function commandArgCases(command: CommandSpec): string[] {
  const index = commandArgIndex(command);
  if (index < 0) return [];
  return [`        case ${quote(`${command.path.join(' ')} ${index}`)}`, '            return 0'];
}

function completeLines(command: CommandSpec): string[] {
  const path = command.path.join(' ');
  const lines: string[] = [];
  // Double quotes: paths are plain words (see completion-spec.ts), so nothing in them expands.
  const complete = (condition: string, rest: string): void => {
    lines.push(`complete -c jit -n "${condition}" ${rest}`);
  };
  for (const sub of command.commands) {
    complete(`__jit_commands '${path}'`, `-a ${sub.name} -d ${quote(sub.description)}`);
  }
  for (const option of command.options) complete(`__jit_at '${path}'`, optionArgs(option));
  const runIndex = commandArgIndex(command);
  command.args.forEach((arg, index) => {
    const at = `__jit_arg '${path}' ${index}${arg.variadic ? ' +' : ''}`;
    if (index === runIndex) {
      complete(`__jit_arg '${path}' ${index}`, `-a '(__fish_complete_command)'`);
      complete(`__jit_running '${path}'`, `-a '(__jit_complete_running)'`);
      return;
    }
    const values = valueArgs(arg.hint);
    if (values !== '') complete(at, values);
  });
  return lines;
}

function optionArgs(option: OptionSpec): string {
  const parts: string[] = [];
  if (option.short !== undefined) {
    const letters = option.short.slice(1);
    parts.push(letters.length === 1 ? `-s ${letters}` : `-o ${letters}`);
  }
  if (option.long !== undefined) parts.push(`-l ${option.long.slice(2)}`);
  if (option.value !== undefined) {
    const values = valueArgs(option.value.hint);
    // -r: the value may be the next word; an optional value only ever comes as --flag=value.
    parts.push(option.value.optional ? values || '' : `-r ${values}`.trim());
  }
  parts.push(`-d ${quote(option.description)}`);
  return parts.filter((part) => part !== '').join(' ');
}

/** The `complete` switches that offer a value of the given kind. */
function valueArgs(hint: ValueHint): string {
  switch (hint.kind) {
    case 'file':
    case 'config':
    case 'directory':
    case 'command':
      return '-F';
    case 'target':
      return `-a '(__jit_targets)'`;
    case 'choices':
      return `-a ${quote(hint.values.join(' '))}`;
    case 'none':
      return '';
    default:
      throw new Error(`unknown value hint ${JSON.stringify(hint)}`);
  }
}

/** A single-quoted fish word: only `\\` and `'` are special inside. */
function quote(text: string): string {
  return `'${text.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

/**
 * The part that does not depend on the tree. `__jit_state` prints six lines: the command path,
 * how many positional arguments it has so far, the index of the word where the command `jit run`
 * runs starts (0: none yet), the hint of the option whose value comes next (-: none), the config
 * file named on the line (-: none), and whether `--` was seen (0 or 1).
 */
const FISH_RUNTIME = `
function __jit_state --description 'Where the jit command line is'
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l path jit
    set -l npos 0
    set -l start 0
    set -l expect -
    set -l config -
    set -l dashdash 0
    set -l i 1
    for word in $tokens
        set i (math $i + 1)
        if test $start -gt 0
            continue
        else if test "$expect" != -
            test "$expect" = config; and set config $word
            set expect -
        else if test $dashdash = 0; and test "$word" = --
            set dashdash 1
        else if test $dashdash = 0; and string match -q -- '--*=*' $word
            set -l parts (string split -m 1 -- = $word)
            set -l hint (__jit_value_hint "$path" $parts[1])
            test "$hint" = config; and set config $parts[2]
        else if test $dashdash = 0; and string match -q -- '-?*' $word
            set -l hint (__jit_value_hint "$path" $word)
            test -n "$hint"; and set expect $hint
        else
            set -l sub
            if test $dashdash = 0; and test $npos = 0
                set sub (__jit_subcommand "$path" $word)
            end
            if test -n "$sub"
                set path "$path $sub"
            else
                __jit_command_arg "$path" $npos; and set start $i
                set npos (math $npos + 1)
            end
        end
    end
    printf '%s\\n' "$path" $npos $start "$expect" "$config" $dashdash
end

function __jit_at --description 'On command PATH, before -- and the command jit runs'
    set -l state (__jit_state)
    test "$state[1]" = "$argv[1]"; and test "$state[3]" = 0; and test "$state[6]" = 0
end

function __jit_commands --description 'Where a subcommand of PATH goes'
    set -l state (__jit_state)
    test "$state[1]" = "$argv[1]"; and test "$state[2]" = 0; and test "$state[4]" = -; and test "$state[6]" = 0
end

function __jit_arg --description 'Where positional argument N of PATH goes (N or later with +)'
    set -l state (__jit_state)
    test "$state[1]" = "$argv[1]"; and test "$state[3]" = 0; and test "$state[4]" = -; or return 1
    if test "$argv[3]" = +
        test $state[2] -ge $argv[2]
    else
        test $state[2] -eq $argv[2]
    end
end

function __jit_running --description 'Within the arguments of the command that jit runs for PATH'
    set -l state (__jit_state)
    test "$state[1]" = "$argv[1]"; and test "$state[3]" -gt 0
end

function __jit_complete_running --description 'Completes the command jit runs as if typed on its own'
    set -l state (__jit_state)
    set -l tokens (commandline -opc)
    complete -C (string join -- ' ' (string escape -- $tokens[$state[3]..-1]) (commandline -ct))
end

function __jit_targets --description 'The target names of the jit config in use'
    set -l state (__jit_state)
    set -l file $state[5]
    test "$file" = -; and set file $JIT_CONFIG
    if test -z "$file"
        for name in jit.yaml jit.yml
            if test -f $name
                set file $name
                break
            end
        end
    end
    set file (string replace -r -- '^~/' "$HOME/" $file)
    test -n "$file"; and test -r "$file"; or return 0
    awk '${TARGETS_AWK}' $file 2>/dev/null
end
`;
