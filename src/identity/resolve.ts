import * as client from 'openid-client';
import type { JitConfig, OidcConfig } from '../config/schema.js';
import type { Identity } from '../grant/types.js';
import { osUserIdentity } from '../session/identity.js';
import { IdentityError } from './errors.js';
import { transportError } from './http.js';
import { currentLogin } from './login.js';
import { describeOAuthError, discoverProvider, type Provider, type ProviderSettings } from './provider.js';
import type { StoreLocation } from './store.js';
import { identityFromClaims, type IdentitySource, verifyToken, type VerifiedIdentity } from './verify.js';

/** Command-line choices that affect which identity a session uses. */
export interface IdentityOptions {
  /** A CI job: never prompt. */
  ci?: boolean;
  /** Service account client id for the client-credentials grant (default oidc.client_id). */
  clientId?: string;
  /** Name of the environment variable holding the service account's client secret. */
  clientSecretEnv?: string;
}

/** A resolved identity plus what must never reach the child. */
export interface ResolvedIdentity {
  identity: Identity | VerifiedIdentity;
  /** Token and secret values to keep out of the child's environment. */
  secrets: string[];
  /** Environment variable names to strip from the child's environment. */
  stripEnv: string[];
  /** Where a `jit login` identity's tokens live. */
  location?: StoreLocation;
  /** The verified token itself, for the broker (which verifies it again); never for the child. */
  token?: string;
  /**
   * The current token, refreshed when a stored login's ID token nears expiry (long sessions keep
   * talking to the broker); for CI tokens, the same token each time.
   */
  tokenSource?: () => Promise<string>;
}

/** Provider settings of the configured issuer. */
export function loginSettings(oidc: OidcConfig): ProviderSettings {
  return { issuer: oidc.issuer, clientId: oidc.clientId, ...(oidc.ca && { ca: oidc.ca }) };
}

/**
 * Who this session acts for. `identity: os-user` → the OS user (unauthenticated). `identity: oidc`
 * → the first of: the client-credentials grant (`--client-secret-env`), `JIT_ID_TOKEN`, a GitHub
 * Actions OIDC token, the stored `jit login` (refreshed when near expiry). Every token is verified
 * (signature against the issuer's JWKS, issuer, audience, expiry) before its claims are used.
 */
export async function resolveIdentity(
  config: JitConfig,
  options: IdentityOptions,
  env: NodeJS.ProcessEnv,
): Promise<ResolvedIdentity> {
  if (config.identity === 'os-user') {
    if (options.clientSecretEnv) {
      throw new IdentityError('identity_mode', '--client-secret-env needs `identity: oidc` in jit.yaml');
    }
    return { identity: osUserIdentity(), secrets: [], stripEnv: [] };
  }
  const oidc = config.oidc;
  if (!oidc) throw new IdentityError('no_oidc', 'identity: oidc needs an `oidc:` section in jit.yaml');
  const audience = oidc.audience ?? oidc.clientId;

  if (options.clientSecretEnv) return clientCredentials(oidc, audience, options, env);
  const envToken = env.JIT_ID_TOKEN;
  if (envToken !== undefined && envToken !== '') {
    const identity = await verifyCiToken(oidc, audience, envToken.trim(), 'JIT_ID_TOKEN', 'id-token-env');
    const token = envToken.trim();
    return {
      identity,
      secrets: [envToken],
      stripEnv: ['JIT_ID_TOKEN'],
      token,
      tokenSource: async () => token,
    };
  }
  const actionsUrl = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const actionsToken = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (actionsUrl && actionsToken) {
    const token = await githubActionsToken(actionsUrl, actionsToken, audience);
    const identity = await verifyCiToken(
      oidc,
      audience,
      token,
      'the GitHub Actions OIDC token',
      'github-actions',
    );
    return { identity, secrets: [token, actionsToken], stripEnv: [], token, tokenSource: async () => token };
  }
  try {
    const settings = loginSettings(oidc);
    const { identity, location, login } = await currentLogin(settings);
    const secrets = [login.idToken, login.accessToken, login.refreshToken].filter((s): s is string => !!s);
    const tokenSource = refreshingToken(login.idToken, identity.expiresAt, async () => {
      const again = await currentLogin(settings);
      return { token: again.login.idToken, expiresAt: again.identity.expiresAt };
    });
    return { identity, secrets, stripEnv: [], location, token: login.idToken, tokenSource };
  } catch (err) {
    if (options.ci && err instanceof IdentityError && err.code === 'not_logged_in') {
      throw new IdentityError(
        'no_ci_identity',
        `no CI identity: not logged in to ${oidc.issuer}, and no CI token is available`,
        {
          hint: 'set JIT_ID_TOKEN, give the GitHub Actions job `permissions: id-token: write`, or pass --client-secret-env NAME',
        },
      );
    }
    throw err;
  }
}

/** Verifies a CI token from the configured issuer or one of `oidc.ci_issuers`. */
async function verifyCiToken(
  oidc: OidcConfig,
  audience: string,
  token: string,
  what: string,
  source: IdentitySource,
): Promise<VerifiedIdentity> {
  const iss = unverifiedIssuer(token, what);
  const same = (a: string, b: string) => a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
  let settings: ProviderSettings;
  if (same(iss, oidc.issuer)) settings = loginSettings(oidc);
  else if (oidc.ciIssuers.some((trusted) => same(trusted, iss))) {
    settings = { issuer: iss, clientId: audience, ...(oidc.ca && { ca: oidc.ca }) };
  } else {
    throw new IdentityError('untrusted_issuer', `${what} was issued by ${iss}, which jit does not trust`, {
      hint: `trusted: ${[oidc.issuer, ...oidc.ciIssuers].join(', ')}; add the CI issuer to oidc.ci_issuers in jit.yaml`,
    });
  }
  const provider = await discoverProvider(settings);
  const payload = await verifyToken(token, provider, [audience], what);
  return identityFromClaims(payload, source);
}

/** The `iss` of a JWT before verification, only to pick whose keys verify it. */
function unverifiedIssuer(token: string, what: string): string {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      iss?: unknown;
    };
    if (typeof payload.iss === 'string' && payload.iss !== '') return payload.iss;
  } catch {
    // Reported below.
  }
  throw new IdentityError('token_invalid', `${what} is not a JWT with an issuer (iss)`, {
    hint: 'it must be an OIDC ID token from a trusted issuer',
  });
}

/** GitHub Actions' OIDC token request: GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=… with the bearer token. */
async function githubActionsToken(requestUrl: string, bearer: string, audience: string): Promise<string> {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    throw new IdentityError('actions_token', 'ACTIONS_ID_TOKEN_REQUEST_URL is not a URL');
  }
  url.searchParams.set('audience', audience);
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { authorization: `bearer ${bearer}`, accept: 'application/json' },
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    throw transportError(err, 'requesting the GitHub Actions OIDC token failed', url.origin) ?? err;
  }
  const body = (await response.json().catch(() => undefined)) as { value?: unknown } | undefined;
  if (!response.ok || typeof body?.value !== 'string') {
    throw new IdentityError(
      'actions_token',
      `GitHub Actions did not issue an OIDC token (HTTP ${response.status})`,
      {
        hint: 'give the job `permissions: id-token: write`',
      },
    );
  }
  return body.value;
}

/** The client-credentials grant for a service account; its access token must be a JWT for `audience`. */
async function clientCredentials(
  oidc: OidcConfig,
  audience: string,
  options: IdentityOptions,
  env: NodeJS.ProcessEnv,
): Promise<ResolvedIdentity> {
  const name = options.clientSecretEnv ?? '';
  const secret = env[name];
  if (!secret) {
    throw new IdentityError(
      'no_client_secret',
      `--client-secret-env ${name}: the variable is not set or empty`,
      {
        hint: `export ${name} with the service account's client secret`,
      },
    );
  }
  const clientId = options.clientId ?? oidc.clientId;
  const provider: Provider = await discoverProvider({
    ...loginSettings(oidc),
    clientId,
    clientSecret: secret,
  });
  // RFC 8707 names the audience `resource` (an absolute URI); Auth0-style providers call it `audience`.
  const parameters: Record<string, string> = isAbsoluteUri(audience) ? { resource: audience } : { audience };
  let tokens: client.TokenEndpointResponse;
  try {
    tokens = await client.clientCredentialsGrant(provider.config, parameters);
  } catch (err) {
    throw (
      transportError(err, 'the client-credentials grant failed', oidc.issuer) ??
      new IdentityError(
        'client_credentials',
        `${oidc.issuer} refused the client credentials of "${clientId}" (${describeOAuthError(err)})`,
        {
          hint: `check --client-id and the secret in ${name}`,
          cause: err,
        },
      )
    );
  }
  const token = tokens.access_token;
  if (token.split('.').length !== 3) {
    throw new IdentityError(
      'opaque_token',
      `${oidc.issuer} returned an opaque access token, which jit cannot verify`,
      {
        hint: `configure the provider to issue JWT access tokens (RFC 9068) for the audience "${audience}"`,
      },
    );
  }
  const payload = await verifyToken(token, provider, [audience], 'the service account token');
  return {
    identity: identityFromClaims(payload, 'client-credentials'),
    secrets: [secret, token],
    stripEnv: [name],
    token,
    tokenSource: async () => token,
  };
}

/** Tokens are renewed this long before they expire. */
const RENEW_MARGIN_MS = 90_000;

/**
 * A token source that hands out `token` until it is within RENEW_MARGIN_MS of `expiresAt`, then
 * asks `renew` (which refreshes a stored login) once for all waiting callers.
 */
export function refreshingToken(
  token: string,
  expiresAt: number,
  renew: () => Promise<{ token: string; expiresAt: number }>,
  now: () => number = Date.now,
): () => Promise<string> {
  let current = { token, expiresAt };
  let renewing: Promise<{ token: string; expiresAt: number }> | undefined;
  return async () => {
    if (current.expiresAt - now() > RENEW_MARGIN_MS) return current.token;
    renewing ??= renew().finally(() => {
      renewing = undefined;
    });
    current = await renewing;
    return current.token;
  };
}

function isAbsoluteUri(value: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(value);
}
