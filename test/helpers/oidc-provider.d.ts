/**
 * The part of oidc-provider 9 (https://github.com/panva/node-oidc-provider/blob/v9.x/docs/README.md)
 * the test IdP uses. The package ships no types and @types/oidc-provider is not a dependency.
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  /** `ctx.oidc`: what oidc-provider knows about the request being served. */
  export interface OidcContext {
    /** The matched route: `token`, `device_authorization`, `revocation`, `code_verification`… */
    route?: string;
    params?: Record<string, unknown>;
    client?: Client;
  }

  /** The Koa context oidc-provider's middleware and helper functions receive. */
  export interface KoaContextWithOIDC {
    method: string;
    path: string;
    status: number;
    type: string;
    body: unknown;
    /** Defined once oidc-provider's own middleware has run for the request. */
    oidc?: OidcContext;
  }

  export type Middleware = (ctx: KoaContextWithOIDC, next: () => Promise<void>) => Promise<void>;

  /** A client registered with the provider. */
  export interface Client {
    clientId: string;
    clientAuthMethod: string;
  }

  /** A token as policies (revocation, introspection) see it. */
  export interface Token {
    clientId?: string;
  }

  export interface Account {
    accountId: string;
    claims: (use: string, scope: string) => Promise<Record<string, unknown>> | Record<string, unknown>;
  }

  /** What `features.resourceIndicators.getResourceServerInfo` returns. */
  export interface ResourceServerInfo {
    scope: string;
    audience?: string;
    accessTokenTTL?: number;
    accessTokenFormat?: 'opaque' | 'jwt';
    jwt?: { sign?: { alg: string; kid?: string } };
  }

  /** A stored artifact (session, interaction, grant, token…) as the adapter sees it. */
  export interface AdapterPayload {
    grantId?: string;
    userCode?: string;
    uid?: string;
    consumed?: number;
    [field: string]: unknown;
  }

  /** Storage for one model (https://github.com/panva/node-oidc-provider/blob/v9.x/example/my_adapter.js). */
  export interface Adapter {
    upsert(id: string, payload: AdapterPayload, expiresIn: number | undefined): Promise<void>;
    find(id: string): Promise<AdapterPayload | undefined>;
    findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
    findByUid(uid: string): Promise<AdapterPayload | undefined>;
    consume(id: string): Promise<void>;
    destroy(id: string): Promise<void>;
    revokeByGrantId(grantId: string): Promise<void>;
  }

  export interface ClientMetadata {
    client_id: string;
    client_secret?: string;
    client_name?: string;
    application_type?: 'web' | 'native';
    grant_types?: string[];
    response_types?: string[];
    redirect_uris?: string[];
    token_endpoint_auth_method?: string;
  }

  /** A form oidc-provider renders for the device flow, with its hidden xsrf field. */
  export type FormHtml = string;

  /** An error oidc-provider re-renders the code input page with (NotFoundError, AbortedError…). */
  export interface UserCodeError extends Error {
    userCode?: string;
  }

  export type TtlFunction = (ctx: KoaContextWithOIDC | undefined, token: unknown, client: unknown) => number;

  export interface Configuration {
    adapter?: (model: string) => Adapter;
    clients?: ClientMetadata[];
    jwks?: { keys: Record<string, unknown>[] };
    cookies?: { keys?: string[] };
    scopes?: string[];
    claims?: Record<string, string[]>;
    conformIdTokenClaims?: boolean;
    clientBasedCORS?: (ctx: KoaContextWithOIDC, origin: string, client: Client) => boolean;
    findAccount?: (ctx: KoaContextWithOIDC, sub: string) => Promise<Account | undefined>;
    renderError?: (ctx: KoaContextWithOIDC, out: Record<string, string>, error: Error) => Promise<void>;
    interactions?: {
      url?: (ctx: KoaContextWithOIDC, interaction: { uid: string }) => string | Promise<string>;
    };
    ttl?: Record<string, number | TtlFunction>;
    features?: {
      devInteractions?: { enabled: boolean };
      clientCredentials?: { enabled: boolean };
      introspection?: {
        enabled: boolean;
        allowedPolicy?: (ctx: KoaContextWithOIDC, client: Client, token: Token) => Promise<boolean>;
      };
      revocation?: {
        enabled: boolean;
        allowedPolicy?: (ctx: KoaContextWithOIDC, client: Client, token: Token) => Promise<boolean>;
      };
      deviceFlow?: {
        enabled: boolean;
        userCodeInputSource?: (
          ctx: KoaContextWithOIDC,
          form: FormHtml,
          out: unknown,
          err: UserCodeError | undefined,
        ) => Promise<void>;
        userCodeConfirmSource?: (
          ctx: KoaContextWithOIDC,
          form: FormHtml,
          client: Client,
          deviceInfo: unknown,
          userCode: string,
        ) => Promise<void>;
        successSource?: (ctx: KoaContextWithOIDC) => Promise<void>;
      };
      resourceIndicators?: {
        enabled: boolean;
        defaultResource?: (
          ctx: KoaContextWithOIDC,
          client: Client,
          oneOf?: string[],
        ) => Promise<string | string[] | undefined>;
        useGrantedResource?: (ctx: KoaContextWithOIDC, model: unknown) => Promise<boolean>;
        getResourceServerInfo?: (
          ctx: KoaContextWithOIDC,
          resourceIndicator: string,
          client: Client,
        ) => Promise<ResourceServerInfo>;
      };
    };
  }

  /** A pending interaction (`provider.interactionDetails`). */
  export interface Interaction {
    uid: string;
    prompt: { name: string; reasons: string[]; details: Record<string, unknown> };
    params: Record<string, unknown>;
    session?: { accountId?: string };
    grantId?: string;
  }

  export type InteractionResult =
    | { login?: { accountId: string }; consent?: { grantId: string } }
    | { error: string; error_description?: string };

  export class Grant {
    constructor(properties: { accountId: string; clientId: string });
    addOIDCScope(scope: string): void;
    addResourceScope(resource: string, scope: string): void;
    save(): Promise<string>;
    static find(id: string): Promise<Grant | undefined>;
  }

  /** A stored token model (`provider.RefreshToken`, `provider.AccessToken`…), found by its value. */
  export interface TokenModel {
    find(value: string): Promise<{ grantId?: string; destroy(): Promise<void> } | undefined>;
  }

  export class Provider {
    constructor(issuer: string, configuration?: Configuration);
    readonly issuer: string;
    /** The context of the request being served (AsyncLocalStorage), if any. */
    static readonly ctx: KoaContextWithOIDC | undefined;
    readonly Grant: typeof Grant;
    readonly AccessToken: TokenModel;
    readonly RefreshToken: TokenModel;
    readonly ClientCredentials: TokenModel;
    /** Adds a Koa middleware that runs before oidc-provider's own. */
    use(middleware: Middleware): this;
    callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>;
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: InteractionResult,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
  }
  export default Provider;

  export namespace errors {
    class OIDCProviderError extends Error {
      error: string;
      error_description?: string;
      status: number;
    }
    /** RFC 8628 `slow_down` (HTTP 400 at the token endpoint). */
    class SlowDown extends OIDCProviderError {
      constructor(description?: string);
    }
    class SessionNotFound extends OIDCProviderError {}
  }
}
