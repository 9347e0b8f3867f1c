import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { buildChildEnv, connectionUrl, type ChildConnection } from '../../src/child/env.js';

const ADMIN_PASSWORD = 'Adm1n-S3cret-pw';
const ADMIN_URL = `postgres://admin:${ADMIN_PASSWORD}@db.internal:5432/prod`;
const ID_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.payload.signature';

const connection: ChildConnection = {
  host: '127.0.0.1',
  port: 54321,
  user: 'jit_agent_1a2b',
  password: 'one-time-pw_abcdef',
  database: 'app',
  session: 'sess-123',
  expiresAt: new Date('2030-01-02T03:04:05.678Z'),
};

const SET = [
  'PGHOST',
  'PGPORT',
  'PGUSER',
  'PGPASSWORD',
  'PGDATABASE',
  'PGSSLMODE',
  'DATABASE_URL',
  'JIT_SESSION',
  'JIT_GRANT_EXPIRES_AT',
];

/** How node-postgres reads a connection string (no connection is made). */
function pgReads(url: string): Record<string, unknown> {
  const client = new pg.Client({ connectionString: url });
  const { user, password, host, port, database, ssl } = client as unknown as Record<string, unknown>;
  return { user, password, host, port, database, ssl };
}

const build = (inherited: Record<string, string | undefined>, c: ChildConnection = connection) =>
  buildChildEnv(inherited, c, {
    adminUrlEnv: 'MY_ADMIN_DSN',
    secrets: [ADMIN_URL, ADMIN_PASSWORD, ID_TOKEN, c.password],
  });

describe('buildChildEnv', () => {
  it('sets exactly the proxy connection settings on an empty environment', () => {
    const env = build({});
    expect(Object.keys(env).sort()).toEqual([...SET].sort());
    expect(env).toMatchObject({
      PGHOST: '127.0.0.1',
      PGPORT: '54321',
      PGUSER: connection.user,
      PGPASSWORD: connection.password,
      PGDATABASE: 'app',
      PGSSLMODE: 'disable',
      JIT_SESSION: 'sess-123',
      JIT_GRANT_EXPIRES_AT: '2030-01-02T03:04:05.678Z',
    });
  });

  it('DATABASE_URL parses back to the same connection, with sslmode=disable', () => {
    const env = build({});
    const url = new URL(env.DATABASE_URL as string);
    expect(url.protocol).toBe('postgres:');
    expect(url.hostname).toBe('127.0.0.1');
    expect(url.port).toBe('54321');
    expect(decodeURIComponent(url.username)).toBe(connection.user);
    expect(decodeURIComponent(url.password)).toBe(connection.password);
    expect(url.pathname).toBe('/app');
    expect(url.searchParams.get('sslmode')).toBe('disable');
    expect(pgReads(env.DATABASE_URL as string)).toEqual({
      host: '127.0.0.1',
      port: 54321,
      user: connection.user,
      password: connection.password,
      database: 'app',
      ssl: false,
    });
  });

  it('strips inherited database settings, admin DSNs and identity tokens; keeps the rest', () => {
    const inherited: Record<string, string | undefined> = {
      PATH: '/usr/local/bin:/usr/bin',
      HOME: '/home/agent',
      LANG: 'en_US.UTF-8',
      TERM: 'xterm-256color',
      EDITOR: 'vim',
      NODE_OPTIONS: '--max-old-space-size=4096',
      PAGER: 'less',
      UNSET_ONE: undefined,
      // libpq settings: every PG* goes, whatever it is.
      PGHOST: 'db.internal',
      PGPORT: '5432',
      PGUSER: 'admin',
      PGPASSWORD: ADMIN_PASSWORD,
      PGDATABASE: 'prod',
      PGPASSFILE: '/home/agent/.pgpass',
      PGSERVICE: 'prod',
      PGSERVICEFILE: '/etc/pg_service.conf',
      PGOPTIONS: '-c role=postgres',
      PGSSLMODE: 'require',
      PGSSLROOTCERT: '/etc/ssl/root.crt',
      PGHOSTADDR: '10.0.0.1',
      PGAPPNAME: 'x',
      PGTARGETSESSIONATTRS: 'read-write',
      pgpassword: 'lowercase-too',
      // DSNs under common names.
      DATABASE_URL: ADMIN_URL,
      JIT_ADMIN_URL: ADMIN_URL,
      MY_ADMIN_DSN: 'postgres://other:other@h/db',
      POSTGRES_URL: 'postgres://u:p@h/db',
      POSTGRES_PASSWORD: 'pw',
      POSTGRESQL_URI: 'postgresql://u:p@h/db',
      SUPABASE_DB_URL: 'postgres://u:p@h/db',
      NEON_DATABASE_URL: 'postgres://u:p@h/db',
      DB_PASSWORD: 'pw',
      DB_CONNECTION_STRING: 'Host=h;Password=pw',
      PG_DSN: 'dbname=x',
      PSQL_URL: 'postgres://u:p@h/db',
      database_url: 'postgres://lower:case@h/db',
      // Identity tokens and jit's own settings.
      JIT_ID_TOKEN: ID_TOKEN,
      JIT_CONFIG: '/etc/jit.yaml',
      JIT_SESSION: 'stale-session',
      JIT_ANYTHING: 'x',
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'gh-token',
      ACTIONS_ID_TOKEN_REQUEST_URL: 'https://token.actions.example/?audience=x',
    };
    const env = build(inherited);
    const kept = ['PATH', 'HOME', 'LANG', 'TERM', 'EDITOR', 'NODE_OPTIONS', 'PAGER'];
    expect(Object.keys(env).sort()).toEqual([...SET, ...kept].sort());
    for (const name of kept) expect(env[name], name).toBe(inherited[name]);
    expect(env.PGHOST).toBe('127.0.0.1');
    expect(env.JIT_SESSION).toBe('sess-123');
    expect(env.DATABASE_URL).not.toContain('admin');
  });

  it('strips ANY variable whose value contains a secret', () => {
    const env = build({
      FOO: `prefix-${ADMIN_PASSWORD}-suffix`,
      BAR: `x${ADMIN_URL}x`,
      BAZ: `Bearer ${ID_TOKEN}`,
      PASSWORD_ECHO: connection.password,
      SAFE: 'nothing to see',
      ALMOST: ADMIN_PASSWORD.slice(0, -1),
    });
    expect(env.FOO).toBeUndefined();
    expect(env.BAR).toBeUndefined();
    expect(env.BAZ).toBeUndefined();
    expect(env.PASSWORD_ECHO).toBeUndefined();
    expect(env.SAFE).toBe('nothing to see');
    expect(env.ALMOST).toBe(ADMIN_PASSWORD.slice(0, -1));
    // Nothing left anywhere holds a secret except the proxy's own one-time password.
    for (const [name, value] of Object.entries(env)) {
      for (const secret of [ADMIN_PASSWORD, ADMIN_URL, ID_TOKEN]) expect(value, name).not.toContain(secret);
    }
  });

  it('strips the names it is told to (the --client-secret-env variable), whatever their value', () => {
    const env = buildChildEnv({ SVC_SECRET: 'short', KEEP: 'yes' }, connection, {
      stripNames: ['SVC_SECRET'],
      secrets: [],
    });
    expect(env.SVC_SECRET).toBeUndefined();
    expect(env.KEEP).toBe('yes');
  });

  it('does not mutate the inherited environment', () => {
    const inherited = { PATH: '/bin', PGPASSWORD: 'x' };
    build(inherited);
    expect(inherited).toEqual({ PATH: '/bin', PGPASSWORD: 'x' });
  });

  for (const password of [
    'p@ss:w/o#r?d',
    'with space&x=y',
    '100%off',
    'a%41b', // must not decode to "aAb"
    'quote\'"back\\slash',
    '[]{}|^`<>;,',
    'ünïcødé✓',
    '+plus+',
  ]) {
    it(`DATABASE_URL carries password ${JSON.stringify(password)} exactly`, () => {
      const c = { ...connection, password, user: 'u@x:y%z', database: 'my db%ü' };
      const url = build({}, c).DATABASE_URL as string;
      const parsed = new URL(url);
      expect(decodeURIComponent(parsed.password)).toBe(password);
      expect(decodeURIComponent(parsed.username)).toBe(c.user);
      expect(decodeURIComponent(parsed.pathname.slice(1))).toBe(c.database);
      expect(parsed.hostname).toBe('127.0.0.1');
      expect(parsed.searchParams.get('sslmode')).toBe('disable');
      expect(pgReads(url)).toMatchObject({ user: c.user, password, database: c.database, port: 54321 });
    });
  }

  it('DATABASE_URL carries a database name with URL delimiters exactly', () => {
    // node-postgres decodes the path with decodeURI (keeps %2F…); libpq and URL readers decode it fully.
    const c = { ...connection, database: 'db/name?x#y%&z' };
    const parsed = new URL(build({}, c).DATABASE_URL as string);
    expect(decodeURIComponent(parsed.pathname.slice(1))).toBe(c.database);
    expect(parsed.search).toBe('?sslmode=disable');
    expect(parsed.hash).toBe('');
  });
});

describe('connectionUrl', () => {
  it('is the DATABASE_URL the child gets', () => {
    const { session: _s, expiresAt: _e, ...rest } = connection;
    expect(connectionUrl(rest)).toBe(build({}).DATABASE_URL);
    expect(connectionUrl(rest)).toBe(
      'postgres://jit_agent_1a2b:one-time-pw_abcdef@127.0.0.1:54321/app?sslmode=disable',
    );
  });
});

describe('buildChildEnv strips DSN-shaped values under any name', () => {
  it('removes postgres URLs and libpq password strings whatever the variable is called', () => {
    const env = build({
      POSTGRES_URL_NON_POOLING: 'postgres://u:p@other-db/x',
      POSTGRES_PRISMA_URL: 'postgresql://u:p@other-db/x?pgbouncer=true',
      LEGACY_CONN: 'host=db user=u password=hunter2 dbname=x',
      HARMLESS: 'https://example.com',
    });
    expect(env.POSTGRES_URL_NON_POOLING).toBeUndefined();
    expect(env.POSTGRES_PRISMA_URL).toBeUndefined();
    expect(env.LEGACY_CONN).toBeUndefined();
    expect(env.HARMLESS).toBe('https://example.com');
  });
});
