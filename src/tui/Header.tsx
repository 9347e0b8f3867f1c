/** The top two rows: who, where, through which proxy, and how long the grant has left. */
import { countdown, expiryWarning, oneLine } from './format.js';
import { Rows, spread, type Row, type Segment } from './Line.js';
import type { TuiState } from './state.js';

/** The header's rows (always two, so the layout below does not move). */
export function headerRows(state: TuiState, width: number): Row[] {
  const session = state.session;
  if (!session) {
    return [
      [
        { text: 'jit', tone: 'strong' },
        { text: ' · waiting for the session…', tone: 'dim' },
      ],
      [],
    ];
  }
  const who = oneLine(session.identity.email ?? session.identity.sub);
  const left: Segment[] = [{ text: 'jit', tone: 'strong' }, { text: ` ${who}` }];
  if (!session.identity.authenticated) left.push({ text: ' (unauthenticated)', tone: 'warn' });
  left.push({ text: ` · ${oneLine(session.target)} · role ${oneLine(session.role)}` });
  const statements = state.counts.statements;
  return [
    spread(left, grantCountdown(state), width),
    spread(
      [
        {
          text: `proxy ${oneLine(session.proxy.host)}:${session.proxy.port} · session ${oneLine(session.session)}`,
        },
      ],
      [{ text: `${statements} statement${statements === 1 ? '' : 's'}` }],
      width,
    ),
  ];
}

/** `expires in mm:ss`; a warning (`!`, yellow) near the end; `expired` after. */
export function grantCountdown(state: TuiState): Row {
  const session = state.session;
  if (!session) return [];
  const remaining = session.expiresAt - state.now;
  if (remaining <= 0) return [{ text: '! grant expired', tone: 'bad' }];
  const total = session.expiresAt - (state.grantSince ?? session.at);
  const text = `expires in ${countdown(remaining)}`;
  return expiryWarning(remaining, total) ? [{ text: `! ${text}`, tone: 'warn' }] : [{ text }];
}

/** The header rows. */
export function Header({ rows, color }: { rows: readonly Row[]; color: boolean }) {
  return <Rows rows={rows} color={color} />;
}
