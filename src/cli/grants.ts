import type { Command } from 'commander';
import { targetOptions } from './common-options.js';
import { runHandler } from './run-handler.js';

/** Options of the `jit grants` subcommands. */
export interface GrantsCommandOptions {
  config?: string;
  target?: string;
  json?: boolean;
  /** `revoke` on a broker target: why (kept by the broker, shown to the requester). */
  reason?: string;
  /** `list` on a broker target: everyone's open grants (the broker's admins only). */
  all?: boolean;
}

/** `jit grants list|revoke|gc`. */
export function registerGrants(program: Command): void {
  const grants = program
    .command('grants')
    .description('list, revoke and clean up temporary roles made by jit')
    .addHelpText(
      'after',
      `
Examples:
  $ jit grants list --target dev
  $ jit grants list --target prod --all   # a broker target: open grants of everyone (broker admins)
  $ jit grants revoke jit_alice_1a2b3c4d --target dev
  $ jit grants revoke g_Q2x8vN0aLk3e --target prod --reason incident   # a broker target: its requester or a broker admin
  $ jit grants gc --target dev          # drop expired roles a killed jit left behind`,
    );
  targetOptions(grants.command('list'))
    .description(
      'list jit-made roles on the target with their expiry and live connections; for a broker target, your open grants',
    )
    .option('--json', 'print JSON')
    .option('--all', "broker targets: everyone's open grants (the broker's admins only)")
    .action((options: GrantsCommandOptions) =>
      runHandler(async () => (await import('../handlers/grants.js')).listCommand(options)),
    );
  targetOptions(grants.command('revoke'))
    .description('end a grant now: stop logins, terminate its connections, drop the role')
    .argument('<role>', 'the grant id: its role name (direct mode), or g_… for a broker target')
    .option('--json', 'print JSON')
    .option('--reason <text>', 'broker targets: why (the running session is told)')
    .action((role: string, options: GrantsCommandOptions) =>
      runHandler(async () => (await import('../handlers/grants.js')).revokeCommand(role, options)),
    );
  targetOptions(grants.command('gc'))
    .description('drop expired jit roles (left behind when jit was killed)')
    .option('--json', 'print JSON')
    .action((options: GrantsCommandOptions) =>
      runHandler(async () => (await import('../handlers/grants.js')).gcCommand(options)),
    );
}
