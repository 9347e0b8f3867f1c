/**
 * SCRAM-SHA-256 for both sides of the proxy, as pure state machines over message bytes (no I/O).
 * PostgreSQL's flavour of RFC 5802 / RFC 7677: https://www.postgresql.org/docs/current/sasl-authentication.html
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { ScramError } from './scram-error.js';
import { saslPrep } from './saslprep.js';

export { ScramError, type ScramErrorCode } from './scram-error.js';
export { tlsServerEndPoint } from './tls-server-end-point.js';

/** The two SASL mechanisms PostgreSQL offers in AuthenticationSASL. */
export type ScramMechanism = 'SCRAM-SHA-256' | 'SCRAM-SHA-256-PLUS';

/** What a server keeps instead of the password (RFC 5802 §3); enough to verify a client, not to impersonate one. */
export interface ScramSecret {
  iterations: number;
  salt: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

const SCRAM_SHA_256 = 'SCRAM-SHA-256';
const SCRAM_SHA_256_PLUS = 'SCRAM-SHA-256-PLUS';
const DEFAULT_ITERATIONS = 4096; // PostgreSQL's scram_iterations default
const KEY_LENGTH = 32;
const MAX_ITERATIONS = 2 ** 31 - 1; // PBKDF2 in node:crypto takes an int32

/** Derives the SCRAM secret for a password (random 16-byte salt unless given; 4096 iterations unless given). */
export function scramSecret(
  password: string,
  opts: { salt?: Buffer; iterations?: number } = {},
): ScramSecret {
  const salt = opts.salt ?? randomBytes(16);
  const iterations = opts.iterations ?? DEFAULT_ITERATIONS;
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) {
    throw new ScramError('bad_message', `\`iterations\` must be an integer from 1 to ${MAX_ITERATIONS}`);
  }
  if (salt.length === 0) throw new ScramError('bad_message', '`salt` must not be empty');
  const { storedKey, serverKey } = deriveKeys(saltPassword(password, salt, iterations));
  return { iterations, salt, storedKey, serverKey };
}

/** PostgreSQL's stored format: 'SCRAM-SHA-256$<iter>:<b64 salt>$<b64 StoredKey>:<b64 ServerKey>' — used in CREATE ROLE … PASSWORD '<verifier>' so no plaintext reaches the server log. */
export function formatVerifier(secret: ScramSecret): string {
  const b64 = (b: Buffer): string => b.toString('base64');
  return `${SCRAM_SHA_256}$${secret.iterations}:${b64(secret.salt)}$${b64(secret.storedKey)}:${b64(secret.serverKey)}`;
}

/** Shorthand for formatVerifier(scramSecret(password, opts)). */
export function scramVerifier(password: string, opts: { salt?: Buffer; iterations?: number } = {}): string {
  return formatVerifier(scramSecret(password, opts));
}

const ServerStep = {
  AwaitingFirst: 'awaiting-first',
  AwaitingFinal: 'awaiting-final',
  Done: 'done',
  Failed: 'failed',
} as const;
type ServerStep = (typeof ServerStep)[keyof typeof ServerStep];

/** Server side (the proxy authenticating a client that knows the one-time password). Pure state machine. */
export class ScramServer {
  readonly #secret: ScramSecret;
  readonly #randomNonce: () => string;
  #step: ServerStep = ServerStep.AwaitingFirst;
  #gs2Header = '';
  #clientFirstBare = '';
  #serverFirst = '';
  #nonce = '';

  constructor(secret: ScramSecret, randomNonce: () => string = defaultNonce) {
    this.#secret = secret;
    this.#randomNonce = randomNonce;
  }

  /** Handles SASLInitialResponse (mechanism name + client-first-message bytes); returns server-first-message bytes. Only 'SCRAM-SHA-256' is offered (no TLS on the client side), so a gs2 header 'p=…' is a ScramError('channel_binding'); 'n,,' and 'y,,' are fine. The username in 'n=' is ignored (PostgreSQL does the same). */
  start(mechanism: string, clientFirst: Buffer): Buffer {
    switch (this.#step) {
      case ServerStep.AwaitingFirst:
        return this.#failOnThrow(() => this.#start(mechanism, clientFirst));
      default:
        throw outOfOrder('SASLInitialResponse', this.#step);
    }
  }

  /** Handles SASLResponse (client-final-message); verifies nonce, channel-binding echo and proof; returns server-final-message ('v=…'). Wrong proof → ScramError('bad_password'). Compare proofs in constant time. */
  finish(clientFinal: Buffer): Buffer {
    switch (this.#step) {
      case ServerStep.AwaitingFinal:
        return this.#failOnThrow(() => this.#finish(clientFinal));
      default:
        throw outOfOrder('SASLResponse', this.#step);
    }
  }

  #start(mechanism: string, clientFirst: Buffer): Buffer {
    if (mechanism !== SCRAM_SHA_256) {
      throw new ScramError('unsupported_mechanism', `the client chose SASL mechanism "${mechanism}"`, {
        hint: `only ${SCRAM_SHA_256} is offered`,
      });
    }
    const first = parseClientFirst(utf8(clientFirst, 'client-first-message'));
    const serverNonce = this.#randomNonce();
    if (!isNonce(serverNonce)) {
      throw new ScramError('bad_nonce', 'the generated server nonce is not printable');
    }
    this.#gs2Header = first.gs2Header;
    this.#clientFirstBare = first.bare;
    this.#nonce = first.nonce + serverNonce;
    const { salt, iterations } = this.#secret;
    this.#serverFirst = `r=${this.#nonce},s=${salt.toString('base64')},i=${iterations}`;
    this.#step = ServerStep.AwaitingFinal;
    return Buffer.from(this.#serverFirst, 'utf8');
  }

  #finish(clientFinal: Buffer): Buffer {
    const final = parseClientFinal(utf8(clientFinal, 'client-final-message'));
    if (final.channelBinding !== Buffer.from(this.#gs2Header, 'utf8').toString('base64')) {
      throw new ScramError('channel_binding', 'the channel-binding data does not match the gs2 header');
    }
    if (final.nonce !== this.#nonce) {
      throw new ScramError('bad_nonce', 'the client-final nonce does not match the one negotiated');
    }
    const authMessage = `${this.#clientFirstBare},${this.#serverFirst},${final.withoutProof}`;
    const { storedKey, serverKey } = this.#secret;
    const clientKey = xor(final.proof, hmac(storedKey, authMessage));
    if (!constantTimeEqual(sha256(clientKey), storedKey)) {
      throw new ScramError('bad_password', 'password authentication failed');
    }
    this.#step = ServerStep.Done;
    return Buffer.from(`v=${hmac(serverKey, authMessage).toString('base64')}`, 'utf8');
  }

  #failOnThrow(fn: () => Buffer): Buffer {
    try {
      return fn();
    } catch (error) {
      this.#step = ServerStep.Failed;
      throw error;
    }
  }
}

/** Options of ScramClient; `username` (default '*', PostgreSQL ignores it) exists for RFC test vectors. */
export interface ScramClientOptions {
  password: string;
  mechanisms: string[];
  channelBinding?: Buffer;
  saltedPasswordCache?: Map<string, Buffer>;
  randomNonce?: () => string;
  username?: string;
}

const ClientStep = {
  Initial: 'initial',
  SentFirst: 'sent-first',
  SentFinal: 'sent-final',
  Done: 'done',
} as const;
type ClientStep = (typeof ClientStep)[keyof typeof ClientStep];

/** Client side (the proxy authenticating to the upstream PostgreSQL with the grant's password). */
export class ScramClient {
  /** The mechanism to name in SASLInitialResponse. */
  readonly mechanism: ScramMechanism;
  readonly #password: string;
  readonly #username: string;
  readonly #gs2Header: string;
  readonly #channelBindingInput: Buffer;
  readonly #cache: Map<string, Buffer> | undefined;
  readonly #randomNonce: () => string;
  #step: ClientStep = ClientStep.Initial;
  #clientNonce = '';
  #clientFirstBare = '';
  #expectedServerSignature: Buffer = Buffer.alloc(0);

  /** mechanisms = the list the server offered in AuthenticationSASL. If channelBinding (the tls-server-end-point hash) is given and the server offers SCRAM-SHA-256-PLUS, use PLUS with gs2 header 'p=tls-server-end-point,,'; with TLS but no PLUS offered use 'y,,'; without TLS 'n,,'. Neither offered → ScramError('unsupported_mechanism'). saltedPasswordCache: optional Map keyed by `${salt}:${iterations}` (one map per password) so reconnects skip the 4096-iteration PBKDF2. */
  constructor(opts: ScramClientOptions) {
    this.#password = opts.password;
    this.#username = opts.username ?? '*';
    this.#cache = opts.saltedPasswordCache;
    this.#randomNonce = opts.randomNonce ?? defaultNonce;
    const offered = new Set(opts.mechanisms);
    if (opts.channelBinding && offered.has(SCRAM_SHA_256_PLUS)) {
      this.mechanism = SCRAM_SHA_256_PLUS;
      this.#gs2Header = 'p=tls-server-end-point,,';
      this.#channelBindingInput = Buffer.concat([Buffer.from(this.#gs2Header, 'utf8'), opts.channelBinding]);
    } else if (offered.has(SCRAM_SHA_256)) {
      this.mechanism = SCRAM_SHA_256;
      this.#gs2Header = opts.channelBinding ? 'y,,' : 'n,,';
      this.#channelBindingInput = Buffer.from(this.#gs2Header, 'utf8');
    } else {
      throw new ScramError(
        'unsupported_mechanism',
        `the server offered no usable SASL mechanism (${opts.mechanisms.join(', ') || 'none'})`,
        { hint: opts.channelBinding ? undefined : `${SCRAM_SHA_256_PLUS} needs a TLS connection upstream` },
      );
    }
  }

  /** The client-first-message: 'n,,n=*,r=<nonce>' (or with the right gs2 header). */
  clientFirst(): Buffer {
    switch (this.#step) {
      case ClientStep.Initial: {
        const nonce = this.#randomNonce();
        if (!isNonce(nonce)) throw new ScramError('bad_nonce', 'the generated client nonce is not printable');
        this.#clientNonce = nonce;
        this.#clientFirstBare = `n=${saslName(this.#username)},r=${nonce}`;
        this.#step = ClientStep.SentFirst;
        return Buffer.from(this.#gs2Header + this.#clientFirstBare, 'utf8');
      }
      default:
        throw outOfOrder('clientFirst', this.#step);
    }
  }

  /** The client-final-message for the server-first-message; validates the server nonce starts with ours, iterations ≥ 1, etc. */
  clientFinal(serverFirst: Buffer): Buffer {
    switch (this.#step) {
      case ClientStep.SentFirst:
        break;
      default:
        throw outOfOrder('SASLContinue', this.#step);
    }
    const serverFirstText = utf8(serverFirst, 'server-first-message');
    const first = parseServerFirst(serverFirstText);
    if (!first.nonce.startsWith(this.#clientNonce) || first.nonce.length <= this.#clientNonce.length) {
      throw new ScramError('bad_nonce', 'the server nonce does not extend the client nonce');
    }
    const { storedKey, serverKey, clientKey } = deriveKeys(
      this.#saltedPassword(first.salt, first.iterations),
    );
    const withoutProof = `c=${this.#channelBindingInput.toString('base64')},r=${first.nonce}`;
    const authMessage = `${this.#clientFirstBare},${serverFirstText},${withoutProof}`;
    const proof = xor(clientKey, hmac(storedKey, authMessage));
    this.#expectedServerSignature = hmac(serverKey, authMessage);
    this.#step = ClientStep.SentFinal;
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8');
  }

  /** Checks the server-final-message; throws ScramError('bad_server_signature'), and on 'e=' server errors. */
  verifyServerFinal(serverFinal: Buffer): void {
    switch (this.#step) {
      case ClientStep.SentFinal:
        break;
      default:
        throw outOfOrder('SASLFinal', this.#step);
    }
    const [first] = attributes(utf8(serverFinal, 'server-final-message'), 'server-final-message');
    if (first?.[0] === 'e') throw serverErrorToScramError(first[1]);
    if (first?.[0] !== 'v') throw new ScramError('bad_message', 'server-final-message has no verifier');
    const signature = base64(first[1], 'server signature');
    if (!constantTimeEqual(signature, this.#expectedServerSignature)) {
      throw new ScramError('bad_server_signature', 'the server could not prove it knows the password', {
        hint: 'the upstream server may not be the one the grant was issued for',
      });
    }
    this.#step = ClientStep.Done;
  }

  #saltedPassword(salt: Buffer, iterations: number): Buffer {
    const key = `${salt.toString('base64')}:${iterations}`;
    const cached = this.#cache?.get(key);
    if (cached) return cached;
    const salted = saltPassword(this.#password, salt, iterations);
    this.#cache?.set(key, salted);
    return salted;
  }
}

// ---- message parsing (RFC 5802 §7) ----

interface ClientFirst {
  gs2Header: string;
  bare: string;
  nonce: string;
}

function parseClientFirst(text: string): ClientFirst {
  if (text.startsWith('p=')) {
    throw new ScramError('channel_binding', 'the client asked for channel binding, which needs TLS', {
      hint: `choose ${SCRAM_SHA_256} without channel binding (sslmode=disable on the local proxy)`,
    });
  }
  const authzidEnd = text.indexOf(',', 2);
  if (!/^[ny],/.test(text) || authzidEnd < 0) {
    throw new ScramError('bad_message', 'client-first-message has no valid gs2 header');
  }
  if (authzidEnd !== 2) throw new ScramError('bad_message', 'authorization identities are not supported');
  const bare = text.slice(authzidEnd + 1);
  const [user, nonce] = attributes(bare, 'client-first-message');
  if (user?.[0] === 'm') throw new ScramError('bad_message', 'mandatory SCRAM extensions are not supported');
  if (user?.[0] !== 'n' || nonce?.[0] !== 'r') {
    throw new ScramError('bad_message', 'client-first-message must have n= and r= attributes');
  }
  if (!isNonce(nonce[1])) throw new ScramError('bad_message', 'the client nonce is not printable');
  return { gs2Header: text.slice(0, authzidEnd + 1), bare, nonce: nonce[1] };
}

interface ClientFinal {
  channelBinding: string;
  nonce: string;
  proof: Buffer;
  withoutProof: string;
}

function parseClientFinal(text: string): ClientFinal {
  const proofAt = text.lastIndexOf(',p=');
  if (proofAt < 0) throw new ScramError('bad_message', 'client-final-message has no proof');
  const withoutProof = text.slice(0, proofAt);
  const [binding, nonce] = attributes(withoutProof, 'client-final-message');
  if (binding?.[0] !== 'c' || nonce?.[0] !== 'r') {
    throw new ScramError('bad_message', 'client-final-message must start with c= and r= attributes');
  }
  const proof = base64(text.slice(proofAt + 3), 'client proof');
  if (proof.length !== KEY_LENGTH) {
    throw new ScramError('bad_message', 'the client proof has the wrong length');
  }
  return { channelBinding: binding[1], nonce: nonce[1], proof, withoutProof };
}

function parseServerFirst(text: string): { nonce: string; salt: Buffer; iterations: number } {
  const [nonce, salt, iterations] = attributes(text, 'server-first-message');
  if (nonce?.[0] === 'm') throw new ScramError('bad_message', 'mandatory SCRAM extensions are not supported');
  if (nonce?.[0] !== 'r' || salt?.[0] !== 's' || iterations?.[0] !== 'i') {
    throw new ScramError('bad_message', 'server-first-message must have r=, s= and i= attributes');
  }
  if (!isNonce(nonce[1])) throw new ScramError('bad_message', 'the server nonce is not printable');
  const saltBytes = base64(salt[1], 'salt');
  if (saltBytes.length === 0) throw new ScramError('bad_message', 'the server sent an empty salt');
  const count = /^[1-9][0-9]{0,9}$/.test(iterations[1]) ? Number(iterations[1]) : 0;
  if (count < 1 || count > MAX_ITERATIONS) {
    throw new ScramError('bad_message', `the server sent an invalid iteration count "${iterations[1]}"`);
  }
  return { nonce: nonce[1], salt: saltBytes, iterations: count };
}

/** Splits 'a=1,b=2' into [['a','1'],['b','2']]; SCRAM values never contain a comma. */
function attributes(text: string, what: string): Array<[string, string]> {
  return text.split(',').map((part) => {
    if (!/^[A-Za-z]=/.test(part)) throw new ScramError('bad_message', `${what} has a malformed attribute`);
    return [part.charAt(0), part.slice(2)];
  });
}

function serverErrorToScramError(value: string): ScramError {
  const message = `the server rejected SCRAM authentication: ${value}`;
  if (value === 'invalid-proof' || value === 'unknown-user') return new ScramError('bad_password', message);
  if (value.includes('channel-binding')) return new ScramError('channel_binding', message);
  return new ScramError('bad_message', message);
}

function outOfOrder(what: string, step: string): ScramError {
  return new ScramError('bad_message', `unexpected ${what} in SCRAM state "${step}"`);
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

function utf8(bytes: Buffer, what: string): string {
  try {
    return fatalUtf8.decode(bytes);
  } catch (cause) {
    throw new ScramError('bad_message', `${what} is not valid UTF-8`, { cause });
  }
}

function base64(value: string, what: string): Buffer {
  if (value.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) {
    throw new ScramError('bad_message', `the ${what} is not valid base64`);
  }
  return Buffer.from(value, 'base64');
}

/** printable = %x21-2B / %x2D-7E (RFC 5802 §7): visible ASCII except ','. */
function isNonce(value: string): boolean {
  return /^[\x21-\x2B\x2D-\x7E]+$/.test(value);
}

/** saslname: ',' and '=' escaped as '=2C' and '=3D'. */
function saslName(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

function defaultNonce(): string {
  return randomBytes(18).toString('base64');
}

// ---- key derivation (RFC 5802 §3) ----

function saltPassword(password: string, salt: Buffer, iterations: number): Buffer {
  return pbkdf2Sync(saslPrep(password), salt, iterations, KEY_LENGTH, 'sha256');
}

function deriveKeys(saltedPassword: Buffer): { clientKey: Buffer; storedKey: Buffer; serverKey: Buffer } {
  const clientKey = hmac(saltedPassword, 'Client Key');
  return { clientKey, storedKey: sha256(clientKey), serverKey: hmac(saltedPassword, 'Server Key') };
}

function hmac(key: Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) ^ (b[i] as number);
  return out;
}

function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

// RFC 3454 tables as PostgreSQL's src/common/saslprep.c applies them: inclusive hex code-point ranges.
