import { canonicalJson, type AuditRecord } from './record.js';

/** The columns of `jit audit show` / `tail`. */
export const TABLE_HEADER = [
  'TIME (UTC)',
  'SESSION',
  'CONN',
  'DECISION',
  'RULE',
  'ROWS',
  'MASKED',
  'MS',
  'SQL',
] as const;
const RIGHT_ALIGNED = new Set([2, 5, 6, 7]);
const MIN_SQL_WIDTH = 16;

/**
 * A record as table cells. DECISION holds the decision for a statement and the kind for other
 * events; SQL holds the statement, or for other events the reason and detail.
 */
export function tableCells(record: AuditRecord): string[] {
  const statement = record.kind === 'statement';
  const text = statement
    ? `${record.sql ?? ''}${record.masked?.length ? ` [masked: ${record.masked.join(', ')}]` : ''}`
    : [record.reason, record.detail && canonicalJson(record.detail)].filter(Boolean).join(' ');
  return [
    record.ts.replace('T', ' ').slice(0, 19),
    record.session.slice(0, 8),
    record.connection === undefined ? '-' : String(record.connection),
    (statement ? record.decision : record.kind) ?? '-',
    record.rule ?? '-',
    record.rows === undefined ? '-' : String(record.rows),
    maskedCount(record),
    record.duration_ms === undefined ? '-' : formatMs(record.duration_ms),
    text,
  ].map(printable);
}

/**
 * Column widths fitted to some rows (at least the header's), and a line renderer that cuts
 * the last column at `width` characters (no cut when width is undefined, e.g. not a terminal).
 */
export class TableLayout {
  private readonly widths: number[];

  constructor(
    rows: readonly string[][],
    private readonly width: number | undefined,
  ) {
    this.widths = TABLE_HEADER.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  }

  /** One line (no newline) of cells in this layout. */
  line(cells: readonly string[]): string {
    const last = cells.length - 1;
    const lead = cells
      .slice(0, last)
      .map((cell, i) => {
        const w = this.widths[i] as number;
        return RIGHT_ALIGNED.has(i) ? cell.padStart(w) : cell.padEnd(w);
      })
      .join('  ');
    let tail = cells[last] ?? '';
    if (this.width !== undefined) {
      const room = Math.max(MIN_SQL_WIDTH, this.width - lead.length - 2);
      if (tail.length > room) tail = `${tail.slice(0, room - 1)}…`;
    }
    return `${lead}  ${tail}`.trimEnd();
  }

  /** The header line. */
  header(): string {
    return this.line([...TABLE_HEADER]);
  }
}

/** Values masked in a statement's result (`detail.masked_values` summed), or '-'. */
function maskedCount(record: AuditRecord): string {
  const values = (record.detail as { masked_values?: Record<string, unknown> } | undefined)?.masked_values;
  if (record.kind !== 'statement' || !values) return '-';
  let total = 0;
  for (const n of Object.values(values)) if (typeof n === 'number') total += n;
  return String(total);
}

function formatMs(ms: number): string {
  return ms < 100 ? ms.toFixed(1) : String(Math.round(ms));
}

/**
 * One line of plain text: runs of whitespace become one space and other control characters
 * (and bidi overrides) become `?` — SQL comes from the agent, and must not move the cursor,
 * recolour the terminal or reorder what a person reads.
 */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\s+/g, ' ').replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '?');
}
