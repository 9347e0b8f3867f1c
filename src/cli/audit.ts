import type { Command } from 'commander';
import type { AuditFilterOptions } from '../audit/filter.js';
import { runHandler } from './run-handler.js';

/** Options every `jit audit` subcommand has. */
export interface AuditCommandOptions {
  auditDir?: string;
}

/** Options of `jit audit show`. */
export interface AuditShowOptions extends AuditCommandOptions, AuditFilterOptions {
  json?: boolean;
}

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

/** `jit audit verify|show|tail|export`. */
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
  $ jit audit export --format csv --output audit.csv`,
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

  dirOption(audit.command('show'))
    .description('print records as a table (or JSON lines), filtered')
    .option('--session <id>', 'only this session (an id or its first characters)')
    .option('--decision <list>', 'only these decisions: allowed,blocked,approved,denied,error')
    .option(
      '--kind <list>',
      'only these kinds: statement,session_start,grant_issued,approval,session_end,grant_revoked',
    )
    .option('--since <when>', 'only records since a duration ago (1h, 30m) or an ISO time')
    .option('--json', 'print the matching records as JSON lines, exactly as stored')
    .addHelpText(
      'after',
      `
Examples:
  $ jit audit show --decision blocked,denied --since 1h
  $ jit audit show --session 1a2b3c4d --kind statement --json | jq .sql`,
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
}
