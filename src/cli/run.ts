import type { Command } from 'commander';
import type { SessionCommandOptions } from './common-options.js';
import { guardOptions, identityOptions, targetOptions } from './common-options.js';
import { runHandler } from './run-handler.js';

/** `jit run [options] -- CMD [ARGS…]`. */
export function registerRun(program: Command): void {
  identityOptions(guardOptions(targetOptions(program.command('run'))))
    .description('issue a time-boxed grant, start the proxy and run CMD with connection settings for it')
    .argument('<command...>', 'the command to run (put it after --)')
    .option(
      '--ttl <duration>',
      "grant lifetime, e.g. 15m or 1h (default: the target's ttl; capped by max_ttl)",
    )
    .option('-q, --quiet', "print nothing of jit's own (errors still go to stderr)")
    .addHelpText(
      'after',
      `
The command gets PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE/DATABASE_URL pointing at jit's
loopback proxy and a one-time password; inherited database credentials are removed. When it
exits, its connections are closed and the temporary role is dropped. jit exits with its code.

Examples:
  $ jit run --target dev -- python agent.py
  $ jit run --ttl 5m -- psql -c 'select count(*) from customers'`,
    )
    .action((command: string[], options: SessionCommandOptions) =>
      runHandler(async () => (await import('../handlers/run.js')).runCommand(command, options)),
    );
}
