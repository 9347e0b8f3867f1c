import type { TargetConfig } from '../config/schema.js';
import { type KeyringReader, resolveAdminUrl } from '../config/target.js';
import {
  type AdminSession,
  assertCanManageRoles,
  closeQuietly,
  connectAdmin,
  describeServer,
} from '../grant/admin.js';
import { GrantError } from '../grant/types.js';
import { type ClockSample, clockSample } from './clock.js';
import { type CheckResult, fail, failFrom, ok } from './result.js';

/** PostgreSQL 16 changed CREATEROLE: granting a role needs ADMIN OPTION on it. */
const PG16 = 160_000;

/** What the target checks need from the outside world. */
export interface TargetDeps {
  env: NodeJS.ProcessEnv;
  now: () => number;
  readKeyring?: KeyringReader;
}

/**
 * `target NAME …`: the admin credential is there; the upstream answers with the target's TLS
 * settings (and the admin DSN's server, when it names another endpoint); the admin role can create
 * roles; the member roles exist and can be granted. Stops at the first step the rest depend on.
 * Returns the database's clock as a sample for the clock check.
 */
export async function checkTarget(
  target: TargetConfig,
  deps: TargetDeps,
): Promise<{ results: CheckResult[]; clock?: ClockSample }> {
  const name = (aspect: string): string => `target ${target.name} ${aspect}`;
  if (target.grant.via === 'broker') {
    return {
      results: [ok(name('grant'), 'grants come from the broker (via: broker): see the broker check')],
    };
  }
  const results: CheckResult[] = [];
  let adminUrl: string;
  try {
    adminUrl = await resolveAdminUrl(
      target,
      deps.env,
      deps.readKeyring ? { readKeyring: deps.readKeyring } : {},
    );
    const source = target.grant.adminUrlEnv.startsWith('keyring:')
      ? `the OS keyring entry ${target.grant.adminUrlEnv}`
      : target.grant.adminUrlEnv;
    results.push(
      ok(
        name('credential'),
        `${source} holds an admin URL for ${dsnUser(adminUrl)}@${describeServer(adminUrl)}`,
      ),
    );
  } catch (error) {
    results.push(failFrom(name('credential'), error, `set ${target.grant.adminUrlEnv}`));
    return { results };
  }

  const upstream = `${hostPort(target.upstream.host, target.upstream.port)}/${target.upstream.database}`;
  const sameServer = describeServer(adminUrl) === upstream;
  let admin: AdminSession;
  try {
    admin = await connectAdmin({ adminUrl, tls: target.tls });
  } catch (error) {
    const result = failFrom(name(sameServer ? 'upstream' : 'admin connection'), error, 'check the admin DSN');
    if (sameServer && isUnreachable(error)) {
      result.fix =
        `check that the server is running and that targets.${target.name}.upstream and the admin DSN ` +
        `(${target.grant.adminUrlEnv}) name its host and port`;
    }
    results.push(result);
    return { results };
  }
  let clock: ClockSample | undefined;
  try {
    const info = await serverInfo(admin, deps.now);
    clock = info.clock;
    const what = `PostgreSQL ${info.version} at ${admin.where} as ${admin.user}, ${info.tls}`;
    results.push(ok(name(sameServer ? 'upstream' : 'admin connection'), what));
    if (!sameServer) results.push(await checkUpstream(target, adminUrl, upstream, name('upstream')));
    try {
      assertCanManageRoles(admin);
      results.push(
        ok(
          name('admin role'),
          `${admin.user} ${admin.superuser ? 'is superuser' : 'has CREATEROLE'}, so it can create grant roles`,
        ),
      );
    } catch (error) {
      results.push(failFrom(name('admin role'), error, 'give the admin role CREATEROLE'));
      return { results, clock };
    }
    results.push(await checkMemberRoles(admin, target, name('roles')));
  } catch (error) {
    results.push(failFrom(name('upstream'), error, 'check the server'));
  } finally {
    await closeQuietly(admin.client);
  }
  return { results, ...(clock && { clock }) };
}

/** The server version, TLS in use and the server's clock, over the admin connection. */
async function serverInfo(
  admin: AdminSession,
  now: () => number,
): Promise<{ version: string; tls: string; clock: ClockSample }> {
  const sentAt = now();
  const { rows } = await admin.client.query<{
    version: string;
    now: Date;
    ssl: boolean | null;
    tls: string | null;
  }>(
    `SELECT current_setting('server_version') AS version, clock_timestamp() AS now, s.ssl, s.version AS tls
       FROM (SELECT 1) AS one LEFT JOIN pg_stat_ssl s ON s.pid = pg_backend_pid()`,
  );
  const receivedAt = now();
  const row = rows[0];
  if (!row) throw new GrantError('doctor_query', `${admin.where} returned no row for the server information`);
  const version = row.version.split(' ', 1)[0] ?? row.version;
  const tls = row.ssl
    ? `TLS (${row.tls ?? 'unknown version'}, tls: ${admin.options.tls.mode})`
    : `no TLS (tls: ${admin.options.tls.mode})`;
  return {
    version,
    tls,
    clock: clockSample('the database (clock_timestamp())', row.now.getTime(), sentAt, receivedAt),
  };
}

/**
 * The admin DSN names another endpoint than `upstream`: connect to the upstream too, with the
 * admin's credentials and the target's TLS settings, since that is where the proxy connects.
 */
async function checkUpstream(
  target: TargetConfig,
  adminUrl: string,
  upstream: string,
  check: string,
): Promise<CheckResult> {
  const url = new URL(adminUrl);
  url.hostname = target.upstream.host;
  url.port = String(target.upstream.port);
  url.pathname = `/${encodeURIComponent(target.upstream.database)}`;
  url.searchParams.delete('host');
  url.searchParams.delete('port');
  try {
    const session = await connectAdmin({ adminUrl: url.toString(), tls: target.tls });
    await closeQuietly(session.client);
    return ok(
      check,
      `${upstream} answers with tls: ${target.tls.mode} (the admin DSN names ${describeServer(adminUrl)})`,
    );
  } catch (error) {
    const result = failFrom(check, error, 'check the target upstream');
    if (isUnreachable(error)) {
      result.fix = `check that the server is running and that targets.${target.name}.upstream names its host and port`;
    }
    return result;
  }
}

/**
 * Each configured member role exists, is not a superuser role, and (PostgreSQL 16+, non-superuser
 * admin) is held WITH ADMIN OPTION — the conditions DirectGrantIssuer checks before it issues.
 * Reports every problem at once rather than the first.
 */
async function checkMemberRoles(
  admin: AdminSession,
  target: TargetConfig,
  check: string,
): Promise<CheckResult> {
  const roles = [...new Set(target.grant.roles)];
  if (roles.length === 0)
    return ok(check, 'no member roles configured: grant roles can log in but own no privileges');
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
  const esc = (s: string): string => admin.client.escapeIdentifier(s);
  const missing = rows.filter((r) => !r.found).map((r) => r.name);
  const superusers = rows.filter((r) => r.found && r.superuser).map((r) => r.name);
  const needAdmin =
    !admin.superuser && admin.version >= PG16
      ? rows.filter((r) => r.found && !r.superuser && !r.admin).map((r) => r.name)
      : [];
  const problems: string[] = [];
  const fixes: string[] = [];
  if (missing.length > 0) {
    problems.push(`${list(missing)} ${missing.length === 1 ? 'does' : 'do'} not exist at ${admin.where}`);
    fixes.push(`create ${missing.length === 1 ? 'it' : 'them'}, or fix grant.roles of target ${target.name}`);
  }
  if (superusers.length > 0) {
    problems.push(
      `${list(superusers)} ${superusers.length === 1 ? 'is a superuser role' : 'are superuser roles'}, which jit refuses to grant`,
    );
    fixes.push('list ordinary roles in grant.roles');
  }
  if (needAdmin.length > 0) {
    problems.push(
      `admin role ${esc(admin.user)} cannot grant ${list(needAdmin)} (PostgreSQL 16+ requires ADMIN OPTION)`,
    );
    fixes.push(
      `as a superuser run: ${needAdmin.map((r) => `GRANT ${esc(r)} TO ${esc(admin.user)} WITH ADMIN OPTION;`).join(' ')}`,
    );
  }
  if (problems.length > 0) return fail(check, problems.join('; '), fixes.join('; '));
  return ok(check, `${list(roles)} ${roles.length === 1 ? 'exists' : 'exist'} and can be granted`);
}

function isUnreachable(error: unknown): boolean {
  return error instanceof GrantError && error.code === 'upstream_unreachable';
}

function list(names: string[]): string {
  return names.map((n) => `"${n}"`).join(', ');
}

function dsnUser(adminUrl: string): string {
  try {
    return decodeURIComponent(new URL(adminUrl).username) || '(default user)';
  } catch {
    return '(unknown user)';
  }
}

function hostPort(host: string, port: number): string {
  return `${host}:${port}`;
}
