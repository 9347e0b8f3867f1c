import type { Command } from 'commander';
import { runHandler } from './run-handler.js';

/** Options of `jit broker`. */
export interface BrokerCommandOptions {
  config?: string;
  check?: boolean;
}

/** `jit broker --config FILE`: the team control plane. */
export function registerBroker(program: Command): void {
  program
    .command('broker')
    .description('run the team broker: grants, approvals and audit over HTTP, admin credentials kept here')
    .option('-c, --config <file>', 'the broker config (default: $JIT_BROKER_CONFIG or ./broker.yaml)')
    .option('--check', 'validate the config and the environment it names, then exit')
    .addHelpText(
      'after',
      `
The broker holds each target's admin DSN (in its own environment), verifies callers' OIDC
tokens against the trusted issuers, decides grant requests by its rules (with approval by
another person where a rule says so), creates and drops the temporary roles, queues held
statements for \`jit approve\`, and stores every CLI's audit records. Its state lives in
PostgreSQL ($JIT_BROKER_STATE_URL by default), so several replicas can serve one team.
Logs are JSON lines on stdout. SIGTERM or Ctrl-C stops it gracefully.

Examples:
  $ JIT_BROKER_STATE_URL=postgres://jit_broker:…@state:5432/jit JIT_PROD_ADMIN_URL=postgres://… \\
      jit broker --config /etc/jit/broker.yaml
  $ jit broker --config broker.yaml --check`,
    )
    .action((options: BrokerCommandOptions) =>
      runHandler(async () => (await import('../handlers/broker.js')).brokerCommand(options)),
    );
}
