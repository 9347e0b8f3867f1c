/**
 * How `jit approve` shows the broker's approval queue: a table row per item, the full details of one
 * item, and the line that says what was decided. Every field can come from another person or their
 * agent (SQL, reasons, even emails), so all of it goes through `oneLine`/`printable` first.
 */
import type { ApprovalDecision, ApprovalItem } from '../broker/api.js';
import { oneLine, truncate, wrapStatement } from '../tui/format.js';
import { formatDuration } from '../util/duration.js';

/** Characters of SQL shown on one line (queue table, decision lines). */
const SQL_WIDTH = 60;

/** The columns of `jit approve --list`. */
export const QUEUE_HEADER = ['ID', 'KIND', 'REQUESTER', 'TARGET', 'AGE', 'WHAT', 'REASON'] as const;

/** Who asked: their email, else their subject. */
export function requesterName(item: ApprovalItem): string {
  return oneLine(item.requester.email ?? item.requester.sub);
}

/** How long the item has waited (`45s`, `2m 5s`, `1h 3m`); `-` for an unreadable time. */
export function itemAge(item: ApprovalItem, now: number): string {
  const at = Date.parse(item.created_at);
  return Number.isNaN(at) ? '-' : formatDuration(now - at);
}

/** What is asked: `app_rw, 15m` for a grant; the SQL on one line (cut) and its rule for a statement. */
export function itemWhat(item: ApprovalItem): string {
  if (item.kind === 'grant') return [roleList(item), ttl(item)].filter((s) => s !== undefined).join(', ');
  const sql = truncate(oneLine(item.sql ?? ''), SQL_WIDTH);
  return item.rule ? `${sql} [rule ${oneLine(item.rule)}]` : sql;
}

/** The queue as table lines (header first); the last column (REASON) is not cut. */
export function queueTable(items: readonly ApprovalItem[], now: number): string[] {
  const rows = items.map((item) => [
    oneLine(item.id),
    item.kind,
    requesterName(item),
    oneLine(item.target),
    itemAge(item, now),
    itemWhat(item),
    oneLine(item.reason),
  ]);
  const all = [[...QUEUE_HEADER], ...rows];
  const widths = QUEUE_HEADER.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  const last = QUEUE_HEADER.length - 1;
  return all.map((row) =>
    row
      .map((cell, i) => (i === last ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

/**
 * Everything about one item, as lines for a person about to decide it: who, where, why, how long
 * it has waited, and for a statement the whole SQL (its line breaks kept, long lines broken at
 * `width`).
 */
export function itemDetails(item: ApprovalItem, now: number, width: number): string[] {
  const id = oneLine(item.id);
  const field = (name: string, value: string) => `  ${name.padEnd(10)} ${value}`;
  const who = requesterName(item);
  const sub = oneLine(item.requester.sub);
  const lines = [
    item.kind === 'grant' ? `grant request ${id}` : `held statement ${id}`,
    field('requester', item.requester.email && sub !== who ? `${who} (sub ${sub})` : who),
  ];
  if (item.requester.groups.length > 0) {
    lines.push(field('groups', item.requester.groups.map(oneLine).join(', ')));
  }
  lines.push(field('target', oneLine(item.target)));
  if (item.kind === 'grant') {
    lines.push(field('roles', roleList(item) ?? '-'), field('ttl', ttl(item) ?? '-'));
  } else {
    if (item.rule) lines.push(field('rule', oneLine(item.rule)));
    if (item.grant_id) lines.push(field('grant', oneLine(item.grant_id)));
  }
  lines.push(field('reason', oneLine(item.reason) || '-'), field('waiting', itemAge(item, now)));
  if (item.kind === 'statement') {
    const { lines: sql } = wrapStatement(item.sql ?? '', Math.max(20, width - 4), Number.MAX_SAFE_INTEGER);
    lines.push('  sql:', ...sql.map((line) => `    ${line}`));
  }
  return lines;
}

/** The item in a few words: `grant for alice@example.com: app_rw on prod, 15m`. */
export function describeItem(item: ApprovalItem): string {
  const who = requesterName(item);
  const target = oneLine(item.target);
  if (item.kind === 'grant') {
    const roles = roleList(item);
    const time = ttl(item);
    return `grant for ${who}: ${roles ?? 'every role the rule allows'} on ${target}${time ? `, ${time}` : ''}`;
  }
  return `statement for ${who} on ${target}: ${truncate(oneLine(item.sql ?? ''), SQL_WIDTH)}`;
}

/** One line saying what was decided: `approved g_123 (grant for alice@example.com: app_rw on prod, 15m)`. */
export function decisionLine(decision: ApprovalDecision, item: ApprovalItem): string {
  const id = oneLine(item.id);
  if (decision.decision === 'deny') {
    const reason = decision.reason ? `: ${oneLine(decision.reason)}` : '';
    return `denied ${id} (${describeItem(item)})${reason}`;
  }
  const shape =
    decision.scope === 'fingerprint'
      ? '; statements of this shape are approved for the rest of that session'
      : '';
  return `approved ${id} (${describeItem(item)})${shape}`;
}

function roleList(item: ApprovalItem): string | undefined {
  return item.roles && item.roles.length > 0 ? item.roles.map(oneLine).join(', ') : undefined;
}

function ttl(item: ApprovalItem): string | undefined {
  return item.ttl_seconds === undefined ? undefined : formatDuration(item.ttl_seconds * 1000);
}
