import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import path from 'node:path';
import {
  boolean,
  ConfigError,
  checkKeys,
  type Ctx,
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
  parseYaml,
  resolvePath,
  suggestion,
} from '../config/fields.js';
import {
  DEFAULT_ADMIN_URL_ENV,
  DEFAULT_CONNECTION_LIMIT,
  MAX_CONNECTION_LIMIT,
  MIN_TTL_MS,
  parseRoles,
  parseTls,
  parseUpstream,
  TARGET_NAME,
} from '../config/schema.js';
import type {
  BrokerConfig,
  BrokerTarget,
  GrantRule,
  ListenConfig,
  SubjectMatch,
  TrustedIssuer,
} from './config-types.js';

const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_PORT = 8443;
const DEFAULT_STATE_URL_ENV = 'JIT_BROKER_STATE_URL';
const DEFAULT_CLAIMS = { email: 'email', groups: 'groups', name: 'preferred_username' } as const;
const DEFAULT_TARGET_MAX_TTL_MS = 8 * 3_600_000;
const DEFAULT_RULE_MAX_TTL_MS = 3_600_000;
const DEFAULT_REAPER_INTERVAL_MS = 30_000;
const DEFAULT_HEARTBEAT_TIMEOUT_MS = 90_000;
const DEFAULT_PENDING_TIMEOUT_MS = 15 * 60_000;
/** Open grants (pending, approved or active) one caller may have at a time. */
const DEFAULT_OPEN_GRANTS = 10;
const MAX_OPEN_GRANTS = 1000;
const DEFAULT_GRANT_REQUESTS = 30;
const MAX_GRANT_REQUESTS = 10_000;
const DEFAULT_GRANT_REQUESTS_PER_MS = 60_000;
const MAX_GRANT_REQUESTS_PER_MS = 3_600_000;
/** Shorter timers would make the reaper spin or end healthy grants between two heartbeats. */
const MIN_TIMER_MS = 1_000;
const ALL_TARGETS = '*';

const KEYS = {
  root: ['listen', 'state', 'issuers', 'targets', 'rules', 'admins', 'reaper', 'approval', 'limits'],
  listen: ['host', 'port', 'tls', 'behind_proxy'],
  listenTls: ['cert', 'key'],
  state: ['url_env'],
  issuer: ['issuer', 'audience', 'ca', 'claims'],
  claims: ['email', 'groups', 'name'],
  target: ['upstream', 'tls', 'admin_url_env', 'connection_limit', 'max_ttl'],
  rule: ['name', 'who', 'targets', 'roles', 'max_ttl', 'approval'],
  subject: ['issuers', 'groups', 'emails', 'subs', 'claims'],
  ruleApproval: ['required', 'groups'],
  reaper: ['interval', 'heartbeat_timeout'],
  approval: ['pending_timeout'],
  limits: ['open_grants', 'grant_requests'],
  grantRequests: ['max', 'per'],
} as const;

/** Reads and validates broker.yaml (`jit broker --config FILE`); every problem is a ConfigError naming the file. */
export async function loadBrokerConfig(file: string): Promise<BrokerConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new ConfigError('config_not_found', `broker config file not found: ${path.resolve(file)}`, {
        hint: 'check the path given to `jit broker --config`',
        cause: error,
      });
    }
    const reason = code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : code;
    throw new ConfigError(
      'config_unreadable',
      `cannot read broker config file ${file}: ${reason ?? String(error)}`,
      {
        cause: error,
      },
    );
  }
  return parseBrokerConfig(parseYaml(text, file), file);
}

/**
 * Validates an already-parsed broker.yaml document: defaults applied, paths made absolute against
 * the file's directory. Errors name `file` and the key path (`broker.yaml: rules[1].max_ttl: …`).
 */
export function parseBrokerConfig(doc: unknown, file: string): BrokerConfig {
  const absFile = path.resolve(file);
  const ctx: Ctx = { label: file, baseDir: path.dirname(absFile) };
  if (doc === null || doc === undefined) {
    throw new ConfigError(
      'invalid_config',
      `${file}: the file is empty; expected a mapping with \`issuers\`, \`targets\` and \`rules\``,
    );
  }
  const root = mapping(ctx, '', doc);
  checkKeys(ctx, '', root, KEYS.root);

  const listen = parseListen(ctx, root.listen ?? {});
  const state = mapping(ctx, 'state', root.state ?? {});
  checkKeys(ctx, 'state', state, KEYS.state);
  const issuers = parseIssuers(ctx, root.issuers);
  const targets = parseTargets(ctx, root.targets);
  const admins =
    root.admins === undefined ? {} : parseSubject(ctx, 'admins', root.admins, issuers, { allowAny: false });
  const rules = parseRules(ctx, root.rules, { issuers, targets, haveAdmins: root.admins !== undefined });

  const reaper = mapping(ctx, 'reaper', root.reaper ?? {});
  checkKeys(ctx, 'reaper', reaper, KEYS.reaper);
  const approval = mapping(ctx, 'approval', root.approval ?? {});
  checkKeys(ctx, 'approval', approval, KEYS.approval);
  const limits = mapping(ctx, 'limits', root.limits ?? {});
  checkKeys(ctx, 'limits', limits, KEYS.limits);
  const grantRequests = mapping(ctx, 'limits.grant_requests', limits.grant_requests ?? {});
  checkKeys(ctx, 'limits.grant_requests', grantRequests, KEYS.grantRequests);
  const grantRequestsPerMs = timer(
    ctx,
    'limits.grant_requests.per',
    grantRequests.per,
    DEFAULT_GRANT_REQUESTS_PER_MS,
  );
  if (grantRequestsPerMs > MAX_GRANT_REQUESTS_PER_MS)
    fail(ctx, 'limits.grant_requests.per', 'must be at most 1h');

  return {
    path: absFile,
    listen,
    state: { urlEnv: envName(ctx, 'state.url_env', state.url_env ?? DEFAULT_STATE_URL_ENV) },
    issuers,
    targets,
    rules,
    admins,
    reaper: {
      intervalMs: timer(ctx, 'reaper.interval', reaper.interval, DEFAULT_REAPER_INTERVAL_MS),
      heartbeatTimeoutMs: timer(
        ctx,
        'reaper.heartbeat_timeout',
        reaper.heartbeat_timeout,
        DEFAULT_HEARTBEAT_TIMEOUT_MS,
      ),
    },
    approval: {
      pendingTimeoutMs: timer(
        ctx,
        'approval.pending_timeout',
        approval.pending_timeout,
        DEFAULT_PENDING_TIMEOUT_MS,
      ),
    },
    limits: {
      openGrants: integer(
        ctx,
        'limits.open_grants',
        limits.open_grants ?? DEFAULT_OPEN_GRANTS,
        1,
        MAX_OPEN_GRANTS,
      ),
      grantRequests: {
        max: integer(
          ctx,
          'limits.grant_requests.max',
          grantRequests.max ?? DEFAULT_GRANT_REQUESTS,
          1,
          MAX_GRANT_REQUESTS,
        ),
        perMs: grantRequestsPerMs,
      },
    },
  };
}

function parseListen(ctx: Ctx, raw: unknown): ListenConfig {
  const listen = mapping(ctx, 'listen', raw);
  checkKeys(ctx, 'listen', listen, KEYS.listen);
  const host = nonEmptyString(ctx, 'listen.host', listen.host ?? DEFAULT_HOST);
  if (isIP(host) === 0 && !HOSTNAME.test(host)) {
    fail(ctx, 'listen.host', `must be a hostname or an IP address such as 0.0.0.0 (got ${describe(host)})`);
  }
  const port = integer(ctx, 'listen.port', listen.port ?? DEFAULT_PORT, 0, 65_535);
  const behindProxy = boolean(ctx, 'listen.behind_proxy', listen.behind_proxy ?? false);
  let tls: ListenConfig['tls'];
  if (listen.tls !== undefined) {
    const files = mapping(ctx, 'listen.tls', listen.tls, 'a mapping `{ cert: FILE, key: FILE }`');
    checkKeys(ctx, 'listen.tls', files, KEYS.listenTls);
    for (const key of KEYS.listenTls) {
      if (files[key] === undefined)
        fail(ctx, `listen.tls.${key}`, 'required (a PEM file): give both cert and key');
    }
    tls = {
      cert: resolvePath(ctx, nonEmptyString(ctx, 'listen.tls.cert', files.cert)),
      key: resolvePath(ctx, nonEmptyString(ctx, 'listen.tls.key', files.key)),
    };
  }
  if (tls === undefined && !behindProxy && !LOOPBACK_HOSTS.has(host)) {
    fail(
      ctx,
      'listen.host',
      'the broker hands out database credentials: serve it over TLS (listen.tls) or set listen.behind_proxy: true when a proxy terminates TLS',
    );
  }
  return { host, port, ...(tls && { tls }), behindProxy };
}

function parseIssuers(ctx: Ctx, raw: unknown): TrustedIssuer[] {
  const list = nonEmptyList(
    ctx,
    'issuers',
    raw,
    'at least one token issuer, e.g. `- issuer: https://idp.example.com`',
  );
  const seen: string[] = [];
  return list.map((item, i) => {
    const keyPath = `issuers[${i}]`;
    const entry = mapping(ctx, keyPath, item);
    checkKeys(ctx, keyPath, entry, KEYS.issuer);
    if (entry.issuer === undefined)
      fail(ctx, `${keyPath}.issuer`, 'required (the issuer URL its tokens carry in `iss`)');
    const issuer = httpUrl(ctx, `${keyPath}.issuer`, entry.issuer);
    if (seen.includes(trimSlash(issuer))) fail(ctx, `${keyPath}.issuer`, `${issuer} is listed twice`);
    seen.push(trimSlash(issuer));
    if (entry.audience === undefined) {
      fail(
        ctx,
        `${keyPath}.audience`,
        'required (the audience its tokens must carry, e.g. the CLI client id)',
      );
    }
    const claims = mapping(ctx, `${keyPath}.claims`, entry.claims ?? {});
    checkKeys(ctx, `${keyPath}.claims`, claims, KEYS.claims);
    return {
      issuer,
      audiences: stringList(ctx, `${keyPath}.audience`, entry.audience),
      ...(entry.ca !== undefined && { ca: resolvePath(ctx, nonEmptyString(ctx, `${keyPath}.ca`, entry.ca)) }),
      claims: {
        email: nonEmptyString(ctx, `${keyPath}.claims.email`, claims.email ?? DEFAULT_CLAIMS.email),
        groups: nonEmptyString(ctx, `${keyPath}.claims.groups`, claims.groups ?? DEFAULT_CLAIMS.groups),
        name: nonEmptyString(ctx, `${keyPath}.claims.name`, claims.name ?? DEFAULT_CLAIMS.name),
      },
    };
  });
}

function parseTargets(ctx: Ctx, raw: unknown): Record<string, BrokerTarget> {
  if (raw === undefined) fail(ctx, 'targets', 'required: define at least one target');
  const rawTargets = mapping(ctx, 'targets', raw);
  const names = Object.keys(rawTargets);
  if (names.length === 0) fail(ctx, 'targets', 'define at least one target');
  // A null prototype so names like `constructor` or `__proto__` can never resolve to something else.
  const targets = Object.create(null) as Record<string, BrokerTarget>;
  for (const name of names) {
    const keyPath = joinKey('targets', name);
    if (!TARGET_NAME.test(name)) {
      fail(ctx, keyPath, 'target names may only contain letters, digits, `_`, `.` and `-`');
    }
    targets[name] = parseTarget(ctx, keyPath, name, rawTargets[name]);
  }
  return targets;
}

function parseTarget(ctx: Ctx, keyPath: string, name: string, raw: unknown): BrokerTarget {
  const target = mapping(ctx, keyPath, raw);
  checkKeys(ctx, keyPath, target, KEYS.target);
  if (target.upstream === undefined) {
    fail(ctx, `${keyPath}.upstream`, 'required, e.g. postgres://db.internal:5432/app');
  }
  const upstream = parseUpstream(ctx, `${keyPath}.upstream`, target.upstream);
  const adminPath = `${keyPath}.admin_url_env`;
  const adminUrlEnv = nonEmptyString(ctx, adminPath, target.admin_url_env ?? DEFAULT_ADMIN_URL_ENV);
  if (adminUrlEnv.startsWith('keyring:')) {
    fail(ctx, adminPath, 'keyring: is not available to the broker (a server): name an environment variable');
  }
  return {
    name,
    upstream,
    tls: parseTls(ctx, `${keyPath}.tls`, target.tls, upstream.host),
    adminUrlEnv: envName(ctx, adminPath, adminUrlEnv),
    connectionLimit:
      target.connection_limit === undefined
        ? DEFAULT_CONNECTION_LIMIT
        : integer(ctx, `${keyPath}.connection_limit`, target.connection_limit, 1, MAX_CONNECTION_LIMIT),
    maxTtlMs: maxTtl(ctx, `${keyPath}.max_ttl`, target.max_ttl, DEFAULT_TARGET_MAX_TTL_MS),
  };
}

function parseRules(
  ctx: Ctx,
  raw: unknown,
  known: { issuers: TrustedIssuer[]; targets: Record<string, BrokerTarget>; haveAdmins: boolean },
): GrantRule[] {
  const list = nonEmptyList(ctx, 'rules', raw, 'at least one grant rule (the first that matches decides)');
  const names: string[] = [];
  return list.map((item, i) => {
    const keyPath = `rules[${i}]`;
    const rule = mapping(ctx, keyPath, item);
    checkKeys(ctx, keyPath, rule, KEYS.rule);
    if (rule.name === undefined)
      fail(ctx, `${keyPath}.name`, 'required (it names the rule in grants and audit records)');
    const name = nonEmptyString(ctx, `${keyPath}.name`, rule.name);
    if (names.includes(name))
      fail(ctx, `${keyPath}.name`, `'${name}' is already the name of rules[${names.indexOf(name)}]`);
    names.push(name);
    if (rule.who === undefined)
      fail(ctx, `${keyPath}.who`, 'required: `who: any` or e.g. `who: { groups: [developers] }`');
    if (rule.targets === undefined)
      fail(ctx, `${keyPath}.targets`, "required: target names, or ['*'] for all");
    const roles = parseRoles(ctx, `${keyPath}.roles`, rule.roles);
    if (roles.length === 0)
      fail(ctx, `${keyPath}.roles`, 'required: the roles this rule may grant (at least one)');
    return {
      name,
      who: parseSubject(ctx, `${keyPath}.who`, rule.who, known.issuers, { allowAny: true }),
      targets: ruleTargets(ctx, `${keyPath}.targets`, rule.targets, known.targets),
      roles,
      maxTtlMs: maxTtl(ctx, `${keyPath}.max_ttl`, rule.max_ttl, DEFAULT_RULE_MAX_TTL_MS),
      approval: ruleApproval(ctx, `${keyPath}.approval`, rule.approval, known.haveAdmins),
    };
  });
}

function ruleTargets(
  ctx: Ctx,
  keyPath: string,
  raw: unknown,
  targets: Record<string, BrokerTarget>,
): string[] {
  const names = stringList(ctx, keyPath, raw);
  const known = Object.keys(targets);
  names.forEach((name, i) => {
    if (name === ALL_TARGETS) {
      if (names.length > 1) fail(ctx, `${keyPath}[${i}]`, "'*' already covers every target: list it alone");
      return;
    }
    if (!Object.hasOwn(targets, name)) {
      fail(ctx, `${keyPath}[${i}]`, `no target named '${name}'${suggestion(name, known)}`, {
        hint: `targets defined in this file: ${known.join(', ')}`,
      });
    }
  });
  return names;
}

function ruleApproval(ctx: Ctx, keyPath: string, raw: unknown, haveAdmins: boolean): GrantRule['approval'] {
  if (raw === undefined) return { required: false, groups: [] };
  const approval = mapping(ctx, keyPath, raw, 'a mapping like `{ groups: [dba] }`');
  checkKeys(ctx, keyPath, approval, KEYS.ruleApproval);
  // `groups: []` is allowed: with `required: true` the admins approve.
  const noGroups =
    approval.groups === undefined || (Array.isArray(approval.groups) && approval.groups.length === 0);
  const groups = noGroups ? [] : stringList(ctx, `${keyPath}.groups`, approval.groups);
  // Writing `approval:` means the grant needs one unless `required: false` says otherwise.
  const required =
    approval.required === undefined ? true : boolean(ctx, `${keyPath}.required`, approval.required);
  if (required && groups.length === 0 && !haveAdmins) {
    fail(ctx, `${keyPath}.groups`, 'nobody could approve: name the approver groups, or define `admins`');
  }
  return { required, groups };
}

/** `who:` of a rule (`any` or a mapping) or `admins:` (a mapping only). */
function parseSubject(
  ctx: Ctx,
  keyPath: string,
  raw: unknown,
  issuers: TrustedIssuer[],
  options: { allowAny: boolean },
): SubjectMatch {
  if (raw === 'any') {
    if (options.allowAny) return { any: true };
    fail(ctx, keyPath, '`any` is not allowed here: name the groups, emails or subjects');
  }
  const who = mapping(
    ctx,
    keyPath,
    raw,
    options.allowAny
      ? '`any` or a mapping like `{ groups: [developers] }`'
      : 'a mapping like `{ groups: [admins] }`',
  );
  checkKeys(ctx, keyPath, who, KEYS.subject);
  if (Object.keys(who).length === 0) {
    const instead = options.allowAny ? 'use `who: any` to match every caller, or give' : 'give';
    fail(ctx, keyPath, `matches nobody: ${instead} one of ${KEYS.subject.join(', ')}`);
  }
  const match: SubjectMatch = {};
  if (who.issuers !== undefined) {
    const known = issuers.map((i) => i.issuer);
    match.issuers = stringList(ctx, `${keyPath}.issuers`, who.issuers).map((issuer, i) => {
      if (!known.some((k) => trimSlash(k) === trimSlash(issuer))) {
        fail(
          ctx,
          `${keyPath}.issuers[${i}]`,
          `${issuer} is not one of the trusted \`issuers\`${suggestion(issuer, known)}`,
        );
      }
      return issuer;
    });
  }
  if (who.groups !== undefined) match.groups = stringList(ctx, `${keyPath}.groups`, who.groups);
  if (who.emails !== undefined) {
    match.emails = stringList(ctx, `${keyPath}.emails`, who.emails).map((email, i) =>
      glob(ctx, `${keyPath}.emails[${i}]`, email),
    );
  }
  if (who.subs !== undefined) match.subs = stringList(ctx, `${keyPath}.subs`, who.subs);
  if (who.claims !== undefined) {
    const claims = mapping(ctx, `${keyPath}.claims`, who.claims, 'a mapping of claim → accepted values');
    if (Object.keys(claims).length === 0)
      fail(ctx, `${keyPath}.claims`, 'give at least one claim, or remove the key');
    match.claims = Object.create(null) as Record<string, string[]>;
    for (const [claim, values] of Object.entries(claims)) {
      const claimPath = joinKey(`${keyPath}.claims`, claim);
      match.claims[claim] = stringList(ctx, claimPath, values, { scalars: true }).map((value, i) =>
        glob(ctx, `${claimPath}[${i}]`, value),
      );
    }
  }
  return match;
}

// ---- small validators specific to broker.yaml ----

/** `*` is the only wildcard: a `?` or `[…]` meant as one would silently never match. */
function glob(ctx: Ctx, keyPath: string, value: string): string {
  if (/[?[\]]/.test(value)) {
    fail(
      ctx,
      keyPath,
      `only \`*\` is a wildcard here; \`?\` and \`[…]\` are not supported (got ${describe(value)})`,
    );
  }
  return value;
}

/**
 * A list of non-empty strings, or a single string as a one-item list. With `scalars`, numbers and
 * booleans are accepted as their text (YAML reads `[12345]` or `[true]` as such, claims carry them too).
 */
function stringList(ctx: Ctx, keyPath: string, raw: unknown, options: { scalars?: boolean } = {}): string[] {
  const items = typeof raw === 'string' ? [raw] : raw;
  if (!Array.isArray(items)) fail(ctx, keyPath, `expected a list of strings (got ${describe(raw)})`);
  if (items.length === 0)
    fail(ctx, keyPath, 'must not be an empty list: give at least one value, or remove the key');
  return items.map((item: unknown, i) => {
    const value =
      options.scalars && (typeof item === 'number' || typeof item === 'boolean') ? String(item) : item;
    return nonEmptyString(ctx, `${keyPath}[${i}]`, value);
  });
}

function nonEmptyList(ctx: Ctx, keyPath: string, raw: unknown, what: string): unknown[] {
  if (raw === undefined) fail(ctx, keyPath, `required: ${what}`);
  if (!Array.isArray(raw)) fail(ctx, keyPath, `expected a list (got ${describe(raw)})`);
  if (raw.length === 0) fail(ctx, keyPath, `give ${what}`);
  return raw;
}

function envName(ctx: Ctx, keyPath: string, raw: unknown): string {
  const name = nonEmptyString(ctx, keyPath, raw);
  if (!ENV_NAME.test(name))
    fail(ctx, keyPath, `must be an environment variable name (got ${describe(name)})`);
  return name;
}

function maxTtl(ctx: Ctx, keyPath: string, raw: unknown, fallback: number): number {
  if (raw === undefined) return fallback;
  const ms = duration(ctx, keyPath, raw);
  if (ms < MIN_TTL_MS) fail(ctx, keyPath, 'must be at least 10s');
  return ms;
}

function timer(ctx: Ctx, keyPath: string, raw: unknown, fallback: number): number {
  if (raw === undefined) return fallback;
  const ms = duration(ctx, keyPath, raw);
  if (ms < MIN_TIMER_MS) fail(ctx, keyPath, 'must be at least 1s');
  return ms;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
