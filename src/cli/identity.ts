import type { Command } from 'commander';
import { runHandler } from './run-handler.js';

/** Options of `jit login`, `jit logout` and `jit whoami`. */
export interface IdentityCommandOptions {
  config?: string;
  issuer?: string;
  clientId?: string;
  ca?: string;
  /** False with --no-browser. */
  browser?: boolean;
  json?: boolean;
  ci?: boolean;
  clientSecretEnv?: string;
}

function providerOptions(command: Command): Command {
  return command
    .option('-c, --config <file>', 'config file (default: $JIT_CONFIG or ./jit.yaml)')
    .option('--issuer <url>', 'OpenID provider (default: oidc.issuer from the config)')
    .option('--client-id <id>', 'client id registered at the provider (default: oidc.client_id)')
    .option('--ca <file>', 'extra CA certificate (PEM) to trust for the provider (default: oidc.ca)');
}

/** `jit login`, `jit logout`, `jit whoami`. */
export function registerIdentity(program: Command): void {
  providerOptions(program.command('login'))
    .description('log in with your identity provider (OIDC device flow) and keep the tokens safe')
    .option('--no-browser', 'do not open a browser; just print the URL and the code')
    .addHelpText(
      'after',
      `
Prints a URL and a code; open the URL on any device, enter the code and approve. Tokens go to
the OS keyring, or — where there is none (headless Linux, CI) — to a 0600 file in jit's config
directory ($JIT_CONFIG_DIR, else $XDG_CONFIG_HOME/jit or ~/.config/jit). JIT_KEYRING=off skips
the keyring. jit run and jit proxy then act as you, and the audit trail names you.

Examples:
  $ jit login
  $ jit login --issuer https://idp.example.com --client-id jit-cli --no-browser`,
    )
    .action((options: IdentityCommandOptions) =>
      runHandler(async () => (await import('../handlers/identity.js')).loginCommand(options)),
    );

  providerOptions(program.command('logout'))
    .description('revoke your tokens at the identity provider and delete them here')
    .addHelpText(
      'after',
      `
Examples:
  $ jit logout`,
    )
    .action((options: IdentityCommandOptions) =>
      runHandler(async () => (await import('../handlers/identity.js')).logoutCommand(options)),
    );

  providerOptions(program.command('whoami'))
    .description('show the verified identity jit run would use (subject, email, groups, issuer, expiry)')
    .option('--json', 'print it as JSON')
    .option('--ci', 'only CI identities (JIT_ID_TOKEN, GitHub Actions OIDC, --client-secret-env)')
    .option('--client-secret-env <name>', 'environment variable with a service account client secret')
    .addHelpText(
      'after',
      `
The same resolution as jit run: --client-secret-env, then JIT_ID_TOKEN, then a GitHub Actions
OIDC token, then your jit login (refreshed when it is about to expire). Every token is verified
against the issuer's keys first. Exits 1 when there is no valid identity.

Examples:
  $ jit whoami
  $ jit whoami --json | jq -r .email`,
    )
    .action((options: IdentityCommandOptions) =>
      runHandler(async () => (await import('../handlers/identity.js')).whoamiCommand(options)),
    );
}
