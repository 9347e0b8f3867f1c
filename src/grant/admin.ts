import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { GrantError, type AdminOptions, type GrantInfo, type TlsOptions } from './types.js';

/** Makes the (unconnected) client; tests inject one to simulate faults. */
export type ConnectFn = (cfg: pg.ClientConfig) => pg.Client;

/** An open admin connection plus what jit needs to know about the admin role. */
export interface AdminSession {
  client: pg.Client;
  /** `host:port/db`, safe to print: never the password. */
  where: string;
  user: string;
  superuser: boolean;
  createrole: boolean;
  /** `server_version_num`, e.g. 180004. */
  version: number;
  options: AdminOptions;
  connect: ConnectFn;
}

const CONNECT_TIMEOUT_MS = 10_000;
/** Keeps a revoke or issue from hanging forever behind a lock on pg_authid. */
const STATEMENT_TIMEOUT_MS = 30_000;
/** How long revoke waits for terminated backends to leave pg_stat_activity. */
const TERMINATE_WAIT_MS = 5_000;
/** PostgreSQL 16 changed CREATEROLE: granting a role needs ADMIN OPTION on it. */
const PG16 = 160_000;
/** Marks roles jit made; list, gc and revoke touch only `jit_%` roles whose comment starts with it. */
export const GRANT_COMMENT_PREFIX = 'jit grant:';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
  'EPIPE',
]);

/**
 * Maps jit's TLS setting to node-postgres's `ssl` option, with libpq's `sslmode` meanings
 * (https://www.postgresql.org/docs/current/libpq-ssl.html#LIBPQ-SSL-PROTECTION):
 * `require` encrypts without checking the certificate, `verify-ca` checks the chain but not the
 * host name, `verify-full` checks both. `ca` is read from the file path in `tls.ca`.
 */
export function pgSslOptions(tls: TlsOptions): false | ConnectionOptions {
  const ca = tls.ca === undefined ? undefined : readCa(tls.ca);
  switch (tls.mode) {
    case 'disable':
      return false;
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
      return {
        ...(ca === undefined ? {} : { ca }),
        rejectUnauthorized: true,
        checkServerIdentity: () => undefined,
      };
    case 'verify-full':
      return { ...(ca === undefined ? {} : { ca }), rejectUnauthorized: true };
    default:
      throw new GrantError(
        'invalid_argument',
        `\`tls.mode\` must be disable, require, verify-ca or verify-full`,
      );
  }
}

function readCa(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new GrantError('tls_ca_unreadable', `cannot read the CA certificate file \`${file}\``, {
      hint: 'check the `tls.ca` path in the target config',
      cause: err,
    });
  }
}

interface DsnParts {
  host: string;
  port: string;
  database: string;
  password: string;
}

function parseDsn(adminUrl: string): { url: URL; parts: DsnParts } {
  let url: URL;
  try {
    url = new URL(adminUrl);
  } catch {
    throw invalidDsn();
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw invalidDsn();
  const user = decodeURIComponent(url.username);
  const host = url.searchParams.get('host') ?? (url.hostname || 'localhost');
  const port = url.searchParams.get('port') ?? (url.port || '5432');
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || user || 'postgres';
  return { url, parts: { host, port, database, password: decodeURIComponent(url.password) } };
}

function invalidDsn(): GrantError {
  return new GrantError('invalid_admin_url', 'the admin DSN is not a postgres:// URL', {
    hint: 'set the variable named by `admin_url_env` to postgres://user:password@host:port/database',
  });
}

/** `host:port/db` of an admin DSN, for messages: the password never appears. */
export function describeServer(adminUrl: string): string {
  const { parts } = parseDsn(adminUrl);
  return `${parts.host}:${parts.port}/${parts.database}`;
}

/**
 * node-postgres config for the admin DSN. TLS comes only from `tls`: sslmode and friends are removed
 * from the URL, because node-postgres lets URL parameters override the `ssl` option.
 */
export function adminClientConfig(options: AdminOptions, database?: string): pg.ClientConfig {
  const { url } = parseDsn(options.adminUrl);
  for (const key of [...url.searchParams.keys()]) {
    if (key === 'ssl' || key.startsWith('ssl')) url.searchParams.delete(key);
  }
  if (database !== undefined) url.pathname = `/${encodeURIComponent(database)}`;
  return {
    connectionString: url.toString(),
    ssl: pgSslOptions(options.tls),
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    application_name: 'jit',
  };
}

/** SQLSTATE of a server error, or undefined for anything else. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

function errorCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; errors?: unknown[]; message?: unknown } | null;
  if (typeof e?.code === 'string') return e.code;
  // Node 20 tries every address of a host name and reports an AggregateError.
  const first = e?.errors?.[0] as { code?: unknown } | undefined;
  if (typeof first?.code === 'string') return first.code;
  if (typeof e?.message === 'string' && /timeout/i.test(e.message)) return 'timeout';
  return undefined;
}

/** An error's message with the DSN's password cut out, in case a library ever echoes it. */
export function safeMessage(err: unknown, password = ''): string {
  const text = err instanceof Error ? err.message : String(err);
  return password ? text.split(password).join('***') : text;
}

/** Maps a failure to connect to one clear GrantError naming host:port, never the password. */
export function connectError(err: unknown, adminUrl: string): GrantError {
  if (err instanceof GrantError) return err;
  const { parts } = parseDsn(adminUrl);
  const hostPort = `${parts.host}:${parts.port}`;
  const state = sqlState(err);
  const code = errorCode(err);
  const message = safeMessage(err, parts.password);
  if (state === '28000' && /pg_hba\.conf/.test(message)) {
    return new GrantError(
      'admin_hba_rejected',
      `PostgreSQL at ${hostPort}/${parts.database} refused the admin connection (28000): ${message}`,
      {
        hint: /no encryption/.test(message)
          ? "the server requires TLS for this connection: set the target's `tls` to require, verify-ca or verify-full"
          : "the server's pg_hba.conf has no rule for this host, user and database; ask its administrator, or check the target's `tls`",
        cause: err,
      },
    );
  }
  if (state === '28P01' || state === '28000') {
    return new GrantError(
      'admin_auth_failed',
      `PostgreSQL at ${hostPort}/${parts.database} rejected the admin login (${state}): ${message}`,
      {
        hint: 'check the user and password in the DSN held by the variable named in `admin_url_env`',
        cause: err,
      },
    );
  }
  if (state === '3D000') {
    return new GrantError(
      'admin_database_missing',
      `database "${parts.database}" does not exist at ${hostPort}`,
      {
        hint: 'fix the database name in the DSN held by the variable named in `admin_url_env`',
        cause: err,
      },
    );
  }
  if (code !== undefined && (NETWORK_CODES.has(code) || code === 'timeout')) {
    return new GrantError('upstream_unreachable', `cannot reach PostgreSQL at ${hostPort} (${code})`, {
      hint: 'check that the server is running and that host and port in the admin DSN are right',
      cause: err,
    });
  }
  if (/SSL|TLS|certificate/i.test(message) || (code !== undefined && /CERT|SSL|TLS|SELF_SIGNED/.test(code))) {
    return new GrantError('upstream_tls_failed', `TLS to PostgreSQL at ${hostPort} failed: ${message}`, {
      hint: 'check `tls.mode` and `tls.ca` for this target',
      cause: err,
    });
  }
  return new GrantError('admin_connect_failed', `cannot connect to PostgreSQL at ${hostPort}: ${message}`, {
    cause: err,
  });
}

/** Ends a client without throwing; used on every exit path. */
export async function closeQuietly(client: pg.Client): Promise<void> {
  try {
    await client.end();
  } catch {
    // already closed or broken: nothing left to release
  }
}

/**
 * Cuts a connection at once, for a cancelled request. Not `end()`: that waits for the server,
 * which may be the very thing that does not answer, and while connecting it would leave
 * `connect()` unsettled. A destroyed socket fails the pending connect or query instead.
 */
export function abortClient(client: pg.Client): void {
  const stream = (client.connection as pg.Connection | undefined)?.stream;
  if (stream) stream.destroy();
  else void closeQuietly(client);
}

/**
 * Opens the admin connection and reads who the admin is. `signal` aborts the connect attempt
 * (GrantError('aborted')). `database` connects to another database of the same server.
 */
export async function connectAdmin(
  options: AdminOptions,
  extra: { connect?: ConnectFn; signal?: AbortSignal; database?: string } = {},
): Promise<AdminSession> {
  const connect = extra.connect ?? ((cfg: pg.ClientConfig) => new pg.Client(cfg));
  const where = describeServer(options.adminUrl);
  throwIfAborted(extra.signal);
  const client = connect(adminClientConfig(options, extra.database));
  // A backend killed under us emits 'error'; without a listener that would crash the process.
  client.on('error', () => {});
  const onAbort = (): void => abortClient(client);
  extra.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await client.connect();
    const { rows } = await client.query<{
      user: string;
      rolsuper: boolean;
      rolcreaterole: boolean;
      version: number;
    }>(
      `SELECT current_user AS user, r.rolsuper, r.rolcreaterole,
              current_setting('server_version_num')::int AS version
         FROM pg_roles r WHERE r.rolname = current_user`,
    );
    const me = rows[0];
    if (!me)
      throw new GrantError('admin_connect_failed', `cannot read the admin role's attributes at ${where}`);
    return {
      client,
      where,
      user: me.user,
      superuser: me.rolsuper,
      createrole: me.rolcreaterole,
      version: me.version,
      options,
      connect,
    };
  } catch (err) {
    await closeQuietly(client);
    throwIfAborted(extra.signal);
    throw connectError(err, options.adminUrl);
  } finally {
    extra.signal?.removeEventListener('abort', onAbort);
  }
}

/** Throws GrantError('aborted') once `signal` has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new GrantError('aborted', 'grant request was cancelled', { cause: signal.reason });
  }
}

/** Refuses an admin that can neither create roles nor is superuser, naming the fix. */
export function assertCanManageRoles(admin: AdminSession): void {
  if (admin.superuser || admin.createrole) return;
  const name = admin.client.escapeIdentifier(admin.user);
  throw new GrantError(
    'admin_not_createrole',
    `admin role ${name} at ${admin.where} is neither superuser nor has CREATEROLE, so it cannot create grant roles`,
    { hint: `as a superuser run: ALTER ROLE ${name} CREATEROLE;` },
  );
}

/** Whether `role` exists and carries jit's marker (name `jit_…` and a `jit grant:` comment). */
async function roleState(
  client: pg.Client,
  role: string,
): Promise<{ oid: number; jit: boolean } | undefined> {
  const { rows } = await client.query<{ oid: number; jit: boolean }>(
    `SELECT r.oid::int AS oid,
            (r.rolname LIKE 'jit\\_%' AND coalesce(shobj_description(r.oid, 'pg_authid'), '') LIKE $2) AS jit
       FROM pg_roles r WHERE r.rolname = $1`,
    [role, `${GRANT_COMMENT_PREFIX}%`],
  );
  return rows[0];
}

function notJitRole(role: string): GrantError {
  return new GrantError('not_a_jit_role', `refusing to touch role "${role}": it is not a role jit made`, {
    hint: 'jit only manages roles named jit_… that carry a "jit grant:" comment',
  });
}

function revokeFailed(what: string, nologin: boolean, cause: unknown, hint?: string): GrantError {
  const state = nologin
    ? 'the role is NOLOGIN'
    : 'the role could not be made NOLOGIN, but VALID UNTIL still locks it out at expiry';
  return new GrantError('revoke_failed', `could not ${what}; ${state} and \`jit grants gc\` will retry`, {
    cause,
    ...(hint === undefined ? {} : { hint }),
  });
}

/**
 * Ends a grant role: NOLOGIN, terminate its backends (VALID UNTIL does not end live sessions), reassign
 * and drop what it owns in every database that records a dependency on it, then DROP ROLE.
 * A role already gone is fine; a role that is not jit's is refused.
 * https://www.postgresql.org/docs/current/role-removal.html
 */
export async function endGrantRole(admin: AdminSession, role: string): Promise<void> {
  const { client } = admin;
  const id = client.escapeIdentifier(role);
  const state = await roleState(client, role);
  if (!state) return;
  if (!state.jit) throw notJitRole(role);

  let nologin = true;
  try {
    await client.query(`ALTER ROLE ${id} NOLOGIN`);
  } catch (err) {
    if (sqlState(err) === '42704') return; // dropped by someone else meanwhile
    nologin = false;
  }

  if (!admin.superuser) await borrowRolePrivileges(admin, id);
  await terminateBackends(admin, role, nologin);
  await dropOwned(admin, role, state.oid);

  try {
    await client.query(`DROP ROLE IF EXISTS ${id}`);
  } catch (err) {
    throw revokeFailed(
      `drop role "${role}" (${safeMessage(err)})`,
      nologin,
      err,
      sqlState(err) === '2BP01'
        ? 'objects in some database still depend on the role; run REASSIGN OWNED / DROP OWNED there as a superuser'
        : undefined,
    );
  }
}

/**
 * A CREATEROLE admin (not superuser) may not signal a role's backends nor REASSIGN/DROP OWNED unless
 * it has the role's privileges. It holds ADMIN OPTION on roles it created, so it can grant itself
 * membership; the membership goes away with the role. Best effort: failures surface in later steps.
 */
async function borrowRolePrivileges(admin: AdminSession, id: string): Promise<void> {
  const options = admin.version >= PG16 ? ' WITH INHERIT TRUE' : '';
  try {
    await admin.client.query(`GRANT ${id} TO CURRENT_USER${options}`);
  } catch {
    // not allowed or already a member: terminate/reassign report what matters
  }
}

async function terminateBackends(admin: AdminSession, role: string, nologin: boolean): Promise<void> {
  const deadline = Date.now() + TERMINATE_WAIT_MS;
  for (;;) {
    let remaining: number;
    try {
      const { rowCount } = await admin.client.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()',
        [role],
      );
      remaining = rowCount ?? 0;
    } catch (err) {
      throw revokeFailed(
        `end the live sessions of role "${role}" (${safeMessage(err)})`,
        nologin,
        err,
        sqlState(err) === '42501'
          ? `as a superuser run: GRANT pg_signal_backend TO ${admin.client.escapeIdentifier(admin.user)};`
          : undefined,
      );
    }
    if (remaining === 0) return;
    if (Date.now() > deadline) {
      throw revokeFailed(
        `end ${remaining} live session(s) of role "${role}" within ${TERMINATE_WAIT_MS / 1000}s`,
        nologin,
        null,
      );
    }
    await sleep(50);
  }
}

/** REASSIGN OWNED + DROP OWNED in this database and every other one pg_shdepend names. Best effort. */
async function dropOwned(admin: AdminSession, role: string, oid: number): Promise<void> {
  await dropOwnedHere(admin.client, role);
  let others: string[];
  try {
    const { rows } = await admin.client.query<{ datname: string }>(
      `SELECT DISTINCT d.datname FROM pg_shdepend s JOIN pg_database d ON d.oid = s.dbid
        WHERE s.refclassid = 'pg_authid'::regclass AND s.refobjid = $1 AND d.datname <> current_database()`,
      [oid],
    );
    others = rows.map((r) => r.datname);
  } catch {
    return;
  }
  for (const database of others) {
    let other: AdminSession;
    try {
      other = await connectAdmin(admin.options, { connect: admin.connect, database });
    } catch {
      continue; // DROP ROLE will say what still depends on the role
    }
    try {
      if (!other.superuser) await borrowRolePrivileges(other, other.client.escapeIdentifier(role));
      await dropOwnedHere(other.client, role);
    } finally {
      await closeQuietly(other.client);
    }
  }
}

async function dropOwnedHere(client: pg.Client, role: string): Promise<void> {
  const id = client.escapeIdentifier(role);
  for (const sql of [`REASSIGN OWNED BY ${id} TO CURRENT_USER`, `DROP OWNED BY ${id}`]) {
    try {
      await client.query(sql);
    } catch {
      // typically 42501 for a non-superuser admin; DROP ROLE reports anything that really blocks
    }
  }
}

const LIST_SQL = `
SELECT r.rolname AS role,
       r.rolvaliduntil AS valid_until,
       shobj_description(r.oid, 'pg_authid') AS comment,
       (SELECT count(*)::int FROM pg_stat_activity a WHERE a.usename = r.rolname) AS connections,
       coalesce(r.rolvaliduntil <= now(), false) AS expired,
       r.rolcanlogin AS login
  FROM pg_roles r
 WHERE r.rolname LIKE 'jit\\_%'
   AND coalesce(shobj_description(r.oid, 'pg_authid'), '') LIKE $1
 ORDER BY r.rolname`;

async function queryGrants(client: pg.Client): Promise<GrantInfo[]> {
  const { rows } = await client.query<{
    role: string;
    valid_until: unknown;
    comment: string | null;
    connections: number;
    expired: boolean;
    login: boolean;
  }>(LIST_SQL, [`${GRANT_COMMENT_PREFIX}%`]);
  return rows.map((r) => ({
    role: r.role,
    validUntil: r.valid_until instanceof Date ? r.valid_until : null,
    comment: r.comment,
    connections: r.connections,
    expired: r.expired,
    login: r.login,
  }));
}

async function withAdmin<T>(options: AdminOptions, fn: (admin: AdminSession) => Promise<T>): Promise<T> {
  const admin = await connectAdmin(options);
  try {
    return await fn(admin);
  } finally {
    await closeQuietly(admin.client);
  }
}

/** Every jit-made role on the server, live or not, with its live connection count. */
export function listGrants(options: AdminOptions): Promise<GrantInfo[]> {
  return withAdmin(options, (admin) => queryGrants(admin.client));
}

/** Ends one grant by role name (`jit grants revoke`). Refuses roles jit did not make. */
export function revokeGrant(options: AdminOptions, role: string): Promise<void> {
  if (!role.startsWith('jit_')) return Promise.reject(notJitRole(role));
  return withAdmin(options, async (admin) => {
    assertCanManageRoles(admin);
    const state = await roleState(admin.client, role);
    if (!state) {
      throw new GrantError('grant_not_found', `no role "${role}" exists at ${admin.where}`, {
        hint: 'run `jit grants list` to see the grants that exist',
      });
    }
    if (!state.jit) throw notJitRole(role);
    await endGrantRole(admin, role);
  });
}

/**
 * Drops jit roles that are expired, or NOLOGIN (a revoke that did not finish). Live grants are left
 * alone. Each failure is reported and the rest carry on.
 */
export function gcGrants(
  options: AdminOptions,
): Promise<{ dropped: string[]; failed: { role: string; reason: string }[] }> {
  return withAdmin(options, async (admin) => {
    assertCanManageRoles(admin);
    const dropped: string[] = [];
    const failed: { role: string; reason: string }[] = [];
    for (const grant of await queryGrants(admin.client)) {
      if (!grant.expired && grant.login) continue;
      try {
        await endGrantRole(admin, grant.role);
        dropped.push(grant.role);
      } catch (err) {
        failed.push({ role: grant.role, reason: safeMessage(err) });
      }
    }
    return { dropped, failed };
  });
}
