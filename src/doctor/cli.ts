import type { Command } from 'commander';
import { runHandler } from '../cli/run-handler.js';

/** Options of `jit doctor`. */
export interface DoctorCommandOptions {
  config?: string;
  target?: string;
  json?: boolean;
}

/** `jit doctor [-c FILE] [-t TARGET] [--json]`. */
export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description(
      'check config, keyring, identity provider, clock and each target; say how to fix what is wrong',
    )
    .option('-c, --config <file>', 'config file (default: $JIT_CONFIG or ./jit.yaml)')
    .option('-t, --target <name>', 'check only this target (default: all of them)')
    .option('--json', 'print a JSON array of {check, status, detail, fix}')
    .addHelpText(
      'after',
      `
One line per check: ok, warn or fail, what was checked and what was found; under each warn or
fail a "fix:" line. Exits 1 when any check fails. Secrets (the admin URL's password, tokens) are
never printed.

Checks: the config file; the OS keyring (else the 0600 token file); the identity provider
(discovery, device flow) and your stored login; for each target the admin credential, the
upstream (with the target's TLS settings), the admin role's CREATEROLE and the member roles; the
clock against the identity provider and the databases.

Examples:
  $ jit doctor
  $ jit doctor --target prod --json | jq '.[] | select(.status != "ok")'`,
    )
    .action((options: DoctorCommandOptions) =>
      runHandler(async () => (await import('../handlers/doctor.js')).doctorCommand(options)),
    );
}
