import type { CommandSpec, OptionSpec, ValueHint } from './completion-spec.js';

/**
 * Prints the target names of a jit.yaml: the keys one level under a top-level block `targets:`.
 * Cheap on purpose (no YAML parser, no node start-up); a flow-style `targets: {…}` yields nothing.
 * Shared by the three shells, always inside single quotes there, so it holds no `'` and no `\\`.
 */
export const TARGETS_AWK = `/^targets:[ \\t]*(#.*)?$/ { t = 1; n = -1; next }
t && /^[^ \\t#]/ { t = 0 }
t && /^[ \\t]+[A-Za-z0-9_.-]+[ \\t]*:/ {
  match($0, /^[ \\t]+/); i = RLENGTH
  if (n < 0) n = i
  if (i == n) { k = substr($0, i + 1); sub(/[ \\t]*:.*/, "", k); print k }
}`;

/** The first line of every script: what it is and that it is generated. */
export function generatedHeader(shell: string, comment = '#'): string {
  return `${comment} ${shell} completion for jit. Generated from jit's command tree by \`jit completion ${shell}\`; do not edit.`;
}

/**
 * A value hint as one word for the bash and fish scripts: file, config, directory, target, command,
 * none, or choices=a,b,c. Choice values are checked to be plain words (see completion-spec.ts).
 */
export function hintWord(hint: ValueHint): string {
  return hint.kind === 'choices' ? `choices=${hint.values.join(',')}` : hint.kind;
}

/** Options whose value the next word is (an optional value is never taken from the next word here). */
export function valueOptions(command: CommandSpec): OptionSpec[] {
  return command.options.filter((option) => option.value !== undefined && !option.value.optional);
}

/** Index of the positional argument that is a command line to run, if any. */
export function commandArgIndex(command: CommandSpec): number {
  return command.args.findIndex((arg) => arg.hint.kind === 'command');
}
