import type { Command } from 'commander';
import type { SessionCommandOptions } from './common-options.js';
import { guardOptions, identityOptions, targetOptions } from './common-options.js';
import { runHandler } from './run-handler.js';

/** Options of `jit proxy`. */
export interface ProxyCommandOptions extends SessionCommandOptions {
  port?: string;
}

/** `jit proxy [options]`. */
export function registerProxy(program: Command): void {
  identityOptions(guardOptions(targetOptions(program.command('proxy'))))
    .description('issue a time-boxed grant and run the proxy in the foreground until Ctrl-C or expiry')
    .option('-p, --port <port>', 'port on 127.0.0.1 (default: a free one)')
    .option(
      '--ttl <duration>',
      "grant lifetime, e.g. 15m or 1h (default: the target's ttl; capped by max_ttl)",
    )
    .option('-q, --quiet', 'print only the connection URL')
    .addHelpText(
      'after',
      `
Prints the connection URL (with its one-time password) alone on one stdout line; status goes
to stderr. Ctrl-C (or SIGTERM) closes every connection and drops the temporary role.

Examples:
  $ jit proxy --target dev
  $ URL=$(jit proxy -q --ttl 30m | head -1)`,
    )
    .action((options: ProxyCommandOptions) =>
      runHandler(async () => (await import('../handlers/proxy.js')).proxyCommand(options)),
    );
}
