import * as client from 'openid-client';
import { createRemoteJWKSet, customFetch as joseCustomFetch } from 'jose';
import type { JWTVerifyGetKey } from 'jose';
import { IdentityError } from './errors.js';
import { type FetchLike, providerFetch, transportError } from './http.js';

/** Where an identity provider is and how jit is known to it. */
export interface ProviderSettings {
  issuer: string;
  clientId: string;
  /** PEM file of an extra CA to trust for this provider. */
  ca?: string;
  /** Makes jit a confidential client (the client-credentials grant); public otherwise. */
  clientSecret?: string;
}

/** A discovered provider: openid-client's configuration, its metadata, and its signing keys. */
export interface Provider {
  settings: ProviderSettings;
  config: client.Configuration;
  metadata: client.ServerMetadata;
  /** The provider's JWKS (fetched on first use, cached, refetched for an unknown `kid`). */
  keys: JWTVerifyGetKey;
  fetch: FetchLike;
}

/** OIDC discovery (`/.well-known/openid-configuration`), with clear errors for each way it fails. */
export async function discoverProvider(settings: ProviderSettings): Promise<Provider> {
  const fetch = providerFetch(settings.ca);
  const auth =
    settings.clientSecret === undefined ? client.None() : client.ClientSecretBasic(settings.clientSecret);
  let config: client.Configuration;
  try {
    const url = new URL(settings.issuer);
    // http:// only on loopback (the config refuses it elsewhere): a local test IdP.
    const loopback = url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
    config = await client.discovery(url, settings.clientId, undefined, auth, {
      [client.customFetch]: fetch,
      timeout: 15,
      ...(loopback && { execute: [client.allowInsecureRequests] }),
    });
  } catch (err) {
    throw (
      transportError(err, 'OIDC discovery failed', settings.issuer) ??
      new IdentityError(
        'idp_discovery',
        `${settings.issuer} is not a usable OpenID provider: ${describeOAuthError(err)}`,
        {
          hint: 'check oidc.issuer (or --issuer): it must serve /.well-known/openid-configuration',
          cause: err,
        },
      )
    );
  }
  const metadata = config.serverMetadata();
  if (!metadata.jwks_uri) {
    throw new IdentityError(
      'idp_discovery',
      `${settings.issuer} publishes no jwks_uri, so its tokens cannot be verified`,
    );
  }
  const keys = createRemoteJWKSet(new URL(metadata.jwks_uri), {
    [joseCustomFetch]: fetch,
    timeoutDuration: 15_000,
  });
  return { settings, config, metadata, keys, fetch };
}

/** The provider's answer in one phrase: `error: description`, or the message. */
export function describeOAuthError(err: unknown): string {
  if (err instanceof client.ResponseBodyError) {
    return err.error_description ? `${err.error}: ${err.error_description}` : err.error;
  }
  if (err instanceof client.WWWAuthenticateChallengeError) {
    // A 401 with a challenge (client_secret_basic): the error is in the challenge's parameters.
    const params = err.cause[0]?.parameters;
    const error = params?.error ?? `HTTP ${err.status}`;
    return params?.error_description ? `${error}: ${params.error_description}` : error;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}

/** The OAuth `error` code of a provider's error response, if it was one. */
export function oauthErrorCode(err: unknown): string | undefined {
  if (err instanceof client.ResponseBodyError) return err.error;
  if (err instanceof client.WWWAuthenticateChallengeError) return err.cause[0]?.parameters.error;
  return undefined;
}
