import type { Command } from 'commander';
import { runHandler } from './run-handler.js';

/** Options of `jit policy test`. */
export interface PolicyTestOptions {
  sql?: string;
  script?: string;
  json?: boolean;
}

/** `jit policy check FILE` and `jit policy test FILE --sql "…"`. */
export function registerPolicy(program: Command): void {
  const policy = program
    .command('policy')
    .description('validate a SQL policy file, or show what it decides for a statement')
    .addHelpText(
      'after',
      `
A policy is YAML: mode, on_parse_error, approval, audit and an ordered list of rules; the
first rule that matches a statement decides it (allow | block | approve), otherwise it is
allowed. FILE may be \`default\` for the built-in policy.

Examples:
  $ jit policy check ./policy.yaml
  $ jit policy test default --sql "DELETE FROM orders"
  $ jit policy test ./policy.yaml --sql "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d" --json`,
    );
  policy
    .command('check')
    .description('validate a policy file; prints "ok: N rules, mode M" or one error line')
    .argument('<file>', 'the policy YAML (or `default`)')
    .addHelpText(
      'after',
      `
Examples:
  $ jit policy check ./policy.yaml
  $ jit policy check default`,
    )
    .action((file: string) =>
      runHandler(async () => (await import('../handlers/policy.js')).checkCommand(file)),
    );
  policy
    .command('test')
    .description(
      'show the decision, the deciding rule and the classified statements for SQL (--sql or --script)',
    )
    .argument('<file>', 'the policy YAML (or `default` for the built-in policy)')
    .option('--sql <text>', 'the SQL to classify (several statements allowed)')
    .option(
      '--script <file>',
      'decide every statement of a SQL script instead (psql meta-commands are skipped)',
    )
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
Examples:
  $ jit policy test default --sql "DROP TABLE users"
  $ jit policy test ./policy.yaml --sql "UPDATE t SET a = 1 WHERE true" --json
  $ jit policy test default --script migrations/0042_cleanup.sql`,
    )
    .action((file: string, options: PolicyTestOptions) =>
      runHandler(async () => (await import('../handlers/policy.js')).testCommand(file, options)),
    );
}
