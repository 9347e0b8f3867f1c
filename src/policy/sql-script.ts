import { scanSync, type ScanToken } from 'libpg-query';

/** One statement of a SQL script, with the (1-based) line it starts on. */
export interface ScriptStatement {
  sql: string;
  line: number;
}

/**
 * Splits a psql-style script into statements with PostgreSQL's own scanner, so `;` inside
 * strings, dollar quotes, comments, parentheses (rule actions) and `BEGIN ATOMIC … END` bodies
 * does not split. psql meta-command lines (`\set`, `\gset`, …) and the data lines of
 * `COPY … FROM stdin` (up to `\.`) are skipped. A region the scanner rejects (an unterminated
 * literal) is cut at line-ending semicolons instead. Requires `initParser()`.
 */
export function splitScript(text: string): ScriptStatement[] {
  const lines = text.split('\n');
  let inCopyData = false;
  const kept = lines.map((line) => {
    if (inCopyData) {
      if (line.startsWith('\\.')) inCopyData = false;
      return '';
    }
    if (/^\s*\\/.test(line)) return '';
    if (/^\s*copy\b/i.test(line) && /\bfrom\s+stdin\b/i.test(line) && /;\s*$/.test(line)) inCopyData = true;
    return line;
  });
  const cleaned = kept.join('\n');
  const statements: ScriptStatement[] = [];
  const whole = splitWithScanner(cleaned);
  if (whole) {
    for (const span of whole) push(statements, cleaned, span);
    return statements;
  }
  // Fall back to chunks ending at line-ending semicolons, each split by the scanner if it can.
  let chunk: string[] = [];
  let offset = 0;
  let chunkStart = 0;
  const flush = (): void => {
    const body = chunk.join('\n');
    const parts = splitWithScanner(body) ?? [{ start: 0, end: body.length }];
    for (const part of parts)
      push(statements, cleaned, { start: chunkStart + part.start, end: chunkStart + part.end });
    chunk = [];
  };
  kept.forEach((line, i) => {
    if (chunk.length === 0) chunkStart = offset;
    chunk.push(line);
    offset += line.length + 1;
    if (/;\s*$/.test(line) || i === kept.length - 1) flush();
  });
  return statements;
}

function push(out: ScriptStatement[], text: string, span: { start: number; end: number }): void {
  const raw = text.slice(span.start, span.end);
  const sql = raw.trim();
  if (sql === '' || sql === ';') return;
  const lead = raw.length - raw.trimStart().length;
  const line = text.slice(0, span.start + lead).split('\n').length;
  out.push({ sql, line });
}

/** Statement spans (string offsets) split at top-level semicolons, or undefined when the scanner fails. */
function splitWithScanner(text: string): { start: number; end: number }[] | undefined {
  let tokens: ScanToken[];
  try {
    tokens = scanSync(text).tokens;
  } catch {
    return undefined;
  }
  const bytes = Buffer.from(text, 'utf8');
  const ascii = bytes.length === text.length;
  // Byte offsets only grow, so convert them to string offsets incrementally.
  let lastByte = 0;
  let lastChar = 0;
  const toChar = (byte: number): number => {
    if (ascii) return byte;
    lastChar += bytes.subarray(lastByte, byte).toString('utf8').length;
    lastByte = byte;
    return lastChar;
  };
  const spans: { start: number; end: number }[] = [];
  let start = 0;
  let depth = 0;
  let atomic = 0;
  tokens.forEach((token, i) => {
    const word = token.text.toUpperCase();
    if (word === '(') depth++;
    else if (word === ')') depth = Math.max(0, depth - 1);
    else if (word === 'BEGIN' && tokens[i + 1]?.text.toUpperCase() === 'ATOMIC') atomic++;
    else if (atomic > 0 && word === 'CASE') atomic++;
    else if (atomic > 0 && word === 'END') atomic--;
    else if (word === ';' && depth === 0 && atomic === 0) {
      spans.push({ start: toChar(start), end: toChar(token.end) });
      start = token.end;
    }
  });
  spans.push({ start: toChar(start), end: text.length });
  return spans;
}
