import { createReadStream } from 'node:fs';
import { errno, errorText } from './fs-errors.js';
import { AuditError, checkRecordHash, GENESIS_HASH, parseRecordLine, type AuditRecord } from './record.js';

/** One line of an audit file: the record, or why it is not one. `text` is the line as read. */
export interface ReadLine {
  line: number;
  record?: AuditRecord;
  error?: string;
  text?: string;
}

/**
 * Reads an audit file line by line (split on `\n` only, each line decoded as strict UTF-8) and
 * parses each into a record. Yields an error instead of a record for a line that is empty, not
 * UTF-8, not a JSON object, missing a field, or — at the end of the file — has no newline (a
 * write cut short). Does not check hashes; see `verifyFile`. A file that cannot be opened →
 * AuditError('not_found' | 'unreadable').
 */
export async function* readRecords(path: string): AsyncIterable<ReadLine> {
  for await (const { line, text, complete } of readLines(path)) {
    if (text === undefined) {
      yield { line, error: 'not valid UTF-8' };
      continue;
    }
    if (!complete) {
      yield {
        line,
        text,
        error: 'incomplete line (no trailing newline: a write was cut short or the file truncated)',
      };
      continue;
    }
    const parsed = parseRecordLine(text);
    yield parsed.record ? { line, text, record: parsed.record } : { line, text, error: parsed.error };
  }
}

/** The result of verifying one file. */
export type VerifyResult =
  { ok: true; records: number } | { ok: false; line: number; reason: string; records: number };

/**
 * Verifies a file: every line parses; `seq` is 1, 2, 3, …; `prev` is the previous line's hash
 * (64 zeros on line 1); `hash` recomputes; the line is in canonical form. Returns the first bad
 * line and why (`records` counts the good ones before it), or ok with the count.
 *
 * What it cannot see: lines removed from the end at a record boundary, or a tail rewritten
 * with recomputed hashes — the chain is self-consistent then. Only an external anchor (the
 * last hash kept elsewhere, e.g. by the broker) catches that.
 */
export async function verifyFile(path: string): Promise<VerifyResult> {
  let records = 0;
  let prev = GENESIS_HASH;
  for await (const { line, record, error, text } of readRecords(path)) {
    const bad = (reason: string): VerifyResult => ({ ok: false, line, reason, records });
    if (!record || text === undefined) return bad(error ?? 'unreadable');
    if (record.seq !== records + 1) {
      return bad(
        `seq is ${record.seq}, expected ${records + 1} (a record was removed, reordered or inserted)`,
      );
    }
    if (record.prev !== prev) {
      return bad(
        line === 1
          ? 'prev of the first record is not 64 zeros (the start of the file was removed)'
          : `prev does not match the hash of line ${line - 1} (a record was altered, removed or inserted)`,
      );
    }
    const problem = checkRecordHash(record, text);
    if (problem) return bad(problem);
    prev = record.hash;
    records++;
  }
  return { ok: true, records };
}

/** One raw line of a file, as `readLines` yields it. */
export interface RawLine {
  /** 1-based, counted from `firstLine`. */
  line: number;
  /** undefined when the bytes are not UTF-8. */
  text: string | undefined;
  /** false for a last line without its newline. */
  complete: boolean;
  /** Byte offset just after this line (and its newline). */
  end: number;
}

/**
 * Splits a file (or the bytes from `start` up to, not including, `end`) into lines on `\n`
 * bytes only — not `\r`: a record never contains a raw CR. Streams, so memory stays bounded.
 */
export async function* readLines(
  path: string,
  range: { start?: number; end?: number; firstLine?: number } = {},
): AsyncGenerator<RawLine> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const decode = (bytes: Buffer): string | undefined => {
    try {
      return decoder.decode(bytes);
    } catch {
      return undefined;
    }
  };
  const start = range.start ?? 0;
  if (range.end !== undefined && range.end <= start) return;
  const stream = createReadStream(path, {
    highWaterMark: 256 * 1024,
    start,
    ...(range.end !== undefined && { end: range.end - 1 }),
  });
  let carry: Buffer[] = [];
  let line = (range.firstLine ?? 1) - 1;
  let position = start;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let from = 0;
      for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, from)) {
        const piece = chunk.subarray(from, nl);
        const bytes = carry.length === 0 ? piece : Buffer.concat([...carry, piece]);
        carry = [];
        yield { line: ++line, text: decode(bytes), complete: true, end: position + nl + 1 };
        from = nl + 1;
      }
      if (from < chunk.length) carry.push(chunk.subarray(from));
      position += chunk.length;
    }
  } catch (error) {
    throw readError(path, error);
  }
  if (carry.length > 0)
    yield { line: line + 1, text: decode(Buffer.concat(carry)), complete: false, end: position };
}

function readError(path: string, error: unknown): AuditError {
  const code = errno(error);
  if (code === 'ENOENT') return new AuditError('not_found', `no audit log at ${path}`);
  if (code === 'EISDIR') return new AuditError('unreadable', `${path} is a directory, not an audit file`);
  return new AuditError('unreadable', `cannot read the audit log ${path}: ${errorText(error)}`, {
    cause: error,
  });
}
