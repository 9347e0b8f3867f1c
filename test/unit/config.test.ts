import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, parseConfigText } from '../../src/config/load.js';
import { ConfigError, parseConfig, type JitConfig, type TargetConfig } from '../../src/config/schema.js';
import { resolveAdminUrl, resolveTarget, resolveTtl } from '../../src/config/target.js';
import { JitError } from '../../src/util/errors.js';

const MINIMAL = `identity: os-user
targets:
  local:
    upstream: postgres://127.0.0.1:5432/app
`;

let dir: string;
beforeEach(async () => {
  dir = await realpath(await mkdtemp(path.join(tmpdir(), 'jit-config-')));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(relative: string, text: string): Promise<string> {
  const file = path.join(dir, relative);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text);
  return file;
}

type Doc = Record<string, unknown>;

function split(keyPath: string | string[]): string[] {
  return Array.isArray(keyPath) ? keyPath : keyPath.split('.');
}

function get(doc: Doc, keyPath: string | string[]): unknown {
  return split(keyPath).reduce<unknown>((node, key) => (node as Doc)[key], doc);
}

/** Sets (or with `del`, removes) one key of a parsed document, addressed like `targets.local.grant.ttl`. */
function set(doc: Doc, keyPath: string | string[], value: unknown): void {
  const keys = split(keyPath);
  (get(doc, keys.slice(0, -1)) as Doc)[keys.at(-1) as string] = value;
}

function del(doc: Doc, keyPath: string): void {
  const keys = split(keyPath);
  delete (get(doc, keys.slice(0, -1)) as Doc)[keys.at(-1) as string];
}

/** A fresh, valid document (as YAML would parse it) for tests to break one key at a time. */
function baseDoc(): Doc {
  return {
    identity: 'oidc',
    oidc: {
      issuer: 'https://idp.example.com',
      client_id: 'jit-cli',
      ca: './idp-ca.pem',
      audience: 'urn:jit',
      ci_issuers: ['https://token.actions.githubusercontent.com'],
    },
    default_target: 'local',
    targets: {
      local: {
        upstream: 'postgres://127.0.0.1:5432/app',
        tls: 'disable',
        grant: {
          via: 'direct',
          admin_url_env: 'JIT_ADMIN_URL',
          roles: ['app_rw'],
          ttl: '15m',
          max_ttl: '1h',
          connection_limit: 50,
        },
        policy: './policy.yaml',
      },
    },
    broker: { url: 'https://jit.example.com' },
    audit: { path: './audit.jsonl', mode: 'sync' },
  };
}

function parseDoc(doc: unknown): JitConfig {
  return parseConfig(doc, '/etc/jit/jit.yaml', 'jit.yaml');
}

/** Runs `fn`, asserts it throws a ConfigError, and returns it. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

async function configErrorAsync(promise: Promise<unknown>): Promise<ConfigError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

function target(overrides: Partial<TargetConfig['grant']> = {}, name = 'local'): TargetConfig {
  return {
    name,
    upstream: { host: '127.0.0.1', port: 5432, database: 'app', url: 'postgres://127.0.0.1:5432/app' },
    tls: { mode: 'disable' },
    grant: {
      via: 'direct',
      adminUrlEnv: 'JIT_ADMIN_URL',
      roles: [],
      ttlMs: 15 * 60_000,
      maxTtlMs: 60 * 60_000,
      connectionLimit: 50,
      ...overrides,
    },
  };
}

describe('parseConfig: the full example', () => {
  it('maps every key and resolves paths against the file directory', () => {
    const config = parseDoc(baseDoc());
    expect(config).toEqual({
      path: '/etc/jit/jit.yaml',
      identity: 'oidc',
      oidc: {
        issuer: 'https://idp.example.com',
        clientId: 'jit-cli',
        ca: '/etc/jit/idp-ca.pem',
        audience: 'urn:jit',
        ciIssuers: ['https://token.actions.githubusercontent.com'],
      },
      defaultTarget: 'local',
      targets: {
        local: {
          name: 'local',
          upstream: { host: '127.0.0.1', port: 5432, database: 'app', url: 'postgres://127.0.0.1:5432/app' },
          tls: { mode: 'disable' },
          grant: {
            via: 'direct',
            adminUrlEnv: 'JIT_ADMIN_URL',
            roles: ['app_rw'],
            ttlMs: 15 * 60_000,
            maxTtlMs: 60 * 60_000,
            connectionLimit: 50,
          },
          policy: '/etc/jit/policy.yaml',
        },
      },
      broker: { url: 'https://jit.example.com' },
      audit: { path: '/etc/jit/audit.jsonl', mode: 'sync' },
    });
  });
});

describe('parseConfig: defaults', () => {
  it('fills in identity, grant, port and tls', () => {
    const config = parseConfig(
      {
        oidc: { issuer: 'http://127.0.0.1:9000', client_id: 'c' },
        targets: { t: { upstream: 'postgresql://localhost/db' } },
      },
      '/x/jit.yaml',
    );
    expect(config.identity).toBe('oidc');
    expect(config.defaultTarget).toBeUndefined();
    expect(config.broker).toBeUndefined();
    expect(config.audit).toBeUndefined();
    const t = config.targets.t as TargetConfig;
    expect(t.upstream).toEqual({
      host: 'localhost',
      port: 5432,
      database: 'db',
      url: 'postgresql://localhost/db',
    });
    expect(t.tls).toEqual({ mode: 'disable' });
    expect(t.policy).toBeUndefined();
    expect(t.grant).toEqual({
      via: 'direct',
      adminUrlEnv: 'JIT_ADMIN_URL',
      roles: [],
      ttlMs: 15 * 60_000,
      maxTtlMs: 60 * 60_000,
      connectionLimit: 50,
    });
  });

  it('defaults tls to verify-full (system CAs) for a non-loopback host', () => {
    const config = parseConfigText(MINIMAL.replace('127.0.0.1:5432', 'db.example.com:6543'), '/x/jit.yaml');
    expect(config.targets.local?.tls).toEqual({ mode: 'verify-full' });
    expect(config.targets.local?.upstream.port).toBe(6543);
  });

  it('strips the brackets from an IPv6 host and decodes the database name', () => {
    const config = parseConfigText(
      MINIMAL.replace('127.0.0.1:5432/app', '[::1]:5433/my%20db'),
      '/x/jit.yaml',
    );
    expect(config.targets.local?.upstream).toMatchObject({ host: '::1', port: 5433, database: 'my db' });
    expect(config.targets.local?.tls.mode).toBe('disable');
  });

  it('lowers the default ttl to a smaller max_ttl instead of failing', () => {
    const doc = baseDoc();
    del(doc, 'targets.local.grant.ttl');
    set(doc, 'targets.local.grant.max_ttl', '10m');
    expect(parseDoc(doc).targets.local?.grant).toMatchObject({ ttlMs: 600_000, maxTtlMs: 600_000 });
  });

  it('accepts keyring:NAME, broker targets, verify-full without ca, and tls objects', () => {
    const doc = baseDoc();
    set(doc, 'targets.local.grant.admin_url_env', 'keyring:prod-admin');
    set(doc, 'targets.local.tls', { mode: 'verify-ca', ca: 'certs/ca.pem' });
    set(doc, 'targets.remote', {
      upstream: 'postgres://db.example.com/app',
      tls: { mode: 'verify-full' },
      grant: { via: 'broker' },
    });
    set(doc, ['targets', 'staging.eu-1'], {
      upstream: 'postgres://10.0.0.5/app',
      tls: 'require',
      grant: null,
    });
    const config = parseDoc(doc);
    expect(config.targets.local?.grant.adminUrlEnv).toBe('keyring:prod-admin');
    expect(config.targets.local?.tls).toEqual({ mode: 'verify-ca', ca: '/etc/jit/certs/ca.pem' });
    expect(config.targets.remote?.tls).toEqual({ mode: 'verify-full' });
    expect(config.targets.remote?.grant.via).toBe('broker');
    expect(config.targets['staging.eu-1']?.tls).toEqual({ mode: 'require' });
  });

  it('keeps absolute paths and opaque audit keys as written', () => {
    const doc = baseDoc();
    set(doc, 'targets.local.policy', '/srv/policy.yaml');
    set(doc, 'audit', { path: '/var/log/jit.jsonl', mode: 'async', extra: { nested: true } });
    const config = parseDoc(doc);
    expect(config.targets.local?.policy).toBe('/srv/policy.yaml');
    expect(config.audit).toEqual({ path: '/var/log/jit.jsonl', mode: 'async', extra: { nested: true } });
  });
});

describe('parseConfig: validation errors name the file and the key', () => {
  const cases: [string, (doc: Doc) => void, string[]][] = [
    [
      'unknown top-level key',
      (d) => set(d, 'idenity', 'oidc'),
      ['jit.yaml: idenity: unknown key (did you mean identity?)'],
    ],
    [
      'unknown nested key with a typo',
      (d) => set(d, 'targets.local.grant.admin_url_evn', 'X'),
      ['jit.yaml: targets.local.grant.admin_url_evn: unknown key (did you mean admin_url_env?)'],
    ],
    [
      'camelCase key',
      (d) => set(d, 'targets.local.grant.maxTtl', '1h'),
      ['targets.local.grant.maxTtl', 'did you mean max_ttl?'],
    ],
    [
      'unknown key with nothing close',
      (d) => set(d, 'targets.local.password', 'x'),
      ['jit.yaml: targets.local.password: unknown key; expected one of: upstream, tls, grant, policy'],
    ],
    [
      'unknown oidc key',
      (d) => set(d, 'oidc.clientId', 'x'),
      ['jit.yaml: oidc.clientId', 'did you mean client_id?'],
    ],
    ['unknown broker key', (d) => set(d, 'broker.token', 'x'), ['jit.yaml: broker.token: unknown key']],
    [
      'unknown tls key',
      (d) => set(d, 'targets.local.tls', { mode: 'require', cert: 'x' }),
      ['targets.local.tls.cert: unknown key'],
    ],
    ['root not a mapping', (d) => Object.assign(d, { 0: 1 }), ['jit.yaml: 0: unknown key']],
    [
      'upstream missing',
      (d) => del(d, 'targets.local.upstream'),
      ['jit.yaml: targets.local.upstream: required'],
    ],
    [
      'upstream not a string',
      (d) => set(d, 'targets.local.upstream', 5432),
      ['targets.local.upstream: expected a string'],
    ],
    [
      'upstream not a URL',
      (d) => set(d, 'targets.local.upstream', 'not a url'),
      ['targets.local.upstream: not a valid URL'],
    ],
    [
      'upstream wrong scheme',
      (d) => set(d, 'targets.local.upstream', 'mysql://h/db'),
      ['targets.local.upstream: must be a postgres://'],
    ],
    [
      'upstream with a user',
      (d) => set(d, 'targets.local.upstream', 'postgres://admin@h/db'),
      ['targets.local.upstream: no credentials in upstream; the admin credential comes from admin_url_env'],
    ],
    [
      'upstream with an empty user',
      (d) => set(d, 'targets.local.upstream', 'postgres://@h/db'),
      ['no credentials in upstream'],
    ],
    [
      'upstream without a host',
      (d) => set(d, 'targets.local.upstream', 'postgres:///app'),
      ['targets.local.upstream: needs a host'],
    ],
    [
      'upstream without a database',
      (d) => set(d, 'targets.local.upstream', 'postgres://h:5432'),
      ['targets.local.upstream: needs exactly one database'],
    ],
    [
      'upstream with an empty database',
      (d) => set(d, 'targets.local.upstream', 'postgres://h/'),
      ['needs exactly one database'],
    ],
    [
      'upstream with a nested path',
      (d) => set(d, 'targets.local.upstream', 'postgres://h/a/b'),
      ['needs exactly one database'],
    ],
    [
      'upstream with query parameters',
      (d) => set(d, 'targets.local.upstream', 'postgres://h/db?sslmode=require'),
      ['targets.local.upstream: query parameters are not allowed (TLS is set by `tls`)'],
    ],
    [
      'upstream with an empty query',
      (d) => set(d, 'targets.local.upstream', 'postgres://h/db?'),
      ['query parameters'],
    ],
    ['upstream with a fragment', (d) => set(d, 'targets.local.upstream', 'postgres://h/db#x'), ['fragment']],
    [
      'upstream host list',
      (d) => set(d, 'targets.local.upstream', 'postgres://h1,h2/db'),
      ['single hostname'],
    ],
    [
      'upstream unix socket',
      (d) => set(d, 'targets.local.upstream', 'postgres://%2Ftmp/db'),
      ['single hostname'],
    ],
    [
      'upstream port 0',
      (d) => set(d, 'targets.local.upstream', 'postgres://h:0/db'),
      ['port must be 1..65535'],
    ],
    [
      'upstream port too big',
      (d) => set(d, 'targets.local.upstream', 'postgres://h:70000/db'),
      ['targets.local.upstream: not a valid URL'],
    ],
    [
      'ttl not a duration',
      (d) => set(d, 'targets.local.grant.ttl', 'soon'),
      ['jit.yaml: targets.local.grant.ttl: must be a duration', '"soon"'],
    ],
    [
      'ttl without a unit',
      (d) => set(d, 'targets.local.grant.ttl', 900),
      ['targets.local.grant.ttl: must be a duration', '900'],
    ],
    [
      'ttl below 10s',
      (d) => set(d, 'targets.local.grant.ttl', '5s'),
      ['targets.local.grant.ttl: must be at least 10s'],
    ],
    [
      'ttl above max_ttl',
      (d) => set(d, 'targets.local.grant.ttl', '2h'),
      ['targets.local.grant.ttl: must not exceed max_ttl (1h)'],
    ],
    [
      'max_ttl below 10s',
      (d) => set(d, 'targets.local.grant.max_ttl', '1s'),
      ['targets.local.grant.max_ttl: must be at least 10s'],
    ],
    [
      'max_ttl not a duration',
      (d) => set(d, 'targets.local.grant.max_ttl', '1 hour'),
      ['targets.local.grant.max_ttl: must be a duration'],
    ],
    [
      'roles not a list',
      (d) => set(d, 'targets.local.grant.roles', 'app_rw'),
      ['targets.local.grant.roles: must be a list'],
    ],
    [
      'role empty',
      (d) => set(d, 'targets.local.grant.roles', ['app_rw', '']),
      ['targets.local.grant.roles[1]: must be a non-empty role name'],
    ],
    [
      'role not a string',
      (d) => set(d, 'targets.local.grant.roles', [7]),
      ['targets.local.grant.roles[0]: must be a non-empty role name'],
    ],
    [
      'role with NUL',
      (d) => set(d, 'targets.local.grant.roles', ['a\0b']),
      ['targets.local.grant.roles[0]: must not contain NUL'],
    ],
    [
      'role too long',
      (d) => set(d, 'targets.local.grant.roles', ['r'.repeat(64)]),
      ['targets.local.grant.roles[0]: longer than 63 bytes'],
    ],
    [
      'role twice',
      (d) => set(d, 'targets.local.grant.roles', ['a', 'a']),
      ['targets.local.grant.roles[1]:', 'listed twice'],
    ],
    [
      'admin_url_env not a name',
      (d) => set(d, 'targets.local.grant.admin_url_env', 'JIT-ADMIN'),
      ['targets.local.grant.admin_url_env: must be an environment variable name'],
    ],
    [
      'admin_url_env empty keyring',
      (d) => set(d, 'targets.local.grant.admin_url_env', 'keyring:'),
      ['targets.local.grant.admin_url_env:'],
    ],
    [
      'admin_url_env starts with a digit',
      (d) => set(d, 'targets.local.grant.admin_url_env', '1X'),
      ['targets.local.grant.admin_url_env:'],
    ],
    [
      'connection_limit 0',
      (d) => set(d, 'targets.local.grant.connection_limit', 0),
      ['targets.local.grant.connection_limit: must be an integer from 1 to 10000'],
    ],
    [
      'connection_limit too big',
      (d) => set(d, 'targets.local.grant.connection_limit', 10_001),
      ['targets.local.grant.connection_limit:'],
    ],
    [
      'connection_limit fractional',
      (d) => set(d, 'targets.local.grant.connection_limit', 1.5),
      ['targets.local.grant.connection_limit:'],
    ],
    [
      'connection_limit a string',
      (d) => set(d, 'targets.local.grant.connection_limit', '50'),
      ['targets.local.grant.connection_limit:'],
    ],
    [
      'via unknown',
      (d) => set(d, 'targets.local.grant.via', 'brokr'),
      ['targets.local.grant.via: must be one of direct | broker', 'did you mean broker?'],
    ],
    [
      'via broker without broker.url',
      (d) => {
        set(d, 'targets.local.grant.via', 'broker');
        del(d, 'broker');
      },
      ['targets.local.grant.via: via: broker requires a top-level `broker: { url: … }`'],
    ],
    ['broker without url', (d) => set(d, 'broker', {}), ['jit.yaml: broker.url: required']],
    [
      'broker url over http',
      (d) => set(d, 'broker.url', 'http://jit.example.com'),
      ['broker.url: must be an https:// URL'],
    ],
    [
      'broker url with credentials',
      (d) => set(d, 'broker.url', 'https://u:p@jit.example.com'),
      ['broker.url: must not contain credentials'],
    ],
    [
      'tls mode typo',
      (d) => set(d, 'targets.local.tls', 'verify_full'),
      ['targets.local.tls: must be one of', 'did you mean verify-full?'],
    ],
    [
      'tls not string or mapping',
      (d) => set(d, 'targets.local.tls', true),
      ['targets.local.tls: expected a mode'],
    ],
    [
      'tls object without mode',
      (d) => set(d, 'targets.local.tls', { ca: './ca.pem' }),
      ['targets.local.tls.mode: required'],
    ],
    [
      'tls ca with require',
      (d) => set(d, 'targets.local.tls', { mode: 'require', ca: './ca.pem' }),
      ['targets.local.tls.ca: only applies to verify-ca and verify-full'],
    ],
    [
      'tls ca with disable',
      (d) => set(d, 'targets.local.tls', { mode: 'disable', ca: './ca.pem' }),
      ['targets.local.tls.ca: only applies'],
    ],
    [
      'tls verify-ca without ca',
      (d) => set(d, 'targets.local.tls', { mode: 'verify-ca' }),
      ['targets.local.tls.ca: required with verify-ca'],
    ],
    [
      'tls verify-ca as a string',
      (d) => set(d, 'targets.local.tls', 'verify-ca'),
      ['targets.local.tls: verify-ca needs a CA file'],
    ],
    [
      'tls ca empty',
      (d) => set(d, 'targets.local.tls', { mode: 'verify-full', ca: '' }),
      ['targets.local.tls.ca: must not be empty'],
    ],
    [
      'policy not a string',
      (d) => set(d, 'targets.local.policy', ['a']),
      ['targets.local.policy: expected a string'],
    ],
    [
      'target name with a space',
      (d) => set(d, ['targets', 'my db'], get(d, 'targets.local')),
      ['jit.yaml: targets."my db": target names may only contain'],
    ],
    [
      'target not a mapping',
      (d) => set(d, 'targets.local', 'postgres://h/db'),
      ['jit.yaml: targets.local: expected a mapping'],
    ],
    ['no targets', (d) => set(d, 'targets', {}), ['jit.yaml: targets: define at least one target']],
    ['targets missing', (d) => del(d, 'targets'), ['jit.yaml: targets: required']],
    [
      'targets a list',
      (d) => set(d, 'targets', [get(d, 'targets.local')]),
      ['jit.yaml: targets: expected a mapping (got a list)'],
    ],
    [
      'identity unknown',
      (d) => set(d, 'identity', 'os_user'),
      ['jit.yaml: identity: must be one of oidc | os-user', 'did you mean os-user?'],
    ],
    ['identity oidc without oidc', (d) => del(d, 'oidc'), ['jit.yaml: oidc: required when identity is oidc']],
    [
      'oidc issuer over http',
      (d) => set(d, 'oidc.issuer', 'http://idp.example.com'),
      ['jit.yaml: oidc.issuer: must be an https:// URL'],
    ],
    [
      'oidc ci_issuers not a list',
      (d) => set(d, 'oidc.ci_issuers', 'https://token.actions.githubusercontent.com'),
      ['jit.yaml: oidc.ci_issuers: expected a list of URLs'],
    ],
    [
      'oidc ci_issuers entry over http',
      (d) => set(d, 'oidc.ci_issuers', ['http://ci.example.com']),
      ['jit.yaml: oidc.ci_issuers[0]: must be an https:// URL'],
    ],
    ['oidc audience empty', (d) => set(d, 'oidc.audience', ''), ['jit.yaml: oidc.audience']],
    [
      'oidc issuer not a URL',
      (d) => set(d, 'oidc.issuer', 'idp'),
      ['jit.yaml: oidc.issuer: not a valid URL'],
    ],
    ['oidc without client_id', (d) => del(d, 'oidc.client_id'), ['jit.yaml: oidc.client_id: required']],
    [
      'oidc client_id empty',
      (d) => set(d, 'oidc.client_id', ' '),
      ['jit.yaml: oidc.client_id: must not be empty'],
    ],
    [
      'default_target unknown',
      (d) => set(d, 'default_target', 'locl'),
      ["jit.yaml: default_target: no target named 'locl' (did you mean local?)"],
    ],
    [
      'default_target not a string',
      (d) => set(d, 'default_target', 1),
      ['jit.yaml: default_target: expected a string'],
    ],
    ['audit not a mapping', (d) => set(d, 'audit', 'sync'), ['jit.yaml: audit: expected a mapping']],
  ];

  it.each(cases)('%s', (_name, mutate, expected) => {
    const doc = baseDoc();
    mutate(doc);
    const error = configError(() => parseDoc(doc));
    expect(error.code).toBe('invalid_config');
    for (const text of expected) expect(error.message).toContain(text);
  });

  it('accepts http issuers only on loopback', () => {
    for (const issuer of ['http://127.0.0.1:8080/realms/x', 'http://localhost:3000', 'http://[::1]:3000']) {
      const doc = baseDoc();
      set(doc, 'oidc.issuer', issuer);
      expect(parseDoc(doc).oidc?.issuer).toBe(issuer);
    }
  });

  it('rejects an empty document and a non-mapping root', () => {
    expect(configError(() => parseDoc(null)).message).toBe(
      'jit.yaml: the file is empty; expected a mapping with `targets`',
    );
    expect(configError(() => parseDoc(['a'])).message).toBe('jit.yaml: expected a mapping (got a list)');
  });

  it('never echoes an upstream password', () => {
    const doc = baseDoc();
    set(doc, 'targets.local.upstream', 'postgres://admin:hunter2-SECRET@db.example.com/app');
    const error = configError(() => parseDoc(doc));
    expect(error.message).toContain('targets.local.upstream');
    expect(`${error.message} ${error.hint}`).not.toContain('hunter2-SECRET');
    expect(error.hint).toContain('admin_url_env');
  });

  it('treats `__proto__` and `constructor` as ordinary target names', () => {
    const config = parseConfigText(
      `identity: os-user\ntargets:\n  __proto__: { upstream: postgres://h/a }\n  constructor: { upstream: postgres://h/b }\n`,
      '/x/jit.yaml',
    );
    expect(Object.keys(config.targets)).toEqual(['__proto__', 'constructor']);
    expect(resolveTarget(config, 'constructor').upstream.database).toBe('b');
    expect(resolveTarget(config, '__proto__').upstream.database).toBe('a');
  });
});

describe('loadConfig: discovery', () => {
  const other = MINIMAL.replace('/app', '/other');

  it('finds <cwd>/jit.yaml and records its absolute path', async () => {
    const file = await write('jit.yaml', MINIMAL);
    const config = await loadConfig({ env: {}, cwd: dir });
    expect(config.path).toBe(file);
    expect(config.targets.local?.upstream.database).toBe('app');
  });

  it('falls back to jit.yml, and prefers jit.yaml when both exist', async () => {
    const yml = await write('jit.yml', other);
    expect((await loadConfig({ env: {}, cwd: dir })).path).toBe(yml);
    const yaml = await write('jit.yaml', MINIMAL);
    expect((await loadConfig({ env: {}, cwd: dir })).path).toBe(yaml);
  });

  it('prefers JIT_CONFIG over the working directory, and --config over both', async () => {
    await write('jit.yaml', MINIMAL);
    const fromEnv = await write('env/jit.yaml', other);
    const fromFlag = await write('flag/custom.yaml', other.replace('/other', '/flag'));
    expect((await loadConfig({ env: { JIT_CONFIG: fromEnv }, cwd: dir })).path).toBe(fromEnv);
    const config = await loadConfig({
      configPath: 'flag/custom.yaml',
      env: { JIT_CONFIG: fromEnv },
      cwd: dir,
    });
    expect(config.path).toBe(fromFlag);
    expect(config.targets.local?.upstream.database).toBe('flag');
  });

  it('ignores an empty JIT_CONFIG', async () => {
    const file = await write('jit.yaml', MINIMAL);
    expect((await loadConfig({ env: { JIT_CONFIG: '' }, cwd: dir })).path).toBe(file);
  });

  it('does not fall back when an explicit file is missing', async () => {
    await write('jit.yaml', MINIMAL);
    const flag = await configErrorAsync(loadConfig({ configPath: 'nope.yaml', env: {}, cwd: dir }));
    expect(flag.code).toBe('config_not_found');
    expect(flag.message).toBe(`config file not found: ${path.join(dir, 'nope.yaml')} (from \`--config\`)`);
    const env = await configErrorAsync(
      loadConfig({ env: { JIT_CONFIG: '/nonexistent/jit.yaml' }, cwd: dir }),
    );
    expect(env.code).toBe('config_not_found');
    expect(env.message).toContain('/nonexistent/jit.yaml (from JIT_CONFIG)');
    expect(env.hint).toContain('JIT_CONFIG');
  });

  it('reports no_config with a hint when there is no file at all', async () => {
    const error = await configErrorAsync(loadConfig({ env: {}, cwd: dir }));
    expect(error.code).toBe('no_config');
    expect(error.message).toContain(dir);
    expect(error.hint).toBe('create jit.yaml (see README "Configuration") or pass --config FILE');
  });

  it('reports a directory passed as --config as unreadable', async () => {
    await mkdir(path.join(dir, 'conf'));
    const error = await configErrorAsync(loadConfig({ configPath: 'conf', env: {}, cwd: dir }));
    expect(error.code).toBe('config_unreadable');
    expect(error.message).toBe('cannot read config file conf: it is a directory');
  });

  it('resolves relative paths against the config file, not the working directory', async () => {
    await write(
      'deploy/jit.yaml',
      `identity: os-user
targets:
  prod:
    upstream: postgres://db.example.com/app
    tls: { mode: verify-ca, ca: ./certs/ca.pem }
    policy: policy.yaml
audit: { path: ../logs/audit.jsonl, mode: sync }
`,
    );
    const config = await loadConfig({ configPath: 'deploy/jit.yaml', env: {}, cwd: dir });
    const prod = config.targets.prod as TargetConfig;
    expect(prod.tls).toEqual({ mode: 'verify-ca', ca: path.join(dir, 'deploy/certs/ca.pem') });
    expect(prod.policy).toBe(path.join(dir, 'deploy/policy.yaml'));
    expect(config.audit).toEqual({ path: path.join(dir, 'logs/audit.jsonl'), mode: 'sync' });
  });

  it('names the file relative to the working directory in validation errors', async () => {
    await write('sub/jit.yaml', `${MINIMAL}    ttl: 5m\n`);
    const inside = await configErrorAsync(loadConfig({ configPath: 'sub/jit.yaml', env: {}, cwd: dir }));
    expect(inside.message).toMatch(/^sub\/jit\.yaml: targets\.local\.ttl: unknown key/);
    const outside = await configErrorAsync(
      loadConfig({ configPath: path.join(dir, 'sub/jit.yaml'), env: {}, cwd: path.join(dir, 'elsewhere') }),
    );
    expect(outside.message.startsWith(`${path.join(dir, 'sub/jit.yaml')}: targets.local.ttl`)).toBe(true);
  });

  it('reports YAML syntax errors with line:col', async () => {
    await write('jit.yaml', 'identity: os-user\ntargets:\n  local: [unclosed\n');
    const error = await configErrorAsync(loadConfig({ env: {}, cwd: dir }));
    expect(error.code).toBe('yaml_syntax');
    expect(error.message).toMatch(/^jit\.yaml:\d+:\d+: /);
  });

  it('rejects duplicate keys (a second `upstream` must not silently win)', async () => {
    await write('jit.yaml', `${MINIMAL}    upstream: postgres://evil.example.com/app\n`);
    const error = await configErrorAsync(loadConfig({ env: {}, cwd: dir }));
    expect(error.code).toBe('yaml_syntax');
    expect(error.message).toMatch(/^jit\.yaml:5:5: Map keys must be unique/);
  });

  it('rejects unresolved aliases and multiple documents', async () => {
    await write('jit.yaml', `${MINIMAL}default_target: *nope\n`);
    expect((await configErrorAsync(loadConfig({ env: {}, cwd: dir }))).message).toMatch(
      /^jit\.yaml(:\d+:\d+)?: .*alias/i,
    );
    await write('jit.yaml', `${MINIMAL}---\n${MINIMAL}`);
    expect((await configErrorAsync(loadConfig({ env: {}, cwd: dir }))).message).toMatch(
      /^jit\.yaml:5:1: .*multiple documents/,
    );
  });

  it('rejects an empty file', async () => {
    await write('jit.yaml', '# nothing yet\n');
    const error = await configErrorAsync(loadConfig({ env: {}, cwd: dir }));
    expect(error.message).toBe('jit.yaml: the file is empty; expected a mapping with `targets`');
  });
});

describe('resolveTarget', () => {
  const config = (names: string[], defaultTarget?: string): JitConfig => ({
    path: '/x/jit.yaml',
    identity: 'os-user',
    targets: Object.fromEntries(names.map((n) => [n, target({}, n)])),
    ...(defaultTarget !== undefined && { defaultTarget }),
  });

  it('takes --target, then default_target, then the only target', () => {
    expect(resolveTarget(config(['a', 'b'], 'b'), 'a').name).toBe('a');
    expect(resolveTarget(config(['a', 'b'], 'b')).name).toBe('b');
    expect(resolveTarget(config(['only'])).name).toBe('only');
  });

  it('asks which one when there are several and no default', () => {
    const error = configError(() => resolveTarget(config(['staging', 'prod'])));
    expect(error.code).toBe('no_target');
    expect(error.message).toContain('staging, prod');
    expect(error.hint).toContain('--target');
  });

  it('lists the known targets for an unknown name', () => {
    const error = configError(() => resolveTarget(config(['staging', 'prod']), 'prdo'));
    expect(error.code).toBe('unknown_target');
    expect(error.message).toBe('`--target` prdo: no such target in /x/jit.yaml (did you mean prod?)');
    expect(error.hint).toBe('known targets: staging, prod');
    expect(configError(() => resolveTarget(config(['a']), 'toString')).code).toBe('unknown_target');
  });

  it('names default_target when it is the one that is wrong', () => {
    const error = configError(() => resolveTarget(config(['a'], 'b')));
    expect(error.message).toContain('default_target b: no such target');
  });
});

describe('resolveTtl', () => {
  it('uses the target default without --ttl', () => {
    expect(resolveTtl(target({ ttlMs: 123_000 }))).toBe(123_000);
  });

  it('parses --ttl up to and including max_ttl', () => {
    expect(resolveTtl(target(), '30m')).toBe(30 * 60_000);
    expect(resolveTtl(target(), '1h')).toBe(60 * 60_000);
  });

  it('refuses more than max_ttl with the exact message', () => {
    const error = configError(() => resolveTtl(target(), '2h'));
    expect(error.code).toBe('ttl_too_long');
    expect(error.message).toBe("`--ttl` 2h exceeds max_ttl 1h for target 'local'");
  });

  it('refuses less than 10s and malformed durations as ConfigErrors', () => {
    expect(configError(() => resolveTtl(target(), '5s')).code).toBe('ttl_too_short');
    const bad = configError(() => resolveTtl(target(), 'forever'));
    expect(bad.code).toBe('bad_ttl');
    expect(bad.message).toContain('`--ttl`');
  });
});

describe('resolveAdminUrl', () => {
  const SECRET = 'postgres://admin:s3cr3t-DO-NOT-PRINT@db.example.com/app';

  it('reads the variable admin_url_env names', async () => {
    await expect(resolveAdminUrl(target(), { JIT_ADMIN_URL: SECRET })).resolves.toBe(SECRET);
    await expect(
      resolveAdminUrl(target({ adminUrlEnv: 'PROD_ADMIN' }), { PROD_ADMIN: ` ${SECRET}\n` }),
    ).resolves.toBe(SECRET);
  });

  it('names the missing variable and says how to set it, without any secret', async () => {
    const error = await configErrorAsync(
      resolveAdminUrl(target({ adminUrlEnv: 'PROD_ADMIN' }), { JIT_ADMIN_URL: SECRET }),
    );
    expect(error.code).toBe('no_admin_credential');
    expect(error.message).toBe(
      "target 'local' needs an admin connection URL in the environment variable PROD_ADMIN, which is not set",
    );
    expect(error.hint).toContain('export PROD_ADMIN=');
    expect(`${error.message} ${error.hint} ${error.stack}`).not.toContain('s3cr3t');
  });

  it('treats an empty variable as missing', async () => {
    const error = await configErrorAsync(resolveAdminUrl(target(), { JIT_ADMIN_URL: '  ' }));
    expect(error.code).toBe('no_admin_credential');
    expect(error.message).toContain('JIT_ADMIN_URL, which is empty');
  });

  it('refuses broker targets, which have no admin credential', async () => {
    const error = await configErrorAsync(
      resolveAdminUrl(target({ via: 'broker' }), { JIT_ADMIN_URL: SECRET }),
    );
    expect(error.code).toBe('not_direct');
    expect(error.message).not.toContain('s3cr3t');
  });

  it('reads keyring:NAME from service jit, account NAME', async () => {
    const calls: string[][] = [];
    const url = await resolveAdminUrl(
      target({ adminUrlEnv: 'keyring:prod-admin' }),
      {},
      {
        readKeyring: async (service, account) => {
          calls.push([service, account]);
          return SECRET;
        },
      },
    );
    expect(url).toBe(SECRET);
    expect(calls).toEqual([['jit', 'prod-admin']]);
  });

  it('reports a missing keyring entry as no_admin_credential', async () => {
    const error = await configErrorAsync(
      resolveAdminUrl(target({ adminUrlEnv: 'keyring:prod-admin' }), {}, { readKeyring: async () => null }),
    );
    expect(error.code).toBe('no_admin_credential');
    expect(error.message).toContain("service 'jit', account 'prod-admin'");
    expect(error.hint).toContain('security add-generic-password -s jit -a prod-admin');
  });

  it('maps a keyring failure to one clear line naming the entry, keeping the cause', async () => {
    const failure = new Error('Platform failure: DBus error: no session bus\n    at native (keyring.rs:1:1)');
    const error = await configErrorAsync(
      resolveAdminUrl(
        target({ adminUrlEnv: 'keyring:prod-admin' }),
        { JIT_ADMIN_URL: SECRET },
        {
          readKeyring: () => Promise.reject(failure),
        },
      ),
    );
    expect(error.code).toBe('keyring_error');
    expect(error.message).toBe(
      "cannot read the OS keyring entry (service 'jit', account 'prod-admin') for target 'local': " +
        'Platform failure: DBus error: no session bus',
    );
    expect(error.cause).toBe(failure);
    expect(error.hint).toContain('admin_url_env');
    expect(error.message).not.toContain('s3cr3t');
  });

  it('uses the real OS keyring without crashing (headless: a clear ConfigError)', async () => {
    const account = `jit-test-${process.pid}-${Date.now()}`;
    const result: unknown = await resolveAdminUrl(target({ adminUrlEnv: `keyring:${account}` }), {}).then(
      (value) => ({ value }),
      (e: unknown) => e,
    );
    // Nobody stored this entry, so it can never resolve to a value.
    expect(result).toBeInstanceOf(ConfigError);
    const error = result as ConfigError;
    expect(error).toBeInstanceOf(JitError);
    expect(['keyring_error', 'no_admin_credential']).toContain(error.code);
    expect(error.message).toContain(`service 'jit', account '${account}'`);
    expect(error.message).not.toContain('\n');
    expect(error.message).not.toMatch(/\bat .+:\d+:\d+/);
  });
});
