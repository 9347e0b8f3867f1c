import * as client from 'openid-client';
import { IdentityError } from './errors.js';
import { transportError } from './http.js';
import {
  describeOAuthError,
  discoverProvider,
  oauthErrorCode,
  type Provider,
  type ProviderSettings,
} from './provider.js';
import { type StoreLocation, type StoredLogin, TokenStore } from './store.js';
import { identityFromClaims, verifyToken, type VerifiedIdentity } from './verify.js';

/** Refresh this long before the ID token expires, so a session never starts on an expiring login. */
const REFRESH_MARGIN_MS = 60_000;

/** What the device flow shows the person, and where it reports progress. */
export interface DeviceLoginUi {
  /** The verification URI, the code, and the complete URI when the provider gives one. */
  showCode(prompt: { uri: string; userCode: string; completeUri?: string; expiresInS: number }): void;
  /** Called once polling starts and again when it ends (`done`), for a countdown. */
  waiting(state: { expiresAt: number; done: boolean }): void;
}

/** The outcome of `jit login`. */
export interface LoginResult {
  identity: VerifiedIdentity;
  location: StoreLocation;
  /** A refresh token was issued, so later sessions do not need a new login for a while. */
  refreshable: boolean;
}

/**
 * The OAuth 2.0 device authorization grant (RFC 8628): ask for a code, show it, poll the token
 * endpoint honouring `interval`, `slow_down` and expiry, verify the ID token, store the tokens.
 */
export async function deviceLogin(
  settings: ProviderSettings,
  ui: DeviceLoginUi,
  options: { signal: AbortSignal; store?: TokenStore },
): Promise<LoginResult> {
  const provider = await discoverProvider(settings);
  const { metadata } = provider;
  if (!metadata.device_authorization_endpoint) {
    throw new IdentityError(
      'no_device_flow',
      `${settings.issuer} does not offer the device authorization grant (RFC 8628)`,
      {
        hint: 'enable the device flow for this client at the identity provider',
      },
    );
  }
  const scope = loginScope(metadata.scopes_supported);
  let started: client.DeviceAuthorizationResponse;
  try {
    started = await client.initiateDeviceAuthorization(provider.config, { scope });
  } catch (err) {
    throw loginError(err, settings, 'starting the device login failed');
  }
  ui.showCode({
    uri: started.verification_uri,
    userCode: started.user_code,
    ...(started.verification_uri_complete && { completeUri: started.verification_uri_complete }),
    expiresInS: started.expires_in,
  });
  const expiresAt = Date.now() + started.expires_in * 1000;
  const expiry = AbortSignal.timeout(started.expires_in * 1000);
  const signal = AbortSignal.any([options.signal, expiry]);
  ui.waiting({ expiresAt, done: false });
  let tokens: client.TokenEndpointResponse;
  try {
    tokens = await client.pollDeviceAuthorizationGrant(provider.config, started, undefined, { signal });
  } catch (err) {
    if (options.signal.aborted) throw new IdentityError('login_cancelled', 'login cancelled');
    if (expiry.aborted) throw expiredCode();
    throw loginError(err, settings, 'the device login failed');
  } finally {
    ui.waiting({ expiresAt, done: true });
  }
  return finishLogin(provider, tokens, options.store ?? new TokenStore());
}

/** `openid email profile`, plus `groups` and `offline_access` when the provider lists them. */
function loginScope(supported: string[] | undefined): string {
  const scopes = ['openid', 'email', 'profile'];
  for (const optional of ['groups', 'offline_access'])
    if (supported?.includes(optional)) scopes.push(optional);
  return scopes.join(' ');
}

async function finishLogin(
  provider: Provider,
  tokens: client.TokenEndpointResponse,
  store: TokenStore,
): Promise<LoginResult> {
  const { settings } = provider;
  if (!tokens.id_token) {
    throw new IdentityError('no_id_token', `${settings.issuer} returned no ID token`, {
      hint: 'the client must be allowed the `openid` scope',
    });
  }
  const payload = await verifyToken(
    tokens.id_token,
    provider,
    [settings.clientId],
    'the ID token from the login',
  );
  const login: StoredLogin = {
    version: 1,
    issuer: settings.issuer,
    clientId: settings.clientId,
    idToken: tokens.id_token,
    ...(tokens.access_token && { accessToken: tokens.access_token }),
    ...(tokens.refresh_token && { refreshToken: tokens.refresh_token }),
    ...(tokens.expires_in !== undefined && { accessTokenExpiresAt: Date.now() + tokens.expires_in * 1000 }),
    savedAt: Date.now(),
  };
  const location = await store.save(login, settings.ca);
  return {
    identity: identityFromClaims(payload, 'login'),
    location,
    refreshable: login.refreshToken !== undefined,
  };
}

/**
 * The stored login for `settings`, its ID token verified; refreshed first when it expires within a
 * minute and a refresh token is there. Errors say to run `jit login` when no valid login is left.
 */
export async function currentLogin(
  settings: ProviderSettings,
  store: TokenStore = new TokenStore(),
): Promise<{ identity: VerifiedIdentity; location: StoreLocation; refreshed: boolean; login: StoredLogin }> {
  const found = await store.load(settings.issuer, settings.clientId);
  if (!found) {
    throw new IdentityError('not_logged_in', `not logged in to ${settings.issuer}`, {
      hint: 'run `jit login` (CI jobs: set JIT_ID_TOKEN, use GitHub Actions OIDC, or --client-secret-env)',
    });
  }
  let { login } = found;
  const provider = await discoverProvider(settings);
  let refreshed = false;
  if (expiresWithin(login.idToken, REFRESH_MARGIN_MS)) {
    if (!login.refreshToken) {
      throw new IdentityError('login_expired', `your login to ${settings.issuer} has expired`, {
        hint: 'run `jit login` again (the provider issued no refresh token)',
      });
    }
    login = await refreshLogin(provider, login);
    await store.save(login, settings.ca);
    refreshed = true;
  }
  const payload = await verifyToken(login.idToken, provider, [settings.clientId], 'the stored ID token');
  return { identity: identityFromClaims(payload, 'login'), location: found.location, refreshed, login };
}

async function refreshLogin(provider: Provider, login: StoredLogin): Promise<StoredLogin> {
  let tokens: client.TokenEndpointResponse;
  try {
    tokens = await client.refreshTokenGrant(provider.config, login.refreshToken ?? '');
  } catch (err) {
    const transport = transportError(err, 'refreshing the login failed', provider.settings.issuer);
    if (transport) throw transport;
    throw new IdentityError(
      'login_expired',
      `your login to ${provider.settings.issuer} has expired and could not be refreshed (${describeOAuthError(err)})`,
      {
        hint: 'run `jit login` again',
        cause: err,
      },
    );
  }
  if (!tokens.id_token) {
    throw new IdentityError(
      'login_expired',
      `refreshing the login at ${provider.settings.issuer} returned no ID token`,
      {
        hint: 'run `jit login` again',
      },
    );
  }
  return {
    ...login,
    idToken: tokens.id_token,
    ...(tokens.access_token && { accessToken: tokens.access_token }),
    // Providers that rotate refresh tokens send a new one; the old one is then spent.
    ...(tokens.refresh_token && { refreshToken: tokens.refresh_token }),
    ...(tokens.expires_in !== undefined && { accessTokenExpiresAt: Date.now() + tokens.expires_in * 1000 }),
    savedAt: Date.now(),
  };
}

/** True when the JWT's `exp` is missing, unreadable, or within `marginMs` from now. */
function expiresWithin(jwt: string, marginMs: number): boolean {
  try {
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      exp?: unknown;
    };
    return typeof payload.exp !== 'number' || payload.exp * 1000 - Date.now() < marginMs;
  } catch {
    return true;
  }
}

/**
 * `jit logout`: revoke the refresh and access tokens at the provider when it offers revocation
 * (RFC 7009), then delete them locally whatever happened. Returns what was done.
 */
export async function logout(
  settings: ProviderSettings,
  store: TokenStore = new TokenStore(),
): Promise<{ found: boolean; revoked: 'yes' | 'unsupported' | { failed: string } }> {
  const found = await store.load(settings.issuer, settings.clientId).catch(() => undefined);
  if (!found) {
    await store.delete(settings.issuer, settings.clientId);
    return { found: false, revoked: 'unsupported' };
  }
  let revoked: 'yes' | 'unsupported' | { failed: string } = 'unsupported';
  try {
    const provider = await discoverProvider(settings);
    if (provider.metadata.revocation_endpoint) {
      const { refreshToken, accessToken } = found.login;
      if (refreshToken)
        await client.tokenRevocation(provider.config, refreshToken, { token_type_hint: 'refresh_token' });
      if (accessToken)
        await client.tokenRevocation(provider.config, accessToken, { token_type_hint: 'access_token' });
      revoked = 'yes';
    }
  } catch (err) {
    revoked = { failed: err instanceof IdentityError ? err.message : describeOAuthError(err) };
  } finally {
    await store.delete(settings.issuer, settings.clientId);
  }
  return { found: true, revoked };
}

function expiredCode(): IdentityError {
  return new IdentityError('code_expired', 'the login code expired before it was approved', {
    hint: 'run `jit login` again and approve it in the browser sooner',
  });
}

function loginError(err: unknown, settings: ProviderSettings, what: string): IdentityError {
  const transport = transportError(err, what, settings.issuer);
  if (transport) return transport;
  const code = oauthErrorCode(err);
  const detail = describeOAuthError(err);
  switch (code) {
    case 'invalid_client':
      return new IdentityError(
        'unknown_client',
        `${settings.issuer} does not know the client "${settings.clientId}" (${detail})`,
        {
          hint: 'check oidc.client_id in jit.yaml (or --client-id)',
        },
      );
    case 'unauthorized_client':
      return new IdentityError(
        'client_not_allowed',
        `the client "${settings.clientId}" may not use the device flow at ${settings.issuer} (${detail})`,
        {
          hint: 'allow the device_code grant type for this client at the identity provider',
        },
      );
    case 'access_denied':
      return new IdentityError('login_denied', 'the login was denied in the browser', {
        hint: 'run `jit login` again and approve the request',
      });
    case 'expired_token':
      return expiredCode();
    default:
      return new IdentityError('login_failed', `${what}: ${detail}`, { cause: err });
  }
}
