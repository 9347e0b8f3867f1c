/**
 * Masks columns of `COPY … TO STDOUT` data while it streams through the proxy, in the text, csv
 * and binary formats (https://www.postgresql.org/docs/current/sql-copy.html "File Formats").
 * Pure: CopyData payloads in, bytes out; no I/O.
 *
 * Text and csv data are read byte by byte, so the client encoding must be UTF-8 (or another
 * encoding whose multibyte characters never contain ASCII bytes; SJIS, BIG5, GBK and friends do).
 */
import { JitError } from '../../util/errors.js';
import type { CopyOptions } from './types.js';

/** Masks one column's value: gets its bytes (text/csv: de-escaped text; binary: the field's bytes; valid only during the call) and returns the replacement (null = SQL NULL). */
export type ColumnMask = (value: Buffer) => Buffer | null;

/** Raised when the stream is not valid COPY data of the declared format (the proxy then ends the connection: never forward what it cannot mask). */
export class CopyFormatError extends JitError {
  constructor(message: string, code: 'COPY_FORMAT' | 'COPY_OPTIONS' = 'COPY_FORMAT') {
    super(code, message);
  }
}

/** The longest field the masker holds while a row is incomplete; a longer one is refused (memory stays bounded). */
export const MAX_COPY_FIELD_BYTES = 64 * 1024 * 1024;

/** PostgreSQL builds a COPY row in one buffer of at most 1 GB (MaxAllocSize): a longer row is not COPY data. */
const MAX_ROW_BYTES = 0x3fffffff;

/** A carry or scratch buffer larger than this is not kept for reuse once its row is done. */
const KEEP_CARRY_BYTES = 1024 * 1024;

/** Where the stream is: before the header (csv/text HEADER, binary file header), among rows, after the binary trailer. */
const Step = { Header: 0, Rows: 1, Ended: 2 } as const;
type Step = (typeof Step)[keyof typeof Step];

/** Field flags: text field contains backslash escapes; csv field contains quotes; binary field is NULL. */
const ESCAPED = 1;
const QUOTED = 1;
const IS_NULL = 2;

const LF = 0x0a;
const CR = 0x0d;
const BACKSLASH = 0x5c;
const LOWER_X = 0x78;
const EMPTY = Buffer.alloc(0);
/** 11-byte binary signature, then Int32 flags and Int32 header-extension length. */
const BINARY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const BINARY_HEADER_BYTES = 19;
/** The csv end-of-data marker, quoted when it is a value so no reader mistakes it for the end. */
const CSV_END_MARKER = Buffer.from('\\.', 'latin1');

/** Streaming rewriter for COPY TO STDOUT data: masks the chosen columns of every row, holding at most one incomplete row. */
export class CopyOutMasker {
  private readonly format: CopyOptions['format'];
  private readonly columns: readonly (ColumnMask | undefined)[];
  private readonly maskAll: ColumnMask;
  private readonly delim: number = 0;
  private readonly quote: number = 0;
  private readonly escape: number = 0;
  private readonly nullBytes: Buffer = EMPTY;
  /** text: the letter that follows `\` to escape a byte (0: written as is); csv: 1 for bytes that force quoting. */
  private readonly special = new Uint8Array(256);
  /** 1 for the bytes the row scanner must look at (delimiter, line breaks, backslash or quote and escape); the rest are skipped. */
  private readonly stops = new Uint8Array(256);
  /** text: an `\x` escape may swallow a delimiter (`A`–`F`) as a hex digit. */
  private readonly delimIsHex: boolean = false;

  private step: Step;
  /** Scan state of the current row; positions index the buffer being scanned (the payload or the carry). */
  private rowStart = 0;
  private pos = 0;
  private fieldStart = 0;
  private fieldFlag = 0;
  private inQuote = false;
  /** binary: fields of the current tuple still to read; -1 before its field count. */
  private fieldsLeft = -1;
  private trailer = false;
  private fieldCount = 0;
  private starts = new Int32Array(32);
  private ends = new Int32Array(32);
  private flags = new Uint8Array(32);

  /** The incomplete row carried over from earlier payloads (owned: payloads are copied in). */
  private carry: Buffer = EMPTY;
  private carryLength = 0;

  /** The output being built for the current push (fresh per returned Buffer, never reused) or null while untouched. */
  private out: Buffer | null = null;
  private outLength = 0;
  /** Input bytes of the current source before this index are already in `out`. */
  private copied = 0;
  /** Input bytes left in the current push: sizes the first output allocation. */
  private hint = 0;
  /** Reused for de-escaped values handed to masks. */
  private scratch = Buffer.allocUnsafe(256);

  /** `columns[i]`: the mask for column i, or undefined to pass it through. `maskAll`: used for every column when the column count is unknown or a row has more columns than `columns` (fail closed). */
  constructor(options: CopyOptions, columns: (ColumnMask | undefined)[], maskAll: ColumnMask) {
    this.format = options.format;
    this.columns = columns;
    this.maskAll = maskAll;
    this.step = options.format === 'binary' || options.header ? Step.Header : Step.Rows;
    if (options.format === 'binary') return;
    this.delim = singleByte(options.delimiter, 'delimiter');
    this.nullBytes = Buffer.from(options.null, 'utf8');
    if (options.format === 'text') {
      if ('\\.abcdefghijklmnopqrstuvwxyz0123456789\r\n'.includes(options.delimiter)) {
        throw new CopyFormatError(
          `COPY \`delimiter\` ${JSON.stringify(options.delimiter)} is not allowed in text format`,
          'COPY_OPTIONS',
        );
      }
      this.delimIsHex = this.delim >= 0x41 && this.delim <= 0x46;
      this.special[0x08] = 0x62; // b
      this.special[0x0c] = 0x66; // f
      this.special[LF] = 0x6e; // n
      this.special[CR] = 0x72; // r
      this.special[0x09] = 0x74; // t
      this.special[0x0b] = 0x76; // v
      this.special[BACKSLASH] = BACKSLASH;
      if (this.special[this.delim] === 0) this.special[this.delim] = this.delim;
      for (const byte of [this.delim, LF, CR, BACKSLASH]) this.stops[byte] = 1;
      return;
    }
    this.quote = singleByte(options.quote, 'quote');
    this.escape = singleByte(options.escape, 'escape');
    for (const [name, byte] of [
      ['delimiter', this.delim],
      ['quote', this.quote],
      ['escape', this.escape],
    ] as const) {
      if (byte === LF || byte === CR)
        throw new CopyFormatError(`COPY \`${name}\` cannot be a line break`, 'COPY_OPTIONS');
    }
    if (this.delim === this.quote) {
      throw new CopyFormatError('COPY `delimiter` and `quote` must differ', 'COPY_OPTIONS');
    }
    for (const byte of [this.delim, this.quote, this.escape, LF, CR])
      this.special[byte] = this.stops[byte] = 1;
  }

  /** One CopyData payload in → the bytes to send in its place (may be empty while a row is incomplete; returns the input Buffer itself when no column needed masking in it). */
  push(payload: Buffer): Buffer {
    if (this.carryLength === 0) return this.run(payload, 0);
    // Feed the carried row in growing slices, so a row that ends early costs little copying.
    const held = this.carryLength;
    let taken = 0;
    let rowEnd = -1;
    while (rowEnd < 0) {
      if (taken === payload.length) return EMPTY;
      const take = Math.min(payload.length - taken, Math.max(64 * 1024, this.carryLength));
      this.appendCarry(payload.subarray(taken, taken + take));
      taken += take;
      rowEnd = this.scanRow(this.carry, this.carryLength);
    }
    // The carried row's bytes live in a buffer we reuse: they always go out as a copy.
    this.hint = this.carryLength;
    this.copied = 0;
    this.reserve(rowEnd);
    this.emitRow(this.carry);
    this.copyInput(this.carry, rowEnd);
    this.carryLength = 0;
    if (this.carry.length > KEEP_CARRY_BYTES) this.carry = EMPTY;
    return this.run(payload, rowEnd - held);
  }

  /** At CopyDone: whatever is still held (must be empty for well-formed data; throws CopyFormatError otherwise). */
  end(): Buffer {
    if (this.carryLength > 0) throw new CopyFormatError('COPY data ended inside a row');
    if (this.format === 'binary' && this.step !== Step.Ended) {
      throw new CopyFormatError('binary COPY data ended without its trailer');
    }
    return EMPTY;
  }

  /** Rewrites the whole rows of `buf` from `from` on and keeps the incomplete tail. */
  private run(buf: Buffer, from: number): Buffer {
    const end = buf.length;
    this.copied = from;
    this.hint = end - from;
    let rowStart = from;
    while (rowStart < end) {
      this.startRow(rowStart);
      const rowEnd = this.scanRow(buf, end);
      if (rowEnd < 0) break;
      this.emitRow(buf);
      rowStart = rowEnd;
    }
    if (rowStart < end) this.keep(buf, rowStart, end);
    if (this.out === null) return from === 0 && rowStart === end ? buf : buf.subarray(from, rowStart);
    this.copyInput(buf, rowStart);
    const out = this.out.subarray(0, this.outLength);
    this.out = null;
    this.outLength = 0;
    return out;
  }

  private startRow(at: number): void {
    this.rowStart = at;
    this.pos = at;
    this.fieldStart = at;
    this.fieldFlag = 0;
    this.inQuote = false;
    this.fieldsLeft = -1;
    this.fieldCount = 0;
  }

  /** The end of the current row (exclusive) once `buf` holds all of it, else -1 with the scan state saved. */
  private scanRow(buf: Buffer, end: number): number {
    switch (this.format) {
      case 'text':
        return this.scanText(buf, end);
      case 'csv':
        return this.scanCsv(buf, end);
      case 'binary':
        return this.step === Step.Header ? this.scanBinaryHeader(buf, end) : this.scanTuple(buf, end);
      default:
        throw new CopyFormatError(`unknown COPY format ${JSON.stringify(this.format)}`, 'COPY_OPTIONS');
    }
  }

  private scanText(buf: Buffer, end: number): number {
    const { delim, stops } = this;
    let pos = this.pos;
    let fieldStart = this.fieldStart;
    let flag = this.fieldFlag;
    while (pos < end) {
      const c = buf[pos]!;
      if (stops[c] === 0) {
        pos++;
      } else if (c === delim) {
        this.addField(fieldStart, pos, flag);
        fieldStart = ++pos;
        flag = 0;
      } else if (c === LF) {
        this.addField(fieldStart, pos, flag);
        return pos + 1;
      } else if (c === BACKSLASH) {
        if (pos + 1 >= end) break;
        const next = buf[pos + 1]!;
        if (next === LF || next === CR) {
          throw new CopyFormatError('text COPY data has a backslash before a raw line break');
        }
        flag = ESCAPED;
        if (next === LOWER_X && this.delimIsHex) {
          // `\x` takes up to two hex digits, even one that looks like the delimiter.
          if (pos + 2 >= end) break;
          if (!isHex(buf[pos + 2]!)) pos += 2;
          else if (pos + 3 >= end) break;
          else pos += isHex(buf[pos + 3]!) ? 4 : 3;
        } else {
          pos += 2;
        }
      } else if (c === CR) {
        throw new CopyFormatError('text COPY data has a raw carriage return');
      } else {
        pos++;
      }
    }
    return this.suspend(pos, fieldStart, flag);
  }

  private scanCsv(buf: Buffer, end: number): number {
    const { delim, quote, escape, stops } = this;
    let pos = this.pos;
    let fieldStart = this.fieldStart;
    let flag = this.fieldFlag;
    let inQuote = this.inQuote;
    while (pos < end) {
      const c = buf[pos]!;
      if (stops[c] === 0) {
        pos++;
      } else if (inQuote) {
        if (c === escape) {
          if (pos + 1 >= end) break;
          const next = buf[pos + 1]!;
          if (next === escape || next === quote) {
            pos += 2;
            continue;
          }
        }
        if (c === quote) inQuote = false;
        pos++;
      } else if (c === delim) {
        this.addField(fieldStart, pos, flag);
        fieldStart = ++pos;
        flag = 0;
      } else if (c === LF) {
        this.addField(fieldStart, pos, flag);
        return pos + 1;
      } else if (c === quote) {
        inQuote = true;
        flag = QUOTED;
        pos++;
      } else if (c === CR) {
        throw new CopyFormatError('csv COPY data has a carriage return outside quotes');
      } else {
        pos++;
      }
    }
    this.inQuote = inQuote;
    return this.suspend(pos, fieldStart, flag);
  }

  /** Saves the scan state of an incomplete text/csv row. */
  private suspend(pos: number, fieldStart: number, flag: number): number {
    if (pos - fieldStart > MAX_COPY_FIELD_BYTES) {
      throw new CopyFormatError(`a COPY field is longer than ${MAX_COPY_FIELD_BYTES} bytes`);
    }
    this.pos = pos;
    this.fieldStart = fieldStart;
    this.fieldFlag = flag;
    return -1;
  }

  private scanBinaryHeader(buf: Buffer, end: number): number {
    const at = this.rowStart;
    const have = Math.min(end - at, BINARY_SIGNATURE.length);
    if (buf.compare(BINARY_SIGNATURE, 0, have, at, at + have) !== 0) {
      throw new CopyFormatError('binary COPY data does not start with the PGCOPY signature');
    }
    if (end - at < BINARY_HEADER_BYTES) return -1;
    const flags = buf.readInt32BE(at + 11);
    if ((flags & 0x1ffff) !== 0) {
      throw new CopyFormatError(`binary COPY header has unsupported flags 0x${flags.toString(16)}`);
    }
    const extension = buf.readInt32BE(at + 15);
    if (extension < 0 || extension > MAX_COPY_FIELD_BYTES) {
      throw new CopyFormatError(`binary COPY header extension length ${extension} is out of range`);
    }
    const headerEnd = at + BINARY_HEADER_BYTES + extension;
    return end >= headerEnd ? headerEnd : -1;
  }

  private scanTuple(buf: Buffer, end: number): number {
    if (this.step === Step.Ended) throw new CopyFormatError('binary COPY data continues after its trailer');
    let pos = this.pos;
    if (this.fieldsLeft < 0) {
      if (end - pos < 2) return -1;
      const count = buf.readInt16BE(pos);
      pos += 2;
      if (count === -1) {
        this.trailer = true;
        return pos;
      }
      if (count < 0) throw new CopyFormatError(`binary COPY tuple has field count ${count}`);
      this.fieldsLeft = count;
    }
    while (this.fieldsLeft > 0 && end - pos >= 4) {
      const length = buf.readInt32BE(pos);
      if (length === -1) {
        this.addField(pos + 4, pos + 4, IS_NULL);
        pos += 4;
      } else if (length < 0 || length > MAX_COPY_FIELD_BYTES) {
        throw new CopyFormatError(`binary COPY field length ${length} is out of range`);
      } else if (end - pos - 4 >= length) {
        this.addField(pos + 4, pos + 4 + length, 0);
        pos += 4 + length;
      } else {
        break;
      }
      this.fieldsLeft--;
    }
    this.pos = pos;
    return this.fieldsLeft === 0 ? pos : -1;
  }

  private addField(start: number, end: number, flag: number): void {
    if (end - start > MAX_COPY_FIELD_BYTES) {
      throw new CopyFormatError(`a COPY field is longer than ${MAX_COPY_FIELD_BYTES} bytes`);
    }
    const i = this.fieldCount++;
    if (i === this.starts.length) {
      const starts = new Int32Array(i * 2);
      const ends = new Int32Array(i * 2);
      const flags = new Uint8Array(i * 2);
      starts.set(this.starts);
      ends.set(this.ends);
      flags.set(this.flags);
      this.starts = starts;
      this.ends = ends;
      this.flags = flags;
    }
    this.starts[i] = start;
    this.ends[i] = end;
    this.flags[i] = flag;
  }

  /** Writes the masked form of the complete row just scanned (only what changed; the rest is copied lazily). */
  private emitRow(buf: Buffer): void {
    if (this.step === Step.Header) {
      this.step = Step.Rows;
      return;
    }
    if (this.trailer) {
      this.step = Step.Ended;
      return;
    }
    const { columns, format, starts, ends, flags } = this;
    for (let i = 0; i < this.fieldCount; i++) {
      const mask = i < columns.length ? columns[i] : this.maskAll;
      if (mask === undefined) continue;
      const start = starts[i]!;
      const end = ends[i]!;
      const flag = flags[i]!;
      let value: Buffer;
      if (format === 'binary') {
        if (flag === IS_NULL) continue;
        value = buf.subarray(start, end);
      } else if (format === 'text') {
        if (rangeEquals(buf, start, end, this.nullBytes)) continue;
        value = flag === ESCAPED ? this.unescapeText(buf, start, end) : buf.subarray(start, end);
      } else {
        if (flag !== QUOTED && rangeEquals(buf, start, end, this.nullBytes)) continue;
        value = flag === QUOTED ? this.unquoteCsv(buf, start, end) : buf.subarray(start, end);
      }
      const masked = mask(value);
      if (masked === value || (masked !== null && rangeEquals(masked, 0, masked.length, value))) continue;
      if (format === 'binary') {
        this.copyInput(buf, start - 4);
        this.writeBinary(masked);
      } else {
        this.copyInput(buf, start);
        if (masked === null) this.writeBytes(this.nullBytes);
        else if (format === 'text') this.writeText(masked);
        else this.writeCsv(masked);
      }
      this.copied = end;
    }
  }

  /** A text field's value: backslash sequences decoded as COPY FROM does, into the scratch buffer. */
  private unescapeText(buf: Buffer, start: number, end: number): Buffer {
    const out = this.scratchFor(end - start);
    let o = 0;
    let i = start;
    while (i < end) {
      let c = buf[i++]!;
      if (c === BACKSLASH && i < end) {
        c = buf[i++]!;
        if (c >= 0x30 && c <= 0x37) {
          let value = c - 0x30;
          for (let digits = 1; digits < 3 && i < end && buf[i]! >= 0x30 && buf[i]! <= 0x37; digits++) {
            value = value * 8 + buf[i++]! - 0x30;
          }
          c = value & 0xff;
        } else if (c === LOWER_X) {
          if (i < end && isHex(buf[i]!)) {
            let value = hexValue(buf[i++]!);
            if (i < end && isHex(buf[i]!)) value = value * 16 + hexValue(buf[i++]!);
            c = value;
          }
        } else {
          c = TEXT_UNESCAPE[c]!;
        }
      }
      out[o++] = c;
    }
    return out.subarray(0, o);
  }

  /** A quoted csv field's value: quotes removed, escaped quotes/escapes kept, into the scratch buffer. */
  private unquoteCsv(buf: Buffer, start: number, end: number): Buffer {
    const { quote, escape } = this;
    const out = this.scratchFor(end - start);
    let o = 0;
    let inQuote = false;
    for (let i = start; i < end; i++) {
      const c = buf[i]!;
      if (!inQuote) {
        if (c === quote) inQuote = true;
        else out[o++] = c;
      } else if (c === escape && i + 1 < end && (buf[i + 1] === escape || buf[i + 1] === quote)) {
        out[o++] = buf[++i]!;
      } else if (c === quote) {
        inQuote = false;
      } else {
        out[o++] = c;
      }
    }
    return out.subarray(0, o);
  }

  /** The scratch buffer with room for `size` bytes (a one-off buffer for a huge value, so none stays held). */
  private scratchFor(size: number): Buffer {
    if (this.scratch.length >= size) return this.scratch;
    if (size > KEEP_CARRY_BYTES) return Buffer.allocUnsafe(size);
    this.scratch = Buffer.allocUnsafe(Math.max(size, this.scratch.length * 2));
    return this.scratch;
  }

  /** A value as text COPY writes it, so COPY FROM reads it back (never as the NULL marker). */
  private writeText(value: Buffer): void {
    const out = this.reserve(2 * value.length + 4);
    const start = this.outLength;
    let o = escapeText(value, 0, out, start, this.special);
    if (rangeEquals(out, start, o, this.nullBytes) && value.length > 0) {
      // COPY FROM compares the raw field with the NULL marker: spell the first byte in octal.
      const first = value[0]!;
      out[start] = BACKSLASH;
      out[start + 1] = 0x30 + (first >> 6);
      out[start + 2] = 0x30 + ((first >> 3) & 7);
      out[start + 3] = 0x30 + (first & 7);
      o = escapeText(value, 1, out, start + 4, this.special);
    }
    this.outLength = o;
  }

  /** A value as csv COPY writes it: quoted when it could otherwise read back differently. */
  private writeCsv(value: Buffer): void {
    const { quote, escape, special } = this;
    let quoted = value.length === 0 || value.equals(this.nullBytes) || value.equals(CSV_END_MARKER);
    for (let i = 0; !quoted && i < value.length; i++) quoted = special[value[i]!] === 1;
    if (!quoted) return this.writeBytes(value);
    const out = this.reserve(2 * value.length + 2);
    let o = this.outLength;
    out[o++] = quote;
    for (let i = 0; i < value.length; i++) {
      const c = value[i]!;
      if (c === quote || c === escape) out[o++] = escape;
      out[o++] = c;
    }
    out[o++] = quote;
    this.outLength = o;
  }

  private writeBinary(value: Buffer | null): void {
    const out = this.reserve(4 + (value?.length ?? 0));
    out.writeInt32BE(value === null ? -1 : value.length, this.outLength);
    this.outLength += 4;
    if (value !== null) this.writeBytes(value);
  }

  private writeBytes(bytes: Buffer): void {
    const out = this.reserve(bytes.length);
    copyBytes(bytes, 0, bytes.length, out, this.outLength);
    this.outLength += bytes.length;
  }

  /** Copies the input not yet in the output, up to `upTo`. */
  private copyInput(buf: Buffer, upTo: number): void {
    const n = upTo - this.copied;
    if (n <= 0) return;
    const out = this.reserve(n);
    copyBytes(buf, this.copied, upTo, out, this.outLength);
    this.outLength += n;
    this.copied = upTo;
  }

  /** The output buffer with room for `n` more bytes: allocated on the first change of a push, grown by doubling. */
  private reserve(n: number): Buffer {
    const need = this.outLength + n;
    const out = this.out;
    if (out !== null && out.length >= need) return out;
    const size = Math.max(need, out === null ? this.hint + (this.hint >> 2) + 64 : out.length * 2);
    const grown = Buffer.allocUnsafe(size);
    if (out !== null) out.copy(grown, 0, 0, this.outLength);
    this.out = grown;
    return grown;
  }

  /** Copies the incomplete row `buf[start, end)` into the carry and rebases its scan state. */
  private keep(buf: Buffer, start: number, end: number): void {
    this.carryLength = 0;
    this.appendCarry(buf.subarray(start, end));
    this.rowStart -= start;
    this.pos -= start;
    this.fieldStart -= start;
    for (let i = 0; i < this.fieldCount; i++) {
      this.starts[i]! -= start;
      this.ends[i]! -= start;
    }
  }

  private appendCarry(bytes: Buffer): void {
    const need = this.carryLength + bytes.length;
    if (need > MAX_ROW_BYTES) throw new CopyFormatError('a COPY row is longer than 1 GB');
    if (this.carry.length < need) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.carry.length * 2, 256));
      this.carry.copy(grown, 0, 0, this.carryLength);
      this.carry = grown;
    }
    bytes.copy(this.carry, this.carryLength);
    this.carryLength = need;
  }
}

/** What a text-format `\c` decodes to for every byte c that is not an octal digit or `x`. */
const TEXT_UNESCAPE = (() => {
  const table = new Uint8Array(256);
  for (let c = 0; c < 256; c++) table[c] = c;
  table[0x62] = 0x08; // \b
  table[0x66] = 0x0c; // \f
  table[0x6e] = LF; // \n
  table[0x72] = CR; // \r
  table[0x74] = 0x09; // \t
  table[0x76] = 0x0b; // \v
  return table;
})();

/** Writes `value[from…]` text-escaped at `out[o]`; returns the new end. */
function escapeText(value: Buffer, from: number, out: Buffer, o: number, escapes: Uint8Array): number {
  for (let i = from; i < value.length; i++) {
    const c = value[i]!;
    const letter = escapes[c]!;
    if (letter !== 0) {
      out[o++] = BACKSLASH;
      out[o++] = letter;
    } else {
      out[o++] = c;
    }
  }
  return o;
}

/** Whether `buf[start, end)` holds exactly `bytes` (a loop: most values are short, and a native call costs more). */
function rangeEquals(buf: Buffer, start: number, end: number, bytes: Buffer): boolean {
  const n = bytes.length;
  if (end - start !== n) return false;
  if (n > 64) return buf.compare(bytes, 0, n, start, end) === 0;
  for (let i = 0; i < n; i++) if (buf[start + i] !== bytes[i]) return false;
  return true;
}

/** Copies `from[start, end)` to `to[at]` (a loop for short runs, for the same reason). */
function copyBytes(from: Buffer, start: number, end: number, to: Buffer, at: number): void {
  if (end - start > 64) {
    from.copy(to, at, start, end);
    return;
  }
  for (let i = start; i < end; i++) to[at++] = from[i]!;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

function hexValue(c: number): number {
  return c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x61 + 10;
}

function singleByte(value: string, option: string): number {
  if (value.length !== 1 || value.charCodeAt(0) > 0x7f) {
    throw new CopyFormatError(`COPY \`${option}\` must be a single one-byte character`, 'COPY_OPTIONS');
  }
  return value.charCodeAt(0);
}
