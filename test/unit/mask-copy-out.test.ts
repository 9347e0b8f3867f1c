import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  CopyFormatError,
  CopyOutMasker,
  MAX_COPY_FIELD_BYTES,
  type ColumnMask,
} from '../../src/policy/mask/copy-out.js';
import type { CopyOptions } from '../../src/policy/mask/types.js';
import { createTestDatabase } from '../helpers/db.js';

// COPY data formats: https://www.postgresql.org/docs/current/sql-copy.html "File Formats".

const TEXT: CopyOptions = {
  format: 'text',
  delimiter: '\t',
  null: '\\N',
  quote: '"',
  escape: '"',
  header: false,
};
const CSV: CopyOptions = { format: 'csv', delimiter: ',', null: '', quote: '"', escape: '"', header: false };
const BINARY: CopyOptions = { ...TEXT, format: 'binary' };

const b = (s: string): Buffer => Buffer.from(s, 'utf8');
const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');

/** A mask that works on the value as a UTF-8 string. */
const viaString =
  (f: (s: string) => string | null): ColumnMask =>
  (value) => {
    const masked = f(value.toString('utf8'));
    return masked === null ? null : b(masked);
  };

const REDACT: ColumnMask = () => b('[R]');
const NEVER: ColumnMask = () => {
  throw new Error('maskAll must not be called here');
};

/** Feeds `chunks` one by one and returns everything the masker sent, `end()` included. */
function feed(masker: CopyOutMasker, chunks: Buffer[]): Buffer {
  const out: Buffer[] = chunks.map((chunk) => Buffer.from(masker.push(chunk)));
  out.push(masker.end());
  return Buffer.concat(out);
}

function run(
  options: CopyOptions,
  columns: (ColumnMask | undefined)[],
  maskAll: ColumnMask,
  chunks: Buffer[],
) {
  return feed(new CopyOutMasker(options, columns, maskAll), chunks);
}

/** Asserts that splitting `stream` at any byte (and into single bytes) changes nothing in the output. */
function expectSplitInvariant(
  make: () => CopyOutMasker,
  stream: Buffer,
  expected: Buffer,
  offsets: Iterable<number> = range(0, stream.length + 1),
): void {
  expect(feed(make(), [stream])).toEqual(expected);
  for (const k of offsets) {
    const got = feed(make(), [stream.subarray(0, k), stream.subarray(k)]);
    if (!got.equals(expected))
      expect({ splitAt: k, got: got.toString('latin1') }).toEqual({
        splitAt: k,
        got: expected.toString('latin1'),
      });
  }
  const bytes = [...range(0, stream.length)].map((i) => stream.subarray(i, i + 1));
  expect(feed(make(), bytes)).toEqual(expected);
}

function* range(from: number, to: number): Generator<number> {
  for (let i = from; i < to; i++) yield i;
}

function expectFormatError(fn: () => unknown, message?: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(CopyFormatError);
  if (message) expect((caught as CopyFormatError).message).toMatch(message);
}

// ---------------------------------------------------------------------------------------------
// Reference parsers, written from the documentation independently of the masker: a field's raw
// bytes as sent and the value COPY FROM would read from them.
// ---------------------------------------------------------------------------------------------

interface RefField {
  raw: Buffer;
  value: Buffer | null;
}

const TEXT_LETTERS: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

function parseText(data: Buffer, options: CopyOptions): RefField[][] {
  const s = data.toString('latin1');
  const nul = b(options.null).toString('latin1');
  const rows: RefField[][] = [];
  let i = 0;
  while (i < s.length) {
    const row: RefField[] = [];
    let rawStart = i;
    let value = '';
    for (;;) {
      if (i >= s.length) throw new Error('text row without its newline');
      const c = s[i]!;
      if (c === '\\') {
        const next = s[i + 1];
        if (next === undefined) throw new Error('backslash at the end of the data');
        if (/[0-7]/.test(next)) {
          let j = i + 1;
          let digits = '';
          while (digits.length < 3 && /[0-7]/.test(s[j] ?? '')) digits += s[j++];
          value += String.fromCharCode(parseInt(digits, 8) & 0xff);
          i = j;
        } else if (next === 'x' && /[0-9a-fA-F]/.test(s[i + 2] ?? '')) {
          let j = i + 2;
          let digits = '';
          while (digits.length < 2 && /[0-9a-fA-F]/.test(s[j] ?? '')) digits += s[j++];
          value += String.fromCharCode(parseInt(digits, 16));
          i = j;
        } else {
          value += TEXT_LETTERS[next] ?? next;
          i += 2;
        }
      } else if (c === options.delimiter || c === '\n') {
        const raw = s.slice(rawStart, i);
        row.push({ raw: latin1(raw), value: raw === nul ? null : latin1(value) });
        rawStart = ++i;
        value = '';
        if (c === '\n') break;
      } else {
        value += c;
        i++;
      }
    }
    rows.push(row);
  }
  return rows;
}

function parseCsv(data: Buffer, options: CopyOptions): RefField[][] {
  const s = data.toString('latin1');
  const nul = b(options.null).toString('latin1');
  const { delimiter, quote, escape } = options;
  const rows: RefField[][] = [];
  let i = 0;
  while (i < s.length) {
    const row: RefField[] = [];
    for (;;) {
      const start = i;
      let value = '';
      let quoted = false;
      let inQuote = false;
      for (;;) {
        if (i >= s.length) throw new Error('csv row without its newline');
        const c = s[i]!;
        if (inQuote) {
          if (c === escape && (s[i + 1] === escape || s[i + 1] === quote)) {
            value += s[i + 1];
            i += 2;
          } else if (c === quote) {
            inQuote = false;
            i++;
          } else {
            value += c;
            i++;
          }
        } else if (c === delimiter || c === '\n') {
          break;
        } else if (c === quote) {
          inQuote = quoted = true;
          i++;
        } else {
          value += c;
          i++;
        }
      }
      const raw = s.slice(start, i);
      row.push({ raw: latin1(raw), value: !quoted && raw === nul ? null : latin1(value) });
      if (s[i++] === '\n') break;
    }
    rows.push(row);
  }
  return rows;
}

/** Binary tuples; the file header is returned as a one-field row, the trailer is checked and dropped. */
function parseBinary(data: Buffer): RefField[][] {
  expect(data.subarray(0, 11)).toEqual(latin1('PGCOPY\n\xff\r\n\0'));
  const headerEnd = 19 + data.readInt32BE(15);
  const rows: RefField[][] = [[{ raw: data.subarray(0, headerEnd), value: null }]];
  let pos = headerEnd;
  for (;;) {
    const count = data.readInt16BE(pos);
    pos += 2;
    if (count === -1) break;
    const row: RefField[] = [];
    for (let k = 0; k < count; k++) {
      const length = data.readInt32BE(pos);
      const start = pos;
      pos += 4 + Math.max(length, 0);
      row.push({ raw: data.subarray(start, pos), value: length < 0 ? null : data.subarray(start + 4, pos) });
    }
    rows.push(row);
  }
  expect(pos).toBe(data.length);
  return rows;
}

function parse(data: Buffer, options: CopyOptions): RefField[][] {
  if (options.format === 'binary') return parseBinary(data);
  return options.format === 'text' ? parseText(data, options) : parseCsv(data, options);
}

/** A binary COPY stream: header (with an optional extension), tuples, trailer. */
function binaryStream(tuples: (Buffer | null)[][], extension: Buffer = Buffer.alloc(0)): Buffer[] {
  const header = Buffer.alloc(19);
  latin1('PGCOPY\n\xff\r\n\0').copy(header);
  header.writeInt32BE(extension.length, 15);
  const parts: Buffer[] = [Buffer.concat([header, extension])];
  for (const tuple of tuples) {
    const count = Buffer.alloc(2);
    count.writeInt16BE(tuple.length);
    const fields = tuple.map((v) => {
      const length = Buffer.alloc(4);
      length.writeInt32BE(v === null ? -1 : v.length);
      return v === null ? length : Buffer.concat([length, v]);
    });
    parts.push(Buffer.concat([count, ...fields]));
  }
  parts.push(Buffer.from([0xff, 0xff]));
  return parts;
}

// ---------------------------------------------------------------------------------------------
// Hand-built streams
// ---------------------------------------------------------------------------------------------

describe('CopyOutMasker, text format', () => {
  it('hands masks the de-escaped value of every backslash sequence COPY FROM understands', () => {
    const seen: Buffer[] = [];
    const spy: ColumnMask = (v) => {
      seen.push(Buffer.from(v));
      return v;
    };
    const line = '\\101|\\x41|\\x4g|\\xg|\\q|\\0|\\1234|\\b\\f\\n\\r\\t\\v\\\\|\\||plain|\\303\\251\n';
    const input = latin1(line);
    const out = run({ ...TEXT, delimiter: '|' }, [], spy, [input]);
    expect(out).toEqual(input);
    expect(seen).toEqual([
      b('A'),
      b('A'),
      latin1('\x04g'),
      b('xg'),
      b('q'),
      Buffer.from([0]),
      b('S4'),
      b('\b\f\n\r\t\v\\'),
      b('|'),
      b('plain'),
      b('é'),
    ]);
  });

  it('compares NULL on the raw text, never calls masks for NULL, and writes NULL as the marker', () => {
    const seen: string[] = [];
    const mask: ColumnMask = (v) => {
      seen.push(v.toString());
      return null;
    };
    const out = run(TEXT, [mask, mask, mask], NEVER, [b('\\N\t\\\\N\tx\n')]);
    expect(seen).toEqual(['\\N', 'x']);
    expect(out.toString()).toBe('\\N\t\\N\t\\N\n');
  });

  it('escapes masked values so COPY FROM reads them back, never as the NULL marker', () => {
    const values = ['tab\there', 'nl\nx\rcr', 'back\\slash', 'a|b', '\b\f\v', 'ünï ✓', '', 'N'];
    for (const nul of ['\\N', 'N', 'back\\slash', 'ünï ✓']) {
      const options = { ...TEXT, delimiter: '|', null: nul };
      for (const value of values) {
        const out = run(options, [() => b(value), undefined], NEVER, [b('x|keep\n')]);
        const [row] = parseText(out, options);
        expect(row?.map((f) => f.value)).toEqual([b(value), b('keep')]);
        expect(row?.[1]?.raw).toEqual(b('keep'));
      }
    }
    expect(run({ ...TEXT, null: 'N' }, [() => b('N')], NEVER, [b('x\n')]).toString()).toBe('\\116\n');
    expect(run(TEXT, [() => b('a\tb\\c\nd')], NEVER, [b('x\n')]).toString()).toBe('a\\tb\\\\c\\nd\n');
  });

  it('lets an \\x escape swallow a delimiter that is a hex digit, as COPY FROM does', () => {
    const options = { ...TEXT, delimiter: 'E' };
    const seen: string[] = [];
    const all: ColumnMask = (v) => {
      seen.push(v.toString());
      return b('aEb');
    };
    const input = b('\\x4EEz\\EEy\n');
    const expected = b('a\\EbEa\\EbEa\\Eb\n');
    expect(run(options, [], all, [input])).toEqual(expected);
    expect(seen).toEqual(['N', 'zE', 'y']);
    expectSplitInvariant(() => new CopyOutMasker(options, [], () => b('aEb')), input, expected);
  });

  it('passes the header line through untouched', () => {
    const options = { ...TEXT, header: true };
    const input = b('id\tse\\tcret\n1\tx\n');
    expect(run(options, [undefined, REDACT], NEVER, [input]).toString()).toBe('id\tse\\tcret\n1\t[R]\n');
  });
});

describe('CopyOutMasker, csv format', () => {
  it('reads quotes, doubled quotes, quotes mid-field, and NULL only when unquoted', () => {
    const seen: (string | null)[] = [];
    const spy: ColumnMask = (v) => {
      seen.push(v.toString());
      return v;
    };
    const input = b('"a,b","say ""hi""",ab"c,d"e,,"",plain,"multi\nline"\n');
    expect(run(CSV, [], spy, [input])).toEqual(input);
    expect(seen).toEqual(['a,b', 'say "hi"', 'abc,de', '', 'plain', 'multi\nline']);
  });

  it('uses a distinct escape character inside quotes only', () => {
    const options = { ...CSV, quote: "'", escape: '\\' };
    const seen: string[] = [];
    const spy: ColumnMask = (v) => {
      seen.push(v.toString());
      return b("it's \\ here");
    };
    const out = run(options, [], spy, [b("'a\\'b\\\\c\\d',x\\y\n")]);
    expect(seen).toEqual(["a'b\\c\\d", 'x\\y']);
    expect(out.toString()).toBe("'it\\'s \\\\ here','it\\'s \\\\ here'\n");
    expect(parseCsv(out, options)[0]!.map((f) => f.value?.toString())).toEqual([
      "it's \\ here",
      "it's \\ here",
    ]);
  });

  it('quotes masked values when needed and writes NULL unquoted', () => {
    const cases: [string | null, string][] = [
      [null, ''],
      ['', '""'],
      ['plain', 'plain'],
      ['a,b', '"a,b"'],
      ['say "x"', '"say ""x"""'],
      ['two\nlines', '"two\nlines"'],
      ['cr\r', '"cr\r"'],
      ['\\.', '"\\."'],
    ];
    for (const [value, written] of cases) {
      const out = run(CSV, [() => (value === null ? null : b(value)), undefined], NEVER, [b('x,keep\n')]);
      expect(out.toString()).toBe(`${written},keep\n`);
      expect(parseCsv(out, CSV)[0]![0]!.value).toEqual(value === null ? null : b(value));
    }
    const withMarker = { ...CSV, null: 'NULL' };
    expect(run(withMarker, [() => b('NULL'), () => null], NEVER, [b('x,y\n')]).toString()).toBe(
      '"NULL",NULL\n',
    );
  });

  it('passes a header record through even when a quoted name spans lines', () => {
    const options = { ...CSV, header: true };
    const input = b('id,"sec\nret"\n1,x\n');
    const expected = b('id,"sec\nret"\n1,[R]\n');
    expect(run(options, [undefined, REDACT], NEVER, [input])).toEqual(expected);
    expectSplitInvariant(() => new CopyOutMasker(options, [undefined, REDACT], NEVER), input, expected);
  });
});

describe('CopyOutMasker, binary format', () => {
  it('rewrites masked field lengths, keeps NULLs, and passes the header with its extension', () => {
    const input = binaryStream(
      [
        [b('1'), b('secret'), null, b('x')],
        [b('2'), null, b('note'), b('')],
      ],
      b('ext!'),
    );
    const out = run(BINARY, [undefined, () => b('[REDACTED]'), undefined, () => null], NEVER, input);
    expect(out).toEqual(
      Buffer.concat(
        binaryStream(
          [
            [b('1'), b('[REDACTED]'), null, null],
            [b('2'), null, b('note'), null],
          ],
          b('ext!'),
        ),
      ),
    );
    expectSplitInvariant(
      () => new CopyOutMasker(BINARY, [undefined, () => b('[REDACTED]'), undefined, () => null], NEVER),
      Buffer.concat(input),
      out,
    );
  });
});

describe('CopyOutMasker, any format', () => {
  const streams: [CopyOptions, Buffer[]][] = [
    [TEXT, [b('1\ta\tb\tc\n'), b('2\td\te\tf\n')]],
    [CSV, [b('1,a,b,c\n'), b('2,d,e,f\n')]],
    [
      BINARY,
      binaryStream([
        [b('1'), b('a'), b('b'), b('c')],
        [b('2'), b('d'), b('e'), b('f')],
      ]),
    ],
  ];

  it.each(streams)('returns the payload itself when nothing changes (%o)', (options, payloads) => {
    const same: ColumnMask = (v) => Buffer.from(v);
    for (const columns of [
      [undefined, undefined, undefined, undefined],
      [undefined, same, undefined, same],
    ]) {
      const masker = new CopyOutMasker(options, columns, NEVER);
      for (const payload of payloads) expect(masker.push(payload)).toBe(payload);
      expect(masker.end()).toHaveLength(0);
    }
  });

  it.each(streams)(
    'masks extra columns with maskAll, and every column when none are known (%o)',
    (options, payloads) => {
      const all = run(options, [], REDACT, payloads);
      const some = run(options, [undefined, undefined], REDACT, payloads);
      const values = (out: Buffer) =>
        parse(out, options)
          .slice(options.format === 'binary' ? 1 : 0)
          .map((row) => row.map((f) => f.value?.toString()));
      expect(values(all)).toEqual([
        ['[R]', '[R]', '[R]', '[R]'],
        ['[R]', '[R]', '[R]', '[R]'],
      ]);
      expect(values(some)).toEqual([
        ['1', 'a', '[R]', '[R]'],
        ['2', 'd', '[R]', '[R]'],
      ]);
    },
  );

  it.each(streams)(
    'handles several rows in one payload and returns fresh output buffers (%o)',
    (options, payloads) => {
      const masker = new CopyOutMasker(options, [undefined, REDACT], REDACT);
      const whole = Buffer.concat(payloads);
      const first = masker.push(whole.subarray(0, whole.length - 3));
      const kept = Buffer.from(first);
      const second = masker.push(whole.subarray(whole.length - 3));
      expect(first).toEqual(kept);
      expect(Buffer.concat([first, second, masker.end()])).toEqual(
        run(options, [undefined, REDACT], REDACT, payloads),
      );
    },
  );

  it('refuses malformed data with CopyFormatError', () => {
    const cases: [CopyOptions, Buffer[], RegExp][] = [
      [TEXT, [b('a\rb\n')], /carriage return/],
      [TEXT, [b('a\\\nb\n')], /backslash/],
      [TEXT, [b('a\tb')], /ended inside a row/],
      [TEXT, [b('a\tb\\')], /ended inside a row/],
      [CSV, [b('"open,b\n')], /ended inside a row/],
      [CSV, [b('a\r\n')], /carriage return/],
      [BINARY, [b('PGCOPX\n')], /signature/],
      [BINARY, [binaryStream([])[0]!], /trailer/],
      [BINARY, [Buffer.concat(binaryStream([[b('x')]]).slice(0, 2))], /trailer/],
      [BINARY, [...binaryStream([]), Buffer.from([0, 0])], /after its trailer/],
      [BINARY, [binaryStream([])[0]!, Buffer.from([0, 1, 0xff, 0xff, 0xff, 0xfe])], /length -2/],
      [BINARY, [binaryStream([])[0]!, Buffer.from([0xff, 0xfe])], /field count -2/],
      [
        BINARY,
        [Buffer.concat([latin1('PGCOPY\n\xff\r\n\0'), Buffer.from([0, 1, 0, 0, 0, 0, 0, 0])])],
        /flags/,
      ],
      [
        BINARY,
        [Buffer.concat([latin1('PGCOPY\n\xff\r\n\0'), Buffer.from([0, 0, 0, 1, 0, 0, 0, 0])])],
        /flags/,
      ],
    ];
    for (const [options, chunks, message] of cases) {
      expectFormatError(() => run(options, [REDACT], REDACT, chunks), message);
    }
  });

  it('refuses a field longer than the limit instead of buffering it', () => {
    const header = binaryStream([])[0]!;
    const huge = Buffer.from([0, 1, 0, 0, 0, 0]);
    huge.writeInt32BE(MAX_COPY_FIELD_BYTES + 1, 2);
    expectFormatError(
      () => new CopyOutMasker(BINARY, [], REDACT).push(Buffer.concat([header, huge])),
      /out of range/,
    );

    const masker = new CopyOutMasker(TEXT, [], REDACT);
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    let pushed = 0;
    expectFormatError(() => {
      for (;;) {
        expect(masker.push(chunk)).toHaveLength(0);
        pushed += chunk.length;
      }
    }, /longer than/);
    expect(pushed).toBe(MAX_COPY_FIELD_BYTES);
  });

  it('refuses options it cannot parse by', () => {
    expectFormatError(() => new CopyOutMasker({ ...TEXT, delimiter: '||' }, [], REDACT), /`delimiter`/);
    expectFormatError(() => new CopyOutMasker({ ...TEXT, delimiter: 'n' }, [], REDACT), /`delimiter`/);
    expectFormatError(() => new CopyOutMasker({ ...CSV, quote: ',' }, [], REDACT), /`quote`/);
    expectFormatError(() => new CopyOutMasker({ ...CSV, escape: 'é' }, [], REDACT), /`escape`/);
  });
});

// ---------------------------------------------------------------------------------------------
// Real PostgreSQL: COPY TO output → masker → COPY FROM, for every format
// ---------------------------------------------------------------------------------------------

/** A pg query that runs one COPY statement, collecting each CopyData payload or sending `input`. */
class CopyQuery implements pg.Submittable {
  readonly payloads: Buffer[] = [];
  readonly done: Promise<Buffer[]>;
  private settle!: (error: Error | null) => void;
  private error: Error | null = null;

  constructor(
    private readonly text: string,
    private readonly input: Buffer[] = [],
  ) {
    this.done = new Promise((resolve, reject) => {
      this.settle = (error) => (error ? reject(error) : resolve(this.payloads));
    });
  }

  submit(connection: pg.Connection): void {
    connection.query(this.text);
  }

  handleCopyInResponse(connection: pg.Connection): void {
    const copy = connection as unknown as { sendCopyFromChunk(b: Buffer): void; endCopyFrom(): void };
    for (const chunk of this.input) copy.sendCopyFromChunk(chunk);
    copy.endCopyFrom();
  }

  handleCopyData(message: { chunk: Buffer }): void {
    this.payloads.push(Buffer.from(message.chunk));
  }

  handleCommandComplete(): void {}

  handleError(error: Error): void {
    this.error = error;
  }

  handleReadyForQuery(): void {
    this.settle(this.error);
  }
}

const TRICKY = [
  'plain',
  '',
  'tab\there',
  'new\nline',
  'cr\rlf\r\n',
  'back\\slash',
  'ends with backslash\\',
  '\\N',
  'NULL',
  '\\.',
  'quote"d',
  "apos'trophe",
  'com,ma',
  'pipe|bar; semi',
  'ESCAPE E',
  'ünïcødé ✓ 🎉',
  '日本語',
  ' spaces ',
  '\b\f\v\x01',
  '"',
  '""',
  ',',
  'x'.repeat(300),
];

interface Variant {
  name: string;
  options: CopyOptions;
  to: string;
  from: string;
}

const VARIANTS: Variant[] = [
  { name: 'text', options: TEXT, to: 'FORMAT text', from: 'FORMAT text' },
  {
    name: 'text, | delimiter, NULL marker, header',
    options: { ...TEXT, delimiter: '|', null: 'NULL', header: true },
    to: "FORMAT text, DELIMITER '|', NULL 'NULL', HEADER true",
    from: "FORMAT text, DELIMITER '|', NULL 'NULL', HEADER true",
  },
  {
    name: 'text, hex-digit delimiter E',
    options: { ...TEXT, delimiter: 'E' },
    to: "FORMAT text, DELIMITER 'E'",
    from: "FORMAT text, DELIMITER 'E'",
  },
  {
    name: 'csv, header',
    options: { ...CSV, header: true },
    to: 'FORMAT csv, HEADER true',
    from: 'FORMAT csv, HEADER true',
  },
  {
    name: "csv, ; delimiter, ' quote, \\ escape, NULL marker, FORCE_QUOTE",
    options: { ...CSV, delimiter: ';', quote: "'", escape: '\\', null: 'NULL' },
    to: "FORMAT csv, DELIMITER ';', QUOTE '''', ESCAPE '\\', NULL 'NULL', FORCE_QUOTE *",
    from: "FORMAT csv, DELIMITER ';', QUOTE '''', ESCAPE '\\', NULL 'NULL'",
  },
  { name: 'binary', options: BINARY, to: 'FORMAT binary', from: 'FORMAT binary' },
];

/** Column a: always changed, with every character COPY treats specially. */
const maskA = (s: string): string => `«${s.length}»\t\\,"'|;E\n\r${s.slice(0, 2)}`;
/** Column c: NULL, the NULL marker as a string, an empty string, or the end-of-data marker. */
const maskC =
  (options: CopyOptions) =>
  (s: string): string | null =>
    [null, options.format === 'binary' ? 'NULL' : options.null, '', '\\.'][s.length % 4]!;

describe('CopyOutMasker against real PostgreSQL output', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let client: pg.Client;
  let source: (string | null)[][];

  const copy = async (text: string, input?: Buffer[]) => client.query(new CopyQuery(text, input)).done;

  beforeAll(async () => {
    db = await createTestDatabase(inject('adminUrl'), 'copyout');
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query(`CREATE TABLE src (id int PRIMARY KEY, a text, b text, c text)`);
    await client.query(`CREATE TABLE dst (id int PRIMARY KEY, a text, b text, c text)`);
    const pick = (i: number, step: number, nullEvery: number) =>
      i % nullEvery === 0 ? null : TRICKY[(i * step + 1) % TRICKY.length]!;
    for (let i = 0; i < 48; i++) {
      await client.query('INSERT INTO src VALUES ($1, $2, $3, $4)', [
        i,
        pick(i, 1, 7),
        pick(i, 5, 6),
        pick(i, 7, 5),
      ]);
    }
    source = (await client.query({ text: 'SELECT id::text, a, b, c FROM src ORDER BY id', rowMode: 'array' }))
      .rows;
  });

  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  it.each(VARIANTS)(
    '$name: masked output loads back with COPY FROM; unmasked fields byte-identical; any split',
    async (variant) => {
      const { options } = variant;
      const query = `COPY (SELECT id, a AS "sec|ret,E\nname", b, c FROM src ORDER BY id) TO STDOUT WITH (${variant.to})`;
      const payloads = await copy(query);
      const columns = [undefined, viaString(maskA), undefined, viaString(maskC(options))];
      const make = () => new CopyOutMasker(options, columns, NEVER);

      // One payload in, one payload out (PostgreSQL sends a row per CopyData).
      const masker = make();
      const outputs = payloads.map((p) => masker.push(p));
      expect(masker.end()).toHaveLength(0);
      expect(outputs.every((o) => o.length > 0)).toBe(true);
      const output = Buffer.concat(outputs);

      // Unmasked columns (and the header) are the very bytes PostgreSQL sent.
      const before = parse(Buffer.concat(payloads), options);
      const after = parse(output, options);
      expect(after).toHaveLength(before.length);
      const first = options.header || options.format === 'binary' ? 1 : 0;
      if (first === 1) expect(after[0]).toEqual(before[0]);
      for (let r = first; r < before.length; r++) {
        expect(after[r]![0]!.raw).toEqual(before[r]![0]!.raw);
        expect(after[r]![2]!.raw).toEqual(before[r]![2]!.raw);
      }

      // PostgreSQL's own COPY FROM reads the masked values back.
      await client.query('TRUNCATE dst');
      await copy(`COPY dst FROM STDIN WITH (${variant.from})`, outputs);
      const loaded = (
        await client.query({ text: 'SELECT id::text, a, b, c FROM dst ORDER BY id', rowMode: 'array' })
      ).rows;
      // PostgreSQL itself writes a text value equal to an unescaped NULL marker as the marker.
      const escapes = (v: string) => /[\\\b\f\n\r\t\v]/.test(v) || v.includes(options.delimiter);
      const sent = (v: string | null | undefined) =>
        options.format === 'text' && v === options.null && !escapes(v) ? null : v;
      const expected = source
        .map((row) => row.map(sent))
        .map(([id, a, bb, c]) => [id, a == null ? null : maskA(a), bb, c == null ? null : maskC(options)(c)]);
      expect(loaded).toEqual(expected);

      // The same bytes come out however the stream is cut.
      const stream = Buffer.concat(payloads);
      expectSplitInvariant(make, stream, output);

      // With nothing to mask, every payload is passed on as is.
      const passthrough = new CopyOutMasker(options, [undefined, undefined, undefined, undefined], NEVER);
      for (const p of payloads) expect(passthrough.push(p)).toBe(p);
    },
  );
});
