import { createHash } from 'node:crypto';
import { fingerprintSync, normalizeSync, scanSync } from 'libpg-query';
import { classify, type Classification } from './classify.js';
import { decide, type Decision } from './decide.js';
import type { Policy } from './policy.js';
import { shapeKey, spacedShapeKey } from './shape-key.js';

/** What the proxy needs for one SQL string. */
export interface Lookup {
  decision: Decision;
  /** Audit text: literals replaced by `$n` (a redacted form for unparseable text). */
  normalized: string;
  /** libpg-query's fingerprint; `unparsed:<hash>` for text that does not parse. */
  fingerprint: string;
  /** Present when this lookup (or the exact-text entry it hit) classified the text. */
  classification?: Classification;
}

interface Entry {
  /** What a lookup of the very text that was classified returns. */
  result: Lookup & { classification: Classification };
  /**
   * The text's shape with its exact spacing, when its normalized text has no literal left:
   * then a same-shape text with the same spacing has the same normalized text. Not so for
   * utility statements (CREATE VIEW …, FOR VALUES IN (2)), which libpg-query leaves as written.
   */
  reusableNormalized?: string;
  /** The fingerprint ignores the literal values (it equals the normalized text's). */
  reusableFingerprint: boolean;
}

const DEFAULT_MAX_ENTRIES = 5_000;
/** Longer texts are classified every time rather than kept in memory. */
const MAX_CACHED_LENGTH = 16_384;
const LITERAL_TOKENS = new Set(['SCONST', 'ICONST', 'FCONST', 'BCONST', 'XCONST', 'USCONST', 'UIDENT']);

/**
 * The policy decision for SQL strings, cached per session (the policy is fixed for its
 * lifetime). Exact text first, then the literal-free shape (`shapeKey`) — only for decisions
 * that do not depend on literal values — then the full parse, classification and decision.
 * Both maps are bounded LRUs.
 */
export class DecisionCache {
  readonly #policy: Policy;
  readonly #exact: Lru<Entry>;
  readonly #shapes: Lru<Entry>;

  constructor(policy: Policy, opts: { maxEntries?: number } = {}) {
    this.#policy = policy;
    const max = Math.max(1, opts.maxEntries ?? DEFAULT_MAX_ENTRIES);
    this.#exact = new Lru(max);
    this.#shapes = new Lru(max);
  }

  /** Classification + decision + normalized text + fingerprint for one SQL string. */
  lookup(sql: string): Lookup {
    const exact = this.#exact.get(sql);
    if (exact) return exact.result;
    const cacheable = sql.length <= MAX_CACHED_LENGTH;
    const key = cacheable ? shapeKey(sql) : undefined;
    if (key !== undefined) {
      const shaped = this.#shapes.get(key);
      if (shaped) {
        const { result } = shaped;
        const sameNormalized =
          shaped.reusableNormalized !== undefined && spacedShapeKey(sql) === shaped.reusableNormalized;
        const forms =
          sameNormalized && shaped.reusableFingerprint ? result : auditForms(sql, result.classification);
        return {
          decision: withText(result.decision, sql),
          normalized: forms.normalized,
          fingerprint: forms.fingerprint,
        };
      }
    }
    const classification = classify(sql);
    const decision = decide(this.#policy, classification);
    const forms = auditForms(sql, classification);
    const entry: Entry = { result: { decision, ...forms, classification }, reusableFingerprint: false };
    if (key !== undefined && decision.cacheable && classification.cacheable) {
      const normalizedKey = shapeKey(forms.normalized);
      if (normalizedKey !== undefined && !normalizedKey.includes('\x01')) {
        entry.reusableNormalized = spacedShapeKey(sql);
        entry.reusableFingerprint = sameFingerprint(forms.normalized, forms.fingerprint);
      }
    }
    if (cacheable) {
      this.#exact.set(sql, entry);
      if (key !== undefined && decision.cacheable && classification.cacheable) this.#shapes.set(key, entry);
    }
    return entry.result;
  }

  /** Number of cached entries (exact, shape), for diagnostics and tests. */
  get size(): { exact: number; shape: number } {
    return { exact: this.#exact.size, shape: this.#shapes.size };
  }
}

/** A shape hit's decision describes the statement of the text that was classified: show this text instead. */
function withText(decision: Decision, sql: string): Decision {
  if (decision.statement === undefined) return decision;
  return { ...decision, statement: { ...decision.statement, text: sql.trim() } };
}

/**
 * A bounded map that forgets the least recently used key first — nearly: a hit moves its key to
 * the young end only when at least half the capacity was inserted since it was last placed
 * there (a move is a delete and an insert, which costs rehashing on every hit of the hot path).
 * A key used at least once per half-capacity insertions is therefore never evicted.
 */
class Lru<V> {
  readonly #map = new Map<string, { value: V; placed: number }>();
  readonly #max: number;
  /** Counts insertions and moves. */
  #clock = 0;

  constructor(max: number) {
    this.#max = max;
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: string): V | undefined {
    const slot = this.#map.get(key);
    if (slot === undefined) return undefined;
    if (this.#clock - slot.placed > this.#max >> 1) {
      this.#map.delete(key);
      this.#map.set(key, slot);
      slot.placed = ++this.#clock;
    }
    return slot.value;
  }

  set(key: string, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, { value, placed: ++this.#clock });
    if (this.#map.size > this.#max) {
      const oldest = this.#map.keys().next();
      if (!oldest.done) this.#map.delete(oldest.value);
    }
  }
}

/** True when `normalized` parses to the same fingerprint: literal values do not enter it. */
function sameFingerprint(normalized: string, fingerprint: string): boolean {
  try {
    return fingerprintSync(normalized) === fingerprint;
  } catch {
    return false;
  }
}

/** Normalized text and fingerprint; text that does not parse is redacted rather than logged raw. */
function auditForms(
  sql: string,
  classification: Classification,
): { normalized: string; fingerprint: string } {
  if (classification.parseError === undefined && classification.statements.length === 0) {
    return { normalized: '', fingerprint: '' };
  }
  if (classification.parseError === undefined) {
    try {
      return { normalized: scrubLiterals(normalizeSync(sql)), fingerprint: fingerprintSync(sql) };
    } catch {
      // fall through: treat like unparseable text
    }
  }
  return {
    normalized: redact(sql),
    fingerprint: `unparsed:${createHash('sha256').update(sql).digest('hex').slice(0, 16)}`,
  };
}

/**
 * What libpg-query's normalize leaves in: literals of utility statements (`CREATE VIEW … WHERE
 * email = 'x'`, `COMMENT ON … IS '…'`) and comments (`/* ssn … *\/`). Both can carry personal
 * data, so they are replaced (`$n`, numbered after normalize's own) or dropped, keeping the
 * rest of the text as it was. Only on a cache miss: the result is cached with the decision.
 */
export function scrubLiterals(normalized: string): string {
  let tokens: { start: number; end: number; tokenName: string; text: string }[];
  try {
    tokens = scanSync(normalized).tokens;
  } catch {
    return redact(normalized);
  }
  const dirty = tokens.filter(
    (t) =>
      t.tokenName === 'SQL_COMMENT' ||
      t.tokenName === 'C_COMMENT' ||
      LITERAL_TOKENS.has(t.tokenName) ||
      /^[a-z]*&?'/i.test(t.text),
  );
  if (dirty.length === 0) return normalized;
  let n = 0;
  for (const match of normalized.matchAll(/\$(\d+)/g)) n = Math.max(n, Number(match[1]));
  let out = '';
  let at = 0;
  for (const t of dirty) {
    out += normalized.slice(at, t.start);
    if (t.tokenName !== 'SQL_COMMENT' && t.tokenName !== 'C_COMMENT') out += `$${++n}`;
    at = t.end;
  }
  return (out + normalized.slice(at)).replace(/\s+/g, ' ').trim();
}

/** Unparseable text for the audit log: literals → `$n`, comments dropped; a placeholder when even the scanner fails. */
function redact(sql: string): string {
  if (sql.includes('\0')) return `<unparseable statement, ${sql.length} characters>`;
  try {
    const { tokens } = scanSync(sql);
    let n = 0;
    const parts = tokens
      .filter((t) => t.tokenName !== 'SQL_COMMENT' && t.tokenName !== 'C_COMMENT')
      .map((t) => (LITERAL_TOKENS.has(t.tokenName) || /^[a-z]*&?'/i.test(t.text) ? `$${++n}` : t.text));
    return parts.join(' ');
  } catch {
    return `<unparseable statement, ${sql.length} characters>`;
  }
}
