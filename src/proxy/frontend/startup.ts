import { ProtocolError } from '../protocol-error.js';
import { CANCEL_REQUEST_CODE, GSSENC_REQUEST_CODE, SSL_REQUEST_CODE } from './writer.js';

/** One untyped message of the startup phase, decoded. */
export type StartupPhaseMessage =
  | { kind: 'ssl' }
  | { kind: 'gssenc' }
  | { kind: 'cancel'; pid: number; secret: Buffer }
  | { kind: 'startup'; major: number; minor: number; params: Map<string, string> };

/**
 * Decodes SSLRequest, GSSENCRequest, CancelRequest or StartupMessage
 * (https://www.postgresql.org/docs/current/protocol-message-formats.html).
 */
export function parseStartupPhase(message: Buffer): StartupPhaseMessage {
  if (message.length < 8)
    throw new ProtocolError('bad_startup', 'malformed startup-phase message: too short');
  const code = message.readInt32BE(4);
  if (code === SSL_REQUEST_CODE && message.length === 8) return { kind: 'ssl' };
  if (code === GSSENC_REQUEST_CODE && message.length === 8) return { kind: 'gssenc' };
  if (code === CANCEL_REQUEST_CODE) {
    // Protocol 3.2 allows longer secret keys (up to 256 bytes); keep whatever length arrived.
    if (message.length < 16 || message.length > 12 + 256)
      throw new ProtocolError('bad_cancel', 'malformed CancelRequest');
    return { kind: 'cancel', pid: message.readInt32BE(8), secret: Buffer.from(message.subarray(12)) };
  }
  const major = code >>> 16;
  const minor = code & 0xffff;
  if (major !== 3) {
    throw new ProtocolError(
      'unsupported_protocol',
      `unsupported frontend protocol ${major}.${minor}: server supports 3.0`,
    );
  }
  const params = new Map<string, string>();
  let offset = 8;
  for (;;) {
    const keyEnd = message.indexOf(0, offset);
    if (keyEnd < 0) throw new ProtocolError('bad_startup', 'malformed StartupMessage: missing terminator');
    if (keyEnd === offset) break;
    const valueEnd = message.indexOf(0, keyEnd + 1);
    if (valueEnd < 0) throw new ProtocolError('bad_startup', 'malformed StartupMessage: missing value');
    params.set(message.toString('utf8', offset, keyEnd), message.toString('utf8', keyEnd + 1, valueEnd));
    offset = valueEnd + 1;
  }
  return { kind: 'startup', major, minor, params };
}
