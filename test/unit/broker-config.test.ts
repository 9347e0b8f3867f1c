import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadBrokerConfig, parseBrokerConfig } from '../../src/broker/config.js';
import type { BrokerConfig } from '../../src/broker/config-types.js';
import { ConfigError } from '../../src/config/schema.js';

type Doc = Record<string, unknown>;

/** `rules.1.max_ttl` addresses `doc.rules[1].max_ttl`. */
function split(keyPath: string | string[]): string[] {
  return Array.isArray(keyPath) ? keyPath : keyPath.split('.');
}

function get(doc: Doc, keyPath: string | string[]): unknown {
  return split(keyPath).reduce<unknown>((node, key) => (node as Doc)[key], doc);
}

/** Sets one key of a parsed document (`undefined` removes it). */
function set(doc: Doc, keyPath: string | string[], value: unknown): void {
  const keys = split(keyPath);
  const parent = get(doc, keys.slice(0, -1)) as Doc;
  if (value === undefined) delete parent[keys.at(-1) as string];
  else parent[keys.at(-1) as string] = value;
}

/** A fresh, valid broker.yaml (as YAML would parse it) for tests to break one key at a time. */
function baseDoc(): Doc {
  return {
    listen: {
      host: '0.0.0.0',
      port: 9443,
      tls: { cert: './tls/broker.pem', key: './tls/broker-key.pem' },
      behind_proxy: false,
    },
    state: { url_env: 'STATE_DSN' },
    issuers: [
      {
        issuer: 'https://idp.example.com',
        audience: 'jit-cli',
        ca: './idp-ca.pem',
        claims: { email: 'mail', groups: 'roles', name: 'nickname' },
      },
      { issuer: 'https://token.actions.githubusercontent.com', audience: ['jit-broker', 'sts'] },
    ],
    targets: {
      prod: {
        upstream: 'postgres://db.internal:5432/app',
        tls: 'verify-full',
        admin_url_env: 'JIT_PROD_ADMIN_URL',
        connection_limit: 20,
        max_ttl: '4h',
      },
      staging: {
        upstream: 'postgres://staging.internal/app',
        tls: { mode: 'verify-ca', ca: './staging-ca.pem' },
      },
    },
    rules: [
      {
        name: 'developers-read',
        who: { groups: ['developers'] },
        targets: ['prod'],
        roles: ['app_ro'],
        max_ttl: '2h',
        approval: { groups: ['dba'] },
      },
      {
        name: 'ci-main',
        who: {
          issuers: ['https://token.actions.githubusercontent.com/'],
          claims: { repository: ['acme/*'], ref: 'refs/heads/main', run_attempt: [1] },
        },
        targets: ['*'],
        roles: ['app_rw', 'app_ro'],
        approval: { required: false, groups: ['dba'] },
      },
      { name: 'anyone-staging', who: 'any', targets: ['staging'], roles: ['app_ro'] },
    ],
    admins: { emails: ['*@ops.example.com'], groups: ['jit-admins'] },
    reaper: { interval: '10s', heartbeat_timeout: '45s' },
    approval: { pending_timeout: '5m' },
    limits: { open_grants: 3, grant_requests: { max: 5, per: '30s' } },
  };
}

/** The smallest valid file: everything else defaults. */
function minimalDoc(): Doc {
  return {
    issuers: [{ issuer: 'https://idp.example.com', audience: 'jit-cli' }],
    targets: { local: { upstream: 'postgres://127.0.0.1:5432/app' } },
    rules: [{ name: 'all', who: 'any', targets: ['local'], roles: ['app_ro'] }],
  };
}

function parseDoc(doc: unknown): BrokerConfig {
  return parseBrokerConfig(doc, '/etc/jit/broker.yaml');
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

describe('parseBrokerConfig: the full example', () => {
  it('maps every key and resolves paths against the file directory', () => {
    expect(parseDoc(baseDoc())).toEqual({
      path: '/etc/jit/broker.yaml',
      listen: {
        host: '0.0.0.0',
        port: 9443,
        tls: { cert: '/etc/jit/tls/broker.pem', key: '/etc/jit/tls/broker-key.pem' },
        behindProxy: false,
      },
      state: { urlEnv: 'STATE_DSN' },
      issuers: [
        {
          issuer: 'https://idp.example.com',
          audiences: ['jit-cli'],
          ca: '/etc/jit/idp-ca.pem',
          claims: { email: 'mail', groups: 'roles', name: 'nickname' },
        },
        {
          issuer: 'https://token.actions.githubusercontent.com',
          audiences: ['jit-broker', 'sts'],
          claims: { email: 'email', groups: 'groups', name: 'preferred_username' },
        },
      ],
      targets: {
        prod: {
          name: 'prod',
          upstream: {
            host: 'db.internal',
            port: 5432,
            database: 'app',
            url: 'postgres://db.internal:5432/app',
          },
          tls: { mode: 'verify-full' },
          adminUrlEnv: 'JIT_PROD_ADMIN_URL',
          connectionLimit: 20,
          maxTtlMs: 4 * 3_600_000,
        },
        staging: {
          name: 'staging',
          upstream: {
            host: 'staging.internal',
            port: 5432,
            database: 'app',
            url: 'postgres://staging.internal/app',
          },
          tls: { mode: 'verify-ca', ca: '/etc/jit/staging-ca.pem' },
          adminUrlEnv: 'JIT_ADMIN_URL',
          connectionLimit: 50,
          maxTtlMs: 8 * 3_600_000,
        },
      },
      rules: [
        {
          name: 'developers-read',
          who: { groups: ['developers'] },
          targets: ['prod'],
          roles: ['app_ro'],
          maxTtlMs: 2 * 3_600_000,
          approval: { required: true, groups: ['dba'] },
        },
        {
          name: 'ci-main',
          who: {
            issuers: ['https://token.actions.githubusercontent.com/'],
            claims: { repository: ['acme/*'], ref: ['refs/heads/main'], run_attempt: ['1'] },
          },
          targets: ['*'],
          roles: ['app_rw', 'app_ro'],
          maxTtlMs: 3_600_000,
          approval: { required: false, groups: ['dba'] },
        },
        {
          name: 'anyone-staging',
          who: { any: true },
          targets: ['staging'],
          roles: ['app_ro'],
          maxTtlMs: 3_600_000,
          approval: { required: false, groups: [] },
        },
      ],
      admins: { emails: ['*@ops.example.com'], groups: ['jit-admins'] },
      reaper: { intervalMs: 10_000, heartbeatTimeoutMs: 45_000 },
      approval: { pendingTimeoutMs: 5 * 60_000 },
      limits: { openGrants: 3, grantRequests: { max: 5, perMs: 30_000 } },
    });
  });
});

describe('parseBrokerConfig: defaults', () => {
  it('fills in listen, state, claims, target limits, rule ttl and approval, admins and timers', () => {
    const config = parseBrokerConfig(minimalDoc(), 'conf/broker.yaml');
    expect(config.path).toBe(path.resolve('conf/broker.yaml'));
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 8443, behindProxy: false });
    expect(config.state).toEqual({ urlEnv: 'JIT_BROKER_STATE_URL' });
    expect(config.issuers).toEqual([
      {
        issuer: 'https://idp.example.com',
        audiences: ['jit-cli'],
        claims: { email: 'email', groups: 'groups', name: 'preferred_username' },
      },
    ]);
    expect(config.targets.local).toMatchObject({
      tls: { mode: 'disable' },
      adminUrlEnv: 'JIT_ADMIN_URL',
      connectionLimit: 50,
      maxTtlMs: 8 * 3_600_000,
    });
    expect(config.rules[0]).toMatchObject({ maxTtlMs: 3_600_000, approval: { required: false, groups: [] } });
    expect(config.admins).toEqual({});
    expect(config.reaper).toEqual({ intervalMs: 30_000, heartbeatTimeoutMs: 90_000 });
    expect(config.approval).toEqual({ pendingTimeoutMs: 15 * 60_000 });
    expect(config.limits).toEqual({ openGrants: 10, grantRequests: { max: 30, perMs: 60_000 } });
  });

  it('defaults tls to verify-full for a non-loopback upstream', () => {
    const doc = minimalDoc();
    set(doc, 'targets.local.upstream', 'postgres://db.example.com:6543/app');
    expect(parseDoc(doc).targets.local?.tls).toEqual({ mode: 'verify-full' });
  });

  it('accepts port 0 (a free port, for tests)', () => {
    const doc = minimalDoc();
    set(doc, 'listen', { port: 0 });
    expect(parseDoc(doc).listen.port).toBe(0);
  });

  it('accepts a plain-HTTP non-loopback host behind a TLS-terminating proxy', () => {
    const doc = minimalDoc();
    set(doc, 'listen', { host: '0.0.0.0', behind_proxy: true });
    expect(parseDoc(doc).listen).toEqual({ host: '0.0.0.0', port: 8443, behindProxy: true });
  });

  it('accepts a required approval without groups when admins can approve', () => {
    for (const approval of [{ required: true }, { required: true, groups: [] }, {}]) {
      const doc = minimalDoc();
      set(doc, 'rules.0.approval', approval);
      set(doc, 'admins', { groups: ['jit-admins'] });
      expect(parseDoc(doc).rules[0]?.approval).toEqual({ required: true, groups: [] });
    }
  });

  it('reads `approval: { required: false, groups }` as statement approvers only', () => {
    const doc = minimalDoc();
    set(doc, 'rules.0.approval', { required: false, groups: ['dba'] });
    expect(parseDoc(doc).rules[0]?.approval).toEqual({ required: false, groups: ['dba'] });
  });

  it('takes a single string where a list is expected', () => {
    const doc = minimalDoc();
    set(doc, 'rules.0.who', { groups: 'developers', emails: '*@example.com' });
    set(doc, 'rules.0.targets', '*');
    expect(parseDoc(doc).rules[0]).toMatchObject({
      who: { groups: ['developers'], emails: ['*@example.com'] },
      targets: ['*'],
    });
  });
});

describe('parseBrokerConfig: errors name the file and the key', () => {
  const cases: [string, (doc: Doc) => void, string[]][] = [
    ['unknown root key', (d) => set(d, 'rule', []), ['broker.yaml: rule: unknown key (did you mean rules?)']],
    [
      'unknown listen key',
      (d) => set(d, 'listen.behindproxy', true),
      ['broker.yaml: listen.behindproxy: unknown key (did you mean behind_proxy?)'],
    ],
    [
      'unknown rule key',
      (d) => set(d, 'rules.1.max_tll', '1h'),
      ['broker.yaml: rules[1].max_tll: unknown key (did you mean max_ttl?)'],
    ],
    [
      'unknown who key',
      (d) => set(d, 'rules.0.who', { group: ['developers'] }),
      ['broker.yaml: rules[0].who.group: unknown key (did you mean groups?)'],
    ],
    [
      'unknown issuer claims key',
      (d) => set(d, 'issuers.0.claims.mail', 'email'),
      ['broker.yaml: issuers[0].claims.mail: unknown key (did you mean email?)'],
    ],
    [
      'rule max_ttl not a duration',
      (d) => set(d, 'rules.1.max_ttl', 'ten'),
      ['broker.yaml: rules[1].max_ttl: must be a duration like 90s, 15m or 1h30m (got "ten")'],
    ],
    [
      'rule max_ttl below 10s',
      (d) => set(d, 'rules.0.max_ttl', '5s'),
      ['broker.yaml: rules[0].max_ttl: must be at least 10s'],
    ],
    [
      'target max_ttl below 10s',
      (d) => set(d, 'targets.prod.max_ttl', '9s'),
      ['broker.yaml: targets.prod.max_ttl: must be at least 10s'],
    ],
    [
      'rule naming an unknown target',
      (d) => set(d, 'rules.0.targets', ['prd']),
      ["broker.yaml: rules[0].targets[0]: no target named 'prd' (did you mean prod?)"],
    ],
    [
      "'*' mixed with names",
      (d) => set(d, 'rules.0.targets', ['prod', '*']),
      ['broker.yaml: rules[0].targets[1]:', 'list it alone'],
    ],
    ['rule without targets', (d) => set(d, 'rules.0.targets', undefined), ['rules[0].targets: required']],
    [
      'who matching nobody',
      (d) => set(d, 'rules.0.who', {}),
      ['broker.yaml: rules[0].who: matches nobody: use `who: any`'],
    ],
    ['who missing', (d) => set(d, 'rules.0.who', undefined), ['broker.yaml: rules[0].who: required']],
    [
      'who an unknown word',
      (d) => set(d, 'rules.0.who', 'everyone'),
      ['broker.yaml: rules[0].who: expected `any` or a mapping'],
    ],
    [
      'who with an empty list',
      (d) => set(d, 'rules.0.who', { groups: [] }),
      ['broker.yaml: rules[0].who.groups: must not be an empty list'],
    ],
    [
      'who naming an untrusted issuer',
      (d) => set(d, 'rules.1.who.issuers', ['https://evil.example.com']),
      ['broker.yaml: rules[1].who.issuers[0]: https://evil.example.com is not one of the trusted `issuers`'],
    ],
    [
      'email glob with ?',
      (d) => set(d, 'admins.emails', ['ali?e@example.com']),
      ['broker.yaml: admins.emails[0]: only `*` is a wildcard'],
    ],
    [
      'claim glob with [..]',
      (d) => set(d, 'rules.1.who.claims.ref', ['refs/heads/[a-z]*']),
      ['broker.yaml: rules[1].who.claims.ref[0]: only `*` is a wildcard'],
    ],
    [
      'claim value a mapping',
      (d) => set(d, 'rules.1.who.claims.ref', [{ a: 1 }]),
      ['broker.yaml: rules[1].who.claims.ref[0]: expected a string (got a mapping)'],
    ],
    [
      'rule without roles',
      (d) => set(d, 'rules.0.roles', []),
      ['broker.yaml: rules[0].roles: required: the roles this rule may grant'],
    ],
    [
      'role listed twice',
      (d) => set(d, 'rules.0.roles', ['app_ro', 'app_ro']),
      ['broker.yaml: rules[0].roles[1]:', 'listed twice'],
    ],
    [
      'rule without a name',
      (d) => set(d, 'rules.0.name', undefined),
      ['broker.yaml: rules[0].name: required'],
    ],
    [
      'duplicate rule names',
      (d) => set(d, 'rules.2.name', 'developers-read'),
      ["broker.yaml: rules[2].name: 'developers-read' is already the name of rules[0]"],
    ],
    [
      'approval required with nobody to approve',
      (d) => {
        set(d, 'rules.0.approval', { required: true, groups: [] });
        set(d, 'admins', undefined);
      },
      [
        'broker.yaml: rules[0].approval.groups: nobody could approve: name the approver groups, or define `admins`',
      ],
    ],
    [
      'approval required without groups or admins',
      (d) => {
        set(d, 'rules.0.approval', { required: true });
        set(d, 'admins', undefined);
      },
      ['broker.yaml: rules[0].approval.groups: nobody could approve'],
    ],
    [
      'approval required not a boolean',
      (d) => set(d, 'rules.0.approval.required', 'yes'),
      ['broker.yaml: rules[0].approval.required: must be true or false'],
    ],
    [
      'listen tls without key',
      (d) => set(d, 'listen.tls', { cert: './c.pem' }),
      ['broker.yaml: listen.tls.key: required'],
    ],
    [
      'listen tls without cert',
      (d) => set(d, 'listen.tls', { key: './k.pem' }),
      ['broker.yaml: listen.tls.cert: required'],
    ],
    [
      'non-loopback host without tls or proxy',
      (d) => set(d, 'listen.tls', undefined),
      [
        'broker.yaml: listen.host: the broker hands out database credentials: serve it over TLS (listen.tls) or set listen.behind_proxy: true when a proxy terminates TLS',
      ],
    ],
    [
      'listen port too big',
      (d) => set(d, 'listen.port', 70_000),
      ['broker.yaml: listen.port: must be an integer'],
    ],
    [
      'listen host with a port',
      (d) => set(d, 'listen.host', '0.0.0.0:8443'),
      ['broker.yaml: listen.host: must be a hostname or an IP address'],
    ],
    [
      'behind_proxy not a boolean',
      (d) => set(d, 'listen.behind_proxy', 'true'),
      ['broker.yaml: listen.behind_proxy: must be true or false'],
    ],
    ['no issuers', (d) => set(d, 'issuers', []), ['broker.yaml: issuers: give at least one token issuer']],
    ['issuers missing', (d) => set(d, 'issuers', undefined), ['broker.yaml: issuers: required']],
    [
      'issuer over http',
      (d) => set(d, 'issuers.0.issuer', 'http://idp.example.com'),
      ['broker.yaml: issuers[0].issuer: must be an https:// URL'],
    ],
    [
      'issuer without audience',
      (d) => set(d, 'issuers.0.audience', undefined),
      ['broker.yaml: issuers[0].audience: required'],
    ],
    [
      'issuer listed twice',
      (d) => set(d, 'issuers.1.issuer', 'https://idp.example.com/'),
      ['broker.yaml: issuers[1].issuer: https://idp.example.com/ is listed twice'],
    ],
    ['no targets', (d) => set(d, 'targets', {}), ['broker.yaml: targets: define at least one target']],
    [
      'target name with a space',
      (d) => set(d, ['targets', 'my db'], get(d, 'targets.staging')),
      ['broker.yaml: targets."my db": target names may only contain'],
    ],
    [
      'target upstream with credentials',
      (d) => set(d, 'targets.prod.upstream', 'postgres://admin:secret@db.internal/app'),
      ['broker.yaml: targets.prod.upstream: no credentials in upstream'],
    ],
    [
      'target tls verify-ca without ca',
      (d) => set(d, 'targets.prod.tls', 'verify-ca'),
      ['broker.yaml: targets.prod.tls: verify-ca needs a CA file'],
    ],
    [
      'target admin_url_env in the keyring',
      (d) => set(d, 'targets.prod.admin_url_env', 'keyring:prod'),
      ['broker.yaml: targets.prod.admin_url_env: keyring: is not available to the broker'],
    ],
    [
      'target admin_url_env not a name',
      (d) => set(d, 'targets.prod.admin_url_env', 'JIT-PROD'),
      ['broker.yaml: targets.prod.admin_url_env: must be an environment variable name'],
    ],
    [
      'target connection_limit 0',
      (d) => set(d, 'targets.prod.connection_limit', 0),
      ['broker.yaml: targets.prod.connection_limit: must be an integer from 1 to 10000'],
    ],
    [
      'state url_env not a name',
      (d) => set(d, 'state.url_env', '1DSN'),
      ['broker.yaml: state.url_env: must be an environment variable name'],
    ],
    ['no rules', (d) => set(d, 'rules', []), ['broker.yaml: rules: give at least one grant rule']],
    ['admins any', (d) => set(d, 'admins', 'any'), ['broker.yaml: admins: `any` is not allowed here']],
    ['admins empty', (d) => set(d, 'admins', {}), ['broker.yaml: admins: matches nobody: give one of']],
    [
      'reaper interval below 1s',
      (d) => set(d, 'reaper.interval', '500ms'),
      ['broker.yaml: reaper.interval: must be at least 1s'],
    ],
    [
      'heartbeat_timeout not a duration',
      (d) => set(d, 'reaper.heartbeat_timeout', 90),
      ['broker.yaml: reaper.heartbeat_timeout: must be a duration'],
    ],
    [
      'pending_timeout unknown key',
      (d) => set(d, 'approval', { pending_timeot: '1m' }),
      ['broker.yaml: approval.pending_timeot: unknown key (did you mean pending_timeout?)'],
    ],
    [
      'open_grants 0',
      (d) => set(d, 'limits.open_grants', 0),
      ['broker.yaml: limits.open_grants: must be an integer from 1 to 1000'],
    ],
    [
      'grant_requests max 0',
      (d) => set(d, 'limits.grant_requests.max', 0),
      ['broker.yaml: limits.grant_requests.max: must be an integer from 1 to 10000'],
    ],
    [
      'grant_requests per beyond an hour',
      (d) => set(d, 'limits.grant_requests.per', '2h'),
      ['broker.yaml: limits.grant_requests.per: must be at most 1h'],
    ],
    [
      'grant_requests per below a second',
      (d) => set(d, 'limits.grant_requests.per', '500ms'),
      ['broker.yaml: limits.grant_requests.per: must'],
    ],
    [
      'grant_requests not a mapping',
      (d) => set(d, 'limits.grant_requests', 30),
      ['broker.yaml: limits.grant_requests: expected a mapping (got 30)'],
    ],
    [
      'grant_requests unknown key',
      (d) => set(d, 'limits.grant_requests', { max: 3, window: '1m' }),
      ['broker.yaml: limits.grant_requests.window: unknown key'],
    ],
  ];

  it.each(cases)('%s', (_name, mutate, expected) => {
    const doc = baseDoc();
    mutate(doc);
    const error = configError(() => parseBrokerConfig(doc, 'broker.yaml'));
    expect(error.code).toBe('invalid_config');
    for (const text of expected) expect(error.message).toContain(text);
  });

  it('refuses an empty document', () => {
    expect(configError(() => parseDoc(null)).message).toContain('/etc/jit/broker.yaml: the file is empty');
  });
});

describe('loadBrokerConfig', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await realpath(await mkdtemp(path.join(tmpdir(), 'jit-broker-config-')));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function write(text: string): Promise<string> {
    const file = path.join(dir, 'etc', 'broker.yaml');
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, text);
    return file;
  }

  it('reads the file and resolves paths against its directory', async () => {
    const file = await write(`
listen:
  host: 0.0.0.0
  tls: { cert: ./tls/broker.pem, key: /abs/key.pem }
issuers:
  - issuer: https://idp.example.com
    audience: jit-cli
    ca: ../idp-ca.pem
targets:
  prod: { upstream: "postgres://db.internal:5432/app", tls: { mode: verify-ca, ca: ca.pem } }
rules:
  - { name: r, who: any, targets: ['*'], roles: [app_ro] }
`);
    const config = await loadBrokerConfig(file);
    expect(config.path).toBe(file);
    expect(config.listen.tls).toEqual({ cert: path.join(dir, 'etc/tls/broker.pem'), key: '/abs/key.pem' });
    expect(config.issuers[0]?.ca).toBe(path.join(dir, 'idp-ca.pem'));
    expect(config.targets.prod?.tls).toEqual({ mode: 'verify-ca', ca: path.join(dir, 'etc/ca.pem') });
  });

  it('names a missing file', async () => {
    const file = path.join(dir, 'nope.yaml');
    const error: unknown = await loadBrokerConfig(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('config_not_found');
    expect((error as ConfigError).message).toBe(`broker config file not found: ${file}`);
  });

  it('names an unreadable path', async () => {
    const error: unknown = await loadBrokerConfig(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe(`cannot read broker config file ${dir}: it is a directory`);
  });

  it('reports bad YAML with the file, line and column', async () => {
    const file = await write('issuers:\n  - issuer: [unclosed\n');
    const error: unknown = await loadBrokerConfig(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('yaml_syntax');
    expect((error as ConfigError).message).toMatch(new RegExp(`^${file}:\\d+:\\d+: `));
  });

  it('names the file in validation errors', async () => {
    const file = await write('issuers: []\n');
    const error: unknown = await loadBrokerConfig(file).catch((e: unknown) => e);
    expect((error as ConfigError).message).toContain(`${file}: issuers: give at least one token issuer`);
  });
});
