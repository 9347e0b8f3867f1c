import type { Command } from 'commander';
import { runHandler } from './run-handler.js';

/** Options of `jit watch`. */
export interface WatchCommandOptions {
  session?: string;
  json?: boolean;
  color?: boolean;
}

/** `jit watch`. */
export function registerWatch(program: Command): void {
  program
    .command('watch')
    .description('attach to a running jit session on this machine: live statements and approvals')
    .option('-s, --session <id>', 'the session to attach to (default: the only one running)')
    .option('--json', 'print events as JSON lines instead of the live view (read-only)')
    .option('--no-color', 'no colours (also when NO_COLOR is set)')
    .addHelpText(
      'after',
      `
\`jit run\` and \`jit proxy\` print a pairing code on their own terminal; enter it when asked (it
is read from this terminal, or from stdin when that is not one — never from arguments or the
environment, which other processes of yours can read). Both sides prove they know the code
without sending it, so only the person who saw it can approve statements.

Keys in the live view: a approve once, A approve this statement's shape for the session,
d deny (type a reason, Enter), n/p next/previous held statement, f filter, ↑/↓ scroll, q quit.

Examples:
  $ jit watch
  $ jit watch --session 3f9a2c
  $ echo "$CODE" | jit watch --json`,
    )
    .action((options: WatchCommandOptions) =>
      runHandler(async () => (await import('../handlers/watch.js')).watchCommand(options)),
    );
}
