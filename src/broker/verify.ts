import { IdentityError } from '../identity/errors.js';
import { discoverProvider, type Provider } from '../identity/provider.js';
import { verifyToken } from '../identity/verify.js';
import type { TrustedIssuer } from './config-types.js';
import { ApiError } from './errors.js';
import { type Caller, callerFromClaims } from './grant-policy.js';

/** How long a failed discovery is remembered before the issuer is asked again. */
const RETRY_DISCOVERY_MS = 10_000;

const trimSlash = (url: string) => url.replace(/\/+$/, '');

/**
 * Verifies callers' bearer tokens against the trusted issuers of broker.yaml: the issuer must be
 * one of them; then signature (the issuer's JWKS, asymmetric algorithms only), issuer, audience
 * (one of the issuer's configured audiences), expiry and not-before. Discovery and keys are cached
 * per issuer (keys are refetched for an unknown `kid`).
 */
export class TokenVerifier {
  private readonly providers = new Map<string, { provider: Promise<Provider>; failedAt?: number }>();

  constructor(private readonly issuers: TrustedIssuer[]) {}

  /** The verified caller, or an ApiError 401 (bad token) / 503 (the issuer cannot be reached). */
  async verify(authorization: string | undefined): Promise<Caller> {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match?.[1]) {
      throw new ApiError(401, 'no_token', 'send `Authorization: Bearer <OIDC token>` (run `jit login`)');
    }
    const token = match[1];
    const iss = unverifiedIssuer(token);
    const trusted = this.issuers.find((i) => trimSlash(i.issuer) === trimSlash(iss));
    if (!trusted) {
      throw new ApiError(
        401,
        'untrusted_issuer',
        `tokens from ${JSON.stringify(iss)} are not accepted by this broker`,
      );
    }
    const provider = await this.provider(trusted);
    try {
      const payload = await verifyToken(token, provider, trusted.audiences, 'the token');
      return callerFromClaims(payload as Record<string, unknown>, trusted);
    } catch (error) {
      if (error instanceof IdentityError && (error.code === 'idp_unreachable' || error.code === 'idp_tls')) {
        throw new ApiError(503, 'issuer_unreachable', `cannot fetch the signing keys of ${trusted.issuer}`);
      }
      const message = error instanceof Error ? error.message : String(error);
      throw new ApiError(401, error instanceof IdentityError ? error.code : 'token_invalid', message);
    }
  }

  private provider(trusted: TrustedIssuer): Promise<Provider> {
    const cached = this.providers.get(trusted.issuer);
    if (cached && (cached.failedAt === undefined || Date.now() - cached.failedAt < RETRY_DISCOVERY_MS)) {
      return cached.provider;
    }
    const entry: { provider: Promise<Provider>; failedAt?: number } = {
      provider: discoverProvider({
        issuer: trusted.issuer,
        clientId: trusted.audiences[0] ?? 'jit-broker',
        ...(trusted.ca !== undefined && { ca: trusted.ca }),
      }).catch((error: unknown) => {
        entry.failedAt = Date.now();
        throw new ApiError(503, 'issuer_unreachable', `cannot reach the token issuer ${trusted.issuer}`, {
          cause: error,
        });
      }),
    };
    this.providers.set(trusted.issuer, entry);
    return entry.provider;
  }
}

/** The `iss` of a JWT before verification, only to pick whose keys verify it. */
function unverifiedIssuer(token: string): string {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      iss?: unknown;
    };
    if (typeof payload.iss === 'string' && payload.iss !== '') return payload.iss;
  } catch {
    // reported below
  }
  throw new ApiError(401, 'token_invalid', 'the bearer token is not a JWT with an issuer (iss)');
}
