/**
 * The approval prompt for a held statement: the statement itself, why it was held, how long it has
 * waited and how long until it is denied, and the keys that answer it (only for a paired view).
 */
import { countdown, oneLine, wrapStatement } from './format.js';
import { Rows, clipRow, type Row, type Segment } from './Line.js';
import { selectedHold, type TuiState } from './state.js';

/** Rows the prompt needs besides the statement: title, reason, timing, keys. */
export const PROMPT_FRAME_ROWS = 4;
/** Statement rows the prompt shows unless expanded with `v`. */
export const PROMPT_SQL_ROWS = 4;
/** From how long before the deadline the time left is shown as a warning. */
const DEADLINE_WARNING_MS = 15_000;

/** The prompt's rows; none when nothing is pending. `sqlRows` caps the statement. */
export function promptRows(state: TuiState, width: number, sqlRows: number): Row[] {
  const hold = selectedHold(state);
  if (!hold) return [];
  const { held } = hold;
  const index = state.pending.indexOf(hold) + 1;
  const of = state.pending.length > 1 ? ` ${index} of ${state.pending.length}` : '';
  const rule = held.rule ? ` · rule ${oneLine(held.rule)}` : '';
  const { lines, hidden } = wrapStatement(held.sql, width - 2, sqlRows);
  const unseen = hidden > 0 ? ` · ${hidden} more line${hidden === 1 ? '' : 's'}` : '';
  const title = `── held for approval${of} · conn #${held.connection}${rule}${unseen} `;
  const titleRow: Row = clipRow(
    [
      { text: title, tone: 'warn' },
      { text: '─'.repeat(Math.max(0, width - Array.from(title).length)), tone: 'dim' },
    ],
    width,
  );

  const sql: Row[] = lines.map((line) => [{ text: `  ${line}`, tone: 'strong' }]);

  const waited = Math.max(0, state.now - held.at);
  const left = held.deadline - state.now;
  const timing: Row =
    left <= 0
      ? [{ text: `waited ${countdown(waited)} · ` }, { text: '! denial due now', tone: 'bad' }]
      : [
          { text: `waited ${countdown(waited)} · ` },
          left <= DEADLINE_WARNING_MS
            ? { text: `! denied in ${countdown(left)} if nobody answers`, tone: 'warn' }
            : { text: `denied in ${countdown(left)} if nobody answers` },
        ];

  return [
    titleRow,
    ...sql,
    clipRow([{ text: 'reason: ', tone: 'dim' }, { text: oneLine(held.reason) }], width),
    clipRow(timing, width),
    clipRow(answerRow(state, hold.sent, hidden, width), width),
  ];
}

function answerRow(state: TuiState, sent: boolean, hidden: number, width: number): Row {
  const more: Segment[] = [];
  if (state.pending.length > 1) more.push(...key('n/p', 'switch'));
  if (state.expanded) more.push(...key('v', 'less'));
  else if (hidden > 0) more.push(...key('v', 'more'));
  if (!state.canDecide) {
    return [{ text: 'approvals need a paired `jit watch`; this view cannot answer', tone: 'warn' }, ...more];
  }
  if (sent) return [{ text: 'answer sent; waiting for the session to confirm', tone: 'dim' }, ...more];
  if (state.input.mode === 'reason') {
    const prefix = 'deny, reason: ';
    const suffix = '_  Enter send · Esc cancel';
    const room = Math.max(1, width - prefix.length - suffix.length);
    const text = Array.from(state.input.text).slice(-room).join('');
    return [
      { text: prefix, tone: 'bad' },
      { text },
      { text: '_', tone: 'strong' },
      { text: '  Enter send · Esc cancel', tone: 'dim' },
    ];
  }
  const [first, ...rest] = [
    ...key('a', 'approve once'),
    ...key('A', 'approve this fingerprint'),
    ...key('d', 'deny'),
    ...more,
  ];
  return first ? [{ ...first, text: first.text.replace(/^ · /, '') }, ...rest] : [];
}

/** ` · k what` with the key in bold. */
function key(k: string, what: string): Segment[] {
  return [{ text: ' · ' }, { text: k, tone: 'strong' }, { text: ` ${what}` }];
}

/** The prompt rows. */
export function HeldPrompt({ rows, color }: { rows: readonly Row[]; color: boolean }) {
  return <Rows rows={rows} color={color} />;
}
