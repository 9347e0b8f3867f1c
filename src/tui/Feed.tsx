/** The statement feed: one row per finished statement, newest at the bottom, filtered and scrollable. */
import type { StatementDecision, StatementEvent } from '../live/events.js';
import { clockTime, compactCount, compactMs, fit, oneLine } from './format.js';
import { Rows, type Row, type Tone } from './Line.js';
import { visibleRows, type FeedRow, type TuiState } from './state.js';

/** The colour that goes with each decision word. */
export const DECISION_TONE: Record<StatementDecision, Tone> = {
  allowed: 'ok',
  blocked: 'bad',
  denied: 'bad',
  approved: 'info',
  error: 'error',
};

interface Columns {
  rule: number;
  /** Masked column: a count on narrow screens, a short list of names from 120 columns. */
  masked: number;
  list: boolean;
  sql: number;
}

// time 8, connection 4, decision 8, duration 5, rows 5, plus the separating spaces.
const FIXED = 8 + 1 + 4 + 1 + 8 + 1 + 5 + 1 + 5 + 1;

function columns(width: number): Columns {
  const list = width >= 120;
  const rule = width >= 120 ? 16 : 11;
  const masked = list ? 20 : 3;
  return { rule, masked, list, sql: Math.max(8, width - FIXED - (rule + 1) - (masked + 1)) };
}

/** The column titles. */
export function feedTitle(width: number): Row {
  const c = columns(width);
  const text = [
    fit('time', 8),
    fit('conn', 4),
    fit('decision', 8),
    fit('rule', c.rule),
    fit('ms', 5, 'right'),
    fit('rows', 5, 'right'),
    fit(c.list ? 'masked' : 'msk', c.masked, c.list ? 'left' : 'right'),
    'statement',
  ].join(' ');
  return [{ text, tone: 'dim' }];
}

/** One statement as a row of `width` characters (the SQL is cut to what is left). */
export function statementRow(statement: StatementEvent, width: number): Row {
  const c = columns(width);
  const masked = statement.masked ?? [];
  const maskedText = masked.length === 0 ? '-' : c.list ? shortNames(masked) : String(masked.length);
  return [
    { text: `${clockTime(statement.at)} `, tone: 'dim' },
    { text: `${fit(`#${statement.connection}`, 4)} ` },
    { text: fit(statement.decision, 8), tone: DECISION_TONE[statement.decision] },
    { text: ` ${fit(statement.rule ? oneLine(statement.rule) : '-', c.rule)} ` },
    {
      text: `${fit(statement.durationMs === undefined ? '-' : compactMs(statement.durationMs), 5, 'right')} `,
    },
    { text: `${fit(statement.rows === undefined ? '-' : compactCount(statement.rows), 5, 'right')} ` },
    {
      text: `${fit(maskedText, c.masked, c.list ? 'left' : 'right')} `,
      tone: masked.length > 0 ? 'warn' : undefined,
    },
    { text: fit(oneLine(statement.sql), c.sql).trimEnd() },
  ];
}

/** `email,ssn` from `public.users.email`, `public.users.ssn`. */
function shortNames(names: readonly string[]): string {
  return names.map((name) => oneLine(name.slice(name.lastIndexOf('.') + 1))).join(',');
}

/** The feed's rows for a viewport of `height` rows (title included), padded so the layout stays put. */
export function feedRows(state: TuiState, width: number, height: number): Row[] {
  if (height <= 0) return [];
  const body = height - 1;
  const rows: Row[] = [feedTitle(width)];
  const shown: readonly FeedRow[] = visibleRows(state, body);
  if (shown.length === 0 && body > 0) {
    const what =
      state.filter === 'all' ? 'no statements yet' : `no statements match the filter "${state.filter}"`;
    rows.push([{ text: what, tone: 'dim' }]);
  }
  for (const row of shown) rows.push(statementRow(row.statement, width));
  while (rows.length < height) rows.push([]);
  return rows;
}

/** The feed rows. */
export function Feed({ rows, color }: { rows: readonly Row[]; color: boolean }) {
  return <Rows rows={rows} color={color} />;
}
