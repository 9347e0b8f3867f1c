import { createHash } from 'node:crypto';
import { ScramError } from './scram-error.js';

/** tls-server-end-point channel-binding data (RFC 5929): hash of the DER certificate with the cert's signature hash, SHA-256 when that is MD5 or SHA-1. */
export function tlsServerEndPoint(certDer: Buffer): Buffer {
  return createHash(certificateHash(certDer)).update(certDer).digest();
}

const SIGNATURE_HASH: Record<string, string> = {
  '1.2.840.113549.1.1.4': 'sha256', // md5WithRSAEncryption → SHA-256
  '1.2.840.113549.1.1.5': 'sha256', // sha1WithRSAEncryption → SHA-256
  '1.2.840.113549.1.1.14': 'sha224',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.1': 'sha256', // ecdsa-with-SHA1 → SHA-256
  '1.2.840.10045.4.3.1': 'sha224',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.2.840.10040.4.3': 'sha256', // dsa-with-sha1 → SHA-256
  '2.16.840.1.101.3.4.3.1': 'sha224',
  '2.16.840.1.101.3.4.3.2': 'sha256',
};
const DIGEST_HASH: Record<string, string> = {
  '1.2.840.113549.2.5': 'sha256', // md5 → SHA-256
  '1.3.14.3.2.26': 'sha256', // sha1 → SHA-256
  '2.16.840.1.101.3.4.2.4': 'sha224',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
const RSASSA_PSS = '1.2.840.113549.1.1.10';

/** Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm AlgorithmIdentifier, signatureValue }. */
function certificateHash(der: Buffer): string {
  const cert = derRead(der, 0, 0x30);
  const tbs = derRead(der, cert.start, 0x30);
  const algorithm = derRead(der, tbs.end, 0x30);
  const oidTlv = derRead(der, algorithm.start, 0x06);
  const oid = decodeOid(der.subarray(oidTlv.start, oidTlv.end));
  const hash = oid === RSASSA_PSS ? pssHash(der, oidTlv.end, algorithm.end) : SIGNATURE_HASH[oid];
  if (!hash) {
    throw new ScramError(
      'channel_binding',
      `the server certificate's signature algorithm ${oid} has no single hash`,
      {
        hint: 'connect without channel binding (channel_binding=disable)',
      },
    );
  }
  return hash;
}

/** RSASSA-PSS-params ::= SEQUENCE { hashAlgorithm [0] AlgorithmIdentifier DEFAULT sha1, … } (RFC 4055). */
function pssHash(der: Buffer, paramsAt: number, end: number): string | undefined {
  if (paramsAt >= end) return DIGEST_HASH['1.3.14.3.2.26'];
  const params = derRead(der, paramsAt, 0x30);
  if (params.start >= params.end || der[params.start] !== 0xa0) return DIGEST_HASH['1.3.14.3.2.26'];
  const explicit = derRead(der, params.start, 0xa0);
  const algorithm = derRead(der, explicit.start, 0x30);
  const oidTlv = derRead(der, algorithm.start, 0x06);
  return DIGEST_HASH[decodeOid(der.subarray(oidTlv.start, oidTlv.end))];
}

/** Reads one DER TLV at `at` with the expected tag; returns the content's [start, end). */
function derRead(der: Buffer, at: number, tag: number): { start: number; end: number } {
  const bad = (): ScramError => new ScramError('channel_binding', 'the server certificate is not valid DER');
  if (der[at] !== tag || at + 2 > der.length) throw bad();
  let length = der[at + 1] as number;
  let start = at + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 4 || start + bytes > der.length) throw bad();
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + (der[start + i] as number);
    start += bytes;
  }
  if (start + length > der.length) throw bad();
  return { start, end: start + length };
}

/** Decodes an OBJECT IDENTIFIER's content bytes to dotted form. */
function decodeOid(bytes: Buffer): string {
  const arcs: number[] = [];
  let value = 0;
  for (const byte of bytes) {
    value = value * 128 + (byte & 0x7f);
    if (byte & 0x80) continue;
    if (arcs.length === 0)
      arcs.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
    else arcs.push(value);
    value = 0;
  }
  return arcs.join('.');
}
