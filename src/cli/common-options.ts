import type { Command } from 'commander';

/** Options every session-starting command shares. */
export interface SessionCommandOptions {
  config?: string;
  target?: string;
  ttl?: string;
  quiet?: boolean;
}

/** Adds --config and --target. */
export function targetOptions(command: Command): Command {
  return command
    .option('-c, --config <file>', 'config file (default: $JIT_CONFIG or ./jit.yaml)')
    .option('-t, --target <name>', 'target from the config (default: default_target or the only one)');
}
