/**
 * Text helpers for the live view: clock and countdown formats, fitting text to a width, and making
 * untrusted text (SQL from the agent, reasons, notices) safe to print on a person's terminal.
 */

/** `HH:MM:SS` in local time. */
export function clockTime(at: number): string {
  const d = new Date(at);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/** A duration as `mm:ss`, or `h:mm:ss` from one hour; whole seconds rounded up, never negative. */
export function countdown(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mmss = `${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
  return h > 0 ? `${h}:${mmss}` : mmss;
}

/** When the grant countdown turns into a warning: the last 2 minutes or the last 10 %, whichever is longer. */
export function expiryWarning(remainingMs: number, totalMs: number): boolean {
  return remainingMs <= Math.max(120_000, totalMs * 0.1);
}

/**
 * Text that cannot drive the terminal or hide what it says: C0/C1 control characters, DEL, and
 * invisible or direction-changing characters (bidi overrides, zero-width) become visible escapes
 * such as `\x1b` or `\u202e`. Agent-written SQL reaches the approver's screen, so an escape
 * sequence or a bidi override must not be able to rewrite or reorder the prompt.
 */
export function printable(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (isInvisible(code)) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return out;
}

function isInvisible(code: number): boolean {
  return (
    code === 0x061c ||
    (code >= 0x200b && code <= 0x200f) ||
    (code >= 0x2028 && code <= 0x202e) ||
    (code >= 0x2060 && code <= 0x2069) ||
    code === 0xfeff
  );
}

/** One printable line: runs of whitespace (line breaks included) become one space. */
export function oneLine(text: string): string {
  return printable(text.replace(/\s+/g, ' ').trim());
}

/** Cuts text to `width` characters, ending with `…` when something was cut. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return '';
  const chars = Array.from(text);
  if (chars.length <= width) return text;
  return chars.slice(0, width - 1).join('') + '…';
}

/** Truncates, then pads on the right (or the left with `align: 'right'`) to exactly `width` characters. */
export function fit(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  const cut = truncate(text, width);
  const pad = ' '.repeat(Math.max(0, width - Array.from(cut).length));
  return align === 'left' ? cut + pad : pad + cut;
}

/**
 * A statement as printable lines of at most `width` characters: its own line breaks kept, tabs as
 * two spaces, long lines broken hard (nothing is reflowed or hidden). At most `maxLines` lines; when
 * more were needed the last shown line ends with `…`. Returns the lines and how many were left out.
 */
export function wrapStatement(
  sql: string,
  width: number,
  maxLines: number,
): { lines: string[]; hidden: number } {
  const all: string[] = [];
  const w = Math.max(1, width);
  const source = sql.replace(/\r\n?/g, '\n').replace(/\t/g, '  ').replace(/\s+$/, '');
  for (const raw of source.split('\n')) {
    const chars = Array.from(printable(raw));
    if (chars.length === 0) all.push('');
    for (let i = 0; i < chars.length; i += w) all.push(chars.slice(i, i + w).join(''));
  }
  const cap = Math.max(1, maxLines);
  if (all.length <= cap) return { lines: all, hidden: 0 };
  const lines = all.slice(0, cap);
  const last = Array.from(lines[cap - 1] ?? '');
  lines[cap - 1] = (last.length >= w ? last.slice(0, w - 1) : last).join('') + '…';
  return { lines, hidden: all.length - cap };
}

/** A row count in at most five characters (`12345`, `123k`, `1.2M`). */
export function compactCount(n: number): string {
  if (n < 100_000) return String(n);
  if (n < 1_000_000) return `${Math.round(n / 1000)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

/** A duration in ms in at most five characters (`12`, `4567`, `123s`). */
export function compactMs(ms: number): string {
  const rounded = Math.round(ms);
  if (rounded < 100_000) return String(rounded);
  return `${Math.round(ms / 1000)}s`;
}
