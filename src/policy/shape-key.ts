/** Placeholder for a numeric literal in a shape key (`\x01` cannot occur in an accepted text). */
export const NUMBER_PLACEHOLDER = '\x01n';
/** Placeholder for a simple `'…'` string literal in a shape key. */
export const STRING_PLACEHOLDER = '\x01s';

const SPACE = 32;
const TAB = 9;
const LF = 10;
const CR = 13;
const QUOTE = 39; // '
const DQUOTE = 34; // "
const DOLLAR = 36;
const DOT = 46;
const MINUS = 45;
const SLASH = 47;
const STAR = 42;
const AMP = 38;
const BACKSLASH = 92;

function isSpace(c: number): boolean {
  return c === SPACE || (c >= TAB && c <= CR);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** PostgreSQL's ident_start: letters, `_`, and every non-ASCII character. */
function isIdentStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c >= 128;
}

/** PostgreSQL's ident_cont: ident_start, digits and `$`. */
function isIdentCont(c: number): boolean {
  return isIdentStart(c) || isDigit(c) || c === DOLLAR;
}

/**
 * A cache key for `sql` with every numeric literal replaced by `\x01n` and every simple
 * `'…'` string by `\x01s`; whitespace runs collapse to one space (one newline when they
 * contain a line break, which matters to PostgreSQL between two strings). Identifiers,
 * keywords, operators, `"quoted"` identifiers and `$n` parameters stay verbatim, so two texts
 * with the same key differ only in literal values at the same positions (and in spacing).
 *
 * Deliberately conservative: returns undefined — "parse it properly" — for anything this small
 * scanner is not certain to read as PostgreSQL does: backslashes, prefixed strings (E'', U&'',
 * B'', X'', N''), dollar quoting, comments, numbers glued to letters or dots or `_` (0x1F,
 * 1_000, 1e), unterminated strings or identifiers, NUL and other control characters.
 */
export function shapeKey(sql: string): string | undefined {
  // The guard's decision cache and the masking analysis ask for the same text in turn.
  if (sql === lastShape.sql) return lastShape.key;
  const key = keyOf(sql, false);
  lastShape.sql = sql;
  lastShape.key = key;
  return key;
}

/** The last text `shapeKey` was asked for, and its key. */
const lastShape: { sql: string | undefined; key: string | undefined } = { sql: undefined, key: undefined };

/**
 * Like `shapeKey`, but whitespace is kept exactly: texts with the same spaced key differ only
 * in literal values, so their normalized audit texts are identical.
 */
export function spacedShapeKey(sql: string): string | undefined {
  return keyOf(sql, true);
}

function keyOf(sql: string, keepSpacing: boolean): string | undefined {
  const n = sql.length;
  let out = '';
  let verbatim = 0; // start of the pending verbatim run
  let i = 0;
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (isSpace(c)) {
      let j = i;
      let newline = false;
      while (j < n && isSpace(sql.charCodeAt(j))) {
        const w = sql.charCodeAt(j);
        if (w === LF || w === CR) newline = true;
        j++;
      }
      if (!keepSpacing) {
        out += sql.slice(verbatim, i) + (newline ? '\n' : ' ');
        verbatim = j;
      }
      i = j;
      continue;
    }
    if (c < SPACE || c === 127 || c === BACKSLASH) return undefined;
    if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n) {
        const d = sql.charCodeAt(j);
        if (d === DOLLAR && !isDigit(sql.charCodeAt(j + 1))) return undefined;
        if (!isIdentCont(d)) break;
        j++;
      }
      i = j;
      continue;
    }
    if (isDigit(c) || (c === DOT && isDigit(sql.charCodeAt(i + 1)))) {
      const end = numberEnd(sql, i);
      if (end === undefined) return undefined;
      out += sql.slice(verbatim, i) + NUMBER_PLACEHOLDER;
      i = verbatim = end;
      continue;
    }
    switch (c) {
      case QUOTE: {
        if (gluedToPrevious(sql, i)) return undefined;
        const end = quotedEnd(sql, i, QUOTE);
        if (end === undefined) return undefined;
        // 'a'<newline>'b' is one literal to PostgreSQL: leave that to the parser.
        let j = end;
        let newline = false;
        while (j < n && isSpace(sql.charCodeAt(j))) {
          const w = sql.charCodeAt(j);
          if (w === LF || w === CR) newline = true;
          j++;
        }
        if (newline && sql.charCodeAt(j) === QUOTE) return undefined;
        out += sql.slice(verbatim, i) + STRING_PLACEHOLDER;
        i = verbatim = end;
        continue;
      }
      case DQUOTE: {
        if (gluedToPrevious(sql, i)) return undefined;
        const end = quotedEnd(sql, i, DQUOTE);
        if (end === undefined) return undefined;
        i = end;
        continue;
      }
      case DOLLAR: {
        let j = i + 1;
        if (!isDigit(sql.charCodeAt(j))) return undefined;
        while (isDigit(sql.charCodeAt(j))) j++;
        if (j < n && (isIdentCont(sql.charCodeAt(j)) || sql.charCodeAt(j) === DOT)) return undefined;
        i = j;
        continue;
      }
      case MINUS:
        if (sql.charCodeAt(i + 1) === MINUS) return undefined;
        break;
      case SLASH:
        if (sql.charCodeAt(i + 1) === STAR) return undefined;
        break;
    }
    i++;
  }
  return out + sql.slice(verbatim);
}

/** A quote right after an identifier character or `&` is a prefixed literal (E'…', U&"…"). */
function gluedToPrevious(sql: string, at: number): boolean {
  if (at === 0) return false;
  const p = sql.charCodeAt(at - 1);
  return isIdentCont(p) || p === AMP;
}

/** End (exclusive) of a `'…'` or `"…"` starting at `start`, doubled quotes escaping; undefined when unsafe. */
function quotedEnd(sql: string, start: number, quote: number): number | undefined {
  const n = sql.length;
  let j = start + 1;
  while (j < n) {
    const c = sql.charCodeAt(j);
    if (c === BACKSLASH || c === 0) return undefined;
    if (c === quote) {
      if (sql.charCodeAt(j + 1) === quote) {
        j += 2;
        continue;
      }
      return j + 1;
    }
    j++;
  }
  return undefined;
}

/** End of `\d+(\.\d*)?([eE][+-]?\d+)?` or `\.\d+([eE][+-]?\d+)?`; undefined when glued to more. */
function numberEnd(sql: string, start: number): number | undefined {
  const n = sql.length;
  let j = start;
  while (isDigit(sql.charCodeAt(j))) j++;
  if (sql.charCodeAt(j) === DOT) {
    j++;
    while (isDigit(sql.charCodeAt(j))) j++;
  }
  const e = sql.charCodeAt(j);
  if (e === 101 || e === 69) {
    let k = j + 1;
    const sign = sql.charCodeAt(k);
    if (sign === 43 || sign === MINUS) k++;
    if (!isDigit(sql.charCodeAt(k))) return undefined;
    while (isDigit(sql.charCodeAt(k))) k++;
    j = k;
  }
  if (j < n) {
    const next = sql.charCodeAt(j);
    if (isIdentCont(next) || next === DOT) return undefined;
  }
  return j;
}
