import type { Command } from 'commander';
import { runHandler } from './run-handler.js';
import type { WatchCommandOptions } from './watch.js';

/** Options of `jit approve` (the `jit watch` ones apply when there is no broker). */
export interface ApproveCommandOptions extends WatchCommandOptions {
  config?: string;
  broker?: boolean;
  list?: boolean;
  approve?: boolean;
  deny?: boolean;
  fingerprint?: boolean;
  reason?: string;
}

/** `jit approve [ID]`. */
export function registerApprove(program: Command): void {
  program
    .command('approve')
    .description("decide grant requests and held statements in the team broker's queue (else: jit watch)")
    .argument('[id]', 'the request to decide (g_… grant, h_… held statement), with --approve or --deny')
    .option('-c, --config <file>', 'config file (default: $JIT_CONFIG or ./jit.yaml)')
    .option('--broker', "use the broker's queue (the default when the config has a `broker:` section)")
    .option('--list', 'print the pending requests you may decide, once, and exit')
    .option('--json', 'with --list: JSON lines; with ID: the decided item as JSON')
    .option('--approve', 'approve ID')
    .option('--deny', 'deny ID')
    .option(
      '--fingerprint',
      'with --approve on a held statement: also approve its shape for the rest of that session',
    )
    .option('--reason <text>', 'why you decided so (recorded; shown to the requester)')
    .option('-s, --session <id>', 'no broker: the local session to attach to (as jit watch)')
    .option('--no-color', 'no broker: no colours in the live view (as jit watch)')
    .addHelpText(
      'after',
      `
With a broker (the config has \`broker:\`, or --broker), you act as yourself — your \`jit login\` —
on the broker's queue: grant requests waiting for an approver and statements a session holds.
You never see your own requests; the broker decides who may approve what. Without ID or --list,
on a terminal, it waits for requests and asks about each (a approve once, A approve the
statement's shape for the rest of its session, d deny with a reason, s skip); Ctrl-C quits.

Without a broker it is \`jit watch\`: attach to a session on this machine with its pairing code.

Examples:
  $ jit approve                                  # wait for requests and decide them one by one
  $ jit approve --list
  $ jit approve --list --json | jq -r .id
  $ jit approve g_8f2c1a --approve --reason "incident 4711"
  $ jit approve h_51d0e9 --approve --fingerprint
  $ jit approve h_51d0e9 --deny --reason "use a WHERE clause"`,
    )
    .action((id: string | undefined, options: ApproveCommandOptions) =>
      runHandler(async () => (await import('../handlers/approve.js')).approveCommand(id, options)),
    );
}
