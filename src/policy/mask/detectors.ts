/**
 * Value detectors: find personal data and secrets inside any text (a free-text column, a JSON
 * document, a notice) whatever column it came from. `mightMatch` is a single byte pass that
 * rules out almost every value; `scrub` runs the regular expressions only on the rest.
 */
import { JitError } from '../../util/errors.js';
import { MASK_STRATEGIES, type MaskSpec, type MaskStrategy } from './types.js';
import type { ValueMasker } from './values.js';

/** One detector as the policy configures it: a built-in by name, or a custom regex. */
export interface DetectorDef {
  name: string;
  strategy: MaskStrategy;
  pattern?: string;
}

/** The built-in detector names. */
export const BUILTIN_DETECTORS: readonly string[] = [
  'email',
  'credit_card',
  'us_ssn',
  'phone',
  'jwt',
  'aws_key',
  'gcp_api_key',
  'github_token',
  'slack_token',
  'private_key',
];

/** Raised for an unknown built-in name, a bad strategy, or an invalid/unsafe regex (message names the detector). */
export class DetectorError extends JitError {}

/** One regular expression of a detector; `group` is the capture group to mask (0: the whole match). */
interface Matcher {
  re: RegExp;
  group: number;
  valid?: (match: string) => boolean;
}

/** A compiled detector. */
interface Detector {
  name: string;
  spec: MaskSpec;
  matchers: Matcher[];
}

/** A match to replace, in UTF-16 offsets of the scrubbed text; `order` breaks ties (policy order). */
interface Hit {
  start: number;
  end: number;
  order: number;
}

/** Bits of the built-ins that `mightMatch` prefilters. */
const EMAIL = 1 << 0;
const CARD = 1 << 1;
const SSN = 1 << 2;
const PHONE = 1 << 3;
const JWT = 1 << 4;
const AWS = 1 << 5;
const GCP = 1 << 6;
const GITHUB = 1 << 7;
const SLACK = 1 << 8;
const PRIVATE_KEY = 1 << 9;
const DIGIT_RUNS = CARD | SSN | PHONE;

/** The Luhn checksum (ISO/IEC 7812) over the digits of a string. */
function luhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 0x30;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** 13–19 digits, one kind of separator, Luhn-valid, not all one digit. */
function validCard(match: string): boolean {
  const digits = match.replace(/[ -]/g, '');
  if (digits.length < 13 || digits.length > 19) return false;
  if (match.includes(' ') && match.includes('-')) return false;
  if (/^(\d)\1*$/.test(digits)) return false;
  return luhn(digits);
}

/** 10–15 digits (E.164 allows 15). */
function validPhone(match: string): boolean {
  let digits = 0;
  for (let i = 0; i < match.length; i++) {
    const c = match.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) digits++;
  }
  return digits >= 10 && digits <= 15;
}

/**
 * The built-ins' expressions. Each starts with a lookbehind so a run of candidate characters is
 * tried once, not from each of its positions, and avoids ambiguous nested repetition, so every
 * scan is linear in the text.
 */
const BUILTINS: Record<string, { bit: number; matchers: () => Matcher[] }> = {
  email: {
    bit: EMAIL,
    matchers: () => [
      { re: /(?<![\w.%+-])[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,63}(?![\w-])/gu, group: 0 },
    ],
  },
  credit_card: {
    bit: CARD,
    // The major networks' IINs start with 2–6 (Mastercard 2/5, Amex/Diners/JCB 3, Visa 4, Discover/UnionPay 6).
    matchers: () => [
      { re: /(?<![\w.+-])[2-6]\d{3}(?:[ -]?\d){9,15}(?![\w-]|\.\d)/gu, group: 0, valid: validCard },
    ],
  },
  us_ssn: {
    bit: SSN,
    matchers: () => [
      { re: /(?<![\w.+-])(?!000|666|9\d\d)\d{3}([ -])(?!00)\d{2}\1(?!0000)\d{4}(?![\w-]|\.\d)/gu, group: 0 },
    ],
  },
  phone: {
    bit: PHONE,
    matchers: () => [
      // North American: (555) 123-4567, 555-123-4567, 555.123.4567, +1 555 123 4567.
      {
        re: /(?<![\w+.-])(?:\+?1[ .-]?)?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w-]|\.\d)/gu,
        group: 0,
        valid: validPhone,
      },
      // International: a leading + and 10–15 digits, groups split by one separator or in parentheses.
      {
        re: /(?<![\w+])\+\d+(?:[ .-]?\(\d{1,4}\)[ .-]?\d+|[ .-]\d+)*(?!\w)/gu,
        group: 0,
        valid: validPhone,
      },
    ],
  },
  jwt: {
    bit: JWT,
    // JWS (three segments) and JWE (five).
    matchers: () => [{ re: /(?<![\w-])eyJ[\w-]{4,}\.[\w-]+\.[\w-]*(?:\.[\w-]+){0,2}(?![\w-])/gu, group: 0 }],
  },
  aws_key: {
    bit: AWS,
    matchers: () => [
      { re: /(?<!\w)(?:AKIA|ASIA)[A-Z0-9]{16}(?!\w)/gu, group: 0 },
      // A secret access key only next to its label; `i` without `u` folds ASCII only, like the prefilter.
      {
        re: /secret[_-]?access[_-]?key\\?["']?\s*[:=]\s*\\?["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/dgi,
        group: 1,
      },
    ],
  },
  gcp_api_key: {
    bit: GCP,
    matchers: () => [{ re: /(?<![\w-])AIza[\w-]{35}(?![\w-])/gu, group: 0 }],
  },
  github_token: {
    bit: GITHUB,
    matchers: () => [{ re: /(?<!\w)(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_\w{22,})(?!\w)/gu, group: 0 }],
  },
  slack_token: {
    bit: SLACK,
    matchers: () => [{ re: /(?<![\w-])xox[abposr]-[A-Za-z0-9-]{10,}(?![\w-])/gu, group: 0 }],
  },
  private_key: {
    bit: PRIVATE_KEY,
    // To the END line (never across another BEGIN, so the scan stays linear); a block cut short
    // (no END) is masked to the end of its base64 text.
    matchers: () => [
      {
        re: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?:(?:(?!-----BEGIN )[^"])*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|[\w+/=\s\\:,.-]*)/gu,
        group: 0,
      },
    ],
  },
};

/** What a redact label may not contain: it must stay valid inside JSON strings and array/composite literals. */
const UNSAFE_LABEL = /[\s"\\{}(),]/gu;

/** A detector set compiled from the policy; immutable apart from its expressions' lastIndex during `scrub`. */
export class Detectors {
  /** True when there is no detector (callers skip the value scan altogether). */
  readonly empty: boolean;
  readonly #detectors: Detector[];
  /** Built-ins the byte prefilter looks for. */
  readonly #bits: number;
  /** A custom pattern without a literal prefilter: every non-empty value might match. */
  readonly #always: boolean;
  /** Literal bytes each custom pattern's matches start with. */
  readonly #literals: Buffer[];

  private constructor(detectors: Detector[], bits: number, always: boolean, literals: Buffer[]) {
    this.#detectors = detectors;
    this.#bits = bits;
    this.#always = always;
    this.#literals = literals;
    this.empty = detectors.length === 0;
  }

  /** Compiles the policy's detector list; throws DetectorError naming the first bad one. */
  static compile(defs: DetectorDef[]): Detectors {
    const detectors: Detector[] = [];
    const literals: Buffer[] = [];
    let bits = 0;
    let always = false;
    for (const def of defs) {
      if (typeof def.name !== 'string' || def.name === '') {
        throw new DetectorError('detector_name', 'a detector has no `name`');
      }
      if (!MASK_STRATEGIES.includes(def.strategy)) {
        throw new DetectorError(
          'detector_strategy',
          `detector \`${def.name}\`: unknown strategy \`${String(def.strategy)}\` (expected one of ${MASK_STRATEGIES.join(', ')})`,
        );
      }
      const spec: MaskSpec = { strategy: def.strategy, label: def.name.replace(UNSAFE_LABEL, '_') };
      if (def.pattern !== undefined) {
        const re = compileCustom(def.name, def.pattern);
        const literal = literalPrefix(def.pattern);
        if (literal === undefined) always = true;
        else literals.push(literal);
        detectors.push({ name: def.name, spec, matchers: [{ re, group: 0 }] });
        continue;
      }
      const builtin = Object.hasOwn(BUILTINS, def.name) ? BUILTINS[def.name] : undefined;
      if (builtin === undefined) {
        throw new DetectorError(
          'detector_unknown',
          `detector \`${def.name}\`: no such built-in detector (expected one of ${BUILTIN_DETECTORS.join(', ')}, or give a \`pattern\`)`,
        );
      }
      bits |= builtin.bit;
      detectors.push({ name: def.name, spec, matchers: builtin.matchers() });
    }
    return new Detectors(detectors, bits, always, literals);
  }

  /**
   * Cheap single-pass byte scan of bytes [start,end): false when no detector can match (most
   * values), so `scrub` and its string decoding run only on candidates. Never false when
   * `scrub` of the same bytes would find something.
   */
  mightMatch(bytes: Buffer, start: number, end: number): boolean {
    if (end <= start) return false;
    if (this.#always) return true;
    if (
      this.#bits !== 0 &&
      worthScanning(bytes, start, end) &&
      quickScan(bytes, start, end, this.#bits) &&
      scanBuiltins(bytes, start, end, this.#bits)
    ) {
      return true;
    }
    for (const literal of this.#literals) if (containsBytes(bytes, start, end, literal)) return true;
    return false;
  }

  /**
   * `text` with each match replaced by its detector's masked form (masker.maskText with label =
   * detector name; `null` strategy → the redact form), and the names of the detectors that
   * matched; undefined when nothing matched. `nullify` is true when a matching detector's
   * strategy is `null` (the caller may then null the whole value).
   */
  scrub(text: string, masker: ValueMasker): { text: string; hits: string[]; nullify: boolean } | undefined {
    const found: Hit[] = [];
    this.#detectors.forEach((detector, order) => {
      for (const matcher of detector.matchers) collect(text, matcher, order, found);
    });
    if (found.length === 0) return undefined;
    // Earliest first, then longest, then the policy's order.
    found.sort((a, b) => a.start - b.start || b.end - a.end || a.order - b.order);
    let out = '';
    let pos = 0;
    const hits: string[] = [];
    let nullify = false;
    for (const hit of found) {
      if (hit.start < pos) continue;
      const detector = this.#detectors[hit.order]!;
      const original = text.slice(hit.start, hit.end);
      // A masked backslash escape would leave a broken one behind: keep no partial form around one.
      const spec: MaskSpec =
        detector.spec.strategy === 'partial' && original.includes('\\')
          ? { strategy: 'redact', label: detector.spec.label }
          : detector.spec;
      out += text.slice(pos, hit.start) + masker.maskText(original, spec);
      pos = hit.end;
      if (!hits.includes(detector.name)) hits.push(detector.name);
      if (detector.spec.strategy === 'null') nullify = true;
    }
    return { text: out + text.slice(pos), hits, nullify };
  }
}

/** Adds the valid matches of one expression in `text` to `found`, trimmed so no escape sequence is cut. */
function collect(text: string, matcher: Matcher, order: number, found: Hit[]): void {
  const { re, group, valid } = matcher;
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const whole = m[0];
    if (whole.length === 0) {
      re.lastIndex = m.index + 1; // a custom pattern that matched nothing: move on
      continue;
    }
    if (valid !== undefined && !valid(whole)) {
      re.lastIndex = m.index + 1; // a shorter candidate may start inside the rejected one
      continue;
    }
    const span: [number, number] | undefined =
      group === 0 ? [m.index, m.index + whole.length] : m.indices?.[group];
    if (span === undefined) continue;
    const trimmed = trimEscapes(text, span[0], span[1]);
    if (trimmed !== undefined) found.push({ start: trimmed[0], end: trimmed[1], order });
  }
}

/**
 * Keeps a replacement from breaking backslash escapes of the text around it (JSON strings,
 * array and composite literals): a match that starts with an escaped character starts after
 * that escape, and one that ends with a lone backslash leaves it in place.
 */
function trimEscapes(text: string, start: number, end: number): [number, number] | undefined {
  if (escaped(text, start)) {
    if (text.charCodeAt(start) === 0x75 /* u */) {
      let i = start + 1;
      while (i < start + 5 && i < end && /[0-9A-Fa-f]/.test(text.charAt(i))) i++;
      start = i;
    } else {
      start += 1;
    }
  }
  if (end > start && escaped(text, end)) end -= 1;
  return end > start ? [start, end] : undefined;
}

/** Whether the character at `i` follows an odd run of backslashes (is escaped). */
function escaped(text: string, i: number): boolean {
  let n = 0;
  for (let j = i - 1; j >= 0 && text.charCodeAt(j) === 0x5c; j--) n++;
  return n % 2 === 1;
}

/** Compiles a custom detector's pattern (flags `gu`), rejecting ones that are invalid, match nothing, or may backtrack catastrophically. */
function compileCustom(name: string, pattern: string): RegExp {
  let re: RegExp;
  try {
    re = new RegExp(pattern, 'gu');
  } catch (error) {
    throw new DetectorError(
      'detector_pattern',
      `detector \`${name}\`: invalid \`pattern\` (${(error as Error).message})`,
      {
        cause: error,
      },
    );
  }
  if (matchesEmpty(re)) {
    throw new DetectorError('detector_pattern', `detector \`${name}\`: \`pattern\` matches the empty string`);
  }
  if (nestedQuantifier(pattern)) {
    throw new DetectorError(
      'detector_pattern',
      `detector \`${name}\`: \`pattern\` repeats a group that itself has a variable-length repetition (like \`(a+)+\`), which can take exponential time; rewrite it without the nesting`,
    );
  }
  return re;
}

/** Texts on which a pattern that can match the empty string usually does (a zero-length match is also skipped at run time). */
const EMPTY_PROBES = ['', 'a', 'A', '0', ' ', '_', '-', '@', '.', 'a b', 'x1', '\n', 'é'];

/** Whether a pattern produces a zero-length match on any probe. */
function matchesEmpty(re: RegExp): boolean {
  for (const probe of EMPTY_PROBES) {
    re.lastIndex = 0;
    const m = re.exec(probe);
    if (m !== null && m[0].length === 0) return true;
    for (let i = 0; i <= probe.length; i++) {
      const sticky = new RegExp(re.source, 'uy');
      sticky.lastIndex = i;
      const at = sticky.exec(probe);
      if (at !== null && at[0].length === 0) return true;
    }
  }
  re.lastIndex = 0;
  return false;
}

/**
 * A heuristic for catastrophic backtracking: a group repeated more than once (`*`, `+`, `{n,}`,
 * `{n,m}` with m > 1) whose body has a variable-length repetition (`*`, `+`, `?`, `{n,m}`,
 * `{n,}`), as in `(a+)+` or `(\w+\s?)*`. It does not catch overlapping alternatives (`(a|a)*`);
 * zero-length matches and the prefilter bound the rest.
 */
function nestedQuantifier(pattern: string): boolean {
  const stack: boolean[] = [false]; // per open group: its body has a variable repetition
  let closed = false; // the previous atom was a group whose body varies
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === '\\') {
      i += 2;
      closed = false;
      continue;
    }
    if (c === '[') {
      i++;
      while (i < pattern.length && pattern[i] !== ']') i += pattern[i] === '\\' ? 2 : 1;
      i++;
      closed = false;
      continue;
    }
    if (c === '(') {
      stack.push(false);
      i++;
      if (pattern[i] === '?') {
        // (?: (?= (?! (?<= (?<! (?<name>
        if (pattern[i + 1] === '<' && pattern[i + 2] !== '=' && pattern[i + 2] !== '!') {
          const close = pattern.indexOf('>', i);
          i = close < 0 ? pattern.length : close + 1;
        } else {
          i += pattern[i + 1] === '<' ? 3 : 2;
        }
      }
      closed = false;
      continue;
    }
    if (c === ')') {
      const body = stack.length > 1 ? stack.pop()! : false;
      if (body) stack[stack.length - 1] = true;
      closed = body;
      i++;
      continue;
    }
    const quantifier = readQuantifier(pattern, i);
    if (quantifier !== undefined) {
      if (closed && quantifier.repeats) return true;
      if (quantifier.varies) stack[stack.length - 1] = true;
      i = quantifier.next;
      if (pattern[i] === '?') i++; // lazy
      closed = false;
      continue;
    }
    closed = false;
    i++;
  }
  return false;
}

/** The quantifier at `i`, if any: whether it repeats more than once, whether its count varies, and where it ends. */
function readQuantifier(
  pattern: string,
  i: number,
): { repeats: boolean; varies: boolean; next: number } | undefined {
  const c = pattern[i];
  if (c === '*' || c === '+') return { repeats: true, varies: true, next: i + 1 };
  if (c === '?') return { repeats: false, varies: true, next: i + 1 };
  if (c !== '{') return undefined;
  const m = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i));
  if (m === null) return undefined;
  const min = Number(m[1]);
  const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
  return { repeats: max > 1, varies: max !== min, next: i + m[0].length };
}

/**
 * The literal text every match of a custom pattern starts with (leading `^`/`\b` skipped), when
 * it is at least two characters and the pattern has no alternation; used as a byte prefilter.
 */
function literalPrefix(pattern: string): Buffer | undefined {
  if (pattern.includes('|')) return undefined;
  let i = 0;
  for (;;) {
    if (pattern[i] === '^') i += 1;
    else if (pattern.startsWith('\\b', i)) i += 2;
    else break;
  }
  let literal = '';
  for (; i < pattern.length; i++) {
    const c = pattern[i]!;
    if ('\\^$.|?*+()[]{}'.includes(c)) {
      if (c === '?' || c === '*' || c === '{') literal = literal.slice(0, -1); // the last character is optional
      break;
    }
    literal += c;
  }
  // Under `u` a quantifier applies to a whole code point: drop what slice(0, -1) left of one.
  if (/[\uD800-\uDBFF]$/.test(literal)) literal = literal.slice(0, -1);
  return literal.length >= 2 ? Buffer.from(literal, 'utf8') : undefined;
}

/** Whether bytes [start,end) contain `literal`. */
function containsBytes(bytes: Buffer, start: number, end: number, literal: Buffer): boolean {
  const first = literal[0]!;
  const last = end - literal.length;
  outer: for (let i = start; i <= last; i++) {
    if (bytes[i] !== first) continue;
    for (let k = 1; k < literal.length; k++) if (bytes[i + k] !== literal[k]) continue outer;
    return true;
  }
  return false;
}

/** Bytes that are `\w` in a regex: ASCII letters, digits and `_`. */
const WORD: Uint8Array = (() => {
  const table = new Uint8Array(256);
  for (let b = 0x30; b <= 0x39; b++) table[b] = 1;
  for (let b = 0x41; b <= 0x5a; b++) table[b] = 1;
  for (let b = 0x61; b <= 0x7a; b++) table[b] = 1;
  table[0x5f] = 1;
  return table;
})();

const SP = 0x20;
const DASH = 0x2d;
const DOT = 0x2e;
const PLUS = 0x2b;
const RPAREN = 0x29;
const LPAREN = 0x28;

/** Whether a digit after byte `prev` (-1: none) may start a card number (the card expression's lookbehind). */
function cardMayStart(prev: number): boolean {
  return prev < 0 || (WORD[prev] === 0 && prev !== DOT && prev !== PLUS && prev !== DASH);
}

/** Whether bytes at `i` spell `ascii` (exactly). */
function startsWith(bytes: Buffer, i: number, end: number, ascii: string): boolean {
  if (i + ascii.length > end) return false;
  for (let k = 0; k < ascii.length; k++) if (bytes[i + k] !== ascii.charCodeAt(k)) return false;
  return true;
}

/** Whether bytes at `i` spell lowercase `ascii` ignoring ASCII case; returns the end or -1. */
function foldedAt(bytes: Buffer, i: number, end: number, ascii: string): number {
  if (i + ascii.length > end) return -1;
  for (let k = 0; k < ascii.length; k++) {
    const b = bytes[i + k]!;
    const lower = b >= 0x41 && b <= 0x5a ? b | 0x20 : b;
    if (lower !== ascii.charCodeAt(k)) return -1;
  }
  return i + ascii.length;
}

/** `secret[_-]?access[_-]?key` ignoring ASCII case, at `i`. */
function secretLabelAt(bytes: Buffer, i: number, end: number): boolean {
  let at = foldedAt(bytes, i, end, 'secret');
  if (at < 0) return false;
  if (bytes[at] === 0x5f || bytes[at] === DASH) at++;
  at = foldedAt(bytes, at, end, 'access');
  if (at < 0) return false;
  if (bytes[at] === 0x5f || bytes[at] === DASH) at++;
  return foldedAt(bytes, at, end, 'key') >= 0;
}

/** Per byte: the built-ins (bits) a byte other than a digit can start the literal prefix of. */
const PREFIX_OF: Uint16Array = (() => {
  const table = new Uint16Array(256);
  table[0x40] = EMAIL; // @
  table[0x65] = JWT; // eyJ
  table[0x41] = AWS | GCP; // AKIA ASIA AIza
  table[0x73] = AWS; // secret_access_key
  table[0x53] = AWS; // SECRET_ACCESS_KEY
  table[0x67] = GITHUB; // gh?_ github_pat_
  table[0x78] = SLACK; // xox?-
  table[DASH] = PRIVATE_KEY; // -----BEGIN
  table[PLUS] = PHONE; // +<digits>
  return table;
})();

/** Byte classes of `quickScan`. */
const Q_DIGIT = 1;
const Q_SEPARATOR = 2; // what joins the digit groups of cards, phones and SSNs: space . - ( ) +
const Q_PREFIX = 4; // may start a token prefix (see PREFIX_OF)
const QUICK_CLASS: Uint8Array = (() => {
  const table = new Uint8Array(256);
  for (let b = 0x30; b <= 0x39; b++) table[b] = Q_DIGIT;
  for (const b of [SP, DOT, DASH, LPAREN, RPAREN, PLUS]) table[b] = Q_SEPARATOR;
  for (let b = 0; b < 256; b++) if (PREFIX_OF[b] !== 0) table[b] = (table[b] as number) | Q_PREFIX;
  return table;
})();

/** Byte classes of `worthScanning`. */
const W_DIGIT = 1;
const W_SEPARATOR = 2;
const W_WITNESS = 4;
const WORTH_CLASS: Uint8Array = (() => {
  const table = new Uint8Array(256);
  for (let b = 0; b < 256; b++) {
    const k = QUICK_CLASS[b] as number;
    if ((k & Q_DIGIT) !== 0) table[b] = W_DIGIT;
    if ((k & Q_SEPARATOR) !== 0) table[b] = W_SEPARATOR;
  }
  // One byte every prefix `prefixAt` accepts must contain, picked to be rare in ordinary values
  // (hex digests, ids, timestamps, UUIDs have none): @ · eyJ → J · AKIA ASIA AIza → A ·
  // secret…access…key (any case) → k K · gh?_ github_pat_ → _ · xox?- → x · -----BEGIN → B · + .
  for (const witness of '@JAkK_xB+') {
    const b = witness.charCodeAt(0);
    table[b] = (table[b] as number) | W_WITNESS;
  }
  return table;
})();

/**
 * The first, branch-free pass: false only where `quickScan` would be false too. It only counts
 * (digits, the longest digit run) and collects byte classes, with no branch per byte — random
 * data such as hex digests makes the branches of a byte-by-byte scanner mispredict on about every
 * other byte, which on large results cost more than everything else the proxy does per row. Two
 * bytes per iteration.
 */
function worthScanning(b: Buffer, start: number, end: number): boolean {
  let classes = 0;
  let digits = 0;
  let run = 0;
  // Negative once a run reaches 13 digits (12 - run < 0 sets the sign bit).
  let long = 0;
  let i = start;
  for (; i + 1 < end; i += 2) {
    const k1 = WORTH_CLASS[b[i]!]!;
    const k2 = WORTH_CLASS[b[i + 1]!]!;
    const d1 = k1 & W_DIGIT;
    const d2 = k2 & W_DIGIT;
    classes |= k1 | k2;
    digits += d1 + d2;
    run = (run + 1) * d1;
    long |= 12 - run;
    run = (run + 1) * d2;
    long |= 12 - run;
  }
  if (i < end) {
    const k = WORTH_CLASS[b[i]!]!;
    const d = k & W_DIGIT;
    classes |= k;
    digits += d;
    run = (run + 1) * d;
    long |= 12 - run;
  }
  return long < 0 || (classes & W_WITNESS) !== 0 || ((classes & W_SEPARATOR) !== 0 && digits >= 7);
}

/**
 * A cheaper pass in front of `scanBuiltins`, false only where it would be false too: without a
 * prefix byte of an enabled built-in, a value needs either 13+ digits in a row (a card without
 * separators) or a separator and 7+ digits (every grouped card, phone and SSN form) before the
 * digit-group checks are worth running. Hex digests, ids and most words stop here.
 */
function quickScan(b: Buffer, start: number, end: number, on: number): boolean {
  let digits = 0;
  let run = 0;
  let separator = false;
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    const k = QUICK_CLASS[c]!;
    if (k === 0) {
      run = 0;
      continue;
    }
    if ((k & Q_DIGIT) !== 0) {
      digits++;
      if (++run >= 13) return true;
      continue;
    }
    run = 0;
    if ((k & Q_SEPARATOR) !== 0) separator = true;
    if ((k & Q_PREFIX) !== 0 && (PREFIX_OF[c]! & on) !== 0 && prefixAt(b, i, start, end, c)) return true;
  }
  return separator && digits >= 7 && (on & DIGIT_RUNS) !== 0;
}

/** Whether a byte is an ASCII digit (-1 and other bytes are not). */
function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/**
 * The built-ins' prefilter, one pass: a '@'; a token prefix (`eyJ`, `AKIA`/`ASIA`, the
 * secret-key label, `AIza`, `gh?_`/`github_pat_`, `xox?-`, `-----BEGIN`); 13+ digits joined by
 * single spaces/dashes (card); a 4-digit group after one separator after a 3-digit group
 * (North-American phone) or a 2-digit one (SSN); '+' and 10+ digits (international phone).
 * Timestamps, UUIDs, hex digests, IPs and versions pass none of these. Bytes around a digit
 * group are looked at only where a group starts or ends, so most bytes cost two comparisons.
 */
function scanBuiltins(b: Buffer, start: number, end: number, on: number): boolean {
  const digitRuns = (on & DIGIT_RUNS) !== 0;
  let card = 0; // digits of the current card-like run (0: none, or one that cannot be a card)
  let group = 0; // length of the current digit group
  let groupPre = -1; // the byte before it
  let lastGroup = 0; // the previous group, when exactly one separator lies between: its length…
  let lastPre = -1; // …the byte before it…
  let lastSep = -1; // …and the separator
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if (c >= 0x30 && c <= 0x39) {
      if (!digitRuns) continue;
      if (group === 0) {
        const p = i > start ? b[i - 1]! : -1;
        const p2 = i > start + 1 ? b[i - 2]! : -1;
        groupPre = p;
        if (!isDigit(p2)) lastGroup = 0;
        card = card > 0 && (p === SP || p === DASH) && isDigit(p2) ? card + 1 : cardMayStart(p) ? 1 : 0;
      } else if (card > 0) {
        card++;
      }
      group++;
      if (card >= 13) return true;
      continue;
    }
    if (group > 0) {
      if (group === 4 && groupEndsNumber(lastGroup, lastPre, lastSep)) return true;
      lastGroup = group;
      lastPre = groupPre;
      lastSep = c;
      group = 0;
    }
    const prefix = PREFIX_OF[c]! & on;
    if (prefix !== 0 && prefixAt(b, i, start, end, c)) return true;
  }
  return group === 4 && groupEndsNumber(lastGroup, lastPre, lastSep);
}

/** Whether '+' at `i` starts an international number: not after a word character or '+', then 10+ digits among ` .-()`. */
function internationalAt(b: Buffer, i: number, start: number, end: number): boolean {
  if (i > start) {
    const p = b[i - 1]!;
    if (WORD[p] === 1 || p === PLUS) return false;
  }
  let digits = 0;
  for (let k = i + 1; k < end; k++) {
    const c = b[k]!;
    if (isDigit(c)) {
      if (++digits >= 10) return true;
    } else if (c !== SP && c !== DOT && c !== DASH && c !== LPAREN && c !== RPAREN) {
      return false;
    }
  }
  return false;
}

/**
 * Whether a group of 4 digits after `sep` after a group of `last` digits (preceded by `pre`)
 * can end a phone (`ddd[ .-]dddd`, the first group after a separator or ')') or an SSN
 * (`dd[ -]dddd` after a separator).
 */
function groupEndsNumber(last: number, pre: number, sep: number): boolean {
  if (last === 3)
    return (
      (sep === SP || sep === DOT || sep === DASH) &&
      (pre === SP || pre === DOT || pre === DASH || pre === RPAREN)
    );
  if (last === 2) return (sep === SP || sep === DASH) && (pre === SP || pre === DASH);
  return false;
}

/** Whether byte `c` at `i` (one PREFIX_OF names for an enabled built-in) starts that built-in's prefix. */
function prefixAt(b: Buffer, i: number, start: number, end: number, c: number): boolean {
  switch (c) {
    case 0x40: // @
      return true;
    case 0x65: // e
      return i + 2 < end && b[i + 1] === 0x79 && b[i + 2] === 0x4a;
    case 0x41: // A (an extra AWS or GCP check when only the other is enabled is harmless)
      return startsWith(b, i, end, 'AKIA') || startsWith(b, i, end, 'ASIA') || startsWith(b, i, end, 'AIza');
    case 0x73: // s
    case 0x53: // S
      return secretLabelAt(b, i, end);
    case 0x67: // g
      if (i + 3 >= end) return false;
      if (b[i + 1] === 0x68 && b[i + 3] === 0x5f) {
        const t = b[i + 2];
        return t === 0x70 || t === 0x6f || t === 0x75 || t === 0x73 || t === 0x72; // p o u s r
      }
      return startsWith(b, i, end, 'github_pat_');
    case 0x78: // x
      if (!startsWith(b, i, end, 'xox') || i + 4 >= end || b[i + 4] !== DASH) return false;
      return 'abposr'.includes(String.fromCharCode(b[i + 3]!));
    case DASH:
      return startsWith(b, i, end, '-----BEGIN');
    case PLUS:
      return internationalAt(b, i, start, end);
    default:
      return false;
  }
}
