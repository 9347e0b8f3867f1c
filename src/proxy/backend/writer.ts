import { typedMessage } from '../typed-message.js';
/**
 * Builders for the server messages the proxy itself sends to clients
 * (https://www.postgresql.org/docs/current/protocol-message-formats.html). Pure: bytes out.
 */

/** Severity and fields of an ErrorResponse/NoticeResponse. */
export interface ErrorFields {
  severity: 'ERROR' | 'FATAL' | 'PANIC' | 'WARNING' | 'NOTICE' | 'INFO' | 'LOG';
  code: string;
  message: string;
  detail?: string;
  hint?: string;
}

function int32(value: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(value, 0);
  return b;
}

function cstring(text: string): Buffer {
  return Buffer.from(`${text}\0`, 'utf8');
}

/** ErrorResponse ('E') — or NoticeResponse ('N') with `notice`. */
export function errorResponse(fields: ErrorFields, notice = false): Buffer {
  const parts: Buffer[] = [
    cstring(`S${fields.severity}`),
    cstring(`V${fields.severity}`),
    cstring(`C${fields.code}`),
    cstring(`M${fields.message}`),
  ];
  if (fields.detail) parts.push(cstring(`D${fields.detail}`));
  if (fields.hint) parts.push(cstring(`H${fields.hint}`));
  parts.push(Buffer.from([0]));
  return typedMessage(notice ? 'N' : 'E', Buffer.concat(parts));
}

/** AuthenticationOk. */
export function authenticationOk(): Buffer {
  return typedMessage('R', int32(0));
}

/** AuthenticationSASL listing the mechanisms we accept. */
export function authenticationSasl(mechanisms: string[]): Buffer {
  return typedMessage('R', Buffer.concat([int32(10), ...mechanisms.map(cstring), Buffer.from([0])]));
}

/** AuthenticationSASLContinue carrying the server-first-message. */
export function authenticationSaslContinue(data: Buffer): Buffer {
  return typedMessage('R', Buffer.concat([int32(11), data]));
}

/** AuthenticationSASLFinal carrying the server-final-message. */
export function authenticationSaslFinal(data: Buffer): Buffer {
  return typedMessage('R', Buffer.concat([int32(12), data]));
}

/** BackendKeyData: the (pid, secret) a client later sends in CancelRequest. */
export function backendKeyData(pid: number, secret: number): Buffer {
  return typedMessage('K', Buffer.concat([int32(pid), int32(secret)]));
}

/** ParameterStatus. */
export function parameterStatus(name: string, value: string): Buffer {
  return typedMessage('S', Buffer.concat([cstring(name), cstring(value)]));
}

/** ReadyForQuery with transaction status 'I' | 'T' | 'E'. */
export function readyForQuery(status: 'I' | 'T' | 'E' = 'I'): Buffer {
  return typedMessage('Z', Buffer.from(status, 'latin1'));
}

/** NegotiateProtocolVersion: we speak 3.0 and none of the `_pq_.` options the client asked for. */
export function negotiateProtocolVersion(newestMinor: number, unsupported: string[]): Buffer {
  return typedMessage(
    'v',
    Buffer.concat([int32(newestMinor), int32(unsupported.length), ...unsupported.map(cstring)]),
  );
}

/** The single byte answering SSLRequest / GSSENCRequest: 'N' = not supported, carry on in clear. */
export const REFUSE_ENCRYPTION = Buffer.from('N', 'latin1');
