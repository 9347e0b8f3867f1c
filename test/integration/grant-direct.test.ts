import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { gcGrants, listGrants, pgSslOptions, revokeGrant } from '../../src/grant/admin.js';
import { DirectGrantIssuer } from '../../src/grant/direct.js';
import { makeRoleName } from '../../src/grant/role-name.js';
import { GrantError, type Grant, type IssueRequest, type TlsOptions } from '../../src/grant/types.js';
import { createTestDatabase, withClient } from '../helpers/db.js';
import { freePort } from '../helpers/ports.js';

const adminUrl = inject('adminUrl');
const tls: TlsOptions = { mode: 'disable' };
const hex = (): string => randomBytes(4).toString('hex');

let db: Awaited<ReturnType<typeof createTestDatabase>>;
/** Unique per run: the server is shared with other test files. */
const appRole = `app_rw_${hex()}`;
/** Every role this file creates, dropped in afterAll whatever happened. */
const created = new Set<string>();

function urlAs(base: string, user: string, password: string): string {
  const url = new URL(base);
  url.username = encodeURIComponent(user);
  url.password = encodeURIComponent(password);
  return url.toString();
}

function request(overrides: Partial<IssueRequest> = {}): IssueRequest {
  return {
    target: 'test',
    database: db.name,
    identity: { sub: 'sub-alice', email: 'alice@example.com', name: 'alice', authenticated: true },
    session: `s-${hex()}`,
    ttlMs: 15 * 60_000,
    roles: [appRole],
    connectionLimit: 3,
    ...overrides,
  };
}

async function issue(issuer: DirectGrantIssuer, req: IssueRequest = request()): Promise<Grant> {
  const grant = await issuer.issue(req);
  created.add(grant.role);
  return grant;
}

/** Connects as the grant role; the client swallows the error a terminated backend emits. */
async function connectAs(role: string, password: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: urlAs(db.url, role, password) });
  client.on('error', () => {});
  await client.connect();
  return client;
}

async function loginError(role: string, password: string): Promise<unknown> {
  try {
    const client = await connectAs(role, password);
    await client.end();
    return undefined;
  } catch (err) {
    return err;
  }
}

async function roleRow(name: string): Promise<Record<string, unknown> | undefined> {
  return withClient(db.url, async (c) => {
    const { rows } = await c.query(
      `SELECT a.*, shobj_description(a.oid, 'pg_authid') AS comment, now() AS server_now
         FROM pg_authid a WHERE a.rolname = $1`,
      [name],
    );
    return rows[0] as Record<string, unknown> | undefined;
  });
}

async function memberships(name: string): Promise<string[]> {
  return withClient(db.url, async (c) => {
    const { rows } = await c.query<{ role: string }>(
      `SELECT g.rolname AS role FROM pg_auth_members m
         JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
        WHERE u.rolname = $1 ORDER BY 1`,
      [name],
    );
    return rows.map((r) => r.role);
  });
}

async function sessionsOf(name: string): Promise<number> {
  return withClient(db.url, async (c) => {
    const { rows } = await c.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1',
      [name],
    );
    return rows[0]?.n ?? -1;
  });
}

async function rejection(promise: Promise<unknown>): Promise<GrantError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(GrantError);
    return err as GrantError;
  }
  throw new Error('expected a GrantError, but the call succeeded');
}

/** A login role for use as a (non-superuser) admin; returns its DSN for the test database. */
async function makeAdmin(attrs: string): Promise<{ name: string; url: string }> {
  const name = `jt_admin_${hex()}`;
  const password = `pw-${hex()}`;
  created.add(name);
  await withClient(db.url, (c) => c.query(`CREATE ROLE ${name} LOGIN ${attrs} PASSWORD '${password}'`));
  return { name, url: urlAs(db.url, name, password) };
}

beforeAll(async () => {
  db = await createTestDatabase(adminUrl, 'grant');
  created.add(appRole);
  await withClient(db.url, async (c) => {
    await c.query(`CREATE ROLE ${appRole} NOLOGIN`);
    await c.query('CREATE TABLE items (id int PRIMARY KEY, name text)');
    await c.query(`INSERT INTO items VALUES (1, 'one'), (2, 'two')`);
    await c.query(`GRANT SELECT ON items TO ${appRole}`);
  });
});

afterAll(async () => {
  await withClient(db.url, async (c) => {
    // Roles that jit made first (they are members of the others), then the test's own roles.
    const ordered = [...created].sort((a, b) => Number(b.startsWith('jit_')) - Number(a.startsWith('jit_')));
    for (const role of ordered) {
      const { rowCount } = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
      if (!rowCount) continue;
      await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [role]);
      await c.query(`DROP OWNED BY "${role}"`);
      await c.query(`DROP ROLE IF EXISTS "${role}"`);
    }
  });
  await db?.drop();
});

describe('DirectGrantIssuer.issue', () => {
  it('creates a restricted login role the database shows as jit made', async () => {
    const issuer = new DirectGrantIssuer({ adminUrl: db.url, tls });
    const req = request();
    const grant = await issue(issuer, req);

    expect(grant.role).toMatch(/^jit_alice_[0-9a-f]{8}$/);
    expect(grant.id).toBe(grant.role);
    expect(grant.roles).toEqual([appRole]);
    expect(grant.password).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const row = await roleRow(grant.role);
    expect(row).toBeDefined();
    expect(row).toMatchObject({
      rolcanlogin: true,
      rolsuper: false,
      rolcreaterole: false,
      rolcreatedb: false,
      rolreplication: false,
      rolbypassrls: false,
      rolinherit: true,
      rolconnlimit: 3,
    });
    const validUntil = row?.rolvaliduntil as Date;
    const serverNow = row?.server_now as Date;
    expect(validUntil.getTime()).toBe(grant.expiresAt.getTime());
    expect(Math.abs(validUntil.getTime() - (serverNow.getTime() + req.ttlMs))).toBeLessThan(5_000);
    expect(String(row?.rolpassword)).toMatch(/^SCRAM-SHA-256\$4096:/);
    expect(String(row?.rolpassword)).not.toContain(grant.password);
    expect(row?.comment).toBe(
      `jit grant: identity=sub-alice email=alice@example.com session=${req.session} target=test`,
    );
    expect(await memberships(grant.role)).toEqual([appRole]);

    const client = await connectAs(grant.role, grant.password);
    try {
      const { rows } = await client.query('SELECT current_user AS me, count(*)::int AS n FROM items');
      expect(rows[0]).toEqual({ me: grant.role, n: 2 });
      await expect(client.query('INSERT INTO items VALUES (3, $1)', ['x'])).rejects.toMatchObject({
        code: '42501',
      });
    } finally {
      await client.end();
    }
    await issuer.revoke(grant);
  });

  it('rejects an admin that has neither superuser nor CREATEROLE', async () => {
    const weak = await makeAdmin('NOCREATEROLE');
    const issuer = new DirectGrantIssuer({ adminUrl: weak.url, tls });
    const err = await rejection(issuer.issue(request()));
    expect(err.code).toBe('admin_not_createrole');
    expect(err.message).toContain(weak.name);
    expect(err.hint).toContain(`ALTER ROLE "${weak.name}" CREATEROLE`);
  });

  it('names an unknown member role and leaves no role behind', async () => {
    const name = `unk${hex()}`;
    const issuer = new DirectGrantIssuer({ adminUrl: db.url, tls });
    const missing = `no_such_role_${hex()}`;
    const err = await rejection(
      issuer.issue(request({ roles: [appRole, missing], identity: { sub: 's', name, authenticated: true } })),
    );
    expect(err.code).toBe('role_not_found');
    expect(err.message).toContain(missing);
    const left = await withClient(db.url, (c) =>
      c.query('SELECT 1 FROM pg_roles WHERE rolname LIKE $1', [`jit_${name}_%`]),
    );
    expect(left.rowCount).toBe(0);
  });

  it('rolls the whole grant back when a statement inside the transaction fails', async () => {
    const name = `tx${hex()}`;
    const connect = (cfg: pg.ClientConfig): pg.Client => {
      const client = new pg.Client(cfg);
      const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
      (client as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = (...args) =>
        typeof args[0] === 'string' && args[0].startsWith('COMMENT ON ROLE')
          ? Promise.reject(Object.assign(new Error('injected fault'), { code: '08006' }))
          : query(...args);
      return client;
    };
    const issuer = new DirectGrantIssuer({ adminUrl: db.url, tls, connect });
    const err = await rejection(issuer.issue(request({ identity: { sub: 's', name, authenticated: true } })));
    expect(err.code).toBe('issue_failed');
    const left = await withClient(db.url, (c) =>
      c.query('SELECT 1 FROM pg_roles WHERE rolname LIKE $1', [`jit_${name}_%`]),
    );
    expect(left.rowCount).toBe(0);
  });

  it('honours an abort signal, before and during the request, leaving nothing behind', async () => {
    const issuer = new DirectGrantIssuer({ adminUrl: db.url, tls });
    expect((await rejection(issuer.issue(request(), AbortSignal.abort()))).code).toBe('aborted');

    // Abort while a statement is in flight: inside the transaction, and with COMMIT already sent.
    for (const statement of ['CREATE ROLE', 'COMMIT']) {
      const name = `ab${hex()}`;
      const controller = new AbortController();
      const connect = (cfg: pg.ClientConfig): pg.Client => {
        const client = new pg.Client(cfg);
        const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
        (client as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = (...args) => {
          const pending = query(...args);
          if (typeof args[0] === 'string' && args[0].startsWith(statement)) controller.abort();
          return pending;
        };
        return client;
      };
      const aborting = new DirectGrantIssuer({ adminUrl: db.url, tls, connect });
      const err = await rejection(
        aborting.issue(request({ identity: { sub: 's', name, authenticated: true } }), controller.signal),
      );
      expect(err.code).toBe('aborted');
      const left = await withClient(db.url, (c) =>
        c.query('SELECT 1 FROM pg_roles WHERE rolname LIKE $1', [`jit_${name}_%`]),
      );
      expect(left.rowCount, `abort during ${statement}`).toBe(0);
    }
  });

  it('reports an unreachable server by host:port without the password', async () => {
    const port = await freePort();
    const secret = `pw-${hex()}-secret`;
    const url = `postgres://admin:${secret}@127.0.0.1:${port}/postgres`;
    const err = await rejection(new DirectGrantIssuer({ adminUrl: url, tls }).issue(request()));
    expect(err.code).toBe('upstream_unreachable');
    expect(err.message).toBe(`cannot reach PostgreSQL at 127.0.0.1:${port} (ECONNREFUSED)`);
    expect(`${err.message} ${err.hint ?? ''}`).not.toContain(secret);

    const listErr = await rejection(listGrants({ adminUrl: url, tls }));
    expect(listErr.code).toBe('upstream_unreachable');
  });

  it('reports a wrong admin password as admin_auth_failed without echoing it', async () => {
    const secret = `wrong-${hex()}`;
    const url = urlAs(db.url, 'postgres', secret);
    const err = await rejection(new DirectGrantIssuer({ adminUrl: url, tls }).issue(request()));
    expect(err.code).toBe('admin_auth_failed');
    expect(err.message).toContain('28P01');
    expect(err.hint).toContain('admin_url_env');
    expect(`${err.message} ${err.hint ?? ''}`).not.toContain(secret);
  });
});

describe('DirectGrantIssuer.revoke', () => {
  it('terminates a live session, drops the role, and is idempotent', async () => {
    const issuer = new DirectGrantIssuer({ adminUrl: db.url, tls });
    const grant = await issue(issuer);
    const session = await connectAs(grant.role, grant.password);
    await session.query('CREATE TEMP TABLE scratch (a int)');
    expect(await sessionsOf(grant.role)).toBe(1);

    await issuer.revoke(grant);

    await expect(session.query('SELECT 1')).rejects.toThrow();
    expect(await sessionsOf(grant.role)).toBe(0);
    expect(await roleRow(grant.role)).toBeUndefined();
    await issuer.revoke(grant);
    await issuer.revoke({ role: `jit_gone_${hex()}` });
    await session.end().catch(() => {});
  });

  it('reassigns what the grant role created to the admin before dropping it', async () => {
    await withClient(db.url, (c) => c.query(`GRANT CREATE ON SCHEMA public TO ${appRole}`));
    const issuer = new DirectGrantIssuer({ adminUrl: db.url, tls });
    const grant = await issue(issuer);
    const table = `made_by_grant_${hex()}`;
    const session = await connectAs(grant.role, grant.password);
    await session.query(`CREATE TABLE ${table} (a int)`);
    await session.end();

    await issuer.revoke(grant);

    expect(await roleRow(grant.role)).toBeUndefined();
    const owner = await withClient(db.url, (c) =>
      c.query<{ owner: string }>('SELECT tableowner AS owner FROM pg_tables WHERE tablename = $1', [table]),
    );
    expect(owner.rows[0]?.owner).toBe('postgres');
  });
});

describe('expiry, gc, list and revokeGrant', () => {
  it('locks an expired grant out; gc drops it but not live grants nor foreign jit_ roles', async () => {
    const issuer = new DirectGrantIssuer({ adminUrl: db.url, tls });
    const short = await issue(issuer, request({ ttlMs: 1_000 }));
    const live = await issue(issuer);
    const foreign = `jit_x_${hex()}`;
    created.add(foreign);
    await withClient(db.url, (c) => c.query(`CREATE ROLE ${foreign} LOGIN VALID UNTIL '2000-01-01'`));

    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await loginError(short.role, short.password)).toMatchObject({ code: '28P01' });

    const listed = await listGrants({ adminUrl: db.url, tls });
    const byRole = new Map(listed.map((g) => [g.role, g]));
    expect(byRole.get(short.role)).toMatchObject({ expired: true });
    expect(byRole.get(live.role)).toMatchObject({ expired: false, login: true, connections: 0 });
    expect(byRole.get(live.role)?.comment).toMatch(
      /^jit grant: identity=sub-alice email=alice@example.com session=s-/,
    );
    expect(byRole.get(live.role)?.validUntil?.getTime()).toBe(live.expiresAt.getTime());
    expect(byRole.has(foreign)).toBe(false);

    const result = await gcGrants({ adminUrl: db.url, tls });
    expect(result.dropped).toContain(short.role);
    expect(result.dropped).not.toContain(live.role);
    expect(result.dropped).not.toContain(foreign);
    expect(result.failed.filter((f) => [short.role, live.role, foreign].includes(f.role))).toEqual([]);
    expect(await roleRow(short.role)).toBeUndefined();
    expect(await roleRow(live.role)).toBeDefined();
    expect(await roleRow(foreign)).toBeDefined();

    await issuer.revoke(live);
  });

  it('listGrants counts live connections', async () => {
    const issuer = new DirectGrantIssuer({ adminUrl: db.url, tls });
    const grant = await issue(issuer);
    const session = await connectAs(grant.role, grant.password);
    try {
      const listed = await listGrants({ adminUrl: db.url, tls });
      expect(listed.find((g) => g.role === grant.role)).toMatchObject({ connections: 1, expired: false });
    } finally {
      await session.end();
    }
    await issuer.revoke(grant);
  });

  it('revokeGrant ends a jit role and refuses roles jit did not make', async () => {
    const issuer = new DirectGrantIssuer({ adminUrl: db.url, tls });
    const grant = await issue(issuer);
    await revokeGrant({ adminUrl: db.url, tls }, grant.role);
    expect(await roleRow(grant.role)).toBeUndefined();

    const foreign = `jit_x_${hex()}`;
    created.add(foreign);
    await withClient(db.url, (c) => c.query(`CREATE ROLE ${foreign} LOGIN`));
    expect((await rejection(revokeGrant({ adminUrl: db.url, tls }, foreign))).code).toBe('not_a_jit_role');
    expect((await rejection(revokeGrant({ adminUrl: db.url, tls }, 'postgres'))).code).toBe('not_a_jit_role');
    expect((await rejection(issuer.revoke({ role: foreign }))).code).toBe('not_a_jit_role');
    expect(await roleRow(foreign)).toMatchObject({ rolcanlogin: true });
    expect((await rejection(revokeGrant({ adminUrl: db.url, tls }, grant.role))).code).toBe(
      'grant_not_found',
    );
  });
});

describe('a CREATEROLE admin that is not superuser', () => {
  it('needs ADMIN OPTION on the member roles (PostgreSQL 16+)', async () => {
    const admin = await makeAdmin('CREATEROLE');
    const version = await withClient(db.url, (c) =>
      c.query<{ v: number }>("SELECT current_setting('server_version_num')::int AS v"),
    );
    if ((version.rows[0]?.v ?? 0) < 160_000) return;
    const err = await rejection(new DirectGrantIssuer({ adminUrl: admin.url, tls }).issue(request()));
    expect(err.code).toBe('admin_cannot_grant_role');
    expect(err.message).toContain('ADMIN OPTION');
    expect(err.hint).toContain(`GRANT "${appRole}" TO "${admin.name}" WITH ADMIN OPTION`);
  });

  it('can issue, and revoke a grant with a live session', async () => {
    const admin = await makeAdmin('CREATEROLE');
    await withClient(db.url, (c) => c.query(`GRANT ${appRole} TO ${admin.name} WITH ADMIN OPTION`));
    const issuer = new DirectGrantIssuer({ adminUrl: admin.url, tls });
    const grant = await issue(issuer);
    expect(await roleRow(grant.role)).toMatchObject({ rolcanlogin: true, rolsuper: false });
    expect(await memberships(grant.role)).toEqual([appRole]);

    const session = await connectAs(grant.role, grant.password);
    const { rows } = await session.query('SELECT count(*)::int AS n FROM items');
    expect(rows[0]).toEqual({ n: 2 });

    await issuer.revoke(grant);
    await expect(session.query('SELECT 1')).rejects.toThrow();
    expect(await sessionsOf(grant.role)).toBe(0);
    expect(await roleRow(grant.role)).toBeUndefined();
    await session.end().catch(() => {});
  });
});

describe('pure helpers', () => {
  it('makeRoleName cleans the user name and fits 63 bytes', () => {
    expect(makeRoleName('Alice', '0123abcd')).toBe('jit_alice_0123abcd');
    expect(makeRoleName('José.García-López', '0123abcd')).toBe('jit_jose_garcia_lopez_0123abcd');
    expect(makeRoleName('日本', '0123abcd')).toBe('jit_user_0123abcd');
    const long = makeRoleName('a'.repeat(200));
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^jit_a+_[0-9a-f]{8}$/);
    expect(() => makeRoleName('alice', 'XYZ')).toThrow(GrantError);
  });

  it('pgSslOptions maps sslmode-like settings to node-postgres', () => {
    expect(pgSslOptions({ mode: 'disable' })).toBe(false);
    expect(pgSslOptions({ mode: 'require' })).toEqual({ rejectUnauthorized: false });
    const verifyCa = pgSslOptions({ mode: 'verify-ca' });
    expect(verifyCa).toMatchObject({ rejectUnauthorized: true });
    expect(verifyCa && verifyCa.checkServerIdentity?.('host', {} as never)).toBeUndefined();
    expect(pgSslOptions({ mode: 'verify-full' })).toEqual({ rejectUnauthorized: true });
    expect(() => pgSslOptions({ mode: 'verify-full', ca: '/nonexistent/ca.pem' })).toThrow(
      /tls.ca|CA certificate/,
    );
  });
});
