/**
 * One terminal row of styled text. Every part of the live view is built as lines of segments so
 * the layout can count rows exactly; colour is only ever a second signal (the words carry it).
 */
import { Box, Text, type TextProps } from 'ink';

/** What a piece of text means, mapped to a colour (or nothing) at render time. */
export type Tone = 'ok' | 'bad' | 'warn' | 'info' | 'error' | 'dim' | 'strong';

/** A run of text with one tone. */
export interface Segment {
  text: string;
  tone?: Tone;
}

/** One row: segments laid end to end. */
export type Row = readonly Segment[];

const TONE_STYLE: Record<Tone, TextProps> = {
  ok: { color: 'green' },
  bad: { color: 'red' },
  warn: { color: 'yellow' },
  info: { color: 'cyan' },
  error: { color: 'magenta' },
  dim: { dimColor: true },
  strong: { bold: true },
};

/** The length of a row in characters (code points). */
export function rowLength(row: Row): number {
  let n = 0;
  for (const segment of row) n += Array.from(segment.text).length;
  return n;
}

/** Cuts a row to `width` characters, ending with `…` when something was cut. */
export function clipRow(row: Row, width: number): Row {
  if (rowLength(row) <= width) return row;
  const out: Segment[] = [];
  let room = Math.max(0, width - 1);
  for (const segment of row) {
    const chars = Array.from(segment.text);
    if (chars.length <= room) {
      out.push(segment);
      room -= chars.length;
      continue;
    }
    out.push({ ...segment, text: chars.slice(0, room).join('') + '…' });
    return out;
  }
  return out;
}

/** `left` and `right` on one row of `width`, the left side cut to make room for the right. */
export function spread(left: Row, right: Row, width: number): Row {
  const rightLength = rowLength(right);
  if (rightLength === 0) return clipRow(left, width);
  const clipped = clipRow(left, Math.max(0, width - rightLength - 1));
  const gap = Math.max(1, width - rowLength(clipped) - rightLength);
  return [...clipped, { text: ' '.repeat(gap) }, ...right];
}

/** Renders one row, truncated by Ink as a last resort (wide characters), styled only when `color`. */
export function Line({ row, color }: { row: Row; color: boolean }) {
  if (row.length === 0 || rowLength(row) === 0) return <Text> </Text>;
  return (
    <Text wrap="truncate-end">
      {row.map((segment, i) => (
        <Text key={i} {...(color && segment.tone ? TONE_STYLE[segment.tone] : {})}>
          {segment.text}
        </Text>
      ))}
    </Text>
  );
}

/** Rows stacked top to bottom. */
export function Rows({ rows, color }: { rows: readonly Row[]; color: boolean }) {
  return (
    <Box flexDirection="column">
      {rows.map((row, i) => (
        <Line key={i} row={row} color={color} />
      ))}
    </Box>
  );
}
