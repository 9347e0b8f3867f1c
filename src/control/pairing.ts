import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

/** Crockford's base32 alphabet: no I, L, O, U, so a code read off a screen is typed right. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** 16 characters of base32: 80 bits, too many to guess or to brute-force from a recorded handshake. */
const CODE_CHARS = 16;

/** A fresh pairing code, shown as `XXXX-XXXX-XXXX-XXXX`. */
export function newPairingCode(): string {
  const bytes = randomBytes(CODE_CHARS);
  let code = '';
  for (const byte of bytes) code += ALPHABET[byte & 31];
  return code.replace(/(.{4})(?=.)/g, '$1-');
}

/** Upper-cases, drops separators and maps look-alikes (O→0, I/L→1), as Crockford's base32 says. */
export function normalizeCode(code: string): string {
  return code.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
}

/**
 * The keys of one pairing: derived from the code and both sides' nonces, so the code itself never
 * crosses the socket. Whoever relays or impersonates the socket sees only HMACs of 80-bit secrets.
 */
export class PairingKeys {
  private readonly key: Buffer;

  constructor(code: string, session: string) {
    this.key = Buffer.from(hkdfSync('sha256', normalizeCode(code), session, 'jit-pair-v1', 32));
  }

  proof(role: 'server' | 'client', clientNonce: string, serverNonce: string): string {
    return this.mac(`${role}-proof`, clientNonce, serverNonce);
  }

  /** Per-direction message keys for the paired connection. */
  messageKeys(clientNonce: string, serverNonce: string): { toClient: Buffer; toServer: Buffer } {
    return {
      toClient: Buffer.from(this.mac('to-client', clientNonce, serverNonce), 'hex'),
      toServer: Buffer.from(this.mac('to-server', clientNonce, serverNonce), 'hex'),
    };
  }

  private mac(label: string, clientNonce: string, serverNonce: string): string {
    return createHmac('sha256', this.key).update(`${label}\n${clientNonce}\n${serverNonce}`).digest('hex');
  }
}

/** A fresh nonce for the handshake. */
export function newNonce(): string {
  return randomBytes(32).toString('base64url');
}

/** Constant-time comparison of two hex MACs. */
export function sameMac(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === 32 && y.length === 32 && timingSafeEqual(x, y);
}

/**
 * One authenticated message line: `<hmac hex> <json>`, where the JSON carries `seq` (1, 2, … per
 * direction), so a replayed, reordered or altered line is refused.
 */
export class SealedChannel {
  private sendSeq = 0;
  private receiveSeq = 0;

  constructor(
    private readonly sendKey: Buffer,
    private readonly receiveKey: Buffer,
  ) {}

  seal(body: Record<string, unknown>): string {
    const json = JSON.stringify({ seq: ++this.sendSeq, ...body });
    return `${createHmac('sha256', this.sendKey).update(json).digest('hex')} ${json}\n`;
  }

  /** The message of a sealed line, or undefined when its MAC or sequence number is wrong. */
  open(line: string): Record<string, unknown> | undefined {
    const space = line.indexOf(' ');
    if (space !== 64) return undefined;
    const json = line.slice(space + 1);
    const mac = createHmac('sha256', this.receiveKey).update(json).digest('hex');
    if (!sameMac(mac, line.slice(0, space))) return undefined;
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(json) as Record<string, unknown>;
    } catch {
      return undefined;
    }
    if (message.seq !== this.receiveSeq + 1) return undefined;
    this.receiveSeq++;
    return message;
  }
}
