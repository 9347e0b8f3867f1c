import { decodeJwt } from 'jose';
import type { JitConfig, OidcConfig } from '../config/schema.js';
import { providerFetch } from '../identity/http.js';
import { discoverProvider } from '../identity/provider.js';
import { loginSettings } from '../identity/resolve.js';
import { TokenStore } from '../identity/store.js';
import { formatDuration } from '../util/duration.js';
import { type ClockSample, clockSample } from './clock.js';
import { type CheckResult, failFrom, ok, warn } from './result.js';

/** RFC 8628's grant type; a provider listing grant types without it has no device flow. */
const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/**
 * `identity` (the IdP answers discovery and offers the device flow; with os-user, a warning that
 * audit records are unauthenticated) and `login` (a stored `jit login` and its expiry; never a
 * token). Returns the IdP's clock as a sample for the clock check.
 */
export async function checkIdentity(
  config: JitConfig,
  deps: { env: NodeJS.ProcessEnv; now: () => number },
): Promise<{ results: CheckResult[]; clock?: ClockSample }> {
  if (config.identity === 'os-user' || config.oidc === undefined) {
    return {
      results: [
        warn(
          'identity',
          'os-user: sessions act as the local OS user, and audit records mark them unauthenticated',
          'fine for local development; for shared databases set `identity: oidc` with an `oidc:` section and run `jit login`',
        ),
      ],
    };
  }
  const oidc = config.oidc;
  const results: CheckResult[] = [];
  let clock: ClockSample | undefined;
  try {
    const provider = await discoverProvider(loginSettings(oidc));
    const { metadata } = provider;
    const device = metadata.device_authorization_endpoint;
    const grants = metadata.grant_types_supported;
    if (!device || (grants !== undefined && !grants.includes(DEVICE_CODE_GRANT))) {
      results.push(
        warn(
          'identity',
          `${oidc.issuer} serves OIDC discovery but offers no device flow, so \`jit login\` cannot work (CI identities still can)`,
          `enable the device authorization grant (RFC 8628) for client ${oidc.clientId} at the provider`,
        ),
      );
    } else {
      results.push(ok('identity', `${oidc.issuer} serves OIDC discovery; device flow at ${device}`));
    }
    clock = await idpClock(oidc, deps.now);
  } catch (error) {
    results.push(failFrom('identity', error, 'check oidc.issuer and oidc.ca in the config'));
  }
  results.push(await checkLogin(oidc, deps));
  return { results, ...(clock && { clock }) };
}

async function checkLogin(
  oidc: OidcConfig,
  deps: { env: NodeJS.ProcessEnv; now: () => number },
): Promise<CheckResult> {
  let found;
  try {
    found = await new TokenStore(deps.env).load(oidc.issuer, oidc.clientId);
  } catch (error) {
    return failFrom('login', error, 'run `jit login` again');
  }
  if (!found) {
    return warn(
      'login',
      `not logged in to ${oidc.issuer}`,
      'run `jit login` (CI jobs: JIT_ID_TOKEN, GitHub Actions OIDC or --client-secret-env instead)',
    );
  }
  const { login, location } = found;
  const where = location.kind === 'keyring' ? 'the OS keyring' : location.file;
  let who = 'unknown subject';
  let expiresAt: number | undefined;
  try {
    const claims = decodeJwt(login.idToken);
    who = typeof claims.email === 'string' ? claims.email : (claims.sub ?? who);
    if (typeof claims.exp === 'number') expiresAt = claims.exp * 1000;
  } catch {
    return warn(
      'login',
      `the login stored in ${where} holds an ID token jit cannot read`,
      'run `jit login` again',
    );
  }
  const refresh = login.refreshToken ? 'refreshable' : 'no refresh token';
  const base = `logged in as ${who} (tokens in ${where})`;
  if (expiresAt === undefined) return ok('login', `${base}; ${refresh}`);
  const left = expiresAt - deps.now();
  const at = new Date(expiresAt).toISOString();
  if (left > 0)
    return ok('login', `${base}; ID token expires in ${formatDuration(left)} (${at}), ${refresh}`);
  if (login.refreshToken) {
    return ok('login', `${base}; ID token expired at ${at}, refreshed on next use`);
  }
  return warn('login', `${base}; expired at ${at} and there is no refresh token`, 'run `jit login` again');
}

/** The IdP's clock, from the Date header of its discovery document. */
async function idpClock(oidc: OidcConfig, now: () => number): Promise<ClockSample | undefined> {
  const url = `${oidc.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  try {
    const sentAt = now();
    const response = await providerFetch(oidc.ca)(url, { method: 'GET' });
    const receivedAt = now();
    await response.body?.cancel();
    const date = Date.parse(response.headers.get('date') ?? '');
    if (Number.isNaN(date)) return undefined;
    return clockSample('the IdP (HTTP Date)', date, sentAt, receivedAt, true);
  } catch {
    return undefined;
  }
}
