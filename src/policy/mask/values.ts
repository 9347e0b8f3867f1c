/**
 * Masking one value of a PostgreSQL result (a DataRow field, a COPY field) by a MaskSpec.
 * Pure and synchronous; runs on every masked value, so the common paths work on bytes and
 * allocate only the replacement.
 */
import { isUtf8 } from 'node:buffer';
import { createHmac } from 'node:crypto';
import type { MaskSpec } from './types.js';

/** How a value of a given type/format can be replaced. */
export type ValueKind = 'text' | 'json' | 'jsonb' | 'other';

const JSON_OID = 114;
const JSONB_OID = 3802;
const JSONB_VERSION = 0x01;

/**
 * Types whose binary form is their UTF-8 text, so a string replacement still decodes
 * (text, varchar, bpchar, name, unknown, xml, "char"; see each type's `*send` function).
 */
const BINARY_TEXT_OIDS: ReadonlySet<number> = new Set([25, 1043, 1042, 19, 705, 142, 18]);

/**
 * Builtin types whose text form a client parses into something other than a string (number,
 * date, bytes, address…), and the arrays of them: a replacement string would not decode as
 * the type, so they can only become NULL (https://www.postgresql.org/docs/current/datatype.html).
 */
const NON_TEXT_OIDS: ReadonlySet<number> = new Set([
  // bool, bytea, int8, int2, int4, tid, oid, xid, cid
  16, 17, 20, 21, 23, 27, 26, 28, 29,
  // point, lseg, path, box, polygon, line, circle, macaddr8, money, macaddr, inet, cidr
  600, 601, 602, 603, 604, 628, 718, 774, 790, 829, 869, 650,
  // float4, float8, date, time, timestamp, timestamptz, interval, timetz, bit, varbit, numeric
  700, 701, 1082, 1083, 1114, 1184, 1186, 1266, 1560, 1562, 1700,
  // uuid, pg_lsn, xid8
  2950, 3220, 5069,
  // their arrays
  1000, 1001, 1016, 1005, 1007, 1010, 1028, 1011, 1012, 1017, 1018, 1019, 1020, 1027, 629, 719, 775, 791,
  1040, 1041, 651, 1021, 1022, 1182, 1183, 1115, 1185, 1187, 1270, 1561, 1563, 1231, 2951, 3221, 271,
]);

/**
 * Classifies a result column by type OID and wire format (0 text, 1 binary), because that
 * decides which replacement a client can still decode.
 */
export function valueKind(typeOid: number, format: number): ValueKind {
  if (typeOid === JSON_OID) return format === 0 || format === 1 ? 'json' : 'other';
  if (typeOid === JSONB_OID) return format === 0 ? 'json' : format === 1 ? 'jsonb' : 'other';
  if (format === 0) return NON_TEXT_OIDS.has(typeOid) ? 'other' : 'text';
  if (format === 1) return BINARY_TEXT_OIDS.has(typeOid) ? 'text' : 'other';
  return 'other';
}

/** Byte classes of the partial strategy's scan (bit flags). */
const ALNUM = 1; // ASCII letter or digit
const HIGH = 2; // a byte of a non-ASCII character (or of invalid UTF-8)
const AT = 4; // '@'
const SPACE = 8; // whitespace or control: never part of an email
const FLAG_BITS = 16;

const BYTE_CLASS: Uint8Array = (() => {
  const table = new Uint8Array(256);
  for (let b = 0; b <= 0x20; b++) table[b] = SPACE;
  table[0x7f] = SPACE;
  for (let b = 0x30; b <= 0x39; b++) table[b] = ALNUM;
  for (let b = 0x41; b <= 0x5a; b++) table[b] = ALNUM;
  for (let b = 0x61; b <= 0x7a; b++) table[b] = ALNUM;
  for (let b = 0x80; b <= 0xff; b++) table[b] = HIGH;
  table[0x40] = AT;
  return table;
})();

const STAR = 0x2a;
const AT_SIGN = 0x40;
const DOT = 0x2e;
/** Partial keeps this many trailing letters/digits… */
const KEEP = 4;
/** …of values with at least this many (shorter values lose them all). */
const KEEP_MIN = 8;
/** Tails longer than this are copied with Buffer#copy rather than byte by byte. */
const COPY_MIN = 64;
/** Distinct redact labels cached per kind before the cache starts over (labels come from the policy). */
const REDACT_CACHE_MAX = 4096;

/**
 * One pass over bytes [start,end): the count of maskable bytes (ASCII letters/digits and every
 * non-ASCII byte), times FLAG_BITS, plus the OR of the byte classes seen. One number so the
 * hot path allocates nothing.
 */
function scan(buf: Buffer, start: number, end: number): number {
  let count = 0;
  let flags = 0;
  for (let i = start; i < end; i++) {
    const c = BYTE_CLASS[buf[i]!]!;
    flags |= c;
    if ((c & (ALNUM | HIGH)) !== 0) count++;
  }
  return count * FLAG_BITS + flags;
}

/** Index of the '@' when bytes [start,end) have the shape local@domain.tld (one '@', a dot inside the domain), else -1. */
function emailAt(buf: Buffer, start: number, end: number): number {
  let at = -1;
  for (let i = start; i < end; i++) {
    if (buf[i] !== AT_SIGN) continue;
    if (at >= 0) return -1;
    at = i;
  }
  if (at <= start) return -1;
  for (let i = at + 2; i < end - 1; i++) if (buf[i] === DOT) return at;
  return -1;
}

/** Bytes of the UTF-8 sequence a lead byte starts (1 for ASCII and for bytes that cannot lead). */
function utf8Length(lead: number): number {
  if (lead >= 0xf0 && lead <= 0xf7) return 4;
  if (lead >= 0xe0) return lead <= 0xef ? 3 : 1;
  if (lead >= 0xc0) return 2;
  return 1;
}

/** `a***@example.com` for `alice.smith@example.com`: the local part's first character and the domain. */
function partialEmail(src: Buffer, start: number, at: number, end: number): Buffer {
  const first = Math.min(utf8Length(src[start]!), at - start);
  const out = Buffer.allocUnsafe(first + KEEP + (end - at - 1));
  src.copy(out, 0, start, start + first);
  out.write('***@', first, 'latin1');
  src.copy(out, first + KEEP, at + 1, end);
  return out;
}

/**
 * Writes the partial form of src[start,end) to dst at dstStart (dst may be src, at start):
 * the first maskable bytes become '*', the last KEEP stay when there are at least KEEP_MIN.
 * Exact for ASCII; for invalid UTF-8 every non-ASCII byte counts as one masked character.
 */
function partialBytes(src: Buffer, start: number, end: number, dst: Buffer, dstStart: number, count: number) {
  let left = count >= KEEP_MIN ? count - KEEP : count;
  let i = start;
  let j = dstStart;
  for (; i < end && left > 0; i++, j++) {
    const b = src[i]!;
    if ((BYTE_CLASS[b]! & (ALNUM | HIGH)) !== 0) {
      dst[j] = STAR;
      left--;
    } else {
      dst[j] = b;
    }
  }
  if (dst === src && j === i) return;
  // Buffer#copy costs more than a short loop: use it for long tails only.
  if (end - i > COPY_MIN) src.copy(dst, j, i, end);
  else for (; i < end; i++, j++) dst[j] = src[i]!;
}

const MASKABLE_CHAR = /[\p{L}\p{M}\p{N}]/u;

/** Whether one character (a code point as a string) is masked by partial: a letter, mark or digit. */
function isMaskableChar(ch: string): boolean {
  const c = ch.charCodeAt(0);
  if (c < 0x80) return (BYTE_CLASS[c]! & ALNUM) !== 0;
  if (ch.length === 1 && c >= 0xd800 && c <= 0xdfff) return true; // a lone surrogate: opaque
  return MASKABLE_CHAR.test(ch);
}

/** Whether a string has whitespace or an ASCII control character (which no email has). */
function hasSpaceOrControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** The partial form of a string (the slow path for non-ASCII text; same rules as the byte path). */
function partialString(text: string): string {
  const at = text.indexOf('@');
  if (at > 0 && at === text.lastIndexOf('@')) {
    const dot = text.indexOf('.', at + 2);
    if (dot >= 0 && dot < text.length - 1 && !hasSpaceOrControl(text)) {
      return `${String.fromCodePoint(text.codePointAt(0)!)}***@${text.slice(at + 1)}`;
    }
  }
  let count = 0;
  for (const ch of text) if (isMaskableChar(ch)) count++;
  let left = count >= KEEP_MIN ? count - KEEP : count;
  if (left === 0) return text;
  let out = '';
  let rest = 0;
  for (const ch of text) {
    if (left === 0) break;
    rest += ch.length;
    if (isMaskableChar(ch)) {
      out += '*';
      left--;
    } else {
      out += ch;
    }
  }
  return out + text.slice(rest);
}

/** `[REDACTED:<label>]`, the redact form (also what `null` becomes where a value must stay text). */
function redactText(label: string): string {
  return `[REDACTED:${label}]`;
}

/** Bytes of a string as a JSON string literal, after the jsonb version byte for `jsonb`. */
function jsonBytes(text: string, kind: 'json' | 'jsonb'): Buffer {
  const json = JSON.stringify(text);
  if (kind === 'json') return Buffer.from(json, 'utf8');
  const out = Buffer.allocUnsafe(1 + Buffer.byteLength(json, 'utf8'));
  out[0] = JSONB_VERSION;
  out.write(json, 1, 'utf8');
  return out;
}

/** The string a JSON value's partial form is built from: a JSON string's content, else the JSON text itself. */
function jsonSubject(json: string): string {
  const trimmed = json.trim();
  if (trimmed.startsWith('"')) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      if (typeof parsed === 'string') return parsed;
    } catch {
      // not valid JSON: mask the text as it is
    }
  }
  return json;
}

/**
 * Replaces values of result columns by a MaskSpec; one per grant, since `hash` is keyed so
 * equal values stay joinable within a session but not across grants.
 */
export class ValueMasker {
  readonly #key: Buffer;
  readonly #redacted = {
    text: new Map<string, Buffer>(),
    json: new Map<string, Buffer>(),
    jsonb: new Map<string, Buffer>(),
  };

  /** `key` is the HMAC key for `hash`, random per grant. */
  constructor(key: Buffer) {
    this.#key = Buffer.from(key);
  }

  /**
   * Replacement bytes for one wire value (null = SQL NULL). The result may be shared between
   * calls (redact forms are cached): copy it, never modify it.
   */
  mask(value: Buffer, kind: ValueKind, spec: MaskSpec): Buffer | null {
    if (kind === 'other') return null;
    switch (spec.strategy) {
      case 'null':
        return null;
      case 'redact':
        return this.#redactBytes(spec.label, kind);
      case 'partial':
        return kind === 'text'
          ? partialText(value)
          : jsonBytes(partialString(jsonSubject(jsonText(value, kind))), kind);
      case 'hash': {
        const start = kind === 'jsonb' && value[0] === JSONB_VERSION ? 1 : 0;
        const hashed = this.#hash(value, start, value.length);
        return kind === 'text' ? Buffer.from(hashed, 'latin1') : jsonBytes(hashed, kind);
      }
      default:
        return unknownStrategy(spec.strategy);
    }
  }

  /**
   * Masks bytes [start,end) of `buf` in place when the result has the same length (partial
   * strategy, kind text, ASCII, not an email), so a DataRow can be rewritten without copying;
   * returns false (touching nothing) otherwise. Writes exactly what `mask` would return.
   */
  maskInPlace(buf: Buffer, start: number, end: number, kind: ValueKind, spec: MaskSpec): boolean {
    if (spec.strategy !== 'partial' || kind !== 'text') return false;
    const scanned = scan(buf, start, end);
    const flags = scanned % FLAG_BITS;
    if ((flags & HIGH) !== 0) return false;
    if ((flags & AT) !== 0 && (flags & SPACE) === 0 && emailAt(buf, start, end) >= 0) return false;
    partialBytes(buf, start, end, buf, start, (scanned - flags) / FLAG_BITS);
    return true;
  }

  /**
   * Writes the masked form of bytes [start,end) over them when it is no longer (partial, redact
   * and hash on text; redact on json), returning its length; returns -1, touching nothing,
   * when it would be longer or cannot be written in place (the caller then uses `mask`). Writes
   * exactly what `mask` would return. Lets a DataRow be rewritten inside its own message.
   */
  maskShrink(buf: Buffer, start: number, end: number, kind: ValueKind, spec: MaskSpec): number {
    if (kind === 'other') return -1;
    const length = end - start;
    switch (spec.strategy) {
      case 'partial': {
        if (kind !== 'text') return -1;
        // scan() and emailAt() in one pass: this runs for every masked value of every row.
        let count = 0;
        let flags = 0;
        let at = -1;
        let ats = 0;
        for (let i = start; i < end; i++) {
          const c = BYTE_CLASS[buf[i]!]!;
          flags |= c;
          if ((c & (ALNUM | HIGH)) !== 0) count++;
          else if (c === AT) {
            at = i;
            ats++;
          }
        }
        if (ats === 1 && at > start && (flags & SPACE) === 0) {
          let dot = false;
          for (let i = at + 2; i < end - 1; i++) {
            if (buf[i] === DOT) {
              dot = true;
              break;
            }
          }
          if (dot) {
            const first = Math.min(utf8Length(buf[start]!), at - start);
            const shrunk = first + KEEP + (end - at - 1);
            if (shrunk > length) return -1;
            // `***@` ends at or before the domain's first byte, so the domain is read before it moves.
            const mark = start + first;
            buf[mark] = STAR;
            buf[mark + 1] = STAR;
            buf[mark + 2] = STAR;
            buf[mark + 3] = AT_SIGN;
            buf.copyWithin(mark + KEEP, at + 1, end);
            return shrunk;
          }
        }
        if ((flags & HIGH) !== 0) return -1;
        partialBytes(buf, start, end, buf, start, count);
        return length;
      }
      case 'redact': {
        const bytes = this.#redactBytes(spec.label, kind);
        if (bytes.length > length) return -1;
        bytes.copy(buf, start);
        return bytes.length;
      }
      case 'hash': {
        if (kind !== 'text') return -1;
        const hashed = this.#hash(buf, start, end);
        if (hashed.length > length) return -1;
        buf.write(hashed, start, 'latin1');
        return hashed.length;
      }
      default:
        return -1;
    }
  }

  /**
   * The masked form of a string for places that are text anyway (notice/error messages,
   * notification payloads, detector matches): never null — `null` strategy gives the redact form.
   */
  maskText(text: string, spec: MaskSpec): string {
    switch (spec.strategy) {
      case 'null':
      case 'redact':
        return redactText(spec.label);
      case 'partial':
        return partialString(text);
      case 'hash': {
        const bytes = Buffer.from(text, 'utf8');
        return this.#hash(bytes, 0, bytes.length);
      }
      default:
        return unknownStrategy(spec.strategy);
    }
  }

  /** `h:` + the first 16 hex digits of HMAC-SHA256(key, bytes [start,end)). */
  #hash(value: Buffer, start: number, end: number): string {
    const hmac = createHmac('sha256', this.#key);
    hmac.update(start === 0 && end === value.length ? value : value.subarray(start, end));
    return `h:${hmac.digest().toString('hex', 0, 8)}`;
  }

  /** The redact form as wire bytes of a kind, cached per label. */
  #redactBytes(label: string, kind: 'text' | 'json' | 'jsonb'): Buffer {
    const cache = this.#redacted[kind];
    let bytes = cache.get(label);
    if (bytes === undefined) {
      const text = redactText(label);
      bytes = kind === 'text' ? Buffer.from(text, 'utf8') : jsonBytes(text, kind);
      if (cache.size >= REDACT_CACHE_MAX) cache.clear();
      cache.set(label, bytes);
    }
    return bytes;
  }
}

/** The partial form of a text value: bytes for ASCII and invalid UTF-8, characters otherwise. */
function partialText(value: Buffer): Buffer {
  const end = value.length;
  const scanned = scan(value, 0, end);
  const flags = scanned % FLAG_BITS;
  if ((flags & AT) !== 0 && (flags & SPACE) === 0) {
    const at = emailAt(value, 0, end);
    if (at >= 0) return partialEmail(value, 0, at, end);
  }
  if ((flags & HIGH) !== 0 && isUtf8(value))
    return Buffer.from(partialString(value.toString('utf8')), 'utf8');
  const out = Buffer.allocUnsafe(end);
  partialBytes(value, 0, end, out, 0, (scanned - flags) / FLAG_BITS);
  return out;
}

/** The JSON text of a json/jsonb wire value (without jsonb's version byte). */
function jsonText(value: Buffer, kind: 'json' | 'jsonb'): string {
  const start = kind === 'jsonb' && value[0] === JSONB_VERSION ? 1 : 0;
  return value.toString('utf8', start, value.length);
}

/** A strategy outside MaskStrategy got past validation: a bug, so fail loudly. */
function unknownStrategy(strategy: never): never {
  throw new Error(`unknown mask strategy ${String(strategy)}`);
}
