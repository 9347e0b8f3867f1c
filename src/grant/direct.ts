import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { scramVerifier } from '../proxy/auth/scram.js';
import {
  GRANT_COMMENT_PREFIX,
  assertCanManageRoles,
  abortClient,
  closeQuietly,
  connectAdmin,
  endGrantRole,
  safeMessage,
  sqlState,
  throwIfAborted,
  type AdminSession,
  type ConnectFn,
} from './admin.js';
import { makeRoleName } from './role-name.js';
import { GrantError, type Grant, type IssueRequest, type TlsOptions } from './types.js';

/** PostgreSQL 16 changed CREATEROLE: granting a role needs ADMIN OPTION on it. */
const PG16 = 160_000;

/**
 * Creates and ends temporary login roles with the admin DSN (design.md "Grants"). Each call opens
 * its own admin connection, so one issuer serves concurrent sessions.
 */
export class DirectGrantIssuer {
  readonly #options: { adminUrl: string; tls: TlsOptions };
  readonly #connect: ConnectFn | undefined;

  constructor(opts: { adminUrl: string; tls: TlsOptions; connect?: (cfg: pg.ClientConfig) => pg.Client }) {
    this.#options = { adminUrl: opts.adminUrl, tls: opts.tls };
    this.#connect = opts.connect;
  }

  /**
   * Creates `jit_<user>_<random>` in one transaction: LOGIN with a SCRAM verifier of a fresh random
   * password, VALID UNTIL from the server clock, CONNECTION LIMIT, no elevated attributes, membership
   * in `req.roles`, and the `jit grant:` comment. A failure or abort leaves nothing behind.
   */
  async issue(req: IssueRequest, signal?: AbortSignal): Promise<Grant> {
    const roles = validateRequest(req);
    const admin = await connectAdmin(this.#options, { ...this.#connectOpt(), ...(signal ? { signal } : {}) });
    const { client } = admin;
    const onAbort = (): void => abortClient(client);
    signal?.addEventListener('abort', onAbort, { once: true });
    const role = makeRoleName(req.identity.name);
    let commitSent = false;
    try {
      assertCanManageRoles(admin);
      await checkMemberRoles(admin, roles);
      throwIfAborted(signal);

      const password = randomBytes(32).toString('base64url');
      const id = client.escapeIdentifier(role);
      await client.query('BEGIN');
      if (admin.superuser) await quietStatementLog(client);
      const { rows } = await client.query<{ expires_at: Date; expires_text: string }>(
        `SELECT e AS expires_at, e::text AS expires_text
           FROM (SELECT now() + make_interval(secs => $1::float8) AS e) AS t`,
        [req.ttlMs / 1000],
      );
      const expiry = rows[0];
      if (!expiry) throw new GrantError('issue_failed', 'the server returned no expiry time');
      await client.query(
        `CREATE ROLE ${id} LOGIN PASSWORD ${client.escapeLiteral(scramVerifier(password))}` +
          ` VALID UNTIL ${client.escapeLiteral(expiry.expires_text)} CONNECTION LIMIT ${req.connectionLimit}` +
          ' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT',
      );
      for (const member of roles) await grantMembership(admin, member, id);
      const comment = grantComment(req);
      await client.query(`COMMENT ON ROLE ${id} IS ${client.escapeLiteral(comment)}`);
      throwIfAborted(signal);
      commitSent = true;
      await client.query('COMMIT');
      throwIfAborted(signal);
      return {
        id: role,
        role,
        password,
        expiresAt: expiry.expires_at,
        target: req.target,
        database: req.database,
        session: req.session,
        roles,
        identity: req.identity,
      };
    } catch (err) {
      // Once COMMIT went out the role may exist (abort, or a connection lost mid-commit): end it on a
      // fresh connection before reporting the failure. Before that, ROLLBACK (or the lost connection) undoes all.
      if (commitSent) await this.revoke({ role }).catch(() => {});
      else await client.query('ROLLBACK').catch(() => {});
      throwIfAborted(signal);
      throw issueError(err, admin);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      await closeQuietly(client);
    }
  }

  /** Idempotent; safe to call twice and on a role already gone. Refuses a role jit did not make. */
  async revoke(grant: { role: string }): Promise<void> {
    const admin = await connectAdmin(this.#options, this.#connectOpt());
    try {
      await endGrantRole(admin, grant.role);
    } catch (err) {
      if (err instanceof GrantError) throw err;
      throw new GrantError(
        'revoke_failed',
        `could not revoke role "${grant.role}" at ${admin.where}: ${safeMessage(err)}; \`jit grants gc\` will retry`,
        { cause: err },
      );
    } finally {
      await closeQuietly(admin.client);
    }
  }

  #connectOpt(): { connect?: ConnectFn } {
    return this.#connect ? { connect: this.#connect } : {};
  }
}

function validateRequest(req: IssueRequest): string[] {
  if (!Number.isFinite(req.ttlMs) || req.ttlMs <= 0) {
    throw new GrantError('invalid_argument', '`ttl` must be a positive duration');
  }
  if (!Number.isInteger(req.connectionLimit) || (req.connectionLimit < 1 && req.connectionLimit !== -1)) {
    throw new GrantError(
      'invalid_argument',
      '`connection_limit` must be a positive integer (or -1 for no limit)',
    );
  }
  for (const role of req.roles) {
    if (typeof role !== 'string' || role.length === 0) {
      throw new GrantError('invalid_argument', '`roles` must be a list of role names');
    }
  }
  return [...new Set(req.roles)];
}

/**
 * Each configured role must exist, must not be a superuser role (membership would hand out its
 * objects), and on PostgreSQL 16+ a non-superuser admin needs ADMIN OPTION on it.
 * https://www.postgresql.org/docs/current/sql-createrole.html
 */
async function checkMemberRoles(admin: AdminSession, roles: string[]): Promise<void> {
  if (roles.length === 0) return;
  const { rows } = await admin.client.query<{
    name: string;
    found: boolean;
    superuser: boolean;
    admin: boolean;
  }>(
    `SELECT u.n AS name, r.oid IS NOT NULL AS found, coalesce(r.rolsuper, false) AS superuser,
            CASE WHEN r.oid IS NULL THEN false
                 ELSE pg_has_role(current_user, r.oid, 'MEMBER WITH ADMIN OPTION') END AS admin
       FROM unnest($1::text[]) WITH ORDINALITY AS u(n, i)
       LEFT JOIN pg_roles r ON r.rolname = u.n
      ORDER BY u.i`,
    [roles],
  );
  for (const row of rows) {
    if (!row.found) {
      throw new GrantError('role_not_found', `role "${row.name}" does not exist at ${admin.where}`, {
        hint: 'create the role, or fix the `roles` listed for this target in the config',
      });
    }
    if (row.superuser) {
      throw new GrantError(
        'role_is_superuser',
        `refusing to grant membership in superuser role "${row.name}"`,
        {
          hint: 'list ordinary roles in `roles`; a grant never carries superuser privileges',
        },
      );
    }
    if (!admin.superuser && admin.version >= PG16 && !row.admin) throw cannotGrant(admin, row.name);
  }
}

function cannotGrant(admin: AdminSession, role: string): GrantError {
  const esc = (s: string): string => admin.client.escapeIdentifier(s);
  const why = admin.version >= PG16 ? ' (PostgreSQL 16+ requires ADMIN OPTION on it)' : '';
  return new GrantError(
    'admin_cannot_grant_role',
    `admin role ${esc(admin.user)} cannot grant role ${esc(role)}${why}`,
    {
      hint: `as a superuser run: GRANT ${esc(role)} TO ${esc(admin.user)} WITH ADMIN OPTION;`,
    },
  );
}

async function grantMembership(admin: AdminSession, member: string, id: string): Promise<void> {
  try {
    await admin.client.query(`GRANT ${admin.client.escapeIdentifier(member)} TO ${id}`);
  } catch (err) {
    if (sqlState(err) === '42501') throw cannotGrant(admin, member);
    throw err;
  }
}

/** Keeps the CREATE ROLE out of the server log when allowed; the verifier is not a secret, so failure is fine. */
async function quietStatementLog(client: pg.Client): Promise<void> {
  await client.query('SAVEPOINT jit_quiet_log');
  try {
    await client.query("SET LOCAL log_statement = 'none'");
    await client.query('RELEASE SAVEPOINT jit_quiet_log');
  } catch {
    await client.query('ROLLBACK TO SAVEPOINT jit_quiet_log');
  }
}

function issueError(err: unknown, admin: AdminSession): GrantError {
  if (err instanceof GrantError) return err;
  const state = sqlState(err);
  if (state === '42501') {
    const name = admin.client.escapeIdentifier(admin.user);
    return new GrantError(
      'admin_not_createrole',
      `admin role ${name} may not create grant roles: ${safeMessage(err)}`,
      {
        hint: `as a superuser run: ALTER ROLE ${name} CREATEROLE;`,
        cause: err,
      },
    );
  }
  return new GrantError(
    'issue_failed',
    `could not create the grant role at ${admin.where}: ${safeMessage(err)}`,
    {
      cause: err,
    },
  );
}

/**
 * The role's COMMENT: `jit grant: identity=<sub> [email=…] [issuer=…] session=… target=…`.
 * `jit grants list` shows it; values are quoted when they contain spaces.
 */
function grantComment(req: IssueRequest): string {
  const { identity } = req;
  const field = (key: string, value: string) =>
    ` ${key}=${/[\s"]/.test(value) ? JSON.stringify(value) : value}`;
  return (
    GRANT_COMMENT_PREFIX +
    field('identity', identity.sub) +
    (identity.email ? field('email', identity.email) : '') +
    (identity.issuer ? field('issuer', identity.issuer) : '') +
    (identity.authenticated ? '' : field('authenticated', 'false')) +
    field('session', req.session) +
    field('target', req.target)
  );
}
