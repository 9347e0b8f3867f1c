import { typedMessage } from '../typed-message.js';
/**
 * Builders for the client messages the proxy sends upstream while it logs in
 * (https://www.postgresql.org/docs/current/protocol-message-formats.html). Pure: bytes out.
 */

/** Protocol 3.0, the version the proxy speaks to the upstream. */
export const PROTOCOL_3_0 = 196608;
/** Request codes of the untyped startup-phase messages. */
export const SSL_REQUEST_CODE = 80877103;
export const GSSENC_REQUEST_CODE = 80877104;
export const CANCEL_REQUEST_CODE = 80877102;

/** StartupMessage with the given parameters (user, database, application_name, …). */
export function startupMessage(params: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of Object.entries(params)) parts.push(Buffer.from(`${key}\0${value}\0`, 'utf8'));
  parts.push(Buffer.from([0]));
  const body = Buffer.concat(parts);
  const out = Buffer.allocUnsafe(8 + body.length);
  out.writeInt32BE(8 + body.length, 0);
  out.writeInt32BE(PROTOCOL_3_0, 4);
  body.copy(out, 8);
  return out;
}

/** SSLRequest. */
export function sslRequest(): Buffer {
  const out = Buffer.allocUnsafe(8);
  out.writeInt32BE(8, 0);
  out.writeInt32BE(SSL_REQUEST_CODE, 4);
  return out;
}

/** CancelRequest for an upstream backend. */
export function cancelRequest(pid: number, secret: number): Buffer {
  const out = Buffer.allocUnsafe(16);
  out.writeInt32BE(16, 0);
  out.writeInt32BE(CANCEL_REQUEST_CODE, 4);
  out.writeInt32BE(pid, 8);
  out.writeInt32BE(secret, 12);
  return out;
}

/** PasswordMessage (cleartext or md5 response). */
export function passwordMessage(password: string): Buffer {
  return typedMessage('p', Buffer.from(`${password}\0`, 'utf8'));
}

/** SASLInitialResponse: mechanism name + client-first-message. */
export function saslInitialResponse(mechanism: string, data: Buffer): Buffer {
  const len = Buffer.allocUnsafe(4);
  len.writeInt32BE(data.length, 0);
  return typedMessage('p', Buffer.concat([Buffer.from(`${mechanism}\0`, 'utf8'), len, data]));
}

/** SASLResponse: client-final-message. */
export function saslResponse(data: Buffer): Buffer {
  return typedMessage('p', data);
}

/** Terminate. */
export function terminate(): Buffer {
  return typedMessage('X', Buffer.alloc(0));
}

/** Query ('Q'). */
export function query(sql: string): Buffer {
  return typedMessage('Q', Buffer.from(`${sql}\0`, 'utf8'));
}

/** Parse ('P') of an unnamed statement with no parameter types. */
export function parse(name: string, sql: string): Buffer {
  return typedMessage('P', Buffer.concat([Buffer.from(`${name}\0${sql}\0`, 'utf8'), Buffer.from([0, 0])]));
}
