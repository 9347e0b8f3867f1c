import path from 'node:path';
import { parseDuration } from '../util/duration.js';
import { JitError } from '../util/errors.js';

/** Any problem finding, reading, validating or applying jit's configuration. */
export class ConfigError extends JitError {}

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
  broker?: { url: string };
  /** Opaque for now (a later issue defines it); `path`, when a string, is made absolute. */
  audit?: Record<string, unknown>;
}

const TLS_MODES: readonly TlsMode[] = ['disable', 'require', 'verify-ca', 'verify-full'];
const DEFAULT_TTL_MS = 15 * 60_000;
const DEFAULT_MAX_TTL_MS = 60 * 60_000;
/** Shorter grants would expire before a typical tool has connected. */
export const MIN_TTL_MS = 10_000;
const DEFAULT_CONNECTION_LIMIT = 50;
const MAX_CONNECTION_LIMIT = 10_000;
const DEFAULT_ADMIN_URL_ENV = 'JIT_ADMIN_URL';
/** PostgreSQL truncates longer identifiers (NAMEDATALEN - 1), which could name a different role. */
const MAX_IDENTIFIER_BYTES = 63;
const TARGET_NAME = /^[A-Za-z0-9_.-]+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const KEYRING_REF = /^keyring:.+$/;
const HOSTNAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/;
const IPV6_HOST = /^\[[0-9A-Fa-f:.]+\]$/;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);

const KEYS = {
  root: ['identity', 'oidc', 'default_target', 'targets', 'broker', 'audit'],
  oidc: ['issuer', 'client_id', 'ca', 'audience', 'ci_issuers'],
  broker: ['url'],
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

function parseBroker(ctx: Ctx, raw: unknown): { url: string } {
  const broker = mapping(ctx, 'broker', raw);
  checkKeys(ctx, 'broker', broker, KEYS.broker);
  if (broker.url === undefined) fail(ctx, 'broker.url', 'required');
  return { url: httpUrl(ctx, 'broker.url', broker.url) };
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

/** Never echoes the value: a misplaced password must not end up in a terminal or a log. */
function parseUpstream(ctx: Ctx, keyPath: string, raw: unknown): UpstreamConfig {
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

function parseTls(ctx: Ctx, keyPath: string, raw: unknown, host: string): TlsConfig {
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

  let connectionLimit = DEFAULT_CONNECTION_LIMIT;
  if (grant.connection_limit !== undefined) {
    const limit = grant.connection_limit;
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_CONNECTION_LIMIT) {
      fail(ctx, `${keyPath}.connection_limit`, `must be an integer from 1 to ${MAX_CONNECTION_LIMIT}`);
    }
    connectionLimit = limit;
  }

  return {
    via,
    adminUrlEnv,
    roles: parseRoles(ctx, `${keyPath}.roles`, grant.roles),
    ttlMs,
    maxTtlMs,
    connectionLimit,
  };
}

function parseRoles(ctx: Ctx, keyPath: string, raw: unknown): string[] {
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

// ---- small validators: each throws a ConfigError naming the file and the key path ----

interface Ctx {
  label: string;
  baseDir: string;
}

function fail(ctx: Ctx, keyPath: string, message: string, options: { hint?: string } = {}): never {
  const where = keyPath === '' ? ctx.label : `${ctx.label}: ${keyPath}`;
  throw new ConfigError('invalid_config', `${where}: ${message}`, options);
}

function joinKey(parent: string, key: string): string {
  const part = /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
  return parent === '' ? part : `${parent}.${part}`;
}

function mapping(ctx: Ctx, keyPath: string, raw: unknown, expected = 'a mapping'): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    fail(ctx, keyPath, `expected ${expected} (got ${describe(raw)})`);
  }
  return raw as Record<string, unknown>;
}

function checkKeys(
  ctx: Ctx,
  keyPath: string,
  obj: Record<string, unknown>,
  allowed: readonly string[],
): void {
  for (const key of Object.keys(obj)) {
    if (allowed.includes(key)) continue;
    const close = suggestion(key, allowed);
    fail(ctx, joinKey(keyPath, key), `unknown key${close || `; expected one of: ${allowed.join(', ')}`}`);
  }
}

function string(ctx: Ctx, keyPath: string, raw: unknown): string {
  if (typeof raw !== 'string') fail(ctx, keyPath, `expected a string (got ${describe(raw)})`);
  return raw;
}

function nonEmptyString(ctx: Ctx, keyPath: string, raw: unknown): string {
  const value = string(ctx, keyPath, raw);
  if (value.trim() === '') fail(ctx, keyPath, 'must not be empty');
  return value;
}

function oneOf<T extends string>(ctx: Ctx, keyPath: string, raw: unknown, allowed: readonly T[]): T {
  if (typeof raw === 'string' && (allowed as readonly string[]).includes(raw)) return raw as T;
  const close = typeof raw === 'string' ? suggestion(raw, allowed) : '';
  return fail(ctx, keyPath, `must be one of ${allowed.join(' | ')} (got ${describe(raw)})${close}`);
}

function duration(ctx: Ctx, keyPath: string, raw: unknown): number {
  if (typeof raw === 'string') {
    try {
      return parseDuration(raw);
    } catch {
      // fall through to the message below, which names the key
    }
  }
  return fail(ctx, keyPath, `must be a duration like 90s, 15m or 1h30m (got ${describe(raw)})`);
}

/** An https URL, or plain http only to this machine (a local IdP or broker during development). */
function httpUrl(ctx: Ctx, keyPath: string, raw: unknown): string {
  const written = nonEmptyString(ctx, keyPath, raw);
  let url: URL;
  try {
    url = new URL(written);
  } catch {
    return fail(ctx, keyPath, 'not a valid URL');
  }
  const local = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) {
    fail(ctx, keyPath, 'must be an https:// URL (http:// only for 127.0.0.1 or localhost)');
  }
  if (url.username !== '' || url.password !== '') fail(ctx, keyPath, 'must not contain credentials');
  if (url.search !== '' || url.hash !== '') fail(ctx, keyPath, 'must not have a query or fragment');
  return written;
}

function resolvePath(ctx: Ctx, p: string): string {
  return path.resolve(ctx.baseDir, p);
}

function describe(raw: unknown): string {
  if (raw === null || raw === undefined) return 'nothing';
  if (Array.isArray(raw)) return 'a list';
  if (typeof raw === 'object') return 'a mapping';
  if (typeof raw === 'string') return JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw);
  return String(raw);
}

/** ` (did you mean X?)` when `input` is a likely typo of one of `candidates`, else ''. */
export function suggestion(input: string, candidates: readonly string[]): string {
  const norm = (s: string): string => s.toLowerCase().replace(/[-_]/g, '');
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d =
      norm(input) === norm(candidate) ? 0 : editDistance(input.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  const limit = Math.min(2, Math.floor(input.length / 3));
  return best !== undefined && bestDistance <= limit && best !== input ? ` (did you mean ${best}?)` : '';
}

/** Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent swaps. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => rows[i]?.[j] ?? Infinity;
  for (let i = 1; i <= a.length; i++) {
    const row = rows[i] as number[];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, at(i - 2, j - 2) + 1);
      row[j] = d;
    }
  }
  return at(a.length, b.length);
}
