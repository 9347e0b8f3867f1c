import { canonicalJson, type AuditRecord } from './record.js';

/** The export's columns, in order: every record field; nested ones as JSON text. */
export const CSV_COLUMNS = [
  'ts',
  'seq',
  'session',
  'grant',
  'identity',
  'target',
  'kind',
  'connection',
  'sql',
  'fingerprint',
  'decision',
  'rule',
  'approver',
  'duration_ms',
  'rows',
  'sqlstate',
  'masked',
  'reason',
  'detail',
  'prev',
  'hash',
] as const satisfies readonly (keyof AuditRecord)[];

/** One RFC 4180 field: quoted (with `"` doubled) when it holds a quote, comma, CR or LF. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** A record as one CSV row (CRLF-terminated, per RFC 4180): null/absent → empty; objects and arrays → JSON. */
export function csvRow(record: AuditRecord): string {
  return `${CSV_COLUMNS.map((column) => {
    const value: unknown = record[column];
    if (value === undefined || value === null) return '';
    return csvField(typeof value === 'object' ? canonicalJson(value) : String(value));
  }).join(',')}\r\n`;
}

/** The header row. */
export const CSV_HEADER = `${CSV_COLUMNS.join(',')}\r\n`;
