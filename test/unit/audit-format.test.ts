import { describe, expect, it } from 'vitest';
import { CSV_COLUMNS, CSV_HEADER, csvField, csvRow } from '../../src/audit/csv.js';
import { matches, parseFilter } from '../../src/audit/filter.js';
import type { AuditRecord } from '../../src/audit/record.js';
import { TableLayout, tableCells } from '../../src/audit/table.js';

const record: AuditRecord = {
  ts: '2025-01-31T09:00:00.123Z',
  seq: 3,
  session: '1a2b3c4d5e6f',
  grant: 'jit_alice_1a2b3c4d',
  identity: { sub: 'alice', email: 'alice@example.com', authenticated: true },
  target: 'dev',
  kind: 'statement',
  connection: 2,
  sql: 'SELECT "a,b", \'x\'\nFROM t',
  decision: 'blocked',
  rule: 'no-ddl',
  duration_ms: 1.25,
  rows: 0,
  masked: ['email', 'phone'],
  prev: '0'.repeat(64),
  hash: 'f'.repeat(64),
};

describe('CSV (RFC 4180)', () => {
  it('quotes fields with a quote, comma, CR or LF and doubles quotes; leaves others bare', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('l1\nl2')).toBe('"l1\nl2"');
    expect(csvField('l1\r')).toBe('"l1\r"');
    expect(csvField('')).toBe('');
  });

  it('a row has one cell per column, nested fields as JSON, absent and null empty, CRLF-terminated', () => {
    expect(CSV_HEADER).toBe(`${CSV_COLUMNS.join(',')}\r\n`);
    const row = csvRow({ ...record, grant: null });
    expect(row.endsWith('\r\n')).toBe(true);
    expect(row).toContain(',"{""authenticated"":true,""email"":""alice@example.com"",""sub"":""alice""}",');
    expect(row).toContain(',"[""email"",""phone""]",');
    expect(row).toContain(',"SELECT ""a,b"", \'x\'\nFROM t",');
    expect(row.startsWith('2025-01-31T09:00:00.123Z,3,1a2b3c4d5e6f,,')).toBe(true);
  });
});

describe('filters', () => {
  const now = new Date('2025-01-31T10:00:00Z');

  it('session prefix, decisions, kinds, since (duration or ISO)', () => {
    expect(matches(record, parseFilter({ session: '1a2b' }, now))).toBe(true);
    expect(matches(record, parseFilter({ session: '1a2c' }, now))).toBe(false);
    expect(matches(record, parseFilter({ decision: 'blocked,denied' }, now))).toBe(true);
    expect(matches(record, parseFilter({ decision: 'allowed' }, now))).toBe(false);
    expect(matches({ ...record, decision: undefined }, parseFilter({ decision: 'blocked' }, now))).toBe(
      false,
    );
    expect(matches(record, parseFilter({ kind: 'statement' }, now))).toBe(true);
    expect(matches(record, parseFilter({ kind: 'session_start,session_end' }, now))).toBe(false);
    expect(matches(record, parseFilter({ since: '1h' }, now))).toBe(true);
    expect(matches(record, parseFilter({ since: '30m' }, now))).toBe(false);
    expect(matches(record, parseFilter({ since: '2025-01-31T09:00:00.123Z' }, now))).toBe(true);
    expect(matches(record, parseFilter({ since: '2025-01-31T09:00:00.124Z' }, now))).toBe(false);
  });

  it('bad values are errors naming the option', () => {
    expect(() => parseFilter({ decision: 'blocked,nope' }, now)).toThrow(/`--decision`.*"blocked,nope"/);
    expect(() => parseFilter({ kind: '' }, now)).toThrow(/`--kind`/);
    expect(() => parseFilter({ since: 'yesterday' }, now)).toThrow(/`--since`/);
  });
});

describe('table', () => {
  it('shows decision for statements and kind for other events', () => {
    expect(tableCells(record)).toEqual([
      '2025-01-31 09:00:00',
      '1a2b3c4d',
      '2',
      'blocked',
      'no-ddl',
      '0',
      '-',
      '1.3',
      'SELECT "a,b", \'x\' FROM t [masked: email, phone]',
    ]);
    const start = tableCells({ ...record, kind: 'session_start', detail: { pid: 1 }, reason: undefined });
    expect(start[3]).toBe('session_start');
    expect(start[8]).toBe('{"pid":1}');
    const masked = tableCells({
      ...record,
      masked: ['detector:email', 'public.people.ssn'],
      detail: { masked_values: { 'detector:email': 2, 'public.people.ssn': 5 } },
    });
    expect(masked[6]).toBe('7');
    expect(masked[8]).toBe('SELECT "a,b", \'x\' FROM t [masked: detector:email, public.people.ssn]');
  });

  it('neutralizes terminal control characters and bidi overrides from the agent', () => {
    const cells = tableCells({ ...record, sql: 'SELECT 1\u001b[2J\u0007\u202e', masked: undefined });
    expect(cells[8]).toBe('SELECT 1?[2J??');
  });

  it('cuts the SQL column at the terminal width, and not without one', () => {
    const long = tableCells({ ...record, sql: `SELECT ${'x'.repeat(300)}`, masked: undefined });
    const cut = new TableLayout([long], 100);
    expect(cut.line(long)).toHaveLength(100);
    expect(cut.line(long).endsWith('…')).toBe(true);
    expect(cut.header().startsWith('TIME (UTC)')).toBe(true);
    expect(new TableLayout([long], undefined).line(long).endsWith('x')).toBe(true);
    // too narrow a terminal: the SQL still gets 16 characters (the line wraps rather than say nothing)
    expect(new TableLayout([long], 40).line(long)).toMatch(/ SELECT x{8}…$/);
  });
});
