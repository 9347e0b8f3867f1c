import type { ApproveCommandOptions } from '../cli/approve.js';
import { JitError } from '../util/errors.js';

/** Bad `jit approve` arguments, and decisions the broker would not take. */
export class ApproveError extends JitError {}

/** Rejects option combinations that make no sense whatever the config says; errors name the option. */
export function checkApproveOptions(id: string | undefined, options: ApproveCommandOptions): void {
  const bad = (message: string, hint?: string) =>
    new ApproveError('bad_option', message, hint === undefined ? {} : { hint });
  if (options.approve && options.deny) throw bad('`--approve` and `--deny` exclude each other: give one');
  const verb = options.approve ? '--approve' : options.deny ? '--deny' : undefined;
  if (verb && id === undefined) {
    throw bad(`\`${verb}\` needs the ID of what to decide`, 'see the IDs with `jit approve --list`');
  }
  if (id !== undefined && options.list) throw bad('`--list` takes no ID', 'run `jit approve --list` alone');
  if (id !== undefined && !verb) {
    throw bad(
      `say what to do with ${id}: \`--approve\` or \`--deny\``,
      `e.g. \`jit approve ${id} --approve\``,
    );
  }
  if (options.fingerprint && !options.approve) throw bad('`--fingerprint` goes with `--approve`');
  if (options.fingerprint && id?.startsWith('g_')) {
    throw bad(`\`--fingerprint\` is for held statements (h_…); ${id} is a grant request`);
  }
  if (options.reason !== undefined && !verb) throw bad('`--reason` goes with `ID --approve` or `ID --deny`');
}

/** The first option given that only works against the broker's queue, for the error without one. */
export function brokerOnlyOption(options: ApproveCommandOptions): string | undefined {
  if (options.list) return '--list';
  if (options.approve) return '--approve';
  if (options.deny) return '--deny';
  return undefined;
}
