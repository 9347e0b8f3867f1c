import type { Command } from 'commander';
import type { AuditFilterOptions } from '../audit/filter.js';
import { identityOptions } from './common-options.js';
import { runHandler } from './run-handler.js';

/** Options every `jit audit` subcommand has. */
export interface AuditCommandOptions {
  auditDir?: string;
}

/** How `jit audit show --broker` and `jit audit push` reach the broker, and as whom. */
export interface AuditBrokerOptions {
  config?: string;
  ci?: boolean;
  clientId?: string;
  clientSecretEnv?: string;
}

/** Options of `jit audit show`. */
export interface AuditShowOptions extends AuditCommandOptions, AuditFilterOptions, AuditBrokerOptions {
  json?: boolean;
  /** Query the broker's records instead of local files; the options below need it. */
  broker?: boolean;
  sub?: string;
  email?: string;
  target?: string;
  until?: string;
  limit?: string;
}

/** Options of `jit audit push`. */
export interface AuditPushOptions extends AuditCommandOptions, AuditBrokerOptions {}

/** Options of `jit audit tail`. */
export interface AuditTailOptions extends AuditCommandOptions {
  lines?: string;
  follow?: boolean;
  json?: boolean;
}

/** Options of `jit audit export`. */
export interface AuditExportOptions extends AuditCommandOptions {
  format?: string;
  output?: string;
}

const load = () => import('../handlers/audit.js');

/** `jit audit verify|show|tail|export|push`. */
export function registerAudit(program: Command): void {
  const audit = program
    .command('audit')
    .description('read and verify the hash-chained audit log (one JSONL file per session)')
    .addHelpText(
      'after',
      `
Audit files live in $JIT_AUDIT_DIR, or by default ~/.local/state/jit/audit (Linux; honours
$XDG_STATE_HOME), ~/Library/Logs/jit/audit (macOS), %LOCALAPPDATA%\\jit\\audit (Windows).

Examples:
  $ jit audit verify                       # check every session file's hash chain
  $ jit audit show --decision blocked,denied --since 1h
  $ jit audit tail -f
  $ jit audit export --format csv --output audit.csv
  $ jit audit show --broker --email alice@example.com --since 1d   # team mode: the broker's records
  $ jit audit push                         # send records the broker missed`,
    );
  const brokerOptions = (command: Command): Command =>
    identityOptions(
      command.option(
        '-c, --config <file>',
        'config file naming the broker (default: $JIT_CONFIG or ./jit.yaml)',
      ),
    );
  const dirOption = (command: Command): Command =>
    command
      .argument('[path]', 'an audit file, or a directory of them (default: the audit directory)')
      .option('--audit-dir <dir>', 'the audit directory (default: $JIT_AUDIT_DIR or the platform default)');

  dirOption(audit.command('verify'))
    .description('check the hash chain of each file; exits 1 naming the first bad line')
    .addHelpText(
      'after',
      `
Prints "ok FILE (N records)" per file, or "BROKEN FILE:LINE: reason" and exits 1.

Examples:
  $ jit audit verify
  $ jit audit verify ~/.local/state/jit/audit/2025-01-31T09-00-00-1a2b3c4d5e6f.jsonl`,
    )
    .action((path: string | undefined, options: AuditCommandOptions) =>
      runHandler(async () => (await load()).verifyCommand(path, options)),
    );

  const show = dirOption(audit.command('show'))
    .description("print records as a table (or JSON lines), filtered; --broker: the team broker's records")
    .option('--session <id>', 'only this session (an id or its first characters)')
    .option('--decision <list>', 'only these decisions: allowed,blocked,approved,denied,error')
    .option(
      '--kind <list>',
      'only these kinds: statement,session_start,grant_issued,approval,session_end,grant_revoked',
    )
    .option('--since <when>', 'only records since a duration ago (1h, 30m) or an ISO time')
    .option('--json', 'print the matching records as JSON lines, exactly as stored')
    .option('--broker', "query the team broker's records instead of local files (the options below need it)")
    .option('--sub <subject>', 'with --broker: only records of this identity subject')
    .option('--email <email>', 'with --broker: only records of this email')
    .option('--target <name>', 'with --broker: only records of this target')
    .option('--until <when>', 'with --broker: only records before a duration ago (1h) or an ISO time')
    .option('--limit <n>', 'with --broker: at most N records, the newest (default 1000)');
  brokerOptions(show)
    .addHelpText(
      'after',
      `
With --broker the records come from the team broker (the config's \`broker:\`), as you: your
\`jit login\`, or a CI identity (--ci, --client-secret-env). The broker shows admins every
record and everyone else only their own.

Examples:
  $ jit audit show --decision blocked,denied --since 1h
  $ jit audit show --session 1a2b3c4d --kind statement --json | jq .sql
  $ jit audit show --broker --email bob@example.com --since 2025-01-31T00:00:00Z --until 1h
  $ jit audit show --broker --target prod --decision denied --limit 50`,
    )
    .action((path: string | undefined, options: AuditShowOptions) =>
      runHandler(async () => (await load()).showCommand(path, options)),
    );

  dirOption(audit.command('tail'))
    .description('print the last records across the newest files; -f keeps following new ones')
    .option('-n, --lines <n>', 'how many records', '20')
    .option('-f, --follow', 'keep printing new records (and new session files) until Ctrl-C')
    .option('--json', 'print JSON lines, exactly as stored')
    .addHelpText(
      'after',
      `
Examples:
  $ jit audit tail -n 50
  $ jit audit tail -f --json`,
    )
    .action((path: string | undefined, options: AuditTailOptions) =>
      runHandler(async () => (await load()).tailCommand(path, options)),
    );

  dirOption(audit.command('export'))
    .description('write every record as JSON lines or CSV (RFC 4180, with a header row)')
    .option('--format <format>', 'jsonl or csv', 'jsonl')
    .option('-o, --output <file>', 'write to FILE (mode 0600) instead of stdout')
    .addHelpText(
      'after',
      `
In CSV, identity, masked and detail are JSON text in their cells; absent fields are empty.

Examples:
  $ jit audit export --format csv --output audit.csv
  $ jit audit export ./audit > all.jsonl`,
    )
    .action((path: string | undefined, options: AuditExportOptions) =>
      runHandler(async () => (await load()).exportCommand(path, options)),
    );

  brokerOptions(dirOption(audit.command('push')))
    .description('send audit files to the team broker that it may be missing (after an outage)')
    .addHelpText(
      'after',
      `
By default every file in the audit directory with a "<file>.unsent" marker (left by a session
that could not reach the broker), except files a running session is still writing; or the FILE
given, marker or not. Each file is sent whole: the broker keeps what it lacks and ignores what it
has, so pushing twice is harmless. Prints "pushed FILE (N records: A new, D already there)" and
removes the marker; when the broker cannot be reached, exits 1 and leaves the markers.

Examples:
  $ jit audit push
  $ jit audit push ~/.local/state/jit/audit/2025-01-31T09-00-00-1a2b3c4d5e6f.jsonl
  $ jit audit push --ci --client-secret-env JIT_CLIENT_SECRET     # in the CI job that ran jit`,
    )
    .action((path: string | undefined, options: AuditPushOptions) =>
      runHandler(async () => (await load()).pushCommand(path, options)),
    );
}
