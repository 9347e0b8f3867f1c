/** What the child needs to reach the session's proxy. */
export interface ChildConnection {
  host: string;
  port: number;
  user: string;
  /** The one-time password only the local proxy accepts. */
  password: string;
  database: string;
  session: string;
  expiresAt: Date;
}

/** Names stripped from the inherited environment whatever their value. */
const ALWAYS_STRIPPED = new Set([
  'DATABASE_URL',
  'JIT_ADMIN_URL',
  'JIT_ID_TOKEN',
  'JIT_CONFIG',
  'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
  'ACTIONS_ID_TOKEN_REQUEST_URL',
]);

/** Names that look like a database credential or DSN (POSTGRES_URL, SUPABASE_DB_URL, PG_DSN, …). */
const DB_SECRET_NAME =
  /(^PG)|((DATABASE|DB|POSTGRES(QL)?|PSQL)_?(URL|URI|DSN|PASS(WORD)?|CONN(ECTION)?(_?STRING)?)$)/i;

/** Values that are themselves a database DSN or a libpq connection string with a password. */
const DB_SECRET_VALUE = /(postgres(ql)?:\/\/)|(\bpassword\s*=)/i;

/** Options for {@link buildChildEnv}. */
export interface ChildEnvOptions {
  /** The variable the admin DSN came from (`admin_url_env`), stripped too. */
  adminUrlEnv?: string;
  /** Further names to strip (the client-secret variable of `--client-secret-env`). */
  stripNames?: string[];
  /** Values that must not reach the child under any name (admin DSN, its password, tokens). */
  secrets: string[];
}

/**
 * The child's environment (design.md "The child's environment"): the inherited one minus any
 * database credential, admin DSN or identity token, plus connection settings that point only
 * at the session's proxy. Pure, so tests can check it exactly.
 */
export function buildChildEnv(
  inherited: Record<string, string | undefined>,
  connection: ChildConnection,
  options: ChildEnvOptions,
): Record<string, string> {
  const secrets = options.secrets.filter((s) => s.length >= 6);
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(inherited)) {
    if (value === undefined) continue;
    if (ALWAYS_STRIPPED.has(name) || name === options.adminUrlEnv || DB_SECRET_NAME.test(name)) continue;
    if (options.stripNames?.includes(name)) continue;
    if (DB_SECRET_VALUE.test(value)) continue;
    if (name.startsWith('JIT_')) continue;
    if (secrets.some((secret) => value.includes(secret))) continue;
    env[name] = value;
  }
  const { host, port, user, password, database } = connection;
  const url = new URL(`postgres://${host}:${port}/`);
  // The setters leave '%' as is (so "a%41" would read back as "aA"): encode it ourselves.
  url.username = encodeURIComponent(user);
  url.password = encodeURIComponent(password);
  url.pathname = `/${encodeURIComponent(database)}`;
  url.searchParams.set('sslmode', 'disable');
  Object.assign(env, {
    PGHOST: host,
    PGPORT: String(port),
    PGUSER: user,
    PGPASSWORD: password,
    PGDATABASE: database,
    PGSSLMODE: 'disable',
    DATABASE_URL: url.toString(),
    JIT_SESSION: connection.session,
    JIT_GRANT_EXPIRES_AT: connection.expiresAt.toISOString(),
  });
  return env;
}

/** The connection URL a client uses to reach the proxy (also printed by `jit proxy`). */
export function connectionUrl(connection: Omit<ChildConnection, 'session' | 'expiresAt'>): string {
  return buildChildEnv({}, { ...connection, session: '', expiresAt: new Date(0) }, { secrets: [] })
    .DATABASE_URL as string;
}
