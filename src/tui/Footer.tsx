/** The bottom rows: counts, the newest notice, how the session ended, and the keys. */
import { clockTime, oneLine } from './format.js';
import { Rows, clipRow, type Row, type Segment, type Tone } from './Line.js';
import type { Counts, TuiState } from './state.js';

const COUNTED: readonly [keyof Counts, string, Tone][] = [
  ['allowed', 'allowed', 'ok'],
  ['blocked', 'blocked', 'bad'],
  ['held', 'held', 'warn'],
  ['approved', 'approved', 'info'],
  ['denied', 'denied', 'bad'],
  ['errors', 'errors', 'error'],
  ['masked', 'masked', 'warn'],
];

/** The footer's rows: counts, then the newest notice and the end of the session when there are, then keys. */
export function footerRows(state: TuiState, width: number): Row[] {
  const counts: Segment[] = [];
  for (const [field, label, tone] of COUNTED) {
    const n = state.counts[field];
    if (counts.length > 0) counts.push({ text: '  ' });
    counts.push({ text: `${label} ` }, n > 0 ? { text: String(n), tone } : { text: '0', tone: 'dim' });
  }
  const rows: Row[] = [clipRow(counts, width)];

  const notice = state.notices.at(-1);
  if (notice) {
    const mark = notice.level === 'warn' ? '! ' : '';
    rows.push(
      clipRow(
        [
          { text: `${clockTime(notice.at)} `, tone: 'dim' },
          { text: `${mark}${oneLine(notice.message)}`, tone: notice.level === 'warn' ? 'warn' : undefined },
        ],
        width,
      ),
    );
  }
  if (state.ended) {
    rows.push(
      clipRow(
        [
          { text: `session ended: ${oneLine(state.ended.reason)}`, tone: 'strong' },
          { text: ' · q to close', tone: 'dim' },
        ],
        width,
      ),
    );
  }

  const keys: Segment[] = [
    { text: 'q', tone: 'strong' },
    { text: ' quit · ' },
    { text: 'f', tone: 'strong' },
    { text: ` filter: ${state.filter} · ` },
    { text: '↑↓ PgUp PgDn g G', tone: 'strong' },
    { text: ' scroll' },
  ];
  if (state.scroll > 0) keys.push({ text: ' · scrolled, G follows', tone: 'warn' });
  rows.push(clipRow(keys, width));
  return rows;
}

/** The footer rows. */
export function Footer({ rows, color }: { rows: readonly Row[]; color: boolean }) {
  return <Rows rows={rows} color={color} />;
}
