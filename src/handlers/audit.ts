import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import type {
  AuditCommandOptions,
  AuditExportOptions,
  AuditPushOptions,
  AuditShowOptions,
  AuditTailOptions,
} from '../cli/audit.js';
import { brokerQuery, checkLocalOptions } from '../audit/broker-query.js';
import { CSV_HEADER, csvRow } from '../audit/csv.js';
import { resolveAuditFiles } from '../audit/files.js';
import { parseFilter, matches } from '../audit/filter.js';
import { errno } from '../audit/fs-errors.js';
import { follow, readNewRecords, recordOf, type FilePosition } from '../audit/follow.js';
import { defaultAuditDir } from '../audit/paths.js';
import { readLines, verifyFile } from '../audit/read.js';
import { AuditError, canonicalJson, parseRecordLine, type AuditRecord } from '../audit/record.js';
import { pushFile } from '../audit/shipper.js';
import { unsentAmong } from '../audit/unsent.js';
import { TableLayout, tableCells } from '../audit/table.js';
import type { JitConfig } from '../config/schema.js';
import { BrokerError } from '../grant/broker-client.js';
import { isJitError } from '../util/errors.js';
import { brokerClientFor, brokerSection, loadCommandConfig } from './broker-access.js';

/** What the audit commands touch of the outside world (injectable for tests). */
export interface AuditCommandIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  /** Width to cut the SQL column at; undefined → no cut (output is not a terminal). */
  columns: number | undefined;
  now: () => Date;
  /** Ends `tail -f`; by default Ctrl-C or SIGTERM. */
  signal?: AbortSignal;
}

/** The real process: stdout's terminal width (or $COLUMNS), the clock, process.env. */
export function processIo(): AuditCommandIo {
  exitOnClosedPipe();
  const columnsEnv = Number.parseInt(process.env.COLUMNS ?? '', 10);
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    columns: process.stdout.isTTY ? process.stdout.columns : columnsEnv > 0 ? columnsEnv : undefined,
    now: () => new Date(),
  };
}

/** `jit audit show | head`: a closed pipe ends the output quietly instead of with a stack trace. */
function exitOnClosedPipe(): void {
  process.stdout.once('error', (error) => {
    if (errno(error) === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

/** `jit audit verify [FILE|DIR]`: `ok FILE (N records)` per file, `BROKEN FILE:LINE: why` → exit 1. */
export async function verifyCommand(
  where: string | undefined,
  options: AuditCommandOptions,
  io: AuditCommandIo = processIo(),
): Promise<number> {
  const { files, dir } = await resolveAuditFiles(location(where, options, io));
  if (files.length === 0) {
    io.stderr.write(`jit: no audit files (*.jsonl) in ${dir}\n`);
    return 0;
  }
  let broken = 0;
  for (const file of files) {
    const result = await verifyFile(file);
    if (result.ok) {
      await write(
        io.stdout,
        `ok ${file} (${result.records} ${result.records === 1 ? 'record' : 'records'})\n`,
      );
    } else {
      broken++;
      await write(io.stdout, `BROKEN ${file}:${result.line}: ${result.reason}\n`);
    }
  }
  return broken > 0 ? 1 : 0;
}

/** `jit audit show [FILE|DIR] [filters] [--json]`: a table, or the matching lines as they are. */
export async function showCommand(
  where: string | undefined,
  options: AuditShowOptions,
  io: AuditCommandIo = processIo(),
): Promise<number> {
  if (options.broker) return showFromBroker(where, options, io);
  checkLocalOptions(options);
  const filter = parseFilter(options, io.now());
  const { files } = await resolveAuditFiles(location(where, options, io));
  const rows: string[][] = [];
  for (const file of files) {
    await eachRecord(file, io, async (record, text) => {
      if (!matches(record, filter)) return;
      if (options.json) await write(io.stdout, `${text}\n`);
      else rows.push(tableCells(record));
    });
  }
  if (options.json) return 0;
  return printTable(rows, io);
}

/** `jit audit show --broker [filters] [--json]`: the broker's records, printed as local ones are. */
async function showFromBroker(
  where: string | undefined,
  options: AuditShowOptions,
  io: AuditCommandIo,
): Promise<number> {
  if (where !== undefined || options.auditDir !== undefined) {
    const what = where !== undefined ? `the path ${where}` : '`--audit-dir`';
    throw new AuditError('bad_option', `\`--broker\` reads the broker's records, not files: drop ${what}`);
  }
  const query = brokerQuery(options, io.now());
  const config = await loadCommandConfig(options.config, io.env);
  const client = await brokerClientFor(config, 'jit audit show --broker', options, io.env);
  const received = await client.queryAudit(query);
  const rows: string[][] = [];
  for (const raw of received) {
    // The JSONL line as the CLI wrote it: records are stored in canonical form.
    const text = canonicalJson(raw);
    const parsed = parseRecordLine(text);
    if (!parsed.record) {
      throw new AuditError(
        'broker_protocol',
        `the broker sent something that is not an audit record (${parsed.error})`,
      );
    }
    if (options.json) await write(io.stdout, `${text}\n`);
    else rows.push(tableCells(parsed.record));
  }
  if (!options.json) await printTable(rows, io);
  if (received.length >= Number(query.limit)) {
    io.stderr.write(
      `jit: showing the newest ${received.length} records (the limit); narrow the filters or raise \`--limit\`\n`,
    );
  }
  return 0;
}

/** The audit table, or a note on stderr when there are no rows. */
async function printTable(rows: string[][], io: AuditCommandIo): Promise<number> {
  if (rows.length === 0) {
    io.stderr.write('jit: no matching audit records\n');
    return 0;
  }
  const layout = new TableLayout(rows, io.columns);
  await write(io.stdout, `${layout.header()}\n`);
  for (const row of rows) await write(io.stdout, `${layout.line(row)}\n`);
  return 0;
}

/**
 * `jit audit push [FILE|DIR]`: sends files the broker may lack — by default those in the audit
 * directory (and the config's fixed `audit.path`) with an unsent marker, skipping files a running
 * session still writes; a FILE argument is sent whether marked or not. The broker ignores records
 * it has. A broker that cannot be reached ends it with exit 1, markers left in place.
 */
export async function pushCommand(
  where: string | undefined,
  options: AuditPushOptions,
  io: AuditCommandIo = processIo(),
): Promise<number> {
  const config = await loadCommandConfig(options.config, io.env);
  brokerSection(config, 'jit audit push');
  const { files, busy } = await filesToPush(where, options, config, io.env);
  for (const { file, pid } of busy) {
    io.stderr.write(
      `jit: skipped ${file}: process ${pid} is still writing it (that session sends its own records)\n`,
    );
  }
  if (files.length === 0) {
    io.stderr.write('jit: nothing to push\n');
    return 0;
  }
  const client = await brokerClientFor(config, 'jit audit push', options, io.env);
  let failed = 0;
  for (const file of files) {
    let result;
    try {
      result = await pushFile(client, file);
    } catch (error) {
      if (error instanceof BrokerError && (error.status === 0 || error.status >= 500)) {
        throw new AuditError('broker_unreachable', `cannot push ${file}: ${error.message}`, {
          hint: `${error.hint ?? 'check broker.url in jit.yaml'}; the unsent markers stay, so run \`jit audit push\` again later`,
          cause: error,
        });
      }
      if (!isJitError(error)) throw error;
      failed++;
      io.stderr.write(`jit: not pushed ${file}: ${error.message}\n`);
      continue;
    }
    const records = `${result.records} ${result.records === 1 ? 'record' : 'records'}`;
    await write(
      io.stdout,
      `pushed ${file} (${records}: ${result.accepted} new, ${result.duplicates} already there)\n`,
    );
  }
  return failed > 0 ? 1 : 0;
}

/** The files `jit audit push` sends, and marked ones it leaves to the session still writing them. */
async function filesToPush(
  where: string | undefined,
  options: AuditPushOptions,
  config: JitConfig,
  env: NodeJS.ProcessEnv,
): Promise<{ files: string[]; busy: { file: string; pid: number }[] }> {
  let candidates: string[];
  if (where !== undefined) {
    const found = await resolveAuditFiles(where);
    if (found.dir === undefined) return { files: found.files, busy: [] };
    candidates = found.files;
  } else {
    const dir = options.auditDir ?? defaultAuditDir(env);
    try {
      candidates = (await resolveAuditFiles(dir)).files;
    } catch (error) {
      // No default audit directory yet: no session wrote anything, so nothing is unsent.
      if (!(options.auditDir === undefined && error instanceof AuditError && error.code === 'not_found'))
        throw error;
      candidates = [];
    }
    const fixed = typeof config.audit?.path === 'string' ? config.audit.path : undefined;
    if (fixed !== undefined && !candidates.includes(fixed)) candidates.push(fixed);
  }
  return unsentAmong(candidates);
}

/**
 * `jit audit tail [DIR|FILE] [-n N] [-f]`: the last N records across the newest files; with -f,
 * then every new record of those files and of session files created later, until Ctrl-C.
 */
export async function tailCommand(
  where: string | undefined,
  options: AuditTailOptions,
  io: AuditCommandIo = processIo(),
): Promise<number> {
  const count = parseCount(options.lines);
  const { files, dir } = await resolveAuditFiles(location(where, options, io));
  // Newest file first, until N records are found; remember where each read file ends.
  const positions = new Map<string, FilePosition>();
  const perFile: { record: AuditRecord; text: string }[][] = [];
  let found = 0;
  for (const file of [...files].reverse()) {
    const last: { record: AuditRecord; text: string }[] = [];
    const wanted = Math.max(0, count - found);
    positions.set(
      file,
      await readNewRecords(file, { offset: 0, lineCount: 0 }, (record, text) => {
        if (wanted === 0) return;
        last.push({ record, text });
        if (last.length > wanted) last.shift();
      }),
    );
    perFile.unshift(last);
    found += last.length;
    if (found >= count) break;
  }
  const initial = perFile.flat();
  const layout = new TableLayout(
    initial.map(({ record }) => tableCells(record)),
    io.columns,
  );
  const print = async ({ record, text }: { record: AuditRecord; text: string }): Promise<void> =>
    write(io.stdout, `${options.json ? text : layout.line(tableCells(record))}\n`);
  if (!options.json && (initial.length > 0 || options.follow)) await write(io.stdout, `${layout.header()}\n`);
  for (const entry of initial) await print(entry);
  if (!options.follow) return 0;

  // Follow what was read, plus session files that appear later (not older ones left unread).
  const before = new Set(files);
  const followed = new Map([...positions]);
  let queue = Promise.resolve();
  await withInterrupt(io.signal, (signal) =>
    follow({
      dir,
      positions: followed,
      signal,
      skip: (file) => before.has(file) && !positions.has(file),
      onRecord: (record, text) => {
        queue = queue.then(() => print({ record, text }));
      },
    }),
  );
  await queue;
  return 0;
}

/** `jit audit export [FILE|DIR] --format jsonl|csv [--output FILE]`. */
export async function exportCommand(
  where: string | undefined,
  options: AuditExportOptions,
  io: AuditCommandIo = processIo(),
): Promise<number> {
  const format = options.format ?? 'jsonl';
  if (format !== 'jsonl' && format !== 'csv') {
    throw new AuditError('bad_option', `\`--format\` must be jsonl or csv (got "${format}")`);
  }
  const { files } = await resolveAuditFiles(location(where, options, io));
  const out = options.output ? createWriteStream(options.output, { mode: 0o600 }) : io.stdout;
  let records = 0;
  try {
    if (options.output) await once(out, 'open');
    if (format === 'csv') await write(out, CSV_HEADER);
    for (const file of files) {
      await eachRecord(file, io, async (record, text) => {
        records++;
        await write(out, format === 'csv' ? csvRow(record) : `${text}\n`);
      });
    }
  } catch (error) {
    if (options.output) {
      (out as NodeJS.WritableStream & { destroy(): void }).destroy();
      await unlink(options.output).catch(() => {});
      if (!(error instanceof AuditError)) {
        throw new AuditError('export_failed', `cannot write ${options.output}: ${String(error)}`, {
          cause: error,
        });
      }
    }
    throw error;
  }
  if (options.output) {
    out.end();
    await once(out, 'finish');
    io.stderr.write(
      `jit: exported ${records} ${records === 1 ? 'record' : 'records'} to ${options.output}\n`,
    );
  }
  return 0;
}

/** The FILE|DIR argument, else --audit-dir, else $JIT_AUDIT_DIR or the platform default. */
function location(where: string | undefined, options: AuditCommandOptions, io: AuditCommandIo): string {
  return where ?? options.auditDir ?? defaultAuditDir(io.env);
}

/**
 * Every record of a file, in order. A bad line → AuditError naming file and line; an incomplete
 * last line (a session writing right now, or a crash mid-write) is skipped with a warning.
 */
async function eachRecord(
  file: string,
  io: AuditCommandIo,
  onRecord: (record: AuditRecord, text: string) => Promise<void>,
): Promise<void> {
  for await (const { line, text, complete } of readLines(file)) {
    if (!complete) {
      io.stderr.write(`jit: warning: ${file}:${line}: incomplete last line skipped\n`);
      break;
    }
    await onRecord(recordOf(file, line, text), text as string);
  }
}

function parseCount(text: string | undefined): number {
  if (text === undefined) return 20;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0 || text.trim() === '') {
    throw new AuditError('bad_option', `\`--lines\` must be a whole number (got "${text}")`);
  }
  return n;
}

/** Runs `body` until the given signal aborts, or by default until Ctrl-C / SIGTERM. */
async function withInterrupt(given: AbortSignal | undefined, body: (signal: AbortSignal) => Promise<void>) {
  if (given) return body(given);
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await body(controller.signal);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

/** Writes, waiting for the stream to drain when it asks to (large exports stay in bounded memory). */
async function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, 'drain');
}
