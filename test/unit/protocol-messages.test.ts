import { Readable } from 'node:stream';
import { DatabaseError, parse } from 'pg-protocol';
import { describe, expect, it } from 'vitest';
import {
  parseAuthRequest,
  parseBackendKeyData,
  parseErrorFields,
  parseParameterStatus,
} from '../../src/proxy/backend/reader.js';
import {
  REFUSE_ENCRYPTION,
  authenticationOk,
  authenticationSasl,
  authenticationSaslContinue,
  authenticationSaslFinal,
  backendKeyData,
  errorResponse,
  negotiateProtocolVersion,
  parameterStatus,
  readyForQuery,
} from '../../src/proxy/backend/writer.js';
import { MessageFramer, Verdict } from '../../src/proxy/framer.js';
import { parseSaslInitialResponse, parseSaslResponse } from '../../src/proxy/frontend/sasl.js';
import { parseStartupPhase } from '../../src/proxy/frontend/startup.js';
import {
  CANCEL_REQUEST_CODE,
  GSSENC_REQUEST_CODE,
  PROTOCOL_3_0,
  SSL_REQUEST_CODE,
  cancelRequest,
  passwordMessage,
  saslInitialResponse,
  saslResponse,
  sslRequest,
  startupMessage,
  terminate,
} from '../../src/proxy/frontend/writer.js';
import { ProtocolError } from '../../src/proxy/protocol-error.js';

const cstr = (s: string): Buffer => Buffer.from(`${s}\0`, 'utf8');
const int32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n, 0);
  return b;
};
function msg(type: string, ...parts: (Buffer | string)[]): Buffer {
  const body = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));
  return Buffer.concat([Buffer.from(type, 'latin1'), int32(4 + body.length), body]);
}
function untyped(...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([int32(4 + body.length), body]);
}

/** Parses `bytes` with node-postgres' own backend parser, fed one byte at a time. */
async function pgParse(bytes: Buffer): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  const chunks = Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
  await parse(Readable.from(chunks), (m) => out.push(m as unknown as Record<string, unknown>));
  return out;
}

/** Asserts `fn` throws a ProtocolError (not a TypeError/RangeError from a raw Buffer read). */
function expectProtocolError(fn: () => unknown, label: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught, `${label}: threw ${String(caught)}`).toBeInstanceOf(ProtocolError);
}

describe('backend writer, read back by pg-protocol', () => {
  it('errorResponse and notice carry every field', async () => {
    const full = {
      severity: 'FATAL',
      code: '28000',
      message: 'jit: this session only accepts user "a"',
      detail: 'détail ✓',
      hint: 'use PGUSER',
    } as const;
    const [error, bare, notice] = await pgParse(
      Buffer.concat([
        errorResponse(full),
        errorResponse({ severity: 'ERROR', code: '42501', message: 'blocked' }),
        errorResponse({ severity: 'WARNING', code: '01000', message: 'careful' }, true),
      ]),
    );
    expect(error).toBeInstanceOf(DatabaseError);
    expect(error).toMatchObject({ name: 'error', ...full });
    expect(bare).toMatchObject({ name: 'error', severity: 'ERROR', code: '42501', message: 'blocked' });
    expect(bare?.detail).toBeUndefined();
    expect(bare?.hint).toBeUndefined();
    expect(notice).toMatchObject({ name: 'notice', severity: 'WARNING', code: '01000', message: 'careful' });
  });

  it('errorResponse fields round-trip through our reader too', () => {
    const bytes = errorResponse({ severity: 'ERROR', code: '42501', message: 'm', detail: 'd', hint: 'h' });
    expect(bytes.readInt32BE(1)).toBe(bytes.length - 1);
    expect(parseErrorFields(bytes)).toEqual({ S: 'ERROR', V: 'ERROR', C: '42501', M: 'm', D: 'd', H: 'h' });
  });

  it('authentication messages', async () => {
    const continueData = Buffer.from('r=nonce,s=c2FsdA==,i=4096');
    const finalData = Buffer.from('v=c2lnbmF0dXJl');
    const parsed = await pgParse(
      Buffer.concat([
        authenticationSasl(['SCRAM-SHA-256', 'SCRAM-SHA-256-PLUS']),
        authenticationSaslContinue(continueData),
        authenticationSaslFinal(finalData),
        authenticationOk(),
      ]),
    );
    expect(parsed).toMatchObject([
      { name: 'authenticationSASL', mechanisms: ['SCRAM-SHA-256', 'SCRAM-SHA-256-PLUS'] },
      { name: 'authenticationSASLContinue', data: continueData.toString() },
      { name: 'authenticationSASLFinal', data: finalData.toString() },
      { name: 'authenticationOk' },
    ]);
    expect(parseAuthRequest(authenticationSasl(['SCRAM-SHA-256']))).toEqual({
      kind: 'sasl',
      mechanisms: ['SCRAM-SHA-256'],
    });
    expect(parseAuthRequest(authenticationSaslContinue(continueData))).toEqual({
      kind: 'sasl-continue',
      data: continueData,
    });
    expect(parseAuthRequest(authenticationSaslFinal(finalData))).toEqual({
      kind: 'sasl-final',
      data: finalData,
    });
    expect(parseAuthRequest(authenticationOk())).toEqual({ kind: 'ok' });
  });

  it('backendKeyData, parameterStatus, readyForQuery', async () => {
    const parsed = await pgParse(
      Buffer.concat([
        backendKeyData(4242, -123456789),
        parameterStatus('server_version', '17.2 (jit)'),
        parameterStatus('application_name', ''),
        readyForQuery(),
        readyForQuery('T'),
        readyForQuery('E'),
      ]),
    );
    expect(parsed).toMatchObject([
      { name: 'backendKeyData', processID: 4242, secretKey: -123456789 },
      { name: 'parameterStatus', parameterName: 'server_version', parameterValue: '17.2 (jit)' },
      { name: 'parameterStatus', parameterName: 'application_name', parameterValue: '' },
      { name: 'readyForQuery', status: 'I' },
      { name: 'readyForQuery', status: 'T' },
      { name: 'readyForQuery', status: 'E' },
    ]);
    expect(parseBackendKeyData(backendKeyData(4242, 7))).toEqual({ pid: 4242, secret: int32(7) });
    expect(parseParameterStatus(parameterStatus('TimeZone', 'UTC'))).toEqual({
      name: 'TimeZone',
      value: 'UTC',
    });
  });

  it('negotiateProtocolVersion is framed right and carries the minor and the options', async () => {
    const nego = negotiateProtocolVersion(0, ['_pq_.a', '_pq_.bb']);
    // pg-protocol does not decode 'v'; it must still frame it, so the next message parses.
    const parsed = await pgParse(Buffer.concat([nego, readyForQuery()]));
    expect(parsed).toHaveLength(2);
    expect(parsed[1]).toMatchObject({ name: 'readyForQuery', status: 'I' });
    expect(nego[0]).toBe('v'.charCodeAt(0));
    expect(nego.readInt32BE(1)).toBe(nego.length - 1);
    expect(nego.readInt32BE(5)).toBe(0);
    expect(nego.readInt32BE(9)).toBe(2);
    expect(nego.subarray(13).toString('utf8')).toBe('_pq_.a\0_pq_.bb\0');
    expect(negotiateProtocolVersion(0, []).equals(msg('v', int32(0), int32(0)))).toBe(true);
  });

  it('REFUSE_ENCRYPTION is the single byte N', () => {
    expect(REFUSE_ENCRYPTION.equals(Buffer.from('N'))).toBe(true);
  });
});

describe('frontend writer, read back by our parsers', () => {
  it('startupMessage', () => {
    const params = { user: 'agent', database: 'app db', application_name: 'jit ✓', options: '-c a=b' };
    const bytes = startupMessage(params);
    expect(bytes.readInt32BE(0)).toBe(bytes.length);
    expect(bytes.readInt32BE(4)).toBe(PROTOCOL_3_0);
    const decoded = parseStartupPhase(bytes);
    expect(decoded).toEqual({ kind: 'startup', major: 3, minor: 0, params: new Map(Object.entries(params)) });
  });

  it('startup with protocol 3.2 reports the minor', () => {
    const decoded = parseStartupPhase(
      untyped(int32((3 << 16) | 2), cstr('user'), cstr('u'), Buffer.from([0])),
    );
    expect(decoded).toMatchObject({ kind: 'startup', major: 3, minor: 2 });
  });

  it('sslRequest, gssencRequest, cancelRequest', () => {
    expect(sslRequest().readInt32BE(0)).toBe(8);
    expect(parseStartupPhase(sslRequest())).toEqual({ kind: 'ssl' });
    expect(parseStartupPhase(untyped(int32(GSSENC_REQUEST_CODE)))).toEqual({ kind: 'gssenc' });
    const cancel = cancelRequest(4242, -7);
    expect(cancel.readInt32BE(0)).toBe(16);
    expect(parseStartupPhase(cancel)).toEqual({ kind: 'cancel', pid: 4242, secret: int32(-7) });
    // Protocol 3.2: a 32-byte key.
    const longKey = Buffer.alloc(32, 0xab);
    expect(parseStartupPhase(untyped(int32(CANCEL_REQUEST_CODE), int32(9), longKey))).toEqual({
      kind: 'cancel',
      pid: 9,
      secret: longKey,
    });
  });

  it('passwordMessage, saslInitialResponse, saslResponse, terminate', () => {
    expect(passwordMessage('pa ss✓').equals(msg('p', cstr('pa ss✓')))).toBe(true);
    const first = Buffer.from('n,,n=,r=rOprNGfwEbeRWgbNEkqO');
    const initial = saslInitialResponse('SCRAM-SHA-256', first);
    expect(initial.readInt32BE(1)).toBe(initial.length - 1);
    expect(parseSaslInitialResponse(initial)).toEqual({ mechanism: 'SCRAM-SHA-256', data: first });
    expect(parseSaslInitialResponse(saslInitialResponse('X', Buffer.alloc(0)))).toEqual({
      mechanism: 'X',
      data: Buffer.alloc(0),
    });
    const final = Buffer.from('c=biws,r=abc,p=xyz');
    const response = saslResponse(final);
    expect(response.readInt32BE(1)).toBe(response.length - 1);
    expect(parseSaslResponse(response)).toEqual(final);
    expect(terminate().equals(Buffer.from([0x58, 0, 0, 0, 4]))).toBe(true);
  });

  it('typed frontend messages frame correctly, back to back', () => {
    const all = [
      passwordMessage('x'),
      saslInitialResponse('SCRAM-SHA-256', Buffer.from('abc')),
      saslResponse(Buffer.from('def')),
      terminate(),
    ];
    const framer = new MessageFramer(() => true);
    const seen: Buffer[] = [];
    const bytes = Buffer.concat(all);
    for (let i = 0; i < bytes.length; i++)
      framer.push(bytes.subarray(i, i + 1), {
        forward: () => {},
        message: (_t, m) => {
          seen.push(Buffer.from(m));
          return Verdict.Consumed;
        },
      });
    expect(seen).toEqual(all);
    expect(framer.atBoundary).toBe(true);
  });
});

describe('backend reader on hand-built messages', () => {
  it('parseErrorFields', () => {
    const fields = {
      S: 'ERROR',
      V: 'ERROR',
      C: '42P01',
      M: 'relation "x" does not exist',
      P: '15',
      F: 'parse_relation.c',
      L: '1449',
      R: 'parserOpenTable',
    };
    const bytes = msg('E', ...Object.entries(fields).map(([k, v]) => cstr(`${k}${v}`)), Buffer.from([0]));
    expect(parseErrorFields(bytes)).toEqual(fields);
    expect(parseErrorFields(msg('N', cstr('SNOTICE'), cstr('Mhi'), Buffer.from([0])))).toEqual({
      S: 'NOTICE',
      M: 'hi',
    });
    expect(parseErrorFields(msg('E', Buffer.from([0])))).toEqual({});
  });

  it('parseAuthRequest for every code', () => {
    const auth = (code: number, ...rest: (Buffer | string)[]): Buffer => msg('R', int32(code), ...rest);
    const salt = Buffer.from([1, 2, 3, 4]);
    expect(parseAuthRequest(auth(0))).toEqual({ kind: 'ok' });
    expect(parseAuthRequest(auth(2))).toEqual({ kind: 'other', code: 2 }); // KerberosV5
    expect(parseAuthRequest(auth(3))).toEqual({ kind: 'cleartext' });
    expect(parseAuthRequest(auth(5, salt))).toEqual({ kind: 'md5', salt });
    expect(parseAuthRequest(auth(7))).toEqual({ kind: 'other', code: 7 }); // GSS
    expect(parseAuthRequest(auth(8, 'gss'))).toEqual({ kind: 'other', code: 8 }); // GSSContinue
    expect(parseAuthRequest(auth(9))).toEqual({ kind: 'other', code: 9 }); // SSPI
    expect(
      parseAuthRequest(auth(10, cstr('SCRAM-SHA-256-PLUS'), cstr('SCRAM-SHA-256'), Buffer.from([0]))),
    ).toEqual({
      kind: 'sasl',
      mechanisms: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'],
    });
    expect(parseAuthRequest(auth(10, Buffer.from([0])))).toEqual({ kind: 'sasl', mechanisms: [] });
    expect(parseAuthRequest(auth(11, 'r=x'))).toEqual({ kind: 'sasl-continue', data: Buffer.from('r=x') });
    expect(parseAuthRequest(auth(12, 'v=y'))).toEqual({ kind: 'sasl-final', data: Buffer.from('v=y') });
    expect(parseAuthRequest(auth(99))).toEqual({ kind: 'other', code: 99 });
  });

  it('parseAuthRequest copies its data out of the (reused) input buffer', () => {
    const bytes = msg('R', int32(5), Buffer.from([1, 2, 3, 4]));
    const result = parseAuthRequest(bytes);
    bytes.fill(0);
    expect(result).toEqual({ kind: 'md5', salt: Buffer.from([1, 2, 3, 4]) });
  });

  it('parseParameterStatus', () => {
    expect(parseParameterStatus(msg('S', cstr('DateStyle'), cstr('ISO, MDY')))).toEqual({
      name: 'DateStyle',
      value: 'ISO, MDY',
    });
    expect(parseParameterStatus(msg('S', cstr('x'), cstr('')))).toEqual({ name: 'x', value: '' });
  });

  it('parseBackendKeyData: 4-byte (3.0) and longer (3.2) keys', () => {
    expect(parseBackendKeyData(msg('K', int32(1), int32(-1)))).toEqual({ pid: 1, secret: int32(-1) });
    const key = Buffer.alloc(32, 7);
    expect(parseBackendKeyData(msg('K', int32(2), key))).toEqual({ pid: 2, secret: key });
  });
});

describe('malformed input throws ProtocolError', () => {
  const cases: [string, () => unknown][] = [
    // parseStartupPhase
    ['startup: empty', () => parseStartupPhase(Buffer.alloc(0))],
    ['startup: 4 bytes', () => parseStartupPhase(int32(4))],
    ['startup: 7 bytes', () => parseStartupPhase(Buffer.alloc(7))],
    ['startup: protocol 2.0', () => parseStartupPhase(untyped(int32(2 << 16), Buffer.from([0])))],
    ['startup: protocol 4.0', () => parseStartupPhase(untyped(int32(4 << 16), Buffer.from([0])))],
    ['startup: no terminator', () => parseStartupPhase(untyped(int32(PROTOCOL_3_0)))],
    ['startup: key without value', () => parseStartupPhase(untyped(int32(PROTOCOL_3_0), cstr('user')))],
    ['startup: unterminated key', () => parseStartupPhase(untyped(int32(PROTOCOL_3_0), Buffer.from('user')))],
    ['startup: ssl code, 12 bytes', () => parseStartupPhase(untyped(int32(SSL_REQUEST_CODE), int32(0)))],
    ['cancel: no key', () => parseStartupPhase(untyped(int32(CANCEL_REQUEST_CODE), int32(1)))],
    [
      'cancel: 3-byte key',
      () => parseStartupPhase(untyped(int32(CANCEL_REQUEST_CODE), int32(1), Buffer.alloc(3))),
    ],
    [
      'cancel: 257-byte key',
      () => parseStartupPhase(untyped(int32(CANCEL_REQUEST_CODE), int32(1), Buffer.alloc(257))),
    ],
    // SASL
    ['sasl initial: empty', () => parseSaslInitialResponse(Buffer.alloc(0))],
    ['sasl initial: wrong type', () => parseSaslInitialResponse(msg('Q', cstr('SCRAM-SHA-256'), int32(0)))],
    ['sasl initial: header only', () => parseSaslInitialResponse(msg('p'))],
    ['sasl initial: no mechanism terminator', () => parseSaslInitialResponse(msg('p', 'SCRAM'))],
    [
      'sasl initial: truncated length',
      () => parseSaslInitialResponse(msg('p', cstr('SCRAM-SHA-256'), Buffer.alloc(2))),
    ],
    ['sasl initial: length too long', () => parseSaslInitialResponse(msg('p', cstr('M'), int32(10), 'abc'))],
    ['sasl initial: length too short', () => parseSaslInitialResponse(msg('p', cstr('M'), int32(1), 'abc'))],
    ['sasl initial: negative length', () => parseSaslInitialResponse(msg('p', cstr('M'), int32(-2)))],
    ['sasl response: empty', () => parseSaslResponse(Buffer.alloc(0))],
    ['sasl response: wrong type', () => parseSaslResponse(msg('Q', 'x'))],
    // reader
    ['error: unterminated field', () => parseErrorFields(msg('E', 'SERROR'))],
    ['auth: empty', () => parseAuthRequest(Buffer.alloc(0))],
    ['auth: no code', () => parseAuthRequest(msg('R'))],
    ['auth: 3-byte code', () => parseAuthRequest(msg('R', Buffer.alloc(3)))],
    ['auth: md5 without salt', () => parseAuthRequest(msg('R', int32(5)))],
    ['auth: md5 short salt', () => parseAuthRequest(msg('R', int32(5), Buffer.from([1, 2])))],
    ['auth: sasl unterminated mechanism', () => parseAuthRequest(msg('R', int32(10), 'SCRAM'))],
    ['parameter status: empty', () => parseParameterStatus(Buffer.alloc(0))],
    ['parameter status: no terminators', () => parseParameterStatus(msg('S', 'abc'))],
    ['parameter status: no value terminator', () => parseParameterStatus(msg('S', cstr('abc'), 'def'))],
    ['key data: empty', () => parseBackendKeyData(Buffer.alloc(0))],
    ['key data: no secret', () => parseBackendKeyData(msg('K', int32(1)))],
    ['key data: short secret', () => parseBackendKeyData(msg('K', int32(1), Buffer.alloc(3)))],
  ];
  for (const [label, fn] of cases) it(label, () => expectProtocolError(fn, label));
});
