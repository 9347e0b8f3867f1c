import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { MaskSpec, MaskStrategy } from '../../src/policy/mask/types.js';
import { ValueMasker, valueKind, type ValueKind } from '../../src/policy/mask/values.js';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef');
const masker = new ValueMasker(KEY);
const spec = (strategy: MaskStrategy, label = 'email'): MaskSpec => ({ strategy, label });
const partial = spec('partial');

/** A jsonb binary wire value: version byte 1, then the JSON text. */
const jsonb = (json: string): Buffer => Buffer.concat([Buffer.from([1]), Buffer.from(json)]);
/** The masked value as text (asserting it is not NULL). */
const text = (out: Buffer | null): string => {
  expect(out).not.toBeNull();
  return out!.toString('utf8');
};

/** A small deterministic PRNG, so failures reproduce. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('valueKind', () => {
  const table: [string, number, number, ValueKind][] = [
    ['text', 25, 0, 'text'],
    ['text binary', 25, 1, 'text'],
    ['varchar binary', 1043, 1, 'text'],
    ['bpchar binary', 1042, 1, 'text'],
    ['name binary', 19, 1, 'text'],
    ['unknown binary', 705, 1, 'text'],
    ['xml binary', 142, 1, 'text'],
    ['"char" binary', 18, 1, 'text'],
    ['an enum (unknown OID) as text', 16_500, 0, 'text'],
    ['an unknown OID in binary', 16_500, 1, 'other'],
    ['text[] as text', 1009, 0, 'text'],
    ['varchar[] as text', 1015, 0, 'text'],
    ['text[] in binary', 1009, 1, 'other'],
    ['a composite (record) as text', 2249, 0, 'text'],
    ['json as text', 114, 0, 'json'],
    ['json in binary', 114, 1, 'json'],
    ['jsonb as text', 3802, 0, 'json'],
    ['jsonb in binary', 3802, 1, 'jsonb'],
    ['int4[] as text', 1007, 0, 'other'],
    ['timestamptz[] as text', 1185, 0, 'other'],
    ['an unknown format', 25, 2, 'other'],
  ];
  it.each(table)('%s', (_name, oid, format, kind) => {
    expect(valueKind(oid, format)).toBe(kind);
  });

  const nonText = [16, 21, 23, 20, 26, 700, 701, 1700, 790, 1082, 1083, 1266, 1114, 1184, 1186, 2950];
  const nonText2 = [17, 869, 650, 829, 1560, 1562, 27, 28, 29, 3220];
  it.each([...nonText, ...nonText2])('builtin non-text type %i is other in both formats', (oid) => {
    expect(valueKind(oid, 0)).toBe('other');
    expect(valueKind(oid, 1)).toBe('other');
  });
});

describe('ValueMasker.mask: kind other', () => {
  it.each(['redact', 'partial', 'hash', 'null'] as const)('%s gives SQL NULL', (strategy) => {
    expect(masker.mask(Buffer.from('42'), 'other', spec(strategy))).toBeNull();
  });
});

describe('ValueMasker.mask: every strategy × kind', () => {
  const kinds = ['text', 'json', 'jsonb'] as const;

  it.each(kinds)('null gives SQL NULL for %s', (kind) => {
    expect(masker.mask(Buffer.from('"x"'), kind, spec('null'))).toBeNull();
  });

  it('redact: text', () => {
    expect(text(masker.mask(Buffer.from('alice@example.com'), 'text', spec('redact')))).toBe(
      '[REDACTED:email]',
    );
  });

  it('redact: json is a JSON string literal', () => {
    const out = text(masker.mask(Buffer.from('{"a":1}'), 'json', spec('redact')));
    expect(out).toBe('"[REDACTED:email]"');
    expect(JSON.parse(out)).toBe('[REDACTED:email]');
  });

  it('redact: jsonb starts with the version byte', () => {
    const out = masker.mask(jsonb('{"a": 1}'), 'jsonb', spec('redact'))!;
    expect(out[0]).toBe(1);
    expect(JSON.parse(out.subarray(1).toString())).toBe('[REDACTED:email]');
  });

  it('redact: a label with quotes stays valid JSON', () => {
    const out = text(masker.mask(Buffer.from('1'), 'json', spec('redact', 'we"ird\\col')));
    expect(JSON.parse(out)).toBe('[REDACTED:we"ird\\col]');
  });

  it('partial: text', () => {
    expect(text(masker.mask(Buffer.from('555-123-4567'), 'text', partial))).toBe('***-***-4567');
  });

  it('partial: json of a JSON string masks its content', () => {
    const out = text(masker.mask(Buffer.from('"alice.smith@example.com"'), 'json', partial));
    expect(JSON.parse(out)).toBe('a***@example.com');
  });

  it('partial: json of an object becomes a JSON string of the masked text', () => {
    const out = text(masker.mask(Buffer.from('{"ssn": "123-45-6789"}'), 'json', partial));
    expect(JSON.parse(out)).toBe('{"***": "***-**-6789"}');
  });

  it('partial: jsonb', () => {
    const out = masker.mask(jsonb('"4111-1111-1111-1111"'), 'jsonb', partial)!;
    expect(out[0]).toBe(1);
    expect(JSON.parse(out.subarray(1).toString())).toBe('****-****-****-1111');
  });

  it('hash: text', () => {
    expect(text(masker.mask(Buffer.from('alice@example.com'), 'text', spec('hash')))).toMatch(
      /^h:[0-9a-f]{16}$/,
    );
  });

  it('hash: json and jsonb hash the same JSON text', () => {
    const json = text(masker.mask(Buffer.from('{"a": 1}'), 'json', spec('hash')));
    const binary = masker.mask(jsonb('{"a": 1}'), 'jsonb', spec('hash'))!;
    expect(JSON.parse(json)).toMatch(/^h:[0-9a-f]{16}$/);
    expect(binary[0]).toBe(1);
    expect(binary.subarray(1).toString()).toBe(json);
  });
});

describe('ValueMasker: hash', () => {
  it('is HMAC-SHA256(key, value), first 16 hex digits', () => {
    const expected = createHmac('sha256', KEY).update('alice@example.com').digest('hex').slice(0, 16);
    expect(masker.maskText('alice@example.com', spec('hash'))).toBe(`h:${expected}`);
  });

  it('is deterministic under one key', () => {
    const other = new ValueMasker(Buffer.from(KEY));
    const a = masker.mask(Buffer.from('secret'), 'text', spec('hash'));
    expect(masker.mask(Buffer.from('secret'), 'text', spec('hash'))).toEqual(a);
    expect(other.mask(Buffer.from('secret'), 'text', spec('hash'))).toEqual(a);
    expect(masker.maskText('secret', spec('hash'))).toBe(a!.toString());
  });

  it('differs between keys and between values', () => {
    const other = new ValueMasker(Buffer.from('another key'));
    expect(other.maskText('secret', spec('hash'))).not.toBe(masker.maskText('secret', spec('hash')));
    expect(masker.maskText('secret2', spec('hash'))).not.toBe(masker.maskText('secret', spec('hash')));
  });

  it('does not depend on a key buffer changed after construction', () => {
    const key = Buffer.from('mutable key');
    const m = new ValueMasker(key);
    const before = m.maskText('x', spec('hash'));
    key.fill(0);
    expect(m.maskText('x', spec('hash'))).toBe(before);
  });
});

describe('partial', () => {
  const examples: [string, string][] = [
    ['alice.smith@example.com', 'a***@example.com'],
    ['bob@mail.example.org', 'b***@mail.example.org'],
    ['4111-1111-1111-1111', '****-****-****-1111'],
    ['555-123-4567', '***-***-4567'],
    ['(555) 123-4567', '(***) ***-4567'],
    ['+1 555 123 4567', '+* *** *** 4567'],
    ['Ann', '***'],
    ['1234567', '*******'],
    ['12345678', '****5678'],
    ['', ''],
    ['--', '--'],
    ['d41d8cd98f00b204e9800998ecf8427e', '****************************427e'],
    ['not an email @ all', '*** ** ****l @ all'],
    ['a@b', '*@*'],
    ['a@b.c@d.e', '*@*.*@*.*'],
    ['@example.com', '@******e.com'],
    ['Jöhn Døe-Smïth', '**** ***-*mïth'],
    ['Ünïcödé@exämple.com', 'Ü***@exämple.com'],
    ['東京都千代田区丸の内', '******区丸の内'],
    ['Привет', '******'],
  ];
  it.each(examples)('%s → %s', (input, expected) => {
    expect(masker.maskText(input, partial)).toBe(expected);
    expect(text(masker.mask(Buffer.from(input), 'text', partial))).toBe(expected);
  });

  it('keeps the length in characters for non-emails', () => {
    for (const input of ['4111-1111-1111-1111', 'Jöhn Døe-Smïth', '東京都千代田区丸の内', 'a b c']) {
      expect([...masker.maskText(input, partial)]).toHaveLength([...input].length);
    }
  });
});

describe('maskText', () => {
  it('null gives the redact form, never null', () => {
    expect(masker.maskText('x', spec('null', 'ssn'))).toBe('[REDACTED:ssn]');
    expect(masker.maskText('x', spec('redact', 'ssn'))).toBe('[REDACTED:ssn]');
  });

  it('agrees with mask on text values', () => {
    for (const s of ['alice@example.com', 'Jöhn', '4111 1111 1111 1111', '']) {
      for (const strategy of ['redact', 'partial', 'hash'] as const) {
        expect(masker.maskText(s, spec(strategy))).toBe(
          text(masker.mask(Buffer.from(s), 'text', spec(strategy))),
        );
      }
    }
  });
});

describe('maskInPlace', () => {
  it('masks a hex digest in place, exactly as mask does', () => {
    const row = Buffer.from('xx d41d8cd98f00b204e9800998ecf8427e yy');
    expect(masker.maskInPlace(row, 3, 35, 'text', partial)).toBe(true);
    expect(row.toString()).toBe('xx ****************************427e yy');
  });

  it.each([
    ['an email', 'alice@example.com', 'text', partial],
    ['non-ASCII', 'Jöhn Døe', 'text', partial],
    ['redact', 'abc', 'text', spec('redact')],
    ['hash', 'abc', 'text', spec('hash')],
    ['null', 'abc', 'text', spec('null')],
    ['json', '"abc"', 'json', partial],
    ['other', '12345678', 'other', partial],
  ] as [string, string, ValueKind, MaskSpec][])(
    'declines %s and touches nothing',
    (_name, value, kind, s) => {
      const buf = Buffer.from(`[${value}]`);
      const copy = Buffer.from(buf);
      expect(masker.maskInPlace(buf, 1, buf.length - 1, kind, s)).toBe(false);
      expect(buf).toEqual(copy);
    },
  );

  it('writes what mask returns, on many random values', () => {
    const next = random(42);
    const alphabet = 'abcdefABCDEF0123456789 -.()+@/_:é\u0000';
    let inPlace = 0;
    for (let n = 0; n < 5000; n++) {
      const length = Math.floor(next() * 40);
      let value = '';
      const hex = next() < 0.3;
      for (let i = 0; i < length; i++) {
        value += hex
          ? '0123456789abcdef'[Math.floor(next() * 16)]
          : alphabet[Math.floor(next() * alphabet.length)];
      }
      const bytes = Buffer.from(value);
      const row = Buffer.concat([Buffer.from('<<'), bytes, Buffer.from('>>')]);
      const before = Buffer.from(row);
      const expected = masker.mask(bytes, 'text', partial)!;
      if (masker.maskInPlace(row, 2, 2 + bytes.length, 'text', partial)) {
        inPlace++;
        expect(row.subarray(2, 2 + bytes.length)).toEqual(expected);
        expect(row.subarray(0, 2)).toEqual(before.subarray(0, 2));
        expect(row.subarray(2 + bytes.length)).toEqual(before.subarray(2 + bytes.length));
      } else {
        expect(row).toEqual(before);
      }
    }
    expect(inPlace).toBeGreaterThan(1000);
  });
});

describe('invalid UTF-8', () => {
  const invalid = [
    Buffer.from([0xff, 0xfe, 0x41, 0x42]),
    Buffer.from([0x61, 0xc3]),
    Buffer.from([0xed, 0xa0, 0x80, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37]),
    Buffer.from([0x80, 0x40, 0x61, 0x2e, 0x62, 0x63]),
    Buffer.from([0xe2, 0x82]),
    Buffer.from([0x01, 0xff, 0x22]),
  ];
  it.each(invalid.map((b) => [b.toString('hex'), b] as const))('%s does not throw', (_hex, value) => {
    for (const kind of ['text', 'json', 'jsonb', 'other'] as const) {
      for (const strategy of ['redact', 'partial', 'hash', 'null'] as const) {
        expect(() => masker.mask(value, kind, spec(strategy))).not.toThrow();
      }
      expect(() => masker.maskInPlace(Buffer.from(value), 0, value.length, kind, partial)).not.toThrow();
    }
    const json = masker.mask(value, 'json', partial);
    expect(() => JSON.parse(json!.toString())).not.toThrow();
  });

  it('partial masks every invalid byte', () => {
    expect(masker.mask(Buffer.from([0xff, 0xfe, 0x2d, 0x41]), 'text', partial)).toEqual(Buffer.from('**-*'));
  });

  it('redact and hash still work', () => {
    const value = Buffer.from([0xff, 0xfe]);
    expect(text(masker.mask(value, 'text', spec('redact')))).toBe('[REDACTED:email]');
    expect(text(masker.mask(value, 'text', spec('hash')))).toBe(
      `h:${createHmac('sha256', KEY).update(value).digest('hex').slice(0, 16)}`,
    );
  });
});
