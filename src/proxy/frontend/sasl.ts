import { ProtocolError } from '../protocol-error.js';

/** Decodes SASLInitialResponse ('p' during SASL): the chosen mechanism and its first data. */
export function parseSaslInitialResponse(message: Buffer): { mechanism: string; data: Buffer } {
  if (message[0] !== 0x70) throw new ProtocolError('bad_sasl', 'expected SASLInitialResponse');
  const nameEnd = message.indexOf(0, 5);
  if (nameEnd < 0 || nameEnd + 5 > message.length)
    throw new ProtocolError('bad_sasl', 'malformed SASLInitialResponse');
  const mechanism = message.toString('utf8', 5, nameEnd);
  const length = message.readInt32BE(nameEnd + 1);
  const data = message.subarray(nameEnd + 5);
  if (length !== data.length) throw new ProtocolError('bad_sasl', 'malformed SASLInitialResponse length');
  return { mechanism, data };
}

/** Decodes SASLResponse: the client-final-message. */
export function parseSaslResponse(message: Buffer): Buffer {
  if (message[0] !== 0x70) throw new ProtocolError('bad_sasl', 'expected SASLResponse');
  return message.subarray(5);
}
