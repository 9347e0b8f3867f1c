/**
 * A real OpenID Provider for the auth tests: oidc-provider 9 in the test process, over HTTPS on
 * 127.0.0.1 (a random port), with a certificate from the test PKI that clients trust through
 * `caFile`. Device flow, refresh tokens, revocation, introspection and client credentials with
 * RFC 9068 JWT access tokens; a few knobs to inject the faults the client must survive.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import Provider, { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { type IdpUser, INTERACTION_PATH, interactionRoutes } from './idp-interactions.js';
import {
  deviceConfirmPage,
  deviceErrorCode,
  deviceInputPage,
  deviceSuccessPage,
  errorPage,
} from './idp-pages.js';
import { memoryAdapter } from './idp-store.js';
import { createTestPki } from './tls/certs.js';

export type { IdpUser } from './idp-interactions.js';
export { actAsUser, type ActAsUserOptions } from './idp-browser.js';
export { startActionsTokenService, type ActionsTokenService } from './idp-actions.js';

/** The lifetimes `setTtl` changes (`AccessToken` covers client-credentials tokens too). */
export type TtlKind = 'IdToken' | 'AccessToken' | 'DeviceCode' | 'RefreshToken';

/** Options for `signToken`. */
export interface SignOptions {
  /** Sign with a key the IdP does not publish in its JWKS (the header still names the IdP's kid unless `kid` says otherwise). */
  foreignKey?: boolean;
  /** The `kid` header (default: the IdP's signing key id). */
  kid?: string;
  /** The `typ` header (default: none, like the IdP's ID tokens; its access tokens say `at+jwt`). */
  typ?: string;
}

/** A running test IdP. */
export interface TestIdp {
  /** `https://localhost:PORT`, no trailing slash; discovery at `/.well-known/openid-configuration`. */
  issuer: string;
  /** PEM file of the CA that signed the server certificate (valid for localhost and 127.0.0.1). */
  caFile: string;
  /** `jit-cli`: a public client (no secret) with the device_code and refresh_token grants. */
  clientId: string;
  /**
   * A confidential client (`client_secret_basic`: openid-client's `ClientSecretBasic`) with the
   * client_credentials grant. Its access tokens are RFC 9068 JWTs signed by the IdP key:
   * aud = the requested `resource` (`urn:jit` when none), sub = client_id = its client id.
   */
  service: { clientId: string; secret: string };
  /** Who can sign in (`actAsUser`): passwords, subjects, emails and groups. */
  users: { alice: IdpUser; bob: IdpUser };
  /** The `kid` of the IdP's signing key (RS256), as published at its `jwks_uri`. */
  kid: string;
  /** Sets a lifetime in seconds for artifacts issued from now on. */
  setTtl(kind: TtlKind, seconds: number): void;
  /** The `interval` in device authorization responses from now on (default 1 s; oidc-provider sends none). */
  setDeviceInterval(seconds: number): void;
  /** The next `count` device_code token requests answer 400 `slow_down` without looking at the code. */
  injectSlowDown(count: number): void;
  /** Date.now() of every device_code token request so far, for any device code (to assert the spacing of polls). */
  devicePolls(): number[];
  /**
   * A JWT signed with the IdP's own key (or a foreign one). Claims default to iss = the issuer,
   * iat = now, exp = now + 5 min; pass a claim as `undefined` to leave it out.
   */
  signToken(claims: Record<string, unknown>, opts?: SignOptions): Promise<string>;
  /** Every `token` posted to the revocation endpoint so far, in order. */
  revoked(): string[];
  /**
   * Revokes a refresh or access token at the provider itself (an administrator's action, not a
   * request to the revocation endpoint: `revoked()` does not list it); later use of it fails with
   * `invalid_grant` / `invalid_token`. Throws when the IdP never issued `token`.
   */
  revokeToken(token: string): Promise<void>;
  /** Stops the server and removes the certificates. */
  close(): Promise<void>;
}

/** The test users (fresh objects for each IdP). Passwords are what `actAsUser` types unless told otherwise. */
function testUsers(): { alice: IdpUser; bob: IdpUser } {
  return {
    alice: {
      sub: 'sub-alice-7f3a',
      email: 'alice@example.com',
      name: 'Alice Admin',
      groups: ['jit-admins', 'developers'],
      password: 'alice-password',
    },
    bob: {
      sub: 'sub-bob-91c2',
      email: 'bob@example.com',
      name: 'Bob Builder',
      groups: ['developers'],
      password: 'bob-password',
    },
  };
}

/** What a consent grants. */
const SCOPES = ['openid', 'email', 'profile', 'groups', 'offline_access'];
const CLAIMS = { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] };
const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const CLI_CLIENT_ID = 'jit-cli';
const SERVICE_CLIENT_ID = 'jit-ci-service';
/** The audience of a client-credentials token requested without `resource`. */
const DEFAULT_RESOURCE = 'urn:jit';
const ALG = 'RS256';
const SIGNED_TOKEN_TTL = 5 * 60;

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

async function makeSigningKey(): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair(ALG, { extractable: true });
  const kid = `test-${randomBytes(6).toString('hex')}`;
  return { kid, privateKey, jwk: { ...(await exportJWK(privateKey)), kid, alg: ALG, use: 'sig' } };
}

function listen(server: https.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

type DeviceFlowFeature = NonNullable<NonNullable<Configuration['features']>['deviceFlow']>;

/** The pages oidc-provider renders itself (device flow, errors): ours, so they are predictable. */
function pageSources(): {
  renderError: NonNullable<Configuration['renderError']>;
  deviceFlow: DeviceFlowFeature;
} {
  const html = (ctx: KoaContextWithOIDC, body: string): void => {
    ctx.type = 'html';
    ctx.body = body;
  };
  return {
    renderError: async (ctx, out) => html(ctx, errorPage(out.error ?? 'server_error', out.error_description)),
    deviceFlow: {
      enabled: true,
      userCodeInputSource: async (ctx, form, _out, err) =>
        html(ctx, deviceInputPage(form, err ? deviceErrorCode(err.name) : undefined)),
      userCodeConfirmSource: async (ctx, form, client, _deviceInfo, userCode) =>
        html(ctx, deviceConfirmPage(form, userCode, client.clientId)),
      successSource: async (ctx) => html(ctx, deviceSuccessPage(ctx.oidc?.client?.clientId ?? 'the device')),
    },
  };
}

/** Starts the IdP. Takes about a quarter of a second (certificates, an RSA key). */
export async function startIdp(): Promise<TestIdp> {
  const dir = await mkdtemp(path.join(tmpdir(), 'jit-idp-'));
  const pki = await createTestPki(dir);
  // Any certificate of `ca` for both localhost and 127.0.0.1 will do; `impostor` is the one.
  const cert = pki.impostor;
  const signing = await makeSigningKey();
  let foreign: Promise<SigningKey> | undefined;

  const users = testUsers();
  const ttl: Record<TtlKind, number> = {
    IdToken: 600,
    AccessToken: 600,
    DeviceCode: 600,
    RefreshToken: 86_400,
  };
  let interval = 1;
  let slowDowns = 0;
  const polls: number[] = [];
  const revoked: string[] = [];
  const serviceSecret = randomBytes(24).toString('base64url');

  const server = https.createServer({ cert: await readFile(cert.cert), key: await readFile(cert.key) });
  const port = await listen(server);
  const issuer = `https://localhost:${port}`;

  /** The token endpoint looks the device code up on every device_code poll (see memoryAdapter). */
  const beforeFind = (model: string): void => {
    if (model !== 'DeviceCode' || Provider.ctx?.oidc?.route !== 'token') return;
    polls.push(Date.now());
    if (slowDowns > 0) {
      slowDowns -= 1;
      throw new errors.SlowDown();
    }
  };

  const pages = pageSources();
  const provider = new Provider(issuer, {
    adapter: memoryAdapter(beforeFind),
    clients: [
      {
        client_id: CLI_CLIENT_ID,
        client_name: 'jit',
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        grant_types: [DEVICE_CODE_GRANT, 'refresh_token'],
        response_types: [],
        redirect_uris: [],
      },
      {
        client_id: SERVICE_CLIENT_ID,
        client_secret: serviceSecret,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
      },
    ],
    jwks: { keys: [signing.jwk] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    scopes: SCOPES,
    claims: CLAIMS,
    // Put the granted scopes' claims (email, groups…) in the ID token, not only at userinfo.
    conformIdTokenClaims: false,
    findAccount: async (_ctx, sub) => {
      const user = Object.values(users).find((u) => u.sub === sub);
      if (!user) return undefined;
      return {
        accountId: sub,
        claims: () => ({
          sub,
          email: user.email,
          email_verified: true,
          name: user.name,
          groups: user.groups,
        }),
      };
    },
    // Every function oidc-provider would otherwise default (and print a notice about) is set here.
    clientBasedCORS: () => false,
    renderError: pages.renderError,
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    ttl: {
      AccessToken: () => ttl.AccessToken,
      ClientCredentials: () => ttl.AccessToken,
      IdToken: () => ttl.IdToken,
      DeviceCode: () => ttl.DeviceCode,
      RefreshToken: () => ttl.RefreshToken,
      Interaction: () => 600,
      Session: () => 3600,
      Grant: () => 86_400,
    },
    features: {
      devInteractions: { enabled: false },
      deviceFlow: pages.deviceFlow,
      clientCredentials: { enabled: true },
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      introspection: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) =>
          client.clientAuthMethod !== 'none' || token.clientId === client.clientId,
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx, client, oneOf) =>
          oneOf ?? (client.clientId === SERVICE_CLIENT_ID ? DEFAULT_RESOURCE : undefined),
        // A resource requested at device authorization is where the access token is for.
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, resource) => ({
          scope: '',
          audience: resource,
          accessTokenFormat: 'jwt',
          accessTokenTTL: ttl.AccessToken,
          jwt: { sign: { alg: ALG } },
        }),
      },
    },
  });

  provider.use(async (ctx, next) => {
    await next();
    const route = ctx.oidc?.route;
    // RFC 8628 §3.2: `interval` is optional and defaults to 5 s; oidc-provider leaves it out.
    if (route === 'device_authorization' && ctx.status === 200 && isRecord(ctx.body)) {
      ctx.body.interval = interval;
    }
    const token = ctx.oidc?.params?.token;
    if (route === 'revocation' && typeof token === 'string') revoked.push(token);
  });

  const interactions = interactionRoutes({ provider, users, scopes: SCOPES });
  const oidc = provider.callback();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const pathname = new URL(req.url ?? '/', issuer).pathname;
    void (INTERACTION_PATH.test(pathname) ? interactions(req, res) : oidc(req, res));
  });

  return {
    issuer,
    caFile: pki.ca.cert,
    clientId: CLI_CLIENT_ID,
    service: { clientId: SERVICE_CLIENT_ID, secret: serviceSecret },
    users,
    kid: signing.kid,
    setTtl: (kind, seconds) => {
      ttl[kind] = seconds;
    },
    setDeviceInterval: (seconds) => {
      interval = seconds;
    },
    injectSlowDown: (count) => {
      slowDowns += count;
    },
    devicePolls: () => [...polls],
    signToken: async (claims, opts = {}) => {
      const key = opts.foreignKey ? await (foreign ??= makeSigningKey()) : signing;
      const now = Math.floor(Date.now() / 1000);
      const payload = Object.fromEntries(
        Object.entries({ iss: issuer, iat: now, exp: now + SIGNED_TOKEN_TTL, ...claims }).filter(
          ([, value]) => value !== undefined,
        ),
      );
      return new SignJWT(payload)
        .setProtectedHeader({
          alg: ALG,
          kid: opts.kid ?? signing.kid,
          ...(opts.typ ? { typ: opts.typ } : {}),
        })
        .sign(key.privateKey);
    },
    revoked: () => [...revoked],
    revokeToken: async (token) => {
      for (const model of [provider.RefreshToken, provider.AccessToken, provider.ClientCredentials]) {
        const found = await model.find(token);
        if (found) {
          await found.destroy();
          return;
        }
      }
      throw new Error(`the test IdP did not issue the token ${token.slice(0, 12)}…`);
    },
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
