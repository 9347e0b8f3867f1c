import type { Argument, Command, Option } from 'commander';

/**
 * What a shell may offer for a value: a file or directory path, one of fixed words, a target name
 * from the config, the config file itself (whose `targets` then feed `target`), a command line to
 * run (an executable, then its own arguments), or nothing (free text).
 */
export type ValueHint =
  | { kind: 'file' }
  | { kind: 'config' }
  | { kind: 'directory' }
  | { kind: 'target' }
  | { kind: 'command' }
  | { kind: 'choices'; values: string[] }
  | { kind: 'none' };

/** One option as a shell sees it. `value` is set when the option takes a value. */
export interface OptionSpec {
  /** Short form (`-c`), if any. */
  short?: string;
  /** Long form (`--config`), if any. */
  long?: string;
  description: string;
  value?: { name: string; optional: boolean; hint: ValueHint };
  /** Repeatable (a variadic option). */
  repeatable: boolean;
}

/** One positional argument. */
export interface ArgumentSpec {
  name: string;
  required: boolean;
  variadic: boolean;
  hint: ValueHint;
}

/** A command with everything a completion script needs about it; the root is `jit` itself. */
export interface CommandSpec {
  name: string;
  aliases: string[];
  description: string;
  /** Names from the root down, e.g. ['jit', 'audit', 'show']. */
  path: string[];
  options: OptionSpec[];
  args: ArgumentSpec[];
  commands: CommandSpec[];
}

/** Words a completion script embeds unquoted: command names, flags and choice values. */
const SAFE_WORD = /^[A-Za-z0-9][A-Za-z0-9_.+-]*$/;
const SAFE_FLAG = /^--?[A-Za-z0-9][A-Za-z0-9_-]*$/;

/**
 * Reads the commander tree into plain data, as `--help` shows it: hidden commands and options are
 * left out, the built-in `help` command and `-h, --help` are in. Throws on a name a completion
 * script could not embed safely, so a bad name fails `npm run completions`, not a user's shell.
 */
export function completionSpec(program: Command): CommandSpec {
  return readCommand(program, []);
}

function readCommand(command: Command, parentPath: string[], siblings: string[] = []): CommandSpec {
  const help = command.createHelp();
  const name = command.name();
  const path = [...parentPath, name];
  checkWord(name, `command ${path.join(' ')}`);
  const visible = help.visibleCommands(command);
  const names = visible.map((sub) => sub.name()).filter((sub) => sub !== 'help');
  // The built-in `help [command]` takes the name of one of its siblings.
  const argHint: ValueHint | undefined =
    name === 'help' && parentPath.length > 0 ? { kind: 'choices', values: siblings } : undefined;
  return {
    name,
    aliases: command.aliases().map((alias) => checkWord(alias, `alias of ${path.join(' ')}`)),
    description: firstLine(command.summary() || command.description()),
    path,
    options: help.visibleOptions(command).map((option) => readOption(option, path)),
    args: command.registeredArguments.map((argument) => readArgument(argument, argHint)),
    commands: visible.map((sub) => readCommand(sub, path, names)),
  };
}

function readOption(option: Option, path: string[]): OptionSpec {
  const where = `option ${option.flags} of ${path.join(' ')}`;
  if (option.short !== undefined) checkFlag(option.short, where);
  if (option.long !== undefined) checkFlag(option.long, where);
  const takesValue = option.required || option.optional;
  const valueName = /[<[]([^>\]]+)[>\]]/.exec(option.flags)?.[1]?.replace(/\.\.\.$/, '') ?? 'value';
  return {
    ...(option.short !== undefined && { short: option.short }),
    ...(option.long !== undefined && { long: option.long }),
    description: firstLine(option.description),
    ...(takesValue && {
      value: { name: valueName, optional: option.optional, hint: optionHint(option, valueName, where) },
    }),
    repeatable: option.variadic,
  };
}

/** Choices first; then `--config`, `--target`, and `<file>`/`<dir>` placeholders. */
function optionHint(option: Option, valueName: string, where: string): ValueHint {
  if (option.argChoices) return choices(option.argChoices, where);
  if (option.long === '--config') return { kind: 'config' };
  if (option.long === '--target') return { kind: 'target' };
  return hintForName(valueName);
}

function readArgument(argument: Argument, override: ValueHint | undefined): ArgumentSpec {
  const name = argument.name();
  const where = `argument <${name}>`;
  const hint =
    override ??
    (argument.argChoices
      ? choices(argument.argChoices, where)
      : name === 'command' && argument.variadic
        ? ({ kind: 'command' } as const)
        : hintForName(name));
  return { name, required: argument.required, variadic: argument.variadic, hint };
}

function hintForName(name: string): ValueHint {
  if (/^(file|path)$/i.test(name)) return { kind: 'file' };
  if (/^(dir|directory)$/i.test(name)) return { kind: 'directory' };
  return { kind: 'none' };
}

function choices(values: readonly string[], where: string): ValueHint {
  return { kind: 'choices', values: values.map((value) => checkWord(value, `a choice of ${where}`)) };
}

function checkWord(word: string, where: string): string {
  if (!SAFE_WORD.test(word)) {
    throw new Error(`cannot generate completions: ${where} is named ${JSON.stringify(word)}`);
  }
  return word;
}

function checkFlag(flag: string, where: string): void {
  if (!SAFE_FLAG.test(flag)) {
    throw new Error(`cannot generate completions: ${where} has the flag ${JSON.stringify(flag)}`);
  }
}

function firstLine(text: string): string {
  return (text.split('\n', 1)[0] ?? '').trim();
}

/** Every command of the tree, root first, depth first. */
export function allCommands(spec: CommandSpec): CommandSpec[] {
  return [spec, ...spec.commands.flatMap(allCommands)];
}

/** Both spellings of an option, short first. */
export function flagsOf(option: OptionSpec): string[] {
  return [option.short, option.long].filter((flag): flag is string => flag !== undefined);
}
