import type { Command } from 'commander';
import type { RunCommandOptions } from '../handlers/run.js';
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
    .option(
      '-q, --quiet',
      "print nothing of jit's own: no status, no JSON events (errors still go to stderr)",
    )
    .option('--tui', "show the live view on this terminal; the command's output goes to a file")
    .option('--events <file>', 'append every event as a JSON line to FILE (CI mode: stderr by default)')
    .option('--fail-on-block', 'exit 1 when the command succeeded but a statement was blocked or denied')
    .addHelpText(
      'after',
      `
The command gets PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE/DATABASE_URL pointing at jit's
loopback proxy and a one-time password; inherited database credentials are removed. When it
exits, its connections are closed and the temporary role is dropped. jit exits with its code.

At a terminal the command keeps it; jit prints a pairing code, and \`jit watch\` in a second
terminal shows the live view and answers held statements (unanswered ones are denied at the
policy's timeout). --tui shows the live view here instead (for commands that need no terminal).
With --ci, CI=true or no terminal: JSON events on stderr (or --events FILE), no prompts, held
statements denied, a summary at the end (and in $GITHUB_STEP_SUMMARY under GitHub Actions).

Examples:
  $ jit run --target dev -- python agent.py
  $ jit run --ttl 5m -- psql -c 'select count(*) from customers'
  $ jit run --ci --fail-on-block --events events.jsonl -- ./migrate-check.sh`,
    )
    .action((command: string[], options: RunCommandOptions) =>
      runHandler(async () => (await import('../handlers/run.js')).runCommand(command, options)),
    );
}
