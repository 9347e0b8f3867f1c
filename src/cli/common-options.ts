import type { Command } from 'commander';

/** Options every session-starting command shares. */
export interface SessionCommandOptions {
  config?: string;
  target?: string;
  ttl?: string;
  quiet?: boolean;
  policy?: string;
  auditLog?: string;
  ci?: boolean;
  clientId?: string;
  clientSecretEnv?: string;
  /** Why the grant is wanted (team mode: shown to approvers and kept by the broker). */
  reason?: string;
}

/** Adds --config and --target. */
export function targetOptions(command: Command): Command {
  return command
    .option('-c, --config <file>', 'config file (default: $JIT_CONFIG or ./jit.yaml)')
    .option('-t, --target <name>', 'target from the config (default: default_target or the only one)');
}

/** Adds --policy, --audit-log and --reason (the options of a session). */
export function guardOptions(command: Command): Command {
  return command
    .option('--reason <text>', 'why you need access (broker targets: shown to approvers, kept in the record)')
    .option('--policy <file>', "policy YAML (default: the target's policy, else the built-in default)")
    .option(
      '--audit-log <file>',
      'append the audit trail to this file (default: one file per session in the state dir)',
    );
}

/** Adds the CI identity options: --ci, --client-id, --client-secret-env. */
export function identityOptions(command: Command): Command {
  return command
    .option(
      '--ci',
      'CI job: never prompt; identity from JIT_ID_TOKEN, GitHub Actions OIDC or --client-secret-env',
    )
    .option('--client-id <id>', 'service account client id for --client-secret-env (default: oidc.client_id)')
    .option(
      '--client-secret-env <name>',
      "environment variable holding a service account's client secret (client-credentials grant)",
    );
}
