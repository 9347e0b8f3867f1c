import { ProtocolError } from '../protocol-error.js';

/** Field codes of ErrorResponse/NoticeResponse mapped to their values ('S','C','M','D','H',…). */
export type ErrorFieldMap = Record<string, string>;

/** Decodes the fields of an ErrorResponse or NoticeResponse (whole message incl. header). */
export function parseErrorFields(message: Buffer): ErrorFieldMap {
  const fields: ErrorFieldMap = {};
  let offset = 5;
  while (offset < message.length && message[offset] !== 0) {
    const code = String.fromCharCode(message[offset] as number);
    const end = message.indexOf(0, offset + 1);
    if (end < 0) throw new ProtocolError('bad_error', 'malformed ErrorResponse');
    fields[code] = message.toString('utf8', offset + 1, end);
    offset = end + 1;
  }
  return fields;
}

/** An Authentication* request from the server, decoded. */
export type AuthRequest =
  | { kind: 'ok' }
  | { kind: 'cleartext' }
  | { kind: 'md5'; salt: Buffer }
  | { kind: 'sasl'; mechanisms: string[] }
  | { kind: 'sasl-continue'; data: Buffer }
  | { kind: 'sasl-final'; data: Buffer }
  | { kind: 'other'; code: number };

/** Decodes an Authentication ('R') message. */
export function parseAuthRequest(message: Buffer): AuthRequest {
  if (message.length < 9) throw new ProtocolError('bad_auth', 'malformed Authentication message');
  const code = message.readInt32BE(5);
  switch (code) {
    case 0:
      return { kind: 'ok' };
    case 3:
      return { kind: 'cleartext' };
    case 5:
      if (message.length < 13) throw new ProtocolError('bad_auth', 'malformed AuthenticationMD5Password');
      return { kind: 'md5', salt: Buffer.from(message.subarray(9, 13)) };
    case 10: {
      const mechanisms: string[] = [];
      let offset = 9;
      while (offset < message.length && message[offset] !== 0) {
        const end = message.indexOf(0, offset);
        if (end < 0) throw new ProtocolError('bad_auth', 'malformed AuthenticationSASL');
        mechanisms.push(message.toString('utf8', offset, end));
        offset = end + 1;
      }
      return { kind: 'sasl', mechanisms };
    }
    case 11:
      return { kind: 'sasl-continue', data: Buffer.from(message.subarray(9)) };
    case 12:
      return { kind: 'sasl-final', data: Buffer.from(message.subarray(9)) };
    default:
      return { kind: 'other', code };
  }
}

/** Decodes ParameterStatus ('S'). */
export function parseParameterStatus(message: Buffer): { name: string; value: string } {
  const nameEnd = message.indexOf(0, 5);
  const valueEnd = message.indexOf(0, nameEnd + 1);
  if (nameEnd < 0 || valueEnd < 0) throw new ProtocolError('bad_parameter', 'malformed ParameterStatus');
  return {
    name: message.toString('utf8', 5, nameEnd),
    value: message.toString('utf8', nameEnd + 1, valueEnd),
  };
}

/** Decodes BackendKeyData ('K'): the upstream's pid and secret key (4 bytes in 3.0, longer in 3.2). */
export function parseBackendKeyData(message: Buffer): { pid: number; secret: Buffer } {
  if (message.length < 13) throw new ProtocolError('bad_key', 'malformed BackendKeyData');
  return { pid: message.readInt32BE(5), secret: Buffer.from(message.subarray(9)) };
}
