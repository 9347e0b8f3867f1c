import { describe, expect, it } from 'vitest';
import {
  BUILTIN_DETECTORS,
  DetectorError,
  Detectors,
  type DetectorDef,
} from '../../src/policy/mask/detectors.js';
import type { MaskStrategy } from '../../src/policy/mask/types.js';
import { ValueMasker } from '../../src/policy/mask/values.js';

const masker = new ValueMasker(Buffer.from('test key'));
const all = Detectors.compile(BUILTIN_DETECTORS.map((name) => ({ name, strategy: 'redact' })));
const only = (name: string, strategy: MaskStrategy = 'redact'): Detectors =>
  Detectors.compile([{ name, strategy }]);

/** mightMatch over a whole string's UTF-8 bytes, placed inside a bigger buffer so offsets matter. */
function might(detectors: Detectors, text: string): boolean {
  const bytes = Buffer.from(`12-34-5678 @eyJ AKIA|${text}|+1234567890123 ghp_`);
  const start = Buffer.byteLength('12-34-5678 @eyJ AKIA|');
  return detectors.mightMatch(bytes, start, start + Buffer.byteLength(text));
}

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

const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
const PEM = '-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA1234\nabcd+/==\n-----END RSA PRIVATE KEY-----';

/** Detector → values found (the whole value is the match unless `[value, match]`). */
const positives: Record<string, (string | [string, string])[]> = {
  email: [
    'alice@example.com',
    'alice.smith+tag@mail.example.co.uk',
    ['contact: bob_99@example.org.', 'bob_99@example.org'],
    ['{"email":"carol@example.io"}', 'carol@example.io'],
    ['<dave@example.com>', 'dave@example.com'],
  ],
  credit_card: [
    '4111111111111111',
    '4111-1111-1111-1111',
    '4111 1111 1111 1111',
    '5500 0000 0000 0004',
    '378282246310005',
    '3782 822463 10005',
    '6011111111111117',
    ['card: 4012888888881881, exp 12/27', '4012888888881881'],
  ],
  us_ssn: ['123-45-6789', '123 45 6789', ['ssn=078-05-1120;', '078-05-1120']],
  phone: [
    '(555) 123-4567',
    '555-123-4567',
    '555.123.4567',
    '+1 555 123 4567',
    '+1-555-123-4567',
    '1-800-555-1234',
    '+44 20 7946 0958',
    '+44 (0)20 7946 0958',
    '+33 1 23 45 67 89',
    '+4915112345678',
    ['call (555) 123-4567 now', '(555) 123-4567'],
  ],
  jwt: [JWT, [`Bearer ${JWT}`, JWT]],
  aws_key: [
    'AKIAIOSFODNN7EXAMPLE',
    'ASIAY34FZKBOKMUTVV7A',
    [
      'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    ],
    [
      '{"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}',
      'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    ],
  ],
  gcp_api_key: ['AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe'],
  github_token: [
    'ghp_16C7e42F292c6912E7710c838347Ae178B4a',
    'gho_16C7e42F292c6912E7710c838347Ae178B4a',
    'github_pat_11ABCDEFG0123456789abc_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVW',
  ],
  slack_token: ['xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx', 'xoxp-1234567890-abcdef'],
  private_key: [
    PEM,
    '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----',
    '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----',
    ['key: -----BEGIN EC PRIVATE KEY-----\nMHcCAQEEI', '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEI'],
  ],
};

/** Look-alikes no built-in may find. */
const negatives = [
  'd41d8cd98f00b204e9800998ecf8427e',
  '550e8400-e29b-41d4-a716-446655440000',
  '12345678-1234-1234-1234-123456789012',
  '2024-01-15',
  '2024-01-15 12:30:45.123456+00',
  '2024-01-15T12:30:45Z',
  '2024-01-15 12:30:45.1234+05:30',
  '12:30:45',
  '192.168.100.200',
  '10.0.0.1',
  'v1.2.3',
  '1.2.3.4567',
  'ORD-2024-000123',
  'order #1234567890',
  '4111111111111112',
  '1234567890123456',
  '4444444444444444',
  '5555555555',
  '5551234567',
  '123456789',
  '42',
  '-17',
  '3.14159',
  'Widget Pro 3000',
  'Acme Rocket-Powered Roller Skates (size 10)',
  '000-12-3456',
  '666-12-3456',
  '900-12-3456',
  '123-00-4567',
  '123-45-0000',
  '123-45 6789',
  'user@localhost',
  'not an @ sign',
  'eyJ.not.a.jwt',
  'AKIA123',
  'AKIAIOSFODNN7EXAMPLE1234',
  'ghp_short',
  'xoxb-short',
  '+1.5',
  '+00',
  'a+1234567890',
  '1,234,567.89',
  '(555) 1234',
  '555-1234',
  'ISBN 978-3-16-148410-0',
];

describe('BUILTIN_DETECTORS', () => {
  it('lists the ten built-ins', () => {
    expect([...BUILTIN_DETECTORS].sort()).toEqual(Object.keys(positives).sort());
  });
});

describe.each(Object.entries(positives))('detector %s', (name, values) => {
  const detectors = only(name);
  it.each(values.map((v) => (typeof v === 'string' ? [v, v] : v)))('finds %j', (value, match) => {
    const found = detectors.scrub(value, masker);
    expect(found?.hits).toEqual([name]);
    expect(found?.text).toBe(value.replace(match, `[REDACTED:${name}]`));
    expect(might(detectors, value)).toBe(true);
  });

  it.each(negatives)('ignores %j', (value) => {
    expect(detectors.scrub(value, masker)).toBeUndefined();
  });
});

describe('the prefilter', () => {
  const typical = [
    'd41d8cd98f00b204e9800998ecf8427e',
    '550e8400-e29b-41d4-a716-446655440000',
    '2024-01-15 12:30:45.123456+00',
    '2024-01-15T12:30:45.123Z',
    '2024-01-15 12:30:45.1234+05:30',
    '12:30:45',
    '42',
    '1234567',
    'Widget Pro 3000',
    'Ergonomic Steel Chair',
    'v1.2.3',
    '192.168.1.100',
    'true',
    '',
  ];
  it.each(typical)('rules out %j', (value) => {
    expect(might(all, value)).toBe(false);
  });

  it('is never false where scrub finds something (the positives)', () => {
    for (const values of Object.values(positives)) {
      for (const v of values) {
        const value = typeof v === 'string' ? v : v[0];
        expect(might(all, value), value).toBe(true);
      }
    }
  });

  // Tokens whose only "witness" byte (see worthScanning in detectors.ts) is the one named:
  // the branch-free first pass must let each through on that byte alone.
  it.each([
    ['A', 'ASIAZZZZYYYYWWWWVVVV'],
    ['A', 'AIzaSyZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ'],
    ['k', 'secretaccesskey: wzalrqutnfemizprficyzzzzzzzzzzzzzzzzzzzz'],
    ['_', 'ghp_zzzzyyyywwwwvvvvuuuuttttssssrrrrqqqq'],
    ['x', 'xoxb-1234-5678-abcdefgh'],
    ['J', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0.abc'],
    ['@', 'a@b.co'],
  ])('lets a token through on its witness byte %s alone', (witness, value) => {
    expect([...new Set([...value].filter((c) => '@JAkK_xB+'.includes(c)))]).toEqual([witness]);
    expect(all.scrub(value, masker)).toBeDefined();
    expect(might(all, value)).toBe(true);
  });

  it('is never false where scrub finds something (random strings)', () => {
    const next = random(7);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
    const alphabet = [...'0123456789 -.()+@/:_abcxyzAEIKSz"\\é\n'];
    const pieces = [
      ...alphabet,
      ...[
        '555',
        '123',
        '4567',
        '45',
        '4111',
        '1111',
        'eyJ',
        'AKIA',
        'AIza',
        'ghp_',
        'xoxb-',
        '.com',
        'example',
      ],
      ...['-----BEGIN ', 'PRIVATE KEY-----', 'secret_access_key=', 'ABCDEFGHIJ0123456789'],
      ...['SECRET-ACCESS-KEY: ', 'SecretAccessKey=', 'github_pat_', 'xoxp-', 'eyJhbGci.', 'ASIA'],
    ];
    const seeds = Object.values(positives).flatMap((values) =>
      values.map((v) => (typeof v === 'string' ? v : v[0])),
    );
    const digitGroups = (): string => {
      let value = pick(['', '', '+', '(', '+1 ', 'x']);
      const groups = 1 + Math.floor(next() * 6);
      for (let g = 0; g < groups; g++) {
        const length = 1 + Math.floor(next() * 6);
        for (let i = 0; i < length; i++) value += pick([...'0123456789']);
        if (g < groups - 1) value += pick([' ', '-', '.', ') ', ')', '  ', '--', ':', '/', 'a']);
      }
      return value;
    };
    const mutate = (): string => {
      let value = pick(seeds);
      const edits = Math.floor(next() * 4);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(next() * (value.length + 1));
        const edit = Math.floor(next() * 3);
        if (edit === 0) value = value.slice(0, at) + pick(alphabet) + value.slice(at);
        else if (edit === 1) value = value.slice(0, at) + value.slice(at + 1);
        else value = value.slice(0, at) + pick(alphabet) + value.slice(at + 1);
      }
      return (
        pick(['', ' ', 'x', '1', '-', '+', '"', '\\']) + value + pick(['', ' ', 'x', '1', '-', '.', '"'])
      );
    };
    const found = new Map<string, number>();
    for (let n = 0; n < 30_000; n++) {
      let value: string;
      const mode = n % 3;
      if (mode === 0) value = digitGroups();
      else if (mode === 1) value = mutate();
      else {
        value = '';
        const count = 1 + Math.floor(next() * 24);
        for (let i = 0; i < count; i++) value += pick(pieces);
      }
      const scrubbed = all.scrub(value, masker);
      if (scrubbed !== undefined) {
        for (const hit of scrubbed.hits) found.set(hit, (found.get(hit) ?? 0) + 1);
        expect(might(all, value), value).toBe(true);
      }
    }
    // Every built-in was exercised.
    for (const name of BUILTIN_DETECTORS) expect(found.get(name) ?? 0, name).toBeGreaterThan(20);
  });

  it('is false on an empty range and for no detectors', () => {
    expect(all.mightMatch(Buffer.from('alice@example.com'), 3, 3)).toBe(false);
    expect(Detectors.compile([]).mightMatch(Buffer.from('alice@example.com'), 0, 17)).toBe(false);
    expect(Detectors.compile([]).empty).toBe(true);
    expect(all.empty).toBe(false);
  });

  it('checks only the enabled built-ins', () => {
    expect(might(only('jwt'), 'alice@example.com')).toBe(false);
    expect(might(only('email'), JWT)).toBe(false);
  });
});

describe('scrub', () => {
  it('returns undefined when nothing matches', () => {
    expect(all.scrub('nothing to see here', masker)).toBeUndefined();
  });

  it('replaces several matches and lists each detector once, in order', () => {
    const found = all.scrub('a@example.com, b@example.com, 123-45-6789', masker);
    expect(found).toEqual({
      text: '[REDACTED:email], [REDACTED:email], [REDACTED:us_ssn]',
      hits: ['email', 'us_ssn'],
      nullify: false,
    });
  });

  it('reports a card as a card, not also as a phone', () => {
    const found = all.scrub('pay with +1 4111 1111 1111 1111 or 4111-1111-1111-1111', masker);
    expect(found?.hits).toEqual(['credit_card']);
  });

  it('lets the earliest, longest match win', () => {
    const detectors = Detectors.compile([
      { name: 'short', strategy: 'redact', pattern: 'ABC' },
      { name: 'long', strategy: 'redact', pattern: 'ABC-\\d+' },
      { name: 'inner', strategy: 'redact', pattern: 'C-1' },
    ]);
    expect(detectors.scrub('x ABC-123 y', masker)).toEqual({
      text: 'x [REDACTED:long] y',
      hits: ['long'],
      nullify: false,
    });
  });

  it.each([
    ['partial', 'call 555-123-4567 or a.smith@example.com', 'call ***-***-4567 or a***@example.com'],
    ['hash', 'a@example.com', `${masker.maskText('a@example.com', { strategy: 'hash', label: 'x' })}`],
    ['null', 'a@example.com and 555-123-4567', '[REDACTED:email] and [REDACTED:phone]'],
  ] as [MaskStrategy, string, string][])('masks with the %s strategy', (strategy, value, expected) => {
    const detectors = Detectors.compile([
      { name: 'email', strategy },
      { name: 'phone', strategy },
    ]);
    const found = detectors.scrub(value, masker);
    expect(found?.text).toBe(expected);
    expect(found?.nullify).toBe(strategy === 'null');
  });

  it('keeps JSON valid', () => {
    const doc = {
      email: 'alice@example.com',
      note: 'call +44 20 7946 0958 or (555) 123-4567',
      nested: ['4111 1111 1111 1111', { jwt: JWT }],
      key: PEM,
      escaped: 'line\nalice@example.com\t"quoted" \u00e9bob@example.com',
      cut: '-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA',
    };
    const json = JSON.stringify(doc);
    for (const strategy of ['redact', 'partial', 'hash', 'null'] as const) {
      const detectors = Detectors.compile(BUILTIN_DETECTORS.map((name) => ({ name, strategy })));
      const found = detectors.scrub(json, masker);
      expect(found).toBeDefined();
      const parsed: unknown = JSON.parse(found!.text);
      const out = JSON.stringify(parsed);
      for (const secret of [
        'alice@example.com',
        '7946 0958',
        '4111 1111 1111 1111',
        'eyJzdWIi',
        'MIIEpAIB',
      ]) {
        expect(out, strategy).not.toContain(secret);
      }
    }
  });

  it('does not break escapes next to a match', () => {
    const json = '"\\nalice@example.com \\u0041bob@example.com x\\\\"';
    const found = all.scrub(json, masker);
    expect(JSON.parse(found!.text)).toBe('\n[REDACTED:email] A[REDACTED:email] x\\');
  });

  it('replacements are safe inside array and composite literals', () => {
    const value = '{alice@example.com,"a b 4111 1111 1111 1111"}';
    for (const strategy of ['redact', 'hash', 'null'] as const) {
      const detectors = Detectors.compile(BUILTIN_DETECTORS.map((name) => ({ name, strategy })));
      const found = detectors.scrub(value, masker)!;
      const replacements = found.text.replace('{', '').replace('"a b ', '').replace('"}', '').split(',');
      for (const r of replacements) expect(r).toMatch(/^[^"\\{}(),\s]+$/);
    }
  });

  it('sanitizes a label that would be unsafe in a literal', () => {
    const detectors = Detectors.compile([{ name: 'my "ids"', strategy: 'redact', pattern: 'ID-\\d+' }]);
    expect(detectors.scrub('{ID-1}', masker)).toEqual({
      text: '{[REDACTED:my__ids_]}',
      hits: ['my "ids"'],
      nullify: false,
    });
  });
});

describe('scrub on adversarial text', () => {
  const n = 50_000;
  const inputs: [string, string][] = [
    ['a local part without @', 'a.'.repeat(n)],
    ['a long domain', `a@${'b.'.repeat(n)}1`],
    ['spaced digits', '4 '.repeat(n)],
    ['+ groups', '+1 (1) '.repeat(n)],
    ['phone-like groups', '555-555-'.repeat(n)],
    ['JWT-like segments', `eyJaaaa${'.a'.repeat(n)}!`],
    ['BEGIN lines without END', '-----BEGIN PRIVATE KEY-----!'.repeat(n / 10)],
    ['backslashes', `${'\\'.repeat(n)}a@b.com`],
  ];
  it.each(inputs)('%s stays linear', (_name, text) => {
    const started = performance.now();
    all.scrub(text, masker);
    all.mightMatch(Buffer.from(text), 0, Buffer.byteLength(text));
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe('custom detectors', () => {
  it('match with flags gu', () => {
    const detectors = Detectors.compile([{ name: 'emp', strategy: 'redact', pattern: 'EMP-\\d{6}' }]);
    expect(detectors.scrub('EMP-123456 and EMP-654321', masker)?.text).toBe(
      '[REDACTED:emp] and [REDACTED:emp]',
    );
    expect(detectors.scrub('emp-123456', masker)).toBeUndefined();
    expect(detectors.scrub('名前 😀 EMP-000001', masker)?.text).toBe('名前 😀 [REDACTED:emp]');
  });

  it('prefilter by a literal prefix when there is one', () => {
    const detectors = Detectors.compile([{ name: 'emp', strategy: 'redact', pattern: '\\bEMP-\\d{6}' }]);
    expect(detectors.mightMatch(Buffer.from('d41d8cd98f00b204e9800998ecf8427e'), 0, 32)).toBe(false);
    expect(detectors.mightMatch(Buffer.from('x EMP-123456'), 0, 12)).toBe(true);
  });

  it('make the prefilter say yes when there is no literal prefix', () => {
    const detectors = Detectors.compile([{ name: 'any', strategy: 'redact', pattern: '[A-Z]{3}\\d{6}' }]);
    expect(detectors.mightMatch(Buffer.from('d41d8cd98f00b204e9800998ecf8427e'), 0, 32)).toBe(true);
    expect(detectors.mightMatch(Buffer.from('x'), 0, 1)).toBe(true);
  });

  it.each([
    ['EMP-?\\d+', 'EMP-12', true],
    ['EMP-?\\d+', 'EMP12', true],
    ['ab*c', 'ac', true],
    ['ab{0,3}c', 'ac', true],
    ['ab+c', 'abbc', true],
    ['(?:x|y)z', 'yz', true],
    ['名前\\d', '名前1', true],
  ])('prefilter of %s keeps %s', (pattern, value, expected) => {
    const detectors = Detectors.compile([{ name: 'c', strategy: 'redact', pattern }]);
    expect(detectors.scrub(value, masker) !== undefined).toBe(expected);
    expect(detectors.mightMatch(Buffer.from(value), 0, Buffer.byteLength(value))).toBe(true);
  });

  const rejected: [string, string][] = [
    ['', 'empty string'],
    ['a*', 'empty string'],
    ['\\b', 'empty string'],
    ['(?:)', 'empty string'],
    ['x?', 'empty string'],
    ['(a+)+', 'exponential'],
    ['(\\w+\\s?)*x', 'exponential'],
    ['(?:a|b+)*c', 'exponential'],
    ['((ab)*c)+', 'exponential'],
    ['(a{1,5}){2,}', 'exponential'],
    ['(?<n>a+)+b', 'exponential'],
    ['[', 'invalid'],
    ['(abc', 'invalid'],
    ['a{2,1}', 'invalid'],
  ];
  it.each(rejected)('reject %j (%s) naming the detector', (pattern, reason) => {
    const compile = (): Detectors => Detectors.compile([{ name: 'bad_one', strategy: 'redact', pattern }]);
    expect(compile).toThrow(DetectorError);
    expect(compile).toThrow(/`bad_one`/);
    expect(compile).toThrow(new RegExp(reason));
  });

  it.each(['EMP-\\d{6}', '(?:\\d{3}-){2}\\d{4}', '[a-z]+@corp\\.example', '(ab)+', 'x(?:[ab]c)*y', '(a+)?b'])(
    'accept %j',
    (pattern) => {
      expect(() => Detectors.compile([{ name: 'ok', strategy: 'redact', pattern }])).not.toThrow();
    },
  );
});

describe('compile errors', () => {
  it('names an unknown built-in', () => {
    expect(() => Detectors.compile([{ name: 'passport', strategy: 'redact' }])).toThrow(/`passport`/);
    expect(() => Detectors.compile([{ name: 'toString', strategy: 'redact' }])).toThrow(DetectorError);
  });

  it('names a bad strategy', () => {
    const defs = [{ name: 'email', strategy: 'scramble' }] as unknown as DetectorDef[];
    expect(() => Detectors.compile(defs)).toThrow(/`email`.*`scramble`/);
  });

  it('carries a code', () => {
    try {
      Detectors.compile([{ name: 'passport', strategy: 'redact' }]);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(DetectorError);
      expect((error as DetectorError).code).toBe('detector_unknown');
    }
  });
});
