import type { Command } from 'commander';
import type { SessionCommandOptions } from './common-options.js';
import { guardOptions, identityOptions, targetOptions } from './common-options.js';
import { runHandler } from './run-handler.js';

/** Options of `jit proxy`. */
export interface ProxyCommandOptions extends SessionCommandOptions {
  port?: string;
  tui?: boolean;
  events?: string;
  failOnBlock?: boolean;
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
    .option('-q, --quiet', 'print only the connection URL (no status lines, no JSON events on stderr)')
    .option('--no-tui', 'no live view in a terminal: status lines only (approvals then need `jit watch`)')
    .option('--events <file>', 'append every event as a JSON line to FILE (CI mode: stderr by default)')
    .option('--fail-on-block', 'exit 1 when any statement was blocked or denied')
    .addHelpText(
      'after',
      `
Prints the connection URL (with its one-time password) alone on one stdout line. In a terminal
the live view follows on stderr: every statement, the grant countdown, and a prompt for held
statements (a approve once, A approve the statement's shape for the session, d deny). Without a
terminal, with --ci or with CI=true: one JSON event per line on stderr (or --events FILE) and a
summary; held statements are denied (the policy's when_unattended). q, Ctrl-C or SIGTERM closes
every connection and drops the temporary role.

Examples:
  $ jit proxy --target dev
  $ URL=$(jit proxy -q --ttl 30m | head -1)`,
    )
    .action((options: ProxyCommandOptions) =>
      runHandler(async () => (await import('../handlers/proxy.js')).proxyCommand(options)),
    );
}
