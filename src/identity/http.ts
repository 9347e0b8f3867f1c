import { readFileSync } from 'node:fs';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { IdentityError } from './errors.js';

/** The `fetch` shape openid-client and jose accept as their custom fetch. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** How long one request to an identity provider may take before jit gives up. */
const REQUEST_TIMEOUT_MS = 15_000;
/** Identity provider answers are small; a larger body is refused rather than buffered. */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * A fetch for talking to identity providers. Without `ca` it is the platform's fetch. With `ca`
 * (a PEM file) it trusts that CA in addition to the system roots — never instead of verification —
 * through node:https, since Node 20's fetch cannot take a CA.
 */
export function providerFetch(ca: string | undefined): FetchLike {
  if (ca === undefined) {
    return (url, init) =>
      fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  }
  let pem: string;
  try {
    pem = readFileSync(ca, 'utf8');
  } catch (err) {
    throw new IdentityError(
      'ca_unreadable',
      `cannot read the identity provider CA file ${ca}: ${reason(err)}`,
      {
        hint: 'check oidc.ca in jit.yaml (or --ca)',
      },
    );
  }
  const trusted = [...rootCertificates, pem];
  return (url, init) => httpsRequest(url, init, trusted);
}

async function httpsRequest(url: string, init: RequestInit, ca: string[]): Promise<Response> {
  const target = new URL(url);
  if (target.protocol !== 'https:') return fetch(url, init);
  const headers = new Headers(init.headers);
  const body = await bodyBuffer(init.body);
  if (body) headers.set('content-length', String(body.length));
  const signal = init.signal ?? AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  return new Promise<Response>((resolve, reject) => {
    const req = https.request(
      target,
      { method: init.method ?? 'GET', headers: Object.fromEntries(headers), ca, signal },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) {
            res.destroy(new Error(`response from ${target.origin} is larger than ${MAX_BODY_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', reject);
        res.on('end', () => {
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (value === undefined) continue;
            for (const v of Array.isArray(value) ? value : [value]) responseHeaders.append(name, v);
          }
          const status = res.statusCode ?? 500;
          const payload = status === 204 || status === 304 ? null : Buffer.concat(chunks);
          const response = new Response(payload, {
            status,
            statusText: res.statusMessage ?? '',
            headers: responseHeaders,
          });
          Object.defineProperty(response, 'url', { value: url });
          resolve(response);
        });
      },
    );
    req.on('error', (err) => reject(new TypeError('fetch failed', { cause: err })));
    req.end(body);
  });
}

async function bodyBuffer(body: RequestInit['body']): Promise<Buffer | undefined> {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof URLSearchParams) return Buffer.from(body.toString());
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return Buffer.from(await new Response(body).arrayBuffer());
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Who is at the other end of a request, for the words of transport errors. */
export interface TransportPeer {
  noun: string;
  urlSetting: string;
  /** The hint for an untrusted certificate. */
  caHint: string;
}

const IDENTITY_PROVIDER: TransportPeer = {
  noun: 'the identity provider',
  urlSetting: 'oidc.issuer (or --issuer)',
  caHint: 'if the provider uses a private CA, set oidc.ca in jit.yaml (or --ca) to its PEM file',
};

/**
 * Turns a failed request to an identity provider into one clear line: unreachable, TLS trust,
 * timeout. Returns undefined for anything that is not a transport failure.
 */
export function transportError(
  err: unknown,
  what: string,
  url: string,
  peer: TransportPeer = IDENTITY_PROVIDER,
): IdentityError | undefined {
  const codes = errorCodes(err);
  const origin = safeOrigin(url);
  const has = (...names: string[]) => names.find((n) => codes.includes(n));
  const tls = has(
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    'SELF_SIGNED_CERT_IN_CHAIN',
    'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
    'CERT_HAS_EXPIRED',
    'ERR_TLS_CERT_ALTNAME_INVALID',
    'CERT_UNTRUSTED',
  );
  if (tls) {
    return new IdentityError('idp_tls', `${what}: the TLS certificate of ${origin} is not trusted (${tls})`, {
      hint: peer.caHint,
      cause: err,
    });
  }
  const net = has(
    'ECONNREFUSED',
    'ENOTFOUND',
    'EAI_AGAIN',
    'ECONNRESET',
    'EHOSTUNREACH',
    'ENETUNREACH',
    'ETIMEDOUT',
  );
  if (net) {
    return new IdentityError('idp_unreachable', `${what}: cannot reach ${peer.noun} at ${origin} (${net})`, {
      hint: `check ${peer.urlSetting} and your network connection`,
      cause: err,
    });
  }
  if (codes.includes('TimeoutError') || codes.includes('ABORT_ERR')) {
    return new IdentityError('idp_timeout', `${what}: ${origin} did not answer in time`, {
      hint: 'check your network connection and try again',
      cause: err,
    });
  }
  if (err instanceof TypeError && err.message === 'fetch failed') {
    return new IdentityError('idp_unreachable', `${what}: cannot reach ${peer.noun} at ${origin}`, {
      hint: `check ${peer.urlSetting} and your network connection`,
      cause: err,
    });
  }
  return undefined;
}

/** Every `code` and `name` along an error's cause chain. */
function errorCodes(err: unknown): string[] {
  const out: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current && depth < 8; depth++) {
    if (typeof current !== 'object') break;
    const e = current as { code?: unknown; name?: unknown; cause?: unknown };
    if (typeof e.code === 'string') out.push(e.code);
    if (typeof e.name === 'string') out.push(e.name);
    current = e.cause;
  }
  return out;
}

function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}
