/** SASLprep (RFC 4013) of a password, as PostgreSQL applies it before SCRAM. */
type Ranges = ReadonlyArray<readonly [number, number]>;
// C.1.2 non-ASCII spaces, mapped to ' '.
const NON_ASCII_SPACE = hexRanges('a0 1680 2000-200b 202f 205f 3000');
// B.1 commonly mapped to nothing.
const MAPPED_TO_NOTHING = hexRanges('ad 34f 1806 180b-180d 200b-200d 2060 fe00-fe0f feff');
// Prohibited output: C.2.1, C.2.2, C.3, C.5, C.6, C.7, C.8, C.9 (C.4 is covered by UNASSIGNED).
const PROHIBITED = hexRanges(
  '0-1f 7f ' +
    '80-9f 6dd 70f 180e 200c-200d 2028-2029 2060-2063 206a-206f feff fff9-fffc 1d173-1d17a ' +
    'e000-f8ff f0000-ffffd 100000-10fffd ' +
    'd800-dfff ' +
    'fff9-fffd ' +
    '2ff0-2ffb ' +
    '340-341 200e-200f 202a-202e ' +
    'e0001 e0020-e007f',
);
const UNASSIGNED = /\p{Cn}/u; // today's unassigned code points: all of C.4 and a subset of A.1

/**
 * SASLprep the way PostgreSQL does it: ASCII passes unchanged; otherwise map spaces and drop
 * ignorables, check for prohibited code points (falling back to the raw password, as PostgreSQL
 * does), then NFKC. The bidi rule of RFC 3454 §6 is not applied: JavaScript cannot test Bidi_Class.
 */
export function saslPrep(password: string): string {
  const chars = [...password];
  if (chars.every((c) => c.charCodeAt(0) < 0x80)) return password;
  const mapped: string[] = [];
  for (const c of chars) {
    const code = c.codePointAt(0) as number;
    if (inRanges(code, NON_ASCII_SPACE)) mapped.push(' ');
    else if (!inRanges(code, MAPPED_TO_NOTHING)) mapped.push(c);
  }
  const prohibited = mapped.some(
    (c) => inRanges(c.codePointAt(0) as number, PROHIBITED) || UNASSIGNED.test(c),
  );
  return mapped.length === 0 || prohibited ? password : mapped.join('').normalize('NFKC');
}

function hexRanges(spec: string): Ranges {
  return spec.split(' ').map((range) => {
    const [from = '', to = from] = range.split('-');
    return [parseInt(from, 16), parseInt(to, 16)] as const;
  });
}

function inRanges(code: number, ranges: Ranges): boolean {
  return ranges.some(([from, to]) => code >= from && code <= to);
}

// ---- certificate signature hash for tls-server-end-point (RFC 5929 §4.1) ----
