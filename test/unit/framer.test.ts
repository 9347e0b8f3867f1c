import { describe, expect, it } from 'vitest';
import { MAX_MESSAGE_BYTES, MessageFramer, Verdict, type FrameSink } from '../../src/proxy/framer.js';
import { ProtocolError } from '../../src/proxy/protocol-error.js';

// ---------------------------------------------------------------------------------------------
// Hand-built messages (https://www.postgresql.org/docs/current/protocol-message-formats.html)
// ---------------------------------------------------------------------------------------------

type Part = Buffer | string;

const cstr = (s: string): Buffer => Buffer.from(`${s}\0`, 'utf8');
const int16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n, 0);
  return b;
};
const int32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n, 0);
  return b;
};
const body = (...parts: Part[]): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));

/** A typed message: type byte, Int32 length (counting itself), body. */
function msg(type: string, ...parts: Part[]): Buffer {
  const b = body(...parts);
  const out = Buffer.alloc(5 + b.length);
  out[0] = type.charCodeAt(0);
  out.writeInt32BE(4 + b.length, 1);
  b.copy(out, 5);
  return out;
}

/** An untyped startup-phase message: Int32 length (counting itself), body. */
function untypedMsg(...parts: Part[]): Buffer {
  const b = body(...parts);
  const out = Buffer.alloc(4 + b.length);
  out.writeInt32BE(4 + b.length, 0);
  b.copy(out, 4);
  return out;
}

/** Bytes that themselves look like message headers, to catch a framer that resyncs on content. */
const headerLookalike = Buffer.from([0x44, 0, 0, 0, 5, 0x5a, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);

/** Every frontend (client → server) message type the proxy can see after startup. */
const FRONTEND: Buffer[] = [
  msg('p', cstr('SCRAM-SHA-256'), int32(32), 'n,,n=,r=rOprNGfwEbeRWgbNEkqO12345'), // SASLInitialResponse
  msg('p', 'c=biws,r=rOprNGfwEbeRWgbNEkqO12345,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ='), // SASLResponse
  msg('p', cstr('cleartext-password')), // PasswordMessage
  msg('Q', cstr('SELECT 1')),
  msg('P', cstr('s1'), cstr('SELECT $1::int, $2::text'), int16(2), int32(23), int32(25)),
  msg('B', cstr('p1'), cstr('s1'), int16(1), int16(0), int16(2), int32(1), '7', int32(-1), int16(0)),
  msg('D', 'S', cstr('s1')),
  msg('D', 'P', cstr('p1')),
  msg('E', cstr('p1'), int32(0)),
  msg('H'),
  msg('S'),
  msg('C', 'P', cstr('p1')),
  msg('C', 'S', cstr('s1')),
  msg('S'),
  msg('Q', cstr(`COPY t FROM STDIN -- ${'x'.repeat(200)}`)),
  msg('d', 'a\tb\n'),
  msg('d', headerLookalike),
  msg('d'),
  msg('c'),
  msg('Q', cstr('COPY t FROM STDIN')),
  msg('d', '1\t2\n'),
  msg('f', cstr('client gave up')),
  msg('F', int32(1598), int16(1), int16(0), int16(1), int32(3), 'abc', int16(0)),
  msg('X'),
];

/** Every backend (server → client) message type. */
const BACKEND: Buffer[] = [
  msg('v', int32(0), int32(1), cstr('_pq_.something')), // NegotiateProtocolVersion
  msg('R', int32(10), cstr('SCRAM-SHA-256'), cstr('')), // AuthenticationSASL
  msg('R', int32(11), 'r=abc,s=c2FsdA==,i=4096'), // AuthenticationSASLContinue
  msg('R', int32(12), 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4='), // AuthenticationSASLFinal
  msg('R', int32(0)), // AuthenticationOk
  msg('S', cstr('server_version'), cstr('17.2')),
  msg('S', cstr('TimeZone'), cstr('UTC')),
  msg('K', int32(4242), int32(-123456)),
  msg('Z', 'I'),
  msg(
    'T', // RowDescription
    int16(2),
    cstr('id'),
    int32(16384),
    int16(1),
    int32(23),
    int16(4),
    int32(-1),
    int16(0),
    cstr('name'),
    int32(16384),
    int16(2),
    int32(25),
    int16(-1),
    int32(-1),
    int16(0),
  ),
  msg('D', int16(2), int32(1), '1', int32(5), 'alice'),
  msg('D', int16(2), int32(1), '2', int32(-1)),
  msg('D', int16(1), int32(300), 'y'.repeat(300)),
  msg('C', cstr('SELECT 3')),
  msg('N', 'SNOTICE', '\0', 'C00000', '\0', 'Mhello', '\0', '\0'),
  msg('A', int32(777), cstr('chan'), cstr('payload')), // NotificationResponse
  msg('Z', 'T'),
  msg('E', 'SERROR', '\0', 'C42P01', '\0', 'Mrelation "nope" does not exist', '\0', '\0'),
  msg('Z', 'E'),
  msg('G', Buffer.from([0]), int16(2), int16(0), int16(0)), // CopyInResponse
  msg('H', Buffer.from([0]), int16(1), int16(0)), // CopyOutResponse
  msg('W', Buffer.from([1]), int16(1), int16(1)), // CopyBothResponse
  msg('d', '1\tx\n'),
  msg('d', headerLookalike),
  msg('c'),
  msg('1'), // ParseComplete
  msg('t', int16(2), int32(23), int32(25)), // ParameterDescription
  msg('n'), // NoData
  msg('2'), // BindComplete
  msg('s'), // PortalSuspended
  msg('3'), // CloseComplete
  msg('I'), // EmptyQueryResponse
  msg('Z', 'I'),
];

// ---------------------------------------------------------------------------------------------
// Driving the framer
// ---------------------------------------------------------------------------------------------

interface Stream {
  bytes: Buffer;
  messages: { type: number; start: number; end: number; bytes: Buffer }[];
  boundaries: Set<number>;
}

function stream(messages: Buffer[], headerSizeOf: (index: number) => number = () => 5): Stream {
  const bytes = Buffer.concat(messages);
  const list: Stream['messages'] = [];
  const boundaries = new Set<number>([0]);
  let offset = 0;
  messages.forEach((m, i) => {
    const typed = headerSizeOf(i) === 5;
    list.push({ type: typed ? (m[0] as number) : 0, start: offset, end: offset + m.length, bytes: m });
    offset += m.length;
    boundaries.add(offset);
  });
  return { bytes, messages: list, boundaries };
}

/** Seeded PRNG (mulberry32) so a failing random split can be reproduced. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Cuts `bytes` at the given offsets. */
function cut(bytes: Buffer, offsets: number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let last = 0;
  for (const o of offsets) {
    chunks.push(bytes.subarray(last, o));
    last = o;
  }
  chunks.push(bytes.subarray(last));
  return chunks;
}

/** Named ways of cutting a stream: whole, at every offset in two, byte by byte, random. */
function splits(bytes: Buffer): { name: string; chunks: Buffer[] }[] {
  const out: { name: string; chunks: Buffer[] }[] = [{ name: 'whole', chunks: [bytes] }];
  for (let i = 0; i <= bytes.length; i++) out.push({ name: `split at ${i}`, chunks: cut(bytes, [i]) });
  out.push({
    name: 'byte by byte',
    chunks: Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1)),
  });
  for (let seed = 1; seed <= 40; seed++) {
    const random = rng(seed);
    const offsets: number[] = [];
    for (let o = 0; ;) {
      o += 1 + Math.floor(random() * 40);
      if (o >= bytes.length) break;
      offsets.push(o);
    }
    out.push({ name: `random seed ${seed}`, chunks: cut(bytes, offsets) });
  }
  return out;
}

/** A sink that records everything and decides verdicts with `decide`. */
class RecordingSink implements FrameSink {
  forwarded: Buffer[] = [];
  delivered: { type: number; bytes: Buffer }[] = [];
  constructor(private readonly decide: (type: number, message: Buffer) => Verdict = () => Verdict.Forward) {}
  forward(bytes: Buffer): void {
    // Copy: the framer may hand out views of chunks the test later reuses.
    this.forwarded.push(Buffer.from(bytes));
  }
  message(type: number, message: Buffer): Verdict {
    this.delivered.push({ type, bytes: Buffer.from(message) });
    return this.decide(type, message);
  }
  get output(): Buffer {
    return Buffer.concat(this.forwarded);
  }
  get forwardedLength(): number {
    return this.forwarded.reduce((n, b) => n + b.length, 0);
  }
}

const WANTS: { name: string; wants: (type: number) => boolean }[] = [
  { name: 'all', wants: () => true },
  { name: 'none', wants: () => false },
  { name: "only 'Z'", wants: (t) => t === 0x5a },
  { name: "only 'D'", wants: (t) => t === 0x44 },
];

const ch = (type: number): string => String.fromCharCode(type);

/**
 * Pushes `chunks` into a fresh framer (all verdicts Forward) and checks, after every push and
 * inside every `message()` call, where the output stands relative to the input.
 */
function run(s: Stream, wants: (type: number) => boolean, chunks: Buffer[], label: string): RecordingSink {
  const framer = new MessageFramer(wants);
  let pushed = 0;
  const sink = new RecordingSink((type, message) => {
    expect(wants(type), `${label}: unwanted '${ch(type)}' delivered`).toBe(true);
    // While a message is being delivered the output sits exactly at its start: everything
    // before it has gone out, nothing of it or after it has.
    const out = sink.output;
    const m = s.messages.find((x) => x.start === out.length);
    expect(m, `${label}: message() called with output at ${out.length}, not at a boundary`).toBeDefined();
    expect(out.equals(s.bytes.subarray(0, out.length)), `${label}: output diverged`).toBe(true);
    expect(message.equals((m as Stream['messages'][number]).bytes), `${label}: wrong message bytes`).toBe(
      true,
    );
    expect(framer.atBoundary, `${label}: atBoundary inside message()`).toBe(true);
    return Verdict.Forward;
  });
  for (const chunk of chunks) {
    framer.push(chunk, sink);
    pushed += chunk.length;
    // Output after the push: whole messages up to `pushed`, plus the streamed part of an
    // unwanted message that has its header; a wanted message or a partial header waits.
    const open = s.messages.find((m) => m.start < pushed && pushed < m.end);
    const expected =
      open === undefined ? pushed : pushed - open.start < 5 || wants(open.type) ? open.start : pushed;
    expect(sink.forwardedLength, `${label}: forwarded bytes after ${pushed} pushed`).toBe(expected);
    expect(framer.atBoundary, `${label}: atBoundary after ${pushed} pushed`).toBe(s.boundaries.has(pushed));
    expect(framer.isPaused).toBe(false);
  }
  return sink;
}

describe('MessageFramer: every message type, every split', () => {
  const streams = [
    { name: 'frontend', s: stream(FRONTEND) },
    { name: 'backend', s: stream(BACKEND) },
  ];

  it('covers every message type it claims to', () => {
    const types = (s: Stream): string => [...new Set(s.messages.map((m) => ch(m.type)))].sort().join('');
    expect(types(streams[0]!.s)).toBe([...'BCDEFHPQSXcdfp'].sort().join(''));
    expect(types(streams[1]!.s)).toBe([...'123ACDEGHIKNRSTWZcdnstv'].sort().join(''));
    // Every hand-built length matches the buffer it sits in.
    for (const { s } of streams)
      for (const m of s.messages) expect(m.bytes.readInt32BE(1)).toBe(m.bytes.length - 1);
  });

  for (const { name, s } of streams) {
    for (const { name: wantsName, wants } of WANTS) {
      it(`${name} stream, wants ${wantsName}: output is the input, deliveries are split-independent`, () => {
        const expectedDelivered = s.messages
          .filter((m) => wants(m.type))
          .map((m) => ({ type: m.type, bytes: m.bytes }));
        for (const { name: splitName, chunks } of splits(s.bytes)) {
          const label = `${name}/${wantsName}/${splitName}`;
          const sink = run(s, wants, chunks, label);
          expect(sink.output.equals(s.bytes), `${label}: output differs from input`).toBe(true);
          expect(sink.delivered, label).toEqual(expectedDelivered);
          for (const d of sink.delivered) expect(wants(d.type), label).toBe(true);
        }
      });
    }
  }

  it('Consumed messages are not forwarded, whatever the split', () => {
    const s = stream(FRONTEND);
    const consumed = (t: number): boolean => t === 0x51 /* Q */ || t === 0x70; /* p */
    const expected = Buffer.concat(s.messages.filter((m) => !consumed(m.type)).map((m) => m.bytes));
    for (const { name, chunks } of splits(s.bytes)) {
      const framer = new MessageFramer((t) => t === 0x51 || t === 0x70 || t === 0x53);
      const sink = new RecordingSink((t) => (consumed(t) ? Verdict.Consumed : Verdict.Forward));
      for (const c of chunks) framer.push(c, sink);
      expect(sink.output.equals(expected), name).toBe(true);
      expect(sink.delivered.map((d) => ch(d.type)).join(''), name).toBe('pppQSSQQ');
      expect(framer.atBoundary).toBe(true);
    }
  });
});

describe('MessageFramer: large messages', () => {
  const FIVE_MB = 5 * 1024 * 1024;
  const CHUNK = 64 * 1024;
  const bigRow = msg('D', int16(1), int32(FIVE_MB), Buffer.alloc(FIVE_MB, 0x61));
  const s = stream([
    msg('T', int16(1), cstr('v'), int32(0), int16(0), int32(25), int16(-1), int32(-1), int16(0)),
    bigRow,
    msg('C', cstr('SELECT 1')),
    msg('Z', 'I'),
  ]);

  it('streams a huge unwanted DataRow chunk by chunk without holding it', () => {
    const framer = new MessageFramer((t) => t === 0x5a);
    let pushed = 0;
    let largestForward = 0;
    const sink = new RecordingSink();
    const spy: FrameSink = {
      forward: (bytes) => {
        largestForward = Math.max(largestForward, bytes.length);
        sink.forward(bytes);
      },
      message: (type, message) => sink.message(type, message),
    };
    // Offset by 3 so the DataRow header and the chunk edges do not line up.
    const chunks = cut(
      s.bytes,
      Array.from({ length: Math.floor(s.bytes.length / CHUNK) }, (_, i) => 3 + i * CHUNK),
    );
    for (const c of chunks) {
      framer.push(c, spy);
      pushed += c.length;
      // Everything pushed is out by the end of the same push, bar at most a partial header.
      expect(pushed - sink.forwardedLength).toBeLessThan(5);
    }
    // No forward is bigger than the chunk that carried it (nothing accumulates).
    expect(largestForward).toBeLessThanOrEqual(Math.max(...chunks.map((c) => c.length)));
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThan(2 * CHUNK);
    expect(sink.output.equals(s.bytes)).toBe(true);
    expect(sink.delivered.map((d) => ch(d.type))).toEqual(['Z']);
  });

  it('assembles a huge wanted DataRow once, byte-identical', () => {
    const framer = new MessageFramer((t) => t === 0x44);
    const sink = new RecordingSink();
    for (const c of cut(
      s.bytes,
      Array.from({ length: Math.floor(s.bytes.length / CHUNK) }, (_, i) => 1 + i * CHUNK),
    ))
      framer.push(c, sink);
    expect(sink.delivered).toHaveLength(1);
    expect(sink.delivered[0]!.bytes.equals(bigRow)).toBe(true);
    expect(sink.output.equals(s.bytes)).toBe(true);
  });

  it('accepts the largest legal length and rejects one byte more', () => {
    const header = (length: number): Buffer => Buffer.concat([Buffer.from('D'), int32(length)]);
    const ok = new MessageFramer(() => false);
    const sink = new RecordingSink();
    ok.push(header(MAX_MESSAGE_BYTES), sink);
    expect(ok.atBoundary).toBe(false);
    expect(sink.output.equals(header(MAX_MESSAGE_BYTES))).toBe(true);
    expect(() =>
      new MessageFramer(() => false).push(header(MAX_MESSAGE_BYTES + 1), new RecordingSink()),
    ).toThrow(ProtocolError);
  });
});

describe('MessageFramer: untyped startup phase', () => {
  const ssl = untypedMsg(int32(80877103));
  const startup = untypedMsg(int32(196608), cstr('user'), cstr('agent'), cstr('database'), cstr('app'), '\0');
  const typed = [
    msg('p', cstr('SCRAM-SHA-256'), int32(8), 'n,,n=,r='),
    msg('p', 'c=biws,r=x,p=y'),
    msg('Q', cstr('SELECT 1')),
    msg('X'),
  ];
  const s = stream([ssl, startup, ...typed], (i) => (i < 2 ? 4 : 5));

  it('delivers SSLRequest and StartupMessage as type 0, then typed messages, at every split', () => {
    const expected = [
      { type: 0, bytes: ssl },
      { type: 0, bytes: startup },
      ...typed.filter((m) => m[0] !== 0x58).map((m) => ({ type: m[0] as number, bytes: m })),
    ];
    for (const { name, chunks } of splits(s.bytes)) {
      const framer = new MessageFramer((t) => t !== 0x58, { untyped: true });
      let pushed = 0;
      const sink = new RecordingSink((type, message) => {
        if (type === 0 && message.readInt32BE(4) === 196608) framer.untyped = false;
        return Verdict.Forward;
      });
      for (const c of chunks) {
        framer.push(c, sink);
        pushed += c.length;
        expect(framer.atBoundary, `${name}: atBoundary after ${pushed}`).toBe(s.boundaries.has(pushed));
      }
      expect(sink.delivered, name).toEqual(expected);
      expect(sink.output.equals(s.bytes), name).toBe(true);
      expect(framer.untyped).toBe(false);
    }
  });

  it('rejects an untyped length below 8 or above 1 GB', () => {
    for (const length of [-1, 0, 4, 7, MAX_MESSAGE_BYTES + 1]) {
      expect(
        () => new MessageFramer(() => true, { untyped: true }).push(int32(length), new RecordingSink()),
        String(length),
      ).toThrow(ProtocolError);
    }
  });
});

describe('MessageFramer: Pause', () => {
  const s = stream(FRONTEND);
  const third = s.messages[2]!;

  /** Pauses the first time message number `at[k]` (0-based, in stream order) is delivered. */
  class PausingSink extends RecordingSink {
    /** Index of the next message not yet accepted (Forward). */
    next = 0;
    private readonly remaining: number[];
    constructor(
      at: number[],
      private readonly framer: MessageFramer,
    ) {
      super();
      this.remaining = [...at];
    }
    override message(type: number, message: Buffer): Verdict {
      super.message(type, message);
      expect(message.equals(s.messages[this.next]!.bytes)).toBe(true);
      if (this.remaining[0] === this.next) {
        this.remaining.shift();
        expect(this.framer.atBoundary).toBe(true);
        return Verdict.Pause;
      }
      this.next++;
      return Verdict.Forward;
    }
  }

  it('holds everything from the 3rd message until resume, including chunks pushed while paused', () => {
    for (const { name, chunks } of splits(s.bytes)) {
      const framer = new MessageFramer(() => true);
      const sink = new PausingSink([2], framer);
      let i = 0;
      for (; i < chunks.length && !framer.isPaused; i++) framer.push(chunks[i]!, sink);
      expect(framer.isPaused, name).toBe(true);
      expect(sink.output.equals(s.bytes.subarray(0, third.start)), name).toBe(true);
      expect(sink.delivered.length, name).toBe(3);
      // The rest arrives while paused: nothing moves.
      for (; i < chunks.length; i++) framer.push(chunks[i]!, sink);
      expect(sink.output.length, name).toBe(third.start);
      expect(sink.delivered.length, name).toBe(3);

      framer.resume(sink);
      expect(framer.isPaused, name).toBe(false);
      expect(sink.output.equals(s.bytes), name).toBe(true);
      // The paused message is delivered again, then every later one, in order.
      expect(
        sink.delivered.map((d) => d.bytes),
        name,
      ).toEqual([...s.messages.slice(0, 3).map((m) => m.bytes), ...s.messages.slice(2).map((m) => m.bytes)]);
      expect(framer.atBoundary).toBe(true);
    }
  });

  it('pauses twice in a row: the same message again, then the next one', () => {
    for (const { name, chunks } of splits(s.bytes)) {
      const framer = new MessageFramer(() => true);
      const sink = new PausingSink([2, 2, 3], framer);
      const push = (c: Buffer): void => framer.push(c, sink);
      // Push half the chunks, resume once (pauses again on the re-delivery), push the rest.
      const half = Math.ceil(chunks.length / 2);
      chunks.slice(0, half).forEach(push);
      const pausedBefore = framer.isPaused;
      if (pausedBefore) {
        framer.resume(sink);
        expect(framer.isPaused, name).toBe(true);
        expect(sink.output.length, name).toBe(third.start);
      }
      chunks.slice(half).forEach(push);
      while (framer.isPaused) {
        const before = sink.output.length;
        expect(s.boundaries.has(before), name).toBe(true);
        framer.resume(sink);
        expect(sink.output.length, name).toBeGreaterThanOrEqual(before);
      }
      expect(sink.output.equals(s.bytes), name).toBe(true);
      expect(sink.next).toBe(s.messages.length);
      // Message 2 delivered three times (pause, pause, forward), message 3 twice.
      const count = (m: Buffer): number => sink.delivered.filter((d) => d.bytes.equals(m)).length;
      expect(count(s.messages[2]!.bytes), name).toBe(3);
      expect(count(s.messages[3]!.bytes), name).toBe(2);
    }
  });

  it('takeHeld gives back the paused message and everything after it', () => {
    for (const { name, chunks } of splits(s.bytes)) {
      const framer = new MessageFramer(() => true);
      const sink = new PausingSink([2], framer);
      for (const c of chunks) framer.push(c, sink);
      const held = framer.takeHeld();
      expect(framer.isPaused).toBe(false);
      expect(Buffer.concat([sink.output, ...held]).equals(s.bytes), name).toBe(true);
      expect(Buffer.concat(held).subarray(0, third.bytes.length).equals(third.bytes), name).toBe(true);
      expect(framer.takeHeld()).toEqual([]);
    }
  });

  it('resume without a pause does nothing', () => {
    const framer = new MessageFramer(() => true);
    const sink = new RecordingSink();
    framer.resume(sink);
    expect(sink.forwarded).toEqual([]);
    expect(sink.delivered).toEqual([]);
  });
});

describe('MessageFramer: bad lengths', () => {
  const header = (type: string, length: number): Buffer => Buffer.concat([Buffer.from(type), int32(length)]);

  for (const length of [-1, -0x80000000, 0, 3, MAX_MESSAGE_BYTES + 1, 0x7fffffff]) {
    it(`rejects length ${length} with ProtocolError (wanted or not, whole or split)`, () => {
      for (const wants of [() => true, () => false]) {
        const bad = Buffer.concat([msg('Q', cstr('SELECT 1')), header('D', length), Buffer.alloc(16)]);
        for (const { name, chunks } of splits(bad)) {
          const framer = new MessageFramer(wants);
          const sink = new RecordingSink();
          expect(() => {
            for (const c of chunks) framer.push(c, sink);
          }, name).toThrow(ProtocolError);
        }
      }
    });
  }

  it('names the message type in the error', () => {
    expect(() => new MessageFramer(() => true).push(header('D', 2), new RecordingSink())).toThrow(
      /length 2 .*'D'/,
    );
  });
});

describe('writesDuring: runs continue over forwarded messages whose handler writes nothing', () => {
  const m = (type: string, body: string) => {
    const b = Buffer.alloc(5 + body.length);
    b.write(type, 0, 'latin1');
    b.writeInt32BE(4 + body.length, 1);
    b.write(body, 5, 'latin1');
    return b;
  };
  const stream = Buffer.concat([
    m('2', ''),
    m('D', 'row-1'),
    m('C', 'SELECT 1\0'),
    m('Z', 'I'),
    m('D', 'row-2'),
  ]);

  it('forwards a whole chunk as one write and the same bytes as the flushing default', () => {
    const wants = (t: number) => t === 0x43 || t === 0x5a;
    for (const writesDuring of [undefined, () => false]) {
      const framer = new MessageFramer(wants, writesDuring ? { writesDuring } : {});
      const forwarded: Buffer[] = [];
      framer.push(stream, { forward: (b) => forwarded.push(b), message: () => Verdict.Forward });
      expect(Buffer.concat(forwarded).equals(stream)).toBe(true);
      if (writesDuring) {
        expect(forwarded).toHaveLength(1);
        expect(forwarded[0]).toBe(stream); // the chunk itself, not a copy or a view
      } else {
        expect(forwarded.length).toBeGreaterThan(1);
      }
    }
  });

  it('still drops a Consumed message and keeps order around it', () => {
    const framer = new MessageFramer((t) => t === 0x43, { writesDuring: () => false });
    const forwarded: Buffer[] = [];
    framer.push(stream, { forward: (b) => forwarded.push(b), message: () => Verdict.Consumed });
    expect(
      Buffer.concat(forwarded).equals(
        Buffer.concat([m('2', ''), m('D', 'row-1'), m('Z', 'I'), m('D', 'row-2')]),
      ),
    ).toBe(true);
  });
});

describe('a peer claiming a huge message', () => {
  it('costs memory for the bytes that arrived, not the length it announced', () => {
    const framer = new MessageFramer(() => true);
    const header = Buffer.alloc(5 + 1024);
    header.write('Q', 0, 'latin1');
    header.writeInt32BE(0x3fff0000, 1); // ~1 GB announced, 1 KB sent
    const before = process.memoryUsage().arrayBuffers;
    framer.push(header, { forward: () => {}, message: () => Verdict.Forward });
    framer.push(Buffer.alloc(4096), { forward: () => {}, message: () => Verdict.Forward });
    const grown = process.memoryUsage().arrayBuffers - before;
    expect(grown).toBeLessThan(16 * 1024 * 1024);
    expect(framer.atBoundary).toBe(false);
  });
});

describe('MessageFramer: messages rewritten by the sink', () => {
  /** A sink that shortens every 'D' message to its header plus its first body byte, in place. */
  function shrinkingSink(out: Buffer[]): FrameSink {
    const sink: FrameSink = {
      shrunk: 0,
      forward: (bytes) => out.push(Buffer.from(bytes)),
      message: (type, message) => {
        if (type !== 0x44 || message.length <= 6) return Verdict.Forward;
        message.writeInt32BE(5, 1);
        sink.shrunk = 6;
        return Verdict.Shrunk;
      },
    };
    return sink;
  }

  const rows = [
    msg('D', 'abcdef'),
    msg('C', cstr('SELECT 1')),
    msg('D', 'xy'),
    msg('D', 'longer row body'),
    msg('Z', 'I'),
  ];
  const expected = Buffer.concat([
    msg('D', 'a'),
    msg('C', cstr('SELECT 1')),
    msg('D', 'x'),
    msg('D', 'l'),
    msg('Z', 'I'),
  ]);

  it('keeps a message shrunk in place in the pass-through run, moving what follows down over the gap', () => {
    const out: Buffer[] = [];
    const framer = new MessageFramer((type) => type === 0x44, { writesDuring: () => false });
    framer.push(Buffer.concat(rows), shrinkingSink(out));
    expect(out).toHaveLength(1);
    expect(Buffer.concat(out)).toEqual(expected);
  });

  it('gives the same bytes whatever the chunking', () => {
    const stream = Buffer.concat(rows);
    for (let split = 1; split < stream.length; split++) {
      const out: Buffer[] = [];
      const framer = new MessageFramer((type) => type === 0x44, { writesDuring: () => false });
      const sink = shrinkingSink(out);
      framer.push(Buffer.from(stream.subarray(0, split)), sink);
      framer.push(Buffer.from(stream.subarray(split)), sink);
      expect(Buffer.concat(out), `split at ${split}`).toEqual(expected);
    }
  });

  it('sends a replacement Buffer in the message’s place, in order', () => {
    const out: Buffer[] = [];
    const framer = new MessageFramer((type) => type === 0x44, { writesDuring: () => false });
    framer.push(Buffer.concat([msg('T', 'x'), msg('D', 'secret'), msg('D', 'drop me'), msg('Z', 'I')]), {
      forward: (bytes) => out.push(Buffer.from(bytes)),
      message: (_type, message) =>
        message.includes('secret')
          ? msg('D', '******')
          : message.includes('drop')
            ? Buffer.alloc(0)
            : Verdict.Forward,
    });
    expect(Buffer.concat(out)).toEqual(Buffer.concat([msg('T', 'x'), msg('D', '******'), msg('Z', 'I')]));
  });
});
