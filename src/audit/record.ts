import crypto from 'node:crypto';
import { JitError } from '../util/errors.js';

/** Raised by the audit log: a locked or broken file, a failed write, an unreadable record. */
export class AuditError extends JitError {}

/** What an audit record is about. */
export type AuditKind =
  'session_start' | 'grant_issued' | 'statement' | 'approval' | 'session_end' | 'grant_revoked';

/** The outcome of a statement. */
export type AuditDecision = 'allowed' | 'blocked' | 'approved' | 'denied' | 'error';

/** Who the session acts for; `authenticated` is false for `identity: os-user`. */
export interface AuditIdentity {
  sub: string;
  email?: string;
  /** The issuer that verified `sub` (absent for unauthenticated identities). */
  iss?: string;
  authenticated: boolean;
}

/** What a caller hands to `AuditLog.append`: everything except the chain fields. */
export interface AuditEvent {
  kind: AuditKind;
  session: string;
  grant: string | null;
  identity: AuditIdentity;
  target: string;
  connection?: number;
  /** Normalized text (literals → $n), or the raw text when the policy says so; the caller decides. */
  sql?: string;
  fingerprint?: string;
  decision?: AuditDecision;
  rule?: string;
  approver?: string;
  duration_ms?: number;
  rows?: number;
  sqlstate?: string;
  masked?: string[];
  reason?: string;
  detail?: Record<string, unknown>;
}

/** One line of the audit file. */
export interface AuditRecord extends AuditEvent {
  /** ISO 8601 UTC with milliseconds. */
  ts: string;
  /** 1, 2, … within a file. */
  seq: number;
  /** `hash` of the previous record in the file; GENESIS_HASH for the first. */
  prev: string;
  /** sha256 hex of `prev + canonicalJson(record without hash)`. */
  hash: string;
}

/** The `prev` of the first record of a file. */
export const GENESIS_HASH = '0'.repeat(64);

/** Every kind, for validating input (CLI filters) and records read back. */
export const AUDIT_KINDS: readonly AuditKind[] = [
  'session_start',
  'grant_issued',
  'statement',
  'approval',
  'session_end',
  'grant_revoked',
];

/** Every decision, for validating CLI filters. */
export const AUDIT_DECISIONS: readonly AuditDecision[] = [
  'allowed',
  'blocked',
  'approved',
  'denied',
  'error',
];

/**
 * The canonical JSON text of a JSON value — the exact bytes the audit hash covers:
 *
 * - object keys sorted by UTF-16 code units (JavaScript's default `sort()`), at every depth;
 * - no whitespace between tokens;
 * - object members whose value is `undefined` omitted; `null` kept;
 * - strings and numbers exactly as `JSON.stringify` writes them (shortest round-trip number
 *   form, e.g. `1`, `0.1`, `1e+21`; `-0` as `0`; non-ASCII characters as themselves, control
 *   characters and lone surrogates escaped), so a line parsed with `JSON.parse` re-serializes
 *   to the same text;
 * - values with a `toJSON()` method (Dates) are replaced by its result, as `JSON.stringify` does.
 *
 * Non-finite numbers, bigints, functions, symbols and `undefined` array elements are rejected
 * (they have no faithful JSON form) with a TypeError.
 *
 * Hand-written rather than "sort, then JSON.stringify": JavaScript objects enumerate
 * integer-like keys ("2", "10") first in numeric order, which is not sorted order.
 */
export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonical JSON has no form for ${value}`);
      return JSON.stringify(value);
    case 'object': {
      if (value === null) return 'null';
      const withJson = value as { toJSON?: unknown };
      if (typeof withJson.toJSON === 'function') return canonicalJson((withJson.toJSON as () => unknown)());
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          out += (i === 0 ? '' : ',') + canonicalJson(value[i]);
        }
        return `${out}]`;
      }
      const record = value as Record<string, unknown>;
      let out = '{';
      let first = true;
      for (const key of Object.keys(record).sort()) {
        const member = record[key];
        if (member === undefined) continue;
        out += `${first ? '' : ','}${JSON.stringify(key)}:${canonicalJson(member)}`;
        first = false;
      }
      return `${out}}`;
    }
    default:
      throw new TypeError(`canonical JSON has no form for a ${typeof value}`);
  }
}

/** sha256 hex of `prev` followed by the canonical JSON of the record without its hash. */
export function hashRecord(prev: string, recordWithoutHash: Omit<AuditRecord, 'hash'>): string {
  const { hash: _ignored, ...rest } = recordWithoutHash as Omit<AuditRecord, 'hash'> & { hash?: unknown };
  return sha256Hex(prev + canonicalJson(rest));
}

/**
 * sha256 hex of `text` as UTF-8, one digest per call. Uses the one-shot `crypto.hash` where
 * Node has it (≥ 20.12; about half the cost of `createHash` for a short input), else `createHash`.
 */
export const sha256Hex: (text: string) => string =
  typeof crypto.hash === 'function'
    ? (text) => crypto.hash('sha256', text, 'hex')
    : (text) => crypto.createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * Inserts `"hash":"…"` into a record's canonical JSON at its sorted place: just before
 * `"identity"` (every key before it sorts below "hash", every key from it on sorts above).
 * Which `,"identity":` is the top-level one: text inside a JSON string never contains `,"`
 * unescaped, and only `detail` (sorting before "grant") can hold nested objects — so without a
 * detail it is the first occurrence (found scanning the short head), with one the last.
 */
export function withHash(canonical: string, hash: string, hasDetail: boolean): string {
  const at = hasDetail ? canonical.lastIndexOf(',"identity":') : canonical.indexOf(',"identity":');
  if (at < 0) throw new AuditError('bad_event', 'an audit record needs `grant` and `identity`');
  return `${canonical.slice(0, at)},"hash":"${hash}"${canonical.slice(at)}`;
}

/** A line parsed into a record, or why it is not one. */
export type ParsedLine = { record: AuditRecord; error?: undefined } | { record?: undefined; error: string };

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Parses one line (without its newline) and checks the shape every record has: a JSON object
 * with ts, seq, session, grant, identity, target, kind, prev and hash of the right types.
 * Does not check the hash or the chain (see `checkRecordHash` and `verifyFile`).
 */
export function parseRecordLine(text: string): ParsedLine {
  if (text.length === 0) return { error: 'empty line' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { error: 'not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { error: 'not a JSON object' };
  }
  const r = value as Record<string, unknown>;
  const bad = (field: string, what: string): ParsedLine => ({ error: `\`${field}\` ${what}` });
  if (typeof r.ts !== 'string') return bad('ts', 'is missing or not a string');
  if (typeof r.seq !== 'number' || !Number.isSafeInteger(r.seq) || r.seq < 1) {
    return bad('seq', 'is missing or not a positive integer');
  }
  if (typeof r.session !== 'string') return bad('session', 'is missing or not a string');
  if (r.grant !== null && typeof r.grant !== 'string')
    return bad('grant', 'is missing or not a string or null');
  const id = r.identity as Record<string, unknown> | null | undefined;
  if (
    typeof id !== 'object' ||
    id === null ||
    typeof id.sub !== 'string' ||
    typeof id.authenticated !== 'boolean'
  ) {
    return bad('identity', 'is missing or not {sub, authenticated}');
  }
  if (typeof r.target !== 'string') return bad('target', 'is missing or not a string');
  if (!AUDIT_KINDS.includes(r.kind as AuditKind)) return bad('kind', 'is missing or unknown');
  if (typeof r.prev !== 'string' || !HEX64.test(r.prev))
    return bad('prev', 'is missing or not a sha256 hex digest');
  if (typeof r.hash !== 'string' || !HEX64.test(r.hash))
    return bad('hash', 'is missing or not a sha256 hex digest');
  return { record: value as AuditRecord };
}

/**
 * Checks a parsed record against its own line: the hash recomputes from `prev` and the other
 * fields, and the line is exactly the canonical JSON of the record (so duplicate keys, extra
 * whitespace or re-encoded characters — text that reads differently from what was hashed —
 * are caught too). Returns why not, or undefined when it holds.
 */
export function checkRecordHash(record: AuditRecord, line: string): string | undefined {
  let expected: string;
  try {
    expected = hashRecord(record.prev, record);
  } catch (error) {
    return `cannot be hashed: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (expected !== record.hash) return 'hash does not match the record (the record was altered)';
  if (canonicalJson(record) !== line)
    return 'line is not in canonical form (altered text with the same content)';
  return undefined;
}
