import { errors as joseErrors, jwtVerify } from 'jose';
import type { JWTPayload } from 'jose';
import type { Identity } from '../grant/types.js';
import { IdentityError } from './errors.js';
import type { Provider } from './provider.js';
import { transportError } from './http.js';

/** Signature algorithms jit accepts: asymmetric only (never `none`, never a shared secret). */
const ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];
/** Clock skew tolerated between this machine and the provider. */
const CLOCK_TOLERANCE_S = 30;

/** How a verified identity was obtained. */
export type IdentitySource = 'login' | 'id-token-env' | 'github-actions' | 'client-credentials';

/** A verified person or CI job. */
export interface VerifiedIdentity extends Identity {
  issuer: string;
  groups: string[];
  /** When the token that proved it expires (epoch ms). */
  expiresAt: number;
  source: IdentitySource;
  /** Claims worth showing (GitHub's repository, workflow, ref…), never the token itself. */
  claims: Record<string, unknown>;
}

/**
 * Verifies a JWT from `provider`: signature against its JWKS, issuer, audience (one of
 * `audiences`), expiry and not-before. Returns the payload; one clear error otherwise.
 */
export async function verifyToken(
  token: string,
  provider: Provider,
  audiences: string[],
  what: string,
): Promise<JWTPayload & { sub: string; exp: number }> {
  const issuer = provider.metadata.issuer;
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, provider.keys, {
      issuer,
      audience: audiences,
      algorithms: ALGORITHMS,
      clockTolerance: CLOCK_TOLERANCE_S,
      requiredClaims: ['sub', 'exp', 'iat'],
    }));
  } catch (err) {
    throw verifyError(err, token, issuer, audiences, what);
  }
  return payload as JWTPayload & { sub: string; exp: number };
}

function verifyError(
  err: unknown,
  token: string,
  issuer: string,
  audiences: string[],
  what: string,
): IdentityError {
  const transport = transportError(err, `cannot fetch the signing keys of ${issuer}`, issuer);
  if (transport) return transport;
  const reject = (code: string, why: string, hint: string) =>
    new IdentityError(code, `${what} was rejected: ${why}`, { hint, cause: err });
  if (err instanceof joseErrors.JWTExpired) {
    const exp =
      typeof err.payload.exp === 'number' ? ` at ${new Date(err.payload.exp * 1000).toISOString()}` : '';
    return reject('token_expired', `it expired${exp}`, 'get a fresh token (`jit login`, or a new CI token)');
  }
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') {
      const aud = JSON.stringify(err.payload.aud ?? null);
      return reject(
        'token_audience',
        `it was issued for audience ${aud}, not ${audiences.map((a) => `"${a}"`).join(' or ')}`,
        'request the token for the audience jit expects (oidc.audience, default the client_id)',
      );
    }
    if (err.claim === 'iss') {
      return reject(
        'token_issuer',
        `it was issued by ${JSON.stringify(err.payload.iss ?? null)}, not ${issuer}`,
        'use a token from the configured issuer',
      );
    }
    return reject('token_claims', `claim \`${err.claim}\` is invalid (${err.reason})`, 'get a fresh token');
  }
  if (err instanceof joseErrors.JWKSNoMatchingKey) {
    return reject(
      'token_signature',
      `it is signed by a key ${issuer} does not publish (kid ${JSON.stringify(headerKid(token))})`,
      'the token was not issued by this provider',
    );
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) {
    return reject(
      'token_signature',
      `its signature does not verify against the keys of ${issuer}`,
      'the token was not issued by this provider, or was altered',
    );
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed) {
    return reject(
      'token_signature',
      'it uses a signature algorithm jit does not accept',
      'tokens must be signed with an asymmetric key (RS256, ES256, …)',
    );
  }
  if (
    err instanceof joseErrors.JWTInvalid ||
    err instanceof joseErrors.JWSInvalid ||
    err instanceof joseErrors.JOSEError
  ) {
    return reject('token_invalid', `it is not a valid signed JWT (${err.message})`, 'check the token');
  }
  return reject('token_invalid', err instanceof Error ? err.message : String(err), 'check the token');
}

function headerKid(token: string): string | null {
  try {
    const header = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')) as {
      kid?: unknown;
    };
    return typeof header.kid === 'string' ? header.kid : null;
  } catch {
    return null;
  }
}

/** Claims of a CI token worth keeping (GitHub Actions names). */
const CI_CLAIMS = [
  'repository',
  'repository_owner',
  'ref',
  'workflow',
  'job_workflow_ref',
  'run_id',
  'actor',
  'environment',
  'event_name',
  'client_id',
  'azp',
];

/** The identity a verified token proves. */
export function identityFromClaims(
  payload: JWTPayload & { sub: string; exp: number },
  source: IdentitySource,
): VerifiedIdentity {
  const str = (key: string): string | undefined => {
    const v = payload[key];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const email = str('email');
  const groups = Array.isArray(payload.groups)
    ? payload.groups.filter((g): g is string => typeof g === 'string')
    : [];
  const claims: Record<string, unknown> = {};
  for (const key of CI_CLAIMS) if (payload[key] !== undefined) claims[key] = payload[key];
  const repository = str('repository');
  const name =
    str('preferred_username') ??
    email?.split('@')[0] ??
    (repository ? `ci_${repository.split('/').pop() ?? repository}` : undefined) ??
    payload.sub;
  return {
    sub: payload.sub,
    ...(email && { email }),
    name,
    authenticated: true,
    issuer: payload.iss ?? '',
    groups,
    expiresAt: payload.exp * 1000,
    source,
    claims,
  };
}
