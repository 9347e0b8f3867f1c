/**
 * The test IdP (test/helpers/idp.ts) as a real client sees it: openid-client v6 over HTTPS that
 * trusts only the test CA, jose for the JWTs. The identity tests rely on everything checked here.
 */
import { readFile } from 'node:fs/promises';
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JSONWebKeySet,
} from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actAsUser, startActionsTokenService, startIdp, type TestIdp } from '../helpers/idp.js';
import { httpsFetch, type TestFetch } from '../helpers/idp-fetch.js';

const SCOPE = 'openid email profile groups offline_access';

let idp: TestIdp;
let fetch: TestFetch;
let cli: client.Configuration;
let jwks: ReturnType<typeof createLocalJWKSet>;

beforeAll(async () => {
  idp = await startIdp();
  fetch = httpsFetch(await readFile(idp.caFile, 'utf8'));
  cli = await client.discovery(new URL(idp.issuer), idp.clientId, undefined, client.None(), {
    [client.customFetch]: fetch,
  });
  const keys = (await (await fetch(cli.serverMetadata().jwks_uri as string)).json()) as JSONWebKeySet;
  jwks = createLocalJWKSet(keys);
});

afterAll(async () => {
  await idp?.close();
});

/** Starts a device authorization for `jit-cli` and polls for its tokens in the background. */
async function startDeviceLogin() {
  const authorization = await client.initiateDeviceAuthorization(cli, { scope: SCOPE });
  const tokens = client.pollDeviceAuthorizationGrant(cli, authorization);
  // Keep an early rejection (a denial) from counting as unhandled before the test awaits it.
  tokens.catch(() => {});
  return { authorization, tokens };
}

/** The confidential service client, authenticating with HTTP Basic (its registered method). */
function serviceClient(secret: string): Promise<client.Configuration> {
  return client.discovery(
    new URL(idp.issuer),
    idp.service.clientId,
    undefined,
    client.ClientSecretBasic(secret),
    {
      [client.customFetch]: fetch,
    },
  );
}

describe('test IdP', () => {
  it('publishes discovery metadata with the device, revocation and introspection endpoints over trusted HTTPS', () => {
    const metadata = cli.serverMetadata();
    expect(metadata.issuer).toBe(idp.issuer);
    expect(idp.issuer).toMatch(/^https:\/\/localhost:\d+$/);
    expect(metadata.device_authorization_endpoint).toBe(`${idp.issuer}/device/auth`);
    expect(metadata.revocation_endpoint).toBeTruthy();
    expect(metadata.introspection_endpoint).toBeTruthy();
    expect(metadata.scopes_supported).toEqual(expect.arrayContaining(SCOPE.split(' ')));
  });

  it('device flow: approve gives an ID token with email and groups and a refresh token; refresh and revocation work', async () => {
    const { authorization, tokens } = await startDeviceLogin();
    expect(authorization.interval).toBe(1);
    expect(authorization.verification_uri_complete).toContain(authorization.user_code);
    await actAsUser(idp, {
      url: authorization.verification_uri_complete ?? '',
      user: 'alice',
      decision: 'approve',
    });
    const result = await tokens;
    const { alice } = idp.users;
    expect(result.claims()).toMatchObject({
      iss: idp.issuer,
      aud: idp.clientId,
      sub: alice.sub,
      email: alice.email,
      email_verified: true,
      name: alice.name,
      groups: alice.groups,
    });
    expect(decodeProtectedHeader(result.id_token ?? '')).toMatchObject({ alg: 'RS256', kid: idp.kid });
    expect(result.refresh_token, 'offline_access gives a refresh token').toBeTruthy();
    expect(result.scope?.split(' ').sort()).toEqual(SCOPE.split(' ').sort());

    idp.setTtl('IdToken', 42);
    try {
      const refreshed = await client.refreshTokenGrant(cli, result.refresh_token ?? '');
      const claims = refreshed.claims();
      expect(claims).toMatchObject({ sub: alice.sub, email: alice.email, groups: alice.groups });
      expect((claims?.exp ?? 0) - (claims?.iat ?? 0)).toBe(42);

      await client.tokenRevocation(cli, refreshed.refresh_token ?? '');
      expect(idp.revoked()).toEqual([refreshed.refresh_token]);
      await expect(client.refreshTokenGrant(cli, refreshed.refresh_token ?? '')).rejects.toMatchObject({
        error: 'invalid_grant',
      });
    } finally {
      idp.setTtl('IdToken', 600);
    }
  });

  it('device flow: the plain verification URI with a typed code; revokeToken kills a refresh token', async () => {
    const { authorization, tokens } = await startDeviceLogin();
    await actAsUser(idp, {
      url: authorization.verification_uri,
      userCode: authorization.user_code,
      user: 'bob',
      decision: 'approve',
    });
    const result = await tokens;
    expect(result.claims()).toMatchObject({ sub: idp.users.bob.sub, groups: ['developers'] });

    await idp.revokeToken(result.refresh_token ?? '');
    expect(idp.revoked()).not.toContain(result.refresh_token);
    await expect(client.refreshTokenGrant(cli, result.refresh_token ?? '')).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });

  it('device flow: a wrong password is refused at the login page', async () => {
    // Not polled: the code is abandoned once the browser has confirmed it.
    const authorization = await client.initiateDeviceAuthorization(cli, { scope: SCOPE });
    const url = authorization.verification_uri_complete ?? '';
    await expect(
      actAsUser(idp, { url, user: 'bob', password: 'wrong', decision: 'approve' }),
    ).rejects.toThrow(
      /signing in as bob did not lead to the consent page: 401 .*wrong user name or password/,
    );
  });

  it('device flow: deny makes the poll fail with access_denied', async () => {
    const { authorization, tokens } = await startDeviceLogin();
    await actAsUser(idp, {
      url: authorization.verification_uri_complete ?? '',
      user: 'alice',
      decision: 'deny',
    });
    await expect(tokens).rejects.toMatchObject({
      error: 'access_denied',
      error_description: 'the user denied the request',
    });
  });

  it('device flow: an injected slow_down answers the next poll with 400 slow_down, then polling goes on', async () => {
    const authorization = await client.initiateDeviceAuthorization(cli, { scope: SCOPE });
    const poll = () =>
      fetch(cli.serverMetadata().token_endpoint as string, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
          device_code: authorization.device_code,
          client_id: idp.clientId,
        }).toString(),
      });
    idp.injectSlowDown(1);
    const slowed = await poll();
    expect(slowed.status).toBe(400);
    expect(await slowed.json()).toMatchObject({ error: 'slow_down' });
    const pending = await poll();
    expect(await pending.json()).toMatchObject({ error: 'authorization_pending' });
  });

  it('client credentials: the service gets an RFC 9068 JWT access token for the requested resource (urn:jit by default)', async () => {
    const service = await serviceClient(idp.service.secret);
    for (const [resource, audience] of [
      ['https://broker.example.com', 'https://broker.example.com'],
      ['urn:jit', 'urn:jit'],
      [undefined, 'urn:jit'],
    ] as const) {
      const { access_token: token } = await client.clientCredentialsGrant(
        service,
        resource ? { resource } : {},
      );
      const { payload, protectedHeader } = await jwtVerify(token, jwks, {
        issuer: idp.issuer,
        audience,
        typ: 'at+jwt',
      });
      expect(payload).toMatchObject({ sub: idp.service.clientId, client_id: idp.service.clientId });
      expect(protectedHeader.kid).toBe(idp.kid);
    }
    const wrong = await serviceClient('not-the-secret');
    // With HTTP Basic, oidc-provider answers 401 with a WWW-Authenticate challenge (RFC 6749 §5.2).
    await expect(client.clientCredentialsGrant(wrong)).rejects.toMatchObject({
      status: 401,
      cause: [{ scheme: 'basic', parameters: { error: 'invalid_client' } }],
    });
  });

  it('signToken signs with the published key, or with a foreign one under the same kid', async () => {
    const own = await idp.signToken({ aud: 'urn:jit', sub: 'someone' });
    await expect(jwtVerify(own, jwks, { issuer: idp.issuer, audience: 'urn:jit' })).resolves.toBeTruthy();
    const foreign = await idp.signToken({ aud: 'urn:jit', sub: 'someone' }, { foreignKey: true });
    expect(decodeProtectedHeader(foreign).kid).toBe(idp.kid);
    await expect(jwtVerify(foreign, jwks)).rejects.toBeInstanceOf(joseErrors.JWSSignatureVerificationFailed);
  });

  it('the GitHub Actions token service answers a bearer-authorized request with a token for the audience', async () => {
    const actions = await startActionsTokenService(idp, { repository: 'acme/app' });
    try {
      expect(actions.url).toContain('?api-version=2.0');
      const unauthorized = await globalThis.fetch(`${actions.url}&audience=urn:jit`, {
        headers: { authorization: 'bearer nope' },
      });
      expect(unauthorized.status).toBe(401);
      const res = await globalThis.fetch(`${actions.url}&audience=urn:jit`, {
        headers: { authorization: `bearer ${actions.token}` },
      });
      const { value } = (await res.json()) as { value: string };
      const { payload } = await jwtVerify(value, jwks, { issuer: idp.issuer, audience: 'urn:jit' });
      expect(payload).toMatchObject({ sub: 'repo:acme/app:ref:refs/heads/main', repository: 'acme/app' });
      expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(300);
      expect(actions.requests()).toEqual(['urn:jit']);
    } finally {
      await actions.close();
    }
  });
});
