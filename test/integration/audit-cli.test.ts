import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/log.js';
import { sessionAuditPath } from '../../src/audit/paths.js';
import { CSV_COLUMNS } from '../../src/audit/csv.js';
import type { AuditEvent, AuditRecord } from '../../src/audit/record.js';
import { cleanEnv, JIT_BIN, runJit } from '../helpers/jit.js';

// Drives the built CLI (`npm run build` first) as a process, on files written by AuditLog.

let root: string;
let dir: string;
let older: string;
let newer: string;
const env = cleanEnv();

const identity = { sub: 'alice', email: 'alice@example.com', authenticated: true };

/** Writes one session file: start, an allowed and a blocked statement, an approval, end. */
async function writeSession(where: string, session: string, startedAt: string): Promise<string> {
  let ms = Date.parse(startedAt);
  const file = sessionAuditPath(where, session, new Date(ms));
  const log = await AuditLog.open(file, { durability: 'sync', now: () => new Date((ms += 1000)) });
  const base = {
    session,
    grant: 'jit_alice_1a2b3c4d',
    identity,
    target: 'dev',
  } satisfies Partial<AuditEvent>;
  log.append({ ...base, grant: null, kind: 'session_start', detail: { pid: 4242, ttl_ms: 900_000 } });
  log.append({
    ...base,
    kind: 'statement',
    connection: 1,
    sql: 'SELECT id, "full, name", email FROM customers WHERE note = $1\nORDER BY id',
    fingerprint: '5d2c1a0b',
    decision: 'allowed',
    rule: 'read',
    duration_ms: 1.5,
    rows: 3,
    masked: ['email'],
  });
  log.append({
    ...base,
    kind: 'statement',
    connection: 2,
    sql: 'DROP TABLE customers',
    decision: 'blocked',
    rule: 'no-ddl',
    reason: 'DDL is not allowed',
    sqlstate: '42501',
  });
  log.append({ ...base, kind: 'approval', approver: 'bob', reason: 'approved once' });
  log.append({ ...base, kind: 'session_end', reason: 'child exited' });
  await log.close();
  return file;
}

beforeAll(async () => {
  if (!existsSync(path.join(path.dirname(JIT_BIN), '..', 'dist', 'handlers', 'audit.js'))) {
    throw new Error('build first: npm run build');
  }
  root = await mkdtemp(path.join(tmpdir(), 'jit-audit-cli-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});
beforeEach(async () => {
  dir = await mkdtemp(path.join(root, 'audit-'));
  older = await writeSession(dir, 'aaaa1111bbbb', '2025-01-30T08:00:00Z');
  newer = await writeSession(dir, 'cccc2222dddd', '2025-01-31T09:00:00Z');
});

const jit = (args: string[], extraEnv: Record<string, string> = {}) =>
  runJit(['audit', ...args], { env: { ...env, ...extraEnv } });

const stdoutLines = (text: string) => text.split('\n').filter((l) => l !== '');

describe('jit audit verify', () => {
  it('prints ok per file with its record count and exits 0', async () => {
    const r = await jit(['verify', dir]);
    expect(r.exitCode).toBe(0);
    expect(stdoutLines(r.stdout)).toEqual([`ok ${older} (5 records)`, `ok ${newer} (5 records)`]);
    expect(r.stderr).toBe('');
  });

  it('uses JIT_AUDIT_DIR, and --audit-dir, when no path is given', async () => {
    const viaEnv = await jit(['verify'], { JIT_AUDIT_DIR: dir });
    expect(viaEnv.exitCode).toBe(0);
    expect(stdoutLines(viaEnv.stdout)).toHaveLength(2);
    const viaOption = await jit(['verify', '--audit-dir', dir]);
    expect(stdoutLines(viaOption.stdout)).toEqual(stdoutLines(viaEnv.stdout));
  });

  it('a tampered file → BROKEN FILE:LINE: reason, exit 1 (the other file still reported)', async () => {
    const text = await readFile(older, 'utf8');
    await writeFile(older, text.replace('"decision":"blocked"', '"decision":"allowed"'));
    const r = await jit(['verify', dir]);
    expect(r.exitCode).toBe(1);
    expect(stdoutLines(r.stdout)).toEqual([
      `BROKEN ${older}:3: hash does not match the record (the record was altered)`,
      `ok ${newer} (5 records)`,
    ]);
  });

  it('a truncated file → BROKEN naming the last line', async () => {
    const text = await readFile(newer, 'utf8');
    await writeFile(newer, text.slice(0, text.length - 30));
    const r = await jit(['verify', newer]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`^BROKEN ${newer}:5: incomplete line`));
  });

  it('a missing file → one error line on stderr, exit 1', async () => {
    const missing = path.join(dir, 'nope.jsonl');
    const r = await jit(['verify', missing]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`jit: no audit log at ${missing}`);
  });
});

describe('jit audit show', () => {
  it('prints a table of every record in file order', async () => {
    const r = await jit(['show', dir]);
    expect(r.exitCode).toBe(0);
    const lines = stdoutLines(r.stdout);
    expect(lines[0]).toMatch(/^TIME \(UTC\)\s+SESSION\s+CONN\s+DECISION\s+RULE\s+ROWS\s+MASKED\s+MS\s+SQL$/);
    expect(lines).toHaveLength(11);
    expect(lines[1]).toMatch(/^2025-01-30 08:00:01\s+aaaa1111\s+-\s+session_start\s/);
    expect(lines[2]).toMatch(
      /^2025-01-30 08:00:02\s+aaaa1111\s+1\s+allowed\s+read\s+3\s+-\s+1\.5\s+SELECT id, "full, name", email FROM customers WHERE note = \$1 ORDER BY id \[masked: email\]$/,
    );
    expect(lines[3]).toMatch(/aaaa1111\s+2\s+blocked\s+no-ddl\s+-\s+-\s+-\s+DROP TABLE customers$/);
    expect(lines[6]).toMatch(/^2025-01-31 09:00:01\s+cccc2222/);
  });

  it('cuts SQL to the terminal width ($COLUMNS)', async () => {
    const r = await jit(['show', dir, '--kind', 'statement'], { COLUMNS: '90' });
    const lines = stdoutLines(r.stdout);
    expect(lines).toHaveLength(5);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(90);
    expect(lines[1]).toMatch(/SELECT id, .*…$/);
  });

  it('filters by decision, session prefix, kind and time; --json prints the stored lines', async () => {
    const r = await jit(['show', dir, '--decision', 'blocked,denied', '--session', 'cccc', '--json']);
    expect(r.exitCode).toBe(0);
    const lines = stdoutLines(r.stdout);
    expect(lines).toHaveLength(1);
    const stored = stdoutLines(await readFile(newer, 'utf8'));
    expect(lines[0]).toBe(stored[2]);
    expect((JSON.parse(lines[0] as string) as AuditRecord).sql).toBe('DROP TABLE customers');

    const approvals = await jit(['show', dir, '--kind', 'approval', '--json']);
    expect(stdoutLines(approvals.stdout).map((l) => (JSON.parse(l) as AuditRecord).approver)).toEqual([
      'bob',
      'bob',
    ]);

    const since = await jit(['show', dir, '--since', '2025-01-31T09:00:03Z', '--json']);
    expect(stdoutLines(since.stdout).map((l) => (JSON.parse(l) as AuditRecord).seq)).toEqual([3, 4, 5]);

    const recent = await jit(['show', dir, '--since', '1h']);
    expect(recent.exitCode).toBe(0);
    expect(recent.stdout).toBe('');
    expect(recent.stderr).toBe('jit: no matching audit records');
  });

  it('a bad filter value → one error line naming the option', async () => {
    const r = await jit(['show', dir, '--decision', 'maybe']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe(
      'jit: `--decision` takes a comma-separated list of allowed, blocked, approved, denied, error (got "maybe")',
    );
  });

  it('a line that is not a record → one error line naming file and line (plus the verify hint)', async () => {
    const text = await readFile(older, 'utf8');
    await writeFile(older, text.replace('{"connection":2', '{"connection":2,,'));
    const r = await jit(['show', older]);
    expect(r.exitCode).toBe(1);
    expect(stdoutLines(r.stderr)[0]).toBe(`jit: ${older}:3: not valid JSON`);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('an incomplete last line (a write in progress) is skipped with a warning', async () => {
    await writeFile(newer, `${await readFile(newer, 'utf8')}{"ts":"2025-`);
    const r = await jit(['show', newer, '--json']);
    expect(r.exitCode).toBe(0);
    expect(stdoutLines(r.stdout)).toHaveLength(5);
    expect(r.stderr).toBe(`jit: warning: ${newer}:6: incomplete last line skipped`);
  });
});

describe('jit audit tail', () => {
  it('prints the last N records of the newest file', async () => {
    const r = await jit(['tail', dir, '-n', '2', '--json']);
    expect(r.exitCode).toBe(0);
    expect(
      stdoutLines(r.stdout)
        .map((l) => JSON.parse(l) as AuditRecord)
        .map((x) => [x.session, x.seq]),
    ).toEqual([
      ['cccc2222dddd', 4],
      ['cccc2222dddd', 5],
    ]);
  });

  it('reaches into older files when the newest has fewer than N, in time order', async () => {
    const r = await jit(['tail', dir, '-n', '7', '--json']);
    const seen = stdoutLines(r.stdout).map((l) => JSON.parse(l) as AuditRecord);
    expect(seen.map((x) => `${x.session.slice(0, 4)}:${x.seq}`)).toEqual([
      'aaaa:4',
      'aaaa:5',
      'cccc:1',
      'cccc:2',
      'cccc:3',
      'cccc:4',
      'cccc:5',
    ]);
    const table = await jit(['tail', dir]);
    expect(stdoutLines(table.stdout)).toHaveLength(11); // header + all 10 (default -n 20)
  });

  it('-f follows new records of the file and new session files until Ctrl-C (exit 0)', async () => {
    const child = execa('node', [JIT_BIN, 'audit', 'tail', dir, '-n', '1', '-f', '--json'], {
      env,
      extendEnv: false,
      reject: false,
      buffer: false,
    });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    const waitFor = async (count: number) => {
      for (let i = 0; i < 200 && stdoutLines(out).length < count; i++)
        await new Promise((r) => setTimeout(r, 25));
      return stdoutLines(out).map((l) => JSON.parse(l) as AuditRecord);
    };
    expect((await waitFor(1)).map((x) => x.seq)).toEqual([5]);

    // the same session file grows (the chain continues), and a new session starts
    const log = await AuditLog.open(newer, { durability: 'sync' });
    log.append({
      kind: 'statement',
      session: 'cccc2222dddd',
      grant: null,
      identity,
      target: 'dev',
      sql: 'SELECT 2',
    });
    await log.close();
    const third = await writeSession(dir, 'eeee3333ffff', '2025-02-01T00:00:00Z');
    const seen = await waitFor(7);
    expect(seen.map((x) => `${x.session.slice(0, 4)}:${x.seq}`)).toEqual([
      'cccc:5',
      'cccc:6',
      'eeee:1',
      'eeee:2',
      'eeee:3',
      'eeee:4',
      'eeee:5',
    ]);
    expect(existsSync(third)).toBe(true);
    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode).toBe(0);
  });

  it('a bad -n → one error line', async () => {
    const r = await jit(['tail', dir, '-n', 'ten']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe('jit: `--lines` must be a whole number (got "ten")');
  });
});

/** A minimal RFC 4180 reader: quoted fields with doubled quotes and embedded CR/LF; CRLF rows. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  if (field !== '' || row.length > 0) throw new Error('CSV does not end with CRLF');
  return rows;
}

describe('jit audit export', () => {
  it('CSV: a header row, one row per record, fields round-trip, nested fields as JSON', async () => {
    // execa's default would strip the final CRLF, which is part of what is checked
    const r = await execa('node', [JIT_BIN, 'audit', 'export', dir, '--format', 'csv'], {
      env,
      extendEnv: false,
      reject: false,
      stripFinalNewline: false,
    });
    expect(r.exitCode).toBe(0);
    const rows = parseCsv(r.stdout);
    expect(rows[0]).toEqual([...CSV_COLUMNS]);
    expect(rows).toHaveLength(11);
    for (const row of rows) expect(row).toHaveLength(CSV_COLUMNS.length);
    const col = (name: (typeof CSV_COLUMNS)[number]) => CSV_COLUMNS.indexOf(name);
    const stored = stdoutLines(await readFile(older, 'utf8')).map((l) => JSON.parse(l) as AuditRecord);
    const select = rows[2] as string[];
    expect(select[col('sql')]).toBe(stored[1]?.sql); // quotes, a comma and a newline survive
    expect(JSON.parse(select[col('identity')] as string)).toEqual(identity);
    expect(JSON.parse(select[col('masked')] as string)).toEqual(['email']);
    expect(select[col('hash')]).toBe(stored[1]?.hash);
    expect(select[col('approver')]).toBe('');
    const start = rows[1] as string[];
    expect(start[col('grant')]).toBe('');
    expect(JSON.parse(start[col('detail')] as string)).toEqual({ pid: 4242, ttl_ms: 900_000 });
  });

  it('JSONL to --output: the stored lines of every file, mode 0600', async () => {
    const output = path.join(root, `export-${path.basename(dir)}.jsonl`);
    const r = await jit(['export', dir, '--output', output]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe(`jit: exported 10 records to ${output}`);
    expect(await readFile(output, 'utf8')).toBe(
      (await readFile(older, 'utf8')) + (await readFile(newer, 'utf8')),
    );
    expect((await stat(output)).mode & 0o777).toBe(0o600);
  });

  it('a bad --format → one error line', async () => {
    const r = await jit(['export', dir, '--format', 'xml']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe('jit: `--format` must be jsonl or csv (got "xml")');
  });
});

describe('help', () => {
  it.each(['verify', 'show', 'tail', 'export'])('jit audit %s --help has an example', async (command) => {
    const r = await jit([command, '--help']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('Examples:');
    expect(r.stdout).toContain(`$ jit audit ${command}`);
  });
});
