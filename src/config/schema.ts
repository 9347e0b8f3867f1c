import path from 'node:path';
import {
  ConfigError,
  type Ctx,
  checkKeys,
  describe,
  duration,
  ENV_NAME,
  fail,
  HOSTNAME,
  httpUrl,
  integer,
  joinKey,
  LOOPBACK_HOSTS,
  mapping,
  nonEmptyString,
  oneOf,
  resolvePath,
  string,
  suggestion,
} from './fields.js';

// Re-exported: callers have always imported these from here.
export { ConfigError, suggestion };

/** How jit's proxy talks TLS to the upstream server (libpq `sslmode` names). */
export type TlsMode = 'disable' | 'require' | 'verify-ca' | 'verify-full';

/** TLS towards the upstream; `ca` is absolute, resolved relative to the config file's directory. */
export interface TlsConfig {
  mode: TlsMode;
  ca?: string;
}

/** How a target's temporary login roles are issued. */
export interface GrantConfig {
  via: 'direct' | 'broker';
  /** An environment variable name, or `keyring:NAME` (OS keyring, service `jit`, account NAME). */
  adminUrlEnv: string;
  roles: string[];
  ttlMs: number;
  maxTtlMs: number;
  connectionLimit: number;
}

/** The upstream server, parsed from a credential-free `postgres://host:port/db` URL. */
export interface UpstreamConfig {
  host: string;
  port: number;
  database: string;
  /** The URL as written in the config file. */
  url: string;
}

/** One named database jit can grant access to. */
export interface TargetConfig {
  name: string;
  upstream: UpstreamConfig;
  tls: TlsConfig;
  grant: GrantConfig;
  /** Absolute path of the policy file; the built-in default policy when absent. */
  policy?: string;
}

/** The identity provider `jit login` uses, and what CI tokens must look like. */
export interface OidcConfig {
  issuer: string;
  clientId: string;
  /** Absolute path of an extra CA certificate (PEM) to trust for the issuer, added to the system roots. */
  ca?: string;
  /** The audience CI tokens must carry (JIT_ID_TOKEN, GitHub Actions, client credentials); default clientId. */
  audience?: string;
  /** Further issuers whose tokens are accepted for CI jobs, e.g. https://token.actions.githubusercontent.com. */
  ciIssuers: string[];
}

/** The validated contents of jit.yaml, with every default applied and every path absolute. */
export interface JitConfig {
  /** Absolute path of the file it came from; undefined when not read from a file. */
  path: string | undefined;
  identity: 'oidc' | 'os-user';
  oidc?: OidcConfig;
  defaultTarget?: string;
  targets: Record<string, TargetConfig>;
  broker?: { url: string; ca?: string };
  /** Opaque for now (a later issue defines it); `path`, when a string, is made absolute. */
  audit?: Record<string, unknown>;
}

const TLS_MODES: readonly TlsMode[] = ['disable', 'require', 'verify-ca', 'verify-full'];
const DEFAULT_TTL_MS = 15 * 60_000;
const DEFAULT_MAX_TTL_MS = 60 * 60_000;
/** Shorter grants would expire before a typical tool has connected. */
export const MIN_TTL_MS = 10_000;
/** Default `connection_limit` of a temporary role. */
export const DEFAULT_CONNECTION_LIMIT = 50;
/** Largest accepted `connection_limit`. */
export const MAX_CONNECTION_LIMIT = 10_000;
/** Default `admin_url_env`: the variable holding the admin DSN. */
export const DEFAULT_ADMIN_URL_ENV = 'JIT_ADMIN_URL';
/** PostgreSQL truncates longer identifiers (NAMEDATALEN - 1), which could name a different role. */
const MAX_IDENTIFIER_BYTES = 63;
/** What a target name may contain (it ends up in role comments, audit records and URLs). */
export const TARGET_NAME = /^[A-Za-z0-9_.-]+$/;
const KEYRING_REF = /^keyring:.+$/;
const IPV6_HOST = /^\[[0-9A-Fa-f:.]+\]$/;

const KEYS = {
  root: ['identity', 'oidc', 'default_target', 'targets', 'broker', 'audit'],
  oidc: ['issuer', 'client_id', 'ca', 'audience', 'ci_issuers'],
  broker: ['url', 'ca'],
  target: ['upstream', 'tls', 'grant', 'policy'],
  tls: ['mode', 'ca'],
  grant: ['via', 'admin_url_env', 'roles', 'ttl', 'max_ttl', 'connection_limit'],
} as const;

/**
 * Validates an already-parsed YAML document (exported for tests and for `jit doctor`).
 * `file` anchors relative paths (the current directory when undefined); `label` is how errors
 * name the file (defaults to `file`).
 */
export function parseConfig(doc: unknown, file: string | undefined, label?: string): JitConfig {
  const absFile = file === undefined ? undefined : path.resolve(file);
  const ctx: Ctx = {
    label: label ?? file ?? 'config',
    baseDir: absFile === undefined ? process.cwd() : path.dirname(absFile),
  };
  if (doc === null || doc === undefined) {
    throw new ConfigError(
      'invalid_config',
      `${ctx.label}: the file is empty; expected a mapping with \`targets\``,
    );
  }
  const root = mapping(ctx, '', doc);
  checkKeys(ctx, '', root, KEYS.root);

  const identity = oneOf(ctx, 'identity', root.identity ?? 'oidc', ['oidc', 'os-user'] as const);
  const oidc = root.oidc === undefined ? undefined : parseOidc(ctx, root.oidc);
  if (identity === 'oidc' && oidc === undefined) {
    fail(ctx, 'oidc', 'required when identity is oidc (the default)', {
      hint: 'add `oidc: { issuer: https://…, client_id: … }`, or set `identity: os-user` for local development',
    });
  }
  const broker = root.broker === undefined ? undefined : parseBroker(ctx, root.broker);

  if (root.targets === undefined) fail(ctx, 'targets', 'required: define at least one target');
  const rawTargets = mapping(ctx, 'targets', root.targets);
  const names = Object.keys(rawTargets);
  if (names.length === 0) fail(ctx, 'targets', 'define at least one target');
  // A null prototype so names like `constructor` or `__proto__` can never resolve to something else.
  const targets: Record<string, TargetConfig> = Object.create(null) as Record<string, TargetConfig>;
  for (const name of names) {
    const keyPath = joinKey('targets', name);
    if (!TARGET_NAME.test(name)) {
      fail(ctx, keyPath, 'target names may only contain letters, digits, `_`, `.` and `-`');
    }
    const target = parseTarget(ctx, keyPath, name, rawTargets[name]);
    if (target.grant.via === 'broker' && broker === undefined) {
      fail(ctx, `${keyPath}.grant.via`, 'via: broker requires a top-level `broker: { url: … }`');
    }
    targets[name] = target;
  }

  let defaultTarget: string | undefined;
  if (root.default_target !== undefined) {
    defaultTarget = string(ctx, 'default_target', root.default_target);
    if (!Object.hasOwn(targets, defaultTarget)) {
      fail(ctx, 'default_target', `no target named '${defaultTarget}'${suggestion(defaultTarget, names)}`, {
        hint: `known targets: ${names.join(', ')}`,
      });
    }
  }

  const audit = root.audit === undefined ? undefined : parseAudit(ctx, root.audit);

  return {
    path: absFile,
    identity,
    ...(oidc && { oidc }),
    ...(defaultTarget !== undefined && { defaultTarget }),
    targets,
    ...(broker && { broker }),
    ...(audit && { audit }),
  };
}

function parseOidc(ctx: Ctx, raw: unknown): OidcConfig {
  const oidc = mapping(ctx, 'oidc', raw);
  checkKeys(ctx, 'oidc', oidc, KEYS.oidc);
  if (oidc.issuer === undefined) fail(ctx, 'oidc.issuer', 'required (the identity provider URL)');
  if (oidc.client_id === undefined) fail(ctx, 'oidc.client_id', 'required');
  let ciIssuers: string[] = [];
  if (oidc.ci_issuers !== undefined) {
    if (!Array.isArray(oidc.ci_issuers))
      fail(ctx, 'oidc.ci_issuers', `expected a list of URLs, got ${describe(oidc.ci_issuers)}`);
    ciIssuers = oidc.ci_issuers.map((u: unknown, i: number) => httpUrl(ctx, `oidc.ci_issuers[${i}]`, u));
  }
  return {
    issuer: httpUrl(ctx, 'oidc.issuer', oidc.issuer),
    clientId: nonEmptyString(ctx, 'oidc.client_id', oidc.client_id),
    ...(oidc.ca !== undefined && { ca: resolvePath(ctx, nonEmptyString(ctx, 'oidc.ca', oidc.ca)) }),
    ...(oidc.audience !== undefined && { audience: nonEmptyString(ctx, 'oidc.audience', oidc.audience) }),
    ciIssuers,
  };
}

function parseBroker(ctx: Ctx, raw: unknown): { url: string; ca?: string } {
  const broker = mapping(ctx, 'broker', raw);
  checkKeys(ctx, 'broker', broker, KEYS.broker);
  if (broker.url === undefined) fail(ctx, 'broker.url', 'required');
  return {
    url: httpUrl(ctx, 'broker.url', broker.url),
    ...(broker.ca !== undefined && { ca: resolvePath(ctx, nonEmptyString(ctx, 'broker.ca', broker.ca)) }),
  };
}

function parseTarget(ctx: Ctx, keyPath: string, name: string, raw: unknown): TargetConfig {
  const target = mapping(ctx, keyPath, raw);
  checkKeys(ctx, keyPath, target, KEYS.target);
  if (target.upstream === undefined) {
    fail(ctx, `${keyPath}.upstream`, 'required, e.g. postgres://127.0.0.1:5432/app');
  }
  const upstream = parseUpstream(ctx, `${keyPath}.upstream`, target.upstream);
  const tls = parseTls(ctx, `${keyPath}.tls`, target.tls, upstream.host);
  const grant = parseGrant(ctx, `${keyPath}.grant`, target.grant ?? {});
  const policy =
    target.policy === undefined
      ? undefined
      : resolvePath(ctx, nonEmptyString(ctx, `${keyPath}.policy`, target.policy));
  return { name, upstream, tls, grant, ...(policy !== undefined && { policy }) };
}

/**
 * A credential-free `postgres://host:port/db` upstream URL (shared with broker.yaml's targets).
 * Never echoes the value: a misplaced password must not end up in a terminal or a log.
 */
export function parseUpstream(ctx: Ctx, keyPath: string, raw: unknown): UpstreamConfig {
  const written = string(ctx, keyPath, raw);
  const example = 'postgres://HOST:PORT/DATABASE';
  let url: URL;
  try {
    url = new URL(written);
  } catch {
    return fail(ctx, keyPath, `not a valid URL; expected ${example}`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    fail(ctx, keyPath, `must be a postgres:// or postgresql:// URL (${example})`);
  }
  const authority = /^[a-z]+:\/\/([^/?#]*)/i.exec(written)?.[1];
  if (authority === undefined) fail(ctx, keyPath, `must be of the form ${example}`);
  if (url.username !== '' || url.password !== '' || authority.includes('@')) {
    fail(ctx, keyPath, 'no credentials in upstream; the admin credential comes from admin_url_env', {
      hint: 'remove the user and password from the URL and put the admin URL in the variable admin_url_env names',
    });
  }
  if (url.search !== '' || written.includes('?')) {
    fail(ctx, keyPath, 'query parameters are not allowed (TLS is set by `tls`)');
  }
  if (url.hash !== '' || written.includes('#')) fail(ctx, keyPath, 'a URL fragment (#…) is not allowed');
  const host = url.hostname;
  if (host === '') fail(ctx, keyPath, `needs a host (${example})`);
  if (!HOSTNAME.test(host) && !IPV6_HOST.test(host)) {
    fail(ctx, keyPath, 'the host must be a single hostname or IP address (no unix sockets or host lists)');
  }
  const port = url.port === '' ? 5432 : Number(url.port);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) fail(ctx, keyPath, 'the port must be 1..65535');
  let database: string;
  try {
    database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  } catch {
    return fail(ctx, keyPath, 'the database name is not valid percent-encoding');
  }
  if (database === '' || url.pathname.slice(1).includes('/')) {
    fail(ctx, keyPath, `needs exactly one database name in the path (${example})`);
  }
  if (database.includes('\0')) fail(ctx, keyPath, 'the database name must not contain NUL');
  return { host: IPV6_HOST.test(host) ? host.slice(1, -1) : host, port, database, url: written };
}

/** `tls:` of a target: a mode or `{ mode, ca }`; absent → disable on loopback, else verify-full. */
export function parseTls(ctx: Ctx, keyPath: string, raw: unknown, host: string): TlsConfig {
  // Secure by default: plaintext only to a server on this machine.
  if (raw === undefined) return { mode: LOOPBACK_HOSTS.has(host) ? 'disable' : 'verify-full' };
  if (typeof raw === 'string') {
    const mode = oneOf(ctx, keyPath, raw, TLS_MODES);
    if (mode === 'verify-ca')
      fail(ctx, keyPath, 'verify-ca needs a CA file: use `{ mode: verify-ca, ca: ./ca.pem }`');
    return { mode };
  }
  const tls = mapping(ctx, keyPath, raw, 'a mode (disable | require | verify-ca | verify-full) or a mapping');
  checkKeys(ctx, keyPath, tls, KEYS.tls);
  if (tls.mode === undefined) fail(ctx, `${keyPath}.mode`, `required (${TLS_MODES.join(' | ')})`);
  const mode = oneOf(ctx, `${keyPath}.mode`, tls.mode, TLS_MODES);
  if (tls.ca === undefined) {
    if (mode === 'verify-ca') fail(ctx, `${keyPath}.ca`, 'required with verify-ca (the CA certificate file)');
    return { mode };
  }
  if (mode !== 'verify-ca' && mode !== 'verify-full') {
    fail(ctx, `${keyPath}.ca`, `only applies to verify-ca and verify-full, not ${mode}`);
  }
  return { mode, ca: resolvePath(ctx, nonEmptyString(ctx, `${keyPath}.ca`, tls.ca)) };
}

function parseGrant(ctx: Ctx, keyPath: string, raw: unknown): GrantConfig {
  const grant = mapping(ctx, keyPath, raw);
  checkKeys(ctx, keyPath, grant, KEYS.grant);
  const via = oneOf(ctx, `${keyPath}.via`, grant.via ?? 'direct', ['direct', 'broker'] as const);

  const adminUrlEnv = nonEmptyString(
    ctx,
    `${keyPath}.admin_url_env`,
    grant.admin_url_env ?? DEFAULT_ADMIN_URL_ENV,
  );
  if (!ENV_NAME.test(adminUrlEnv) && !KEYRING_REF.test(adminUrlEnv)) {
    fail(
      ctx,
      `${keyPath}.admin_url_env`,
      'must be an environment variable name (e.g. JIT_ADMIN_URL) or keyring:NAME',
    );
  }

  const maxTtlMs =
    grant.max_ttl === undefined ? DEFAULT_MAX_TTL_MS : duration(ctx, `${keyPath}.max_ttl`, grant.max_ttl);
  if (maxTtlMs < MIN_TTL_MS) fail(ctx, `${keyPath}.max_ttl`, 'must be at least 10s');
  // An explicit max_ttl below the default ttl lowers the default rather than failing.
  const ttlMs =
    grant.ttl === undefined ? Math.min(DEFAULT_TTL_MS, maxTtlMs) : duration(ctx, `${keyPath}.ttl`, grant.ttl);
  if (ttlMs < MIN_TTL_MS) fail(ctx, `${keyPath}.ttl`, 'must be at least 10s');
  if (ttlMs > maxTtlMs)
    fail(ctx, `${keyPath}.ttl`, `must not exceed max_ttl (${String(grant.max_ttl ?? '1h')})`);

  const connectionLimit =
    grant.connection_limit === undefined
      ? DEFAULT_CONNECTION_LIMIT
      : integer(ctx, `${keyPath}.connection_limit`, grant.connection_limit, 1, MAX_CONNECTION_LIMIT);

  return {
    via,
    adminUrlEnv,
    roles: parseRoles(ctx, `${keyPath}.roles`, grant.roles),
    ttlMs,
    maxTtlMs,
    connectionLimit,
  };
}

/** A list of distinct role names PostgreSQL will not truncate; absent → []. */
export function parseRoles(ctx: Ctx, keyPath: string, raw: unknown): string[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) fail(ctx, keyPath, `must be a list of role names (got ${describe(raw)})`);
  const roles: string[] = [];
  raw.forEach((role: unknown, i) => {
    const itemPath = `${keyPath}[${i}]`;
    if (typeof role !== 'string' || role === '')
      fail(ctx, itemPath, `must be a non-empty role name (got ${describe(role)})`);
    if (role.includes('\0')) fail(ctx, itemPath, 'must not contain NUL');
    if (Buffer.byteLength(role) > MAX_IDENTIFIER_BYTES) {
      fail(ctx, itemPath, `longer than ${MAX_IDENTIFIER_BYTES} bytes; PostgreSQL would truncate it`);
    }
    if (roles.includes(role)) fail(ctx, itemPath, `'${role}' is listed twice`);
    roles.push(role);
  });
  return roles;
}

function parseAudit(ctx: Ctx, raw: unknown): Record<string, unknown> {
  const audit = { ...mapping(ctx, 'audit', raw) };
  if (typeof audit.path === 'string' && audit.path !== '') audit.path = resolvePath(ctx, audit.path);
  return audit;
}
