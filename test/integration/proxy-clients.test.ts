import net from 'node:net';
import { execa } from 'execa';
import pg from 'pg';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { withClient } from '../helpers/db.js';
import type { RunningProxy, TestTarget } from '../helpers/jit.js';
import { cleanEnv, createTarget, startProxy } from '../helpers/jit.js';

const serverAdminUrl = inject('adminUrl');
let target: TestTarget;
let proxy: RunningProxy;

function psql(args: string[], extraEnv: Record<string, string> = {}, input?: string) {
  return execa('psql', ['-X', '-v', 'ON_ERROR_STOP=1', proxy.url, ...args], {
    env: cleanEnv(extraEnv),
    extendEnv: false,
    reject: false,
    timeout: 30_000,
    ...(input === undefined ? {} : { input }),
  });
}

beforeAll(async () => {
  target = await createTarget(serverAdminUrl);
  proxy = await startProxy(target);
});

afterAll(async () => {
  await proxy?.stop();
  await target?.cleanup();
});

describe('jit proxy with real clients', () => {
  it('prints a loopback URL for a temporary role that exists only during the session', async () => {
    expect(proxy.url).toMatch(
      /^postgres:\/\/jit_[a-z0-9_]+:[A-Za-z0-9_-]+@127\.0\.0\.1:\d+\/jit_[0-9a-f]+\?sslmode=disable$/,
    );
    const rows = await withClient(
      target.adminUrl,
      async (c) =>
        (
          await c.query(
            `SELECT r.rolcanlogin, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolbypassrls, r.rolreplication,
                  r.rolconnlimit, extract(epoch FROM r.rolvaliduntil - now()) AS secs_left,
                  ARRAY(SELECT m.rolname FROM pg_auth_members am JOIN pg_roles m ON m.oid = am.roleid WHERE am.member = r.oid)::text[] AS member_of
             FROM pg_roles r WHERE r.rolname = $1`,
            [proxy.user],
          )
        ).rows,
    );
    expect(rows).toHaveLength(1);
    const role = rows[0];
    expect(role).toMatchObject({
      rolcanlogin: true,
      rolsuper: false,
      rolcreaterole: false,
      rolcreatedb: false,
      rolbypassrls: false,
      rolreplication: false,
      rolconnlimit: 100,
      member_of: [target.memberRole],
    });
    // ttl 10m in the test config
    expect(Number(role.secs_left)).toBeGreaterThan(500);
    expect(Number(role.secs_left)).toBeLessThanOrEqual(600);
  });

  it('runs psql queries, errors and multi-statement scripts as the temporary role', async () => {
    const who = await psql(['-Atc', 'select current_user, count(*) from customers']);
    expect(who.stderr).toBe('');
    expect(who.stdout).toBe(`${proxy.user}|100`);

    const error = await psql(['-Atc', 'select 1/0']);
    expect(error.exitCode).not.toBe(0);
    expect(error.stderr).toContain('division by zero');

    const script = await psql(
      ['-At'],
      {},
      'begin;\ncreate temp table t(x int);\ninsert into t select generate_series(1,10);\nselect sum(x) from t;\ncommit;\n',
    );
    expect(script.stdout.split('\n')).toContain('55');
  });

  it('serves pgbench in simple, extended and prepared protocol modes', async () => {
    const { port, user, password } = proxy;
    for (const mode of ['simple', 'extended', 'prepared']) {
      const result = await execa(
        'pgbench',
        [
          '-n',
          '-M',
          mode,
          '-c',
          '4',
          '-j',
          '2',
          '-t',
          '50',
          '-h',
          '127.0.0.1',
          '-p',
          String(port),
          '-U',
          user,
          target.database,
          '-f',
          '-',
        ],
        {
          env: cleanEnv({ PGPASSWORD: password }),
          extendEnv: false,
          reject: false,
          input:
            '\\set id random(1, 100)\nSELECT name, email FROM customers WHERE id = :id;\nUPDATE customers SET name = name WHERE id = :id;\n',
        },
      );
      expect(result.stderr, mode).not.toMatch(/error|FATAL/i);
      expect(result.stdout, mode).toContain('number of transactions actually processed: 200/200');
      expect(result.stdout, mode).toContain('number of failed transactions: 0');
    }
  });

  it('handles node-postgres: parameters, large values, notices, notifications and errors', async () => {
    const client = new pg.Client({ connectionString: proxy.url });
    await client.connect();
    try {
      const params = await client.query('SELECT $1::int + $2::int AS sum, $3::text AS t', [2, 3, 'héllo']);
      expect(params.rows[0]).toEqual({ sum: 5, t: 'héllo' });

      // 8 MB value: spans many TCP chunks in both directions.
      const big = 'x'.repeat(8 * 1024 * 1024);
      const echoed = await client.query('SELECT $1::text AS v, length($1::text) AS n', [big]);
      expect(echoed.rows[0].n).toBe(big.length);
      expect(echoed.rows[0].v === big).toBe(true);

      const notices: string[] = [];
      client.on('notice', (n) => notices.push(n.message ?? ''));
      // Server notices pass through (temp tables are allowed by the default policy).
      await client.query('CREATE TEMP TABLE IF NOT EXISTS notice_probe (x int)');
      await client.query('CREATE TEMP TABLE IF NOT EXISTS notice_probe (x int)');
      expect(notices).toContain('relation "notice_probe" already exists, skipping');

      const listener = new pg.Client({ connectionString: proxy.url });
      await listener.connect();
      const got = new Promise<pg.Notification>((resolve) => listener.on('notification', resolve));
      await listener.query('LISTEN jit_test');
      await client.query(`NOTIFY jit_test, 'payload-42'`);
      const notification = await got;
      expect(notification.payload).toBe('payload-42');
      await listener.end();

      await expect(client.query('SELECT * FROM no_such_table')).rejects.toMatchObject({ code: '42P01' });
      // The connection stays usable after an error.
      expect((await client.query('SELECT 1 AS one')).rows[0].one).toBe(1);

      const many = await client.query('SELECT g, md5(g::text) FROM generate_series(1, 200000) g');
      expect(many.rowCount).toBe(200000);
    } finally {
      await client.end();
    }
  });

  it('passes COPY in and out intact (psql \\copy)', async () => {
    const rows = Array.from({ length: 5000 }, (_, i) => `${i}\tline ${i} with tab-free text`).join('\n');
    await withClient(target.adminUrl, (c) =>
      c.query(`CREATE TABLE copy_t (id int, body text); ALTER TABLE copy_t OWNER TO ${target.memberRole}`),
    );
    const load = await psql(['-c', '\\copy copy_t from stdin'], {}, `${rows}\n\\.\n`);
    expect(load.stderr).toBe('');
    const out = await psql(['-Atc', '\\copy (select * from copy_t order by id) to stdout']);
    expect(out.stdout).toBe(rows);
    const failed = await psql(['-c', '\\copy copy_t from stdin'], {}, 'not-a-number\tx\n\\.\n');
    expect(failed.stderr).toContain('invalid input syntax for type integer');
    const count = await psql(['-Atc', 'select count(*) from copy_t']);
    expect(count.stdout).toBe('5000');
  });

  it('pipelines with postgres.js and serves many concurrent connections', async () => {
    const sql = postgres(proxy.url, { max: 1, onnotice: () => {} });
    try {
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => sql`SELECT ${i}::int AS i, pg_backend_pid() AS pid`),
      );
      expect(results.map((r) => r[0]?.i)).toEqual(Array.from({ length: 200 }, (_, i) => i));
      expect(new Set(results.map((r) => r[0]?.pid)).size).toBe(1);
      // A failing statement in the middle of a pipeline does not disturb its neighbours.
      const mixed = await Promise.allSettled([sql`SELECT 1 AS a`, sql`SELECT 1/0`, sql`SELECT 3 AS c`]);
      expect(mixed.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    } finally {
      await sql.end();
    }

    const clients = Array.from({ length: 40 }, () => new pg.Client({ connectionString: proxy.url }));
    await Promise.all(clients.map((c) => c.connect()));
    try {
      const pids = await Promise.all(
        clients.map(async (c) => (await c.query('SELECT pg_backend_pid() AS p')).rows[0].p),
      );
      expect(new Set(pids).size).toBe(40);
      const active = await withClient(target.adminUrl, async (c) =>
        Number(
          (await c.query('SELECT count(*) FROM pg_stat_activity WHERE usename = $1', [proxy.user])).rows[0]
            .count,
        ),
      );
      expect(active).toBeGreaterThanOrEqual(40);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  it('cancels a running query through the proxy (CancelRequest mapped upstream)', async () => {
    const sql = postgres(proxy.url, { max: 1 });
    try {
      const started = Date.now();
      const query = sql`SELECT pg_sleep(20)`;
      const outcome = query.then(
        () => 'finished',
        (e: { code?: string }) => e.code,
      );
      await new Promise((r) => setTimeout(r, 500));
      query.cancel();
      expect(await outcome).toBe('57014');
      expect(Date.now() - started).toBeLessThan(10_000);
      expect((await sql`SELECT 1 AS ok`)[0]?.ok).toBe(1);
    } finally {
      await sql.end();
    }
  });

  it('refuses a wrong password with 28P01, like PostgreSQL', async () => {
    const url = new URL(proxy.url);
    url.password = 'wrong-password';
    const client = new pg.Client({ connectionString: url.toString() });
    await expect(client.connect()).rejects.toMatchObject({ code: '28P01' });
  });

  it('refuses other users, other databases, replication and role-changing startup options', async () => {
    const base = {
      host: '127.0.0.1',
      port: proxy.port,
      user: proxy.user,
      password: proxy.password,
      database: target.database,
    };
    await expect(connect({ ...base, user: 'postgres' })).rejects.toMatchObject({ code: '28000' });
    await expect(connect({ ...base, database: 'postgres' })).rejects.toMatchObject({ code: '3D000' });
    await expect(connect({ ...base, options: '-c role=postgres' })).rejects.toMatchObject({ code: '42501' });
    await expect(connect({ ...base, options: '--session_authorization=postgres' })).rejects.toMatchObject({
      code: '42501',
    });

    const replication = await execa(
      'psql',
      ['-X', `${proxy.url}&replication=database`, '-c', 'IDENTIFY_SYSTEM'],
      {
        env: cleanEnv(),
        extendEnv: false,
        reject: false,
      },
    );
    expect(replication.exitCode).not.toBe(0);
    expect(replication.stderr).toContain('replication connections are not allowed');

    // PGOPTIONS is how an agent would smuggle `-c role=…` through libpq.
    const smuggled = await psql(['-Atc', 'select current_user'], { PGOPTIONS: '-c role=postgres' });
    expect(smuggled.exitCode).not.toBe(0);
    expect(smuggled.stderr).toContain('setting "role"');
    // Still usable afterwards with harmless options.
    const fine = await psql(['-Atc', 'show statement_timeout'], { PGOPTIONS: '-c statement_timeout=4s' });
    expect(fine.stdout).toBe('4s');
  });

  it('survives malformed client bytes without leaking internals', async () => {
    const reply = await rawExchange(proxy.port, Buffer.from([0, 0, 0, 8, 0, 9, 0, 0]));
    expect(reply.toString('latin1')).toContain('08P01');
    expect(reply.toString('latin1')).toContain('unsupported frontend protocol');
    const garbage = await rawExchange(proxy.port, Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]));
    expect(garbage.toString('latin1')).toContain('08P01');
    // The proxy is still serving.
    const ok = await psql(['-Atc', 'select 1']);
    expect(ok.stdout).toBe('1');
  });
});

async function connect(config: pg.ClientConfig & { options?: string }): Promise<void> {
  const client = new pg.Client(config);
  await client.connect();
  await client.end();
}

/** Sends raw bytes and collects whatever comes back until the server closes. */
function rawExchange(port: number, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    const chunks: Buffer[] = [];
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks)));
    setTimeout(() => socket.destroy(), 5000);
  });
}
