import type { TlsConfig, UpstreamConfig } from '../config/schema.js';

/**
 * The validated broker.yaml (`jit broker --config FILE`), every default applied and every path
 * absolute. Parsed by `parseBrokerConfig` (config.ts).
 */
export interface BrokerConfig {
  /** Absolute path of the file it came from. */
  path: string;
  listen: ListenConfig;
  /** The broker's own state database (grants, approvals, audit): shared by every replica. */
  state: { urlEnv: string };
  /** Issuers whose tokens the broker accepts; a token from any other issuer is refused. */
  issuers: TrustedIssuer[];
  targets: Record<string, BrokerTarget>;
  /** Grant rules: the first whose `who` matches the caller and that covers the target and roles decides. */
  rules: GrantRule[];
  /** Who may revoke any grant and query every audit record (others: their own). */
  admins: SubjectMatch;
  reaper: { intervalMs: number; heartbeatTimeoutMs: number };
  /** How long an approved grant may wait to be issued, and a pending request for a decision. */
  approval: { pendingTimeoutMs: number };
  limits: {
    /** How many open grants (pending, approved or active) one caller may have at a time. */
    openGrants: number;
    /** How many grant requests one caller may make in any `perMs` window (refused ones not counted). */
    grantRequests: { max: number; perMs: number };
  };
}

/** Where and how the HTTP API listens. */
export interface ListenConfig {
  host: string;
  port: number;
  /** TLS built in; absent when `behind_proxy` is true (a terminating proxy) or the host is loopback. */
  tls?: { cert: string; key: string };
  /** TLS is terminated by a proxy in front; plain HTTP is then accepted on a non-loopback host. */
  behindProxy: boolean;
}

/** One trusted token issuer (a corporate IdP for people, a CI issuer for jobs). */
export interface TrustedIssuer {
  issuer: string;
  /** Tokens must carry one of these audiences. */
  audiences: string[];
  /** Absolute path of an extra CA (PEM) for the issuer's discovery and JWKS. */
  ca?: string;
  /** Which claims hold the person's email, groups and short name (`claims:` in YAML). */
  claims: { email: string; groups: string; name: string };
}

/** A database the broker grants access to, with the admin credential only the broker holds. */
export interface BrokerTarget {
  name: string;
  upstream: UpstreamConfig;
  tls: TlsConfig;
  /** Environment variable of the broker process holding the admin DSN. */
  adminUrlEnv: string;
  connectionLimit: number;
  /** Caps every rule's max_ttl for this target. */
  maxTtlMs: number;
}

/**
 * Who a rule (or the admins list) applies to. Every field given must match (AND); within a
 * list, any value matches (OR). An empty match matches nobody unless `any: true`.
 */
export interface SubjectMatch {
  /** Token issuers (exact, trailing slash ignored). */
  issuers?: string[];
  /** Member of any of these groups (the issuer's `groups` claim). */
  groups?: string[];
  /** Exact emails, or globs like `*@example.com`. */
  emails?: string[];
  /** Exact subjects. */
  subs?: string[];
  /** Claim → accepted values (globs with `*`), e.g. `repository: [acme/app]`, `ref: [refs/heads/main]`. */
  claims?: Record<string, string[]>;
  /** Matches every verified caller (`who: any`). */
  any?: boolean;
}

/** One grant rule of broker.yaml. */
export interface GrantRule {
  name: string;
  who: SubjectMatch;
  /** Target names this rule grants (`*` for all). */
  targets: string[];
  /** The roles it may hand out; a request for others does not match this rule. */
  roles: string[];
  maxTtlMs: number;
  /** Whether another person must approve the grant, and who may approve (grants and held statements). */
  approval: { required: boolean; groups: string[] };
}
